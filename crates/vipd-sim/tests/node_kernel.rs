//! Node-level scenarios about the kernel's view: VIPs added by hand, reads that are
//! stale by the time they are answered, the advert source address changing, the
//! interface going away and coming back.
//!
//! Every instant is derived in the comment above its assertion. The rules used:
//! - Defaults: job 2 ms, read 1 ms, network 100 µs; adverts every 100 ms.
//! - A node reads at start, then once a second counted from its last read (a read is
//!   asked after every address event, unless one is under way: then once more when it
//!   is back). A read shows the kernel as it was when it began.
//! - Host 0 (priority 150) and host 1 (100), started at 0: instances up at 1 ms,
//!   startup removals 1 → 3 ms (so each host's reads are at 0 and 3 ms); host 0 master
//!   at 1 + 341.40625 = 342.40625 ms, add → 344.40625, adverts from then every 100 ms
//!   (…, 944.40625, 1044.40625, …), and a read at 344.40625 (the add's address event):
//!   its next periodic read is at 1344.40625. Host 1 reads next at 1003.
//! - Skew_Time at 100 ms: priority 100 → 60.9375 ms, 150 → 41.40625 ms.

mod common;

use std::time::Duration;

use common::*;
use vipd_engine::State;
use vipd_node::Level;
use vipd_sim::cfg::node::vip;
use vipd_sim::lan::{Act, Lan, Seen};

/// Someone adds the VIP on the backup: the address event makes it read, the read shows
/// the VIP on a non-master, and the removal follows at once.
#[test]
fn vip_added_by_hand_on_the_backup_is_removed_after_one_read_and_one_job() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::AddAddr(1, vip("192.0.2.50/24")));
    lan.run_until(ms(1500));
    // Event at 1000 → read 1000 (host 1 has none under way) → answered 1001: the VIP on
    // a backup → VipsPresent → removal 1001 → 1003.
    assert!(lan.seen(1, |s| matches!(s, Seen::Read)).contains(&ms(1000)));
    assert_eq!(
        notes_with(
            &lan,
            1,
            "a VIP is on the interface of a non-master (backup)"
        ),
        vec![ms(1001)]
    );
    assert_eq!(jobs_asked(&lan, 1, false), vec![ms(1), ms(1001)]);
    assert_eq!(jobs_done(&lan, 1, false)[1], (ms(1003), true));
    assert_eq!(lan.holders(vip50()), vec![0]);
    // Nothing else moved.
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert_eq!(lan.state(1, "web"), Some(State::Backup));
    assert!(jobs_asked(&lan, 1, true).is_empty());
    assert_no_breach(&lan);
}

/// The same with the read checked to the nanosecond: the VIP is still there just
/// before 1003 ms and gone at 1003 ms.
#[test]
fn vip_added_by_hand_on_the_backup_is_gone_exactly_when_the_removal_ends() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::AddAddr(1, vip("192.0.2.50/24")));
    lan.run_until(before(ms(1003)));
    assert!(lan.holds(1, vip50()));
    lan.run_until(ms(1003));
    assert!(!lan.holds(1, vip50()));
    assert_no_breach(&lan);
}

