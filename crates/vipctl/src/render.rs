//! The human-readable `vipctl status` report.
//!
//! Two views. The detailed one ([`render_status`]): one `label: value` per line with
//! the labels right-aligned (as `systemctl status` does), so the output lines up for
//! people and stays easy to grep: every instance has exactly one `state: <state>` line,
//! using the words of `State::as_str`. The table ([`render_table`]): one row per
//! instance, as `kubectl get` prints, for hosts with several instances.

use std::fmt::Write as _;

use vipd_api::{InstanceStatus, Status};

/// Width of the longest label, `advert interval`.
const LABEL_WIDTH: usize = 15;

/// Renders the whole status report.
pub fn render_status(status: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "host: {}   pid: {}   uptime: {}   instances: {}",
        status.host,
        status.pid,
        seconds(status.uptime_s),
        status.instances.len()
    );
    let strays: Vec<String> = status
        .interfaces
        .iter()
        .filter(|f| f.unknown_vrid > 0)
        .map(|f| format!("{} {}", f.name, f.unknown_vrid))
        .collect();
    if !strays.is_empty() {
        // Adverts for VRIDs no instance here has: other routers' business, or a VRID
        // configured on one side only.
        let _ = writeln!(
            out,
            "adverts for VRIDs not configured here: {}",
            strays.join(", ")
        );
    }
    if status.instances.is_empty() && status.announced.is_empty() {
        out.push_str("\n(no instances configured)\n");
    }
    for inst in &status.instances {
        out.push('\n');
        render_instance(&mut out, inst);
    }
    for a in &status.announced {
        out.push('\n');
        render_announced(&mut out, a);
    }
    if !status.checks.is_empty() {
        out.push('\n');
        for c in &status.checks {
            render_check(&mut out, c);
        }
    }
    out
}

/// The table's columns.
const COLUMNS: [&str; 9] = [
    "INSTANCE",
    "INTERFACE",
    "VRID",
    "STATE",
    "PRIO",
    "MASTER",
    "VIPS",
    "CHECKS",
    "SINCE",
];

/// One row per instance, columns padded to their widest cell and separated by three
/// spaces; no cell contains a space. MASTER is `self` when this host is master, VIPS
/// the VIPs present of those configured (`?` when the kernel could not be read),
/// CHECKS the tracked checks not failing of those tracked. `colour`: the STATE cell in ANSI colour (green master, red fault, yellow
/// initialize or stopped; backup plain); the padding counts only the visible text.
pub fn render_table(status: &Status, colour: bool) -> String {
    let rows: Vec<[String; 9]> = status.instances.iter().map(table_row).collect();
    let announced: Vec<[String; 9]> = status.announced.iter().map(announced_row).collect();
    let mut widths = COLUMNS.map(str::len);
    for row in rows.iter().chain(&announced) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String; 9], state: Option<vipd_api::State>| {
        let mut text = String::new();
        for (k, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let last = k + 1 == cells.len();
            let pad = if last {
                0
            } else {
                w - cell.chars().count() + 3
            };
            match (k, state.and_then(|s| colour.then(|| ansi(s)).flatten())) {
                (3, Some(code)) => {
                    let _ = write!(text, "\x1b[{code}m{cell}\x1b[0m");
                }
                _ => text.push_str(cell),
            }
            text.push_str(&" ".repeat(pad));
        }
        out.push_str(&text);
        out.push('\n');
    };
    line(&COLUMNS.map(str::to_owned), None);
    for (row, inst) in rows.iter().zip(&status.instances) {
        line(row, Some(inst.state));
    }
    for row in &announced {
        line(row, None);
    }
    out
}

