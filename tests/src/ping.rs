//! Outage measurement from a client: an ICMP echo request to the target every 5 ms and
//! the longest gap between consecutive replies, each reply timed by the kernel when it
//! received it (`SO_TIMESTAMPNS`, `CLOCK_REALTIME`), not by when a process got round to
//! reading it. `ping -D` (used before) stamps each reply with `gettimeofday` when it
//! prints it, so a pinger that is not scheduled for 300 ms on a loaded machine shows a
//! 300 ms "outage"; here both ends of every gap are kernel receive times.
//!
//! The probe is two threads of the test process, so no process start or pipe is in
//! the way: the sender joins the client's namespace with `setns(2)` (network
//! namespaces are per thread; the test process itself never sends outside a test
//! namespace), opens a raw ICMP (ICMPv6) socket there and sends on a fixed 5 ms
//! schedule, as SCHED_FIFO when `chrt` may make it so (a sender that is not scheduled
//! sends nothing, which would also show as a gap); the receiver reads the replies with
//! their kernel timestamps. Replies are matched by source, identifier (one per probe,
//! so several probes in one namespace do not see each other's) and sequence number.

use std::fmt;
use std::fs::File;
use std::io::IoSliceMut;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{
    recvmsg, sendto, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage,
};
use nix::sys::time::{TimeVal, TimeValLike};

use crate::capture::internet_checksum;
use crate::lan::Host;
use crate::util::wait_until;

/// How long [`Pinger::start_replying`] waits for the first replies.
pub const FIRST_REPLIES: Duration = Duration::from_secs(5);

/// One echo request every this long.
pub const INTERVAL: Duration = Duration::from_millis(5);

/// Bytes of payload after the 8-byte ICMP header (as `ping`'s default).
const PAYLOAD: usize = 56;

