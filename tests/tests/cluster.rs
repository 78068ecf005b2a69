//! `vipctl status --cluster`: three vipd, a, b and c (priorities 150, 100, 50), each
//! with a metrics listener on its LAN address and `peers:` naming the other two. Asked
//! on c, the cluster view shows all three, a master holding the VIP, b and c backup, and
//! nothing flagged (exit 0). Then b's vipd is killed: b is flagged unreachable (exit 1).
//! Then b comes back with another advert interval: the mismatch is flagged (exit 1).

use std::time::{Duration, Instant};

use serde_json::Value;
use vipd_e2e::{
    describe, vipd_yaml, wait_master, wait_until, Host, Lan, VipdInstance, VIP4, VIP4_CIDR,
};

const PORT: u16 = 9650;

/// web at `priority` advertising every `interval`, a metrics listener on the host's LAN
/// address and the `others` as peers, by name.
fn config(h: &Host, priority: u8, interval: &str, others: &[&Host]) -> String {
    let mut y = vipd_yaml(
        Some("debug"),
        &[VipdInstance::new("web", 51, &[VIP4_CIDR])
            .priority(priority)
            .advert_interval(interval)],
    );
    y.push_str(&format!(
        "metrics:\n  listen: \"{}:{PORT}\"\ncluster_peers:\n",
        h.ipv4
    ));
    for o in others {
        y.push_str(&format!(
            "  - name: {}\n    address: \"{}:{PORT}\"\n",
            o.name, o.ipv4
        ));
    }
    y
}

/// `vipctl status --cluster --json` on `h`: exit code, the parsed output, and the time
/// it took.
fn cluster_json(h: &Host) -> (Option<i32>, Value, Duration) {
    let started = Instant::now();
    let out = h.vipctl(&["status", "--cluster", "--json"]);
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    match serde_json::from_str(&text) {
        Ok(v) => (out.status.code(), v, took),
        Err(e) => panic!(
            "--cluster --json is not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// (node, state, holds the VIP) for every node that answered, in the output's order.
fn rows(v: &Value) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for n in v["nodes"].as_array().into_iter().flatten() {
        let node = n["node"].as_str().unwrap_or("?").to_owned();
        for i in n["status"]["instances"].as_array().into_iter().flatten() {
            let holds = i["vips"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["present"] == Value::Bool(true));
            out.push((
                node.clone(),
                i["state"].as_str().unwrap_or("?").to_owned(),
                holds,
            ));
        }
    }
    out
}

/// The first `n` words of the table row of `node`.
fn fields<'t>(table: &'t str, node: &str, n: usize) -> Option<Vec<&'t str>> {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(node))
        .map(|l| l.split_whitespace().take(n).collect())
}

fn problems(v: &Value) -> Vec<(String, String)> {
    v["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["kind"].as_str().unwrap_or("?").to_owned(),
                p["message"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

#[test]
fn cluster_status_shows_every_node_and_flags_what_is_wrong() {
    let lan = Lan::new("cluster");
    let a = lan.host_at("a", 11);
    let b = lan.host_at("b", 12);
    let c = lan.host_at("c", 13);
    a.spawn_vipd(&config(&a, 150, "200ms", &[&b, &c]));
    b.spawn_vipd(&config(&b, 100, "200ms", &[&a, &c]));
    c.spawn_vipd(&config(&c, 50, "200ms", &[&a, &b]));
    let all = [&a, &b, &c];
    assert!(
        wait_master(&a, VIP4, Duration::from_secs(5)),
        "a did not become master:\n{}",
        describe(&all, VIP4)
    );

    // Each node publishes its status after its next kernel read (within a second).
    let healthy = vec![
        (c.name.clone(), "backup".to_owned(), false),
        (a.name.clone(), "master".to_owned(), true),
        (b.name.clone(), "backup".to_owned(), false),
    ];
    let mut last = (None, Value::Null, Duration::ZERO);
    let settled = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        last = cluster_json(&c);
        let mut got = rows(&last.1);
        // This node is listed by its hostname; call it c.
        if let Some(first) = got.first_mut() {
            first.0 = c.name.clone();
        }
        last.0 == Some(0) && got == healthy
    });
    assert!(
        settled,
        "c's cluster view within 5 s: {:?}\n{:#}",
        last.0, last.1
    );
    let (_, v, took) = &last;
    assert_eq!(v["ok"], Value::Bool(true));
    assert_eq!(v["nodes"][0]["here"], Value::Bool(true));
    assert_eq!(v["nodes"].as_array().map(Vec::len), Some(3));
    let holders = rows(v).iter().filter(|r| r.2).count();
    assert_eq!(holders, 1, "{v:#}");
    println!("healthy cluster view on c took {} ms", took.as_millis());
    let text = c.vipctl(&["status", "--cluster"]);
    let table = String::from_utf8_lossy(&text.stdout).into_owned();
    println!("{table}");
    assert_eq!(text.status.code(), Some(0), "{table}");
    assert!(table.starts_with("NODE "), "{table}");
    assert_eq!(
        fields(&table, "a", 5),
        Some(vec!["a", "web", "master", "150/150", VIP4_CIDR]),
        "{table}"
    );
    assert!(table.ends_with("\nno problems found\n"), "{table}");

    // b's vipd dies: unreachable, said why, exit 1.
    b.crash_vipd();
    let (code, v, took) = cluster_json(&c);
    assert_eq!(code, Some(1), "{v:#}");
    let p = problems(&v);
    assert!(
        p.iter().any(|(k, m)| k == "unreachable"
            && m.starts_with(&format!(
                "b ({}:{PORT}) cannot be reached: connection refused",
                b.ipv4
            ))),
        "{p:?}"
    );
    assert_eq!(v["nodes"][2]["node"], Value::String("b".into()));
    assert!(v["nodes"][2]["error"].is_string(), "{v:#}");
    // Refused at once: no waiting for the 1 s timeout.
    assert!(took < Duration::from_secs(3), "{took:?}");
    let text = c.vipctl(&["status", "--cluster"]);
    let table = String::from_utf8_lossy(&text.stdout).into_owned();
    println!("{table}");
    assert_eq!(text.status.code(), Some(1));
    assert_eq!(
        fields(&table, "b", 3),
        Some(vec!["b", "-", "unreachable"]),
        "{table}"
    );
    assert!(table.contains("\n! b ("), "{table}");

    // b back with another advert interval: a configuration mismatch.
    b.spawn_vipd(&config(&b, 100, "300ms", &[&a, &c]));
    let mut last = (None, Value::Null, Duration::ZERO);
    let expected = format!("web: advert interval 200 ms on {}, 300 ms on b", "c");
    let flagged = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        last = cluster_json(&c);
        let p = problems(&last.1);
        p.iter()
            .any(|(k, m)| k == "config_mismatch" && m.ends_with("300 ms on b"))
            && !p.iter().any(|(k, _)| k == "unreachable")
    });
    assert!(
        flagged,
        "no mismatch flagged within 5 s ({expected}): {:#}",
        last.1
    );
    assert_eq!(last.0, Some(1), "{:#}", last.1);
    let text = c.vipctl(&["status", "--cluster"]);
    let table = String::from_utf8_lossy(&text.stdout).into_owned();
    println!("{table}");
    assert_eq!(text.status.code(), Some(1));
    assert!(table.contains("ms on b\n"), "{table}");
}
