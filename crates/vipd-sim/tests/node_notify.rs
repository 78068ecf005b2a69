//! Notify hooks at node level, with exact instants: one run at a time per instance in
//! transition order (the next `RunHook` only after the previous `HookDone`), the
//! environment and keepalived's positional arguments, the timeout handed to the shell,
//! failures counted, the bound on waiting transitions, an answer that never comes,
//! and a stop that waits for its hooks — within a bound.
//!
//! Defaults: read latency 1 ms, job latency 2 ms, network 100 µs. A node reads the
//! kernel when it starts (answered at 1 ms): its router starts in Backup then. Alone,
//! it is master one Master_Down_Interval later: at priority 100 and 100 ms adverts
//! 300 ms + 156/256 × 100 ms = 360.9375 ms; at 150, 300 ms + 106/256 × 100 ms =
//! 341.40625 ms. Skew_Time at 100: 60.9375 ms.

use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_node::config::{Config, NotifyConfig};
use vipd_node::notify::{ANSWER_GRACE, HOOK_PATH, MAX_PENDING};
use vipd_node::{ExitError, HookResult, Level};
use vipd_sim::cfg::node::web;
use vipd_sim::lan::{Act, HostId, Lan, Seen};

const MS: u64 = 1_000_000;
const US: u64 = 1_000;

fn at(ns: u64) -> Instant {
    Instant::from_nanos(ns)
}

fn ms(n: u64) -> Instant {
    at(n * MS)
}

fn argv(p: &str) -> Option<Vec<String>> {
    Some(vec![p.to_string()])
}

/// `web(priority, 100)` with hooks for master, backup, fault and stop (`/h/<state>`)
/// and `any` (`/h/any`), timeout `timeout`.
fn hooked(priority: u8, timeout: Duration) -> Config {
    let mut c = web(priority, 100);
    c.instances[0].notify = NotifyConfig {
        master: argv("/h/master"),
        backup: argv("/h/backup"),
        fault: argv("/h/fault"),
        stop: argv("/h/stop"),
        any: argv("/h/any"),
        timeout,
        positional: false,
    };
    c
}

fn ok() -> HookResult {
    HookResult::Exited {
        code: Some(0),
        signal: None,
        output: String::new(),
    }
}

/// Host `h`'s hook runs: when each began, its hook and `VIPD_STATE`.
fn hook_runs(lan: &Lan, h: HostId) -> Vec<(Instant, &'static str, String)> {
    lan.timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Hook { hook, env, .. } => Some((e.at, *hook, var(env, "VIPD_STATE"))),
            _ => None,
        })
        .collect()
}

