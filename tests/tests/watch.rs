//! `vipctl watch`: the event stream of a real vipd. A watcher on the backup sees its
//! maintenance toggles and then, when the master is killed (SIGKILL), the takeover with
//! its reason, in order, and the end of the stream when vipd stops. A watcher that
//! never reads (a small receive buffer) while thousands of events are published slows
//! neither a `status` answer nor a failover, and when it finally reads it is told how
//! many events it missed. A flood of bad packets makes at most one drop summary a second,
//! and the summaries add up to what `status` counted.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use vipd_api::{Command, Request, Response, State, WatchEvent, WatchLine};
use vipd_e2e::inject::{send_raw_ipv4, v3_advert, vrrp_datagram};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{
    bins, describe, exclusive, start_pair, wait_master, wait_until, Host, Lan, Monitor, Signal,
    VIP4, VIP4_CIDR,
};

/// `vipctl watch --json` on `h`, its exit code printed after it as `vipctl exited N`.
/// The shell passes SIGINT and SIGTERM on to vipctl: stopping the monitor must end
/// vipctl too (an orphan would hold the output pipe open, and the monitor's readers
/// would wait for it forever).
fn watch_json(h: &Host) -> Monitor {
    let mut c = h.command("sh");
    c.arg("-c")
        .arg(
            r#""$0" "$@" & pid=$!; trap 'kill $pid' INT TERM; wait $pid; rc=$?; wait $pid; echo "vipctl exited $rc""#,
        )
        .arg(bins::vipctl())
        .arg("--socket")
        .arg(h.control_socket())
        .args(["watch", "--json"]);
    Monitor::spawn(c, "vipctl watch --json")
}

/// The stream's lines after the answer, parsed; the answer must come first.
fn stream_lines(texts: &[String]) -> Vec<WatchLine> {
    let Some((first, rest)) = texts.split_first() else {
        panic!("nothing from the watch");
    };
    assert!(
        matches!(
            serde_json::from_str::<Response>(first),
            Ok(Response::Watching { .. })
        ),
        "the first line is not the answer: {first}"
    );
    rest.iter()
        .map(|l| match serde_json::from_str::<WatchLine>(l) {
            Ok(w) => w,
            Err(e) => panic!("not a watch line ({e}): {l}"),
        })
        .collect()
}

fn maintenance(on: bool) -> WatchEvent {
    WatchEvent::Maintenance {
        instance: "web".into(),
        on,
        uid: 0,
    }
}

