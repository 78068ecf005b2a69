//! The netlink request connection, on a thread of its own, opened again whenever it
//! dies.
//!
//! Its own thread: the kernel handles a route-netlink request inside the sending
//! thread's system call, under the rtnl lock, so on a host whose rtnl is congested a
//! send can block for a long time. It blocks that thread, never the one that sends
//! adverts, and the callers' timeouts keep working.
//!
//! Opened again: should the connection end (a socket error), requests fail with
//! `NetlinkError::Down` until a new one is up — after 1 s, then doubling up to 30 s while
//! it keeps failing. Meanwhile the node sees its kernel reads fail, and a master that
//! cannot confirm its VIPs for long hands over (`vipd_node`'s `KERNEL_BLIND_LIMIT`).

use std::time::{Duration, Instant};

use rtnetlink::Handle;
use tokio::sync::watch;
use tracing::{error, info};

const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// A connection that lived this long resets the back-off.
const HEALTHY: Duration = Duration::from_secs(60);

/// Starts the thread; returns once the first connection is up (or could not be made).
pub fn spawn() -> std::io::Result<watch::Receiver<Option<Handle>>> {
    let (first_tx, first_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    let (handle_tx, handle_rx) = watch::channel(None);
    std::thread::Builder::new()
        .name("vipd-netlink".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = first_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(keep_open(handle_tx, first_tx));
        })?;
    first_rx
        .recv()
        .map_err(|_| std::io::Error::other("the netlink thread ended"))??;
    Ok(handle_rx)
}

async fn keep_open(
    handle_tx: watch::Sender<Option<Handle>>,
    first: std::sync::mpsc::Sender<std::io::Result<()>>,
) {
    let mut first = Some(first);
    let mut wait = FIRST_WAIT;
    loop {
        // Made here, so its socket belongs to this thread's runtime.
        match rtnetlink::new_connection() {
            Ok((conn, handle, _)) => {
                handle_tx.send_replace(Some(handle));
                match first.take() {
                    Some(f) => {
                        let _ = f.send(Ok(()));
                    }
                    None => info!("netlink connection open again"),
                }
                let opened = Instant::now();
                conn.await;
                handle_tx.send_replace(None);
                if opened.elapsed() >= HEALTHY {
                    wait = FIRST_WAIT;
                }
                error!("netlink connection closed; opening it again in {wait:?}");
            }
            Err(e) => {
                if let Some(f) = first.take() {
                    let _ = f.send(Err(e));
                    return;
                }
                error!("cannot open a netlink connection: {e}; trying again in {wait:?}");
            }
        }
        if handle_tx.is_closed() {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_WAIT);
    }
}