fn var(env: &[(String, String)], name: &str) -> String {
    env.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every run of host `h` starts only after the previous run's answer was delivered:
/// in the timeline, runs and answers alternate, each answer for the run before it.
fn one_at_a_time(lan: &Lan, h: HostId) {
    let mut running = None;
    for e in lan.timeline().iter().filter(|e| e.host == h) {
        match &e.what {
            Seen::Hook { id, .. } => {
                assert_eq!(
                    running, None,
                    "run {id:?} began at {:?} before {running:?} ended",
                    e.at
                );
                running = Some(*id);
            }
            Seen::HookDone { id } => {
                assert_eq!(running, Some(*id), "answer for {id:?} at {:?}", e.at);
                running = None;
            }
            _ => {}
        }
    }
}

fn status(lan: &mut Lan, h: HostId) -> vipd_api::InstanceStatus {
    lan.act(Act::Status(h));
    let t = lan.now();
    lan.run_until(t + Duration::from_millis(5));
    let replies: Vec<_> = lan
        .timeline()
        .iter()
        .filter(|e| e.host == h)
        .filter_map(|e| match &e.what {
            Seen::Reply(vipd_api::Response::Status(s)) => Some(s.instances[0].clone()),
            _ => None,
        })
        .collect();
    replies.last().cloned().expect("a status reply")
}

#[test]
fn hooks_run_in_transition_order_one_at_a_time_through_a_flap() {
    // Host 0 (100) with every hook, each run taking 500 ms; host 1 (150) joins at 3 s,
    // takes over, and leaves at 3.4 s: master -> backup -> master within 120 ms.
    let mut lan = Lan::builder()
        .host(hooked(100, Duration::from_secs(10)))
        .host(web(150, 100))
        .build();
    lan.act(Act::SetHooks(0, Some((Duration::from_millis(500), ok()))));
    lan.act(Act::Start(0));
    lan.schedule(ms(3000), Act::Start(1));
    lan.schedule(ms(3400), Act::Stop(1));
    lan.run_until(ms(7000));

    // Host 1 starts at 3 s, in Backup at 3.001 s, master at 3.001 + 341.40625 ms (a
    // lower-priority master's adverts do not hold back a preempting backup); its first
    // advert goes once its VIP is confirmed (job latency 2 ms) and reaches host 0
    // 100 µs later. Its priority-0 advert at 3.4 s reaches host 0 at 3.4001 s: master
    // again at once, not a Skew_Time later, since host 0 was master until host 1
    // outranked it, within an Advertisement_Interval (the engine's "Successor").
    let host0: Vec<(Instant, State)> = lan
        .transitions(0)
        .into_iter()
        .map(|(t, _, _, to)| (t, to))
        .collect();
    let flap_backup = at(3_001 * MS + 341_406_250 + 2 * MS + 100 * US);
    let flap_master = at(3_400 * MS + 100 * US);
    assert_eq!(
        host0,
        vec![
            (ms(1), State::Backup),
            (at(361_937_500), State::Master),
            (flap_backup, State::Backup),
            (flap_master, State::Master),
        ]
    );
    // Startup: backup at 1 ms and its any at 501 ms; the master transition (361.9375
    // ms) waits for them: 1001 ms, any at 1501 ms. The flap's backup starts at once
    // (nothing runs), its any 500 ms later; the master transition 61 ms after the
    // backup waits for both.
    let half = Duration::from_millis(500);
    assert_eq!(
        hook_runs(&lan, 0),
        vec![
            (ms(1), "backup", "backup".into()),
            (ms(501), "any", "backup".into()),
            (ms(1001), "master", "master".into()),
            (ms(1501), "any", "master".into()),
            (flap_backup, "backup", "backup".into()),
            (flap_backup + half, "any", "backup".into()),
            (flap_backup + half * 2, "master", "master".into()),
            (flap_backup + half * 3, "any", "master".into()),
        ]
    );
    one_at_a_time(&lan, 0);
    let s = status(&mut lan, 0);
    assert_eq!(
        s.notify,
        Some(vipd_api::NotifyStatus {
            runs: 8,
            ..Default::default()
        })
    );
}

#[test]
fn the_environment_the_arguments_and_the_timeout_are_the_nodes() {
    let mut c = hooked(100, Duration::from_secs(3));
    c.instances[0].notify.master = Some(vec!["/h/master".into(), "--up".into()]);
    c.instances[0].notify.positional = true;
    let mut lan = Lan::builder().host(c).build();
    lan.start_all();
    lan.run_until(ms(1000));
    let runs: Vec<_> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Hook {
                owner,
                hook,
                argv,
                env,
                timeout,
                ..
            } => Some((
                e.at,
                owner.clone(),
                *hook,
                argv.clone(),
                env.clone(),
                *timeout,
            )),
            _ => None,
        })
        .collect();
    let names: Vec<_> = runs.iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(
        names,
        vec![
            (ms(1), "backup"),
            (ms(1), "any"),
            (at(361_937_500), "master"),
            (at(361_937_500), "any")
        ]
    );
    let (_, owner, _, argv, env, timeout) = &runs[2];
    assert_eq!(owner, "web");
    assert_eq!(
        argv,
        &["/h/master", "--up", "INSTANCE", "web", "MASTER", "100"]
    );
    let expected: Vec<(String, String)> = [
        ("VIPD_INSTANCE", "web"),
        ("VIPD_STATE", "master"),
        ("VIPD_PREVIOUS", "backup"),
        ("VIPD_REASON", "master_down_timer"),
        ("VIPD_PRIORITY", "100"),
        ("VIPD_VIPS", "192.0.2.50/24"),
        ("VIPD_HOOK", "master"),
        ("PATH", HOOK_PATH),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(env, &expected);
    assert_eq!(*timeout, Duration::from_secs(3));
    // `any` gets the same words; the startup backup came from initialize.
    assert_eq!(runs[3].3, ["/h/any", "INSTANCE", "web", "MASTER", "100"]);
    assert_eq!(var(&runs[3].4, "VIPD_HOOK"), "any");
    assert_eq!(runs[0].3, ["/h/backup", "INSTANCE", "web", "BACKUP", "100"]);
    assert_eq!(var(&runs[0].4, "VIPD_PREVIOUS"), "initialize");
    assert_eq!(var(&runs[0].4, "VIPD_REASON"), "startup");
}

