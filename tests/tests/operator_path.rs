//! The operator's path as one test, doing what the README tells an operator: the Debian
//! package, rolled out by the Ansible role (`packaging/ansible/site.yml` with the
//! example inventory, over SSH, `--become`) to two booted Debian 12 hosts running nginx
//! under systemd (web1 150, web2 100; a process check on nginx's pidfile and an http
//! check, an operator group, an auth key the role distributes, metrics and peers), then
//! operated through systemd while a client GETs the VIP every 10 ms.
//!
//! Times: the client's requests are stamped on this machine's clock, and so are the
//! `ip monitor` lines the single-holder bound is taken from.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use vipd_e2e::events::{wait_added, wait_deleted};
use vipd_e2e::hosts::{deb, Booted};
use vipd_e2e::web::{failures, Getter, Sample};
use vipd_e2e::{epoch_now, exclusive, wait_until, Host, Lan};

const VIP: &str = "192.0.2.50";

/// A phase's requests: those that failed (but for a connection cut at a move, see
/// `Failures::cut_at_move`; those are `cut`), the worst gap between two served ones
/// around the failures, and who served, in order (each once per run).
struct Seen {
    /// The failed requests but cuts: when each began (epoch seconds), why it failed and
    /// the requests around it.
    lost: Vec<String>,
    cut: usize,
    gap: f64,
    servers: Vec<String>,
}

fn seen(samples: &[Sample]) -> Seen {
    let mut servers: Vec<String> = Vec::new();
    let mut last_ok: Option<f64> = None;
    let mut gap = 0.0f64;
    let mut failing = false;
    for s in samples {
        match &s.by {
            None => failing = true,
            Some(who) => {
                if failing {
                    if let Some(ok) = last_ok {
                        gap = gap.max(s.t - ok);
                    }
                }
                failing = false;
                last_ok = Some(s.t);
                if servers.last() != Some(who) {
                    servers.push(who.clone());
                }
            }
        }
    }
    let split = failures(samples);
    // Each with the requests on either side, for the message of a failing bound.
    let lost = split
        .lost
        .iter()
        .map(|(t, why)| {
            let i = samples.iter().position(|s| s.t == *t).unwrap_or(0);
            let near: Vec<String> = samples[i.saturating_sub(2)..(i + 3).min(samples.len())]
                .iter()
                .map(|s| {
                    let what = s.by.as_deref().or(s.why.as_deref()).unwrap_or("?");
                    format!("{:.3} {what}", s.t)
                })
                .collect();
            format!("{t:.3} {why} (near: {})", near.join("; "))
        })
        .collect();
    Seen {
        lost,
        cut: split.cut_at_move.len(),
        gap,
        servers,
    }
}

/// The site: two booted web hosts, a client (the Ansible controller too) and the key
/// the controller logs in with.
struct Site {
    web1: Booted,
    web2: Booted,
    client: Host,
    key: PathBuf,
    // Last: the LAN goes after its hosts.
    _lan: Lan,
}

impl Site {
    fn hosts(&self) -> [&Booted; 2] {
        [&self.web1, &self.web2]
    }

