//! nginx on a host and an HTTP client GETting a VIP every 10 ms, for the tests of
//! health checks.
//!
//! [`Nginx`] runs Debian's nginx in a host's namespace with a prefix, pidfile and logs
//! of its own under the host's directory, listening on port 80 of every address (so
//! whichever host holds the VIP can serve it), in a process group of its own (so the
//! master and its workers are killed, stopped and continued together). Every page
//! says `served by <host>`. It is killed when dropped, and with the namespace anyway.
//!
//! [`Getter`] is the client: a thread that joins the client's namespace with setns(2)
//! and GETs `http://<vip>/` every 10 ms (bounded by a time limit), recording when each
//! request ended and which host served it (or that it failed). [`RealClient`] does the
//! same as a real client would: 3 s timeouts, no retries, each request timed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::lan::{assert_documentation_address, Host};
use crate::util::{epoch_now, wait_until};

/// nginx in a host's namespace.
pub struct Nginx {
    host: String,
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Nginx {
    /// Writes the configuration under `<host dir>/nginx` and starts nginx; returns once
    /// it serves on 127.0.0.1 in the namespace (panics if not within 5 s).
    pub fn start(h: &Host) -> Nginx {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let found = std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|d| d.join("nginx").is_file());
        assert!(
            found,
            "the health-check tests need nginx (Debian package nginx); install it with \
             apt-get or run `bash .ci/run`, which does"
        );
        let dir = h.dir().join("nginx");
        for sub in ["", "tmp", "logs"] {
            if let Err(e) = std::fs::create_dir_all(dir.join(sub)) {
                panic!("cannot create {}: {e}", dir.display());
            }
        }
        let d = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/logs/error.log info;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  \
             proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  \
             uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  \
             server {{\n    listen 80 default_server;\n    listen [::]:80 default_server;\n    \
             location = /healthz {{ return 200 \"ok\\n\"; }}\n    \
             location / {{ return 200 \"served by {}\\n\"; }}\n  }}\n}}\n",
            h.name
        );
        if let Err(e) = std::fs::write(dir.join("nginx.conf"), conf) {
            panic!("cannot write nginx.conf: {e}");
        }
        let mut n = Nginx {
            host: h.name.clone(),
            ns: h.ns().name().to_string(),
            dir,
            child: None,
            starts: 0,
        };
        n.spawn(h);
        n
    }

    /// The pidfile nginx writes (its master's pid).
    pub fn pidfile(&self) -> PathBuf {
        self.dir.join("nginx.pid")
    }

    fn spawn(&mut self, h: &Host) {
        self.starts += 1;
        let log = self.dir.join(format!("logs/stderr-{}.log", self.starts));
        let out = match File::create(&log) {
            Ok(f) => f,
            Err(e) => panic!("cannot create {}: {e}", log.display()),
        };
        let err = match out.try_clone() {
            Ok(f) => f,
            Err(e) => panic!("cannot duplicate a log handle: {e}"),
        };
        let mut cmd = h.command("nginx");
        cmd.arg("-p")
            .arg(&self.dir)
            .arg("-e")
            .arg(self.dir.join("logs/error.log"))
            .arg("-c")
            .arg(self.dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("cannot start nginx on {}: {e}", self.host),
        };
        self.child = Some(child);
        let ready = wait_until(Duration::from_secs(5), Duration::from_millis(20), || {
            self.serves_locally(h)
        });
        assert!(
            ready,
            "nginx on {} does not serve within 5 s; its log:\n{}",
            self.host,
            std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
        );
    }

    /// Whether nginx answers `served by <host>` on 127.0.0.1 in the namespace.
    pub fn serves_locally(&self, _h: &Host) -> bool {
        let ns = self.ns.clone();
        let addr: SocketAddr = ([127, 0, 0, 1], 80).into();
        let t = std::thread::spawn(move || {
            join_netns(&ns).ok()?;
            get(addr, Duration::from_millis(500)).ok()
        });
        t.join().ok().flatten().as_deref() == Some(&format!("served by {}", self.host))
    }

    /// Sends `sig` to nginx's whole process group (master and workers).
    pub fn signal_all(&self, sig: Signal) {
        let Some(pid) = self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) else {
            panic!("nginx on {} is not running", self.host);
        };
        if let Err(e) = killpg(Pid::from_raw(pid), sig) {
            panic!("cannot send {sig} to nginx on {}: {e}", self.host);
        }
    }

    /// SIGKILLs master and workers and reaps the master.
    pub fn kill_all(&mut self) {
        self.signal_all(Signal::SIGKILL);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    /// Starts nginx again (after [`Nginx::kill_all`]) with the same files.
    pub fn restart(&mut self, h: &Host) {
        if self.child.is_some() {
            self.kill_all();
        }
        self.spawn(h);
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Ok(pid) = i32::try_from(c.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = c.wait();
        }
    }
}

fn join_netns(ns: &str) -> std::io::Result<()> {
    let f = File::open(format!("/run/netns/{ns}"))?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}

/// How long the client waits for a connection: on this LAN one takes microseconds, and
/// a SYN sent to a host that no longer holds the VIP is never answered. Short, so the
/// client tries again soon (every 10 ms as usual once the wait is over).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(30);

/// One GET of `/` from `addr`: the first line of the body, or which step failed and why.
fn get(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT.min(timeout))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| format!("set timeout: {e}"))?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| format!("set timeout: {e}"))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    s.take(4096)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    if !text.starts_with("HTTP/1.1 200") {
        return Err(format!("answer: {:?}", text.lines().next().unwrap_or("")));
    }
    text.split("\r\n\r\n")
        .nth(1)
        .and_then(|body| body.lines().next())
        .map(str::to_string)
        .ok_or_else(|| "answer: no body".to_string())
}

