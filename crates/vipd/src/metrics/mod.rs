//! `metrics: {listen}`: an HTTP endpoint serving `/metrics` (Prometheus text format) and
//! `/status` (the control API's [`vipd_api::Status`] as JSON), read-only.
//!
//! It never waits on the node: the node publishes its status
//! ([`vipd_node::Command::PublishStatus`], after every kernel read and state change);
//! the daemon's loop puts the newest into a `watch` channel, and each request renders
//! that snapshot. Connections are bounded in number ([`MAX_CONNECTIONS`]) and in time,
//! one request each: [`HEAD_TIME`] to send the request's head, then [`WRITE_TIME`] to
//! take the whole response. A connection past the bound closes the oldest one still
//! waiting for its request (an idle or slow client), so idle connections cannot starve
//! a scrape; only when every connection is being answered is the new one closed.

mod routes;
pub mod series;

use routes::answer;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;
use tracing::{debug, info, warn};
use vipd_api::Status;

/// Connections served at once; another takes the place of the oldest one that has not
/// sent its request yet, or is closed if there is none.
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// How long a client has, from accept, to send its request's head.
pub(crate) const HEAD_TIME: Duration = Duration::from_secs(2);
/// How long a client has, from its request, to take the whole response.
pub(crate) const WRITE_TIME: Duration = Duration::from_secs(3);

/// The newest published status (none until the node published one).
pub(crate) type Snapshot = watch::Receiver<Option<Arc<Status>>>;

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics.listen: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The running endpoint; dropping it stops the listener and its thread.
pub(crate) struct Endpoint {
    _stop: tokio::sync::oneshot::Sender<()>,
    /// Where it listens (the tests bind port 0).
    #[cfg_attr(not(test), allow(dead_code))]
    pub local_addr: SocketAddr,
}

/// Binds `addr` (an error at start names it) and serves `snapshot` from a thread of its
/// own ("vipd-metrics", with a runtime of its own): accepting, parsing requests and
/// rendering the series never run on the main loop's thread, which may be real-time
/// (`realtime_priority`) and must answer its timers, whoever scrapes how often.
pub(crate) async fn serve(addr: SocketAddr, snapshot: Snapshot) -> Result<Endpoint, MetricsError> {
    let bind_error = |source| MetricsError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(bind_error)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("vipd-metrics".into())
        .spawn(move || {
            rt.block_on(async move {
                let listener = match TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        warn!("metrics: cannot serve on {local_addr}: {e}");
                        return;
                    }
                };
                tokio::select! {
                    () = accept_loop(listener, snapshot) => {}
                    // The Endpoint was dropped: vipd is stopping.
                    _ = stopped => {}
                }
            });
        })
        .map_err(bind_error)?;
    info!(%local_addr, "metrics: serving /metrics and /status");
    Ok(Endpoint {
        _stop: stop,
        local_addr,
    })
}

async fn accept_loop(listener: TcpListener, snapshot: Snapshot) {
    let mut open = Connections::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // E.g. EMFILE: wait a little rather than spin.
                warn!("metrics: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(conn) = open.admit() else {
            debug!(%peer, "metrics: {MAX_CONNECTIONS} connections being answered; closing this one");
            drop(stream);
            continue;
        };
        tokio::spawn(serve_one(stream, peer, snapshot.clone(), conn));
    }
}

/// The open connections, oldest first (the accept loop's own list).
#[derive(Default)]
struct Connections {
    open: Vec<Place>,
}

/// When a connection's request arrived (unset while it has not).
type Arrival = Arc<OnceLock<Instant>>;

/// The accept loop's side of one connection.
struct Place {
    requested: Arrival,
    /// Sent to close the connection; closed once its task has ended.
    evict: oneshot::Sender<()>,
}

/// A connection's side of its [`Place`].
struct Conn {
    requested: Arrival,
    evicted: oneshot::Receiver<()>,
}

impl Connections {
    /// A place for a new connection: a free one, else that of the oldest connection
    /// still waiting for its request (which is closed); none when all are answering.
    fn admit(&mut self) -> Option<Conn> {
        self.open.retain(|p| !p.evict.is_closed());
        if self.open.len() >= MAX_CONNECTIONS {
            let idle = self.open.iter().position(|p| p.requested.get().is_none())?;
            // Its task may have ended meanwhile: then there is nothing to close.
            let _ = self.open.remove(idle).evict.send(());
        }
        let requested = Arrival::default();
        let (evict, evicted) = oneshot::channel();
        self.open.push(Place {
            requested: requested.clone(),
            evict,
        });
        Some(Conn { requested, evicted })
    }
}

