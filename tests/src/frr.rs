//! Routing daemons in a host's namespace, for the announce (BGP) lab: FRR's zebra and
//! bgpd with a path space of their own (`-N <namespace>`: runtime directory
//! `/var/run/frr/<namespace>/`, where `vtysh -N` finds them), and BIRD 2 with its
//! control socket under the host's directory. Each runs in the foreground as a child of
//! the test, is killed when dropped (and with the namespace anyway), and logs under the
//! host's directory.
//!
//! Also: the client side of a router, a veth pair straight from the router's namespace
//! into the client's (198.51.100.0/24, RFC 5737 TEST-NET-2, nothing else), and reading
//! the next hops the router's kernel has for a prefix.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::lan::Host;
use crate::proc::Proc;
use crate::util::{run, run_ok, wait_until};

/// Where Debian's frr package puts its daemons.
const FRR_DIR: &str = "/usr/lib/frr";

/// Panics unless `a` is in 192.0.2.0/24 or 198.51.100.0/24 (the lab's only addresses).
pub fn assert_lab_address(a: &str) {
    let ok = match a.parse::<std::net::Ipv4Addr>() {
        Ok(v4) => matches!(v4.octets()[..3], [192, 0, 2] | [198, 51, 100]),
        Err(_) => false,
    };
    assert!(ok, "{a} is outside 192.0.2.0/24 and 198.51.100.0/24");
}

/// zebra and bgpd in one namespace.
pub struct Frr {
    ns: String,
    /// `/var/run/frr/<namespace>`: the path space's runtime directory (removed on drop).
    run_dir: PathBuf,
    // bgpd first: it goes before zebra.
    bgpd: Option<Proc>,
    zebra: Option<Proc>,
}

