//! Helpers shared by the node-level scenario files (`node_*.rs`). Each test file is its
//! own crate and uses only some of them.
#![allow(dead_code)]

use std::net::IpAddr;

use vipd_engine::Instant;
use vipd_node::ExitError;
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{HostId, Lan, Seen};

pub const MS: u64 = 1_000_000;

pub fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

pub fn at_ns(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

/// One nanosecond before `t`: "not yet".
pub fn before(t: Instant) -> Instant {
    Instant::from_nanos(t.as_nanos() - 1)
}

/// The web instance's VIP, 192.0.2.50.
pub fn vip50() -> IpAddr {
    vip("192.0.2.50/24").addr
}

/// Host 0 at priority 150, host 1 at 100, adverts every 100 ms, both started at 0,
/// default latencies (job 2 ms, read 1 ms, network 100 µs).
pub fn pair() -> Lan {
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan
}

pub fn assert_no_breach(lan: &Lan) {
    assert!(
        lan.breaches().is_empty(),
        "invariants broken: {:?}",
        lan.breaches()
    );
}

/// Instants host `h` handed an add (`add`) or a removal to its kernel queue.
pub fn jobs_asked(lan: &Lan, h: HostId, add: bool) -> Vec<Instant> {
    lan.seen(
        h,
        |s| matches!(s, Seen::JobAsked { add: a, .. } if *a == add),
    )
}

/// Instants host `h`'s adds or removals ended, with whether they worked.
pub fn jobs_done(lan: &Lan, h: HostId, add: bool) -> Vec<(Instant, bool)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match e.what {
            Seen::JobDone { add: a, ok } if a == add => Some((e.at, ok)),
            _ => None,
        })
        .collect()
}

/// Adverts host `h` sent: (instant, source, priority).
pub fn adverts_from(lan: &Lan, h: HostId) -> Vec<(Instant, IpAddr, u8)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match e.what {
            Seen::Advert { src, priority, .. } => Some((e.at, src, priority)),
            _ => None,
        })
        .collect()
}

/// The exits host `h`'s node asked for.
pub fn exits(lan: &Lan, h: HostId) -> Vec<(Instant, Result<(), ExitError>)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Exit(r) => Some((e.at, r.clone())),
            _ => None,
        })
        .collect()
}

/// The status replies host `h` gave.
pub fn replies(lan: &Lan, h: HostId) -> Vec<(Instant, vipd_api::Status)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) => Some((e.at, s.clone())),
            _ => None,
        })
        .collect()
}

/// Host `h`'s notes (any level) whose text contains `text`.
pub fn notes_with(lan: &Lan, h: HostId, text: &str) -> Vec<Instant> {
    lan.notes(h, vipd_node::Level::Debug)
        .into_iter()
        .filter(|(_, n)| n.contains(text))
        .map(|(t, _)| t)
        .collect()
}

/// The timeline of host `h` in words, without dropped-packet records: for reading a
/// failing scenario (`eprintln!("{}", dump(&lan, 0))`).
pub fn dump(lan: &Lan, h: HostId) -> String {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter(|e| {
            !matches!(
                &e.what,
                Seen::Record(vipd_node::Record {
                    what: vipd_node::What::Dropped(_),
                    ..
                })
            )
        })
        .map(|e| format!("{} {:?}\n", e.at, e.what))
        .collect()
}
