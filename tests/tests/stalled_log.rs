//! A log reader that stops reading (a full pipe, a stuck journald) must not stop the
//! adverts: vipd logs through a bounded queue and drops what does not fit.
//!
//! a (priority 150) runs with stderr into a pipe nobody reads and debug logging; a third
//! host sends it a burst of adverts with a bad TTL, each of which a debug line reports —
//! far more than the pipe holds (64 KiB). With logging on the loop, the loop would block
//! on the full pipe, a's adverts would stop, and b would take over after its
//! Master_Down_Interval (≈ 0.72 s). It must not.

use std::net::Ipv4Addr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use vipd_api::State;
use vipd_e2e::inject::{send_raw_ipv4, v3_advert, vrrp_datagram};
use vipd_e2e::lan::first_instance;
use vipd_e2e::{bins, exclusive, wait_master, web_config, Host, Lan, VIP4, VIP4_CIDR};

/// Kills the child on the way out, also when the test panics.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_with_unread_stderr(h: &Host, yaml: &str) -> Killed {
    let cfg = h.dir().join("vipd-stalled.yaml");
    std::fs::write(&cfg, h.vipd_config_text(yaml)).expect("write config");
    let mut cmd = h.command(bins::vipd());
    cmd.arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    Killed(cmd.spawn().expect("spawn vipd"))
}

#[test]
fn a_stalled_log_reader_does_not_stop_the_adverts() {
    let _serial = exclusive();
    let lan = Lan::new("stlog");
    let x = lan.host_at("x", 66);
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let mut vipd_a = spawn_with_unread_stderr(&a, &web_config(150, VIP4_CIDR));
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(10)),
        "a never became master"
    );
    b.spawn_vipd(&web_config(100, VIP4_CIDR));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(first_instance(&b.status()).state, State::Backup);

    // 3000 debug lines of ~150 bytes: about 7 times what the pipe holds.
    let src: Ipv4Addr = x.ipv4.parse().expect("x's address");
    let vip: Ipv4Addr = VIP4.parse().expect("VIP");
    let junk = vrrp_datagram(src, 64, &v3_advert(src, 51, 200, 20, &[vip]));
    let started = Instant::now();
    let burst: Vec<Vec<u8>> = std::iter::repeat_n(junk, 3000).collect();
    let sent = send_raw_ipv4(x.ns().name(), "eth0", burst).expect("send the burst");
    assert_eq!(sent, 3000);
    // The burst took `started.elapsed()`; then 3 s more, ~4 Master_Down_Intervals.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let st = first_instance(&b.status()).state;
        assert_eq!(
            st,
            State::Backup,
            "b took over {:?} after the burst began: a's adverts stopped behind its log",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        vipd_a.0.try_wait().expect("wait").is_none(),
        "a's vipd died"
    );
    let st = a.status();
    let inst = first_instance(&st);
    assert_eq!(inst.state, State::Master, "a answers status and is master");
    assert!(
        inst.drops.get("bad_ttl").copied().unwrap_or(0) >= 3000,
        "every packet of the burst was counted: {:?}",
        inst.drops
    );
}
