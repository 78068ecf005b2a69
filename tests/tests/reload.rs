//! SIGHUP reload: vipd re-reads the file given by `--config`.
//!
//! What reload must do:
//! - a broken file (YAML syntax error, or a bad value such as `vrid: 0`) is refused:
//!   vipd keeps running with the old configuration and logs `reload refused` with the
//!   file's path and the line at fault; nothing changes (state, VIPs, `transitions`);
//! - an instance whose name, interface, VRID, version and VIPs are unchanged but whose
//!   priority, advert_interval, preempt, preempt_delay, garp or checksum changed is
//!   updated in place: no state change, no transition, the VIP never leaves a master,
//!   and its next adverts carry the new priority and interval. A master lowered below a
//!   preempting backup loses to it as VRRP says: the backup discards the lower-priority
//!   adverts and takes over when its Master_Down_Timer runs out;
//! - an instance whose VIPs, VRID, interface or version changed, or that was removed,
//!   leaves gracefully (a master sends priority 0 and removes its VIPs); new and
//!   changed ones start as at start-up;
//! - `configuration reloaded` is logged with the counts `removed`, `added`, `updated`
//!   and `kept`.
//!
//! Every test starts from the same LAN: routers a (192.0.2.11, web priority 150) and b
//! (192.0.2.12, web priority 100) and a client (192.0.2.100); instance web is VRID 51
//! with VIP 192.0.2.50/24, default settings (VRRPv3, 200 ms). Then each reloads in its
//! own way:
//!
//! | test                                   | reload                                    |
//! | -------------------------------------- | ----------------------------------------- |
//! | `reload_refuses_broken_config`         | a: syntax error, `vrid: 0`, then the same |
//! | `reload_updates_in_place`              | a: web 160 at 300 ms, then web 90         |
//! | `reload_adds_and_removes_instance`     | a, b: + api (VRID 52); then a: − api      |
//! | `reload_lower_priority_hands_over`     | a: web 90                                 |

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use vipd_api::{InstanceStatus, State};
use vipd_e2e::events::{is_addition, is_deletion, wait_added, wait_deleted};
use vipd_e2e::lan::{instance, CONFIG_PREAMBLE_LINES};
use vipd_e2e::{
    assert_vipctl_agrees, describe_all, epoch_now, exclusive, master_down_ms, skew_ms, start_pair,
    vipd_yaml, wait_until, Host, Lan, Monitor, Pinger, TimingLock, VipdInstance, VIP4, VIP4_CIDR,
};

const API_VIP: &str = "192.0.2.52/24";
const API_ADDR: &str = "192.0.2.52";
/// How long vipd may take to act on SIGHUP and log the outcome.
const RELOAD_LOG: Duration = Duration::from_secs(2);

fn web(priority: u8) -> VipdInstance {
    VipdInstance::new("web", 51, &[VIP4_CIDR]).priority(priority)
}

fn api(priority: u8) -> VipdInstance {
    VipdInstance::new("api", 52, &[API_VIP]).priority(priority)
}

fn config(instances: &[VipdInstance]) -> String {
    vipd_yaml(Some("debug"), instances)
}

fn ms(seconds: f64) -> f64 {
    seconds * 1e3
}

/// The routers and the client, and the routers' address events from step 1 on. Hosts
/// are declared before the LAN so they are torn down first; the hold on the test binary's
/// timing-critical section ([`exclusive`]) goes last.
struct Net {
    /// `ip monitor address` on a's eth0.
    a_events: Monitor,
    /// `ip monitor address` on b's eth0.
    b_events: Monitor,
    a: Host,
    b: Host,
    client: Host,
    _lan: Lan,
    _serial: TimingLock,
}

/// Step 1 of every test: a (web 150) master with the VIP, b (web 100) backup. The
/// files [`start_pair`] starts them with say exactly what `config(&[web(150)])` and
/// `config(&[web(100)])` say.
fn setup(id: &str) -> Net {
    let serial = exclusive();
    let lan = Lan::new(id);
    let client = lan.host_at("client", 100);
    let (a, b) = start_pair(&lan, VIP4_CIDR);
    Net {
        a_events: a.address_events(),
        b_events: b.address_events(),
        a,
        b,
        client,
        _lan: lan,
        _serial: serial,
    }
}

/// Instance `name` of `h`'s status; panics (with everything) if vipd lacks it.
fn inst(h: &Host, name: &str) -> InstanceStatus {
    let st = h.status();
    match instance(&st, name) {
        Some(i) => i.clone(),
        None => panic!(
            "vipd on {} has no instance {name}:\n{}",
            h.name,
            describe_all(&[h])
        ),
    }
}

/// Instance `name` of `h`'s status, if vipd answers and has it.
fn try_inst(h: &Host, name: &str) -> Option<InstanceStatus> {
    h.try_status()
        .ok()
        .and_then(|s| instance(&s, name).cloned())
}

/// Waits until `master` is master of instance `name` holding `vip` and `backup` is
/// backup of it without `vip`.
fn wait_instance_roles(
    master: &Host,
    backup: &Host,
    name: &str,
    vip: &str,
    timeout: Duration,
) -> bool {
    wait_until(timeout, Duration::from_millis(20), || {
        try_inst(master, name).is_some_and(|i| i.state == State::Master)
            && try_inst(backup, name).is_some_and(|i| i.state == State::Backup)
            && master.has_addr(vip)
            && !backup.has_addr(vip)
    })
}

