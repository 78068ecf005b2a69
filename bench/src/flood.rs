//! Robustness: a host on the LAN floods the VRRP group at a fixed rate while the agents
//! run a pair (100 ms adverts): junk protocol-112 packets, or valid adverts of the same
//! VRID at a lower priority (which RFC 5798 §6.4.3 has a master discard, and some
//! implementations answer). What counts: whether the VIP moved, how many adverts the
//! master sent (10 a second is right), and the master agent's CPU.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use vipd_e2e::capture::adverts_from;
use vipd_e2e::{wait_until, Lan};

use crate::agent::{self, Agent, Instance, Timer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Protocol-112 packets that are not VRRP (bad version, short).
    Junk,
    /// Valid VRRPv3 adverts for the pair's VRID at priority 50.
    LowerPriority,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Junk, Kind::LowerPriority];

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Junk => "junk protocol-112 flood",
            Kind::LowerPriority => "lower-priority advert flood (same VRID)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FloodResult {
    /// Packets the flooder sent per second (measured).
    pub pps: f64,
    /// Times the backup added the VIP during the flood (each one a needless takeover).
    pub vip_moves: usize,
    /// Adverts the master sent during the flood, per second.
    pub master_adverts_per_s: f64,
    /// The master agent's CPU, percent of one core.
    pub cpu_pct: f64,
}

const SECONDS: u64 = 5;

pub fn run(id: &str, agent: Agent, kind: Kind, rate: u32) -> FloodResult {
    let timer = Timer::Ms(100);
    let _serial = vipd_e2e::exclusive();
    let lan = Lan::new(id);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let m = lan.host_at("m", 13);
    let one = |priority| {
        [Instance {
            vrid: 51,
            priority,
            vip: "192.0.2.50/24".to_string(),
        }]
    };
    agent::start(agent, &a, timer, &one(150));
    agent::start(agent, &b, timer, &one(100));
    let settled = wait_until(Duration::from_secs(15), Duration::from_millis(20), || {
        a.has_addr("192.0.2.50") && !b.has_addr("192.0.2.50")
    });
    assert!(settled, "the pair did not settle");
    sleep(Duration::from_secs(1));
    let adverts = lan.capture("br0", "src host 192.0.2.11 and ip proto 112");
    let moves = b.address_events();
    let pids = agent::pids(agent, &a);
    let cpu0 = crate::footprint::cpu_ticks(&pids);
    let t0 = Instant::now();
    let sent = flood(m.ns().name(), kind, rate, Duration::from_secs(SECONDS));
    let secs = t0.elapsed().as_secs_f64();
    let cpu = crate::footprint::cpu_ticks(&pids).saturating_sub(cpu0);
    let mut adverts = adverts;
    let mut moves = moves;
    let advert_count = adverts_from(&adverts, "192.0.2.11", 51).len();
    let _ = adverts.stop();
    let added = moves
        .stop()
        .iter()
        .filter(|l| vipd_e2e::events::is_addition(l, "192.0.2.50"))
        .count();
    FloodResult {
        pps: sent as f64 / secs,
        vip_moves: added,
        master_adverts_per_s: advert_count as f64 / secs,
        cpu_pct: cpu as f64 / crate::footprint::ticks_per_second() / secs * 100.0,
    }
}

/// Sends `kind` packets to 224.0.0.18 from the namespace `ns` at `rate` per second for
/// `span`; returns how many went out.
fn flood(ns: &str, kind: Kind, rate: u32, span: Duration) -> u64 {
    let ns = ns.to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let worker = std::thread::spawn(move || -> Result<u64, String> {
        let f = File::open(format!("/run/netns/{ns}")).map_err(|e| format!("{ns}: {e}"))?;
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("setns {ns}: {e}"))?;
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112)))
            .map_err(|e| format!("raw socket: {e}"))?;
        s.set_multicast_ttl_v4(255).map_err(|e| e.to_string())?;
        s.set_multicast_if_v4(&Ipv4Addr::new(192, 0, 2, 13))
            .map_err(|e| e.to_string())?;
        let msg = match kind {
            Kind::Junk => vec![0x71, 51, 200, 1, 0, 0, 0, 0],
            Kind::LowerPriority => vipd_e2e::inject::v3_advert(
                Ipv4Addr::new(192, 0, 2, 13),
                51,
                50,
                10,
                &[Ipv4Addr::new(192, 0, 2, 50)],
            ),
        };
        let to = SockAddr::from(SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 18), 0));
        let start = Instant::now();
        let mut sent = 0u64;
        // Batches of 50, paced to the rate.
        while !flag.load(Ordering::Relaxed) && start.elapsed() < span {
            for _ in 0..50 {
                if s.send_to(&msg, &to).is_ok() {
                    sent += 1;
                }
            }
            let due = Duration::from_secs_f64(sent as f64 / f64::from(rate));
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                sleep(wait);
            }
        }
        Ok(sent)
    });
    sleep(span + Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    match worker.join() {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => panic!("flooder: {e}"),
        Err(_) => panic!("flooder panicked"),
    }
}