/// A running probe; stop it with [`Pinger::stop`] (dropping it stops it too).
pub struct Pinger {
    target: String,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// What the two threads share with the test.
#[derive(Default)]
struct Shared {
    /// (sequence number, kernel receive time in epoch seconds) of each reply.
    replies: Mutex<Vec<(u64, f64)>>,
    /// Echo requests sent.
    sent: AtomicU64,
    /// The sender's longest pause between two sends, in microseconds (a diagnosis: a
    /// sender that is not scheduled makes a gap no network caused).
    longest_pause_us: AtomicU64,
    /// Whether the sender runs as SCHED_FIFO.
    realtime: AtomicBool,
    /// Replies that came without a kernel timestamp (not counted as replies).
    untimed: AtomicU64,
    /// Why the probe could not run, if it could not.
    error: Mutex<Option<String>>,
    stop: AtomicBool,
    /// The receiver reads nothing until then (see [`Pinger::stall_reader`]).
    stall_until: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a pinger saw.
#[derive(Debug, Clone)]
pub struct PingReport {
    pub target: String,
    /// Kernel receive times (epoch seconds, `CLOCK_REALTIME`) of the echo replies, in
    /// order.
    pub replies: Vec<f64>,
    /// The probe's own summary: sent, received, the sender's longest pause.
    pub summary: Vec<String>,
    /// (sequence number, kernel receive time) of every reply, in the order of their
    /// times.
    pub seqs: Vec<(u64, f64)>,
}

/// An ICMP (ICMPv6 when `v6`) echo request; the kernel fills in ICMPv6's checksum.
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((0..PAYLOAD).map(|i| i as u8));
    if !v6 {
        let sum = internet_checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// The (identifier, sequence number) of an echo reply as a raw socket delivers it: for
/// IPv4 with its IP header (whose source must be `from`), for ICMPv6 without.
pub fn parse_echo_reply(v6: bool, packet: &[u8], from: IpAddr) -> Option<(u16, u16)> {
    let icmp = if v6 {
        packet
    } else {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        let src: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
        if IpAddr::from(src) != from {
            return None;
        }
        packet.get(ihl..)?
    };
    let reply_type = if v6 { 129 } else { 0 };
    if icmp.len() < 8 || icmp[0] != reply_type || icmp[1] != 0 {
        return None;
    }
    Some((
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

/// The full sequence number of a reply whose 16 bits are `wire`, given that `sent`
/// requests (numbered from 0) have gone: the latest one with those low bits.
pub fn unwrap_seq(wire: u16, sent: u64) -> u64 {
    let last = sent.saturating_sub(1);
    let behind = (last as u16).wrapping_sub(wire);
    last.saturating_sub(u64::from(behind))
}

/// An identifier no other probe of this process uses.
fn next_id() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    (std::process::id() as u16)
        .wrapping_mul(31)
        .wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Joins `ns`, opens the probe's raw socket there (receive timestamps on, reads time
/// out so the receiver sees `stop`).
fn open_socket(ns: &str, v6: bool) -> Result<OwnedFd, String> {
    let f = File::open(format!("/run/netns/{ns}")).map_err(|e| format!("open netns {ns}: {e}"))?;
    setns(&f, CloneFlags::CLONE_NEWNET).map_err(|e| format!("setns {ns}: {e}"))?;
    let (family, protocol) = if v6 {
        (AddressFamily::Inet6, SockProtocol::IcmpV6)
    } else {
        (AddressFamily::Inet, SockProtocol::Icmp)
    };
    let fd = socket(family, SockType::Raw, SockFlag::SOCK_CLOEXEC, protocol)
        .map_err(|e| format!("raw ICMP socket: {e}"))?;
    setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
        .map_err(|e| format!("SO_TIMESTAMPNS: {e}"))?;
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::milliseconds(20))
        .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
    Ok(fd)
}

/// Makes the calling thread SCHED_FIFO (priority 10) with `chrt`; whether it worked.
fn make_realtime() -> bool {
    let tid = nix::unistd::gettid().as_raw().to_string();
    std::process::Command::new("chrt")
        .args(["-f", "-p", "10", &tid])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends an echo request every [`INTERVAL`] until `stop` or `end`; a send that is late
/// by more than an interval does not make up for the missed ones.
fn send_loop(fd: &OwnedFd, target: IpAddr, id: u16, end: Instant, shared: &Shared) {
    let v6 = target.is_ipv6();
    let addr: Box<dyn nix::sys::socket::SockaddrLike> = match target {
        IpAddr::V4(a) => Box::new(SockaddrIn::from(SocketAddrV4::new(a, 0))),
        IpAddr::V6(a) => Box::new(SockaddrIn6::from(SocketAddrV6::new(a, 0, 0, 0))),
    };
    let mut next = Instant::now();
    let mut last: Option<Instant> = None;
    let mut seq: u64 = 0;
    while !shared.stop.load(Ordering::Relaxed) && Instant::now() < end {
        let now = Instant::now();
        if let Some(prev) = last {
            let pause = u64::try_from(now.duration_since(prev).as_micros()).unwrap_or(u64::MAX);
            shared.longest_pause_us.fetch_max(pause, Ordering::Relaxed);
        }
        last = Some(now);
        let packet = echo_request(v6, id, seq as u16);
        // Counted before it goes out: its reply can be back before this thread runs
        // again, and the receiver numbers replies by what has been sent (a reply read
        // first numbered itself 65 535 back and showed as a lost probe: 238 sent, 238
        // received, "lost icmp_seq [129]").
        seq += 1;
        shared.sent.store(seq, Ordering::Release);
        // A failed send (no route while the VIP moves) is a lost probe, as for ping.
        let _ = sendto(fd.as_raw_fd(), &packet, addr.as_ref(), MsgFlags::empty());
        next += INTERVAL;
        let now = Instant::now();
        if next < now {
            next = now;
        }
        std::thread::sleep(next - now);
    }
}

/// Reads replies with their kernel receive times until `stop`.
fn receive_loop(fd: &OwnedFd, target: IpAddr, id: u16, shared: &Shared) {
    let v6 = target.is_ipv6();
    let mut buf = [0u8; 2048];
    while !shared.stop.load(Ordering::Relaxed) {
        let stall = lock(&shared.stall_until).take();
        if let Some(until) = stall {
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
        }
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let (len, stamp, src) = match recvmsg::<SockaddrStorage>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        ) {
            Ok(msg) => {
                let stamp = msg.cmsgs().ok().and_then(|mut c| {
                    c.find_map(|m| match m {
                        ControlMessageOwned::ScmTimestampns(ts) => {
                            Some(ts.tv_sec() as f64 + ts.tv_nsec() as f64 * 1e-9)
                        }
                        _ => None,
                    })
                });
                let src = msg
                    .address
                    .and_then(|a| a.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())));
                (msg.bytes, stamp, src)
            }
            // The read timed out (to look at `stop`), or was interrupted.
            Err(_) => continue,
        };
        if v6 && src != Some(target) {
            continue;
        }
        let Some((reply_id, wire_seq)) = parse_echo_reply(v6, &buf[..len], target) else {
            continue;
        };
        if reply_id != id {
            continue;
        }
        let Some(t) = stamp else {
            shared.untimed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let seq = unwrap_seq(wire_seq, shared.sent.load(Ordering::Acquire));
        lock(&shared.replies).push((seq, t));
    }
}

impl Pinger {
    /// Starts probing `target` from `client` every 5 ms for at most `limit` (so it ends
    /// even if the test forgets it).
    pub fn start(client: &Host, target: &str, limit: Duration) -> Pinger {
        crate::lan::assert_documentation_address(target);
        let ip: IpAddr = match target.parse() {
            Ok(ip) => ip,
            Err(e) => panic!("{target} is not an address: {e}"),
        };
        let ns = client.ns().name().to_string();
        let id = next_id();
        let shared = Arc::new(Shared::default());
        let end = Instant::now() + limit;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Arc<OwnedFd>>();
        let s = shared.clone();
        let sender = std::thread::spawn(move || {
            let fd = match open_socket(&ns, ip.is_ipv6()) {
                Ok(fd) => Arc::new(fd),
                Err(e) => {
                    *lock(&s.error) = Some(e);
                    return;
                }
            };
            s.realtime.store(make_realtime(), Ordering::Relaxed);
            if ready_tx.send(fd.clone()).is_err() {
                return;
            }
            send_loop(&fd, ip, id, end, &s);
        });
        let mut threads = vec![sender];
        if let Ok(fd) = ready_rx.recv() {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || receive_loop(&fd, ip, id, &s)));
        }
        Pinger {
            target: target.to_string(),
            shared,
            threads,
        }
    }

    /// [`Pinger::start`], returned once `replies` replies have come within
    /// [`FIRST_REPLIES`] (panics if not): the path to `target` is known good.
    pub fn start_replying(client: &Host, target: &str, limit: Duration, replies: usize) -> Pinger {
        let p = Pinger::start(client, target, limit);
        assert!(
            p.wait_replies(replies, FIRST_REPLIES),
            "the client {} cannot ping {target}: fewer than {replies} replies within \
             {FIRST_REPLIES:?} ({})",
            client.name,
            lock(&p.shared.error).as_deref().unwrap_or("the probe runs")
        );
        p
    }

    /// Replies so far.
    pub fn replies(&self) -> usize {
        lock(&self.shared.replies).len()
    }

    /// Waits until `n` more replies than now have arrived (so the path is known good).
    pub fn wait_replies(&self, n: usize, timeout: Duration) -> bool {
        let base = self.replies();
        wait_until(timeout, Duration::from_millis(5), || {
            self.replies() >= base + n
        })
    }

    /// [`Pinger::wait_replies`], which must come true: panics with `what` if not.
    pub fn assert_replies(&self, n: usize, timeout: Duration, what: &str) {
        assert!(
            self.wait_replies(n, timeout),
            "{what}: {n} more replies from {} did not come within {timeout:?}",
            self.target
        );
    }

    /// Keeps the reader from reading for `d`, as a machine too busy to schedule it
    /// would: the replies wait in the socket and keep the times the kernel received them
    /// at (the harness's own test of the probe, `tests/tests/probe.rs`).
    pub fn stall_reader(&self, d: Duration) {
        *lock(&self.shared.stall_until) = Some(Instant::now() + d);
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    pub fn stop(mut self) -> PingReport {
        // Replies still on their way when stopping are not waited for, as with ping.
        self.halt();
        let mut seqs = lock(&self.shared.replies).clone();
        seqs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let replies = seqs.iter().map(|(_, t)| *t).collect();
        let sh = &self.shared;
        let mut summary = vec![format!(
            "{} sent, {} received; sender's longest pause {:.1} ms{}",
            sh.sent.load(Ordering::Acquire),
            seqs.len(),
            sh.longest_pause_us.load(Ordering::Relaxed) as f64 / 1e3,
            if sh.realtime.load(Ordering::Relaxed) {
                " (SCHED_FIFO)"
            } else {
                " (not real-time)"
            }
        )];
        let untimed = sh.untimed.load(Ordering::Relaxed);
        if untimed > 0 {
            summary.push(format!(
                "{untimed} replies without a kernel timestamp, not counted"
            ));
        }
        if let Some(e) = lock(&sh.error).as_deref() {
            summary.push(format!("the probe could not run: {e}"));
        }
        PingReport {
            target: self.target.clone(),
            replies,
            summary,
            seqs,
        }
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.halt();
    }
}

impl PingReport {
    /// The longest gap between consecutive replies, and when it began (epoch seconds).
    pub fn longest_gap(&self) -> Option<(Duration, f64)> {
        self.replies
            .windows(2)
            .map(|w| (w[1] - w[0], w[0]))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(gap, at)| (Duration::from_secs_f64(gap.max(0.0)), at))
    }

    /// The longest gap between consecutive replies among those after `from` (including
    /// the last reply before it), i.e. the outage caused by an event at `from`.
    pub fn longest_gap_after(&self, from: f64) -> Option<Duration> {
        let start = self.replies.iter().rposition(|&t| t <= from).unwrap_or(0);
        self.replies[start..]
            .windows(2)
            .map(|w| w[1] - w[0])
            .max_by(f64::total_cmp)
            .map(|g| Duration::from_secs_f64(g.max(0.0)))
    }

    /// [`PingReport::longest_gap_after`] in milliseconds, NaN if there is none.
    pub fn longest_gap_after_ms(&self, from: f64) -> f64 {
        self.longest_gap_after(from)
            .map_or(f64::NAN, |g| g.as_secs_f64() * 1e3)
    }

    /// Echo requests that got no reply although a later one did, counted from the last
    /// reply at or before `from` to the last reply: the probes an event at `from`
    /// lost. (Requests after the last reply are not counted: the pinger was stopped.)
    pub fn lost_after(&self, from: f64) -> Vec<u64> {
        let first = self
            .seqs
            .iter()
            .filter(|(_, t)| *t <= from)
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(0);
        let seen: std::collections::BTreeSet<u64> = self
            .seqs
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| *s >= first)
            .collect();
        let Some(&last) = seen.iter().next_back() else {
            return Vec::new();
        };
        (first..=last).filter(|s| !seen.contains(s)).collect()
    }