#[test]
fn a_watcher_on_the_backup_sees_the_takeover_in_order_and_the_end_of_the_stream() {
    let _serial = exclusive();
    let lan = Lan::new("watch");
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let mut watch = watch_json(&b);
    assert!(
        watch
            .wait_for(Duration::from_secs(5), |l| l
                .text
                .contains(r#""kind":"watching""#))
            .is_some(),
        "no answer to the watch: {:?}",
        watch.lines()
    );
    for mode in ["on", "off"] {
        let out = b.vipctl(&["maintenance", mode, "web"]);
        assert!(out.status.success(), "maintenance {mode} failed: {out:?}");
    }
    assert!(a.kill(Signal::SIGKILL), "a's vipd was already gone");
    assert!(
        wait_master(&b, VIP4, Duration::from_secs(5)),
        "b did not take over:\n{}",
        describe(&[&a, &b], VIP4)
    );
    assert!(
        watch
            .wait_for(Duration::from_secs(2), |l| l
                .text
                .contains(r#""to":"master""#))
            .is_some(),
        "no takeover event: {:?}",
        watch.lines()
    );
    // vipd stops: the stream ends with an end record, and vipctl exits 0.
    assert!(b.kill(Signal::SIGTERM));
    let exited = watch.wait_for(Duration::from_secs(10), |l| {
        l.text.starts_with("vipctl exited")
    });
    let lines = watch.stop();
    let texts: Vec<String> = lines
        .iter()
        .filter(|l| !l.stderr)
        .map(|l| l.text.clone())
        .collect();
    println!("watch: {}", texts.join("\n"));
    assert_eq!(
        exited.map(|l| l.text),
        Some("vipctl exited 0".to_string()),
        "{lines:?}"
    );
    let stream = stream_lines(&texts[..texts.len() - 1]);
    let events: Vec<WatchEvent> = stream.iter().map(|l| l.event.clone()).collect();
    // The reason: b (a backup, priority 100) heard no advert for its
    // Master_Down_Interval. Then b stopped: it leaves (priority 0, to stopped).
    let takeover = WatchEvent::StateChanged {
        instance: "web".into(),
        from: State::Backup,
        to: State::Master,
        reason: "master_down_timer".into(),
        priority: 100,
    };
    assert_eq!(
        events[..3],
        [maintenance(true), maintenance(false), takeover],
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(WatchEvent::End { reason }) if reason == "vipd is stopping"),
        "{events:?}"
    );
    // Stamped in order (RFC 3339 UTC with milliseconds sorts as text).
    for l in &stream {
        assert_eq!(l.time.len(), "2026-12-01T02:30:05.123Z".len(), "{}", l.time);
        assert!(l.time.ends_with('Z'), "{}", l.time);
    }
    assert!(
        stream.windows(2).all(|w| w[0].time <= w[1].time),
        "out of order: {stream:?}"
    );
}

/// One request on a fresh connection; the answer.
fn call(socket: &Path, command: Command) -> Response {
    let mut s = UnixStream::connect(socket).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut line = serde_json::to_vec(&Request::new(command)).expect("encode");
    line.push(b'\n');
    s.write_all(&line).expect("send");
    let mut answer = String::new();
    BufReader::new(s).read_line(&mut answer).expect("answer");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("answer {answer:?}: {e}"))
}

/// A watcher that sends its request, reads the answer (so it is registered before
/// anything happens that it should see) and then reads nothing more: a 4 KiB receive
/// buffer. Returns the stream and the answer's line.
fn stuck_watcher(socket: &Path) -> (UnixStream, String) {
    let s =
        socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).expect("socket");
    s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    s.connect(&socket2::SockAddr::unix(socket).expect("address"))
        .expect("connect");
    let mut s = UnixStream::from(s);
    s.write_all(b"{\"v\":1,\"command\":\"watch\"}\n")
        .expect("send the watch request");
    // Byte by byte, so nothing after the answer's line is taken from the socket.
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while answer.last() != Some(&b'\n') && answer.len() < 4096 {
        match s.read(&mut byte) {
            Ok(1) => answer.push(byte[0]),
            other => panic!("the watch's answer: {other:?} after {answer:?}"),
        }
    }
    let answer = String::from_utf8_lossy(&answer).trim_end().to_string();
    (s, answer)
}

/// Toggles maintenance of b's instance this many times (on, off, on, ...).
const TOGGLES: usize = 3000;

#[test]
fn a_stuck_watcher_delays_neither_status_nor_failover_and_is_told_what_it_missed() {
    let _serial = exclusive();
    let lan = Lan::new("watchstuck");
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let socket = b.control_socket();
    let (stuck, answer) = stuck_watcher(&socket);
    // Thousands of events for a watcher that reads none: its buffers fill (the socket's,
    // then its 1024 lines in vipd), and the rest are dropped and counted.
    let t0 = Instant::now();
    for k in 0..TOGGLES {
        let on = k % 2 == 0;
        let answer = call(
            &socket,
            Command::Maintenance {
                on,
                instances: vec!["web".into()],
            },
        );
        assert!(
            matches!(answer, Response::Done { .. }),
            "toggle {k}: {answer:?}"
        );
    }
    let flood = t0.elapsed();
    // b ends out of maintenance (an even number of toggles).
    let t = Instant::now();
    let status = b
        .try_status_within(Duration::from_secs(5))
        .expect("status while a watcher is stuck");
    let status_took = t.elapsed();
    assert!(!status.instances[0].maintenance);
    // a dies: b takes over within its Master_Down_Interval (3 × 200 ms + 121.875 ms)
    // and some slack for a loaded machine, not later.
    let killed = Instant::now();
    assert!(a.kill(Signal::SIGKILL), "a's vipd was already gone");
    let took_over = wait_until(Duration::from_secs(5), Duration::from_millis(5), || {
        b.state() == Some(State::Master)
    });
    let failover = killed.elapsed();
    assert!(
        took_over,
        "b did not take over:\n{}",
        describe(&[&a, &b], VIP4)
    );
    println!(
        "stuck watcher: {TOGGLES} toggles in {:.0} ms; status in {:.1} ms; failover in {:.0} ms",
        flood.as_secs_f64() * 1e3,
        status_took.as_secs_f64() * 1e3,
        failover.as_secs_f64() * 1e3
    );
    assert!(
        status_took < Duration::from_millis(500),
        "status took {status_took:?} with a stuck watcher"
    );
    assert!(
        failover < Duration::from_millis(722 + 500),
        "failover took {failover:?} with a stuck watcher"
    );

    // Now it reads: what was buffered, then (at the next event, a reload) one missed
    // record and the reload.
    stuck
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut reader = BufReader::new(stuck.try_clone().expect("clone"));
    let mut texts = vec![answer];
    let mut read_until_quiet = |texts: &mut Vec<String>| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => texts.push(line.trim_end().to_string()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    };
    read_until_quiet(&mut texts);
    assert!(b.reload_vipd(), "SIGHUP to b failed");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5)
        && !texts.last().is_some_and(|l| l.contains("reload_applied"))
    {
        read_until_quiet(&mut texts);
    }
    let stream = stream_lines(&texts);
    let events: Vec<WatchEvent> = stream.iter().map(|l| l.event.clone()).collect();
    let missed: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Missed { count } => Some(*count),
            _ => None,
        })
        .collect();
    let delivered = events.len() - missed.len();
    println!(
        "stuck watcher: {delivered} events delivered, missed {missed:?}, last {:?}",
        &events[events.len().saturating_sub(2)..]
    );
    // Exactly one gap, told right before the event that came once there was room.
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert!(
        matches!(events[events.len() - 2], WatchEvent::Missed { .. }),
        "{:?}",
        &events[events.len().saturating_sub(3)..]
    );
    assert!(matches!(
        events.last(),
        Some(WatchEvent::ReloadApplied { .. })
    ));
    // Nothing lost unaccounted: every toggle, the takeover and the reload were either
    // delivered or counted.
    let mut kinds: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for e in &events {
        let kind = format!("{e:?}");
        let kind = kind
            .split([' ', '{', '('])
            .next()
            .unwrap_or_default()
            .to_string();
        *kinds.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(
        delivered as u64 + missed[0],
        TOGGLES as u64 + 2,
        "delivered by kind {kinds:?}; first {:?}; around the gap {:?}",
        &events[..events.len().min(5)],
        &events[events.len().saturating_sub(6)..]
    );
    // What was delivered before the gap is the first toggles, in order.
    for (k, e) in events
        .iter()
        .take_while(|e| matches!(e, WatchEvent::Maintenance { .. }))
        .enumerate()
    {
        assert_eq!(*e, maintenance(k % 2 == 0), "toggle {k}");
    }
}

