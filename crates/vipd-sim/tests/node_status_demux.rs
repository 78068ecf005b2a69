//! Node-level scenarios about status answers (read for the request, never remembered)
//! and about several instances on one host (adverts to the right router by VRID).
//!
//! Every instant is derived in the comment above its assertion. The rules used:
//! - Defaults: job 2 ms, read 1 ms, network 100 µs; adverts every 100 ms.
//! - Instances come up when the start-up read is back (1 ms); each Startup asks for a
//!   removal, and a host's jobs run one after the other (2 ms each).
//! - Master_Down_Interval at 100 ms: priority 150 → 341.40625 ms, 100 → 360.9375 ms;
//!   Skew_Time at priority 100: 60.9375 ms. The first advert follows the add.

mod common;

use common::*;
use vipd_engine::State;
use vipd_sim::cfg::node::{config, instance, vip};
use vipd_sim::lan::{Act, Lan, Seen};

/// A status request that comes while a read is under way waits for the next read, so
/// what it says about the VIPs is as of a read that began after the request.
#[test]
fn status_waits_for_a_read_begun_after_the_request() {
    let mut lan = pair();
    // Host 0: reads at 0, 3 and 344.40625 (its add's address event); none under way
    // at 1000.
    lan.run_until(ms(1000));
    // Request 1 at 1000: read 1000 → 1001.
    lan.act(Act::Status(0));
    // At 1000.5 the VIP is removed by hand (the event finds the read under way: one
    // more read when it is back), and request 2 comes: it waits for that next read.
    lan.run_until(at_ns(1_000_500_000));
    lan.act(Act::RemoveAddr(0, vip50()));
    lan.act(Act::Status(0));
    lan.run_until(ms(1500));

    let reads = lan.seen(0, |s| matches!(s, Seen::Read));
    assert_eq!(reads[3..5], [ms(1000), ms(1001)]);
    let r = replies(&lan, 0);
    assert_eq!(r.len(), 2);
    // Request 1 is answered from the read begun at 1000, when the VIP was there.
    assert_eq!(r[0].0, ms(1001));
    assert!(r[0].1.instances[0].vips[0].present);
    // Request 2 is not answered from that read (the VIP was gone by then) but from the
    // read 1001 → 1002: absent, as in the kernel at 1002. The same read finds the
    // master without its VIP: add 1002 → 1004.
    assert_eq!(r[1].0, ms(1002));
    let inst = &r[1].1.instances[0];
    assert_eq!(inst.state, vipd_api::State::Master);
    assert!(!inst.vips[0].present);
    assert_eq!(notes_with(&lan, 0, "behind vipd's back"), vec![ms(1002)]);
    assert_eq!(jobs_done(&lan, 0, true)[1], (ms(1004), true));
    assert!(lan.holds(0, vip50()));
    assert_no_breach(&lan);
}

/// Two instances on one host, each master where the other host is backup: adverts go
/// to the router of their VRID, a third VRID the host does not run is counted and
/// dropped, and one instance leaving does not disturb the other.
#[test]
fn two_instances_on_one_host_are_demuxed_by_vrid() {
    let web = |p| instance("web", 51, p, 100, &["192.0.2.50/24"]);
    let db = |p| instance("db", 52, p, 100, &["192.0.2.60/24"]);
    let mail = instance("mail", 53, 100, 100, &["192.0.2.70/24"]);
    let host1 = config(vec![web(100), db(150), mail.clone()]);
    let mut lan = Lan::builder()
        .host(config(vec![web(150), db(100)]))
        .host(host1)
        .build();
    lan.start_all();
    lan.run_until(ms(1000));
    let (vip60, vip70) = (vip("192.0.2.60/24").addr, vip("192.0.2.70/24").addr);

    // Up at 1 ms. Startup removals: host 0 web 1 → 3, db → 5; host 1 web → 3, db → 5,
    // mail → 7. At 342.40625 (priority 150) host 0's web and host 1's db are master;
    // their adds end at 344.40625, first adverts then, heard at 344.50625 by the
    // other host's instance of the same VRID, which stays backup.
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(
        lan.entered(1, "db", State::Master, ms(0)),
        Some(at_ns(342_406_250))
    );
    assert_eq!(lan.entered(0, "db", State::Master, ms(0)), None);
    assert_eq!(lan.entered(1, "web", State::Master, ms(0)), None);
    assert_eq!(lan.adverts(0, 150).first(), Some(&at_ns(344_406_250)));
    assert_eq!(lan.adverts(1, 150).first(), Some(&at_ns(344_406_250)));
    // mail (VRID 53, host 1 only) is master at 1 + 360.9375 = 361.9375, add (queue
    // free) → 363.9375; its adverts (every 100 ms) reach host 0 at 364.0375 + k × 100
    // ms: seven before 1000, each dropped as a VRID not configured there.
    assert_eq!(lan.adverts(1, 100).first(), Some(&at_ns(363_937_500)));
    let unknown = notes_with(&lan, 0, "for VRID 53, not configured here");
    let expected: Vec<_> = (0..7).map(|k| at_ns(364_037_500 + k * 100 * MS)).collect();
    assert_eq!(unknown, expected);
    assert!(notes_with(&lan, 1, "not configured here").is_empty());
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(lan.holders(vip60), vec![1]);
    assert_eq!(lan.holders(vip70), vec![1]);

    // Host 1 drops db at 1000: priority 0 on VRID 52, removal 1000 → 1002. Host 0's db
    // takes over at 1000.1 + 60.9375 = 1061.0375, add → 1063.0375; host 0's web sees
    // nothing of it.
    lan.act(Act::Reload(1, config(vec![web(100), mail])));
    lan.run_until(ms(1500));
    assert_eq!(
        lan.entered(0, "db", State::Master, ms(0)),
        Some(at_ns(1_061_037_500))
    );
    assert_eq!(lan.adverts(0, 100).first(), Some(&at_ns(1_063_037_500)));
    let web_changes = lan
        .transitions(0)
        .into_iter()
        .filter(|(_, name, ..)| name == "web")
        .count();
    assert_eq!(web_changes, 2, "web: backup, then master, nothing since");
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_eq!(lan.holders(vip60), vec![0]);
    assert_eq!(lan.holders(vip70), vec![1]);
    assert_no_breach(&lan);
}
