//! vipd never removes an address it did not add: a VIP that is already one of the
//! host's own addresses is refused at start, while a leftover of vipd's own (a crash) is
//! cleaned up. (Job latency 2 ms, read latency 1 ms.)

use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_node::Level;
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, Lan, Seen};

const MS: u64 = 1_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

#[test]
fn a_vip_that_is_the_hosts_own_address_is_refused_and_never_removed() {
    let v = vip("192.0.2.50/24");
    let mut lan = Lan::builder().host(web(150, 100)).build();
    // The operator configured 192.0.2.50 on eth0 by hand before vipd ever ran.
    lan.act(Act::AddAddr(0, v));
    lan.start_all();
    lan.run_for(Duration::from_secs(5));
    assert!(
        lan.holds(0, v.addr),
        "vipd removed an address it did not add"
    );
    assert_eq!(lan.state(0, "web"), None, "the instance must not start");
    let jobs = lan.seen(0, |s| matches!(s, Seen::JobAsked { .. }));
    assert!(jobs.is_empty(), "no VIP job may touch it: {jobs:?}");
    // Said once, when the first read came back (1 ms), at warning level.
    let said: Vec<_> = lan
        .notes(0, Level::Warn)
        .into_iter()
        .filter(|(_, text)| text.contains("already an address of eth0 that vipd did not add"))
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert_eq!(said[0].0, ms(1));
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn a_leftover_of_vipd_itself_is_cleaned_up_at_start() {
    let v = vip("192.0.2.50/24");
    let mut lan = Lan::builder().host(web(150, 100)).build();
    lan.start_all();
    // Alone, host 0 is master at 1 ms + 341.40625 ms and holds the VIP 2 ms later.
    lan.run_until(ms(1000));
    assert!(lan.holds(0, v.addr));
    lan.act(Act::Crash(0));
    assert!(lan.holds(0, v.addr), "SIGKILL leaves the VIP in the kernel");
    lan.act(Act::Start(0));
    // The restart reads the kernel (1 ms): the VIP is vipd's own (tagged), so the
    // instance starts, and Startup removes it (a 2 ms job).
    lan.run_until(Instant::from_nanos(1003 * MS - 1));
    assert!(lan.holds(0, v.addr));
    lan.run_until(ms(1003));
    assert!(
        !lan.holds(0, v.addr),
        "the leftover must be gone at 1003 ms"
    );
    assert_eq!(lan.state(0, "web"), Some(State::Backup));
    // Master again one Master_Down_Interval after the start at 1001 ms.
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(1001)),
        Some(Instant::from_nanos(1001 * MS + 341_406_250))
    );
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}
