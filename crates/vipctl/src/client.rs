//! Talking to vipd over its control socket: one JSON [`Request`] line out, one JSON
//! [`Response`] line back (the framing is described in `vipd_api`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use vipd_api::{Request, Response};

/// How long to wait for each of connect, write and read.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// A response larger than this is not one vipd would send.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Why no response was obtained.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("vipd is not running (no control socket at {})", path.display())]
    NoSocket { path: PathBuf },
    #[error("vipd is not running (connection refused at {})", path.display())]
    Refused { path: PathBuf },
    #[error(
        "permission denied on {} (run as root or as a member of the socket's group)",
        path.display()
    )]
    PermissionDenied { path: PathBuf },
    #[error("vipd did not answer within {}s on {}", timeout.as_secs(), path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    #[error("cannot talk to vipd on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("vipd closed the connection without answering")]
    NoAnswer,
    #[error("vipd sent an answer this vipctl cannot read: {0}")]
    BadAnswer(#[source] serde_json::Error),
    #[error("cannot encode the request: {0}")]
    BadRequest(#[source] serde_json::Error),
}

impl ClientError {
    /// Whether the daemon could not be reached at all (as opposed to answering badly).
    pub fn is_unreachable(&self) -> bool {
        !matches!(self, ClientError::BadAnswer(_) | ClientError::BadRequest(_))
    }

    pub fn from_io(path: &Path, timeout: Duration, source: io::Error) -> ClientError {
        let path = path.to_owned();
        match source.kind() {
            io::ErrorKind::NotFound => ClientError::NoSocket { path },
            io::ErrorKind::ConnectionRefused => ClientError::Refused { path },
            io::ErrorKind::PermissionDenied => ClientError::PermissionDenied { path },
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                ClientError::Timeout { path, timeout }
            }
            _ => ClientError::Io { path, source },
        }
    }
}

/// Sends `request` to the daemon at `socket` and returns its response.
pub fn call(socket: &Path, request: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let io_err = |e| ClientError::from_io(socket, timeout, e);
    let mut stream = connect(socket, timeout).map_err(io_err)?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;

    let mut line = serde_json::to_vec(request).map_err(ClientError::BadRequest)?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io_err)?;
    stream.flush().map_err(io_err)?;

    let mut answer = String::new();
    BufReader::new(stream.take(MAX_RESPONSE_BYTES))
        .read_line(&mut answer)
        .map_err(io_err)?;
    if answer.trim().is_empty() {
        return Err(ClientError::NoAnswer);
    }
    // Cleaned of control characters: what vipd says is printed (crate::printable).
    crate::printable::parse(answer.as_bytes()).map_err(ClientError::BadAnswer)
}

/// Sends `request` (a `watch`) and returns the connection, to read the answer line (within
/// `timeout`: the read timeout is set) and then the stream.
pub fn open_stream(
    socket: &Path,
    request: &Request,
    timeout: Duration,
) -> Result<BufReader<UnixStream>, ClientError> {
    let io_err = |e| ClientError::from_io(socket, timeout, e);
    let mut stream = connect(socket, timeout).map_err(io_err)?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let mut line = serde_json::to_vec(request).map_err(ClientError::BadRequest)?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io_err)?;
    stream.flush().map_err(io_err)?;
    Ok(BufReader::new(stream))
}

/// `UnixStream::connect` has no timeout of its own; connecting to a daemon whose
/// accept backlog is full can block, so the connect runs on a helper thread.
fn connect(socket: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let (tx, rx) = mpsc::channel();
    let path = socket.to_owned();
    thread::spawn(move || {
        // The receiver may have given up; nothing to do then.
        let _ = tx.send(UnixStream::connect(path));
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "timed out connecting",
        )),
    }
}
