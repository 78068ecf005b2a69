//! Soak: a seeded, bounded chaos run against three real vipd routers, to shake out races
//! in the daemon (its netlink work runs in tasks of its own, off the main loop).
//!
//! Routers a, b and c (priorities 150, 120, 100; default settings: VRRPv3, adverts every
//! 200 ms, preemption on) float 192.0.2.50/24 (instance web, VRID 51) while a client
//! pings it every 5 ms for the whole run. A seeded generator (vipd-sim's SplitMix64)
//! picks [`ACTIONS`] actions, one every 0.8–2 s:
//!
//! - pull a router's cable (plugged back 0.5–2.5 s later);
//! - SIGSTOP its vipd (SIGCONT 0.3–1.5 s later: a stalled process);
//! - SIGTERM its vipd (restarted with the same configuration 0.5–2 s later);
//! - SIGKILL its vipd, a crash (restarted 0.5–2 s later);
//! - isolate two routers' bridge ports from each other (split brain; lifted 1–3 s
//!   later). Isolated ports cannot reach each other but still reach every other port,
//!   so isolating one port alone changes nothing: the action always isolates a pair;
//! - delete the VIP by hand (`ip addr del`) on the router holding it.
//!
//! A router has at most one disruption at a time, and at most [`MAX_DOWN`] routers are
//! down at once (cable pulled, process stopped, terminated or crashed; an isolated
//! router is not down: it still reaches the client and the third router). The client is
//! never touched. The seed is printed; `VIPD_SOAK_SEED=<n or 0xhex>` replays a run.
//!
//! Every 20 ms, throughout, the test samples each router's `ip addr` and (where its
//! vipd can answer) its state, and checks:
//!
//! 1. outside [`GRACE`] after any action (undoing one included), at most one router
//!    holds the VIP, except while some port is isolated (split brain: two masters are
//!    what VRRP does). A router whose vipd is stopped or crashed is not counted: a
//!    stopped master keeps its VIP in the kernel, and so does a crashed one until its
//!    restart removes the leftover; the check is that the running routers agree;
//!
//!    1b. Since actions (and their undoing) come every 0.7 s on average, check 1
//!    applies in few samples. So also: no two running routers hold the VIP at once for
//!    longer than [`GRACE`] outside isolation, whatever else happens meanwhile. Per
//!    VRRP, routers that hear each other resolve two masters at the next advert
//!    (≤ 200 ms); a stopped or crashed router is again not counted;
//! 2. no router holds the VIP while its vipd reports a state other than master for
//!    longer than [`GRACE`];
//! 3. no vipd reports master without the VIP on its interface for longer than
//!    [`GRACE`] (the same pairing the other way round: a VIP change lost between the
//!    engine and the kernel shows up as either);
//! 4. a running vipd (neither stopped nor shutting down) answers `status` (within 0.5 s
//!    per try) — none goes unanswered for longer than [`GRACE`]: a main loop stuck on
//!    the kernel shows up here.
//!
//! Checks 2–4 skip routers whose vipd is stopped, shutting down or dead. A vipd that
//! exits by itself, or exits other than with 0 after SIGTERM, is a violation too.
//!
//! Afterwards everything is restored (cables plugged, isolation lifted, processes
//! continued or restarted): within [`SETTLE_LIMIT`], a (highest priority, preempting)
//! must be the only master and the only holder, b and c backup; vipctl agrees with the
//! kernel on all three; the client reaches the VIP; all three vipd are running and no
//! vipd log of the run says `panicked` or has an ERROR line (none of the actions is a
//! reason for one).
//!
//! Throughout, the client's longest gap between replies is at most [`LONGEST_OUTAGE`]
//! (a holder losing its cable, taken over by the slowest backup: c's
//! Master_Down_Interval + 250 ms). And the run takes every kind of action at least once
//! (the driver picks kinds not taken yet first).
//!
//! The driver, the checker and the report live in the harness (`vipd_e2e::soak`); this
//! file is the run itself.
//!
//! [`GRACE`]: vipd_e2e::soak::GRACE
//! [`LONGEST_OUTAGE`]: vipd_e2e::soak::LONGEST_OUTAGE
//! [`MAX_DOWN`]: vipd_e2e::soak::MAX_DOWN

use std::time::{Duration, Instant};

use vipd_e2e::soak::report::utc;
use vipd_e2e::soak::{
    daemon_problems, seed, settled_roles, Chaos, Draw, Run, LONGEST_OUTAGE, SAMPLE_EVERY,
};
use vipd_e2e::{
    assert_vipctl_agrees, describe, epoch_now, exclusive, start_web, Lan, Pinger, VIP4, VIP4_CIDR,
};

/// How many actions the run takes (fewer if [`CHAOS_BUDGET`] runs out first).
const ACTIONS: usize = 25;
/// The chaos phase ends after this at the latest (restoring and settling take at most
/// [`SETTLE_LIMIT`] and [`SETTLED_WATCH`] more, so the run stays within 45 s).
const CHAOS_BUDGET: Duration = Duration::from_secs(38);
/// How long after the restore a must be the only master.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// How long the settled roles are watched afterwards (they must not change).
const SETTLED_WATCH: Duration = Duration::from_secs(1);