impl Frr {
    /// Starts zebra, then bgpd with `bgpd_conf` (FRR configuration text), in `h`'s
    /// namespace; returns once both answer `vtysh -N` (panics if not within 10 s).
    pub fn start(h: &Host, bgpd_conf: &str) -> Frr {
        for d in ["zebra", "bgpd"] {
            assert!(
                std::path::Path::new(FRR_DIR).join(d).is_file(),
                "the announce lab needs FRR ({FRR_DIR}/{d}; Debian package frr); install it \
                 with apt-get or run `bash .ci/run`, which does"
            );
        }
        let ns = h.ns().name().to_string();
        let run_dir = PathBuf::from("/var/run/frr").join(&ns);
        if let Err(e) = std::fs::create_dir_all(&run_dir) {
            panic!("cannot create {}: {e}", run_dir.display());
        }
        // The daemons drop to the frr user: it owns its runtime directory.
        run_ok(Command::new("chown").arg("frr:frr").arg(&run_dir));
        let dir = h.dir().join("frr");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let write = |name: &str, text: &str| -> PathBuf {
            let p = dir.join(name);
            if let Err(e) = std::fs::write(&p, text) {
                panic!("cannot write {}: {e}", p.display());
            }
            run_ok(Command::new("chmod").arg("0644").arg(&p));
            p
        };
        // Readable by the frr user (the host's directory may not be), its logs written
        // by it.
        run_ok(Command::new("chmod").arg("0755").arg(h.dir()).arg(&dir));
        run_ok(Command::new("chown").arg("frr:frr").arg(&dir));
        let zebra_conf = write("zebra.conf", "frr defaults datacenter\n");
        let bgpd_path = write("bgpd.conf", bgpd_conf);
        let daemon = |name: &str, conf: &PathBuf| -> Proc {
            let mut cmd = h.command(format!("{FRR_DIR}/{name}"));
            cmd.arg("-N")
                .arg(&ns)
                .arg("-f")
                .arg(conf)
                .arg("-i")
                .arg(run_dir.join(format!("{name}.pid")))
                .arg("--log")
                .arg(format!(
                    "file:{}",
                    dir.join(format!("{name}.log")).display()
                ));
            Proc::spawn(cmd, name, &dir.join(format!("{name}.out")))
        };
        let zebra = daemon("zebra", &zebra_conf);
        let mut frr = Frr {
            ns: ns.clone(),
            run_dir: run_dir.clone(),
            bgpd: None,
            zebra: Some(zebra),
        };
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            frr.try_vtysh("show version").is_ok()
        });
        assert!(up, "zebra in {} does not answer vtysh within 10 s", frr.ns);
        frr.bgpd = Some(daemon("bgpd", &bgpd_path));
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            frr.try_vtysh("show bgp summary")
                .is_ok_and(|t| !t.contains("is not running"))
        });
        assert!(up, "bgpd in {} does not answer vtysh within 10 s", frr.ns);
        frr
    }

    /// `vtysh -N <namespace> -c <command>`: its output, or why it failed.
    pub fn try_vtysh(&self, command: &str) -> Result<String, String> {
        let out = run(Command::new("vtysh")
            .arg("-N")
            .arg(&self.ns)
            .arg("-c")
            .arg(command));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!(
                "{text}{}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The daemons' logs, for failure reports.
    pub fn logs(&self) -> String {
        [self.bgpd.as_ref(), self.zebra.as_ref()]
            .into_iter()
            .flatten()
            .map(|p| format!("--- {} ---\n{}", p.what(), p.log_tail(20)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // bgpd before zebra (Proc's drop kills), then the runtime directory.
        self.bgpd = None;
        self.zebra = None;
        let _ = std::fs::remove_dir_all(&self.run_dir);
    }
}

/// BIRD 2 in one namespace.
pub struct Bird {
    socket: PathBuf,
    bird: Option<Proc>,
}

impl Bird {
    /// Starts bird in the foreground with `conf` (BIRD configuration text) in `h`'s
    /// namespace; returns once `birdc` answers on its socket (panics if not within
    /// 10 s).
    pub fn start(h: &Host, conf: &str) -> Bird {
        let dir = h.dir().join("bird");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        let path = dir.join("bird.conf");
        if let Err(e) = std::fs::write(&path, conf) {
            panic!("cannot write {}: {e}", path.display());
        }
        let socket = dir.join("bird.ctl");
        let mut cmd = h.command("bird");
        cmd.arg("-f").arg("-c").arg(&path).arg("-s").arg(&socket);
        let bird = Proc::spawn(cmd, "bird", &dir.join("bird.out"));
        let b = Bird {
            socket,
            bird: Some(bird),
        };
        let up = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            b.birdc("show status").is_ok()
        });
        assert!(up, "bird does not answer on its socket within 10 s");
        b
    }

    /// `birdc -s <socket> <command>`.
    pub fn birdc(&self, command: &str) -> Result<String, String> {
        let out = run(Command::new("birdc")
            .arg("-s")
            .arg(&self.socket)
            .args(command.split_whitespace()));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    pub fn log_tail(&self) -> String {
        self.bird
            .as_ref()
            .map(|p| p.log_tail(20))
            .unwrap_or_default()
    }
}

/// Gives `router` an interface `eth1` with `router_addr`/24 and `client` one (`eth1`
/// too) with `client_addr`/24 and a default route through the router: a veth pair
/// created in the router's namespace with its peer going straight into the client's.
/// Both addresses from 198.51.100.0/24.
pub fn client_link(router: &Host, router_addr: &str, client: &Host, client_addr: &str) {
    for a in [router_addr, client_addr] {
        assert_lab_address(a);
        assert!(
            a.starts_with("198.51.100."),
            "{a}: the client side is 198.51.100.0/24"
        );
    }
    router.ns().ip(&[
        "link",
        "add",
        "eth1",
        "type",
        "veth",
        "peer",
        "name",
        "eth1",
        "netns",
        client.ns().name(),
    ]);
    router
        .ns()
        .ip(&["addr", "add", &format!("{router_addr}/24"), "dev", "eth1"]);
    router.ns().ip(&["link", "set", "eth1", "up"]);
    client
        .ns()
        .ip(&["addr", "add", &format!("{client_addr}/24"), "dev", "eth1"]);
    client.ns().ip(&["link", "set", "eth1", "up"]);
    client
        .ns()
        .ip(&["route", "add", "default", "via", router_addr]);
}

/// The next hops (gateways) of `prefix` in `host`'s main routing table, sorted; empty
/// when there is no such route.
pub fn next_hops(host: &Host, prefix: &str) -> Vec<String> {
    let text = host.ns().ip(&["route", "show", "exact", prefix]);
    let mut hops: Vec<String> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "via")
        .map(|w| w[1].to_string())
        .collect();
    hops.sort();
    hops.dedup();
    hops
}

/// The anycast lab's VIP, announced by every healthy web host.
pub const ANYCAST_VIP: &str = "192.0.2.200";
/// [`ANYCAST_VIP`] as the host route the router learns.
pub const ANYCAST_PREFIX: &str = "192.0.2.200/32";

/// The lab router's bgpd: AS 65000, ECMP over up to 8 paths, any web host of the LAN
/// as a dynamic eBGP neighbor.
pub const ROUTER_CONF: &str = "\
frr defaults datacenter
router bgp 65000
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor WEB peer-group
 neighbor WEB remote-as external
 bgp listen range 192.0.2.0/24 peer-group WEB
 address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
exit
";

/// The shipped `examples/bgp/frr.conf`, with router id `addr`.
pub fn host_conf(addr: &str) -> String {
    let path = crate::bins::workspace_root().join("examples/bgp/frr.conf");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    assert!(
        text.contains("bgp router-id 192.0.2.11"),
        "examples/bgp/frr.conf no longer has the router id the lab replaces"
    );
    text.replace("bgp router-id 192.0.2.11", &format!("bgp router-id {addr}"))
}

/// One web host of the lab: nginx, its own FRR, vipd (once started).
pub struct AnycastWeb {
    pub host: Host,
    pub nginx: crate::web::Nginx,
    _frr: Frr,
}

impl AnycastWeb {
    /// Its address on the LAN (its BGP next hop at the router).
    pub fn addr(&self) -> String {
        self.host
            .addresses_on("eth0")
            .iter()
            .find_map(|a| {
                a.strip_suffix("/24")
                    .filter(|a| a.contains('.'))
                    .map(str::to_string)
            })
            .unwrap_or_default()
    }
}

/// The anycast lab: router r (192.0.2.1, [`ROUTER_CONF`], forwarding, L4 multipath
/// hashing), web hosts w1..wN (192.0.2.11.., each with nginx, FRR from the shipped
/// snippet, vipd running `vipd_yaml`, a route to the client side through r), and a
/// client c behind r only (198.51.100.10; its LAN interface down). Returns once the
/// router has a path through every web host (panics if not within 30 s).
pub struct AnycastLab {
    pub router: Host,
    pub client: Host,
    pub webs: Vec<AnycastWeb>,
    _router_frr: Frr,
    // Last: torn down after the hosts.
    _lan: crate::lan::Lan,
}

impl AnycastLab {
    pub fn start(test_id: &str, webs: u8, vipd_yaml: &str) -> AnycastLab {
        let lan = crate::lan::Lan::new(test_id);
        let router = lan.host_at("r", 1);
        router.ns().sysctl(&[
            "net.ipv4.ip_forward=1",
            "net.ipv4.fib_multipath_hash_policy=1",
        ]);
        let router_frr = Frr::start(&router, ROUTER_CONF);
        let client = lan.host_at("c", 99);
        client.ns().ip(&["addr", "flush", "dev", "eth0"]);
        client.ns().ip(&["link", "set", "eth0", "down"]);
        client_link(&router, "198.51.100.1", &client, "198.51.100.10");
        let webs: Vec<AnycastWeb> = (1..=webs)
            .map(|n| {
                let host = lan.host_at(&format!("w{n}"), 10 + n);
                host.ns()
                    .ip(&["route", "add", "198.51.100.0/24", "via", "192.0.2.1"]);
                let nginx = crate::web::Nginx::start(&host);
                let frr = Frr::start(&host, &host_conf(&format!("192.0.2.{}", 10 + n)));
                host.spawn_vipd(vipd_yaml);
                AnycastWeb {
                    host,
                    nginx,
                    _frr: frr,
                }
            })
            .collect();
        let lab = AnycastLab {
            router,
            client,
            webs,
            _router_frr: router_frr,
            _lan: lan,
        };
        let all: Vec<String> = lab.webs.iter().map(AnycastWeb::addr).collect();
        let full = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
            lab.hops() == all
        });
        assert!(
            full,
            "the router never had a path through every web host: {:?}\n{}",
            lab.hops(),
            lab.router.ns().ip(&["route"])
        );
        lab
    }

    /// The router's next hops for [`ANYCAST_PREFIX`].
    pub fn hops(&self) -> Vec<String> {
        next_hops(&self.router, ANYCAST_PREFIX)
    }

    /// Polls the router every 5 ms until `f(next hops)` holds; when it first did (epoch
    /// seconds), or none within `limit`.
    pub fn when_hops(&self, limit: Duration, f: impl Fn(&[String]) -> bool) -> Option<f64> {
        let mut at = None;
        wait_until(limit, Duration::from_millis(5), || {
            let ok = f(&self.hops());
            if ok {
                at = Some(crate::util::epoch_now());
            }
            ok
        });
        at
    }
}

/// The lab's vipd configuration: nginx tracked with an http check every `interval_ms`
/// (timeout 80 ms, fall 1, rise `rise`), the VIP announced, drained for 1 s.
pub fn anycast_vipd_yaml(interval_ms: u64, rise: u64) -> String {
    format!(
        "checks:\n  nginx:\n    http: http://127.0.0.1/healthz\n    interval: {interval_ms}ms\n    \
         timeout: 80ms\n    fall: 1\n    rise: {rise}\n\
         announce:\n  - name: web\n    vips: [\"{ANYCAST_PREFIX}\"]\n    track: [nginx]\n    drain: 1s\n"
    )
}