/// The `key=value` counts of a `configuration reloaded` line.
fn counts(line: &str) -> BTreeMap<String, u64> {
    line.split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// Sends SIGHUP and expects the reload to be accepted; returns the log line.
fn reload_ok(h: &Host) -> String {
    match h.reload_vipd_and_wait(RELOAD_LOG) {
        Ok(line) => line,
        Err(line) => panic!(
            "{}: reload of {} refused: {line}\nfile:\n{}",
            h.name,
            h.vipd_config_path().unwrap_or_default().display(),
            read(&h.vipd_config_path().unwrap_or_default())
        ),
    }
}

/// [`reload_ok`], and the `configuration reloaded` line must count `[removed, added,
/// updated, kept]` instances.
fn reload_counted(h: &Host, want: [u64; 4]) -> String {
    let line = reload_ok(h);
    let c = counts(&line);
    for (k, v) in ["removed", "added", "updated", "kept"]
        .into_iter()
        .zip(want)
    {
        assert_eq!(
            c.get(k),
            Some(&v),
            "{}: `configuration reloaded` should say {k}={v}: {line}",
            h.name
        );
    }
    line
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("cannot read {}: {e}", p.display()))
}

/// A VRRP advert as `tcpdump -n -tt` prints it:
/// `<t> IP 192.0.2.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 20cs, ...`.
#[derive(Debug, Clone)]
struct Advert {
    t: f64,
    src: String,
    vrid: u8,
    prio: u8,
    intvl_cs: u16,
}

fn field<T: std::str::FromStr>(text: &str, key: &str) -> Option<T> {
    let rest = &text[text.find(key)? + key.len()..];
    let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
    num.parse().ok()
}

fn parse_advert(text: &str) -> Option<Advert> {
    let mut w = text.split_whitespace();
    let t = w.next()?.parse().ok()?;
    if w.next()? != "IP" {
        return None;
    }
    let src = w.next()?.to_string();
    if !text.contains("VRRP") || !text.contains("Advertisement") {
        return None;
    }
    Some(Advert {
        t,
        src,
        vrid: field(text, "vrid ")?,
        prio: field(text, "prio ")?,
        intvl_cs: field(text, "intvl ")?,
    })
}

/// VRRP over IPv4 as `h` receives it on eth0, with kernel timestamps.
fn vrrp_capture(h: &Host) -> Monitor {
    let m = h.monitor(&["tcpdump", "-i", "eth0", "-n", "-tt", "-l", "ip proto 112"]);
    assert!(
        m.wait_for(Duration::from_secs(5), |l| l.stderr
            && l.text.contains("listening on"))
            .is_some(),
        "tcpdump on {} did not start: {:?}",
        h.name,
        m.lines().iter().map(|l| &l.text).collect::<Vec<_>>()
    );
    m
}

/// The adverts for `vrid` from `src` captured after `since`.
fn adverts(m: &Monitor, src: &str, vrid: u8, since: f64) -> Vec<Advert> {
    m.lines()
        .iter()
        .filter(|l| !l.stderr)
        .filter_map(|l| parse_advert(&l.text))
        .filter(|a| a.src == src && a.vrid == vrid && a.t > since)
        .collect()
}

/// Waits up to 1 s for the first advert for `vrid` from `src` captured after `since`
/// (the capture's lines are read a little after the packets).
fn first_advert(m: &Monitor, src: &str, vrid: u8, since: f64) -> Option<Advert> {
    m.wait_for(Duration::from_secs(1), |l| {
        !l.stderr
            && parse_advert(&l.text).is_some_and(|a| a.src == src && a.vrid == vrid && a.t > since)
    })
    .and_then(|l| parse_advert(&l.text))
}

