//! A minimal blocking HTTP/1.1 GET, for reading other nodes' `/status`.
//!
//! Hand-written on purpose: the only server it talks to is vipd's own metrics
//! listener (hyper), which answers a GET with a `Content-Length` body and honours
//! `Connection: close`; a client crate (and its dependency tree) would add nothing for
//! that. Everything is bounded: connect, each read and write, the whole exchange, and
//! the size of the answer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// An answer larger than this is not a vipd status.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum GetError {
    #[error("connection refused (is vipd running with `metrics:` there?)")]
    Refused,
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("{0}")]
    Io(#[source] io::Error),
    #[error("not an HTTP answer: {0}")]
    BadAnswer(&'static str),
    #[error("HTTP {code}: {body}")]
    Status { code: u16, body: String },
}

fn io_error(e: io::Error, timeout: Duration) -> GetError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => GetError::Refused,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => GetError::Timeout(timeout),
        _ => GetError::Io(e),
    }
}

/// GETs `path` from `addr` within `timeout` (for the whole exchange); returns the body
/// of a 200 answer.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Vec<u8>, GetError> {
    let deadline = Instant::now() + timeout;
    let err = |e| io_error(e, timeout);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(err)?;
    stream.set_write_timeout(Some(timeout)).map_err(err)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(err)?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(GetError::Timeout(timeout));
        }
        stream.set_read_timeout(Some(left)).map_err(err)?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(err(e)),
        };
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.len() > MAX_ANSWER_BYTES {
            return Err(GetError::BadAnswer("larger than 16 MiB"));
        }
        if let Some(body) = complete_body(&answer)? {
            return body;
        }
    }
    complete_body(&answer)?.unwrap_or(Err(GetError::BadAnswer("closed before the end")))
}

/// A whole answer: the body of a 200, or the error another status is.
type Body = Result<Vec<u8>, GetError>;

/// The answer's body once all of it has arrived (its `Content-Length`); `None` while
/// more is to come.
fn complete_body(answer: &[u8]) -> Result<Option<Body>, GetError> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&answer[..end])
        .map_err(|_| GetError::BadAnswer("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code: u16 = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or(GetError::BadAnswer("no status line"))?;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| GetError::BadAnswer("bad Content-Length"))?,
            );
        } else if name.trim().eq_ignore_ascii_case("transfer-encoding") {
            return Err(GetError::BadAnswer("chunked answers are not read"));
        }
    }
    let length = length.ok_or(GetError::BadAnswer("no Content-Length"))?;
    let body = &answer[end + 4..];
    if body.len() < length {
        return Ok(None);
    }
    let body = body[..length].to_vec();
    Ok(Some(if code == 200 {
        Ok(body)
    } else {
        Err(GetError::Status {
            code,
            body: crate::printable::field(String::from_utf8_lossy(&body).trim()).into_owned(),
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    fn serve(answer: &'static [u8], hold: Duration) -> (SocketAddr, thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let t = thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut req = [0u8; 1024];
            let n = s.read(&mut req).expect("read");
            s.write_all(answer).expect("write");
            thread::sleep(hold);
            String::from_utf8_lossy(&req[..n]).into_owned()
        });
        (addr, t)
    }

    #[test]
    fn reads_a_content_length_body_without_waiting_for_close() {
        let (addr, t) = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: application/json\r\n\r\n{\"a\"}",
            Duration::from_millis(800),
        );
        let started = Instant::now();
        let body = get(addr, "/status", Duration::from_secs(2)).expect("ok");
        assert_eq!(body, b"{\"a\"}");
        // The server held the connection for 800 ms: the body's length ended the read.
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        let req = t.join().expect("server");
        assert!(req.starts_with("GET /status HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nConnection: close\r\n"), "{req}");
    }

    #[test]
    fn non_200_timeout_and_refusal_are_errors() {
        let (addr, t) = serve(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 8\r\n\r\nnot yet\n",
            Duration::ZERO,
        );
        let e = get(addr, "/status", Duration::from_secs(2)).expect_err("503");
        assert_eq!(e.to_string(), "HTTP 503: not yet");
        t.join().expect("server");

        // The error body is printed: no control characters from it.
        let (addr, t) = serve(
            b"HTTP/1.1 500 Oops\r\ncontent-length: 13\r\n\r\nbad\x1b[2J\x07\r\nend",
            Duration::ZERO,
        );
        let e = get(addr, "/status", Duration::from_secs(2)).expect_err("500");
        assert_eq!(e.to_string(), "HTTP 500: bad[2J  end");
        t.join().expect("server");

        // Headers but only part of the body, then silence: bounded by the timeout.
        let (addr, t) = serve(
            b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{",
            Duration::from_millis(900),
        );
        let started = Instant::now();
        let e = get(addr, "/status", Duration::from_millis(300)).expect_err("slow");
        let took = started.elapsed();
        assert!(matches!(e, GetError::Timeout(_)), "{e}");
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_millis(800),
            "{took:?}"
        );
        t.join().expect("server");

        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        drop(l);
        let e = get(addr, "/status", Duration::from_secs(1)).expect_err("closed port");
        assert!(matches!(e, GetError::Refused), "{e}");
    }
}
