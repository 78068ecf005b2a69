//! `checks:` and `track:` in the config file: the shape the README documents, defaults,
//! and bad checks and track lists pinned to their line and field.

mod common;

use common::{parse, rejects};

use std::path::{Path, PathBuf};
use std::time::Duration;

use vipd::config::{self, CheckInit, CheckKind, StatusMatch, Track};

/// The example, as users will write it.
const DOCUMENTED: &str = "\
checks:
  nginx:                                  # a name of your choice
    process: {pidfile: /run/nginx.pid}    # or {name: nginx}
  nginx_http:
    http: http://127.0.0.1/healthz        # GET; 2xx is up unless expect_status says otherwise
    interval: 1s
    timeout: 500ms
    rise: 2
    fall: 1
  upstream:
    exec: [/usr/local/bin/check-upstream, --quick]   # argv, no shell; exit 0 = up
    user: nobody
  uplink:
    interface: eth1
  drain:
    file: /etc/vipd/drain
  db:
    tcp: 192.0.2.20:5432
    init: up
instances:
  - name: web
    interface: eth0
    vrid: 51
    vips: [192.0.2.50/24]
    track:
      - nginx                             # bare name: failing puts the instance in Fault
      - {check: nginx_http}               # same as bare
      - {check: upstream, weight: -60}    # <0 applies while failing, >0 while up
      - {check: drain, weight: 1}
";

#[test]
fn documented_checks_parse() {
    let c = parse(DOCUMENTED).expect("valid");
    assert_eq!(c.checks.len(), 6);
    let nginx = &c.checks["nginx"];
    match &nginx.kind {
        CheckKind::Process(p) => {
            assert_eq!(p.pidfile, Some(PathBuf::from("/run/nginx.pid")));
            assert_eq!(p.name, None);
        }
        other => panic!("nginx is {other:?}"),
    }
    assert_eq!(nginx.interval, Duration::from_secs(1));
    assert_eq!(nginx.timeout, Duration::from_millis(500));
    assert_eq!((nginx.rise, nginx.fall), (2, 2));
    assert_eq!(nginx.init, CheckInit::Down);
    let http = &c.checks["nginx_http"];
    match &http.kind {
        CheckKind::Http(h) => {
            assert_eq!(h.target.to_string(), "127.0.0.1:80");
            assert_eq!(h.path, "/healthz");
            assert_eq!(h.expect_status, vec![StatusMatch::Class(2)]);
            assert_eq!(h.expect_body, None);
        }
        other => panic!("nginx_http is {other:?}"),
    }
    assert_eq!((http.rise, http.fall), (2, 1));
    match &c.checks["upstream"].kind {
        CheckKind::Exec { argv, user } => {
            assert_eq!(argv, &["/usr/local/bin/check-upstream", "--quick"]);
            assert_eq!(user.as_deref(), Some("nobody"));
        }
        other => panic!("upstream is {other:?}"),
    }
    assert_eq!(c.checks["uplink"].kind, CheckKind::Interface("eth1".into()));
    assert_eq!(
        c.checks["drain"].kind,
        CheckKind::File(PathBuf::from("/etc/vipd/drain"))
    );
    assert_eq!(c.checks["db"].init, CheckInit::Up);
    let track = |check: &str, weight| Track {
        check: check.into(),
        weight,
    };
    assert_eq!(
        c.instances[0].track,
        vec![
            track("nginx", 0),
            track("nginx_http", 0),
            track("upstream", -60),
            track("drain", 1)
        ]
    );
}

#[test]
fn no_checks_no_tracking() {
    let c = parse(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1/24]\n",
    )
    .expect("valid");
    assert!(c.checks.is_empty());
    assert!(c.instances[0].track.is_empty());
}

#[test]
fn http_options() {
    let c = parse(
        "checks:\n  h:\n    http: \"http://[2001:db8::1]:8080/ready?full=1\"\n    expect_status: [200, 3xx]\n    expect_body: OK\ninstances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1/24]\n",
    )
    .expect("valid");
    match &c.checks["h"].kind {
        CheckKind::Http(h) => {
            assert_eq!(h.target.to_string(), "[2001:db8::1]:8080");
            assert_eq!(h.host_header, "[2001:db8::1]:8080");
            assert_eq!(h.path, "/ready?full=1");
            assert_eq!(
                h.expect_status,
                vec![StatusMatch::Exact(200), StatusMatch::Class(3)]
            );
            assert_eq!(h.expect_body.as_deref(), Some("OK"));
        }
        other => panic!("h is {other:?}"),
    }
}

#[test]
fn a_process_check_can_be_limited_to_a_user() {
    let c = parse(&with_check(
        "    process: {name: nginx, user: root}\n",
        "[c]",
    ))
    .expect("valid");
    match &c.checks["c"].kind {
        CheckKind::Process(p) => {
            assert_eq!(p.name.as_deref(), Some("nginx"));
            assert_eq!(p.user.as_deref(), Some("root"));
            assert_eq!(p.pidfile, None);
        }
        other => panic!("c is {other:?}"),
    }
    assert_eq!(c.checks["c"].kind.target(), "name nginx (user root)");
    rejects(
        &with_check("    process: {name: nginx, user: \"\"}\n", "[c]"),
        3,
        Some("checks.c.process.user"),
        "empty",
    );
    // The check-level `user` is the exec check's; the process check's is inside.
    rejects(
        &with_check("    process: {name: nginx}\n    user: root\n", "[c]"),
        4,
        Some("checks.c.user"),
        "process: {name: nginx, user: root}",
    );
}

