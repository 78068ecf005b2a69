//! `cluster_peers:`: the other nodes' metrics listeners; the default from unicast peers;
//! errors pinned to file, line and field.

use std::net::SocketAddr;
use std::path::Path;

use vipd::config::{self, Config, ConfigError};

fn parse(text: &str) -> Result<Config, ConfigError> {
    config::parse(text, Path::new("/etc/vipd.yaml"))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

const UNICAST: &str = "\
metrics:
  listen: 192.0.2.1:9650
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
    unicast_peers: [192.0.2.2, 192.0.2.3]
  - name: db
    interface: eth0
    vrid: 52
    vips: [192.0.2.60/24]
    unicast_peers: [192.0.2.3]
";

#[test]
fn listed_peers_are_kept_in_order_with_names() {
    let c = parse(
        "cluster_peers:\n  - address: 192.0.2.3:9650\n    name: lb-c\n  - address: \"[2001:db8::2]:9651\"\n\
         instances:\n  - name: web\n    interface: eth0\n    vrid: 51\n    vips: [192.0.2.50/24]\n",
    )
    .expect("valid");
    let got: Vec<_> = c
        .peers
        .iter()
        .map(|p| (p.name.as_deref(), p.address))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("lb-c"), addr("192.0.2.3:9650")),
            (None, addr("[2001:db8::2]:9651"))
        ]
    );
}

#[test]
fn default_is_the_unicast_peers_at_the_own_metrics_port() {
    let c = parse(UNICAST).expect("valid");
    let got: Vec<_> = c.peers.iter().map(|p| p.address).collect();
    assert_eq!(got, vec![addr("192.0.2.2:9650"), addr("192.0.2.3:9650")]);
    // Without a metrics listener there is no port to take.
    let c = parse(&UNICAST.replace("metrics:\n  listen: 192.0.2.1:9650\n", "")).expect("valid");
    assert!(c.peers.is_empty(), "{:?}", c.peers);
    // An explicit empty list means none.
    let c = parse(&format!("cluster_peers: []\n{UNICAST}")).expect("valid");
    assert!(c.peers.is_empty(), "{:?}", c.peers);
}

#[test]
fn bad_peers_name_file_line_and_field() {
    let cases = [
        ("cluster_peers:\n  - address: 192.0.2.3\n", "/etc/vipd.yaml:2:", "cluster_peers[0].address"),
        ("cluster_peers:\n  - address: 192.0.2.3:0\n", "/etc/vipd.yaml:2:", "cluster_peers[0].address"),
        ("cluster_peers:\n  - name: c\n", "/etc/vipd.yaml:", "cluster_peers[0].address"),
        (
            "cluster_peers:\n  - address: 192.0.2.3:9650\n  - address: 192.0.2.3:9650\n",
            "/etc/vipd.yaml:3:",
            "cluster_peers[1].address",
        ),
        (
            "cluster_peers:\n  - address: 192.0.2.1:9650\n",
            "/etc/vipd.yaml:2:",
            "cluster_peers[0].address",
        ),
        (
            "cluster_peers:\n  - address: 192.0.2.3:9650\n    port: 1\n",
            "/etc/vipd.yaml:3:",
            "cluster_peers[0]",
        ),
        (
            "cluster_peers:\n  - address: 192.0.2.3:9650\n    name: a\n  - address: 192.0.2.4:9650\n    name: a\n",
            "/etc/vipd.yaml:5:",
            "cluster_peers[1].name",
        ),
    ];
    for (top, at, field) in cases {
        let e = parse(&format!("{top}{UNICAST}"))
            .expect_err(top)
            .to_string();
        assert!(e.starts_with(at), "{top:?}: {e}");
        assert!(e.contains(field), "{top:?}: {e}");
    }
}
