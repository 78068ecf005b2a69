//! `bench/run`: vipd and keepalived side by side, in one run, on the same namespace LAN
//! with the same client probes. Not part of the test suite: it needs root, keepalived,
//! and about ten quiet minutes of the machine. See bench/README.md.

mod agent;
mod flood;
mod footprint;
mod plot;
mod report;
mod scenario;

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Parser;

use agent::{Agent, Timer};
use report::{Cell, FootprintRow};
use scenario::Scenario;

#[derive(Parser, Debug)]
#[command(about = "vipd and keepalived side by side (run as root, from bench/run)")]
struct Args {
    /// Repetitions of each scenario, agent and timer.
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Scenarios, comma-separated: cable, sigterm, split, maintenance, nginx, the
    /// real-client row's rc-nginx, rc-sigterm, rc-maintenance, and anycast.
    #[arg(long, value_delimiter = ',', value_parser = Scenario::parse,
          default_value = "cable,sigterm,split,maintenance,nginx,rc-nginx,rc-sigterm,rc-maintenance,anycast")]
    scenarios: Vec<Scenario>,
    /// Advert intervals for the cable and sigterm scenarios: "default" (each agent's
    /// own), or e.g. 1s, 100ms, 10ms. The others run with the defaults only.
    #[arg(long, value_delimiter = ',', value_parser = Timer::parse,
          default_value = "default,1s,100ms,10ms")]
    timers: Vec<Timer>,
    /// Instance counts for the footprint.
    #[arg(long, value_delimiter = ',', default_value = "1,200")]
    footprint: Vec<u8>,
    /// Skip the footprint.
    #[arg(long)]
    no_footprint: bool,
    /// Flood rates, packets per second, for the robustness runs.
    #[arg(long, value_delimiter = ',', default_value = "10000,50000")]
    flood: Vec<u32>,
    /// Skip the robustness runs.
    #[arg(long)]
    no_flood: bool,
    /// Agents, comma-separated: vipd, keepalived.
    #[arg(long, value_delimiter = ',', value_parser = parse_agent, default_value = "vipd,keepalived")]
    agents: Vec<Agent>,
    /// Where results.md and the plots go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench: must run as root (it creates network namespaces)");
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("bench: cannot create {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let mut cells: Vec<Cell> = Vec::new();
    let mut n = 0usize;
    for &scenario in &args.scenarios {
        let timers: Vec<Timer> = match scenario {
            Scenario::Cable | Scenario::Sigterm => args.timers.clone(),
            Scenario::Split
            | Scenario::Maintenance
            | Scenario::Nginx
            | Scenario::Real(_)
            | Scenario::Anycast => {
                vec![Timer::Default]
            }
        };
        for timer in timers {
            let first = cells.len();
            for agent in args
                .agents
                .iter()
                .copied()
                .filter(|a| scenario.supports(*a))
            {
                cells.push(Cell {
                    scenario,
                    timer,
                    agent,
                    runs: Vec::new(),
                    failed: Vec::new(),
                });
            }
            // The agents alternate, run by run.
            for rep in 0..args.reps {
                for cell in &mut cells[first..] {
                    n += 1;
                    let id = format!("bn{n}");
                    let (agent, label) = (
                        cell.agent,
                        format!(
                            "{} {} {} run {}",
                            cell.agent.name(),
                            scenario.name(),
                            timer,
                            rep + 1
                        ),
                    );
                    match catch_unwind(AssertUnwindSafe(|| {
                        scenario::run(&id, agent, scenario, timer)
                    })) {
                        Ok(o) => {
                            let (gap, lost) = match scenario {
                                Scenario::Real(_) => ("worst request", "requests failed"),
                                _ => ("outage", "pings lost"),
                            };
                            println!(
                                "{label}: {gap} {:.1} ms{}, {} {lost}{}",
                                o.gap_ms,
                                if o.recovered { "" } else { " (not recovered)" },
                                o.lost,
                                o.withdrawn_ms
                                    .map(|w| format!(", path withdrawn after {w:.1} ms"))
                                    .unwrap_or_default()
                            );
                            cell.runs.push(o);
                        }
                        Err(p) => {
                            let why = panic_text(&p);
                            println!("{label}: FAILED: {why}");
                            cell.failed.push(why);
                        }
                    }
                }
            }
        }
    }
    let mut fp = Vec::new();
    let counts: &[u8] = if args.no_footprint {
        &[]
    } else {
        &args.footprint
    };
    for &instances in counts {
        for agent in args.agents.iter().copied() {
            n += 1;
            let id = format!("bn{n}");
            let result = catch_unwind(AssertUnwindSafe(|| {
                footprint::measure(&id, agent, instances)
            }))
            .map_err(|p| panic_text(&p));
            println!(
                "{} footprint with {instances} instances: {result:?}",
                agent.name()
            );
            fp.push(FootprintRow {
                agent,
                instances,
                result,
            });
        }
    }
    let rates: &[u32] = if args.no_flood { &[] } else { &args.flood };
    let mut floods = Vec::new();
    for &rate in rates {
        for kind in flood::Kind::ALL {
            for agent in args.agents.iter().copied() {
                n += 1;
                let id = format!("bn{n}");
                let result = catch_unwind(AssertUnwindSafe(|| flood::run(&id, agent, kind, rate)))
                    .map_err(|p| panic_text(&p));
                println!(
                    "{} {} at {rate}/s: {result:?}",
                    agent.name(),
                    kind.describe()
                );
                floods.push(report::FloodRow {
                    agent,
                    kind,
                    rate,
                    result,
                });
            }
        }
    }
    let plots = draw_plots(&args, &cells);
    let md = render(&args, &cells, &fp, &floods, &plots, started.elapsed());
    let path = args.out.join("results.md");
    if let Err(e) = std::fs::write(&path, &md) {
        eprintln!("bench: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    println!("\n{md}\nwritten to {}", path.display());
    if cells.iter().any(|c| !c.failed.is_empty()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A timeline PNG for the cable and sigterm scenarios (the first run of each agent and
/// timer); returns the file names written, or why not.
fn draw_plots(args: &Args, cells: &[Cell]) -> Vec<Result<String, String>> {
    let mut out = Vec::new();
    for scenario in Scenario::ALL
        .into_iter()
        .filter(|s| !matches!(s, Scenario::Real(_)))
    {
        let rows: Vec<plot::Row> = cells
            .iter()
            .filter(|c| c.scenario == scenario)
            .filter_map(|c| {
                let r = c.runs.first()?;
                Some(plot::Row {
                    label: match c.timer {
                        Timer::Default => format!(
                            "{} defaults ({} ms)",
                            c.agent.name(),
                            c.timer.interval_ms(c.agent)
                        ),
                        Timer::Ms(_) => format!("{} {}", c.agent.name(), c.timer),
                    },
                    replies: r.replies.clone(),
                })
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let longest = cells
            .iter()
            .filter(|c| c.scenario == scenario)
            .flat_map(|c| c.runs.first().map(|r| r.gap_ms))
            .fold(0.0f64, f64::max);
        let to = (longest / 1e3 + 0.4).clamp(1.0, 12.0);
        let name = format!("timeline-{}.png", scenario.name());
        let title = format!("client replies around the failure: {}", scenario.describe());
        out.push(plot::timeline(&args.out.join(&name), &title, &rows, -0.3, to).map(|()| name));
    }
    out
}

fn render(
    args: &Args,
    cells: &[Cell],
    fp: &[FootprintRow],
    floods: &[report::FloodRow],
    plots: &[Result<String, String>],
    took: std::time::Duration,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# vipd and keepalived, side by side\n");
    let _ = writeln!(
        md,
        "{} · kernel {} · {} CPUs · {} · {} · `bench/run {}` · {} runs of each, took {:.1} min\n",
        first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        first_line(Command::new("uname").arg("-r")),
        first_line(&mut Command::new("nproc")),
        first_line(Command::new(vipd_e2e::bins::vipd()).arg("--version")),
        first_line(Command::new("keepalived").arg("--version")),
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        args.reps,
        took.as_secs_f64() / 60.0
    );
    let _ = writeln!(
        md,
        "Outage: the longest gap between echo replies seen by a client pinging the VIP \
         every 5 ms, from the last reply before the event (for nginx: the longest run of \
         failed requests of a client GETting it every 10 ms, between the served ones \
         around it; \"lost\" counts failed requests). RFC floor: Master_Down_Interval \
         (3 × interval + Skew_Time) for a dead master, Skew_Time for one that leaves with a \
         priority-0 advert; \"defaults\" means 200 ms adverts for vipd and 1 s for \
         keepalived. At 10 ms both run with their real-time option (vipd \
         `realtime_priority: 50` + `lock_memory: true`, keepalived `vrrp_rt_priority 50`).\n"
    );
    md.push_str(&report::outage_table(cells));
    md.push_str(&report::real_client_table(cells));
    md.push_str(&report::anycast_note(cells));
    for c in cells.iter().filter(|c| !c.failed.is_empty()) {
        let _ = writeln!(
            md,
            "\n{} {} {}: {} run(s) failed: {}",
            c.agent.name(),
            c.scenario.name(),
            c.timer,
            c.failed.len(),
            c.failed.join("; ")
        );
    }
    if !fp.is_empty() {
        md.push_str("\n## Footprint\n\n");
        md.push_str(&report::footprint_table(fp));
    }
    if !floods.is_empty() {
        md.push_str(
            "\n## Under a flood\n\nA third host floods the VRRP group for 5 s while a pair runs \
             at 100 ms adverts (the master should send 10 adverts a second throughout, and \
             nothing should move).\n\n",
        );
        md.push_str(&report::flood_table(floods));
    }
    md.push('\n');
    for p in plots {
        match p {
            Ok(name) => {
                let _ = writeln!(md, "![{name}]({name})");
            }
            Err(e) => {
                let _ = writeln!(md, "(plot not drawn: {e})");
            }
        }
    }
    md
}

fn parse_agent(s: &str) -> Result<Agent, String> {
    Agent::ALL
        .into_iter()
        .find(|a| a.name() == s)
        .ok_or_else(|| format!("agent {s:?}: expected vipd or keepalived"))
}

fn first_line(cmd: &mut Command) -> String {
    match cmd.output() {
        Ok(o) => {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or("?")
                .trim()
                .to_string()
        }
        Err(_) => "?".into(),
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "panicked".into());
    text.lines().next().unwrap_or("").to_string()
}
