//! One run of one scenario: a LAN of three namespaces (client 192.0.2.100, routers a
//! 192.0.2.11 at priority 150 and b 192.0.2.12 at 100, VIP 192.0.2.50), the agent on
//! both routers, a client pinging the VIP every 5 ms; then the failure, and what the
//! client saw around it.

use std::thread::sleep;
use std::time::Duration;

use vipd_e2e::web::{outage_after, Getter, Nginx, RealClient};
use vipd_e2e::{epoch_now, master_down_ms, skew_ms, wait_until, Host, Lan, Pinger, Signal};

use crate::agent::{self, Agent, Instance, Timer};

const VIP: &str = "192.0.2.50";
const VIP_CIDR: &str = "192.0.2.50/24";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// The master's cable pulled (its bridge port down): an unplanned failure.
    Cable,
    /// SIGTERM to the master: a planned stop.
    Sigterm,
    /// Both routers cut off from each other (bridge port isolation; the client still
    /// reaches both) until both are master, then healed: the outage after the heal.
    Split,
    /// `vipctl maintenance on` on the master (vipd only: keepalived has no such command).
    Maintenance,
    /// nginx killed (SIGKILL to its process group) on the master, which tracks it: the
    /// outage an HTTP client GETting the VIP every 10 ms sees.
    Nginx,
    /// The "real client" row (issue 23): nginx on both routers, a client GETting the VIP
    /// every 10 ms as real ones do (3 s timeouts, no retries); the event is `nginx`
    /// killed, `sigterm` or `maintenance` on the master, each between two requests.
    /// Measured: the worst request's time and the failed requests. vipd's instances
    /// declare `routers: 2`.
    Real(RealEvent),
    /// Anycast (vipd only: `announce:`): three hosts announce the VIP over BGP through
    /// FRR to a router with ECMP; nginx killed on one. The outage: from the kill to the
    /// last failed request (new connections hashed to that host); also the time until
    /// the router has withdrawn its path.
    Anycast,
}

/// What happens to the master in a [`Scenario::Real`] run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RealEvent {
    Nginx,
    Sigterm,
    Maintenance,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::Cable,
        Scenario::Sigterm,
        Scenario::Split,
        Scenario::Maintenance,
        Scenario::Nginx,
        Scenario::Real(RealEvent::Nginx),
        Scenario::Real(RealEvent::Sigterm),
        Scenario::Real(RealEvent::Maintenance),
        Scenario::Anycast,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Cable => "cable",
            Scenario::Sigterm => "sigterm",
            Scenario::Split => "split",
            Scenario::Maintenance => "maintenance",
            Scenario::Nginx => "nginx",
            Scenario::Real(RealEvent::Nginx) => "rc-nginx",
            Scenario::Real(RealEvent::Sigterm) => "rc-sigterm",
            Scenario::Real(RealEvent::Maintenance) => "rc-maintenance",
            Scenario::Anycast => "anycast",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Cable => "master's cable pulled",
            Scenario::Sigterm => "master SIGTERM",
            Scenario::Split => "split brain heals",
            Scenario::Maintenance => "planned maintenance handover",
            Scenario::Nginx => "nginx killed on the master (HTTP)",
            Scenario::Real(RealEvent::Nginx) => "nginx killed on the master",
            Scenario::Real(RealEvent::Sigterm) => "master SIGTERM",
            Scenario::Real(RealEvent::Maintenance) => "planned maintenance handover",
            Scenario::Anycast => "nginx killed on one of three anycast hosts (BGP, ECMP)",
        }
    }

    pub fn parse(s: &str) -> Result<Scenario, String> {
        Scenario::ALL
            .into_iter()
            .find(|sc| sc.name() == s)
            .ok_or_else(|| {
                format!(
                    "scenario {s:?}: expected one of cable, sigterm, split, maintenance, nginx, \
                     rc-nginx, rc-sigterm, rc-maintenance, anycast"
                )
            })
    }

    /// Whether `agent` can take part.
    pub fn supports(self, agent: Agent) -> bool {
        let vipd_only = matches!(
            self,
            Scenario::Maintenance | Scenario::Real(RealEvent::Maintenance) | Scenario::Anycast
        );
        !(vipd_only && agent == Agent::Keepalived)
    }

    /// The least outage RFC 5798 allows, in ms, for the backup (priority 100): a dead
    /// master is noticed after Master_Down_Interval (§6.1); one that sends priority 0 on
    /// its way out after Skew_Time (§6.4.2). None where the RFC sets no floor.
    pub fn floor_ms(self, interval_ms: u32) -> Option<f64> {
        let i = f64::from(interval_ms);
        match self {
            Scenario::Cable => Some(master_down_ms(100, i)),
            Scenario::Sigterm => Some(skew_ms(100, i)),
            Scenario::Split
            | Scenario::Maintenance
            | Scenario::Nginx
            | Scenario::Real(_)
            | Scenario::Anycast => None,
        }
    }
}

