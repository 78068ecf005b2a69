//! The two agents under test, configured alike: one instance (VRID 51) floating one VIP
//! on eth0, VRRPv3, preemption on, and at 20 ms adverts or less each agent's real-time
//! option (vipd `realtime_priority: 50` + `lock_memory: true`; keepalived
//! `vrrp_rt_priority 50`), since neither is meant to run that fast without it.

use std::fmt;
use std::fmt::Write as _;
use std::path::PathBuf;

use vipd_e2e::{Host, Signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Agent {
    Vipd,
    Keepalived,
}

impl Agent {
    pub const ALL: [Agent; 2] = [Agent::Vipd, Agent::Keepalived];

    pub fn name(self) -> &'static str {
        match self {
            Agent::Vipd => "vipd",
            Agent::Keepalived => "keepalived",
        }
    }

    /// Each agent's own default advert interval: vipd 200 ms, keepalived 1 s.
    pub fn default_interval_ms(self) -> u32 {
        match self {
            Agent::Vipd => 200,
            Agent::Keepalived => 1000,
        }
    }
}

/// The advert interval of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Each agent's default (nothing configured).
    Default,
    Ms(u32),
}

impl Timer {
    pub fn interval_ms(self, agent: Agent) -> u32 {
        match self {
            Timer::Default => agent.default_interval_ms(),
            Timer::Ms(ms) => ms,
        }
    }

    /// Whether the agents run with their real-time options (20 ms adverts or less).
    pub fn realtime(self) -> bool {
        matches!(self, Timer::Ms(ms) if ms <= 20)
    }

    pub fn parse(s: &str) -> Result<Timer, String> {
        if s == "default" {
            return Ok(Timer::Default);
        }
        let ms = match (s.strip_suffix("ms"), s.strip_suffix('s')) {
            (Some(ms), _) => ms.parse::<u32>().ok(),
            (None, Some(secs)) => secs.parse::<u32>().ok().map(|s| s * 1000),
            _ => None,
        };
        match ms {
            // VRRPv3 carries the interval in centiseconds: 10 ms .. 40.95 s.
            Some(ms) if (10..=40_950).contains(&ms) && ms % 10 == 0 => Ok(Timer::Ms(ms)),
            _ => Err(format!(
                "timer {s:?}: expected \"default\" or an interval such as 1s, 100ms, 10ms \
                 (a multiple of 10 ms)"
            )),
        }
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Timer::Default => f.write_str("defaults"),
            Timer::Ms(ms) if ms % 1000 == 0 => write!(f, "{} s", ms / 1000),
            Timer::Ms(ms) => write!(f, "{ms} ms"),
        }
    }
}

/// One VRRP instance to configure.
#[derive(Debug, Clone)]
pub struct Instance {
    pub vrid: u8,
    pub priority: u8,
    /// With its prefix length.
    pub vip: String,
}

/// vipd's configuration for `instances`.
pub fn vipd_config(timer: Timer, instances: &[Instance]) -> String {
    let mut y = String::from("log_level: info\n");
    if timer.realtime() {
        y.push_str("realtime_priority: 50\nlock_memory: true\n");
    }
    y.push_str("instances:\n");
    for i in instances {
        let _ = writeln!(y, "  - name: vr{}", i.vrid);
        let _ = writeln!(y, "    interface: eth0");
        let _ = writeln!(y, "    vrid: {}", i.vrid);
        let _ = writeln!(y, "    priority: {}", i.priority);
        if let Timer::Ms(ms) = timer {
            let _ = writeln!(y, "    advert_interval: {ms}ms");
        }
        let _ = writeln!(y, "    vips: [\"{}\"]", i.vip);
    }
    y
}

/// keepalived's configuration for `instances` (VRRP only, starting as backup).
pub fn keepalived_config(router_id: &str, timer: Timer, instances: &[Instance]) -> String {
    let mut c = String::new();
    let _ = writeln!(
        c,
        "global_defs {{\n    router_id {router_id}\n    vrrp_version 3"
    );
    if timer.realtime() {
        let _ = writeln!(c, "    vrrp_rt_priority 50");
    }
    c.push_str("}\n");
    for i in instances {
        let _ = writeln!(c, "vrrp_instance VR{} {{", i.vrid);
        let _ = writeln!(c, "    state BACKUP\n    interface eth0");
        let _ = writeln!(c, "    virtual_router_id {}", i.vrid);
        let _ = writeln!(c, "    priority {}", i.priority);
        if let Timer::Ms(ms) = timer {
            let _ = writeln!(c, "    advert_int {}", f64::from(ms) / 1000.0);
        }
        let _ = writeln!(c, "    virtual_ipaddress {{\n        {}\n    }}\n}}", i.vip);
    }
    c
}

/// Starts `agent` on `host` with `instances`.
pub fn start(agent: Agent, host: &Host, timer: Timer, instances: &[Instance]) {
    match agent {
        Agent::Vipd => host.spawn_vipd(&vipd_config(timer, instances)),
        Agent::Keepalived => {
            host.spawn_keepalived(&keepalived_config(&host.name, timer, instances))
        }
    }
}

/// Sends `sig` to the agent on `host` (keepalived: its parent, which stops its child).
pub fn signal(agent: Agent, host: &Host, sig: Signal) -> bool {
    match agent {
        Agent::Vipd => host.kill(sig),
        Agent::Keepalived => host.kill_keepalived(sig),
    }
}

/// The agent's processes on `host` (keepalived: parent and VRRP child, from their pid
/// files), for the footprint.
pub fn pids(agent: Agent, host: &Host) -> Vec<u32> {
    match agent {
        Agent::Vipd => host.vipd_pid().into_iter().collect(),
        Agent::Keepalived => ["main", "vrrp"]
            .iter()
            .filter_map(|what| {
                let p: PathBuf = host.dir().join(format!("keepalived-1-{what}.pid"));
                std::fs::read_to_string(p).ok()?.trim().parse().ok()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_parse() {
        assert_eq!(Timer::parse("default"), Ok(Timer::Default));
        assert_eq!(Timer::parse("1s"), Ok(Timer::Ms(1000)));
        assert_eq!(Timer::parse("100ms"), Ok(Timer::Ms(100)));
        assert_eq!(Timer::parse("10ms"), Ok(Timer::Ms(10)));
        assert!(Timer::parse("5ms").is_err());
        assert!(Timer::parse("15ms").is_err());
        assert!(Timer::parse("fast").is_err());
        assert_eq!(Timer::Ms(1000).to_string(), "1 s");
        assert_eq!(Timer::Ms(10).to_string(), "10 ms");
    }

    #[test]
    fn configs_agree() {
        let i = [Instance {
            vrid: 51,
            priority: 150,
            vip: "192.0.2.50/24".into(),
        }];
        let y = vipd_config(Timer::Ms(10), &i);
        assert!(y.contains("realtime_priority: 50") && y.contains("advert_interval: 10ms"));
        let k = keepalived_config("a", Timer::Ms(10), &i);
        assert!(k.contains("vrrp_rt_priority 50") && k.contains("advert_int 0.01"));
        let d = keepalived_config("a", Timer::Default, &i);
        assert!(!d.contains("advert_int") && !d.contains("rt_priority"));
        assert!(!vipd_config(Timer::Default, &i).contains("advert_interval"));
    }
}
