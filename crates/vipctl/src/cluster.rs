//! `vipctl status --cluster`: this node's status (from its control socket) and every
//! peer's `/status` (their metrics listeners, `cluster_peers:` in vipd's configuration), read in
//! parallel, in one table, with what is wrong flagged under it.
//!
//! VRRP backups are silent, so no one node sees the cluster: a backup knows only itself
//! and the master. Flagged: a node that cannot be reached (and why), a VIP on more than
//! one node, an instance with no master or with several, a master without one of its
//! VIPs, and an instance (by name) configured differently on two nodes (VRID, version,
//! advert interval, VIPs).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use vipd_api::{InstanceStatus, PeerInfo, State, Status};

use crate::http_get;

/// How long each peer gets to answer.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(1);

/// One node and what it answered.
#[derive(Debug, Clone)]
pub struct NodeReport {
    /// Its configured name, else its address; this node: its hostname.
    pub node: String,
    /// Its metrics listener; none for this node (read through the control socket).
    pub address: Option<String>,
    pub here: bool,
    pub status: Result<Status, String>,
}

/// Something wrong with the cluster, in words, with a stable kind for scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: &'static str,
    pub message: String,
}

/// Reads every peer's `/status` in parallel, each within `timeout`.
pub fn gather(here: Status, peers: &[PeerInfo], timeout: Duration) -> Vec<NodeReport> {
    let mut out = vec![NodeReport {
        node: here.host.clone(),
        address: None,
        here: true,
        status: Ok(here),
    }];
    let answers: Vec<NodeReport> = std::thread::scope(|s| {
        let handles: Vec<_> = peers
            .iter()
            .map(|p| s.spawn(move || read_peer(p, timeout)))
            .collect();
        handles
            .into_iter()
            .zip(peers)
            .map(|(h, p)| {
                h.join().unwrap_or_else(|_| NodeReport {
                    node: peer_name(p),
                    address: Some(p.address.clone()),
                    here: false,
                    status: Err("the reader thread failed".into()),
                })
            })
            .collect()
    });
    out.extend(answers);
    out
}

fn peer_name(p: &PeerInfo) -> String {
    p.name.clone().unwrap_or_else(|| p.address.clone())
}

fn read_peer(p: &PeerInfo, timeout: Duration) -> NodeReport {
    let status = match p.address.parse::<SocketAddr>() {
        Err(_) => Err(format!("`{}` is not an address and port", p.address)),
        Ok(addr) => http_get::get(addr, "/status", timeout)
            .map_err(|e| e.to_string())
            .and_then(|body| {
                crate::printable::parse::<Status>(&body)
                    .map_err(|e| format!("its /status is not a vipd status: {e}"))
            }),
    };
    NodeReport {
        node: peer_name(p),
        address: Some(p.address.clone()),
        here: false,
        status,
    }
}

/// Everything wrong with the cluster as these reports show it.
pub fn problems(nodes: &[NodeReport]) -> Vec<Problem> {
    let mut out = Vec::new();
    for n in nodes {
        if let Err(why) = &n.status {
            // A peer without a name is called by its address: no need to say it twice.
            let who = match n.address.as_deref() {
                Some(a) if a == n.node => n.node.clone(),
                a => format!("{} ({})", n.node, a.unwrap_or("control socket")),
            };
            out.push(Problem {
                kind: "unreachable",
                message: format!("{who} cannot be reached: {why}"),
            });
        }
    }
    // Instances by name, each with the node it runs on, in the nodes' order.
    let mut by_name: BTreeMap<&str, Vec<(&str, &InstanceStatus)>> = BTreeMap::new();
    for n in nodes {
        if let Ok(s) = &n.status {
            for i in &s.instances {
                by_name
                    .entry(i.name.as_str())
                    .or_default()
                    .push((n.node.as_str(), i));
            }
        }
    }
    for (name, members) in &by_name {
        let masters: Vec<&str> = members
            .iter()
            .filter(|(_, i)| i.state == State::Master)
            .map(|(n, _)| *n)
            .collect();
        match masters.len() {
            0 => out.push(Problem {
                kind: "no_master",
                message: format!("{name}: no node is master"),
            }),
            1 => {}
            _ => out.push(Problem {
                kind: "several_masters",
                message: format!("{name}: master on {}", masters.join(" and ")),
            }),
        }
        for (node, i) in members.iter().filter(|(_, i)| i.state == State::Master) {
            for v in i.vips.iter().filter(|v| !v.present) {
                if i.kernel_error.is_none() {
                    out.push(Problem {
                        kind: "vip_missing",
                        message: format!("{name}: master {node} does not hold {}", v.address),
                    });
                }
            }
        }
        mismatches(name, members, &mut out);
    }
    // Every VIP held by more than one node, whichever instance holds it.
    let mut holders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for n in nodes {
        if let Ok(s) = &n.status {
            for v in s
                .instances
                .iter()
                .flat_map(|i| &i.vips)
                .filter(|v| v.present)
            {
                holders.entry(v.address.as_str()).or_default().push(&n.node);
            }
        }
    }
    for (vip, on) in holders {
        if on.len() > 1 {
            out.push(Problem {
                kind: "vip_on_several_nodes",
                message: format!("{vip} is held by {}", on.join(" and ")),
            });
        }
    }
    out
}