#[test]
fn seeded_chaos_keeps_one_master() {
    let _serial = exclusive();
    let seed = seed();
    println!("soak: seed {seed} ({seed:#x}); replay with VIPD_SOAK_SEED={seed}");
    let lan = Lan::new("soak");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let c = lan.host_at("c", 13);
    let client = lan.host_at("client", 100);
    let all = [&a, &b, &c];
    let routers = [(&a, 150), (&b, 120), (&c, 100)];
    start_web(&routers, VIP4_CIDR);
    let ping = Pinger::start_replying(&client, VIP4, Duration::from_secs(120), 100);

    // Declared after the hosts: dropped first, so a stopped vipd is continued before
    // anything else is torn down, also when the test panics.
    let mut chaos = Chaos::new(&routers, seed);
    let begun = Instant::now();
    let mut actions = 0;
    let mut idle_picks = 0;
    // Bounded: ACTIONS rounds, and the budget.
    for _ in 0..ACTIONS {
        let gap = chaos.rng.millis(800, 2000);
        if begun.elapsed() + gap > CHAOS_BUDGET {
            chaos.event(format!(
                "chaos budget of {CHAOS_BUDGET:?} reached after {actions} actions"
            ));
            break;
        }
        match chaos.act() {
            Some(_) => actions += 1,
            None => idle_picks += 1,
        }
        chaos.idle(gap);
    }
    let chaos_secs = begun.elapsed().as_secs_f64();

    // Restore everything, then a must be the only master, b and c backup.
    chaos.restore_all();
    chaos.event("everything restored".to_string());
    let restored = epoch_now();
    let restored_at = Instant::now();
    let mut settled: Option<f64> = None;
    let mut final_problems: Vec<String> = Vec::new();
    // Bounded by SETTLE_LIMIT (each round samples and sleeps).
    while restored_at.elapsed() < SETTLE_LIMIT {
        let views = chaos.sample();
        if settled_roles(&views) {
            settled = Some(epoch_now() - restored);
            break;
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    match settled {
        Some(_) => {
            // Nothing happens any more: the roles must stay as they are.
            let watch_until = Instant::now() + SETTLED_WATCH;
            while Instant::now() < watch_until {
                let views = chaos.sample();
                if !settled_roles(&views) {
                    final_problems.push(format!(
                        "the settled roles changed {:.3} s after the restore:\n{}",
                        epoch_now() - restored,
                        describe(&all, VIP4)
                    ));
                    break;
                }
                std::thread::sleep(SAMPLE_EVERY);
            }
        }
        None => final_problems.push(format!(
            "{SETTLE_LIMIT:?} after everything was restored, a is not the only master \
             holding {VIP4} with b and c backup:\n{}",
            describe(&all, VIP4)
        )),
    }
    chaos.checker.close_all();

    let pings_back = ping.wait_replies(100, Duration::from_secs(5));
    if !pings_back {
        final_problems.push(format!(
            "the client cannot ping {VIP4} after the restore:\n{}",
            describe(&all, VIP4)
        ));
    }
    let report = ping.stop();

    // Every vipd is running and none of the run's logs shows a panic.
    let error_lines = daemon_problems(&all, &mut final_problems);
    // vipd logs ERROR only for what none of the actions causes: its netlink event
    // monitor or connection closing, a VIP task gone, the addresses of an interface
    // unreadable for 5 s, VIPs left behind at exit, a refused reload, an engine that
    // will not stop producing outputs. So none may appear.
    if !error_lines.is_empty() {
        final_problems.push(format!(
            "{} ERROR lines in vipd's logs, none of which the chaos explains:\n{}",
            error_lines.len(),
            error_lines.join("\n")
        ));
    }
    // The outage the actions can cause is bounded (LONGEST_OUTAGE says why).
    match report.longest_gap() {
        Some((gap, at)) if gap > LONGEST_OUTAGE => final_problems.push(format!(
            "the client went {:.1} ms without a reply from {} on (limit {:.1} ms, c's \
             Master_Down_Interval + 250 ms); events just before: {:?}",
            gap.as_secs_f64() * 1e3,
            utc(at),
            LONGEST_OUTAGE.as_secs_f64() * 1e3,
            chaos
                .events
                .iter()
                .filter(|(t, _)| *t <= at + 0.005 && *t >= at - 3.0)
                .map(|(t, e)| format!("{} {e}", utc(*t)))
                .collect::<Vec<_>>()
        )),
        Some(_) => {}
        None => final_problems.push(format!("the client saw no two replies: {report}")),
    }
    // The run exercised every kind of action.
    let missing = chaos.missing_kinds();
    if !missing.is_empty() {
        final_problems.push(format!(
            "action kinds never taken: {missing:?} (taken: {:?})",
            chaos.taken
        ));
    }
    let run = Run {
        seed,
        actions,
        idle_picks,
        chaos_secs,
        restored,
        settled,
        settle_limit: SETTLE_LIMIT,
        error_lines: &error_lines,
        final_problems: &final_problems,
    };
    // The summary, and everything that went wrong if anything did.
    let summary = run.summary(&chaos, &report);
    println!("soak summary:\n{summary}");
    if !run.clean(&chaos) {
        panic!(
            "soak run with seed {seed} found problems:\n{}",
            run.problems(&summary, &chaos, &all)
        );
    }
    assert_vipctl_agrees(&all);
    drop(chaos);
}