/// One request of a [`Getter`].
#[derive(Debug, Clone)]
pub struct Sample {
    /// When it began, epoch seconds (a request that hangs until its 200 ms timeout
    /// belongs to the moment it was sent; it waits 100 ms for an answer).
    pub t: f64,
    /// Who served it (`a` for `served by a`), none if it failed.
    pub by: Option<String>,
    /// Why it failed (the step and the error), none if it was served.
    pub why: Option<String>,
}

/// The client: GETs a VIP every 10 ms from a thread in the client's namespace.
pub struct Getter {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<Sample>>>,
    samples: Vec<Sample>,
}

/// Sleeps until `next` + [`PERIOD`] and moves `next` there; a client already late
/// starts afresh from now (no burst of requests to catch up).
fn pace(next: &mut Instant) {
    *next += PERIOD;
    let now = Instant::now();
    if *next > now {
        std::thread::sleep(*next - now);
    } else {
        *next = now;
    }
}

/// The period of the client's requests.
pub const PERIOD: Duration = Duration::from_millis(10);

impl Getter {
    /// Starts GETting `http://<vip>/` from `client` every 10 ms for at most `limit`.
    pub fn start(client: &Host, vip: &str, limit: Duration) -> Getter {
        assert_documentation_address(vip);
        let addr: SocketAddr = match vip.parse::<std::net::IpAddr>() {
            Ok(ip) => (ip, 80).into(),
            Err(e) => panic!("{vip}: {e}"),
        };
        let ns = client.ns().name().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            if join_netns(&ns).is_err() {
                return samples;
            }
            let end = Instant::now() + limit;
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                let t = epoch_now();
                let (by, why) = match get(addr, Duration::from_millis(100)) {
                    Ok(b) => match b.strip_prefix("served by ") {
                        Some(who) => (Some(who.to_string()), None),
                        None => (None, Some(format!("answer: body {b:?}"))),
                    },
                    Err(e) => (None, Some(e)),
                };
                samples.push(Sample { t, by, why });
                pace(&mut next);
            }
            samples
        });
        Getter {
            stop,
            thread: Some(thread),
            samples: Vec::new(),
        }
    }

    /// Stops the client and returns every request it made.
    pub fn stop(&mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            self.samples = t.join().unwrap_or_default();
        }
        self.samples.clone()
    }
}