/// An announced instance's row: no VRID, priority or master (`-`); STATE is
/// `announcing`, `draining` or `withdrawn`.
fn announced_row(a: &vipd_api::AnnouncedStatus) -> [String; 9] {
    let mut state = a.state.clone();
    if a.maintenance {
        state.push_str(",maintenance");
    }
    let present = a.vips.iter().filter(|v| v.present).count();
    let checks = match a.tracking.len() {
        0 => "-".to_owned(),
        n => format!("{}/{n}", a.tracking.iter().filter(|t| !t.failing).count()),
    };
    [
        a.name.clone(),
        a.interface.clone(),
        "-".into(),
        state,
        "-".into(),
        "-".into(),
        format!("{present}/{}", a.vips.len()),
        checks,
        seconds(a.in_state_s).replace(' ', ""),
    ]
}

/// An announced instance's block in `vipctl status`.
fn render_announced(out: &mut String, a: &vipd_api::AnnouncedStatus) {
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:>LABEL_WIDTH$}: {value}");
    };
    line("announce", a.name.clone());
    line("interface", a.interface.clone());
    let mut state = format!("{} ({})", a.state, a.reason);
    if let Some(left) = a.drain_left_s {
        let _ = write!(state, ", {} of the drain left", seconds(left));
    }
    line("state", state);
    line("in state", seconds(a.in_state_s));
    line(
        "weight",
        format!("{} (withdrawn below {})", a.weight, a.withdraw_below),
    );
    line("drain", millis(a.drain_ms));
    let vips: Vec<String> = a
        .vips
        .iter()
        .map(|v| format!("{}{}", v.address, if v.present { "" } else { " (absent)" }))
        .collect();
    line("vips", vips.join(", "));
    if !a.tracking.is_empty() {
        let t: Vec<String> = a
            .tracking
            .iter()
            .map(|t| format!("{}{}", t.check, if t.failing { " (failing)" } else { "" }))
            .collect();
        line("tracking", t.join(", "));
    }
    if a.maintenance {
        line("maintenance", "on".into());
    }
}

/// The ANSI colour of a state, if it has one.
fn ansi(s: vipd_api::State) -> Option<&'static str> {
    match s {
        vipd_api::State::Master => Some("32"),
        vipd_api::State::Fault => Some("31"),
        vipd_api::State::Initialize | vipd_api::State::Stopped => Some("33"),
        vipd_api::State::Backup => None,
    }
}

fn table_row(i: &InstanceStatus) -> [String; 9] {
    let mut state = i.state.as_str().to_owned();
    if i.maintenance {
        state.push_str(",maintenance");
    }
    let prio = if i.priority_effective == i.priority_configured {
        i.priority_effective.to_string()
    } else {
        format!("{}/{}", i.priority_effective, i.priority_configured)
    };
    let this_host = i.state == vipd_api::State::Master
        || (i.master_address.is_some() && i.master_address == i.local_address);
    let master = match (&i.master_address, this_host) {
        (_, true) => "self".to_owned(),
        (Some(a), false) => a.clone(),
        (None, false) => "-".to_owned(),
    };
    let present = if i.kernel_error.is_some() {
        "?".to_owned()
    } else {
        i.vips.iter().filter(|v| v.present).count().to_string()
    };
    let vips = format!("{present}/{}", i.vips.len());
    // Like VIPS: tracked checks not failing, of all tracked.
    let checks = match i.tracking.len() {
        0 => "-".to_owned(),
        n => format!("{}/{n}", i.tracking.iter().filter(|t| !t.failing).count()),
    };
    [
        i.name.clone(),
        i.interface.clone(),
        i.vrid.to_string(),
        state,
        prio,
        master,
        vips,
        checks,
        // No spaces in a cell: `1h02m05s`, so `awk` and `split_whitespace` see columns.
        seconds(i.in_state_s).replace(' ', ""),
    ]
}

/// One line per check: `check: nginx  up 12.3s  process pidfile /run/nginx.pid  (pid 4242)`.
fn render_check(out: &mut String, c: &vipd_api::CheckStatus) {
    let state = if c.up { "up" } else { "down" };
    let mut line = format!(
        "{}  {state} {}  {} {}",
        c.name,
        seconds(c.since_s),
        c.kind,
        c.target
    );
    match (&c.last_result, c.last_result_age_s) {
        (Some(r), Some(age)) => {
            let _ = write!(line, "  (last: {r}, {} ago)", seconds(age));
        }
        (Some(r), None) => {
            let _ = write!(line, "  (last: {r})");
        }
        _ => line.push_str("  (no result yet)"),
    }
    let _ = writeln!(out, "{:>LABEL_WIDTH$}: {line}", "check");
}

