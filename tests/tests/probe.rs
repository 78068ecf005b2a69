//! The outage probe itself (`vipd_e2e::ping`): a gap between replies is the network's,
//! not the harness's. The replies' times are the kernel's receive times, so a reader
//! that is not scheduled for a while (a loaded two-core machine) reads them late but
//! does not lengthen any gap; `ping -D`, used before, stamped them when it printed
//! them.

use std::time::Duration;

use vipd_e2e::{exclusive, Lan, Pinger};

/// How long the reader is kept from reading: like the pinger stalls the suite saw.
const STALL: Duration = Duration::from_millis(400);

#[test]
fn a_reader_that_reads_late_does_not_make_a_gap() {
    let _serial = exclusive();
    let lan = Lan::new("probe");
    let client = lan.host_at("client", 100);
    let server = lan.host_at("server", 11);
    let ping = Pinger::start_replying(&client, &server.ipv4, Duration::from_secs(20), 50);
    ping.stall_reader(STALL);
    std::thread::sleep(STALL + Duration::from_millis(200));
    ping.assert_replies(50, Duration::from_secs(3), "replies after the stall");
    let report = ping.stop();
    let (gap, at) = report.longest_gap().expect("replies");
    println!(
        "probe: reader stalled {STALL:?}; longest gap {:.1} ms at {at:.6}; {report}",
        gap.as_secs_f64() * 1e3
    );
    // Every reply of the stall was counted, at the time it arrived: the gaps stay
    // near the 5 ms interval (a loaded machine may still delay a send or two).
    assert!(
        gap < STALL / 4,
        "a {:.1} ms gap while the network lost nothing: {report}",
        gap.as_secs_f64() * 1e3
    );
    assert!(
        report.lost_after(report.replies[0]).is_empty(),
        "lost replies: {report}"
    );
}