impl Drop for Getter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long a [`RealClient`] waits to connect and for each read or write: what
/// ordinary clients use (curl's default has no connect limit at all; browsers and
/// HTTP libraries wait seconds). A SYN that is dropped is resent by the kernel only
/// after its initial RTO of 1 s, and the client waits for it.
pub const REAL_CLIENT_TIMEOUT: Duration = Duration::from_secs(3);

/// One request of a [`RealClient`].
#[derive(Debug, Clone)]
pub struct Timed {
    /// When it began, epoch seconds.
    pub t: f64,
    /// How long it took, until served or failed.
    pub took: Duration,
    /// Who served it (`a` for `served by a`), or why it failed.
    pub by: Result<String, String>,
}

/// A client as a real one behaves: one GET of `http://<vip>/` every 10 ms (the next
/// starts when the previous has ended, at the earliest 10 ms after it began), each
/// with [`REAL_CLIENT_TIMEOUT`] to connect and to read, and no retries of its own:
/// a request that fails is recorded as failed, one that waits for the kernel's SYN
/// retransmission is recorded with its full time. (The [`Getter`] instead gives up a
/// connection after 30 ms and tries again, which hides the 1 s SYN retransmission.)
pub struct RealClient {
    stop: Arc<AtomicBool>,
    /// Requests ended so far.
    ended: Arc<std::sync::atomic::AtomicUsize>,
    thread: Option<JoinHandle<Vec<Timed>>>,
}

impl RealClient {
    /// Starts GETting `http://<vip>/` from `client` for at most `limit`.
    pub fn start(client: &Host, vip: &str, limit: Duration) -> RealClient {
        assert_documentation_address(vip);
        let addr: SocketAddr = match vip.parse::<std::net::IpAddr>() {
            Ok(ip) => (ip, 80).into(),
            Err(e) => panic!("{vip}: {e}"),
        };
        let ns = client.ns().name().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let ended = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = ended.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            if join_netns(&ns).is_err() {
                return samples;
            }
            let end = Instant::now() + limit;
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) && Instant::now() < end {
                let t = epoch_now();
                let began = Instant::now();
                let by = real_get(addr);
                samples.push(Timed {
                    t,
                    took: began.elapsed(),
                    by,
                });
                count.fetch_add(1, Ordering::SeqCst);
                pace(&mut next);
            }
            samples
        });
        RealClient {
            stop,
            ended,
            thread: Some(thread),
        }
    }

    /// Returns as soon as a request has ended (within 5 s, or panics): the next one
    /// begins about 10 ms later, so an event caused now meets no request in flight.
    pub fn wait_request_end(&self) {
        let before = self.ended.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.ended.load(Ordering::SeqCst) == before {
            assert!(
                Instant::now() < deadline,
                "the client made no request for 5 s"
            );
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Stops the client and returns every request it made.
    pub fn stop(&mut self) -> Vec<Timed> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for RealClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One GET as [`RealClient`] makes it: who served it, or why it failed.
fn real_get(addr: SocketAddr) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, REAL_CLIENT_TIMEOUT)
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(REAL_CLIENT_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(REAL_CLIENT_TIMEOUT)))
        .map_err(|e| format!("timeouts: {e}"))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::new();
    s.take(4096)
        .read_to_end(&mut buf)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    match (text.starts_with("HTTP/1.1 200"), body.lines().next()) {
        (true, Some(line)) => line
            .strip_prefix("served by ")
            .map(str::to_string)
            .ok_or_else(|| format!("unexpected body {line:?}")),
        _ => Err(format!(
            "answer {:?}",
            text.lines().next().unwrap_or_default()
        )),
    }
}

/// What the client saw around an event at `from` (epoch seconds).
#[derive(Debug, Clone)]
pub struct Outage {
    /// From the last request served before the first failure after `from` to the next
    /// one served (zero if none failed).
    pub gap: Duration,
    /// Requests that failed after `from`.
    pub failed: usize,
    /// Who served the first request after the gap.
    pub then: Option<String>,
}