/// A setting compared between nodes: its name and how to read it.
type Setting = (&'static str, fn(&InstanceStatus) -> String);

/// The settings that must agree for one instance name, each compared with the first
/// node's.
fn mismatches(name: &str, members: &[(&str, &InstanceStatus)], out: &mut Vec<Problem>) {
    let Some((first_node, first)) = members.first() else {
        return;
    };
    let settings: [Setting; 4] = [
        ("VRID", |i| i.vrid.to_string()),
        ("version", |i| format!("v{}", i.version)),
        ("advert interval", |i| {
            format!("{} ms", i.advert_interval_ms)
        }),
        ("VIPs", |i| {
            let mut v: Vec<&str> = i.vips.iter().map(|v| v.address.as_str()).collect();
            v.sort_unstable();
            v.join(",")
        }),
    ];
    for (what, get) in settings {
        let theirs = get(first);
        for (node, i) in &members[1..] {
            let ours = get(i);
            if ours != theirs {
                out.push(Problem {
                    kind: "config_mismatch",
                    message: format!("{name}: {what} {theirs} on {first_node}, {ours} on {node}"),
                });
            }
        }
    }
}

/// The table, then the problems (or "no problems found").
pub fn render(nodes: &[NodeReport], problems: &[Problem], now_unix_s: f64) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "NODE".into(),
        "INSTANCE".into(),
        "STATE".into(),
        "PRIO".into(),
        "VIPS".into(),
        "CHECKS".into(),
        "SINCE".into(),
    ]];
    for n in nodes {
        let node = if n.here {
            format!("{} (here)", n.node)
        } else {
            n.node.clone()
        };
        match &n.status {
            Err(_) => rows.push([
                node,
                "-".into(),
                "unreachable".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]),
            Ok(s) => {
                for i in &s.instances {
                    rows.push(row(&node, i, now_unix_s));
                }
                for a in &s.announced {
                    rows.push(announced_row(&node, a));
                }
            }
        }
    }
    let mut widths = [0usize; 7];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (k, (c, w)) in r.iter().zip(widths).enumerate() {
            if k + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    if problems.is_empty() {
        out.push_str("no problems found\n");
    } else {
        for p in problems {
            let _ = writeln!(out, "! {}", p.message);
        }
    }
    out
}

fn row(node: &str, i: &InstanceStatus, now_unix_s: f64) -> [String; 7] {
    let mut state = i.state.as_str().to_owned();
    if i.maintenance {
        state.push_str(" (maintenance)");
    }
    let held: Vec<&str> = i
        .vips
        .iter()
        .filter(|v| v.present)
        .map(|v| v.address.as_str())
        .collect();
    let failing: Vec<&str> = i
        .tracking
        .iter()
        .filter(|t| t.failing)
        .map(|t| t.check.as_str())
        .collect();
    let or_dash = |v: Vec<&str>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    let since = match i.last_transition_unix_s {
        Some(t) => format!("{} ago", age(now_unix_s - t)),
        None => "-".into(),
    };
    [
        node.to_owned(),
        i.name.clone(),
        state,
        format!("{}/{}", i.priority_effective, i.priority_configured),
        or_dash(held),
        or_dash(failing),
        since,
    ]
}

/// An announced instance's row: its state (`announcing`, `draining`, `withdrawn`), no
/// priority, the VIPs on its announce interface, its failing checks.
fn announced_row(node: &str, a: &vipd_api::AnnouncedStatus) -> [String; 7] {
    let mut state = a.state.clone();
    if a.maintenance {
        state.push_str(" (maintenance)");
    }
    let join = |v: Vec<&str>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(",")
        }
    };
    [
        node.to_owned(),
        a.name.clone(),
        state,
        "-".into(),
        join(
            a.vips
                .iter()
                .filter(|v| v.present)
                .map(|v| v.address.as_str())
                .collect(),
        ),
        join(
            a.tracking
                .iter()
                .filter(|t| t.failing)
                .map(|t| t.check.as_str())
                .collect(),
        ),
        format!("{} ago", age(a.in_state_s)),
    ]
}