    /// `ansible-playbook -i inventory.example.yml site.yml --become` from the client's
    /// namespace, with the package under test and these extra variables. Returns whether
    /// it succeeded and what it printed.
    fn play(&self, extra: &[&str]) -> (bool, String) {
        let dir = vipd_e2e::bins::workspace_root().join("packaging/ansible");
        let mut c = self.client.ns().command("ansible-playbook");
        c.current_dir(&dir)
            .env("ANSIBLE_HOST_KEY_CHECKING", "False")
            .env("ANSIBLE_NOCOLOR", "1")
            .args(["-i", "inventory.example.yml", "site.yml", "--become"])
            .arg("--private-key")
            .arg(&self.key)
            .args(["-e", "ansible_user=root"])
            .arg("-e")
            .arg(format!("vipd_deb_path={}", deb().display()))
            .args(["-e", r#"{"vipd_status_users": ["viewer"]}"#]);
        for e in extra {
            c.args(["-e", e]);
        }
        let out = vipd_e2e::run_timeout(&mut c, Duration::from_secs(300))
            .unwrap_or_else(|| panic!("ansible-playbook did not end within 300 s"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

/// `changed=N` of `host` in a play's recap.
fn changed(recap: &str, host: &str) -> u32 {
    recap
        .lines()
        .filter(|l| l.starts_with(host) && l.contains("changed="))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("changed="))
                .and_then(|n| n.parse().ok())
        })
        .next_back()
        .unwrap_or_else(|| panic!("no recap line for {host}:\n{recap}"))
}

fn state(h: &Booted) -> String {
    let out = h.exec(&["vipctl", "status", "--json"]);
    match serde_json::from_slice::<vipd_api::Status>(&out.stdout) {
        Ok(s) => format!("{:?}", s.instances[0].state).to_lowercase(),
        Err(_) => "unreachable".into(),
    }
}

/// Waits until web1 is master with the VIP and web2 backup without it.
fn settled(site: &Site, within: Duration) {
    let ok = wait_until(within, Duration::from_millis(100), || {
        state(&site.web1) == "master"
            && state(&site.web2) == "backup"
            && site.web1.host.has_addr(VIP)
            && !site.web2.host.has_addr(VIP)
    });
    assert!(
        ok,
        "not settled (web1 master, web2 backup) within {within:?}: web1 {}, web2 {}",
        state(&site.web1),
        state(&site.web2)
    );
}

/// Runs `action` while the client GETs the VIP; keeps going until `done` holds (at
/// most `within`) and one more second; returns what the client saw.
fn with_client(
    site: &Site,
    action: impl FnOnce(),
    done: impl Fn() -> bool,
    within: Duration,
) -> Seen {
    let mut getter = Getter::start(&site.client, VIP, Duration::from_secs(600));
    std::thread::sleep(Duration::from_millis(500));
    action();
    let ok = wait_until(within, Duration::from_millis(100), done);
    std::thread::sleep(Duration::from_secs(1));
    let samples = getter.stop();
    assert!(ok, "the expected end state did not come within {within:?}");
    assert!(
        samples.len() > 100,
        "the client made {} requests",
        samples.len()
    );
    seen(&samples)
}

fn boot_site() -> Site {
    let lan = Lan::new("oppath");
    let web1 = Booted::boot(lan.host_at("web1", 11));
    let web2 = Booted::boot(lan.host_at("web2", 12));
    let client = lan.host_at("client", 100);
    eprintln!(
        "booted web1 in {:.2} s, web2 in {:.2} s",
        web1.boot_time.as_secs_f64(),
        web2.boot_time.as_secs_f64()
    );
    let key = lan.dir().join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(made.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    for h in [&web1, &web2] {
        h.write("/root/.ssh/authorized_keys", &public, 0o600);
        h.write(
            "/var/www/html/index.html",
            &format!("served by {}\n", h.name()),
            0o644,
        );
        h.exec_ok(&["systemctl", "is-active", "nginx", "ssh"]);
    }
    Site {
        web1,
        web2,
        client,
        key,
        _lan: lan,
    }
}

fn sha256(h: &Booted, path: &str) -> String {
    h.exec_ok(&["sha256sum", path])
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// The package under test rebuilt with its revision bumped (`0.1.0-1` → `0.1.0-2`), as a
/// release of the same version would be.
fn bumped(deb: &Path, dir: &Path) -> PathBuf {
    let tree = dir.join("deb-tree");
    let _ = std::fs::remove_dir_all(&tree);
    let ok = Command::new("dpkg-deb")
        .arg("-R")
        .arg(deb)
        .arg(&tree)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "dpkg-deb -R");
    let control = tree.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).expect("control");
    let version = text
        .lines()
        .find_map(|l| l.strip_prefix("Version: "))
        .expect("a Version field")
        .to_string();
    let (upstream, revision) = version.rsplit_once('-').expect("a Debian revision");
    let next: u32 = revision.parse::<u32>().expect("a numeric revision") + 1;
    let text = text.replace(
        &format!("Version: {version}"),
        &format!("Version: {upstream}-{next}"),
    );
    std::fs::write(&control, text).expect("control");
    let out = dir.join(format!("vipd_{upstream}-{next}_amd64.deb"));
    let ok = Command::new("dpkg-deb")
        .args(["-b", "--root-owner-group"])
        .arg(&tree)
        .arg(&out)
        .output();
    assert!(ok.is_ok_and(|o| o.status.success()), "dpkg-deb -b");
    out
}

#[test]
fn ansible_deb_systemd_nginx_and_vipctl_as_an_operator_meets_them() {
    let _timing = exclusive();
    let mut site = boot_site();

    // ---- roll out ------------------------------------------------------------------
    let (ok, out) = site.play(&[]);
    assert!(ok, "the first play failed:\n{out}");
    for h in ["web1", "web2"] {
        assert!(
            changed(&out, h) > 0,
            "{h} unchanged by the first play:\n{out}"
        );
    }
    for h in site.hosts() {
        assert_eq!(
            h.exec_ok(&["systemctl", "is-active", "vipd"]).trim(),
            "active"
        );
        assert_eq!(
            h.exec_ok(&["stat", "-c", "%U:%G %a", "/etc/vipd/web.key"])
                .trim(),
            "vipd:vipd 600"
        );
    }
    settled(&site, Duration::from_secs(10));
    let journal = site.web1.journal(&["-u", "vipd"]);
    assert!(
        journal.contains("web: state changed from backup to master"),
        "web1's journal does not show the election:\n{journal}"
    );

    // ---- vipctl as the operator's users ----------------------------------------------
    let as_user = |h: &Booted, user: &str, args: &[&str]| {
        let mut all = vec!["runuser", "-u", user, "--", "vipctl"];
        all.extend_from_slice(args);
        h.exec(&all)
    };
    let viewer = as_user(&site.web1, "viewer", &["status"]);
    assert!(viewer.status.success(), "{viewer:?}");
    assert!(String::from_utf8_lossy(&viewer.stdout).contains("master"));
    let viewer2 = as_user(&site.web2, "viewer", &["status"]);
    assert!(String::from_utf8_lossy(&viewer2.stdout).contains("backup"));
    let cluster = as_user(&site.web1, "viewer", &["status", "--cluster"]);
    assert!(
        cluster.status.success(),
        "vipctl status --cluster flags something:\n{}",
        String::from_utf8_lossy(&cluster.stdout)
    );
    let refused = as_user(&site.web1, "viewer", &["maintenance", "on"]);
    assert!(
        !refused.status.success(),
        "a member of the socket group only may not put vipd in maintenance"
    );
    assert_eq!(state(&site.web1), "master");
    let seen_maint = with_client(
        &site,
        || {
            let on = as_user(&site.web1, "ops", &["maintenance", "on"]);
            assert!(on.status.success(), "ops: maintenance on: {on:?}");
        },
        || site.web2.host.has_addr(VIP) && !site.web1.host.has_addr(VIP),
        Duration::from_secs(5),
    );
    let off = as_user(&site.web1, "ops", &["maintenance", "off"]);
    assert!(off.status.success(), "ops: maintenance off: {off:?}");
    settled(&site, Duration::from_secs(10));
    eprintln!(
        "maintenance on: {} failed, {} cut at the move",
        seen_maint.lost.len(),
        seen_maint.cut
    );
    assert!(seen_maint.lost.is_empty(), "lost: {:#?}", seen_maint.lost);
    assert_eq!(seen_maint.servers, ["web1", "web2"]);

    // ---- nginx dies on the master ----------------------------------------------------
    let seen_nginx = with_client(
        &site,
        || {
            site.web1.exec_ok(&["pkill", "-KILL", "-x", "nginx"]);
        },
        || site.web2.host.has_addr(VIP) && !site.web1.host.has_addr(VIP),
        Duration::from_secs(5),
    );
    eprintln!(
        "nginx SIGKILLed on web1: {} failed, worst gap {:.3} s, then {:?}",
        seen_nginx.lost.len(),
        seen_nginx.gap,
        seen_nginx.servers
    );
    assert_eq!(seen_nginx.servers.last().map(String::as_str), Some("web2"));
    assert!(seen_nginx.gap < 1.0, "gap {:.3} s", seen_nginx.gap);
    site.web1.exec_ok(&["systemctl", "restart", "nginx"]);
    settled(&site, Duration::from_secs(10));

    // ---- planned stop and start of the master's vipd ---------------------------------
    let seen_stop = with_client(
        &site,
        || {
            site.web1.exec_ok(&["systemctl", "stop", "vipd"]);
        },
        || site.web2.host.has_addr(VIP) && !site.web1.host.has_addr(VIP),
        Duration::from_secs(5),
    );
    eprintln!(
        "systemctl stop vipd on web1: {} failed, {} cut at the move",
        seen_stop.lost.len(),
        seen_stop.cut
    );
    assert!(seen_stop.lost.is_empty(), "lost: {:#?}", seen_stop.lost);
    assert_eq!(seen_stop.servers, ["web1", "web2"]);
    let seen_start = with_client(
        &site,
        || {
            site.web1.exec_ok(&["systemctl", "start", "vipd"]);
        },
        || site.web1.host.has_addr(VIP) && !site.web2.host.has_addr(VIP),
        Duration::from_secs(10),
    );
    eprintln!(
        "systemctl start vipd on web1: {} failed, {} cut at the move",
        seen_start.lost.len(),
        seen_start.cut
    );
    assert!(seen_start.lost.is_empty(), "lost: {:#?}", seen_start.lost);
    settled(&site, Duration::from_secs(5));

    // ---- SIGKILL: ExecStopPost releases the VIP --------------------------------------
    let web1_events = site.web1.host.address_events();
    let web2_events = site.web2.host.address_events();
    let killed_at = epoch_now();
    site.web1.exec_ok(&[
        "systemctl",
        "kill",
        "--kill-who=main",
        "-s",
        "SIGKILL",
        "vipd",
    ]);
    let released = wait_deleted(&web1_events, VIP, killed_at, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("web1 kept the VIP after its vipd was SIGKILLed"));
    let taken = wait_added(&web2_events, VIP, killed_at, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("web2 did not take the VIP"));
    let single = released.t.max(taken.t) - killed_at;
    eprintln!(
        "SIGKILL of web1's vipd: released by ExecStopPost after {:.3} s, web2 holds it after {:.3} s",
        released.t - killed_at,
        taken.t - killed_at
    );
    assert!(single <= 1.0, "only web2 holds the VIP after {single:.3} s");
    // Restart=on-failure brings it back; it takes the VIP back (preempt).
    settled(&site, Duration::from_secs(10));

    // ---- restart ---------------------------------------------------------------------
    let seen_restart = with_client(
        &site,
        || {
            site.web1.exec_ok(&["systemctl", "restart", "vipd"]);
        },
        || {
            state(&site.web1) == "master"
                && site.web1.host.has_addr(VIP)
                && !site.web2.host.has_addr(VIP)
        },
        Duration::from_secs(10),
    );
    eprintln!(
        "systemctl restart vipd on web1: {} failed, {} cut at the move",
        seen_restart.lost.len(),
        seen_restart.cut
    );
    assert!(
        seen_restart.lost.is_empty(),
        "lost: {:#?}",
        seen_restart.lost
    );

    // ---- configuration changes through the role ----------------------------------------
    let transitions = |h: &Booted| {
        h.journal(&["-u", "vipd", "-o", "cat"])
            .matches("state changed")
            .count()
    };
    let before = transitions(&site.web1);
    let (ok, out) = site.play(&["vipd_log_level=debug"]);
    assert!(ok, "the play with a changed variable failed:\n{out}");
    // The file (validated, replaced) and the reload its handler ran: nothing else.
    assert_eq!(changed(&out, "web1"), 2, "{out}");
    assert!(
        out.contains("RUNNING HANDLER [vipd : Reload vipd]"),
        "{out}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        transitions(&site.web1),
        before,
        "the reload changed a state"
    );
    assert_eq!(state(&site.web1), "master");
    let (ok, out) = site.play(&["vipd_log_level=debug"]);
    assert!(ok, "{out}");
    assert_eq!(
        changed(&out, "web1"),
        0,
        "a second run changed something:\n{out}"
    );
    assert_eq!(
        changed(&out, "web2"),
        0,
        "a second run changed something:\n{out}"
    );
    let file_before = sha256(&site.web1, "/etc/vipd/vipd.yaml");
    let (ok, out) = site.play(&["vipd_log_level=debug", "vipd_priority=0"]);
    assert!(!ok, "a play with priority 0 succeeded:\n{out}");
    assert!(
        out.contains("priority"),
        "the failure does not name the field:\n{out}"
    );
    assert_eq!(sha256(&site.web1, "/etc/vipd/vipd.yaml"), file_before);
    assert_eq!(state(&site.web1), "master");

    // ---- package upgrade on the master -------------------------------------------------
    let next = bumped(&deb(), site.web1.host.dir());
    std::fs::copy(&next, site.web1.path("/root/vipd-next.deb")).expect("copy the package");
    let pid_before = site.web1.main_pid("vipd");
    let seen_upgrade = with_client(
        &site,
        || {
            site.web1.exec_ok(&["dpkg", "-i", "/root/vipd-next.deb"]);
        },
        || state(&site.web1) == "master" && site.web1.host.has_addr(VIP),
        Duration::from_secs(15),
    );
    let version = site
        .web1
        .exec_ok(&["dpkg-query", "-W", "-f", "${Version}", "vipd"]);
    eprintln!(
        "upgrade to {version} on web1: {} failed, {} cut at the move, served by {:?}",
        seen_upgrade.lost.len(),
        seen_upgrade.cut,
        seen_upgrade.servers
    );
    assert!(version.ends_with("-2"), "{version}");
    assert_ne!(
        site.web1.main_pid("vipd"),
        pid_before,
        "the upgrade did not restart vipd"
    );
    assert!(
        seen_upgrade.lost.is_empty(),
        "lost: {:#?}",
        seen_upgrade.lost
    );

    // ---- the master rebooted -----------------------------------------------------------
    settled(&site, Duration::from_secs(10));
    let mut getter = Getter::start(&site.client, VIP, Duration::from_secs(600));
    std::thread::sleep(Duration::from_millis(500));
    let shutdown = site.web1.reboot();
    let back = wait_until(Duration::from_secs(30), Duration::from_millis(100), || {
        state(&site.web1) == "master" && site.web1.host.has_addr(VIP)
    });
    std::thread::sleep(Duration::from_secs(1));
    let samples = getter.stop();
    assert!(
        back,
        "web1 did not take the VIP back after its reboot: {}",
        state(&site.web1)
    );
    let reboot = seen(&samples);
    eprintln!(
        "reboot of web1 (shutdown {:.2} s, boot {:.2} s): {} failed, served by {:?}",
        shutdown.as_secs_f64(),
        site.web1.boot_time.as_secs_f64(),
        reboot.lost.len(),
        reboot.servers
    );
    assert!(reboot.lost.is_empty(), "lost: {:#?}", reboot.lost);
    // Once to web2 and back, no flapping.
    assert_eq!(reboot.servers, ["web1", "web2", "web1"]);
    let after_boot = site.web1.journal(&["-b", "-u", "vipd", "-o", "cat"]);
    let changes: Vec<&str> = after_boot
        .lines()
        .filter(|l| l.contains("state changed"))
        .collect();
    eprintln!("web1 after the reboot: {changes:#?}");
    assert_eq!(
        changes.iter().filter(|l| l.contains("to master")).count(),
        1,
        "web1 became master more than once after the reboot: {changes:#?}"
    );
}
