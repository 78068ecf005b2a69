//! Golden scenario files: conformance data for the node, kept as text.
//!
//! Each test drives one scenario on the simulated LAN ([`vipd_sim::lan`]), writes what
//! went in (the acts, with their instants) and what came out of every host (adverts,
//! VIP jobs, kernel reads, announcements, state changes, check runs, replies, saved
//! state, hooks, exits) as lines `<instant in ms> <host> <kind> <fields>`, and compares
//! that trace with `tests/golden/<scenario>.txt`. The format is written here, field by
//! field, never from `Debug` output, so renaming a type changes no file; notes in words,
//! watch events and the metrics snapshot are left out (they repeat the lines kept).
//!
//! On a difference the test fails with the first differing lines and their numbers.
//! When a change of behaviour is intended, regenerate the files on purpose and review
//! the diff before committing:
//!
//! ```sh
//! VIPD_GOLDEN_WRITE=1 cargo test -p vipd-sim --test golden
//! git diff crates/vipd-sim/tests/golden
//! ```
//!
//! Defaults of every scenario: job latency 2 ms, read latency 1 ms, network 100 µs,
//! check latency 1 ms, adverts every 100 ms; host 0 (h0) has 192.0.2.11, host 1 (h1)
//! 192.0.2.12; the web instance is VRID 51 with VIP 192.0.2.50/24.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use vipd_engine::Instant;
use vipd_node::config::{CheckConfig, CheckInit, CheckKind, Config, Track};
use vipd_node::{Caller, CheckResult, What};
use vipd_sim::cfg::node::web;
use vipd_sim::lan::{Act, Entry, Lan, Seen};

const MS: u64 = 1_000_000;

fn ms(n: u64) -> Instant {
    Instant::from_nanos(n * MS)
}

/// A scenario under way: the LAN and the inputs given to it, each with the length of
/// the timeline when it was given (so it is written before what it caused).
struct Run {
    lan: Lan,
    inputs: Vec<(usize, Instant, String)>,
}

impl Run {
    fn new(lan: Lan) -> Run {
        Run {
            lan,
            inputs: Vec::new(),
        }
    }

    /// Runs to `t`, then does `act` there.
    fn at(&mut self, t: Instant, act: Act) {
        self.lan.run_until(t);
        let line = input(&act);
        self.inputs
            .push((self.lan.timeline().len(), self.lan.now(), line));
        self.lan.act(act);
    }

    /// Runs to `end`, checks the invariants, and gives the trace.
    fn finish(mut self, end: Instant) -> String {
        self.lan.run_until(end);
        assert!(
            self.lan.breaches().is_empty(),
            "invariants broken: {:?}",
            self.lan.breaches()
        );
        let mut out = String::new();
        let mut inputs = self.inputs.iter().peekable();
        for (i, e) in self.lan.timeline().iter().enumerate() {
            while let Some((_, t, line)) = inputs.next_if(|(at, _, _)| *at <= i) {
                let _ = writeln!(out, "{} {line}", instant(*t));
            }
            if let Some(line) = output(e) {
                let _ = writeln!(out, "{} h{} {line}", instant(e.at), e.host);
            }
        }
        for (_, t, line) in inputs {
            let _ = writeln!(out, "{} {line}", instant(*t));
        }
        out
    }
}

