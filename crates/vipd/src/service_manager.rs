//! Telling systemd how vipd is doing: the notify protocol of sd_notify(3) — one
//! datagram of `KEY=value` lines to the socket named in `$NOTIFY_SOCKET` — and its
//! watchdog (`$WATCHDOG_USEC`).
//!
//! Written here rather than taken from a crate: the protocol is five documented lines,
//! and it must never block the loop. The crates at hand send with a blocking socket (a
//! stalled PID 1 would stall adverts); this one sends non-blocking. A status line or a
//! watchdog feed the socket does not take at once is dropped (the next one says it
//! again); READY=1 and STOPPING=1, which systemd waits for, are kept and sent again on
//! every turn of the loop until the socket takes them.
//!
//! Without `$NOTIFY_SOCKET` (not under systemd, or `Type=simple`) everything here is a
//! no-op. What to say and when is the node's decision ([`vipd_node::service`]); the
//! shell adds only the two things that are its own: `RELOADING=1` when a SIGHUP arrives
//! and `WATCHDOG=1` from the main loop itself — a loop that stalls stops feeding it, so
//! systemd kills vipd and `ExecStopPost=vipd --release` removes its VIPs.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};
use vipd_node::service::ServiceNote;

/// The watchdog is fed this many times per `WatchdogSec=`: systemd's advice is twice;
/// four times leaves a late loop (a busy host) three quarters of the interval.
const FEEDS_PER_INTERVAL: u32 = 4;

/// The service manager's socket, if vipd runs under one.
#[derive(Debug, Default)]
pub struct ServiceManager {
    socket: Option<(UnixDatagram, SocketAddr)>,
    /// How often to feed the watchdog, and when next.
    watchdog: Option<(Duration, Instant)>,
    /// READY=1 or STOPPING=1 that the socket did not take yet.
    unsent: Option<&'static str>,
}

impl ServiceManager {
    /// From the environment systemd sets (`$NOTIFY_SOCKET`, `$WATCHDOG_USEC`,
    /// `$WATCHDOG_PID`); a socket that cannot be used is a warning, not an error.
    pub fn from_env() -> ServiceManager {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return ServiceManager::default();
        };
        let socket = match open(&path) {
            Ok(s) => s,
            Err(e) => {
                warn!(
                    "NOTIFY_SOCKET={}: {e}; systemd will not hear that vipd is ready",
                    path.to_string_lossy()
                );
                return ServiceManager::default();
            }
        };
        let watchdog = watchdog_interval().map(|every| (every, Instant::now() + every));
        if let Some((every, _)) = watchdog {
            debug!(every_ms = every.as_millis(), "feeding systemd's watchdog");
        }
        ServiceManager {
            socket: Some(socket),
            watchdog,
            unsent: None,
        }
    }

    /// Whether vipd runs under a service manager that listens.
    pub fn active(&self) -> bool {
        self.socket.is_some()
    }

    /// Says what the node decided to say.
    pub fn tell(&mut self, note: &ServiceNote) {
        let kept = match note {
            ServiceNote::Ready => "READY=1",
            ServiceNote::Stopping => "STOPPING=1\nSTATUS=stopping: handing over",
            ServiceNote::Status(line) => {
                self.send(&format!("STATUS={}", one_line(line)));
                return;
            }
        };
        self.unsent = (!self.send(kept)).then_some(kept);
    }

    /// A SIGHUP arrived: the configuration is being read again (the node's `Ready`
    /// follows once it is applied or refused).
    pub fn reloading(&self) {
        if !self.active() {
            return;
        }
        // systemd ≥ 253 (Type=notify-reload) wants the monotonic time of the request.
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let usec = now.tv_sec as u128 * 1_000_000 + now.tv_nsec as u128 / 1000;
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={usec}"));
    }

    /// When the watchdog wants feeding next, if it is on.
    pub fn watchdog_due(&self) -> Option<Instant> {
        self.watchdog.map(|(_, next)| next)
    }

    /// Feeds the watchdog if it is due, and sends again a READY=1 or STOPPING=1 the
    /// socket did not take (call from the main loop on every turn).
    pub fn feed_watchdog(&mut self) {
        if let Some(kept) = self.unsent {
            if self.send(kept) {
                self.unsent = None;
            }
        }
        let Some((every, next)) = self.watchdog else {
            return;
        };
        let now = Instant::now();
        if now >= next {
            self.send("WATCHDOG=1");
            self.watchdog = Some((every, now + every));
        }
    }

    /// Sends one message; whether the socket took it.
    fn send(&self, message: &str) -> bool {
        let Some((socket, addr)) = &self.socket else {
            return false;
        };
        // Non-blocking: a full queue drops this message (the next one says it again).
        match socket.send_to_addr(message.as_bytes(), addr) {
            Ok(_) => true,
            Err(e) => {
                debug!("notify socket did not take {message:?}: {e}");
                false
            }
        }
    }
}

/// A non-blocking datagram socket and the address in `$NOTIFY_SOCKET` (a path, or an
/// abstract name written `@name`).
fn open(path: &std::ffi::OsStr) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None if bytes.starts_with(b"/") => SocketAddr::from_pathname(path)?,
        None => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "neither an absolute path nor an abstract name",
            ))
        }
    };
    let socket = UnixDatagram::unbound()?;
    socket.set_nonblocking(true)?;
    Ok((socket, addr))
}

/// `$WATCHDOG_USEC` divided by [`FEEDS_PER_INTERVAL`], if it is set for this process.
fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        if pid.to_str()?.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec) / FEEDS_PER_INTERVAL)
}

/// A status line with no line breaks (they would end the `STATUS=` field).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_socket_in_notify_socket_without_blocking() {
        let dir = std::env::temp_dir().join(format!("vipd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).expect("bind");
        let (socket, addr) = open(path.as_os_str()).expect("open");
        let mut sm = ServiceManager {
            socket: Some((socket, addr)),
            watchdog: None,
            unsent: None,
        };
        sm.tell(&ServiceNote::Ready);
        sm.tell(&ServiceNote::Status("web master\nextra".into()));
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1");
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"STATUS=web master extra");
        // A receiver that never reads: once its queue is full, sends fail at once
        // (a blocking socket would hang this test here).
        let refused = (0..10_000)
            .filter(|_| !sm.send(&format!("STATUS={}", "x".repeat(200))))
            .count();
        assert!(refused > 0, "every send was taken: the queue never filled");
        // READY=1 into the full queue is kept, and goes out once there is room.
        sm.tell(&ServiceNote::Ready);
        assert_eq!(sm.unsent, Some("READY=1"));
        listener.set_nonblocking(true).expect("non-blocking");
        let mut drained = 0;
        while listener.recv(&mut buf).is_ok() {
            drained += 1;
            if drained > 20_000 {
                break;
            }
        }
        sm.feed_watchdog();
        assert_eq!(sm.unsent, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn abstract_names_and_relative_paths() {
        assert!(open(std::ffi::OsStr::new("@vipd-test-abstract")).is_ok());
        assert!(open(std::ffi::OsStr::new("relative/notify")).is_err());
    }
}
