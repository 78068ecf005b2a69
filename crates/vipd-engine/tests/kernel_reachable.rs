//! A master that cannot read its interface's addresses cannot confirm its VIPs: it
//! hands over with priority 0 and waits in Fault until the kernel answers again.
//! (Router 192.0.2.2, VRID 51, VIP 192.0.2.100, priority 150, interval 100 cs.)

use std::net::{IpAddr, Ipv4Addr};

use vipd_engine::{Config, FaultCause, Input, Instant, Output, Reason, Router, State};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn ns(n: u64) -> Instant {
    Instant::from_nanos(n)
}

fn drain(r: &mut Router) -> Vec<Output> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

/// A router that became master (alone: Master_Down_Interval 3 s + (256-150)/256 s =
/// 3.4140625 s) and confirmed its VIP at once.
fn master() -> (Router, Instant) {
    let mut r = Router::new(Config::v3(51, 150, 100, ip(2), vec![ip(100)])).expect("config");
    r.handle(ns(0), Input::Startup);
    drain(&mut r);
    let t = ns(3_414_062_500);
    assert_eq!(r.poll_timeout(), Some(t));
    r.handle(t, Input::Timeout);
    let add = drain(&mut r)
        .into_iter()
        .find_map(|o| match o {
            Output::AddVips { id } => Some(id),
            _ => None,
        })
        .expect("a new master adds its VIPs");
    r.handle(t, Input::VipApplied { id: add, ok: true });
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

#[test]
fn an_unreachable_kernel_makes_a_master_hand_over_and_wait_in_fault() {
    let (mut r, t0) = master();
    let t = t0 + std::time::Duration::from_millis(500);
    r.handle(t, Input::KernelReachable(false));
    let out = drain(&mut r);
    // Priority 0 first (backups take over after Skew_Time), then the VIPs go.
    let prio0 = out
        .iter()
        .position(|o| matches!(o, Output::SendAdvert { priority: 0, .. }));
    let del = out.iter().position(|o| matches!(o, Output::DelVips { .. }));
    assert!(
        matches!((prio0, del), (Some(a), Some(b)) if a < b),
        "{out:?}"
    );
    assert_eq!(r.state(), State::Fault);
    assert_eq!(
        r.status().reason,
        Reason::Fault(FaultCause::KernelUnreachable)
    );
    assert_eq!(r.status().reason.as_str(), "kernel_unreachable");
    // No retry timer: only the kernel answering again ends it.
    assert_eq!(r.poll_timeout(), None);
    let back = t + std::time::Duration::from_secs(7);
    r.handle(back, Input::KernelReachable(true));
    drain(&mut r);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.status().reason, Reason::Recovered);
    // Backup again: Master_Down_Interval from now.
    assert_eq!(
        r.poll_timeout(),
        Some(back + std::time::Duration::from_nanos(3_414_062_500))
    );
}

#[test]
fn a_link_down_outranks_an_unreachable_kernel() {
    let (mut r, t0) = master();
    r.handle(t0, Input::LinkDown);
    r.handle(t0, Input::KernelReachable(false));
    drain(&mut r);
    assert_eq!(r.status().reason, Reason::Fault(FaultCause::LinkDown));
    r.handle(t0, Input::LinkUp);
    drain(&mut r);
    assert_eq!(
        r.status().reason,
        Reason::Fault(FaultCause::KernelUnreachable)
    );
}