/// `checks:` with one check `c` written as `body` (indented lines), and an instance
/// that tracks `track`.
fn with_check(body: &str, track: &str) -> String {
    format!(
        "checks:\n  c:\n{body}instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1/24]\n    track: {track}\n"
    )
}

#[test]
fn rejects_bad_checks_at_their_line() {
    rejects(
        &with_check("    http: https://127.0.0.1/\n", "[c]"),
        3,
        Some("checks.c.http"),
        "https is not supported",
    );
    rejects(
        &with_check("    http: http://127.0.0.1:0/\n", "[c]"),
        3,
        Some("checks.c.http"),
        "is not a port",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1\n", "[c]"),
        3,
        Some("checks.c.tcp"),
        "has no port",
    );
    rejects(
        &with_check("    exec: /bin/true --x\n", "[c]"),
        3,
        Some("checks.c.exec"),
        "write the program and its arguments as a list",
    );
    rejects(
        &with_check("    exec: [check-upstream, --quick]\n", "[c]"),
        3,
        Some("checks.c.exec[0]"),
        "`check-upstream` is not an absolute path",
    );
    rejects(
        &with_check("    exec: [./bin/check]\n", "[c]"),
        3,
        Some("checks.c.exec[0]"),
        "is not an absolute path",
    );
    rejects(
        &with_check("    exec: []\n", "[c]"),
        3,
        Some("checks.c.exec"),
        "the list is empty",
    );
    rejects(
        &with_check("    process: {}\n", "[c]"),
        3,
        Some("checks.c.process"),
        "`pidfile`, `name` or both",
    );
    rejects(
        &with_check("    process: {pidfile: run/nginx.pid}\n", "[c]"),
        3,
        Some("checks.c.process.pidfile"),
        "not an absolute path",
    );
    rejects(
        &with_check("    process: {pid: 3}\n", "[c]"),
        3,
        Some("checks.c.process.pid"),
        "unknown field `pid`",
    );
    rejects(
        &with_check(
            "    tcp: 127.0.0.1:80\n    http: http://127.0.0.1/\n",
            "[c]",
        ),
        3,
        Some("checks.c.tcp"),
        "has both `http` and `tcp`",
    );
    rejects(
        &with_check("    interval: 1s\n", "[c]"),
        3,
        Some("checks.c"),
        "a check needs one of",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n    user: nobody\n", "[c]"),
        4,
        Some("checks.c.user"),
        "does not apply to a tcp check",
    );
    rejects(
        &with_check("    process: {name: nginx}\n    fall: 1\n", "[c]"),
        4,
        Some("checks.c.fall"),
        "does not apply to a process check",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n    interval: 10ms\n", "[c]"),
        4,
        Some("checks.c.interval"),
        "out of range 100ms..=60m",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n    rise: 0\n", "[c]"),
        4,
        Some("checks.c.rise"),
        "0 is out of range 1..=100",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n    init: maybe\n", "[c]"),
        4,
        Some("checks.c.init"),
        "neither up nor down",
    );
    rejects(
        &with_check(
            "    http: http://127.0.0.1/\n    expect_status: 700\n",
            "[c]",
        ),
        4,
        Some("checks.c.expect_status"),
        "not an HTTP status",
    );
    rejects(
        &with_check("    interface: eth0:1\n", "[c]"),
        3,
        Some("checks.c.interface"),
        "not a valid interface name",
    );
    rejects(
        &with_check("    tcpp: 127.0.0.1:80\n", "[c]"),
        3,
        Some("checks.c.tcpp"),
        "unknown field `tcpp`",
    );
}

#[test]
fn rejects_bad_track_lists_at_their_line() {
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n", "[nginx]"),
        9,
        Some("instances[0].track[0]"),
        "unknown check `nginx`; declared checks: c",
    );
    rejects(
        &with_check(
            "    tcp: 127.0.0.1:80\n",
            "\n      - c\n      - {check: d, weight: -5}",
        ),
        11,
        Some("instances[0].track[1].check"),
        "unknown check `d`",
    );
    rejects(
        &with_check(
            "    tcp: 127.0.0.1:80\n",
            "\n      - c\n      - {check: c, weight: 10}",
        ),
        11,
        Some("instances[0].track[1].check"),
        "already tracked by track[0]",
    );
    rejects(
        &with_check(
            "    tcp: 127.0.0.1:80\n",
            "\n      - {check: c, weight: -255}",
        ),
        10,
        Some("instances[0].track[0].weight"),
        "-255 is out of range -254..=254",
    );
    rejects(
        &with_check("    tcp: 127.0.0.1:80\n", "\n      - {check: c, wieght: 5}"),
        10,
        Some("instances[0].track[0].wieght"),
        "unknown field `wieght`",
    );
    rejects(
        "instances:\n  - name: a\n    interface: eth0\n    vrid: 1\n    vips: [192.0.2.1/24]\n    track: [x]\n",
        6,
        Some("instances[0].track[0]"),
        "no checks are declared",
    );
}

#[test]
fn the_nginx_example_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/nginx");
    for (file, priority) in [("vipd-a.yaml", 150), ("vipd-b.yaml", 100)] {
        let c = config::load(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(c.instances[0].priority, priority, "{file}");
        let tracked: Vec<&str> = c.instances[0]
            .track
            .iter()
            .map(|t| t.check.as_str())
            .collect();
        assert_eq!(tracked, ["nginx", "nginx_http", "drain"], "{file}");
    }
}