/// `42s`, `5m12s`, `3h04m`, `2d03h`.
fn age(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// The combined data: every node with its status or why it has none, and the problems.
pub fn to_json(nodes: &[NodeReport], problems: &[Problem]) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = nodes
        .iter()
        .map(|n| {
            let mut v = json!({ "node": n.node, "here": n.here });
            if let Some(a) = &n.address {
                v["address"] = json!(a);
            }
            match &n.status {
                Ok(s) => v["status"] = serde_json::to_value(s).unwrap_or_default(),
                Err(e) => v["error"] = json!(e),
            }
            v
        })
        .collect();
    let problems: Vec<serde_json::Value> = problems
        .iter()
        .map(|p| json!({ "kind": p.kind, "message": p.message }))
        .collect();
    json!({ "ok": problems.is_empty(), "nodes": nodes, "problems": problems })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::sample_status;

    /// A node with one instance `web` (VRID 51, 100 ms, VIP 192.0.2.50/24).
    fn node(name: &str, state: State, holds: bool) -> NodeReport {
        let mut s = sample_status();
        s.host = name.into();
        s.instances.truncate(1);
        let i = &mut s.instances[0];
        i.name = "web".into();
        i.state = state;
        i.vrid = 51;
        i.version = 3;
        i.advert_interval_ms = 100;
        i.kernel_error = None;
        i.tracking.clear();
        i.maintenance = false;
        i.vips = vec![vipd_api::VipStatus {
            address: "192.0.2.50/24".into(),
            present: holds,
        }];
        i.last_transition_unix_s = Some(1000.0);
        NodeReport {
            node: name.into(),
            address: Some(format!("192.0.2.{}:9650", name.len())),
            here: false,
            status: Ok(s),
        }
    }

    fn healthy() -> Vec<NodeReport> {
        vec![
            node("a", State::Master, true),
            node("b", State::Backup, false),
            node("c", State::Backup, false),
        ]
    }

    fn kinds(p: &[Problem]) -> Vec<&'static str> {
        p.iter().map(|p| p.kind).collect()
    }

    #[test]
    fn a_healthy_cluster_has_no_problems() {
        let nodes = healthy();
        let p = problems(&nodes);
        assert!(p.is_empty(), "{p:?}");
        let table = render(&nodes, &p, 1072.0);
        assert!(
            table.starts_with("NODE  INSTANCE  STATE   PRIO     VIPS           CHECKS  SINCE\n"),
            "{table}"
        );
        assert!(
            table.contains("\na     web       master  150/150  192.0.2.50/24  -       1m12s ago\n"),
            "{table}"
        );
        assert!(
            table.contains("\nb     web       backup  150/150  -              -       1m12s ago\n"),
            "{table}"
        );
        assert!(table.ends_with("\nno problems found\n"), "{table}");
        assert_eq!(to_json(&nodes, &p)["ok"], json!(true));
    }

    #[test]
    fn an_unreachable_node_is_a_row_and_a_problem_with_why() {
        let mut nodes = healthy();
        nodes[1].status = Err("connection refused".into());
        let p = problems(&nodes);
        assert_eq!(kinds(&p), vec!["unreachable"]);
        assert_eq!(
            p[0].message,
            "b (192.0.2.1:9650) cannot be reached: connection refused"
        );
        let table = render(&nodes, &p, 1000.0);
        assert!(
            table.contains("\nb     -         unreachable  -"),
            "{table}"
        );
        assert!(
            table.ends_with("\n! b (192.0.2.1:9650) cannot be reached: connection refused\n"),
            "{table}"
        );
        let j = to_json(&nodes, &p);
        assert_eq!(j["ok"], json!(false));
        assert_eq!(j["nodes"][1]["error"], json!("connection refused"));
        assert_eq!(j["problems"][0]["kind"], json!("unreachable"));
    }

    #[test]
    fn two_holders_two_masters_and_no_master_are_flagged() {
        let mut nodes = healthy();
        nodes[2] = node("c", State::Master, true);
        let p = problems(&nodes);
        assert_eq!(kinds(&p), vec!["several_masters", "vip_on_several_nodes"]);
        assert_eq!(p[0].message, "web: master on a and c");
        assert_eq!(p[1].message, "192.0.2.50/24 is held by a and c");

        // A backup holding the VIP beside the master: two holders, one master.
        let mut nodes = healthy();
        nodes[1] = node("b", State::Backup, true);
        assert_eq!(kinds(&problems(&nodes)), vec!["vip_on_several_nodes"]);

        let mut nodes = healthy();
        nodes[0] = node("a", State::Backup, false);
        let p = problems(&nodes);
        assert_eq!(kinds(&p), vec!["no_master"]);
        assert_eq!(p[0].message, "web: no node is master");

        let mut nodes = healthy();
        nodes[0] = node("a", State::Master, false);
        let p = problems(&nodes);
        assert_eq!(kinds(&p), vec!["vip_missing"]);
        assert_eq!(p[0].message, "web: master a does not hold 192.0.2.50/24");
    }

    #[test]
    fn config_mismatches_name_the_setting_and_both_nodes() {
        let mut nodes = healthy();
        let set = |n: &mut NodeReport, f: &dyn Fn(&mut InstanceStatus)| {
            if let Ok(s) = &mut n.status {
                f(&mut s.instances[0]);
            }
        };
        set(&mut nodes[1], &|i| i.advert_interval_ms = 200);
        set(&mut nodes[2], &|i| {
            i.vrid = 52;
            i.version = 2;
            i.vips.push(vipd_api::VipStatus {
                address: "192.0.2.51/24".into(),
                present: false,
            });
        });
        let p = problems(&nodes);
        let messages: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "web: VRID 51 on a, 52 on c",
                "web: version v3 on a, v2 on c",
                "web: advert interval 100 ms on a, 200 ms on b",
                "web: VIPs 192.0.2.50/24 on a, 192.0.2.50/24,192.0.2.51/24 on c",
            ]
        );
        assert!(p.iter().all(|p| p.kind == "config_mismatch"));
    }

    #[test]
    fn maintenance_and_failing_checks_show_in_the_row() {
        let mut nodes = healthy();
        if let Ok(s) = &mut nodes[1].status {
            let i = &mut s.instances[0];
            i.maintenance = true;
            i.priority_effective = 90;
            i.tracking = vec![vipd_api::TrackStatus {
                check: "nginx".into(),
                weight: -60,
                failing: true,
                adds: -60,
                fault: false,
            }];
        }
        nodes[0].here = true;
        let table = render(&nodes, &problems(&nodes), 1000.0 + 3725.0);
        assert!(
            table.contains("\na (here)  web       master                150/150"),
            "{table}"
        );
        assert!(table.contains("\nb         web       backup (maintenance)  90/150   -              nginx   1h02m ago\n"), "{table}");
    }

    #[test]
    fn a_peers_control_characters_are_not_printed() {
        use std::io::{Read, Write};
        let mut theirs = sample_status();
        theirs.host = "evil".into();
        theirs.instances[0].name = "web\u{1b}]0;pwned\u{7}\u{1b}[2J".into();
        theirs.instances[0].tracking = vec![vipd_api::TrackStatus {
            check: "ng\u{9b}31minx\nfake line".into(),
            weight: -10,
            failing: true,
            adds: -10,
            fault: false,
        }];
        let body = serde_json::to_string(&theirs).expect("encode");
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).expect("read");
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(answer.as_bytes()).expect("write");
        });
        let peer = PeerInfo {
            name: Some("evil".into()),
            address: addr.to_string(),
        };
        let nodes = gather(
            node("a", State::Master, true).status.expect("ok"),
            &[peer],
            Duration::from_secs(2),
        );
        server.join().expect("server");
        let p = problems(&nodes);
        let table = render(&nodes, &p, 1000.0);
        assert!(
            !table.chars().any(|c| c.is_control() && c != '\n'),
            "{table:?}"
        );
        assert!(table.contains("web]0;pwned[2J"), "{table}");
        assert!(table.contains("ng31minx fake line"), "{table}");
    }

    #[test]
    fn announced_instances_have_a_row_each() {
        let mut nodes = healthy();
        if let Ok(s) = nodes[0].status.as_mut() {
            s.announced.push(vipd_api::AnnouncedStatus {
                name: "anycast".into(),
                interface: "vipd0".into(),
                state: "draining".into(),
                reason: "maintenance".into(),
                in_state_s: 0.5,
                transitions: 2,
                weight: 0,
                withdraw_below: 0,
                drain_ms: 2000,
                drain_left_s: Some(1.5),
                vips: vec![vipd_api::VipStatus {
                    address: "192.0.2.80/32".into(),
                    present: false,
                }],
                tracking: Vec::new(),
                maintenance: true,
            });
        }
        let text = render(&nodes, &[], 1_800_000_000.0);
        let line = text
            .lines()
            .find(|l| l.contains("anycast"))
            .unwrap_or_else(|| panic!("no row for the announced instance:\n{text}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            cells[2..],
            ["draining", "(maintenance)", "-", "-", "-", "0s", "ago"]
        );
    }

    #[test]
    fn ages() {
        assert_eq!(age(0.4), "0s");
        assert_eq!(age(59.9), "59s");
        assert_eq!(age(60.0), "1m00s");
        assert_eq!(age(3600.0), "1h00m");
        assert_eq!(age(86400.0 * 2.0 + 7200.0), "2d02h");
        assert_eq!(age(-5.0), "0s");
    }
}
