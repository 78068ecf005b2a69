//! Footprint: resident memory and CPU of each agent with 1 and with many instances at
//! 100 ms adverts, on the master and on the backup (keepalived: both its processes).

use std::thread::sleep;
use std::time::{Duration, Instant};

use vipd_e2e::{wait_until, Lan};

use crate::agent::{self, Agent, Instance, Timer};

/// What one agent used on one router.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Resident set size, MiB (VmRSS summed over the agent's processes).
    pub rss_mib: f64,
    /// CPU time over the window, percent of one core.
    pub cpu_pct: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    pub master: Usage,
    pub backup: Usage,
}

const WINDOW: Duration = Duration::from_secs(10);

/// Runs `agent` with `instances` instances on a pair and measures both routers.
pub fn measure(id: &str, agent: Agent, instances: u8) -> Footprint {
    let timer = Timer::Ms(100);
    let _serial = vipd_e2e::exclusive();
    let lan = Lan::new(id);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let config = |priority| -> Vec<Instance> {
        (0..instances)
            .map(|k| Instance {
                vrid: k + 1,
                priority,
                vip: format!("192.0.2.{}/24", 20 + u32::from(k)),
            })
            .collect()
    };
    agent::start(agent, &a, timer, &config(150));
    agent::start(agent, &b, timer, &config(100));
    let vips: Vec<String> = (0..instances)
        .map(|k| format!("192.0.2.{}", 20 + u32::from(k)))
        .collect();
    let settled = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        let (on_a, on_b) = (a.addresses(), b.addresses());
        vips.iter()
            .all(|v| on_a.iter().any(|x| x.starts_with(&format!("{v}/"))))
            && !vips
                .iter()
                .any(|v| on_b.iter().any(|x| x.starts_with(&format!("{v}/"))))
    });
    assert!(
        settled,
        "{} instances of {} did not settle within 30 s",
        instances,
        agent.name()
    );
    sleep(Duration::from_secs(1));
    let (pa, pb) = (agent::pids(agent, &a), agent::pids(agent, &b));
    assert!(
        !pa.is_empty() && !pb.is_empty(),
        "no {} processes found",
        agent.name()
    );
    let (ca, cb) = (cpu_ticks(&pa), cpu_ticks(&pb));
    let t = Instant::now();
    sleep(WINDOW);
    let secs = t.elapsed().as_secs_f64();
    let usage = |pids: &[u32], before: u64| Usage {
        rss_mib: pids.iter().map(|p| rss_kib(*p)).sum::<u64>() as f64 / 1024.0,
        cpu_pct: (cpu_ticks(pids).saturating_sub(before)) as f64 / ticks_per_second() / secs
            * 100.0,
    };
    Footprint {
        master: usage(&pa, ca),
        backup: usage(&pb, cb),
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of the processes (every thread), in clock ticks.
pub fn cpu_ticks(pids: &[u32]) -> u64 {
    pids.iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // Fields after the command name (which may hold spaces) in parentheses.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            // state is field 3; utime and stime are fields 14 and 15.
            let get = |i: usize| {
                f.get(i - 3)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            get(14) + get(15)
        })
        .sum()
}

pub fn ticks_per_second() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}