/// An instant in milliseconds, with as many decimals as it needs, right-aligned.
fn instant(t: Instant) -> String {
    let ns = t.as_nanos();
    let (whole, frac) = (ns / MS, ns % MS);
    let text = if frac == 0 {
        whole.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    };
    format!("{text:>13}")
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn check_result(r: &Option<CheckResult>) -> String {
    match r {
        None => "no-answer".into(),
        Some(CheckResult::Exited { code, signal, .. }) => match (code, signal) {
            (Some(c), _) => format!("exit={c}"),
            (None, Some(s)) => format!("signal={s}"),
            (None, None) => "exit=?".into(),
        },
        Some(CheckResult::Http { status, .. }) => format!("http={status}"),
        // The scenarios use exec results only; others get a form when one needs it.
        Some(_) => "other".into(),
    }
}

/// An input line (host and kind onwards). Only the acts the scenarios use have a form;
/// a scenario using another one gets one added here.
fn input(act: &Act) -> String {
    match act {
        Act::Start(h) => format!("h{h} input start"),
        Act::Stop(h) => format!("h{h} input stop"),
        Act::Crash(h) => format!("h{h} input crash"),
        Act::LinkDown(h) => format!("h{h} input link down"),
        Act::LinkUp(h) => format!("h{h} input link up"),
        Act::Maintenance {
            host,
            on,
            instances,
            caller,
        } => format!(
            "h{host} input maintenance {} [{}] uid={}",
            on_off(*on),
            instances.join(","),
            caller.uid
        ),
        Act::SetCheck(h, name, r) => format!("h{h} input check {name} {}", check_result(r)),
        _ => panic!("golden.rs: give this input a text form in `input` first"),
    }
}

/// An output line (kind onwards), or none for what the files leave out.
fn output(e: &Entry) -> Option<String> {
    let join = |v: &[String]| v.join(",");
    Some(match &e.what {
        Seen::Advert { src, priority, to } => format!(
            "advert prio={priority} src={src} to={}",
            join(&to.iter().map(|a| a.to_string()).collect::<Vec<_>>())
        ),
        Seen::JobAsked { add, vips } => format!(
            "vip-job {} {}",
            if *add { "add" } else { "remove" },
            join(&vips.iter().map(|v| v.to_string()).collect::<Vec<_>>())
        ),
        Seen::JobDone { add, ok } => format!(
            "vip-job-done {} {}",
            if *add { "add" } else { "remove" },
            if *ok { "ok" } else { "failed" }
        ),
        Seen::Announced { frames } => format!("announced frames={frames}"),
        Seen::Read => "read".into(),
        Seen::Record(r) => {
            let inst = r.instance.as_deref().unwrap_or("-");
            match &r.what {
                What::StateChanged { from, to, reason } => format!(
                    "state {inst} {} -> {} ({})",
                    from.as_str(),
                    to.as_str(),
                    reason.as_str()
                ),
                What::Starting {
                    interface,
                    vrid,
                    source,
                    priority,
                } => {
                    format!("starting {inst} {interface} vrid={vrid} src={source} prio={priority}")
                }
                What::Dropped(d) => format!("dropped {inst} {}", d.kind()),
                What::Mismatch { kind, .. } => format!("mismatch {inst} {kind}"),
                // Notes in words, and kinds added later until given a form here.
                _ => return None,
            }
        }
        Seen::Reply(r) => format!(
            "reply {}",
            match r {
                vipd_api::Response::Status(_) => "status",
                vipd_api::Response::Error { .. } => "error",
                vipd_api::Response::Done { .. } => "done",
                _ => "other",
            }
        ),
        Seen::Exit(r) => format!("exit {}", if r.is_ok() { "ok" } else { "error" }),
        Seen::CheckRun { check } => format!("check-run {check}"),
        Seen::Watch { check, on } => format!("process-watch {check} {}", on_off(*on)),
        Seen::Saved(m) => format!(
            "saved-maintenance all={} [{}]",
            m.all,
            join(&m.instances.iter().cloned().collect::<Vec<_>>())
        ),
        Seen::Hook {
            owner, hook, argv, ..
        } => format!("hook {owner} {hook} {}", argv.join(" ")),
        _ => return None,
    })
}

/// Compares `trace` (under a header made of `about`) with the golden file `name`, or
/// (re)writes the file with `VIPD_GOLDEN_WRITE=1`.
fn golden(name: &str, about: &str, trace: &str) {
    let mut text = String::new();
    for line in about.lines() {
        let _ = writeln!(text, "# {line}");
    }
    text.push_str(
        "# Regenerate on purpose: VIPD_GOLDEN_WRITE=1 cargo test -p vipd-sim --test golden\n",
    );
    text.push_str(trace);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"));
    if std::env::var_os("VIPD_GOLDEN_WRITE").is_some_and(|v| v == "1") {
        if let Err(e) = std::fs::write(&path, &text) {
            panic!("cannot write {}: {e}", path.display());
        }
        return;
    }
    let want = match std::fs::read_to_string(&path) {
        Ok(w) => w,
        Err(e) => panic!(
            "cannot read {}: {e} (VIPD_GOLDEN_WRITE=1 writes it)",
            path.display()
        ),
    };
    if want == text {
        return;
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), text.lines().collect());
    let mut report = format!(
        "{} differs from this run ({} lines expected, {} got); first differences:\n",
        path.display(),
        w.len(),
        g.len()
    );
    let differing = (0..w.len().max(g.len()))
        .filter(|&i| w.get(i) != g.get(i))
        .take(8);
    for i in differing {
        let _ = writeln!(
            report,
            "line {}:\n  expected: {}\n  got:      {}",
            i + 1,
            w.get(i).unwrap_or(&"<end of file>"),
            g.get(i).unwrap_or(&"<end of trace>")
        );
    }
    report.push_str("If the change is intended: VIPD_GOLDEN_WRITE=1 cargo test -p vipd-sim --test golden, then review the diff.");
    panic!("{report}");
}

/// Host 0 at priority 150 and host 1 at 100, both started at 0.
fn pair() -> Run {
    let mut run = Run::new(
        Lan::builder()
            .host(web(150, 100))
            .host(web(100, 100))
            .build(),
    );
    run.at(ms(0), Act::Start(0));
    run.at(ms(0), Act::Start(1));
    run
}

#[test]
fn startup_election() {
    let run = pair();
    golden(
        "startup_election",
        "Startup election of two nodes: h0 (priority 150) and h1 (100) start at 0 and\n\
         read the kernel (1 ms); h0's Master_Down_Interval (341.40625 ms) runs out first:\n\
         master at 342.40625, its VIP added, then its adverts every 100 ms; h1 stays backup.",
        &run.finish(ms(1000)),
    );
}

