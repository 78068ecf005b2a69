//! A minimal blocking HTTP/1.1 GET, for reading other nodes' `/status`.
//!
//! Hand-written on purpose: the only server it talks to is vipd's own metrics
//! listener (hyper), which answers a GET with a `Content-Length` body and honours
//! `Connection: close`; a client crate (and its dependency tree) would add nothing for
//! that. Everything is bounded: connect, each read and write, the whole exchange, the
//! size of the head (64 KiB) and of the answer (16 MiB). The answer is parsed as it
//! arrives ([`Answer`]), in one pass over its bytes.

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
    let mut answer = Answer::default();
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
            return Err(GetError::BadAnswer("closed before the end"));
        }
        if let Some(body) = answer.push(&buf[..n])? {
            return body;
        }
    }
}

/// A whole answer: the body of a 200, or the error another status is.
type Body = Result<Vec<u8>, GetError>;

/// A head longer than this is not vipd's.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// An answer as it arrives, parsed incrementally: each read's bytes are looked at once
/// (the head's end is searched for only in what is new, and the 3 bytes before it), the
/// head is parsed once, and from then on the body is only counted. So reading an
/// answer of n bytes costs O(n) whatever the size of the reads.
#[derive(Debug, Default)]
struct Answer {
    bytes: Vec<u8>,
    /// How far the search for the head's end has gone.
    searched: usize,
    /// Once the head has arrived: its status code, `Content-Length` and where the
    /// body starts.
    head: Option<Head>,
    /// Bytes examined in search of the head's end, in all.
    examined: usize,
}

#[derive(Debug, Clone, Copy)]
struct Head {
    code: u16,
    length: usize,
    body_start: usize,
}

impl Answer {
    /// Takes the next bytes read; the answer once it is complete.
    fn push(&mut self, data: &[u8]) -> Result<Option<Body>, GetError> {
        if self.bytes.len() + data.len() > MAX_ANSWER_BYTES {
            return Err(GetError::BadAnswer("larger than 16 MiB"));
        }
        self.bytes.extend_from_slice(data);
        let head = match self.head {
            Some(head) => head,
            None => {
                let from = self.searched.saturating_sub(3);
                let new = &self.bytes[from..];
                self.examined += new.len();
                let Some(at) = new.windows(4).position(|w| w == b"\r\n\r\n") else {
                    self.searched = self.bytes.len();
                    if self.searched > MAX_HEAD_BYTES {
                        return Err(GetError::BadAnswer("head larger than 64 KiB"));
                    }
                    return Ok(None);
                };
                let end = from + at;
                let (code, length) = parse_head(&self.bytes[..end])?;
                let head = Head {
                    code,
                    length,
                    body_start: end + 4,
                };
                if head.body_start + length > MAX_ANSWER_BYTES {
                    return Err(GetError::BadAnswer("larger than 16 MiB"));
                }
                self.bytes
                    .reserve((head.body_start + length).saturating_sub(self.bytes.len()));
                self.head = Some(head);
                head
            }
        };
        if self.bytes.len() < head.body_start + head.length {
            return Ok(None);
        }
        let mut body = std::mem::take(&mut self.bytes);
        body.truncate(head.body_start + head.length);
        body.drain(..head.body_start);
        Ok(Some(if head.code == 200 {
            Ok(body)
        } else {
            Err(GetError::Status {
                code: head.code,
                body: crate::printable::field(String::from_utf8_lossy(&body).trim()).into_owned(),
            })
        }))
    }
}

/// The status code and `Content-Length` of an answer's head (without its final blank
/// line).
fn parse_head(head: &[u8]) -> Result<(u16, usize), GetError> {
    let head = std::str::from_utf8(head).map_err(|_| GetError::BadAnswer("head is not UTF-8"))?;
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
    Ok((code, length))
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

    /// Feeds `answer` to a parser `chunk` bytes at a time; the result and the bytes it
    /// examined looking for the head's end.
    fn feed(answer: &[u8], chunk: usize) -> (Option<Body>, usize) {
        let mut a = Answer::default();
        for piece in answer.chunks(chunk) {
            match a.push(piece) {
                Ok(Some(body)) => return (Some(body), a.examined),
                Ok(None) => {}
                Err(e) => return (Some(Err(e)), a.examined),
            }
        }
        (None, a.examined)
    }

    #[test]
    fn an_answer_is_parsed_in_one_pass_whatever_the_reads() {
        // A 4 MiB body read 1 KiB at a time (4096 reads): the head is found once and
        // the body only counted.
        let body = vec![b'x'; 4 * 1024 * 1024];
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        let head_len = answer.len();
        answer.extend_from_slice(&body);
        let (got, examined) = feed(&answer, 1024);
        assert_eq!(got.expect("complete").expect("200"), body);
        assert!(
            examined <= 1024,
            "examined {examined} bytes for a {head_len}-byte head"
        );
        // A head that arrives a byte at a time: every byte examined a bounded number of
        // times (the 3 before each new one are looked at again), not the whole head
        // again on every read.
        let head = format!(
            "HTTP/1.1 200 OK\r\nx-pad: {}\r\ncontent-length: 2\r\n\r\n{{}}",
            "p".repeat(32 * 1024)
        );
        let (got, examined) = feed(head.as_bytes(), 1);
        assert_eq!(got.expect("complete").expect("200"), b"{}");
        assert!(
            examined <= 4 * head.len(),
            "examined {examined} bytes for a {}-byte answer",
            head.len()
        );
        // A head with no end is refused once it passes 64 KiB, having examined each
        // byte a bounded number of times.
        let endless = vec![b'h'; 1024 * 1024];
        let (got, examined) = feed(&endless, 512);
        let e = got.expect("refused").expect_err("no head end");
        assert_eq!(e.to_string(), "not an HTTP answer: head larger than 64 KiB");
        assert!(
            examined <= 2 * (MAX_HEAD_BYTES + 512),
            "examined {examined}"
        );
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
