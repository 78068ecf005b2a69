//! Randomised (but seeded, so repeatable) abuse of the LAN: crashes, restarts,
//! graceful stops, link flaps, partitions, tracked-object changes, VIP-add failures,
//! advert send failures, loss and uneven latency. The invariants of `vipd_sim::sim` are checked after every
//! instant; after the storm everything is repaired and exactly one master must hold
//! the VIP.

use std::time::Duration;

use vipd_engine::{Config, FaultCause, Instant, Reason, State};
use vipd_sim::cfg::{v3_ipv4, v3_ipv6};
use vipd_sim::{at, Action, Sim, SplitMix64};

fn pick<T: Copy>(rng: &mut SplitMix64, xs: &[T]) -> T {
    xs[(rng.next_u64() % xs.len() as u64) as usize]
}

fn below(rng: &mut SplitMix64, n: u64) -> u64 {
    rng.next_u64() % n
}

fn build(seed: u64) -> Sim {
    let mut rng = SplitMix64::new(seed);
    let n = 2 + below(&mut rng, 3) as usize;
    let ipv6 = below(&mut rng, 4) == 0;
    let mut owner_used = false;
    let mut b = Sim::builder()
        .seed(seed)
        .check_invariants(true)
        .loss_ppm(pick(&mut rng, &[0, 0, 10_000, 50_000]));
    for host in 1..=n {
        let mut priority = pick(&mut rng, &[100, 100, 120, 150, 200, 254, 255]);
        if priority == 255 {
            if owner_used {
                priority = 1;
            }
            owner_used = true;
        }
        let interval = pick(&mut rng, &[20, 50, 100, 150]);
        let mut c: Config = if ipv6 {
            v3_ipv6(host as u16, priority, interval)
        } else {
            v3_ipv4(host as u8, priority, interval)
        };
        c.preempt = below(&mut rng, 4) != 0;
        if below(&mut rng, 4) == 0 {
            c.preempt_delay = Duration::from_secs(2);
        }
        c.fault_retry = Duration::from_secs(pick(&mut rng, &[1, 5, 10]));
        b = b.node(c);
    }
    let mut sim = b.build().expect("valid configurations");
    for a in 0..n {
        for c in a + 1..n {
            let lat = Duration::from_micros(below(&mut rng, 3_000));
            sim.set_latency(a, c, lat);
        }
    }
    sim
}

fn storm(seed: u64) -> Sim {
    let mut sim = build(seed);
    let n = sim.len();
    let mut rng = SplitMix64::new(seed ^ 0xc4a0_5000);
    sim.start_all();
    let mut t = Instant::ZERO;
    let end = at(300, 0);
    loop {
        t = t + Duration::from_millis(100 + below(&mut rng, 5_000));
        if t >= end {
            break;
        }
        sim.run_until(t);
        let node = below(&mut rng, n as u64) as usize;
        let action = match below(&mut rng, 12) {
            0 if sim.is_running(node) => Action::Crash { node },
            0 | 1 => Action::Start { node },
            2 => Action::Stop { node },
            3 => Action::LinkDown { node },
            4 => Action::LinkUp { node },
            5 => {
                let groups = (0..n)
                    .filter(|_| below(&mut rng, 2) == 0)
                    .collect::<Vec<_>>();
                Action::Partition {
                    groups: vec![groups],
                }
            }
            6 => Action::Heal,
            7 => Action::Tracked {
                node,
                weight: below(&mut rng, 121) as i32 - 60,
                fault: below(&mut rng, 10) == 0,
            },
            8 => Action::VipAddOk {
                node,
                ok: below(&mut rng, 4) != 0,
            },
            9 => Action::VipsRemoved { node },
            10 => Action::AdvertSendOk {
                node,
                ok: below(&mut rng, 4) != 0,
            },
            _ => Action::Tracked {
                node,
                weight: 0,
                fault: false,
            },
        };
        sim.act(action);
        assert!(
            sim.violations().is_empty(),
            "seed {seed} at {t}: {:#?}",
            sim.violations()
        );
    }
    // Repair everything.
    sim.run_until(end);
    sim.heal();
    sim.set_default_loss_ppm(0);
    for node in 0..n {
        sim.set_vip_add_ok(node, true);
        sim.set_advert_send_ok(node, true);
        sim.set_tracked(node, 0, false);
        sim.link_up(node);
        sim.start(node);
    }
    sim
}

const SEEDS: u64 = 400;

#[test]
fn chaos_storms_keep_the_invariants_and_settle_on_one_master() {
    let mut dual_episodes = 0;
    let (mut send_faults, mut vip_faults) = (0, 0);
    for seed in 0..SEEDS {
        let mut sim = storm(seed);
        // Longest possible way back: a fault retry backed off to at most 300 s (VIP add
        // or send failures; fault_retry is at most 10 s here, doubling each time),
        // preempt delay 2 s, then a Master_Down_Interval of at most 3 * 1.5 s + skew
        // < 6 s, twice.
        sim.run_for(Duration::from_secs(320));
        assert!(
            sim.violations().is_empty(),
            "seed {seed}: {:#?}",
            sim.violations()
        );
        let masters = sim.masters();
        assert_eq!(masters.len(), 1, "seed {seed}: masters {masters:?}");
        assert_eq!(sim.vip_holders(), masters, "seed {seed}");
        for node in 0..sim.len() {
            if node != masters[0] {
                assert_eq!(sim.state(node), State::Backup, "seed {seed} node {node}");
            }
        }
        dual_episodes += sim.episodes().len();
        for node in 0..sim.len() {
            for (_, _, _, reason) in sim.transitions(node) {
                match reason {
                    Reason::Fault(FaultCause::SendFailed) => send_faults += 1,
                    Reason::Fault(FaultCause::VipAddFailed) => vip_faults += 1,
                    _ => {}
                }
            }
        }
    }
    // And the failure paths with their back-off were taken (1741 and 1174 times over
    // the 400 storms).
    assert!(send_faults > 500, "{send_faults}");
    assert!(vip_faults > 500, "{vip_faults}");
    // The storms did provoke overlapping masters (which the checker then timed).
    assert!(dual_episodes > 50, "{dual_episodes}");
}
