//! Node-level scenarios: whole `vipd_node::Node`s on hosts with a fake kernel (slow or
//! failing VIP jobs, stale reads, addresses changed by hand, interfaces that go away),
//! on a fake clock. Every instant asserted is derived in the comment above it; every
//! scenario also checks the LAN's invariants (no master without its VIPs for longer than
//! a read and two jobs, no two holders of a VIP outside a partition for longer than an
//! interval, the network and two jobs).
//!
//! Defaults: job latency 2 ms, read latency 1 ms, network 100 µs. A node reads the
//! kernel when it starts; its instance starts when that read is back (t = 1 ms), and
//! Startup asks to remove leftover VIPs (a 2 ms job).
//!
//! More scenarios, by concern: `node_vip_jobs.rs` (answers after the stint that asked,
//! retried removals, failed adds), `node_kernel.rs` (VIPs by hand, stale reads, source
//! changes, interfaces that go and return), `node_reload_stop.rs`, `node_status_demux.rs`;
//! their helpers are in `common/mod.rs`.

mod common;

use common::*;
use vipd_engine::State;
use vipd_sim::lan::Act;

/// Master_Down_Interval of priority 150 at 100 ms: 300 ms + (256-150)/256 × 100 ms =
/// 341.40625 ms, counted from the start at 1 ms: master at 342.40625 ms; its VIP job ends
/// 2 ms later, and only then does it send its first advert.
const A_MASTER: u64 = 342_406_250;

#[test]
fn election_waits_for_the_vip_before_the_first_advert() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    assert_eq!(lan.entered(0, "web", State::Backup, ms(0)), Some(ms(1)));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(A_MASTER))
    );
    let first = lan.adverts(0, 150);
    assert_eq!(first.first(), Some(&at_ns(A_MASTER + 2 * MS)));
    // Host 1 (Master_Down at 1 ms + 360.9375 ms) heard host 0 first and stays backup.
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), None);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

#[test]
fn vip_removed_by_hand_on_the_master_is_back_after_one_read_and_one_job() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::RemoveAddr(0, vip50()));
    // The address event makes the node read (1 ms); the read shows the VIP missing; the
    // add takes 2 ms.
    lan.run_until(at_ns(1003 * MS - 1));
    assert!(!lan.holds(0, vip50()));
    lan.run_until(ms(1003));
    assert!(lan.holds(0, vip50()));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    assert_no_breach(&lan);
}