#[test]
fn failures_are_counted_by_kind_and_logged() {
    let mut lan = Lan::builder()
        .host(hooked(100, Duration::from_secs(2)))
        .build();
    lan.act(Act::SetHooks(
        0,
        Some((
            Duration::from_millis(10),
            HookResult::Exited {
                code: Some(3),
                signal: None,
                output: "no route".into(),
            },
        )),
    ));
    lan.act(Act::Start(0));
    // backup (1 ms) and any (11 ms) exit 3.
    lan.run_until(ms(100));
    lan.act(Act::SetHooks(
        0,
        Some((
            Duration::from_secs(2),
            HookResult::TimedOut(Duration::from_secs(2)),
        )),
    ));
    // master (361.9375 ms) and its any time out.
    lan.run_until(ms(5000));
    lan.act(Act::SetHooks(
        0,
        Some((
            Duration::ZERO,
            HookResult::Error("cannot run /h/stop: not found".into()),
        )),
    ));
    let s = status(&mut lan, 0);
    assert_eq!(
        s.notify,
        Some(vipd_api::NotifyStatus {
            runs: 4,
            failed: 4,
            timed_out: 2,
            dropped: 0,
            running: None,
            pending: 0,
            last_failure: Some("any: ran longer than 2000ms; its process group was killed".into()),
        })
    );
    let warnings: Vec<(Instant, String)> = lan
        .notes(0, Level::Warn)
        .into_iter()
        .filter(|(_, n)| n.starts_with("notify hook"))
        .collect();
    assert_eq!(
        warnings,
        vec![
            (ms(11), "notify hook backup exited with 3: no route".into()),
            (ms(21), "notify hook any exited with 3: no route".into()),
            (
                at(2_361_937_500),
                "notify hook master ran longer than 2000ms; its process group was killed".into()
            ),
            (
                at(4_361_937_500),
                "notify hook any ran longer than 2000ms; its process group was killed".into()
            ),
        ]
    );
    // A program that cannot start: at stop (5.005 s) both runs fail at once, and the
    // node exits when they have: the failures do not hold it up.
    lan.act(Act::Stop(0));
    lan.run_until(ms(6000));
    let exit = lan.seen(0, |s| matches!(s, Seen::Exit(Ok(()))));
    assert_eq!(exit.len(), 1);
    let n = lan.notes(0, Level::Warn);
    assert!(
        n.iter()
            .any(|(_, t)| t == "notify hook stopped could not run: cannot run /h/stop: not found"),
        "{n:?}"
    );
}