/// Lines of `h`'s vipd log that mention a reload, for failure messages.
fn reload_log(h: &Host) -> String {
    h.vipd_log()
        .lines()
        .filter(|l| l.contains("reload") || l.contains("state changed") || l.contains("SIGHUP"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- step 2 ---------------------------------------------------------------------

/// A refused reload: vipd is still the same process, logged `reload refused` with the
/// file and `line`, and nothing changed.
fn refused(a: &Host, what: &str, yaml: &str, marker: &str) {
    let path = a.rewrite_vipd_config(yaml);
    let text = read(&path);
    let Some(line) = text.lines().position(|l| l.contains(marker)).map(|i| i + 1) else {
        panic!("{what}: marker {marker:?} is not in the file:\n{text}");
    };
    assert_eq!(
        yaml.lines().position(|l| l.contains(marker)).map(|i| i + 1),
        line.checked_sub(CONFIG_PREAMBLE_LINES),
        "the harness's preamble"
    );
    let pid = a.vipd_pid();
    let started = epoch_now();
    let outcome = a.reload_vipd_and_wait(RELOAD_LOG);
    let logged = ms(epoch_now() - started);
    let msg = match outcome {
        Err(line) => line,
        Ok(line) => panic!(
            "{what}: vipd accepted a broken file ({line});\nfile {}:\n{text}",
            path.display()
        ),
    };
    println!("{what}: refused after {logged:.1} ms: {msg}");
    let at = format!("{}:{line}:", path.display());
    assert!(
        msg.contains(&at),
        "{what}: the `reload refused` line should name {at} (the broken line {line}: {:?}): \
         {msg}\nfile:\n{text}",
        text.lines().nth(line - 1).unwrap_or_default()
    );
    assert!(
        a.vipd_running(),
        "{what}: vipd on a exited after a refused reload; log:\n{}",
        a.vipd_log()
    );
    assert_eq!(a.vipd_pid(), pid);
    assert_eq!(
        a.status().pid,
        pid.unwrap_or_default(),
        "{what}: another process answers on a's control socket"
    );
}

/// Steps 1 and 2: broken files are refused and change nothing; then the original
/// file reloads cleanly and still changes nothing.
#[test]
fn reload_refuses_broken_config() {
    let net = setup("rlbad");
    let (a, b) = (&net.a, &net.b);
    let both = [a, b];
    let a0 = inst(a, "web");
    let b0 = inst(b, "web");
    let t0 = epoch_now();

    // A YAML syntax error: a mapping value where none is allowed.
    let good = config(&[web(150)]);
    let syntax = good.replace("priority: 150", "priority: 150: 160");
    assert_ne!(syntax, good);
    refused(a, "syntax error", &syntax, "150: 160");
    // Well-formed YAML with a value out of range.
    let vrid0 = good.replace("vrid: 51", "vrid: 0");
    assert_ne!(vrid0, good);
    refused(a, "vrid: 0", &vrid0, "vrid: 0");

    // Longer than b's Master_Down_Interval (721.875 ms): had a stopped advertising,
    // b would have taken over by now.
    std::thread::sleep(Duration::from_millis(1000));
    let a1 = inst(a, "web");
    let b1 = inst(b, "web");
    let state = describe_all(&both);
    assert_eq!(a1.state, State::Master, "a after refused reloads:\n{state}");
    assert!(a.has_addr(VIP4), "a lost the VIP:\n{state}");
    assert!(!b.has_addr(VIP4), "b has the VIP:\n{state}");
    assert_eq!(b1.state, State::Backup, "{state}");
    assert_eq!(a1.transitions, a0.transitions, "a's web made a transition");
    assert_eq!(b1.transitions, b0.transitions, "b's web made a transition");
    assert!(
        a1.in_state_s > a0.in_state_s,
        "a's time in state went back: {} s → {} s",
        a0.in_state_s,
        a1.in_state_s
    );
    assert_eq!(a1.priority_configured, 150);
    assert_eq!(a1.vrid, 51);
    assert_eq!(b1.master_address.as_deref(), Some(a.ipv4.as_str()));
    assert_eq!(b1.master_priority, Some(150));
    let a_addr: Vec<String> = net.a_events.lines().into_iter().map(|l| l.text).collect();
    assert!(
        !net.a_events.lines().iter().any(|l| is_deletion(l, VIP4)),
        "a deleted the VIP during refused reloads: {a_addr:#?}"
    );
    assert!(
        !net.b_events.lines().iter().any(|l| is_addition(l, VIP4)),
        "b added the VIP during a's refused reloads"
    );
    assert_vipctl_agrees(&both);

    // The original file again: accepted, and it changes nothing either.
    a.rewrite_vipd_config(&good);
    let line = reload_counted(a, [0, 0, 0, 1]);
    println!("same file again: {line}");
    std::thread::sleep(Duration::from_millis(1000));
    let a2 = inst(a, "web");
    let b2 = inst(b, "web");
    let state = describe_all(&both);
    assert_eq!(a2.state, State::Master, "{state}");
    assert_eq!(a2.transitions, a0.transitions, "{state}");
    assert_eq!(b2.transitions, b0.transitions, "{state}");
    assert!(a2.in_state_s > a1.in_state_s, "{state}");
    assert!(
        !net.a_events.lines().iter().any(|l| is_deletion(l, VIP4)),
        "a deleted the VIP on reloading an unchanged file"
    );
    assert_vipctl_agrees(&both);
    println!(
        "reload_refuses_broken_config: a web transitions {} throughout, in state {:.1} s → \
         {:.1} s since {t0:.3}",
        a0.transitions, a0.in_state_s, a2.in_state_s
    );
}

// ---- step 3 ---------------------------------------------------------------------

/// Steps 1 and 3: a's web to priority 160 at 300 ms in place (a stays master, keeps
/// the VIP, makes no transition; its adverts change), then to priority 90 in place,
/// after which b (100, preempting) discards a's adverts and takes over when its
/// Master_Down_Timer, computed from the learned 300 ms, runs out.
#[test]
fn reload_updates_in_place() {
    let net = setup("rlinplace");
    let (a, b, client) = (&net.a, &net.b, &net.client);
    let both = [a, b];
    let capture = vrrp_capture(b);
    let ping = Pinger::start_replying(client, VIP4, Duration::from_secs(60), 100);
    let a0 = inst(a, "web");
    let b0 = inst(b, "web");
    assert_eq!(a0.advert_interval_ms, 200);
    assert_eq!(b0.master_priority, Some(150));

    // 3a. Priority 160, advert_interval 300ms.
    a.rewrite_vipd_config(&config(&[web(160).advert_interval("300ms")]));
    let t0 = epoch_now();
    let line = reload_ok(a);
    let logged = ms(epoch_now() - t0);

    // Watch a and b until b has followed the new adverts (or 2 s have passed), and for
    // at least a Master_Down_Interval, long enough for a lost master to have been
    // replaced.
    let mut a_not_master = Vec::new();
    let mut b_saw_160: Option<f64> = None;
    let mut samples = 0;
    wait_until(
        Duration::from_millis(2500),
        Duration::from_millis(10),
        || {
            samples += 1;
            let now = epoch_now();
            match try_inst(a, "web") {
                Some(i) if i.state == State::Master => {}
                other => a_not_master.push(format!(
                    "+{:.0} ms: {}",
                    ms(now - t0),
                    other.map_or("no web instance".into(), |i| format!(
                        "{} ({}), transitions {}",
                        i.state.as_str(),
                        i.reason,
                        i.transitions
                    ))
                )),
            }
            if b_saw_160.is_none()
                && try_inst(b, "web").is_some_and(|i| {
                    i.master_priority == Some(160)
                        && i.master_address.as_deref() == Some("192.0.2.11")
                })
            {
                b_saw_160 = Some(now - t0);
            }
            let new_adverts = adverts(&capture, "192.0.2.11", 51, t0)
                .iter()
                .filter(|x| x.prio == 160)
                .count();
            b_saw_160.is_some() && new_adverts >= 4 && now - t0 >= 1.0
        },
    );
    let window = ms(epoch_now() - t0);
    let a1 = inst(a, "web");
    let b1 = inst(b, "web");
    let seen = adverts(&capture, "192.0.2.11", 51, t0);

    let mut problems = Vec::new();
    let c = counts(&line);
    for (k, v) in [("removed", 0), ("added", 0), ("updated", 1), ("kept", 0)] {
        if c.get(k) != Some(&v) {
            problems.push(format!(
                "`configuration reloaded` should say {k}={v}: {line}"
            ));
        }
    }
    for l in net.a_events.lines() {
        if is_deletion(&l, VIP4) {
            problems.push(format!(
                "a deleted the VIP +{:.1} ms after SIGHUP: {}",
                ms(l.t - t0),
                l.text
            ));
        }
    }
    for l in net.b_events.lines() {
        if is_addition(&l, VIP4) {
            problems.push(format!(
                "b added the VIP +{:.1} ms after SIGHUP: {}",
                ms(l.t - t0),
                l.text
            ));
        }
    }
    if !a_not_master.is_empty() {
        let n = a_not_master.len();
        let shown = if n > 6 {
            format!(
                "{}; ...; {}",
                a_not_master[..3].join("; "),
                a_not_master[n - 3..].join("; ")
            )
        } else {
            a_not_master.join("; ")
        };
        problems.push(format!(
            "a's web was not master in {n} of {samples} polls: {shown}"
        ));
    }
    if a1.transitions != a0.transitions {
        problems.push(format!(
            "a's web transitions {} → {}",
            a0.transitions, a1.transitions
        ));
    }
    if a1.in_state_s < a0.in_state_s {
        problems.push(format!(
            "a's web time in state restarted: {:.3} s before, {:.3} s after",
            a0.in_state_s, a1.in_state_s
        ));
    }
    if b1.transitions != b0.transitions {
        problems.push(format!(
            "b's web transitions {} → {}",
            b0.transitions, b1.transitions
        ));
    }
    if a1.priority_configured != 160 || a1.advert_interval_ms != 300 {
        problems.push(format!(
            "a's status says priority {} interval {} ms, not 160 and 300",
            a1.priority_configured, a1.advert_interval_ms
        ));
    }
    // b follows a's new interval (VRRPv3 backups learn the master's).
    if b1.master_advert_interval_ms != Some(300) || a1.master_advert_interval_ms != Some(300) {
        problems.push(format!(
            "master advert interval: b says {:?} ms, a says {:?} ms, not 300",
            b1.master_advert_interval_ms, a1.master_advert_interval_ms
        ));
    }
    match b_saw_160 {
        Some(t) if t <= 2.0 => {}
        Some(t) => problems.push(format!(
            "b's status showed master 192.0.2.11 priority 160 only after {:.0} ms",
            ms(t)
        )),
        None => problems.push(format!(
            "b's status never showed master 192.0.2.11 priority 160 in {window:.0} ms: \
             master {:?} priority {:?}",
            b1.master_address, b1.master_priority
        )),
    }
    if let Some(x) = seen.iter().find(|x| x.prio != 160 && x.prio != 150) {
        problems.push(format!(
            "a sent an advert with priority {} +{:.1} ms after SIGHUP (a leaving sends 0)",
            x.prio,
            ms(x.t - t0)
        ));
    }
    let new: Vec<&Advert> = seen.iter().filter(|x| x.prio == 160).collect();
    if let Some(first) = new.first() {
        if ms(first.t - t0) > 400.0 {
            problems.push(format!(
                "a's first priority-160 advert came {:.1} ms after SIGHUP (an advert interval \
                 is at most 300 ms)",
                ms(first.t - t0)
            ));
        }
        if let Some(x) = new.iter().find(|x| x.intvl_cs != 30) {
            problems.push(format!(
                "a's priority-160 advert at +{:.1} ms says interval {} cs, not 30",
                ms(x.t - t0),
                x.intvl_cs
            ));
        }
        if let Some(x) = seen.iter().find(|x| x.t > first.t && x.prio != 160) {
            problems.push(format!(
                "after the first priority-160 advert a sent priority {} at +{:.1} ms",
                x.prio,
                ms(x.t - t0)
            ));
        }
    } else {
        problems.push(format!(
            "b captured no priority-160 advert from a in {window:.0} ms"
        ));
    }
    // The first gap may be shorter if the change itself triggers an advert; after that
    // they are the new interval.
    let gaps: Vec<f64> = new.windows(2).map(|w| ms(w[1].t - w[0].t)).collect();
    if let Some(g) = gaps.iter().skip(1).find(|g| !(250.0..=350.0).contains(*g)) {
        problems.push(format!(
            "a's priority-160 adverts are not 300 ms apart: {g:.1} ms (all gaps {gaps:.1?})"
        ));
    }
    ping.assert_replies(
        20,
        Duration::from_secs(3),
        "the client's pings stopped after the reload",
    );
    // The pinger keeps going for step 3b; its replies so far are read at the end.

    if !problems.is_empty() {
        let seen_text: Vec<String> = seen
            .iter()
            .map(|x| {
                format!(
                    "+{:.1} ms prio {} intvl {}cs",
                    ms(x.t - t0),
                    x.prio,
                    x.intvl_cs
                )
            })
            .collect();
        let report = ping.stop();
        panic!(
            "in-place update of a's web (priority 150 → 160, advert_interval 200ms → 300ms) \
             was not hitless:\n- {}\nping: longest gap after SIGHUP {:.1} ms; {report}\n\
             a's adverts seen by b since SIGHUP: {seen_text:?}\n\
             capture (last lines): {:?}\n\
             now:\n{}\na's log (reload and state lines):\n{}\nb's log (reload and state \
             lines):\n{}",
            problems.join("\n- "),
            report.longest_gap_after_ms(t0),
            capture
                .lines()
                .iter()
                .rev()
                .take(4)
                .map(|l| l.text.clone())
                .collect::<Vec<_>>(),
            describe_all(&both),
            reload_log(a),
            reload_log(b)
        );
    }
    println!(
        "3a: logged {logged:.1} ms after SIGHUP ({line}); b showed priority 160 after \
         {:.1} ms; first 160/30cs advert +{:.1} ms; advert gaps {gaps:.1?} ms; window \
         {window:.0} ms, {samples} polls",
        ms(b_saw_160.unwrap_or_default()),
        new.first().map_or(f64::NAN, |x| ms(x.t - t0))
    );
    assert_vipctl_agrees(&both);

    // 3b. Priority 90 (still 300 ms): b (100, preempting) discards a's adverts from now
    // on and takes over a Master_Down_Interval after the last one it accepted. b learned
    // a's 300 ms, so that is 3 × 300 + (256 − 100) × 300 / 256 = 1082.8 ms, not the
    // 721.9 ms of b's own 200 ms: the takeover time confirms the learned interval the
    // status showed.
    let mdi = master_down_ms(100, 300.0);
    a.rewrite_vipd_config(&config(&[web(90).advert_interval("300ms")]));
    let t1 = epoch_now();
    let line = reload_counted(a, [0, 0, 1, 0]);
    let Some(added) = wait_added(&net.b_events, VIP4, t1, Duration::from_secs(3)) else {
        panic!(
            "b did not take the VIP within 3 s of a's priority dropping to 90:\n{}\na's \
             log:\n{}",
            describe_all(&both),
            reload_log(a)
        );
    };
    assert!(
        wait_instance_roles(b, a, "web", VIP4, Duration::from_secs(2)),
        "after b took over, a should be backup without the VIP:\n{}",
        describe_all(&both)
    );
    // b, a silent backup until then, took over when it sent its first advert: a
    // capture time in b's namespace, like a's adverts (its `ip monitor` line is stamped
    // when the harness read it, not a bound).
    let Some(b_first) = first_advert(&capture, &b.ipv4, 51, t1) else {
        panic!(
            "b added the VIP but its capture shows no advert from it since SIGHUP; a's \
             log:\n{}",
            reload_log(a)
        );
    };
    let seen = adverts(&capture, "192.0.2.11", 51, t1 - 1.0);
    let Some(last_accepted) = seen.iter().rev().find(|x| x.t < b_first.t && x.prio >= 100) else {
        panic!("no advert of a's above 100 captured before b's takeover: {seen:?}");
    };
    let lower: Vec<&Advert> = seen
        .iter()
        .filter(|x| x.t > last_accepted.t && x.t < b_first.t)
        .collect();
    let takeover = ms(b_first.t - last_accepted.t);
    let since_sighup = ms(b_first.t - t1);
    let a_deleted = net
        .a_events
        .lines()
        .into_iter()
        .find(|l| l.t >= t1 && is_deletion(l, VIP4));
    println!(
        "3b: {line}; b took over (its first advert) {since_sighup:.1} ms after SIGHUP, \
         {takeover:.1} ms after a's last priority-160 advert (Master_Down_Interval at 300 ms \
         {mdi:.1} ms; `ip monitor` read b's VIP at +{:.1} ms); a sent {} priority-90 adverts \
         before that; a deleted the VIP {} ms after b added it",
        ms(added.t - last_accepted.t),
        lower.len(),
        a_deleted
            .as_ref()
            .map_or("never".into(), |d| format!("{:.1}", ms(d.t - added.t)))
    );
    assert!(
        lower.iter().all(|x| x.prio == 90),
        "between b's last accepted advert and its takeover a should have sent priority 90: \
         {lower:?}"
    );
    assert!(
        !lower.is_empty(),
        "a sent nothing between b's last accepted advert and b's takeover: b took over \
         after {takeover:.1} ms"
    );
    assert!(
        takeover >= mdi - 30.0 && takeover <= mdi + 250.0,
        "b took over {takeover:.1} ms after the last advert it accepted; expected the \
         Master_Down_Interval from the learned 300 ms, {mdi:.1} ms (from b's own 200 ms \
         it would be {:.1} ms; priority 0 would give Skew_Time {:.1} ms)",
        master_down_ms(100, 200.0),
        skew_ms(100, 300.0)
    );
    match &a_deleted {
        Some(d) => assert!(
            d.t >= added.t - 0.005,
            "a removed the VIP {:.1} ms before b added it: a master must keep it until \
             it hears a better master",
            ms(added.t - d.t)
        ),
        None => panic!("a, now backup, kept the VIP:\n{}", describe_all(&both)),
    }
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "pings did not continue after b took over",
    );
    let report = ping.stop();
    let gap_3a = report.longest_gap_after_ms(t0);
    let gap_3b = report.longest_gap_after_ms(t1);
    println!("pings: longest gap from 3a on {gap_3a:.1} ms, from 3b on {gap_3b:.1} ms; {report}");
    assert!(
        gap_3a <= 100.0,
        "the client's longest ping gap after the in-place updates was {gap_3a:.1} ms: {report}"
    );
    let a2 = inst(a, "web");
    assert_eq!(
        a2.transitions,
        a0.transitions + 1,
        "a's web should have made exactly one transition (master → backup):\n{}",
        describe_all(&both)
    );
    assert_eq!(a2.priority_configured, 90);
    assert_vipctl_agrees(&both);
}

// ---- step 4 ---------------------------------------------------------------------

/// Steps 1 and 4: instance api is added on both routers by reload, web untouched; then
/// removed from a, which leaves gracefully (priority 0), so b takes api at Skew_Time.
#[test]
fn reload_adds_and_removes_instance() {
    let net = setup("rladd");
    let (a, b) = (&net.a, &net.b);
    let both = [a, b];
    let aw0 = inst(a, "web");
    let bw0 = inst(b, "web");

    a.rewrite_vipd_config(&config(&[web(150), api(150)]));
    b.rewrite_vipd_config(&config(&[web(100), api(100)]));
    let t0 = epoch_now();
    let la = reload_counted(a, [0, 1, 0, 1]);
    let lb = reload_counted(b, [0, 1, 0, 1]);
    println!("api added: a: {la}\nb: {lb}");
    assert!(
        wait_instance_roles(a, b, "api", API_ADDR, Duration::from_secs(5)),
        "after adding api, a (150) should be its master and b (100) its backup:\n{}",
        describe_all(&both)
    );
    println!(
        "api: a master with {API_ADDR} {:.1} ms after the SIGHUPs",
        ms(epoch_now() - t0)
    );
    let aw1 = inst(a, "web");
    let bw1 = inst(b, "web");
    let state = describe_all(&both);
    assert_eq!(aw1.state, State::Master, "{state}");
    assert_eq!(aw1.transitions, aw0.transitions, "a's web moved:\n{state}");
    assert_eq!(bw1.transitions, bw0.transitions, "b's web moved:\n{state}");
    assert!(aw1.in_state_s > aw0.in_state_s, "{state}");
    assert!(
        !net.a_events.lines().iter().any(|l| is_deletion(l, VIP4))
            && !net.b_events.lines().iter().any(|l| is_addition(l, VIP4)),
        "web's VIP moved while api was added: a {:?}, b {:?}",
        net.a_events
            .lines()
            .iter()
            .map(|l| &l.text)
            .collect::<Vec<_>>(),
        net.b_events
            .lines()
            .iter()
            .map(|l| &l.text)
            .collect::<Vec<_>>()
    );
    assert!(
        wait_until(Duration::from_secs(1), Duration::from_millis(10), || {
            try_inst(b, "api").is_some_and(|i| i.master_priority == Some(150))
        }),
        "b's api does not follow a's:\n{}",
        describe_all(&both)
    );
    let aa1 = inst(a, "api");
    let ba1 = inst(b, "api");
    assert_eq!(aa1.state, State::Master);
    assert_eq!(ba1.master_address.as_deref(), Some(a.ipv4.as_str()));
    assert_eq!(ba1.master_priority, Some(150));
    assert_vipctl_agrees(&both);

    // api leaves a: priority 0, VIP removed; b takes over at Skew_Time. Without the
    // priority 0, b would take over when its Master_Down_Timer runs out: 721.875 ms
    // after a's last api advert, which came at most 200 ms before SIGHUP, so no sooner
    // than 521.875 ms after SIGHUP. The limits below are well short of that.
    let skew = skew_ms(100, 200.0);
    let earliest_master_down = master_down_ms(100, 200.0) - 200.0;
    // SIGHUP to the priority-0 advert on the wire: reading the file, planning, sending.
    let leave_limit = 150.0;
    // The priority-0 advert to b's VIP: Skew_Time, then adding the VIP and the
    // monitor's report of it.
    let after_p0_limit = skew + 60.0;
    // SIGHUP to b's VIP: both together, still 100 ms short of any Master_Down takeover.
    let limit = skew + 250.0;
    assert!(limit + 100.0 < earliest_master_down);
    let capture = vrrp_capture(b);
    a.rewrite_vipd_config(&config(&[web(150)]));
    let t1 = epoch_now();
    let line = reload_counted(a, [1, 0, 0, 1]);
    println!("api removed from a: {line}");
    let Some(added) = wait_added(&net.b_events, API_ADDR, t1, Duration::from_secs(3)) else {
        panic!(
            "b did not take api's VIP within 3 s of api leaving a:\n{}",
            describe_all(&both)
        );
    };
    let a_deleted =
        wait_deleted(&net.a_events, API_ADDR, t1, Duration::from_secs(1)).map(|l| ms(l.t - t1));
    // What a sent for api (VRID 52) from SIGHUP on, as b received it; a moment more for
    // anything a might still send after leaving.
    std::thread::sleep(Duration::from_millis(500));
    let sent = adverts(&capture, &a.ipv4, 52, t1);
    let p0 = sent.iter().find(|x| x.prio == 0).cloned();
    // b took api over when it sent its first api advert (it was a silent backup): a
    // capture time, like a's priority 0 (its `ip monitor` line is stamped when read).
    let Some(b_first) = first_advert(&capture, &b.ipv4, 52, t1) else {
        panic!(
            "b added api's VIP but its capture shows no api advert from it since SIGHUP; \
             a's api adverts: {sent:?}"
        );
    };
    let takeover = ms(b_first.t - t1);
    println!(
        "api: a removed {API_ADDR} {} ms, sent priority 0 {} ms, b advertised api {takeover:.1} \
         ms and `ip monitor` read its VIP at {:.1} ms after SIGHUP (Skew_Time {skew:.3} ms; limits: priority 0 within \
         {leave_limit} ms, VIP {after_p0_limit:.1} ms after it and {limit:.1} ms after \
         SIGHUP; a Master_Down takeover would come {earliest_master_down:.1} ms at the \
         earliest); a's api adverts since SIGHUP: {:?}",
        a_deleted.map_or("(not seen)".into(), |d| format!("{d:.1}")),
        p0.as_ref()
            .map_or("(not seen)".into(), |p| format!("{:.1}", ms(p.t - t1))),
        ms(added.t - t1),
        sent.iter()
            .map(|x| format!("+{:.1} ms prio {}", ms(x.t - t1), x.prio))
            .collect::<Vec<_>>()
    );
    assert!(
        a_deleted.is_some() && !a.has_addr(API_ADDR),
        "a kept api's VIP after api was removed:\n{}",
        describe_all(&both)
    );
    let Some(p0) = p0 else {
        panic!(
            "b captured no priority-0 advert for api (VRID 52) from a after SIGHUP: a \
             leaving master must send one; a's api adverts since: {sent:?}\na's log:\n{}",
            reload_log(a)
        );
    };
    assert!(
        sent.iter().all(|x| x.prio == 150 || x.prio == 0) && sent.last().map(|x| x.prio) == Some(0),
        "a's last api advert must be its priority 0, and it sends nothing for api after it: \
         {sent:?}"
    );
    assert_eq!(
        sent.iter().filter(|x| x.prio == 0).count(),
        1,
        "a sent more than one priority-0 advert for api: {sent:?}"
    );
    let leave = ms(p0.t - t1);
    assert!(
        leave <= leave_limit,
        "a sent its priority-0 advert for api {leave:.1} ms after SIGHUP (limit \
         {leave_limit} ms)"
    );
    let after_p0 = ms(b_first.t - p0.t);
    assert!(
        after_p0 >= skew - 10.0,
        "b took api {after_p0:.1} ms after a's priority 0, before Skew_Time {skew:.3} ms"
    );
    assert!(
        after_p0 <= after_p0_limit,
        "b took api {after_p0:.1} ms after a's priority-0 advert: a backup hearing \
         priority 0 takes over at Skew_Time {skew:.3} ms (limit {after_p0_limit:.1} ms)"
    );
    assert!(
        takeover <= limit,
        "b took api {takeover:.1} ms after SIGHUP: a leaving master sends priority 0 and \
         the backup takes over at Skew_Time {skew:.3} ms; limit {limit:.1} ms (a takeover \
         by Master_Down_Interval comes {earliest_master_down:.1} ms after SIGHUP at the \
         earliest)\n{}",
        describe_all(&both)
    );
    let st = a.status();
    assert!(
        instance(&st, "api").is_none() && st.instances.len() == 1,
        "a still lists api: {:?}",
        st.instances.iter().map(|i| &i.name).collect::<Vec<_>>()
    );
    let ba2 = inst(b, "api");
    assert_eq!(ba2.state, State::Master, "{}", describe_all(&both));
    assert_eq!(ba2.transitions, ba1.transitions + 1);
    assert!(b.has_addr(API_ADDR));
    let aw2 = inst(a, "web");
    let bw2 = inst(b, "web");
    let state = describe_all(&both);
    assert_eq!(aw2.state, State::Master, "{state}");
    assert_eq!(aw2.transitions, aw0.transitions, "a's web moved:\n{state}");
    assert_eq!(bw2.transitions, bw0.transitions, "b's web moved:\n{state}");
    assert!(a.has_addr(VIP4) && !b.has_addr(VIP4), "{state}");
    assert!(
        !net.a_events.lines().iter().any(|l| is_deletion(l, VIP4)),
        "a deleted web's VIP while api was removed"
    );
    assert_vipctl_agrees(&both);
}

// ---- step 5 ---------------------------------------------------------------------

/// Steps 1 and 5: a's web lowered to 90, below b's 100, in place: a stays master and
/// keeps the VIP, advertising priority 90, which b (preempting) discards; b takes over
/// when its Master_Down_Timer runs out (721.9 ms after the last priority-150 advert, so
/// 521.9..=721.9 ms after SIGHUP), not at Skew_Time as after a priority 0. Then a, a
/// master hearing a better one, steps down and removes the VIP.
#[test]
fn reload_lower_priority_hands_over() {
    let net = setup("rllower");
    let (a, b, client) = (&net.a, &net.b, &net.client);
    let both = [a, b];
    let ping = Pinger::start_replying(client, VIP4, Duration::from_secs(30), 100);
    let a0 = inst(a, "web");
    let mdi = master_down_ms(100, 200.0);
    let skew = skew_ms(100, 200.0);

    a.rewrite_vipd_config(&config(&[web(90)]));
    let t0 = epoch_now();
    let line = reload_counted(a, [0, 0, 1, 0]);
    let Some(added) = wait_added(&net.b_events, VIP4, t0, Duration::from_secs(2)) else {
        panic!(
            "b did not take the VIP within 2 s of a's priority dropping to 90 (b's \
             Master_Down_Interval is {mdi:.1} ms):\n{}\na's log:\n{}",
            describe_all(&both),
            reload_log(a)
        );
    };
    let takeover = ms(added.t - t0);
    assert!(
        wait_instance_roles(b, a, "web", VIP4, Duration::from_secs(2)),
        "b should be the only master now:\n{}",
        describe_all(&both)
    );
    ping.assert_replies(
        50,
        Duration::from_secs(3),
        "pings did not resume after b took over",
    );
    let report = ping.stop();
    let gap = report.longest_gap_after_ms(t0);
    let a_deleted = net
        .a_events
        .lines()
        .into_iter()
        .find(|l| l.t >= t0 && is_deletion(l, VIP4));
    println!(
        "reload_lower_priority_hands_over: {line}; b took the VIP {takeover:.1} ms after \
         SIGHUP (Master_Down_Interval {mdi:.1} ms, Skew_Time {skew:.1} ms); a removed it {} \
         ms after SIGHUP; longest ping gap {gap:.1} ms; {report}",
        a_deleted
            .as_ref()
            .map_or("never".into(), |d| format!("{:.1}", ms(d.t - t0)))
    );
    assert!(
        takeover >= mdi - 200.0 - 30.0 && takeover <= mdi + 250.0,
        "b took over {takeover:.1} ms after SIGHUP; it should discard a's priority-90 \
         adverts and take over when its Master_Down_Timer ({mdi:.1} ms from the last \
         priority-150 advert, at most 200 ms before SIGHUP) runs out (Skew_Time {skew:.1} \
         ms would mean a left with priority 0)\na's log:\n{}",
        reload_log(a)
    );
    match &a_deleted {
        Some(d) => assert!(
            d.t >= added.t - 0.005,
            "a removed the VIP {:.1} ms before b added it: a master lowered in place keeps \
             it until it hears a better master",
            ms(added.t - d.t)
        ),
        None => panic!("a, now backup, kept the VIP:\n{}", describe_all(&both)),
    }
    let aw = inst(a, "web");
    let bw = inst(b, "web");
    assert_eq!(aw.priority_configured, 90);
    assert_eq!(aw.master_address.as_deref(), Some(b.ipv4.as_str()));
    assert_eq!(aw.master_priority, Some(100));
    assert_eq!(
        aw.transitions,
        a0.transitions + 1,
        "a's web should have made one transition (master → backup):\n{}",
        describe_all(&both)
    );
    assert_eq!(bw.state, State::Master);
    assert!(
        gap <= 100.0,
        "client outage {gap:.1} ms after lowering a's priority in place: {report}"
    );
    assert_vipctl_agrees(&both);
}
