//! The markdown report: one row per scenario and timer, the two agents side by side.

use std::fmt::Write as _;

use crate::agent::{Agent, Timer};
use crate::footprint::Footprint;
use crate::scenario::{Outcome, Scenario};

/// Every run of one agent in one scenario with one timer.
#[derive(Debug, Clone)]
pub struct Cell {
    pub scenario: Scenario,
    pub timer: Timer,
    pub agent: Agent,
    pub runs: Vec<Outcome>,
    /// Runs that could not be carried out (the routers never settled, ...).
    pub failed: Vec<String>,
}

/// Median of `v` (NaN if empty).
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

impl Cell {
    fn gaps(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.gap_ms).collect()
    }

    fn median_gap(&self) -> f64 {
        median(&self.gaps())
    }

    /// "median / max" in ms, ">" where a run never recovered, "n/a" with no runs.
    fn gap_text(&self) -> String {
        if self.runs.is_empty() {
            return if self.failed.is_empty() {
                "n/a".into()
            } else {
                "failed".into()
            };
        }
        let unrecovered = if self.runs.iter().any(|r| !r.recovered) {
            ">"
        } else {
            ""
        };
        format!(
            "{:.0} / {unrecovered}{:.0}",
            self.median_gap(),
            max(&self.gaps())
        )
    }

    fn lost_text(&self) -> String {
        if self.runs.is_empty() {
            return "–".into();
        }
        let lost: Vec<f64> = self.runs.iter().map(|r| r.lost as f64).collect();
        format!("{:.0}", median(&lost))
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b <= 0.0 {
        "–".into()
    } else {
        format!("{:.2}", a / b)
    }
}

/// The outage table.
pub fn outage_table(cells: &[Cell]) -> String {
    let mut t = String::from(
        "| scenario | adverts | vipd outage, ms (median / max) | keepalived outage, ms | \
         vipd ÷ keepalived | RFC floor, ms (vipd / keepalived) | ÷ floor (vipd / keepalived) | \
         lost pings (vipd / keepalived, median) |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut keys: Vec<(Scenario, Timer)> = cells.iter().map(|c| (c.scenario, c.timer)).collect();
    keys.dedup();
    for (scenario, timer) in keys
        .into_iter()
        .filter(|(s, _)| !matches!(s, Scenario::Real(_)))
    {
        let find = |agent| {
            cells
                .iter()
                .find(|c| c.scenario == scenario && c.timer == timer && c.agent == agent)
        };
        let (Some(v), k) = (find(Agent::Vipd), find(Agent::Keepalived)) else {
            continue;
        };
        let floor = |agent: Agent| scenario.floor_ms(timer.interval_ms(agent));
        let floor_text = |agent: Agent, c: Option<&Cell>| match (floor(agent), c) {
            (Some(f), Some(c)) if !c.runs.is_empty() => {
                (format!("{f:.0}"), ratio(c.median_gap(), f))
            }
            (Some(f), _) => (format!("{f:.0}"), "–".into()),
            (None, _) => ("–".into(), "–".into()),
        };
        let (fv, rv) = floor_text(Agent::Vipd, Some(v));
        let (fk, rk) = floor_text(Agent::Keepalived, k);
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {fv} / {fk} | {rv} / {rk} | {} / {} |",
            scenario.describe(),
            timer,
            v.gap_text(),
            k.map_or("n/a".into(), Cell::gap_text),
            ratio(v.median_gap(), k.map_or(f64::NAN, Cell::median_gap)),
            v.lost_text(),
            k.map_or("–".into(), Cell::lost_text),
        );
    }
    t
}

/// The real-client rows (issue 23): a client GETting the VIP every 10 ms with 3 s
/// timeouts and no retries; the worst request's time and the failed requests (medians
/// and maxima over the runs). Empty when no such scenario ran.
pub fn real_client_table(cells: &[Cell]) -> String {
    let real: Vec<&Cell> = cells
        .iter()
        .filter(|c| matches!(c.scenario, Scenario::Real(_)))
        .collect();
    if real.is_empty() {
        return String::new();
    }
    let mut t = String::from(
        "\n**Real client** (GET every 10 ms, 3 s connect and read timeouts, no retries; \
         the event between two requests; vipd with `routers: 2`):\n\n\
         | event | vipd worst request, ms (median / max) | keepalived worst request, ms | \
         vipd failed requests (median / max) | keepalived failed requests |\n\
         |---|---|---|---|---|\n",
    );
    let failed = |c: Option<&&Cell>| match c {
        Some(c) if !c.runs.is_empty() => {
            let n: Vec<f64> = c.runs.iter().map(|r| r.lost as f64).collect();
            format!("{:.0} / {:.0}", median(&n), max(&n))
        }
        _ => "–".into(),
    };
    let mut scenarios: Vec<Scenario> = real.iter().map(|c| c.scenario).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let find = |agent| {
            real.iter()
                .find(|c| c.scenario == scenario && c.agent == agent)
        };
        let (v, k) = (find(Agent::Vipd), find(Agent::Keepalived));
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} |",
            scenario.describe(),
            v.map_or("n/a".into(), |c| c.gap_text()),
            k.map_or("n/a".into(), |c| c.gap_text()),
            failed(v),
            failed(k),
        );
    }
    t
}