/// `nginx failing (fault), upstream ok (-60 while failing)`.
/// `3 runs, 1 failed (1 timed out), 0 dropped; running any, 2 waiting`.
fn notify(n: &vipd_api::NotifyStatus) -> String {
    let mut s = format!(
        "{} run{}, {} failed ({} timed out), {} dropped",
        n.runs,
        plural(n.runs),
        n.failed,
        n.timed_out,
        n.dropped
    );
    if let Some(hook) = &n.running {
        s.push_str(&format!("; running {hook}, {} waiting", n.pending));
    }
    s
}

fn tracking(i: &InstanceStatus) -> String {
    let items: Vec<String> = i
        .tracking
        .iter()
        .map(|t| {
            let what = if t.fault {
                "fault".to_owned()
            } else if t.adds != 0 {
                format!("{:+}", t.adds)
            } else if t.weight == 0 {
                "fault if failing".to_owned()
            } else {
                format!("weight {:+}", t.weight)
            };
            let state = if t.failing { "failing" } else { "ok" };
            format!("{} {state} ({what})", t.check)
        })
        .collect();
    items.join(", ")
}

/// `web (held: waiting for db (fault))`, `web (released)`.
fn group_line(g: &vipd_api::GroupMembership) -> String {
    if !g.held {
        return format!("{} (released)", g.name);
    }
    let waiting: Vec<String> = g
        .waiting_for
        .iter()
        .map(|w| format!("{} ({})", w.instance, w.state))
        .collect();
    let ready = if g.ready { "ready, " } else { "" };
    if waiting.is_empty() {
        format!("{} (held, {ready}releasing)", g.name)
    } else {
        format!(
            "{} (held, {ready}waiting for {})",
            g.name,
            waiting.join(", ")
        )
    }
}

fn render_instance(out: &mut String, i: &InstanceStatus) {
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "{label:>LABEL_WIDTH$}: {value}");
    };
    line("instance", i.name.clone());
    line("interface", i.interface.clone());
    line("vrid", i.vrid.to_string());
    line("version", i.version.to_string());
    let state = i.state.as_str();
    line(
        "state",
        if i.reason.is_empty() {
            state.to_owned()
        } else {
            format!("{state} ({})", i.reason)
        },
    );
    if i.maintenance {
        line(
            "maintenance",
            "on: stays backup until `vipctl maintenance off`".to_owned(),
        );
    }
    if let Some(g) = &i.group {
        line("sync group", group_line(g));
        if let Some(n) = &g.notify {
            line("group hooks", notify(n));
            if let Some(f) = &n.last_failure {
                line("group failure", f.clone());
            }
        }
    }
    line(
        "in state",
        format!(
            "{}, {} transition{}",
            seconds(i.in_state_s),
            i.transitions,
            plural(i.transitions)
        ),
    );
    line(
        "priority",
        format!(
            "{} effective, {} configured",
            i.priority_effective, i.priority_configured
        ),
    );
    if !i.tracking.is_empty() {
        line("tracking", tracking(i));
    }
    if let Some(n) = &i.notify {
        line("notify hooks", notify(n));
        if let Some(f) = &n.last_failure {
            line("last failure", f.clone());
        }
    }
    line(
        "local address",
        i.local_address.clone().unwrap_or_else(|| "unknown".into()),
    );
    line("master", master(i));
    line("advert interval", advert_interval(i));
    line(
        "last advert",
        i.last_advert_age_s
            .map_or_else(|| "never".to_owned(), |age| format!("{} ago", seconds(age))),
    );
    line(
        "adverts",
        format!("{} sent, {} received", i.adverts_sent, i.adverts_received),
    );
    let width = i.vips.iter().map(|v| v.address.len()).max().unwrap_or(0);
    for vip in &i.vips {
        let presence = match (&i.kernel_error, vip.present) {
            (Some(_), _) => "unknown",
            (None, true) => "present",
            (None, false) => "absent",
        };
        line("vip", format!("{:<width$}  {presence}", vip.address));
    }
    if i.vips.is_empty() {
        line("vip", "none".into());
    }
    if let Some(e) = &i.kernel_error {
        line("kernel", e.clone());
    }
    let drops: Vec<String> = i
        .drops
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    line(
        "drops",
        if drops.is_empty() {
            "none".into()
        } else {
            drops.join(", ")
        },
    );
    for f in &i.auth_failing {
        line(
            "auth failing",
            format!(
                "{} ({}) for {}, {} advert{} dropped",
                f.from,
                f.reason,
                seconds(f.for_s),
                f.dropped,
                plural(f.dropped)
            ),
        );
    }
    if i.auth_alarms > 0 {
        line(
            "auth alarms",
            format!(
                "{} (adverts of one source failing authentication for longer than \
                 Master_Down_Interval)",
                i.auth_alarms
            ),
        );
    }
    if let Some(m) = &i.address_mismatch {
        line(
            "vip mismatch",
            format!(
                "{} lists {} ({} advert{}, the last {} ago)",
                m.from,
                m.addresses.join(", "),
                m.count,
                plural(m.count),
                seconds(m.last_age_s)
            ),
        );
    }
}

