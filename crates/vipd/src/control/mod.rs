//! The control socket: a Unix stream socket (mode 0660) speaking the versioned JSON
//! protocol of `vipd-api`, one request line and one response line per connection —
//! except `watch`, whose connection then streams events until either side closes it
//! (written by this connection's task from a bounded channel the main loop fills
//! without waiting: `crate::event_stream`).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use vipd_api::{Request, Response, PROTOCOL_VERSION};
use vipd_node::Caller;

use crate::event_stream::{Outgoing, LINE_WRITE_TIME, WATCH_BUFFER};

mod caller;
mod request;

use caller::caller;
pub use request::parse;

/// A request waiting for the main loop's answer, with who sent it.
pub struct Pending {
    pub request: Request,
    pub caller: Caller,
    pub reply: oneshot::Sender<Response>,
    /// For `watch`: where the events go once the node has said yes.
    pub stream: Option<mpsc::Sender<Outgoing>>,
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
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Too many at once (a stuck or hostile client): say so without
                        // waiting for anything, and close. The daemon's file
                        // descriptors stay for its sockets.
                        busy(&stream);
                        continue;
                    };
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Err(e) = connection(stream, tx, slot).await {
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

/// Connections served at once; more are told the daemon is busy and closed.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send its request line, and to take the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

fn busy(stream: &UnixStream) {
    let response = Response::Error {
        v: PROTOCOL_VERSION,
        message: format!(
            "too many control connections at once (limit {MAX_CONNECTIONS}); try again"
        ),
    };
    if let Ok(mut out) = serde_json::to_vec(&response) {
        out.push(b'\n');
        // A fresh socket's buffer takes this at once; if not, the client gets nothing.
        let _ = stream.try_write(&out);
    }
}

/// How long a client waits for the daemon's answer: a status waits for a kernel read
/// (each netlink request is bounded at 2 s).
pub const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One connection. `slot` is its place among [`MAX_CONNECTIONS`]; a watch gives it up
/// once it streams (watchers have their own bound, `crate::event_stream::MAX_WATCHERS`).
async fn connection(
    stream: UnixStream,
    tx: mpsc::Sender<Pending>,
    slot: OwnedSemaphorePermit,
) -> io::Result<()> {
    // SO_PEERCRED: the peer's credentials when it connected, from the kernel.
    let cred = stream.peer_cred()?;
    let caller = caller(cred.uid(), cred.gid(), cred.pid()).await;
    let (r, mut w) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(r).take(64 * 1024);
    let read = tokio::time::timeout(CLIENT_TIMEOUT, reader.read_line(&mut line)).await;
    let mut events = None;
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
                let stream = match request.command {
                    vipd_api::Command::Watch { .. } => {
                        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
                        events = Some(rx);
                        Some(tx)
                    }
                    _ => None,
                };
                let pending = Pending {
                    request,
                    caller,
                    reply,
                    stream,
                };
                if tx.send(pending).await.is_err() {
                    return Ok(());
                }
                match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(_)) => return Ok(()),
                    Err(_) => Response::Error {
                        v: PROTOCOL_VERSION,
                        message: format!(
                            "vipd did not answer within {ANSWER_TIMEOUT:?} (the kernel is slow to read?)"
                        ),
                    },
                }
            }
        },
    };
    let mut out = serde_json::to_vec(&response).map_err(io::Error::other)?;
    out.push(b'\n');
    if let (Response::Watching { .. }, Some(events)) = (&response, events) {
        tokio::time::timeout(CLIENT_TIMEOUT, w.write_all(&out))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "watcher did not read"))??;
        drop(slot);
        return write_events(reader.into_inner().into_inner(), w, events, LINE_WRITE_TIME).await;
    }
    // A client that does not read its answer is dropped, not waited for.
    let write = async {
        w.write_all(&out).await?;
        w.shutdown().await
    };
    tokio::time::timeout(CLIENT_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "client did not read the answer",
            ))
        })
}