#[test]
fn a_flapping_instance_keeps_only_its_newest_transitions_waiting() {
    // The first run (backup at 1 ms) never answers; meanwhile the link flaps ten
    // times: 20 transitions, then master. No `any`: one run per transition.
    let mut c = hooked(100, Duration::from_secs(1));
    c.instances[0].notify.any = None;
    let mut lan = Lan::builder().host(c).build();
    lan.act(Act::SetHooks(0, None));
    lan.act(Act::Start(0));
    for k in 0..10u64 {
        lan.schedule(ms(100 + 100 * k), Act::LinkDown(0));
        lan.schedule(ms(150 + 100 * k), Act::LinkUp(0));
    }
    lan.run_until(ms(2000));
    let transitions: Vec<(Instant, State)> = lan
        .transitions(0)
        .into_iter()
        .map(|(t, _, _, to)| (t, to))
        .collect();
    assert_eq!(transitions.len(), 22, "{transitions:?}");
    let last_up = transitions[20].0;
    assert_eq!(
        transitions[21],
        (last_up + Duration::from_nanos(360_937_500), State::Master)
    );
    // 21 transitions came while the first run hung: the oldest 13 were pushed out.
    let s = status(&mut lan, 0);
    let dropped = 21 - MAX_PENDING as u64;
    assert_eq!(
        s.notify,
        Some(vipd_api::NotifyStatus {
            runs: 0,
            failed: 0,
            timed_out: 0,
            dropped,
            running: Some("backup".into()),
            pending: MAX_PENDING as u64,
            last_failure: None,
        })
    );
    let drops = lan
        .notes(0, Level::Warn)
        .into_iter()
        .filter(|(_, n)| n.contains("dropped 1 hook run of 1 earlier transition"))
        .count();
    assert_eq!(drops as u64, dropped);
    // The hung run is given up 1 ms + 1 s + ANSWER_GRACE after it began; the newest
    // eight transitions then run, in order, each answered at once.
    lan.act(Act::SetHooks(0, Some((Duration::ZERO, ok()))));
    lan.run_until(ms(8000));
    let overdue = ms(1) + Duration::from_secs(1) + ANSWER_GRACE;
    let runs = hook_runs(&lan, 0);
    let expected_states: Vec<String> = transitions[transitions.len() - MAX_PENDING..]
        .iter()
        .map(|(_, s)| s.as_str().to_string())
        .collect();
    assert_eq!(runs.len(), 1 + MAX_PENDING);
    assert_eq!(runs[0], (ms(1), "backup", "backup".into()));
    assert!(runs[1..].iter().all(|(t, ..)| *t == overdue), "{runs:?}");
    let states: Vec<String> = runs[1..].iter().map(|(_, _, s)| s.clone()).collect();
    assert_eq!(states, expected_states);
    assert_eq!(states.last().map(String::as_str), Some("master"));
    one_at_a_time_but_for_the_lost_answer(&lan);
    let s = status(&mut lan, 0);
    let n = s.notify.expect("notify status");
    assert_eq!((n.runs, n.failed, n.dropped), (9, 1, dropped));
    assert_eq!(
        n.last_failure.as_deref(),
        Some("backup: no answer 6000ms after it started; counted as failed")
    );
}

/// The first run of host 0 never answered; every later one did, before the next began.
fn one_at_a_time_but_for_the_lost_answer(lan: &Lan) {
    let ids: Vec<_> = lan
        .timeline()
        .iter()
        .filter(|e| e.host == 0)
        .filter_map(|e| match &e.what {
            Seen::Hook { id, .. } => Some(("run", *id)),
            Seen::HookDone { id } => Some(("done", *id)),
            _ => None,
        })
        .collect();
    let mut expected = vec![("run", ids[0].1)];
    for (kind, id) in ids.iter().skip(1).step_by(2) {
        assert_eq!(*kind, "run");
        expected.push(("run", *id));
        expected.push(("done", *id));
    }
    assert_eq!(ids, expected);
}

#[test]
fn a_stop_waits_for_its_hooks_and_no_longer_than_their_bound() {
    // Hooks answer 2 s after they start: backup at 1 ms, any at 2.001 s, master (its
    // transition at 361.9375 ms waits) at 4.001 s, any at 6.001 s, done at 8.001 s.
    // SIGTERM at 9 s: stop at once, its any at 11 s, exit at 13 s — long after the VIP
    // removal (alone, the master keeps its VIP for Master_Down_Interval at priority 1,
    // 399.609375 ms, then the removal takes 2 ms).
    let mut lan = Lan::builder()
        .host(hooked(100, Duration::from_secs(10)))
        .build();
    lan.act(Act::SetHooks(0, Some((Duration::from_secs(2), ok()))));
    lan.act(Act::Start(0));
    lan.schedule(ms(9000), Act::Stop(0));
    lan.run_until(ms(20_000));
    let runs = hook_runs(&lan, 0);
    assert_eq!(runs[2].0, ms(4001));
    assert_eq!(
        runs[4..],
        [
            (ms(9000), "stopped", "stopped".into()),
            (ms(11_000), "any", "stopped".into()),
        ]
    );
    let removed = lan.seen(0, |s| {
        matches!(
            s,
            Seen::JobDone {
                add: false,
                ok: true
            }
        )
    });
    assert_eq!(removed.last(), Some(&at(9_000 * MS + 399_609_375 + 2 * MS)));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![ms(13_000)]
    );

    // A hook that never answers: the stop hook (timeout 1 s) is given up 1 s +
    // ANSWER_GRACE after it began, its any as long after that: the exit comes
    // 2 × 6 s after the signal, and not before.
    let mut lan = Lan::builder()
        .host(hooked(100, Duration::from_secs(1)))
        .build();
    lan.act(Act::Start(0));
    lan.run_until(ms(1000));
    lan.act(Act::SetHooks(0, None));
    lan.act(Act::Stop(0));
    let bound = (Duration::from_secs(1) + ANSWER_GRACE) * 2;
    lan.run_until(ms(1000) + (bound - Duration::from_nanos(1)));
    assert!(lan.seen(0, |s| matches!(s, Seen::Exit(_))).is_empty());
    lan.run_until(ms(30_000));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Ok(())))),
        vec![ms(1000) + bound]
    );
}