/// The configured interval, and the master's where it differs (VRRPv3 backups follow
/// the master's).
fn advert_interval(i: &InstanceStatus) -> String {
    let mine = millis(i.advert_interval_ms);
    match i.master_advert_interval_ms {
        Some(m) if m != i.advert_interval_ms => format!("{mine} (the master's: {})", millis(m)),
        _ => mine,
    }
}

fn master(i: &InstanceStatus) -> String {
    let this_host = i.state == vipd_api::State::Master
        || (i.master_address.is_some() && i.master_address == i.local_address);
    let mut s = match (&i.master_address, i.master_priority) {
        (Some(addr), Some(p)) => format!("{addr}, priority {p}"),
        (Some(addr), None) => addr.clone(),
        (None, Some(p)) => format!("unknown address, priority {p}"),
        (None, None) => "unknown".to_owned(),
    };
    if this_host {
        s.push_str(" (this host)");
    }
    s
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `200ms`, `1s`, `1.5s`, `40.95s`.
fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let s = format!("{}.{:03}", ms / 1000, ms % 1000);
        format!("{}s", s.trim_end_matches('0'))
    }
}

/// `0.2s`, `12.3s`, `5m 03s`, `3h 02m 05s`, `2d 03h 04m`.
fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".to_owned();
    }
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    // Whole seconds from here on; the fraction no longer matters to a reader.
    let total = s as u64;
    let (d, h, m, sec) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m")
    } else if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else {
        format!("{m}m {sec:02}s")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use vipd_api::{State, VipStatus};

    pub(crate) fn sample_status() -> Status {
        let master = InstanceStatus {
            name: "web".into(),
            interface: "eth0".into(),
            vrid: 51,
            version: 3,
            state: State::Master,
            reason: "master_down_timer".into(),
            priority_configured: 150,
            priority_effective: 150,
            local_address: Some("192.0.2.1".into()),
            master_address: Some("192.0.2.1".into()),
            master_priority: Some(150),
            advert_interval_ms: 200,
            master_advert_interval_ms: Some(200),
            kernel_error: None,
            last_advert_age_s: None,
            vips: vec![
                VipStatus {
                    address: "192.0.2.50/24".into(),
                    present: true,
                },
                VipStatus {
                    address: "192.0.2.100/24".into(),
                    present: false,
                },
            ],
            in_state_s: 12.34,
            last_transition_unix_s: None,
            transitions: 1,
            transitions_by_reason: Default::default(),
            adverts_sent: 512,
            adverts_received: 3,
            drops: BTreeMap::from([("bad_ttl".into(), 2), ("bad_checksum".into(), 0)]),
            address_mismatch: None,
            auth_alarms: 0,
            auth_failing: Vec::new(),
            tracking: Vec::new(),
            maintenance: false,
            handover_left_s: None,
            notify: None,
            group: None,
        };
        let backup = InstanceStatus {
            name: "web6".into(),
            interface: "eth0".into(),
            vrid: 52,
            version: 3,
            state: State::Backup,
            reason: "higher_priority_master".into(),
            priority_configured: 100,
            priority_effective: 90,
            local_address: Some("fe80::2".into()),
            master_address: Some("fe80::1".into()),
            master_priority: Some(150),
            advert_interval_ms: 1500,
            master_advert_interval_ms: Some(1500),
            kernel_error: None,
            last_advert_age_s: Some(0.18),
            vips: vec![VipStatus {
                address: "2001:db8::50/64".into(),
                present: false,
            }],
            in_state_s: 3725.0,
            last_transition_unix_s: None,
            transitions: 4,
            transitions_by_reason: Default::default(),
            adverts_sent: 0,
            adverts_received: 18_000,
            drops: BTreeMap::new(),
            address_mismatch: None,
            auth_alarms: 0,
            auth_failing: Vec::new(),
            tracking: Vec::new(),
            maintenance: false,
            handover_left_s: None,
            notify: None,
            group: None,
        };
        Status {
            v: 1,
            host: "node-a".into(),
            pid: 4242,
            uptime_s: 90061.5,
            instances: vec![master, backup],
            interfaces: vec![vipd_api::InterfaceStatus {
                name: "eth0".into(),
                unknown_vrid: 0,
            }],
            checks: Vec::new(),
            peers: Vec::new(),
            announced: Vec::new(),
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn table_has_a_row_per_instance_in_aligned_columns() {
        let mut s = sample_status();
        s.instances[1].maintenance = true;
        s.instances[1].tracking = vec![
            vipd_api::TrackStatus {
                check: "nginx".into(),
                weight: -10,
                failing: true,
                adds: -10,
                fault: false,
            },
            vipd_api::TrackStatus {
                check: "disk".into(),
                weight: 0,
                failing: false,
                adds: 0,
                fault: false,
            },
        ];
        let text = render_table(&s, false);
        assert_eq!(
            text,
            "\
INSTANCE   INTERFACE   VRID   STATE                PRIO     MASTER    VIPS   CHECKS   SINCE
web        eth0        51     master               150      self      1/2    -        12.3s
web6       eth0        52     backup,maintenance   90/100   fe80::1   0/1    1/2      1h02m05s
"
        );
    }

    #[test]
    fn table_colours_only_the_state_and_pads_by_the_visible_text() {
        let mut s = sample_status();
        s.instances[1].state = State::Fault;
        let plain = render_table(&s, false);
        let coloured = render_table(&s, true);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(coloured.contains("\x1b[32mmaster\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[31mfault\x1b[0m"), "{coloured}");
        // Without the escapes, the same text.
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }

    #[test]
    fn table_marks_unknown_vips_and_an_unknown_master() {
        let mut s = sample_status();
        s.instances[1].kernel_error = Some("cannot read addresses: timed out".into());
        s.instances[1].master_address = None;
        let text = render_table(&s, false);
        let row = text.lines().nth(2).expect("second row");
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cells[..7],
            ["web6", "eth0", "52", "backup", "90/100", "-", "?/1"]
        );
    }

    #[test]
    fn header_names_host_pid_and_uptime() {
        let text = render_status(&sample_status());
        assert_eq!(
            lines(&text)[0],
            "host: node-a   pid: 4242   uptime: 1d 01h 01m   instances: 2"
        );
    }

    #[test]
    fn each_instance_has_aligned_greppable_lines() {
        let text = render_status(&sample_status());
        let l = lines(&text);
        for want in [
            "       instance: web",
            "      interface: eth0",
            "           vrid: 51",
            "        version: 3",
            "          state: master (master_down_timer)",
            "       in state: 12.3s, 1 transition",
            "       priority: 150 effective, 150 configured",
            "  local address: 192.0.2.1",
            "         master: 192.0.2.1, priority 150 (this host)",
            "advert interval: 200ms",
            "    last advert: never",
            "        adverts: 512 sent, 3 received",
            "            vip: 192.0.2.50/24   present",
            "            vip: 192.0.2.100/24  absent",
            "          drops: bad_ttl 2",
            "       instance: web6",
            "          state: backup (higher_priority_master)",
            "       in state: 1h 02m 05s, 4 transitions",
            "       priority: 90 effective, 100 configured",
            "         master: fe80::1, priority 150",
            "advert interval: 1.5s",
            "    last advert: 0.2s ago",
            "            vip: 2001:db8::50/64  absent",
            "          drops: none",
        ] {
            assert!(l.contains(&want), "missing line {want:?} in:\n{text}");
        }
        let states: Vec<&str> = l
            .iter()
            .filter_map(|line| line.trim_start().strip_prefix("state: "))
            .map(|rest| rest.split(' ').next().unwrap_or(""))
            .collect();
        assert_eq!(states, ["master", "backup"]);
        // Every instance line is `label: value` with the colon in the same column.
        for line in l.iter().skip(1).filter(|line| !line.is_empty()) {
            assert_eq!(line.find(": "), Some(LABEL_WIDTH), "misaligned: {line:?}");
        }
    }

    #[test]
    fn a_group_member_shows_its_group_and_what_holds_it() {
        let mut s = sample_status();
        s.instances[0].group = Some(vipd_api::GroupMembership {
            name: "lb".into(),
            held: false,
            ready: false,
            waiting_for: Vec::new(),
            notify: Some(vipd_api::NotifyStatus {
                runs: 4,
                failed: 1,
                last_failure: Some("master: exited with 2".into()),
                ..Default::default()
            }),
        });
        s.instances[1].group = Some(vipd_api::GroupMembership {
            name: "lb".into(),
            held: true,
            ready: true,
            waiting_for: vec![vipd_api::GroupWait {
                instance: "db".into(),
                state: "fault".into(),
            }],
            notify: None,
        });
        let text = render_status(&s);
        let l = lines(&text);
        assert!(l.contains(&"     sync group: lb (released)"), "{text}");
        assert!(
            l.contains(&"    group hooks: 4 runs, 1 failed (0 timed out), 0 dropped"),
            "{text}"
        );
        assert!(
            l.contains(&"  group failure: master: exited with 2"),
            "{text}"
        );
        assert!(
            l.contains(&"     sync group: lb (held, ready, waiting for db (fault))"),
            "{text}"
        );
        let json = serde_json::to_string(&s).expect("json");
        assert!(
            json.contains(r#""group":{"name":"lb","held":true,"ready":true,"waiting_for":[{"instance":"db","state":"fault"}]}"#),
            "{json}"
        );
    }

    #[test]
    fn a_backup_shows_the_masters_interval_where_it_differs() {
        let mut s = sample_status();
        s.instances[1].master_advert_interval_ms = Some(300);
        let text = render_status(&s);
        assert!(
            text.contains("\nadvert interval: 1.5s (the master's: 300ms)\n"),
            "{text}"
        );
        // And JSON without the field (an older daemon) still parses.
        let json = serde_json::to_string(&s).expect("serialise");
        let old = json.replace("\"master_advert_interval_ms\":300,", "");
        assert_ne!(old, json);
        let back: Status = serde_json::from_str(&old).expect("parse without the field");
        assert_eq!(back.instances[1].master_advert_interval_ms, None);
    }

    #[test]
    fn lasting_auth_failures_are_shown_and_optional_on_the_wire() {
        let mut s = sample_status();
        let text = render_status(&s);
        assert!(!text.contains("auth "), "{text}");
        let json = serde_json::to_string(&s).expect("serialise");
        assert!(!json.contains("auth_"), "{json}");
        s.instances[1].auth_alarms = 1;
        s.instances[1].auth_failing = vec![vipd_api::AuthFailing {
            from: "fe80::1".into(),
            reason: "auth_replay".into(),
            for_s: 4.2,
            dropped: 40,
        }];
        let text = render_status(&s);
        for want in [
            "\n   auth failing: fe80::1 (auth_replay) for 4.2s, 40 adverts dropped\n",
            "\n    auth alarms: 1 (adverts of one source failing authentication for longer than Master_Down_Interval)\n",
        ] {
            assert!(text.contains(want), "{want:?} in:\n{text}");
        }
        for line in text.lines().skip(1).filter(|line| !line.is_empty()) {
            assert_eq!(line.find(": "), Some(LABEL_WIDTH), "misaligned: {line:?}");
        }
        let json = serde_json::to_string(&s).expect("serialise");
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, s);
    }

    #[test]
    fn an_address_list_mismatch_is_shown_and_optional_on_the_wire() {
        let mut s = sample_status();
        let text = render_status(&s);
        assert!(!text.contains("vip mismatch"), "{text}");
        // Absent from the JSON while there is none, so older clients see nothing new.
        let json = serde_json::to_string(&s).expect("serialise");
        assert!(!json.contains("address_mismatch"), "{json}");
        s.instances[1].address_mismatch = Some(vipd_api::AddressMismatch {
            from: "fe80::1".into(),
            addresses: vec!["2001:db8::50".into(), "2001:db8::51".into()],
            count: 12,
            last_age_s: 0.43,
        });
        let text = render_status(&s);
        assert!(
            text.contains(
                "\n   vip mismatch: fe80::1 lists 2001:db8::50, 2001:db8::51 (12 adverts, the last 0.4s ago)\n"
            ),
            "{text}"
        );
        for line in text.lines().skip(1).filter(|line| !line.is_empty()) {
            assert_eq!(line.find(": "), Some(LABEL_WIDTH), "misaligned: {line:?}");
        }
        // JSON of an older daemon, without the field, parses.
        let json = serde_json::to_string(&sample_status()).expect("serialise");
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.instances[1].address_mismatch, None);
        let json = serde_json::to_string(&s).expect("serialise");
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, s);
    }

    #[test]
    fn adverts_for_other_vrids_are_shown_per_interface_when_there_are_any() {
        let mut s = sample_status();
        let text = render_status(&s);
        assert!(!text.contains("VRIDs not configured here"), "{text}");
        s.interfaces[0].unknown_vrid = 42;
        s.interfaces.push(vipd_api::InterfaceStatus {
            name: "eth1".into(),
            unknown_vrid: 0,
        });
        s.interfaces.push(vipd_api::InterfaceStatus {
            name: "eth2".into(),
            unknown_vrid: 7,
        });
        let text = render_status(&s);
        assert_eq!(
            lines(&text)[1],
            "adverts for VRIDs not configured here: eth0 42, eth2 7"
        );
        // Optional on the wire: an older daemon's JSON has no "interfaces".
        let json = serde_json::to_string(&s).expect("serialise");
        assert!(json.contains("\"interfaces\":[{\"name\":\"eth0\",\"unknown_vrid\":42}"));
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, s);
        s.interfaces.clear();
        let json = serde_json::to_string(&s).expect("serialise");
        assert!(!json.contains("interfaces"), "{json}");
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert!(back.interfaces.is_empty());
    }

    #[test]
    fn vips_are_unknown_when_the_kernel_cannot_be_read() {
        let mut s = sample_status();
        s.instances[0].kernel_error = Some("cannot read addresses: timed out".into());
        let text = render_status(&s);
        assert!(
            text.contains("\n            vip: 192.0.2.50/24   unknown\n"),
            "{text}"
        );
        assert!(
            text.contains("\n         kernel: cannot read addresses: timed out\n"),
            "{text}"
        );
        assert!(!text.contains("present"), "{text}");
    }

    #[test]
    fn unknown_values_and_no_instances() {
        let mut s = sample_status();
        s.instances[1].master_address = None;
        s.instances[1].master_priority = None;
        s.instances[1].local_address = None;
        s.instances[1].reason.clear();
        let text = render_status(&s);
        assert!(text.contains("\n         master: unknown\n"), "{text}");
        assert!(text.contains("\n  local address: unknown\n"), "{text}");
        assert!(text.contains("\n          state: backup\n"), "{text}");
        s.instances.clear();
        s.uptime_s = f64::NAN;
        let text = render_status(&s);
        assert!(text.starts_with("host: node-a   pid: 4242   uptime: ?   instances: 0\n"));
        assert!(text.contains("(no instances configured)"));
    }

    #[test]
    fn notify_hooks() {
        let mut s = sample_status();
        let text = render_status(&s);
        assert!(!text.contains("notify hooks"), "{text}");
        s.instances[1].notify = Some(vipd_api::NotifyStatus {
            runs: 3,
            failed: 1,
            timed_out: 1,
            dropped: 2,
            running: Some("any".into()),
            pending: 1,
            last_failure: Some("master: ran longer than 10000ms".into()),
        });
        let text = render_status(&s);
        assert!(
            text.contains(
                "\n   notify hooks: 3 runs, 1 failed (1 timed out), 2 dropped; running any, 1 waiting\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n   last failure: master: ran longer than 10000ms\n"),
            "{text}"
        );
    }

    #[test]
    fn checks_and_tracking() {
        let mut s = sample_status();
        s.instances[1].tracking = vec![
            vipd_api::TrackStatus {
                check: "nginx".into(),
                weight: 0,
                failing: false,
                adds: 0,
                fault: false,
            },
            vipd_api::TrackStatus {
                check: "upstream".into(),
                weight: -10,
                failing: true,
                adds: -10,
                fault: false,
            },
        ];
        s.checks = vec![
            vipd_api::CheckStatus {
                name: "nginx".into(),
                kind: "process".into(),
                target: "pidfile /run/nginx.pid".into(),
                up: true,
                since_s: 12.34,
                last_result: Some("pid 4242".into()),
                last_result_age_s: Some(12.34),
                exit_code: None,
                http_status: None,
                pids: vec![4242],
                value: None,
                error: None,
                results: 1,
                failures: 0,
                last_duration_s: None,
            },
            vipd_api::CheckStatus {
                name: "upstream".into(),
                kind: "exec".into(),
                target: "/usr/local/bin/check".into(),
                up: false,
                since_s: 3.0,
                last_result: Some("timed out after 500ms".into()),
                last_result_age_s: Some(0.5),
                exit_code: None,
                http_status: None,
                pids: vec![],
                value: None,
                error: Some("timed out after 500ms".into()),
                results: 9,
                failures: 3,
                last_duration_s: None,
            },
        ];
        let text = render_status(&s);
        for want in [
            "       tracking: nginx ok (fault if failing), upstream failing (-10)",
            "          check: nginx  up 12.3s  process pidfile /run/nginx.pid  (last: pid 4242, 12.3s ago)",
            "          check: upstream  down 3.0s  exec /usr/local/bin/check  (last: timed out after 500ms, 0.5s ago)",
        ] {
            assert!(text.lines().any(|l| l == want), "missing {want:?} in:\n{text}");
        }
        // JSON from a daemon without checks still parses.
        let json = serde_json::to_string(&sample_status()).expect("serialise");
        assert!(!json.contains("\"checks\""));
        let back: Status = serde_json::from_str(&json).expect("parse");
        assert!(back.checks.is_empty());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(millis(10), "10ms");
        assert_eq!(millis(1000), "1s");
        assert_eq!(millis(40950), "40.95s");
        assert_eq!(seconds(0.0), "0.0s");
        assert_eq!(seconds(59.94), "59.9s");
        assert_eq!(seconds(61.0), "1m 01s");
        assert_eq!(seconds(3600.0), "1h 00m 00s");
        assert_eq!(seconds(-1.0), "?");
    }
}