/// The longest run of failed requests after `from`, measured between the served
/// requests around it.
pub fn outage_after(samples: &[Sample], from: f64) -> Outage {
    let mut last_ok: Option<f64> = samples
        .iter()
        .rev()
        .find(|s| s.t <= from && s.by.is_some())
        .map(|s| s.t);
    let mut in_gap = false;
    let mut best = (0.0f64, None);
    let mut failed = 0;
    for s in samples.iter().filter(|s| s.t > from) {
        match &s.by {
            None => {
                failed += 1;
                in_gap = true;
            }
            Some(who) => {
                if in_gap {
                    if let Some(ok) = last_ok {
                        if s.t - ok > best.0 {
                            best = (s.t - ok, Some(who.clone()));
                        }
                    }
                }
                in_gap = false;
                last_ok = Some(s.t);
            }
        }
    }
    Outage {
        gap: Duration::from_secs_f64(best.0.max(0.0)),
        failed,
        then: best.1,
    }
}

/// Who served the requests after `from`, in order, each once per run.
pub fn servers_after(samples: &[Sample], from: f64) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in samples.iter().filter(|s| s.t > from) {
        let who = s.by.clone().unwrap_or_else(|| "-".into());
        if out.last() != Some(&who) {
            out.push(who);
        }
    }
    out
}

/// A [`Getter`]'s failed requests, split by what moving an address can explain.
#[derive(Debug, Default)]
pub struct Failures {
    /// Connections cut at a move, epoch seconds: established with the old holder, whose
    /// next segment from the client followed the announcement to the new holder, which
    /// knows no such connection. Usually it resets it; but when it still keeps the same
    /// four-tuple in TIME_WAIT from a connection it served earlier (the server closes
    /// first, and the client reuses its ephemeral ports within the 60 s TIME_WAIT), it
    /// answers with a bare ACK of that old connection instead, and the client waits
    /// until its read times out (captured here: SYN to the old holder, SYN-ACK, then the
    /// request to the new one and its TIME_WAIT ACK, no reset). Likewise a request the
    /// old holder received just before the move but answered only after it let the
    /// address go (its host stalled past HANDOVER_GRACE): that answer cannot be sent
    /// from an address the host no longer has. Any move of an address at
    /// layer 2 does this to a connection open at that instant (well under a millisecond
    /// here). So: a request that connected and then failed (reset, broken pipe or timed
    /// out), at most one per move, alone between the two holders' answers.
    pub cut_at_move: Vec<f64>,
    /// Every other failure, epoch seconds and why: no holder (a connect that timed out
    /// or was refused), a failure that is not at a move, a second failure at one move.
    pub lost: Vec<(f64, String)>,
}

/// Splits the failed requests of `samples` (see [`Failures`]).
pub fn failures(samples: &[Sample]) -> Failures {
    let points: Vec<(f64, Option<&str>, &str)> = samples
        .iter()
        .map(|s| (s.t, s.by.as_deref(), s.why.as_deref().unwrap_or("")))
        .collect();
    split_failures(&points)
}

/// Splits the failed requests of a [`RealClient`] (see [`Failures`]).
pub fn real_failures(samples: &[Timed]) -> Failures {
    let points: Vec<(f64, Option<&str>, &str)> = samples
        .iter()
        .map(|s| match &s.by {
            Ok(who) => (s.t, Some(who.as_str()), ""),
            Err(why) => (s.t, None, why.as_str()),
        })
        .collect();
    split_failures(&points)
}