#[test]
fn a_stop_drops_waiting_transitions_and_a_second_signal_does_not_wait() {
    // The startup backup hook hangs; master comes and waits. SIGTERM at 1 s: the
    // waiting master transition is dropped (history), stop and any wait behind the
    // hung run. A second SIGTERM exits at once.
    let mut c = hooked(100, Duration::from_secs(10));
    c.instances[0].notify.any = None;
    let mut lan = Lan::builder().host(c).build();
    lan.act(Act::SetHooks(0, None));
    lan.act(Act::Start(0));
    lan.run_until(ms(1000));
    assert_eq!(lan.state(0, "web"), Some(State::Master));
    lan.act(Act::Stop(0));
    let s = lan.notes(0, Level::Warn);
    assert!(
        s.iter().any(|(t, n)| *t == ms(1000)
            && n == "notify: dropped 1 hook run of 1 earlier transition not yet started (the instance stopped)"),
        "{s:?}"
    );
    lan.run_until(ms(2000));
    assert!(lan.seen(0, |s| matches!(s, Seen::Exit(_))).is_empty());
    lan.act(Act::Stop(0));
    assert_eq!(
        lan.seen(0, |s| matches!(s, Seen::Exit(Err(ExitError::Impatient)))),
        vec![ms(2000)]
    );
    assert_eq!(hook_runs(&lan, 0), vec![(ms(1), "backup", "backup".into())]);
}

#[test]
fn a_reload_takes_new_hooks_and_a_removed_instance_runs_its_stop_hook() {
    let mut lan = Lan::builder()
        .host(hooked(100, Duration::from_secs(10)))
        .build();
    lan.start_all();
    lan.run_until(ms(1000));
    // Updated in place (same identity): the next transition runs the new argv.
    let mut c = hooked(100, Duration::from_secs(10));
    c.instances[0].notify.fault = Some(vec!["/h/new-fault".into()]);
    lan.act(Act::Reload(0, c));
    lan.act(Act::LinkDown(0));
    let runs: Vec<_> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Hook { hook, argv, .. } if e.at == ms(1000) => Some((*hook, argv.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        runs,
        vec![
            ("fault", vec!["/h/new-fault".to_string()]),
            ("any", vec!["/h/any".to_string()])
        ]
    );
    lan.act(Act::LinkUp(0));
    lan.run_until(ms(2000));
    // Renamed: `web` leaves (its stop hooks, from its own configuration), `web2`
    // starts with none.
    let mut c = web(100, 100);
    c.instances[0].name = "web2".into();
    lan.act(Act::Reload(0, c));
    lan.run_until(ms(3000));
    let after: Vec<_> = hook_runs(&lan, 0)
        .into_iter()
        .filter(|(t, ..)| *t >= ms(2000))
        .collect();
    assert_eq!(
        after,
        vec![
            (ms(2000), "stopped", "stopped".into()),
            (ms(2000), "any", "stopped".into())
        ]
    );
    let reasons: Vec<String> = lan
        .timeline()
        .iter()
        .filter_map(|e| match &e.what {
            Seen::Hook { env, .. } if e.at == ms(2000) => Some(var(env, "VIPD_REASON")),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["shutdown", "shutdown"]);
}