/// Under the table, for the anycast row: what its outage means and when the router
/// withdrew the path (median / max); empty without anycast runs.
pub fn anycast_note(cells: &[Cell]) -> String {
    let withdrawn: Vec<f64> = cells
        .iter()
        .filter(|c| c.scenario == Scenario::Anycast)
        .flat_map(|c| c.runs.iter().filter_map(|r| r.withdrawn_ms))
        .collect();
    if withdrawn.is_empty() {
        return String::new();
    }
    format!(
        "\nAnycast (vipd only, `announce:` over FRR with ECMP, 3 hosts): the outage is from \
         nginx's death to the last failed request (new connections hashed to that host; \
         the others were served throughout); the router had withdrawn the host's path \
         after {:.0} / {:.0} ms (median / max).\n",
        median(&withdrawn),
        max(&withdrawn)
    )
}

/// One footprint measurement.
#[derive(Debug, Clone)]
pub struct FootprintRow {
    pub agent: Agent,
    pub instances: u8,
    pub result: Result<Footprint, String>,
}

pub fn footprint_table(rows: &[FootprintRow]) -> String {
    let mut t = String::from(
        "| agent | instances (100 ms adverts) | RSS master, MiB | RSS backup, MiB | \
         CPU master, % of a core | CPU backup, % |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        match &r.result {
            Ok(f) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                    r.agent.name(),
                    r.instances,
                    f.master.rss_mib,
                    f.backup.rss_mib,
                    f.master.cpu_pct,
                    f.backup.cpu_pct
                );
            }
            Err(e) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | failed: {e} | | | |",
                    r.agent.name(),
                    r.instances
                );
            }
        }
    }
    t
}

/// One robustness run.
#[derive(Debug, Clone)]
pub struct FloodRow {
    pub agent: Agent,
    pub kind: crate::flood::Kind,
    pub rate: u32,
    pub result: Result<crate::flood::FloodResult, String>,
}

pub fn flood_table(rows: &[FloodRow]) -> String {
    let mut t = String::from(
        "| flood | asked, pps | agent | sent, pps | VIP moves | master adverts per s | \
         master CPU, % of a core |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        match &r.result {
            Ok(f) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | {:.0} | {} | {:.1} | {:.1} |",
                    r.kind.describe(),
                    r.rate,
                    r.agent.name(),
                    f.pps,
                    f.vip_moves,
                    f.master_adverts_per_s,
                    f.cpu_pct
                );
            }
            Err(e) => {
                let _ = writeln!(
                    t,
                    "| {} | {} | {} | failed: {e} | | | |",
                    r.kind.describe(),
                    r.rate,
                    r.agent.name()
                );
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(gap_ms: f64, lost: usize) -> Outcome {
        Outcome {
            gap_ms,
            lost,
            recovered: true,
            replies: Vec::new(),
            withdrawn_ms: None,
        }
    }

    #[test]
    fn the_anycast_note_gives_the_withdrawal_times() {
        let mut runs = vec![outcome(180.0, 6), outcome(200.0, 5), outcome(160.0, 4)];
        for (r, w) in runs.iter_mut().zip([191.0, 225.0, 169.0]) {
            r.withdrawn_ms = Some(w);
        }
        let cells = vec![Cell {
            scenario: Scenario::Anycast,
            timer: Timer::Default,
            agent: Agent::Vipd,
            runs,
            failed: Vec::new(),
        }];
        let note = anycast_note(&cells);
        assert!(note.contains("after 191 / 225 ms"), "{note}");
        let table = outage_table(&cells);
        assert!(
            table.contains("| nginx killed on one of three anycast hosts (BGP, ECMP) | defaults | 180 / 200 | n/a |"),
            "{table}"
        );
        assert!(anycast_note(&[]).is_empty());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn a_row_per_scenario_and_timer_with_ratios() {
        let cell = |agent, gaps: &[f64]| Cell {
            scenario: Scenario::Cable,
            timer: Timer::Ms(100),
            agent,
            runs: gaps.iter().map(|g| outcome(*g, 1)).collect(),
            failed: Vec::new(),
        };
        let t = outage_table(&[
            cell(Agent::Vipd, &[300.0, 320.0, 310.0]),
            cell(Agent::Keepalived, &[620.0, 600.0, 640.0]),
        ]);
        let row = t.lines().nth(2).unwrap_or_default();
        // Master_Down at 100 ms and priority 100: 300 + 60.9375.
        assert!(
            row.contains("| 310 / 320 | 620 / 640 | 0.50 | 361 / 361 |"),
            "{row}"
        );
        assert!(row.contains("0.86 / 1.72"), "{row}");
    }

    #[test]
    fn real_client_rows_have_a_table_of_their_own() {
        use crate::scenario::RealEvent;
        let cell = |agent, runs: &[(f64, usize)]| Cell {
            scenario: Scenario::Real(RealEvent::Nginx),
            timer: Timer::Default,
            agent,
            runs: runs.iter().map(|(g, l)| outcome(*g, *l)).collect(),
            failed: Vec::new(),
        };
        let cells = [
            cell(Agent::Vipd, &[(4.0, 0), (6.0, 0), (5.0, 0)]),
            cell(
                Agent::Keepalived,
                &[(1030.0, 51), (1010.0, 48), (1020.0, 50)],
            ),
        ];
        assert_eq!(outage_table(&cells).lines().count(), 2, "header only");
        let t = real_client_table(&cells);
        let row = t.lines().last().unwrap_or_default();
        assert_eq!(
            row,
            "| nginx killed on the master | 5 / 6 | 1020 / 1030 | 0 / 0 | 50 / 51 |"
        );
        assert_eq!(real_client_table(&cells[..0]), "");
    }
}