/// What the client saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The longest gap between echo replies from the last one before the event on.
    pub gap_ms: f64,
    /// Echo requests lost.
    pub lost: usize,
    /// Whether the traffic came back within the bound (if not, `gap_ms` is the bound).
    pub recovered: bool,
    /// Echo replies, in seconds relative to the event.
    pub replies: Vec<f64>,
    /// Anycast only: when the router no longer had the host's path, ms after the event.
    pub withdrawn_ms: Option<f64>,
}

/// One scenario, run once with `agent` and `timer`. Panics (from the harness) when the
/// LAN cannot be set up or the routers never settle; the caller catches that.
pub fn run(id: &str, agent: Agent, scenario: Scenario, timer: Timer) -> Outcome {
    if scenario == Scenario::Nginx {
        return nginx(id, agent, timer);
    }
    if let Scenario::Real(event) = scenario {
        return real_client(id, agent, timer, event);
    }
    if scenario == Scenario::Anycast {
        return anycast(id);
    }
    let interval = Duration::from_millis(u64::from(timer.interval_ms(agent)));
    let _serial = vipd_e2e::exclusive();
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let one = |priority| {
        [Instance {
            vrid: 51,
            priority,
            vip: VIP_CIDR.to_string(),
        }]
    };
    agent::start(agent, &a, timer, &one(150));
    agent::start(agent, &b, timer, &one(100));
    settle(&a, &b, interval);
    let ping = Pinger::start_replying(&client, VIP, Duration::from_secs(120), 40);
    // BENCH_TRACE=1: print what crossed the bridge around the event (not ICMP).
    let mut trace =
        std::env::var_os("BENCH_TRACE").map(|_| lan.capture("br0", "not icmp and not icmp6"));

    // How long the traffic may take to come back: generous (a stuck ARP entry shows
    // as an outage this long, not as a hang).
    let bound = interval * 5 + Duration::from_secs(5);
    let event = match scenario {
        Scenario::Cable => {
            let t = epoch_now();
            a.pull_cable();
            t
        }
        Scenario::Sigterm => {
            let t = epoch_now();
            agent::signal(agent, &a, Signal::SIGTERM);
            t
        }
        Scenario::Maintenance => {
            let t = epoch_now();
            let out = a.vipctl(&["maintenance", "on"]);
            assert!(
                out.status.success(),
                "vipctl maintenance on failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            t
        }
        Scenario::Nginx | Scenario::Real(_) | Scenario::Anycast => {
            unreachable!("run() hands the HTTP scenarios to nginx(), real_client() and anycast()")
        }
        Scenario::Split => {
            a.set_isolated(true);
            b.set_isolated(true);
            let both = wait_until(bound, Duration::from_millis(5), || b.has_addr(VIP));
            assert!(both, "b never took over while split");
            // Let the split settle: the client follows b's announcements.
            sleep(interval * 2 + Duration::from_millis(500));
            let t = epoch_now();
            a.set_isolated(false);
            b.set_isolated(false);
            t
        }
    };
    let moved = |h: &Host, other: &Host| h.has_addr(VIP) && !other.has_addr(VIP);
    let settled = wait_until(bound, Duration::from_millis(5), || match scenario {
        Scenario::Split => moved(&a, &b),
        _ => b.has_addr(VIP),
    });
    // Traffic is back once 40 more replies (200 ms of probes) have come.
    let recovered = settled && ping.wait_replies(40, bound);
    if !recovered {
        // Keep pinging to the bound so the gap shows as at least that.
        sleep(Duration::from_millis(100));
    }
    let report = ping.stop();
    if let Some(t) = trace.as_mut() {
        for l in t
            .stop()
            .iter()
            .filter(|l| !l.stderr && (l.t - event).abs() < 1.5)
        {
            println!("  {:+9.4} {}", l.t - event, l.text);
        }
    }
    let gap_ms = if recovered {
        report.longest_gap_after_ms(event)
    } else {
        (epoch_now() - event) * 1e3
    };
    Outcome {
        gap_ms,
        lost: report.lost_after(event).len(),
        recovered,
        replies: report.replies.iter().map(|t| t - event).collect(),
        withdrawn_ms: None,
    }
}

/// Waits until a holds the VIP and b does not, and it stays so for four advert
/// intervals (the election is over); panics if that does not come about.
fn settle(a: &Host, b: &Host, interval: Duration) {
    let bound = interval * 6 + Duration::from_secs(10);
    let calm = interval * 4 + Duration::from_millis(300);
    let start = std::time::Instant::now();
    let mut since: Option<std::time::Instant> = None;
    while start.elapsed() < bound {
        if a.has_addr(VIP) && !b.has_addr(VIP) {
            let s = *since.get_or_insert_with(std::time::Instant::now);
            if s.elapsed() >= calm {
                return;
            }
        } else {
            since = None;
        }
        sleep(Duration::from_millis(10));
    }
    panic!("the routers did not settle (a master, b backup) within {bound:?}");
}

/// nginx on both routers, each agent tracking its own nginx the way its documentation
/// suggests: vipd a process check on nginx's pidfile (a pidfd: the death is seen at
/// once); keepalived a `vrrp_script` running `pgrep -F <pidfile>` every second (its
/// least interval), `fall 1`. nginx is killed on the master; the outage is what a client
/// GETting the VIP every 10 ms sees.
fn nginx(id: &str, agent: Agent, timer: Timer) -> Outcome {
    let interval = Duration::from_millis(u64::from(timer.interval_ms(agent)));
    let _serial = vipd_e2e::exclusive();
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let mut na = Nginx::start(&a);
    let nb = Nginx::start(&b);
    start_tracking(agent, timer, [(&a, &na, 150), (&b, &nb, 100)], "");
    settle(&a, &b, interval);
    let mut get = Getter::start(&client, VIP, Duration::from_secs(120));
    sleep(Duration::from_millis(300));
    let event = epoch_now();
    na.kill_all();
    let bound = interval * 5 + Duration::from_secs(5);
    let moved = wait_until(bound, Duration::from_millis(5), || b.has_addr(VIP));
    // Time for the client to follow (a few hundred requests' worth).
    sleep(Duration::from_millis(500));
    let samples = get.stop();
    let outage = outage_after(&samples, event);
    let served_by_b = samples
        .iter()
        .rev()
        .take(10)
        .all(|s| s.by.as_deref() == Some("b"));
    let recovered = moved && served_by_b;
    Outcome {
        gap_ms: if recovered {
            outage.gap.as_secs_f64() * 1e3
        } else {
            (epoch_now() - event) * 1e3
        },
        lost: outage.failed,
        recovered,
        replies: samples
            .iter()
            .filter(|s| s.by.is_some())
            .map(|s| s.t - event)
            .collect(),
        withdrawn_ms: None,
    }
}

/// The anycast lab of the end-to-end tests (`vipd_e2e::frr::AnycastLab`: FRR 8.4 on a
/// router and three web hosts, the shipped `examples/bgp/frr.conf`, vipd tracking nginx
/// with an http check every 100 ms, fall 1); nginx killed on w1 while a client behind
/// the router GETs the VIP every 10 ms, a new connection each time.
fn anycast(id: &str) -> Outcome {
    use vipd_e2e::frr::{anycast_vipd_yaml, AnycastLab, ANYCAST_VIP};
    let _serial = vipd_e2e::exclusive();
    let mut lab = AnycastLab::start(id, 3, &anycast_vipd_yaml(100, 3));
    let mut get = Getter::start(&lab.client, ANYCAST_VIP, Duration::from_secs(120));
    sleep(Duration::from_millis(300));
    let a1 = lab.webs[0].addr();
    let event = epoch_now();
    lab.webs[0].nginx.kill_all();
    let gone = lab.when_hops(Duration::from_secs(5), |h| !h.contains(&a1));
    sleep(Duration::from_millis(500));
    let samples = get.stop();
    let failed: Vec<f64> = samples
        .iter()
        .filter(|s| s.t > event && s.by.is_none())
        .map(|s| s.t)
        .collect();
    let settled = samples
        .iter()
        .rev()
        .take(10)
        .all(|s| s.by.as_deref().is_some_and(|w| w != "w1"));
    let recovered = gone.is_some() && settled;
    Outcome {
        gap_ms: if recovered {
            failed.last().map_or(0.0, |t| (t - event) * 1e3)
        } else {
            (epoch_now() - event) * 1e3
        },
        lost: failed.len(),
        recovered,
        replies: samples
            .iter()
            .filter(|s| s.by.is_some())
            .map(|s| s.t - event)
            .collect(),
        withdrawn_ms: gone.map(|t| (t - event) * 1e3),
    }
}

/// Starts `agent` on each router (host, its nginx, priority), tracking that nginx the
/// way the agent's documentation suggests (see [`nginx`]); `vipd_extra` is appended to
/// vipd's instance.
fn start_tracking(agent: Agent, timer: Timer, routers: [(&Host, &Nginx, u8); 2], vipd_extra: &str) {
    for (h, n, priority) in routers {
        let pidfile = n.pidfile().display().to_string();
        let one = [Instance {
            vrid: 51,
            priority,
            vip: VIP_CIDR.to_string(),
        }];
        match agent {
            Agent::Vipd => {
                let base = agent::vipd_config(timer, &one);
                let tracked = base.replacen(
                    "instances:\n",
                    &format!(
                        "checks:\n  nginx:\n    process: {{pidfile: \"{pidfile}\"}}\n    interval: 1s\ninstances:\n"
                    ),
                    1,
                ) + "    track: [nginx]\n"
                    + vipd_extra;
                h.spawn_vipd(&tracked);
            }
            Agent::Keepalived => {
                let base = agent::keepalived_config(&h.name, timer, &one);
                let script = format!(
                    "vrrp_script chk_nginx {{\n    script \"/usr/bin/pgrep -F {pidfile}\"\n    \
                     interval 1\n    fall 1\n    rise 1\n}}\n"
                );
                let conf = base
                    .replacen("vrrp_instance", &format!("{script}vrrp_instance"), 1)
                    .replacen(
                        "    virtual_ipaddress",
                        "    track_script {\n        chk_nginx\n    }\n    virtual_ipaddress",
                        1,
                    );
                h.spawn_keepalived(&conf);
            }
        }
    }
}

/// The worst request and the failed ones of a client as real ones are (3 s timeouts, no
/// retries of its own), through `event` on the master; nginx on both routers, tracked
/// as in [`nginx`], vipd's instances declaring `routers: 2`. `gap_ms` is the worst
/// request's time, `lost` the failed requests.
fn real_client(id: &str, agent: Agent, timer: Timer, event: RealEvent) -> Outcome {
    let interval = Duration::from_millis(u64::from(timer.interval_ms(agent)));
    let _serial = vipd_e2e::exclusive();
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let mut na = Nginx::start(&a);
    let nb = Nginx::start(&b);
    start_tracking(
        agent,
        timer,
        [(&a, &na, 150), (&b, &nb, 100)],
        "    routers: 2\n",
    );
    settle(&a, &b, interval);
    let mut get = RealClient::start(&client, VIP, Duration::from_secs(120));
    sleep(Duration::from_millis(300));
    // Between two requests: one in flight when nginx dies is reset with it, whatever
    // the agent does.
    get.wait_request_end();
    let t0 = epoch_now();
    match event {
        RealEvent::Nginx => na.kill_all(),
        RealEvent::Sigterm => {
            agent::signal(agent, &a, Signal::SIGTERM);
        }
        RealEvent::Maintenance => {
            let out = a.vipctl(&["maintenance", "on"]);
            assert!(
                out.status.success(),
                "vipctl maintenance on failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let bound = interval * 5 + Duration::from_secs(5);
    let moved = wait_until(bound, Duration::from_millis(5), || {
        b.has_addr(VIP) && !a.has_addr(VIP)
    });
    // Long enough for a request waiting for a SYN retransmission (1 s, then 3 s) to end.
    sleep(Duration::from_millis(3500));
    let samples = get.stop();
    let after: Vec<_> = samples.iter().filter(|s| s.t >= t0).collect();
    let worst = after.iter().map(|s| s.took).max().unwrap_or_default();
    let failed = after.iter().filter(|s| s.by.is_err()).count();
    let served_by_b = after
        .iter()
        .rev()
        .take(10)
        .all(|s| s.by.as_deref() == Ok("b"));
    Outcome {
        gap_ms: worst.as_secs_f64() * 1e3,
        lost: failed,
        recovered: moved && served_by_b,
        replies: after
            .iter()
            .filter(|s| s.by.is_ok())
            .map(|s| s.t - t0)
            .collect(),
        withdrawn_ms: None,
    }
}
