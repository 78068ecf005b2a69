//! What the soak reports: the summary of a run, and when something went wrong, the
//! events, violations (with vipd's logs around them), faults and final problems.

use std::fmt::Write as _;
use std::time::Duration;

use super::Chaos;
use crate::lan::Host;
use crate::ping::PingReport;

/// Epoch seconds as UTC time of day, `HH:MM:SS.mmm`, as vipd's log lines show it.
pub fn utc(t: f64) -> String {
    let ms = (t * 1e3).round() as u64 % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// UTC seconds of the day of a vipd log line (`2026-01-01T09:27:07.959037Z  INFO ...`).
fn log_time_of_day(line: &str) -> Option<f64> {
    let tod = line.get(11..26)?;
    let h: f64 = tod.get(0..2)?.parse().ok()?;
    let m: f64 = tod.get(3..5)?.parse().ok()?;
    let s: f64 = tod.get(6..)?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Log lines (not DEBUG) of every vipd run on `hosts` between `from` and `to` (epoch
/// seconds), at most `max`, for a violation report.
pub fn log_excerpt(hosts: &[&Host], from: f64, to: f64, max: usize) -> String {
    let day = |t: f64| t.rem_euclid(86_400.0);
    let (lo, hi) = (day(from), day(to));
    let mut lines: Vec<(f64, String)> = Vec::new();
    for h in hosts {
        for (_, text) in h.vipd_logs() {
            for l in text.lines() {
                if l.contains(" DEBUG ") {
                    continue;
                }
                if let Some(t) = log_time_of_day(l) {
                    if t >= lo && t <= hi {
                        lines.push((t, format!("{}| {l}", h.name)));
                    }
                }
            }
        }
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(max).map(|(_, l)| l).collect();
    if n > max {
        out.push(format!("... {} more", n - max));
    }
    out.join("\n")
}

/// Every vipd on `hosts` is still running and none of their runs' logs shows a panic:
/// what is not so is added to `problems`. Returns the logs' ERROR lines.
pub fn daemon_problems(hosts: &[&Host], problems: &mut Vec<String>) -> Vec<String> {
    let mut error_lines = Vec::new();
    for h in hosts {
        if !h.vipd_running() {
            problems.push(format!(
                "vipd on {} is not running at the end; log:\n{}",
                h.name,
                h.vipd_log()
            ));
        }
        for (path, text) in h.vipd_logs() {
            for l in text.lines() {
                if l.contains("panicked") {
                    problems.push(format!("{}: {l}", path.display()));
                }
                if l.contains(" ERROR ") {
                    error_lines.push(format!("{}| {l}", h.name));
                }
            }
        }
    }
    error_lines
}

/// What the test itself knows of a run, for the summary.
pub struct Run<'a> {
    pub seed: u64,
    pub actions: usize,
    /// Rounds in which no action was possible.
    pub idle_picks: usize,
    pub chaos_secs: f64,
    /// When everything was restored (epoch seconds).
    pub restored: f64,
    /// How long after the restore a was the only master, if it became so in time.
    pub settled: Option<f64>,
    pub settle_limit: Duration,
    pub error_lines: &'a [String],
    pub final_problems: &'a [String],
}

impl Run<'_> {
    /// The summary printed after every run.
    pub fn summary(&self, chaos: &Chaos, ping: &PingReport) -> String {
        let (seed, actions, idle_picks) = (self.seed, self.actions, self.idle_picks);
        let settle_limit = self.settle_limit;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "seed {seed} ({seed:#x}); replay: VIPD_SOAK_SEED={seed} cargo test -p vipd-e2e \
             --test soak -- --nocapture"
        );
        let _ = writeln!(
            s,
            "{actions} actions in {:.1} s ({idle_picks} rounds found nothing to do): {}",
            self.chaos_secs,
            chaos
                .taken
                .iter()
                .map(|(k, n)| format!("{k:?} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            s,
            "samples: {} (mean interval {:.1} ms, longest {:.1} ms); check 1 applied in {}, \
             1b in {}; a stopped or crashed router kept the VIP while a running one held it in {}",
            chaos.checker.samples,
            chaos.checker.mean_interval() * 1e3,
            chaos.checker.longest_between * 1e3,
            chaos.checker.holders_checked,
            chaos.checker.overlap_checked,
            chaos.checker.frozen_overlap
        );
        match ping.longest_gap() {
            Some((gap, at)) => {
                let before = chaos
                    .events
                    .iter()
                    .rev()
                    .find(|(t, _)| *t <= at + 0.005)
                    .map(|(t, e)| format!("{:.3} s after `{e}`", at - t))
                    .unwrap_or_else(|| "before the first action".into());
                let _ = writeln!(
                    s,
                    "ping: longest gap {:.1} ms from {} ({before}); after the restore {:.1} ms; {ping}",
                    gap.as_secs_f64() * 1e3,
                    utc(at),
                    ping.longest_gap_after_ms(self.restored)
                );
            }
            None => {
                let _ = writeln!(s, "ping: no gap measured; {ping}");
            }
        }
        match self.settled {
            Some(t) => {
                let _ = writeln!(
                    s,
                    "settled: a the only master {:.0} ms after the restore",
                    t * 1e3
                );
            }
            None => {
                let _ = writeln!(s, "settled: not within {settle_limit:?}");
            }
        }
        let _ = writeln!(
            s,
            "transient mismatches (within what is allowed): {}",
            if chaos.checker.transient.is_empty() {
                "none".to_string()
            } else {
                chaos
                    .checker
                    .transient
                    .iter()
                    .map(|(c, (n, longest))| format!("[{c}] {n}, longest {:.0} ms", longest * 1e3))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
        );
        let _ = writeln!(s, "vipd ERROR log lines: {}", self.error_lines.len());
        for l in self.error_lines.iter().take(20) {
            let _ = writeln!(s, "  {l}");
        }
        let _ = writeln!(
            s,
            "violations: {}, faults: {}, final problems: {}",
            chaos.checker.violations.len(),
            chaos.faults.len(),
            self.final_problems.len()
        );
        s
    }

    /// Whether the run found nothing wrong: no violation, no fault, no final problem.
    pub fn clean(&self, chaos: &Chaos) -> bool {
        chaos.checker.violations.is_empty()
            && chaos.faults.is_empty()
            && self.final_problems.is_empty()
    }

    /// `summary` followed by everything that went wrong: the events, each violation
    /// with the vipd logs of `hosts` around it, the faults and the final problems.
    pub fn problems(&self, summary: &str, chaos: &Chaos, hosts: &[&Host]) -> String {
        let mut r = summary.to_string();
        let _ = writeln!(r, "\nevents:");
        for (t, e) in &chaos.events {
            let _ = writeln!(r, "  +{:6.3}s {} {e}", t - chaos.t0, utc(*t));
        }
        for v in &chaos.checker.violations {
            let _ = writeln!(
                r,
                "\nVIOLATION [{}] {}: from +{:.3}s {} to +{:.3}s {} ({:.0} ms, {} samples)\n  \
                 first: {}\n  last:  {}\n  vipd logs around it:\n{}",
                v.check,
                if v.who.is_empty() { "LAN" } else { &v.who },
                v.from - chaos.t0,
                utc(v.from),
                v.to - chaos.t0,
                utc(v.to),
                v.secs() * 1e3,
                v.samples,
                v.first,
                v.last,
                log_excerpt(hosts, v.from - 2.0, v.to + 0.5, 60)
            );
        }
        for (t, f) in &chaos.faults {
            let _ = writeln!(r, "\nFAULT at +{:.3}s {}: {f}", t - chaos.t0, utc(*t));
        }
        for p in self.final_problems {
            let _ = writeln!(r, "\nFINAL: {p}");
        }
        r
    }
}