/// A read that began while the node's own add was under way, and is answered after
/// the add ended, still shows no VIP. It must not be taken for drift: no second add,
/// no note. (Read latency 5 ms > job latency 2 ms makes such a read.)
#[test]
fn a_read_begun_before_the_own_add_ended_is_not_taken_for_drift() {
    let mut lan = Lan::builder()
        .read_latency(Duration::from_millis(5))
        .host(vipd_sim::cfg::node::web(150, 100))
        .host(vipd_sim::cfg::node::web(100, 100))
        .build();
    lan.start_all();
    // Read 0 → 5 ms; instance up at 5, startup removal 5 → 7 (its address event: read
    // 7 → 12); master at 5 + 341.40625 = 346.40625; add 346.40625 → 348.40625.
    lan.run_until(ms(347));
    assert_eq!(jobs_asked(&lan, 0, true), vec![at_ns(346_406_250)]);
    // An unrelated address appears at 347: read 347 → 352, showing the kernel of 347,
    // without the VIP. The add ends at 348.40625 (its address event finds that read
    // under way: one more read when it is back, 352 → 357, which shows the VIP).
    lan.act(Act::AddAddr(0, vip("198.51.100.7/24")));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Read))[..4],
        [ms(0), ms(7), ms(347), ms(352)]
    );
    assert_eq!(lan.adverts(0, 150).first(), Some(&at_ns(348_406_250)));
    // The stale read (answered at 352, VIP missing in it) changed nothing: host 0's
    // only jobs are the startup removal and its one add.
    assert_eq!(jobs_asked(&lan, 0, true), vec![at_ns(346_406_250)]);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(5)]);
    assert!(notes_with(&lan, 0, "behind vipd's back").is_empty());
    assert!(notes_with(&lan, 0, "non-master").is_empty());
    assert!(lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

/// The host's own IPv4 address (the advert source) is replaced: the instance leaves
/// with priority 0, starts again from the new address, and its adverts come from it.
#[test]
fn a_new_advert_source_restarts_the_instance_from_it() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    let new_src = vip("192.0.2.21/24");
    // At 1000, in this order: 192.0.2.11 removed (event: read 1000 → 1001, showing the
    // kernel without it), 192.0.2.21 added (event: a read is under way, so another one
    // when it is back: 1001 → 1002, showing .21).
    lan.act(Act::RemoveAddr(0, Lan::addr_v4(0)));
    lan.act(Act::AddAddr(0, new_src));
    lan.run_until(ms(1500));

    // 1001: the first read began before the second event: its addresses are old news
    // and judge no source. 1002: the second read shows .11 gone and .21 the first
    // usable IPv4 address (.50 is a VIP): the master leaves — priority 0 from the old
    // source, removal 1002 → 1004 — and starts again from .21 in the same read (the
    // IPv4 socket serves every source): Startup removal 1002 → 1006 (behind the other),
    // backup, Master_Down_Timer at 1002 + 341.40625 = 1343.40625.
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Read))[3..5],
        [ms(1000), ms(1001)]
    );
    assert_eq!(
        notes_with(
            &lan,
            0,
            "advert source address changed from 192.0.2.11 to 192.0.2.21"
        ),
        vec![ms(1002)]
    );
    assert_eq!(lan.entered(0, "web", State::Stopped, ms(0)), Some(ms(1002)));
    let adverts = adverts_from(&lan, 0);
    let goodbye = adverts.iter().position(|a| a.2 == 0).expect("a goodbye");
    assert_eq!(adverts[goodbye], (ms(1002), Lan::addr_v4(0), 0));
    assert_eq!(adverts[goodbye - 1].0, at_ns(944_406_250));
    let starting: Vec<_> = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            Seen::Record(vipd_node::Record {
                what: vipd_node::What::Starting { source, .. },
                ..
            }) => Some((e.at, *source)),
            _ => None,
        })
        .collect();
    assert_eq!(
        starting,
        vec![(ms(1), Lan::addr_v4(0)), (ms(1002), new_src.addr)]
    );
    assert_eq!(
        jobs_done(&lan, 0, false)[1..],
        [(ms(1004), true), (ms(1006), true)]
    );
    // Host 1 hears the priority 0 at 1002.1: master at 1002.1 + 60.9375 = 1063.0375,
    // add → 1065.0375. Its adverts (priority 100) do not hold host 0 back (preempt):
    // host 0 master at 1343.40625, add (queue free) → 1345.40625, the first advert
    // from .21. Host 1 hears it at 1345.50625 and removes the VIP by 1347.50625.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(1_063_037_500))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(1_065_037_500)));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(1000)),
        Some(at_ns(1_343_406_250))
    );
    let after: Vec<_> = adverts[goodbye + 1..].to_vec();
    assert_eq!(after[0], (at_ns(1_345_406_250), new_src.addr, 150));
    assert!(after.iter().all(|a| a.1 == new_src.addr));
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(1100)),
        Some(at_ns(1_345_506_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// The interface is deleted under a master and created again: the router is dropped
/// at once (no VIP, no advert), the instance waits while the interface does not exist,
/// and starts again from the read that follows the interface's return.
#[test]
fn an_interface_that_goes_and_returns_drops_and_restarts_the_instance() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::DeleteIface(0));
    lan.schedule(ms(2000), Act::CreateIface(0));
    lan.run_until(ms(2500));

    // 1000: the link is gone: link down for the router (Fault, no priority 0 — the
    // link is down), the interface and the router are dropped.
    assert_eq!(
        notes_with(&lan, 0, "interface eth0 removed"),
        vec![ms(1000)]
    );
    assert_eq!(lan.entered(0, "web", State::Fault, ms(0)), Some(ms(1000)));
    assert!(lan.adverts(0, 0).is_empty());
    // Next periodic read at 1344.40625 → 1345.40625: the interface does not exist.
    assert_eq!(
        notes_with(&lan, 0, "not started yet: interface eth0 does not exist"),
        vec![at_ns(1_345_406_250)]
    );
    // Host 1 last heard host 0 at 944.50625: master at 944.50625 + 360.9375 =
    // 1305.44375, add → 1307.44375.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_305_443_750))
    );
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(1_307_443_750)));
    // 2000: the interface is back (new index); its address event makes the node read
    // (2000 → 2001), and the instance starts at 2001: startup removal 2001 → 2003,
    // backup; host 1's adverts rank lower, so host 0 is master at 2001 + 341.40625 =
    // 2342.40625, add → 2344.40625, first advert then.
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(2000)),
        Some(ms(2001))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2000)),
        Some(at_ns(2_342_406_250))
    );
    assert_eq!(
        lan.adverts(0, 150).into_iter().find(|t| *t > ms(1000)),
        Some(at_ns(2_344_406_250))
    );
    // Host 1 hears it at 2344.50625 and its removal ends at 2346.50625.
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(2000)),
        Some(at_ns(2_344_506_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// While the interface is gone, status says why the instance is not running.
#[test]
fn status_while_the_interface_is_gone_says_why() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    lan.act(Act::DeleteIface(0));
    lan.schedule(ms(1100), Act::Status(0));
    lan.run_until(ms(1200));
    // Request at 1100 → read 1100 → 1101: the read finds no interface (the waiting
    // reason becomes "does not exist"), then answers.
    let r = replies(&lan, 0);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, ms(1101));
    let inst = &r[0].1.instances[0];
    assert_eq!(inst.state, vipd_api::State::Initialize);
    assert_eq!(inst.reason, "interface eth0 does not exist");
    assert!(!inst.vips[0].present);
    assert!(lan.state(0, "web").is_none());
    assert!(lan.notes(0, Level::Error).is_empty());
    assert_no_breach(&lan);
}