/// One connection: its request's head within [`HEAD_TIME`] (unless a newer connection
/// takes its place first), then the response written within [`WRITE_TIME`].
async fn serve_one(stream: TcpStream, peer: SocketAddr, snapshot: Snapshot, conn: Conn) {
    let Conn {
        requested,
        mut evicted,
    } = conn;
    let arrived = Arc::new(Notify::new());
    let service = {
        let arrived = arrived.clone();
        let requested = requested.clone();
        hyper::service::service_fn(move |req| {
            let _ = requested.set(Instant::now());
            arrived.notify_one();
            let snapshot = snapshot.clone();
            async move { Ok::<_, Infallible>(answer(&req, &snapshot)) }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let head = tokio::select! {
        done = &mut conn => Some(done),
        () = arrived.notified() => None,
        _ = &mut evicted => {
            debug!(%peer, "metrics: no request yet and a new connection needs the place; closed");
            return;
        }
        () = tokio::time::sleep(HEAD_TIME) => {
            debug!(%peer, "metrics: no request within {HEAD_TIME:?}; closed");
            return;
        }
    };
    let done = match head {
        Some(done) => done,
        None => {
            let at = requested.get().copied().unwrap_or_else(Instant::now);
            match tokio::time::timeout_at(at + WRITE_TIME, conn).await {
                Ok(done) => done,
                Err(_) => {
                    debug!(%peer, "metrics: the response was not taken within {WRITE_TIME:?}; closed");
                    return;
                }
            }
        }
    };
    if let Err(e) = done {
        debug!(%peer, "metrics: connection ended: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::routes::tests::status;

    /// A raw HTTP/1.0 GET over TCP; the response as text (the connection closes).
    async fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut c = tokio::net::TcpStream::connect(addr).await?;
        c.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await?;
        let mut out = String::new();
        tokio::time::timeout(Duration::from_secs(5), c.read_to_string(&mut out))
            .await
            .map_err(|_| std::io::Error::other("no answer within 5 s"))??;
        Ok(out)
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        try_get(addr, path).await.expect("GET")
    }

    #[tokio::test]
    async fn serves_the_newest_snapshot() {
        let (tx, rx) = watch::channel(None);
        let ep = serve("127.0.0.1:0".parse().expect("addr"), rx)
            .await
            .expect("bind");
        assert!(get(ep.local_addr, "/status")
            .await
            .starts_with("HTTP/1.0 503"));
        let mut s = status();
        s.pid = 4242;
        tx.send_replace(Some(Arc::new(s)));
        let r = get(ep.local_addr, "/status").await;
        assert!(
            r.starts_with("HTTP/1.0 200") && r.contains(r#""pid":4242"#),
            "{r}"
        );
    }

    #[tokio::test]
    async fn idle_connections_do_not_starve_a_scrape() {
        let (tx, rx) = watch::channel(None);
        tx.send_replace(Some(Arc::new(status())));
        let ep = serve("127.0.0.1:0".parse().expect("addr"), rx)
            .await
            .expect("bind");
        // MAX_CONNECTIONS clients connect and never send a request...
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(
                tokio::net::TcpStream::connect(ep.local_addr)
                    .await
                    .expect("connect"),
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ...and one more scrape is answered at once: it takes the oldest idle one's
        // place.
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(1), get(ep.local_addr, "/status"))
            .await
            .expect("answered within 1 s although 16 idle connections were open");
        assert!(r.starts_with("HTTP/1.0 200"), "{r}");
        println!("17th scrape answered in {:?}", started.elapsed());
        // The oldest idle connection was closed for it (end of file, no answer).
        use tokio::io::AsyncReadExt;
        let mut oldest = idle.remove(0);
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_millis(500), oldest.read_to_end(&mut got))
            .await
            .expect("the oldest idle connection is closed at once");
        assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn a_response_not_taken_within_write_time_is_cut() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (tx, rx) = watch::channel(None);
        // 8 MiB of JSON: more than the sockets buffer for a client that does not read
        // (about 4 MiB here).
        const BIG: usize = 8 * 1024 * 1024;
        let mut s = status();
        s.host = "h".repeat(BIG);
        tx.send_replace(Some(Arc::new(s)));
        let ep = serve("127.0.0.1:0".parse().expect("addr"), rx)
            .await
            .expect("bind");
        let mut c = tokio::net::TcpStream::connect(ep.local_addr)
            .await
            .expect("connect");
        c.write_all(b"GET /status HTTP/1.0\r\n\r\n")
            .await
            .expect("send");
        // The client reads nothing for longer than WRITE_TIME...
        tokio::time::sleep(WRITE_TIME + Duration::from_secs(1)).await;
        // ...so the server gave up: what it had handed to the kernel, then the end.
        let mut got = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut got))
            .await
            .expect("the connection ends");
        assert!(
            got.len() < BIG,
            "the whole response came ({} bytes, {read:?}): the write was not cut",
            got.len()
        );
    }

    #[tokio::test]
    async fn a_connection_without_a_request_is_closed_after_head_time() {
        let (_tx, rx) = watch::channel(None);
        let ep = serve("127.0.0.1:0".parse().expect("addr"), rx)
            .await
            .expect("bind");
        let mut c = tokio::net::TcpStream::connect(ep.local_addr)
            .await
            .expect("connect");
        let started = std::time::Instant::now();
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        let _ = tokio::time::timeout(HEAD_TIME * 2, c.read_to_end(&mut got))
            .await
            .expect("closed within twice HEAD_TIME");
        let took = started.elapsed();
        assert!(got.is_empty());
        assert!(
            took >= HEAD_TIME - Duration::from_millis(100)
                && took < HEAD_TIME + Duration::from_secs(1),
            "closed after {took:?}, HEAD_TIME is {HEAD_TIME:?}"
        );
    }

    #[tokio::test]
    async fn a_taken_address_is_a_clear_error() {
        let (_tx, rx) = watch::channel(None);
        let first = serve("127.0.0.1:0".parse().expect("addr"), rx.clone())
            .await
            .expect("bind");
        let Err(e) = serve(first.local_addr, rx).await else {
            panic!("a second bind of {} worked", first.local_addr);
        };
        let e = e.to_string();
        assert!(
            e.starts_with(&format!(
                "metrics.listen: cannot listen on {}",
                first.local_addr
            )),
            "{e}"
        );
    }
}