#[test]
fn failover_master_host_crashes() {
    let mut run = pair();
    run.at(ms(1000), Act::Crash(0));
    golden(
        "failover_master_host_crashes",
        "Failover: the master h0 (150) crashes (SIGKILL) at 1000 ms; h1 (100) hears no\n\
         advert and takes over one Master_Down_Interval (360.9375 ms) after the last one.",
        &run.finish(ms(2000)),
    );
}

#[test]
fn preemption_by_a_higher_priority() {
    let mut run = Run::new(
        Lan::builder()
            .host(web(100, 100))
            .host(web(200, 100))
            .build(),
    );
    run.at(ms(0), Act::Start(0));
    run.at(ms(1000), Act::Start(1));
    golden(
        "preemption_by_a_higher_priority",
        "Preemption: h0 (100) is alone and master; h1 (200, preempt on) starts at 1000 ms,\n\
         hears h0's lower priority, ignores it and takes over at its Master_Down_Interval;\n\
         h0 goes back to backup on h1's first advert.",
        &run.finish(ms(2500)),
    );
}

#[test]
fn planned_handover_on_stop() {
    let mut run = pair();
    run.at(ms(1000), Act::Stop(0));
    golden(
        "planned_handover_on_stop",
        "Planned handover, make-before-break: the master h0 gets SIGTERM at 1000 ms, sends\n\
         priority 0 and keeps its VIP; h1 takes over after Skew_Time, adds the VIP and\n\
         adverts; h0 removes its VIP HANDOVER_GRACE after that advert reaches it, then exits.",
        &run.finish(ms(2000)),
    );
}

#[test]
fn planned_stop_with_nobody_to_take_over() {
    let mut run = Run::new(Lan::builder().host(web(150, 100)).build());
    run.at(ms(0), Act::Start(0));
    run.at(ms(1000), Act::Stop(0));
    golden(
        "planned_stop_with_nobody_to_take_over",
        "A planned stop with no backup: the lone master h0 (150) gets SIGTERM at 1000 ms,\n\
         sends priority 0 and keeps its VIP while a backup could still take over: until\n\
         Master_Down_Interval at priority 1 (3 x 100 ms + 255/256 x 100 ms = 399.609375 ms),\n\
         then removes it and exits.",
        &run.finish(ms(2000)),
    );
}

#[test]
fn maintenance_on_and_off() {
    let mut run = pair();
    let maintenance = |on| Act::Maintenance {
        host: 0,
        on,
        instances: Vec::new(),
        caller: Caller::root(),
    };
    run.at(ms(1000), maintenance(true));
    run.at(ms(2000), maintenance(false));
    golden(
        "maintenance_on_and_off",
        "Maintenance: root puts h0 (master, 150) in maintenance at 1000 ms: it hands over to\n\
         h1 make-before-break and stays backup; maintenance off at 2000 ms: h0 preempts\n\
         h1 again after its Master_Down_Interval.",
        &run.finish(ms(3000)),
    );
}

/// `web(priority, 100)` tracking exec check `upstream` (interval 1 s, rise 2, fall 2)
/// with weight 0: down means Fault.
fn tracking(priority: u8) -> Config {
    let mut c = web(priority, 100);
    c.checks.insert(
        "upstream".into(),
        CheckConfig {
            kind: CheckKind::Exec {
                argv: vec!["/usr/local/bin/check-upstream".into()],
                user: None,
            },
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            rise: 2,
            fall: 2,
            init: CheckInit::Down,
        },
    );
    c.instances[0].track = vec![Track {
        check: "upstream".into(),
        weight: 0,
    }];
    c
}

#[test]
fn tracked_check_fails_and_recovers() {
    let exit = |code| {
        Some(CheckResult::Exited {
            code: Some(code),
            signal: None,
            output: String::new(),
        })
    };
    let mut run = Run::new(
        Lan::builder()
            .host(tracking(150))
            .host(web(100, 100))
            .build(),
    );
    run.at(ms(0), Act::Start(0));
    run.at(ms(0), Act::Start(1));
    run.at(ms(2500), Act::SetCheck(0, "upstream".into(), exit(1)));
    run.at(ms(4500), Act::SetCheck(0, "upstream".into(), exit(0)));
    golden(
        "tracked_check_fails_and_recovers",
        "A tracked check (weight 0: down means Fault) on the master h0 (150), run every\n\
         second, answering 1 ms later: failing from 2500 ms it is down at the second failure\n\
         (4001 ms), h0 sends priority 0, removes its VIP and goes to fault, h1 takes over;\n\
         succeeding from 4500 ms it is up at 6001 ms, h0 goes backup and preempts h1 at\n\
         its Master_Down_Interval.",
        &run.finish(ms(7000)),
    );
}
