//! Authentication across clocks and restarts, on the simulated LAN with exact instants:
//! a master restarted with its wall clock an hour behind is heard at once (its numbers
//! start above the reservation it kept); with its kept state gone too (a VM restored
//! from a snapshot), it moves its numbers ahead by itself once its peer, which drops
//! its adverts as replays, has advertised below it for longer than
//! Master_Down_Interval; a restarted receiver still knows the numbers it accepted.
//!
//! Defaults as in node_auth.rs: job latency 2 ms, read latency 1 ms, network 100 µs;
//! adverts every 100 ms. Host 0 (192.0.2.11) at priority 150, host 1 (192.0.2.12) at
//! 100, both with key 11..11, started at 0: their instances start at 1 ms.

use std::net::IpAddr;

use vipd_engine::{Instant, State};
use vipd_node::auth::{AuthConfig, AuthKey};
use vipd_node::auth_state::{FIRST_JUMP, RESERVE};
use vipd_node::config::Config;
use vipd_node::{AuthState, Level};
use vipd_sim::cfg::node::{vip, web};
use vipd_sim::lan::{Act, HostId, Lan, Seen, SIM_EPOCH_NS};
use vipd_wire::auth as trailer;
use vipd_wire::Version;

const MS: u64 = 1_000_000;
const HOUR_NS: i64 = 3_600_000_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

fn at_ns(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

fn vip50() -> IpAddr {
    vip("192.0.2.50/24").addr
}

fn web_auth(priority: u8) -> Config {
    let mut c = web(priority, 100);
    c.instances[0].auth = Some(AuthConfig {
        key: AuthKey::from_hex(&"11".repeat(32)).expect("a 32-byte key"),
        previous_key: None,
    });
    c
}

fn pair() -> Lan {
    let mut lan = Lan::builder()
        .host(web_auth(150))
        .host(web_auth(100))
        .build();
    lan.start_all();
    lan
}

/// Master_Down_Interval of priority 150 at 100 ms: 300 ms + 106/256 × 100 ms.
const A_DOWN: u64 = 341_406_250;
/// Master_Down_Interval of priority 100 at 100 ms: 300 ms + 156/256 × 100 ms.
const B_DOWN: u64 = 360_937_500;
/// Skew_Time of priority 100 at 100 ms.
const B_SKEW: u64 = 60_937_500;
const NET: u64 = 100_000;
const JOB: u64 = 2 * MS;

fn seq_of(bytes: &[u8]) -> u64 {
    trailer::split(bytes, Version::V3, false)
        .expect("an authenticated advert")
        .trailer
        .seq
}

fn auth_drop(lan: &Lan, h: HostId, kind: &str) -> u64 {
    lan.node(h)
        .and_then(|n| n.instances().next())
        .and_then(|(_, r)| r)
        .and_then(|r| r.status().drops.get(kind).copied())
        .unwrap_or(0)
}

fn warnings(lan: &Lan, h: HostId, about: &str) -> Vec<Instant> {
    lan.notes(h, Level::Warn)
        .into_iter()
        .filter(|(_, text)| text.contains(about))
        .map(|(t, _)| t)
        .collect()
}

fn status(lan: &mut Lan, h: HostId) -> vipd_api::InstanceStatus {
    let before = lan.timeline().len();
    lan.act(Act::Status(h));
    lan.run_for(std::time::Duration::from_millis(1));
    let reply = lan.timeline()[before..]
        .iter()
        .filter(|e| e.host == h)
        .find_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) => s.instances.first().cloned(),
            _ => None,
        });
    reply.expect("a status reply")
}

fn assert_no_breach(lan: &Lan) {
    assert!(
        lan.breaches().is_empty(),
        "invariants broken: {:?}",
        lan.breaches()
    );
}

/// Host 0 leaves at 1000 ms (host 1 master from 1000.1 + 60.9375 ms) and starts again
/// at 2000 ms with its wall clock an hour behind: its instance starts at 2001 ms, hears
/// host 1 (priority 100) and takes over at 2001 + 341.40625 ms.
/// With `lost`, its state directory holds nothing then.
fn restart_an_hour_behind(lan: &mut Lan, lost: bool) -> u64 {
    lan.run_until(ms(1000));
    lan.act(Act::Stop(0));
    lan.run_until(ms(2000));
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1000)),
        Some(at_ns(1000 * MS + NET + B_SKEW))
    );
    lan.act(Act::SetWallClock(0, -HOUR_NS));
    if lost {
        lan.act(Act::KeepAuth(0, AuthState::default()));
    }
    lan.act(Act::Start(0));
    2001 * MS + A_DOWN
}