/// A watch's stream: the lines the main loop queued, in order, until the last one, the
/// daemon drops the channel, or the client leaves (EOF or an error on its side; what it
/// sends is otherwise ignored). A client that stops reading blocks only this task: the
/// loop's sends to a full channel are dropped and counted (`crate::event_stream`); and
/// once its socket has not taken a line for `line_time` ([`LINE_WRITE_TIME`]), the task
/// ends, which closes the channel and frees the watcher's place.
async fn write_events(
    mut r: OwnedReadHalf,
    mut w: OwnedWriteHalf,
    mut events: mpsc::Receiver<Outgoing>,
    line_time: Duration,
) -> io::Result<()> {
    let mut scratch = [0u8; 256];
    loop {
        tokio::select! {
            item = events.recv() => match item {
                Some(Outgoing { line, last }) => {
                    tokio::time::timeout(line_time, w.write_all(line.as_bytes()))
                        .await
                        .map_err(|_| {
                            io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!("watcher took no line for {line_time:?}; dropped"),
                            )
                        })??;
                    if last {
                        break;
                    }
                }
                None => break,
            },
            read = r.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            },
        }
    }
    w.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_limit_clients_are_told_busy_and_the_rest_still_served() {
        let dir = std::env::temp_dir().join(format!("vipd-control-{}", std::process::id()));
        let path = dir.join("vipd.sock");
        let (sock, mut requests) = serve(&path).await.expect("serve");
        // MAX_CONNECTIONS clients that never say anything hold every slot...
        let mut silent = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            silent.push(UnixStream::connect(&path).await.expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // ...so the next one is told so at once, not left hanging.
        let mut extra = UnixStream::connect(&path).await.expect("connect");
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(2), extra.read_to_string(&mut answer))
            .await
            .expect("busy answer within 2 s")
            .expect("read");
        assert!(answer.contains("too many control connections"), "{answer}");
        // Once they go, requests are served again.
        drop(silent);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut c = UnixStream::connect(&path).await.expect("connect");
        c.write_all(b"{\"v\":1,\"command\":\"status\"}\n")
            .await
            .expect("send");
        let pending = tokio::time::timeout(Duration::from_secs(2), requests.recv())
            .await
            .expect("request within 2 s")
            .expect("request");
        let _ = pending.reply.send(Response::Error {
            v: PROTOCOL_VERSION,
            message: "served".into(),
        });
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(2), c.read_to_string(&mut answer))
            .await
            .expect("answer within 2 s")
            .expect("read");
        assert!(answer.contains("served"), "{answer}");
        drop(sock);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_watch_streams_after_its_answer_and_a_client_that_leaves_closes_its_channel() {
        let dir = std::env::temp_dir().join(format!("vipd-watch-{}", std::process::id()));
        let path = dir.join("vipd.sock");
        let (sock, mut requests) = serve(&path).await.expect("serve");
        let mut c = UnixStream::connect(&path).await.expect("connect");
        c.write_all(b"{\"v\":1,\"command\":\"watch\"}\n")
            .await
            .expect("send");
        let pending = tokio::time::timeout(Duration::from_secs(2), requests.recv())
            .await
            .expect("request within 2 s")
            .expect("request");
        let tx = pending.stream.expect("a watch comes with its channel");
        // An event queued before the answer is sent still comes after it.
        let line = |text: &str| Outgoing {
            line: text.into(),
            last: false,
        };
        tx.try_send(line("{\"first\":1}\n")).expect("room");
        let _ = pending.reply.send(Response::Watching {
            v: PROTOCOL_VERSION,
            instances: vec![],
        });
        tx.try_send(line("{\"second\":2}\n")).expect("room");
        let mut reader = BufReader::new(&mut c);
        let mut got = Vec::new();
        for _ in 0..3 {
            let mut l = String::new();
            tokio::time::timeout(Duration::from_secs(2), reader.read_line(&mut l))
                .await
                .expect("a line within 2 s")
                .expect("read");
            got.push(l);
        }
        assert!(got[0].contains(r#""kind":"watching""#), "{got:?}");
        assert_eq!(got[1..], ["{\"first\":1}\n", "{\"second\":2}\n"]);
        // The client leaves: its task ends and the loop's side sees the channel closed.
        drop(reader);
        drop(c);
        tokio::time::timeout(Duration::from_secs(2), tx.closed())
            .await
            .expect("the channel closes within 2 s of the client leaving");
        drop(sock);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_watcher_that_never_reads_is_dropped_and_its_place_taken() {
        use crate::event_stream::{WatchError, Watchers, MAX_WATCHERS};
        // The writer of one watch connection whose client never reads, with a short
        // bound (vipd's is LINE_WRITE_TIME).
        let line_time = Duration::from_millis(300);
        let (server, client) = UnixStream::pair().expect("socket pair");
        let (r, w) = server.into_split();
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let writer = tokio::spawn(write_events(r, w, rx, line_time));
        // Every other place is taken by watchers that do read (their receivers live).
        let mut w = Watchers::default();
        let mut others = Vec::new();
        for _ in 1..MAX_WATCHERS {
            let (t, r) = mpsc::channel(WATCH_BUFFER);
            w.add(Vec::new(), t).expect("room");
            others.push(r);
        }
        w.add(Vec::new(), tx.clone()).expect("room");
        let (late, _late_rx) = mpsc::channel(1);
        assert_eq!(w.add(Vec::new(), late.clone()), Err(WatchError::TooMany));
        // 4 MiB of events: far more than the socket buffers for a client that never
        // reads.
        let big = "x".repeat(64 * 1024);
        for _ in 0..64 {
            w.publish(
                "t",
                vipd_api::WatchEvent::Check {
                    check: "c".into(),
                    up: true,
                    saw: big.clone(),
                },
            );
            for r in &mut others {
                while r.try_recv().is_ok() {}
            }
            tokio::task::yield_now().await;
        }
        // The writer gives the connection up `line_time` after the socket stopped
        // taking lines, and the channel closes.
        tokio::time::timeout(line_time + Duration::from_secs(2), tx.closed())
            .await
            .expect("the stuck watcher is dropped within its bound + 2 s");
        let ended = writer.await.expect("writer task");
        let e = ended.expect_err("the writer ends with an error");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        drop(tx);
        // Its place is free for the next watcher.
        assert_eq!(w.add(Vec::new(), late), Ok(()));
        assert_eq!(w.len(), MAX_WATCHERS);
        drop(client);
    }
}