    /// Replies received after `t`.
    pub fn replies_after(&self, t: f64) -> usize {
        self.replies.iter().filter(|&&r| r > t).count()
    }
}

impl fmt::Display for PingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ping {}: {} replies", self.target, self.replies.len())?;
        if let Some((gap, at)) = self.longest_gap() {
            write!(
                f,
                ", longest gap {:.1} ms starting at {at:.6}",
                gap.as_secs_f64() * 1e3
            )?;
        }
        for s in &self.summary {
            write!(f, "; {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_and_replies() {
        let req = echo_request(false, 0x1234, 7);
        assert_eq!(req.len(), 8 + PAYLOAD);
        assert_eq!(&req[..2], &[8, 0]);
        // A correct checksum sums to zero.
        assert_eq!(internet_checksum(&req), 0);
        let from: IpAddr = "192.0.2.50".parse().expect("addr");
        let mut reply = vec![
            0x45, 0, 0, 84, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 50, 192, 0, 2, 100,
        ];
        let mut icmp = req.clone();
        icmp[0] = 0;
        reply.extend_from_slice(&icmp);
        assert_eq!(parse_echo_reply(false, &reply, from), Some((0x1234, 7)));
        assert_eq!(
            parse_echo_reply(false, &reply, "192.0.2.51".parse().expect("addr")),
            None
        );
        // Our own request is not a reply.
        let mut own = reply[..20].to_vec();
        own.extend_from_slice(&req);
        assert_eq!(parse_echo_reply(false, &own, from), None);
        let req6 = echo_request(true, 9, 65535);
        assert_eq!(req6[0], 128);
        let mut reply6 = req6.clone();
        reply6[0] = 129;
        assert_eq!(
            parse_echo_reply(true, &reply6, "2001:db8::50".parse().expect("addr")),
            Some((9, 65535))
        );
    }

    #[test]
    fn sequence_numbers_unwrap() {
        assert_eq!(unwrap_seq(5, 6), 5);
        assert_eq!(unwrap_seq(3, 6), 3);
        assert_eq!(unwrap_seq(65535, 65537), 65535);
        assert_eq!(unwrap_seq(0, 65537), 65536);
        assert_eq!(unwrap_seq(0, 0), 0);
    }

    #[test]
    fn gaps() {
        let r = PingReport {
            target: "x".into(),
            replies: vec![1.0, 1.005, 1.010, 1.5, 1.505],
            summary: vec![],
            seqs: vec![(1, 1.0), (2, 1.005), (3, 1.010), (7, 1.5), (8, 1.505)],
        };
        assert_eq!(r.lost_after(1.007), vec![4, 5, 6]);
        assert_eq!(r.lost_after(1.6), Vec::<u64>::new());
        let (g, at) = r.longest_gap().expect("gap");
        assert!((g.as_secs_f64() - 0.49).abs() < 1e-9);
        assert!((at - 1.010).abs() < 1e-9);
        assert!(r.longest_gap_after(1.2).expect("gap") >= Duration::from_millis(489));
        assert_eq!(r.replies_after(1.2), 2);
    }
}