/// The kept reservation wins over the clock: host 0's first advert after the restart
/// is numbered above everything it sent, host 1 accepts it and yields at once.
#[test]
fn a_master_restarted_with_its_clock_an_hour_behind_is_heard_at_once() {
    let mut lan = pair();
    // The first run kept its reservation before it signed anything.
    assert_eq!(lan.kept_auth(0).next_seq, SIM_EPOCH_NS + RESERVE);
    let back = restart_an_hour_behind(&mut lan, false);
    lan.run_until(ms(4000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2000)),
        Some(at_ns(back))
    );
    // Its first advert follows its VIP add; host 1 hears it 100 µs later and yields.
    let first = lan
        .adverts(0, 150)
        .into_iter()
        .find(|t| *t > ms(2000))
        .expect("an advert after the restart");
    assert_eq!(first, at_ns(back + JOB));
    assert_eq!(
        lan.entered(1, "web", State::Backup, ms(2000)),
        Some(at_ns(back + JOB + NET))
    );
    let last = lan.last_advert_bytes(0).expect("adverts");
    assert!(seq_of(last) >= SIM_EPOCH_NS + RESERVE, "{}", seq_of(last));
    // The second run reserved above the first run's reservation.
    // (each save reserves RESERVE above the number in use then).
    let kept = lan.kept_auth(0).next_seq;
    assert!(kept >= SIM_EPOCH_NS + 2 * RESERVE, "{kept}");
    assert!(kept < SIM_EPOCH_NS + 2 * RESERVE + 100, "{kept}");
    assert_eq!(auth_drop(&lan, 1, "auth_replay"), 0);
    assert_eq!(lan.holders(vip50()), vec![0]);
    assert_no_breach(&lan);
}

/// The same restart with the kept state gone as well (a VM restored from a snapshot
/// taken before the first run): host 1 drops host 0's adverts as replays and stays
/// master. Host 0, master again, hears host 1 below it; once it has for longer than
/// its Master_Down_Interval it moves its numbers ahead (2^42 ns, more than the hour),
/// host 1 accepts the next advert and yields: one holder again. Host 1 warned about
/// the replays once they had lasted longer than its Master_Down_Interval.
#[test]
fn with_its_kept_state_lost_too_the_master_moves_its_numbers_ahead() {
    let mut lan = pair();
    lan.set_check_holders(false);
    let back = restart_an_hour_behind(&mut lan, true);
    lan.run_until(ms(5000));
    assert_eq!(
        lan.entered(0, "web", State::Master, ms(2000)),
        Some(at_ns(back))
    );
    // Host 1 advertises every 100 ms from its first advert at 1063.0375 ms (after its
    // add); they reach host 0 100 µs later. The first that reaches host 0 as master:
    // 2363.1375 ms. Longer than 341.40625 ms after it: the one of 2763.1375 ms, which
    // host 0 answers (still with the old numbers) and then jumps.
    let b_adverts = 1000 * MS + NET + B_SKEW + JOB;
    let first_heard = b_adverts + 13 * 100 * MS + NET;
    assert_eq!(first_heard, 2_363_137_500);
    let jump_at = first_heard + 4 * 100 * MS;
    assert_eq!(warnings(&lan, 0, "does not hear us"), vec![at_ns(jump_at)]);
    // Host 0's adverts are answered with the next of host 1's, 100 ms later: the first
    // with the new numbers reaches host 1 100 µs after that, and host 1 yields.
    let yielded = lan
        .entered(1, "web", State::Backup, ms(2000))
        .expect("host 1 yields");
    assert_eq!(yielded, at_ns(jump_at + 100 * MS + NET));
    let last = lan.last_advert_bytes(0).expect("adverts");
    assert!(seq_of(last) > SIM_EPOCH_NS + FIRST_JUMP - HOUR_NS as u64);
    // Two holders from host 1's view until then; one after host 1's removal.
    assert_eq!(lan.holders(vip50()), vec![0]);
    // Host 1 dropped every advert of host 0's second run until the jump: its first
    // (2344.50625 ms) and its answers to host 1's adverts, 100 µs after each, up to the
    // one of 2763.2375 ms; that one came more than host 1's Master_Down_Interval after
    // the first: warned then, once.
    assert_eq!(auth_drop(&lan, 1, "auth_replay"), 6);
    assert_eq!(warnings(&lan, 1, "auth_replay"), vec![at_ns(jump_at + NET)]);
    assert!(jump_at + NET > back + JOB + NET + B_DOWN);
    let st = status(&mut lan, 1);
    assert_eq!(st.auth_alarms, 1);
    assert_eq!(st.auth_failing, vec![], "over: host 0 is heard again");
}

/// Host 1 (backup) stops; the last numbers it accepted are kept on its way out. Host 0
/// dies, host 1 starts again, and an advert of host 0 recorded before is replayed to
/// it: dropped as a replay (a fresh memory would take it and put off the takeover), and
/// host 1 takes over one Master_Down_Interval after its instance started.
#[test]
fn a_restarted_receiver_still_knows_the_numbers_it_accepted() {
    let mut lan = pair();
    lan.run_until(ms(999));
    // Host 0's advert of 944.40625 ms, the last before 1000 ms.
    let recorded = lan.last_advert_bytes(0).expect("an advert").to_vec();
    lan.act(Act::Stop(1));
    let kept = lan.kept_auth(1).accepted.get("web").cloned();
    assert_eq!(
        kept.and_then(|m| m.get(&Lan::addr_v4(0)).copied()),
        Some(seq_of(&recorded))
    );
    lan.run_until(ms(1050));
    lan.act(Act::Crash(0));
    lan.run_until(ms(1100));
    lan.act(Act::Start(1));
    lan.run_until(ms(1150));
    lan.act(Act::Arrive(1, Lan::addr_v4(0), recorded));
    lan.run_until(ms(3000));
    assert_eq!(auth_drop(&lan, 1, "auth_replay"), 1);
    // Taken for new, it would have pushed the takeover to 1150 + 360.9375 ms.
    assert_eq!(
        lan.entered(1, "web", State::Master, ms(1100)),
        Some(at_ns(1101 * MS + B_DOWN))
    );
}
