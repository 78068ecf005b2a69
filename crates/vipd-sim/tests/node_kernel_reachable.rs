//! A master whose kernel cannot be read (a dead netlink connection) cannot confirm its
//! VIPs: after 5 s without a good read it hands over with priority 0 and waits in Fault;
//! once reads work again it is a backup (and, preempting, master again). Job latency
//! 2 ms, read latency 1 ms, network 100 µs.

use vipd_engine::{Instant, State};
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, Lan};

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

#[test]
fn a_master_blind_for_five_seconds_hands_over() {
    let v = vip("192.0.2.50/24").addr;
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.start_all();
    // Host 0: master at 342.40625 ms, VIP confirmed at 344.40625 ms; the address event
    // of that add makes it read at once (answered 345.40625 ms, the last good read), and
    // then once a second: 1.34440625 s, 2.34440625 s, ...
    lan.run_until(at(1_000_000_000));
    lan.act(Act::FailReads(0, true));
    // Every read from 1.34440625 s on fails; the one answered at 5.34540625 s is the
    // first 5 s after the last good one.
    let blind = 5_345_406_250;
    lan.run_until(at(blind - 1));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.run_until(at(blind));
    assert_eq!(lan.state(0, "web"), Some(State::Fault));
    assert_eq!(lan.adverts(0, 0), vec![at(blind)], "one priority-0 advert");
    // Host 1 hears it 100 µs later and takes over after its Skew_Time,
    // (256 - 100) / 256 × 100 ms = 60.9375 ms; its VIP is there 2 ms after that.
    let taken = blind + 100_000 + 60_937_500;
    lan.run_until(at(taken + 2_000_000));
    assert_eq!(lan.entered(1, "web", State::Master, at(0)), Some(at(taken)));
    assert_eq!(lan.holders(v), vec![1]);
    // Host 0's removal ended at 5.34740625 s; its address event made it read then
    // (failing), so the next reads are at 6.34740625 s and 7.34740625 s. Reads work again
    // from 7 s: the one answered at 7.34840625 s is good; host 0 is a backup, and
    // preempts one Master_Down_Interval (341.40625 ms) later.
    lan.run_until(at(7_000_000_000));
    lan.act(Act::FailReads(0, false));
    let back = 7_348_406_250;
    lan.run_until(at(back + 1_000_000_000));
    assert_eq!(
        lan.entered(0, "web", State::Backup, at(blind)),
        Some(at(back))
    );
    assert_eq!(
        lan.entered(0, "web", State::Master, at(blind)),
        Some(at(back + 341_406_250))
    );
    assert_eq!(lan.holders(v), vec![0]);
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}

#[test]
fn a_few_failed_reads_change_nothing() {
    let mut lan = Lan::builder()
        .host(web(150, 100))
        .host(web(100, 100))
        .build();
    lan.start_all();
    lan.run_until(at(1_000_000_000));
    // Four failed reads (1.3–4.3 s): 4 s blind is below the limit.
    lan.act(Act::FailReads(0, true));
    lan.run_until(at(5_000_000_000));
    lan.act(Act::FailReads(0, false));
    lan.run_until(at(10_000_000_000));
    assert_eq!(lan.adverts(0, 0), Vec::<Instant>::new());
    assert_eq!(lan.transitions(0).len(), 2, "{:?}", lan.transitions(0));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    assert!(lan.breaches().is_empty(), "{:?}", lan.breaches());
}
