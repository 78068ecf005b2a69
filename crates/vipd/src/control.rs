//! The control socket: a Unix stream socket (mode 0660) speaking the versioned JSON
//! protocol of `vipd-api`, one request line and one response line per connection.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use vipd_api::{Request, Response, PROTOCOL_VERSION};

/// A request waiting for the main loop's answer.
pub struct Pending {
    pub request: Request,
    pub reply: oneshot::Sender<Response>,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot create {0}: {1}")]
    Dir(PathBuf, #[source] io::Error),
    #[error("another vipd is already listening on {0}")]
    InUse(PathBuf),
    #[error("cannot listen on {0}: {1}")]
    Bind(PathBuf, #[source] io::Error),
}

/// The bound socket; removes its file when dropped.
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket and serves it on a task; requests arrive on the returned channel.
pub async fn serve(path: &Path) -> Result<(ControlSocket, mpsc::Receiver<Pending>), ControlError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| ControlError::Dir(dir.into(), e))?;
        }
    }
    if path.exists() {
        // A socket file left by a crash is removed; one with a live daemon is not.
        if UnixStream::connect(path).await.is_ok() {
            return Err(ControlError::InUse(path.into()));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = UnixListener::bind(path).map_err(|e| ControlError::Bind(path.into(), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| ControlError::Bind(path.into(), e))?;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, tx).await {
                            tracing::debug!(error = %e, "control connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok((ControlSocket { path: path.into() }, rx))
}

async fn connection(stream: UnixStream, tx: mpsc::Sender<Pending>) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(r).take(64 * 1024);
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read_line(&mut line)).await;
    let response = match read {
        Err(_) => Response::Error {
            v: PROTOCOL_VERSION,
            message: "timed out waiting for a request line".into(),
        },
        Ok(Err(e)) => return Err(e),
        Ok(Ok(_)) => match parse(&line) {
            Err(message) => Response::Error {
                v: PROTOCOL_VERSION,
                message,
            },
            Ok(request) => {
                let (reply, answer) = oneshot::channel();
                if tx.send(Pending { request, reply }).await.is_err() {
                    return Ok(());
                }
                match answer.await {
                    Ok(r) => r,
                    Err(_) => return Ok(()),
                }
            }
        },
    };
    let mut out = serde_json::to_vec(&response).map_err(io::Error::other)?;
    out.push(b'\n');
    w.write_all(&out).await?;
    w.shutdown().await
}

/// Parses a request line, checking the protocol version first so an old or new client
/// gets a clear answer instead of a field error.
fn parse(line: &str) -> Result<Request, String> {
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("request is not JSON: {e}"))?;
    match v.get("v").and_then(|v| v.as_u64()) {
        Some(n) if n == u64::from(PROTOCOL_VERSION) => {}
        Some(n) => {
            return Err(format!(
                "unsupported protocol version {n}; this vipd speaks {PROTOCOL_VERSION}"
            ))
        }
        None => return Err("request has no protocol version field \"v\"".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_version_first() {
        assert!(parse(r#"{"v":1,"command":"status"}"#).is_ok());
        let e = parse(r#"{"v":9,"command":"status"}"#).expect_err("version 9");
        assert!(e.contains("unsupported protocol version 9"), "{e}");
        assert!(parse("nonsense")
            .expect_err("not json")
            .contains("not JSON"));
        assert!(parse(r#"{"v":1,"command":"explode"}"#)
            .expect_err("unknown command")
            .starts_with("bad request"));
    }
}