/// [`Failures`] of requests given as (began, who served it, why it failed).
fn split_failures(points: &[(f64, Option<&str>, &str)]) -> Failures {
    let mut out = Failures::default();
    for (i, &(t, by, why)) in points.iter().enumerate() {
        if by.is_some() {
            continue;
        }
        let before = points[..i].last().and_then(|p| p.1);
        let after = points.get(i + 1).and_then(|n| n.1);
        // Connected first: the failure came on the connection, not before it.
        let connected = why.starts_with("read:") || why.starts_with("write:");
        match (before, after) {
            (Some(b), Some(a)) if connected && b != a => out.cut_at_move.push(t),
            _ => out.lost.push((t, why.to_string())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_failing_alone_at_a_move_is_a_cut_and_nothing_else_is() {
        let s = |t: f64, by: Option<&str>, why: &str| Sample {
            t,
            by: by.map(str::to_string),
            why: (!why.is_empty()).then(|| why.to_string()),
        };
        let reset = "read: Connection reset by peer (os error 104)";
        let waited = "read: Resource temporarily unavailable (os error 11)";
        let samples = vec![
            s(1.00, Some("a"), ""),
            s(1.01, None, reset),
            s(1.02, Some("b"), ""),
            s(1.03, None, reset),
            s(1.04, Some("b"), ""),
            s(1.05, None, "connect: timed out"),
            s(1.06, Some("a"), ""),
            s(1.07, None, reset),
            s(1.08, None, reset),
            s(1.09, Some("b"), ""),
            s(1.10, None, waited),
            s(1.21, Some("a"), ""),
            s(1.22, None, waited),
            s(1.33, Some("a"), ""),
            s(1.34, None, "connect: Connection refused (os error 111)"),
            s(1.35, Some("b"), ""),
        ];
        let f = failures(&samples);
        // Reset by the new holder; a TIME_WAIT ACK from it, then the read timed out.
        assert_eq!(f.cut_at_move, vec![1.01, 1.10]);
        let lost: Vec<f64> = f.lost.iter().map(|(t, _)| *t).collect();
        // Not at a move (twice); no holder; two at one move (two); never connected.
        assert_eq!(lost, vec![1.03, 1.05, 1.07, 1.08, 1.22, 1.34]);
    }

    #[test]
    fn outages() {
        let s = |t: f64, by: Option<&str>| Sample {
            t,
            by: by.map(str::to_string),
            why: None,
        };
        let samples = vec![
            s(1.00, Some("a")),
            s(1.01, Some("a")),
            s(1.02, None),
            s(1.03, None),
            s(1.14, Some("b")),
            s(1.15, Some("b")),
        ];
        let o = outage_after(&samples, 1.015);
        assert_eq!(o.failed, 2);
        assert!((o.gap.as_secs_f64() - 0.13).abs() < 1e-9);
        assert_eq!(o.then.as_deref(), Some("b"));
        assert_eq!(servers_after(&samples, 0.0), vec!["a", "-", "b"]);
    }
}

/// One HTTP/1.0 GET of `path` from `addr`, made from inside `host`'s namespace (a
/// short-lived thread joins it with setns(2)): the status line, the headers and the
/// body, or why it failed. Bounded by `timeout` for connecting, writing and reading
/// (and at most 4 MiB). For the metrics endpoint's tests.
pub fn http_get_from(
    host: &Host,
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<HttpAnswer, String> {
    let ns = host.ns().name().to_string();
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let thread = std::thread::spawn(move || -> Result<Vec<u8>, String> {
        join_netns(&ns).map_err(|e| format!("setns {ns}: {e}"))?;
        let mut s = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_read_timeout(Some(timeout))
            .and_then(|()| s.set_write_timeout(Some(timeout)))
            .map_err(|e| format!("timeouts: {e}"))?;
        s.write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        s.take(4 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| format!("read: {e}"))?;
        Ok(buf)
    });
    let raw = thread
        .join()
        .map_err(|_| "the GET thread panicked".to_string())??;
    let text = String::from_utf8(raw).map_err(|e| format!("not UTF-8: {e}"))?;
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(format!("no end of headers in {text:?}"));
    };
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(HttpAnswer {
        status_line,
        headers,
        body: body.to_string(),
    })
}

/// What [`http_get_from`] got.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    /// E.g. `HTTP/1.0 200 OK`.
    pub status_line: String,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