/// A read that began before the interface was deleted, answered after, still shows the
/// interface. It must not start the instance again on the deleted interface (a router
/// with no link would become master without its VIP): the link event is newer news.
/// The node reads again, learns that the interface does not exist, and starts the
/// instance only from a read that follows the interface's return. (Read latency 5 ms
/// makes the read overlap the deletion.)
#[test]
fn a_read_begun_before_the_interface_was_deleted_does_not_start_the_instance() {
    let mut lan = Lan::builder()
        .read_latency(Duration::from_millis(5))
        .host(vipd_sim::cfg::node::web(150, 100))
        .host(vipd_sim::cfg::node::web(100, 100))
        .build();
    lan.start_all();
    // Host 0: read 0 → 5, up at 5, startup removal 5 → 7 (read 7 → 12), master at 5 +
    // 341.40625 = 346.40625, add → 348.40625 (read → 353.40625, next at 1348.40625);
    // adverts every 100 ms from 348.40625.
    lan.run_until(ms(1000));
    // An unrelated address at 1000: read 1000 → 1005. The interface goes at 1002.
    lan.act(Act::AddAddr(0, vip("198.51.100.7/24")));
    lan.schedule(ms(1002), Act::DeleteIface(0));
    lan.schedule(ms(2000), Act::CreateIface(0));
    lan.run_until(ms(1900));
    assert_eq!(lan.entered(0, "web", State::Fault, ms(0)), Some(ms(1002)));
    // 1005: the read shows the interface of 1000; a link event came since, so it does
    // not count and the node reads again: 1005 → 1010, no such interface.
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Read))[3..],
        [ms(1000), ms(1005)]
    );
    assert_eq!(
        notes_with(&lan, 0, "not started yet: interface eth0 does not exist"),
        vec![ms(1010)]
    );
    assert_eq!(lan.state(0, "web"), None);
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(5), ms(1002)]);
    // Host 1 last heard host 0 at 948.50625: master at 948.50625 + 360.9375 =
    // 1309.44375.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(1_309_443_750))
    );
    // 2000: back; its address event: read 2000 → 2005 (the last one, 1005 → 1010, is
    // long back); the instance starts at 2005 and preempts host 1 at 2005 + 341.40625
    // = 2346.40625.
    lan.run_until(ms(2500));
    assert_eq!(
        lan.entered(0, "web", State::Backup, ms(1100)),
        Some(ms(2005))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(1100)),
        Some(at_ns(2_346_406_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// The interface is deleted while the master's add is in the kernel queue, and created
/// again (another index) before that add's turn: the add names the old index and fails
/// (the kernel's "no such device"), it does not land on the new interface; the removal
/// after it finds nothing to remove. The failure belongs to a run that is gone and does
/// not touch the instance started on the new interface. (Job latency 100 ms.)
#[test]
fn an_add_for_a_deleted_interface_does_not_land_on_its_successor() {
    let mut lan = Lan::builder()
        .job_latency(Duration::from_millis(100))
        .host(vipd_sim::cfg::node::web(150, 100))
        .host(vipd_sim::cfg::node::web(100, 100))
        .build();
    lan.start_all();
    lan.schedule(ms(400), Act::DeleteIface(0));
    lan.schedule(ms(410), Act::CreateIface(0));
    lan.run_until(ms(500));
    // Host 0: up at 1, startup removal 1 → 101; master at 342.40625, add (index 2)
    // → 442.40625. Deleted at 400: link down, a removal (index 2) 400 → 542.40625,
    // router dropped. Back at 410 (index 3): read 410 → 411, the instance starts:
    // startup removal (index 3) 411 → 642.40625.
    assert_eq!(jobs_asked(&lan, 0, false), vec![ms(1), ms(400), ms(411)]);
    // 442.40625: the add's interface is gone: refused, nothing added.
    assert_eq!(jobs_done(&lan, 0, true), vec![(at_ns(442_406_250), false)]);
    assert!(!lan.holds(0, vip50()));
    lan.run_until(ms(1000));
    assert_eq!(jobs_done(&lan, 0, false)[1], (at_ns(542_406_250), true));
    // The new run: backup at 411, master at 411 + 341.40625 = 752.40625 (host 1's
    // adverts rank lower), add (index 3, queue free at 642.40625) → 852.40625, its
    // first advert; no fault from the old run's refused add.
    let t: Vec<_> = lan
        .transitions(0)
        .into_iter()
        .filter(|x| x.0 > ms(400))
        .map(|x| (x.0, x.3))
        .collect();
    assert_eq!(
        t,
        vec![
            (ms(411), State::Backup),
            (at_ns(752_406_250), State::Master)
        ]
    );
    assert_eq!(jobs_done(&lan, 0, true)[1], (at_ns(852_406_250), true));
    assert_eq!(lan.adverts(0, 150).first(), Some(&at_ns(852_406_250)));
    // Host 1: master at 361.9375 (it never heard host 0), add (queue free at 101) →
    // 461.9375; hears host 0 at 852.50625, removal → 952.50625.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(0)),
        Some(at_ns(361_937_500))
    );
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(400)),
        Some(at_ns(852_506_250))
    );
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// The advert source flickers: removed and added back within one read. The read under
/// way when it came back shows it missing, but an address event came after that read
/// began, so it is old news: the node waits for the read that follows instead of
/// making a healthy master hand over (and take over again a Master_Down_Interval
/// later).
#[test]
fn a_source_address_back_before_the_read_returns_restarts_nothing() {
    let mut lan = pair();
    lan.run_until(ms(1000));
    // Removed at 1000: read 1000 → 1001 (host 0 has none under way). Back at 1000.5:
    // its event finds the read under way, so another read follows it: 1001 → 1002,
    // which shows the address.
    lan.act(Act::RemoveAddr(0, Lan::addr_v4(0)));
    lan.run_until(at_ns(1_000_500_000));
    lan.act(Act::AddAddr(0, vip("192.0.2.11/24")));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Read))[3..5],
        [ms(1000), ms(1001)]
    );
    assert!(notes_with(&lan, 0, "advert source address changed").is_empty());
    assert!(lan.adverts(0, 0).is_empty());
    // Adverts go on every 100 ms from 344.40625, the first advert, untouched: 1044.40625
    // to 1944.40625 before 2000.
    let after: Vec<_> = lan
        .adverts(0, 150)
        .into_iter()
        .filter(|t| *t > ms(1000))
        .collect();
    let expected: Vec<_> = (7..17).map(|k| at_ns(344_406_250 + k * 100 * MS)).collect();
    assert_eq!(after, expected);
    assert_eq!(lan.transitions(0).len(), 2);
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), None);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}