/// Seconds since midnight of an RFC 3339 UTC time with milliseconds.
fn time_of_day(t: &str) -> f64 {
    let field = |r: std::ops::Range<usize>| -> f64 {
        t.get(r)
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("not an RFC 3339 time: {t}"))
    };
    field(11..13) * 3600.0 + field(14..16) * 60.0 + field(17..23)
}

/// Bad packets of each kind in the flood.
const FLOOD_EACH: usize = 500;

#[test]
fn a_drop_flood_makes_at_most_one_summary_a_second_adding_up_to_the_status_counts() {
    let _serial = exclusive();
    let lan = Lan::new("watchdrop");
    let x = lan.host_at("x", 66);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    let before = first_instance(&b.status()).drops.clone();
    let mut watch = watch_json(&b);
    assert!(
        watch
            .wait_for(Duration::from_secs(5), |l| l
                .text
                .contains(r#""kind":"watching""#))
            .is_some(),
        "no answer to the watch: {:?}",
        watch.lines()
    );
    // Adverts with TTL 64 and with a damaged checksum, alternately, 2 ms apart.
    let src: Ipv4Addr = x.ipv4.parse().expect("x's address");
    let vip: Ipv4Addr = VIP4.parse().expect("VIP");
    let valid = v3_advert(src, 51, 255, 20, &[vip]);
    let mut damaged = valid.clone();
    damaged[6] ^= 0xff;
    let mut flood = Vec::new();
    for _ in 0..FLOOD_EACH {
        flood.push(vrrp_datagram(src, 64, &valid));
        flood.push(vrrp_datagram(src, 255, &damaged));
    }
    let t0 = Instant::now();
    let sent = send_raw_ipv4(x.ns().name(), "eth0", flood).expect("send the flood from x");
    let flood_s = t0.elapsed().as_secs_f64();
    assert_eq!(sent, 2 * FLOOD_EACH);
    // The last summary comes at most a second after the last drop.
    let counted = |d: &BTreeMap<String, u64>, k: &str| {
        d.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0)
    };
    let summed = |lines: &[WatchLine], k: &str| -> u64 {
        lines
            .iter()
            .filter_map(|l| match &l.event {
                WatchEvent::Drops { by_reason, .. } => by_reason.get(k).copied(),
                _ => None,
            })
            .sum()
    };
    let parsed = |m: &Monitor| {
        let texts: Vec<String> = m
            .lines()
            .into_iter()
            .filter(|l| !l.stderr)
            .map(|l| l.text)
            .collect();
        stream_lines(&texts)
    };
    let mut status = BTreeMap::new();
    let agreed = wait_until(Duration::from_secs(3), Duration::from_millis(50), || {
        status = first_instance(&b.status()).drops.clone();
        let lines = parsed(&watch);
        ["bad_ttl", "bad_checksum"]
            .iter()
            .all(|k| counted(&status, k) > 0 && summed(&lines, k) == counted(&status, k))
    });
    let lines = parsed(&watch);
    watch.stop();
    let summaries: Vec<&WatchLine> = lines
        .iter()
        .filter(|l| matches!(l.event, WatchEvent::Drops { .. }))
        .collect();
    println!(
        "drop flood: {sent} sent in {flood_s:.2} s; status counted bad_ttl {}, bad_checksum \
         {}; {} summaries: {:?}",
        counted(&status, "bad_ttl"),
        counted(&status, "bad_checksum"),
        summaries.len(),
        summaries
            .iter()
            .map(|l| match &l.event {
                WatchEvent::Drops { total, .. } => format!("{} {total}", l.time),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
    );
    assert!(
        agreed,
        "the summaries do not add up to the status counts: status {status:?}, summaries \
         {summaries:?}\n{}",
        describe(&[&a, &b], VIP4)
    );
    // One at the first drop, then at most one a second: a flood of flood_s seconds
    // makes at most ceil(flood_s) + 1, each at least a second after the one before (to
    // the millisecond of the stamps).
    let bound = flood_s.ceil() as usize + 1;
    assert!(
        (2..=bound).contains(&summaries.len()),
        "{} summaries for a flood of {flood_s:.2} s (at most {bound})",
        summaries.len()
    );
    for w in summaries.windows(2) {
        let gap = time_of_day(&w[1].time) - time_of_day(&w[0].time);
        assert!(gap >= 0.999, "summaries {gap:.3} s apart: {w:?}");
    }
    // Only drops: the flood changed nothing else.
    assert_eq!(summaries.len(), lines.len(), "{lines:?}");
}
