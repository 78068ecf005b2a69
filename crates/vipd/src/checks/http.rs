//! The http check: one HTTP/1.1 GET over plain TCP (hyper's client connection, no
//! pool, no TLS), `Connection: close`. Reports the status and, when asked, whether the
//! first [`MAX_BODY`] bytes of the body hold the expected text. The caller bounds the
//! whole exchange with the timeout.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::Request;
use hyper_util::rt::TokioIo;
use vipd_node::config::HttpCheck;
use vipd_node::CheckResult;

/// The most of a body searched for `expect_body`.
pub const MAX_BODY: usize = 64 * 1024;

pub(super) async fn get(h: &HttpCheck) -> CheckResult {
    match exchange(h).await {
        Ok(r) => r,
        Err(e) => CheckResult::Error(e),
    }
}

async fn exchange(h: &HttpCheck) -> Result<CheckResult, String> {
    let stream = tokio::net::TcpStream::connect((h.target.host.as_str(), h.target.port))
        .await
        .map_err(|e| format!("connect to {}: {e}", h.target))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {}: {e}", h.target))?;
    // The connection is driven beside the request and ends with it.
    let driver = tokio::spawn(conn);
    let _abort = AbortOnDrop(driver.abort_handle());
    let request = Request::get(h.path.as_str())
        .header(HOST, h.host_header.as_str())
        .header(USER_AGENT, concat!("vipd/", env!("CARGO_PKG_VERSION")))
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot build the request for {}: {e}", h.url))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("GET {}: {e}", h.url))?;
    let status = response.status().as_u16();
    let Some(want) = h.expect_body.as_deref() else {
        return Ok(CheckResult::Http {
            status,
            body_matched: None,
        });
    };
    let mut body = response.into_body();
    let mut seen: Vec<u8> = Vec::new();
    while seen.len() < MAX_BODY {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let room = MAX_BODY - seen.len();
                    seen.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            Some(Err(e)) => return Err(format!("reading the body of {}: {e}", h.url)),
            None => break,
        }
    }
    let matched = seen
        .windows(want.len().max(1))
        .any(|w| w == want.as_bytes());
    Ok(CheckResult::Http {
        status,
        body_matched: Some(matched),
    })
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use vipd_node::config::{HostPort, StatusMatch};

    /// A one-shot server on 127.0.0.1 answering `reply` (or nothing, if `None`).
    async fn server(reply: Option<&'static str>) -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                match reply {
                    Some(r) => {
                        let _ = s.write_all(r.as_bytes()).await;
                    }
                    None => tokio::time::sleep(std::time::Duration::from_secs(30)).await,
                }
            }
        });
        port
    }

    fn check(port: u16, body: Option<&str>) -> HttpCheck {
        HttpCheck {
            url: format!("http://127.0.0.1:{port}/healthz"),
            target: HostPort {
                host: "127.0.0.1".into(),
                port,
            },
            host_header: format!("127.0.0.1:{port}"),
            path: "/healthz".into(),
            expect_status: vec![StatusMatch::Class(2)],
            expect_body: body.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn status_and_body() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nall ok\n";
        let port = server(Some(ok)).await;
        assert_eq!(
            get(&check(port, Some("ok"))).await,
            CheckResult::Http {
                status: 200,
                body_matched: Some(true)
            }
        );
        let port = server(Some(ok)).await;
        assert_eq!(
            get(&check(port, Some("ready"))).await,
            CheckResult::Http {
                status: 200,
                body_matched: Some(false)
            }
        );
        let bad = "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n";
        let port = server(Some(bad)).await;
        assert_eq!(
            get(&check(port, None)).await,
            CheckResult::Http {
                status: 503,
                body_matched: None
            }
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_cut_off_by_the_timeout() {
        let port = server(None).await;
        let r = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            get(&check(port, None)),
        )
        .await;
        assert!(r.is_err(), "{r:?}");
        // Nothing listens on a port just closed: refused.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let closed = l.local_addr().expect("addr").port();
        drop(l);
        assert!(
            matches!(get(&check(closed, None)).await, CheckResult::Error(e) if e.contains("connect"))
        );
    }
}
