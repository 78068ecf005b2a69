//! Socket opens are answered by id: an answer for an interface that was deleted and
//! re-created since, or for a superseded open, starts nothing; a failed open keeps the
//! instance waiting and says why.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use vipd_engine::{V3Checksum, Version};
use vipd_node::config::{Config, GarpConfig, InstanceConfig};
use vipd_node::{Addr, Command, Event, HostInfo, IfaceRead, Instant, Link, Node, OpenId, ReadId};

fn config() -> Config {
    Config {
        control_socket: PathBuf::from("/run/vipd/vipd.sock"),
        realtime_priority: 0,
        lock_memory: false,
        metrics: None,
        peers: Vec::new(),
        log_level: None,
        state_dir: PathBuf::from("/var/lib/vipd"),
        admin_gid: None,
        instances: vec![InstanceConfig {
            name: "web".into(),
            interface: "eth0".into(),
            vrid: 51,
            priority: 150,
            advert_interval: Duration::from_millis(100),
            version: Version::V3,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept: true,
            checksum: V3Checksum::PseudoHeader,
            vips: vec!["192.0.2.50/24".parse().expect("vip")],
            unicast_peers: Vec::new(),
            routers: None,
            auth: None,
            garp: GarpConfig {
                count: 3,
                repeat_after: Duration::from_secs(2),
                refresh: Duration::ZERO,
            },
            track: Vec::new(),
            notify: vipd_node::config::NotifyConfig::none(),
        }],
        checks: Default::default(),
        groups: Vec::new(),
        announce: Vec::new(),
    }
}

fn read(index: u32) -> Vec<IfaceRead> {
    vec![IfaceRead {
        name: "eth0".into(),
        link: Ok(Link {
            index,
            name: "eth0".into(),
            mac: [2, 0, 0, 0, 0, 1],
            up: true,
        }),
        addrs: Some(Ok(vec![Addr {
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 11)),
            prefix_len: 24,
            tentative: false,
            link_local: false,
            protocol: None,
            label: None,
        }])),
    }]
}

fn commands(node: &mut Node) -> Vec<Command> {
    std::iter::from_fn(|| node.poll_command()).collect()
}

fn read_id(cmds: &[Command]) -> ReadId {
    cmds.iter()
        .find_map(|c| match c {
            Command::ReadKernel { id, .. } => Some(*id),
            _ => None,
        })
        .expect("a kernel read")
}

fn open(cmds: &[Command]) -> (OpenId, u32) {
    cmds.iter()
        .find_map(|c| match c {
            Command::OpenSockets { id, ifindex, .. } => Some((*id, *ifindex)),
            _ => None,
        })
        .expect("a socket open")
}

fn running(node: &Node) -> bool {
    node.instances().any(|(_, r)| r.is_some())
}

const T: Instant = Instant::ZERO;

/// A node for `config()`, started at T.
fn node() -> Node {
    let host = HostInfo {
        hostname: "h".into(),
        pid: 1,
        started_unix_ns: 0,
        auth: Default::default(),
    };
    Node::new(T, config(), host, Default::default())
}

/// Answers the read the node asked for with eth0 at `index`; returns the socket open
/// that follows (its id and interface index).
fn answer_read(node: &mut Node, t: Instant, index: u32) -> (OpenId, u32) {
    let id = read_id(&commands(node));
    node.handle(
        t,
        Event::KernelRead {
            id,
            interfaces: read(index),
        },
    );
    open(&commands(node))
}

#[test]
fn an_answer_for_a_recreated_interface_starts_nothing() {
    let mut node = node();
    let (old, index) = answer_read(&mut node, T, 2);
    assert_eq!(index, 2);
    // eth0 is deleted and re-created (index 3) before the open is answered.
    node.handle(T, Event::LinkGone(2));
    node.handle(T, Event::AddressesChanged(3));
    let (new, index) = answer_read(&mut node, T, 3);
    assert_eq!(index, 3);
    assert_ne!(new, old);
    // The old answer starts nothing; the new one starts the instance.
    node.handle(
        T,
        Event::SocketsOpened {
            id: old,
            result: Ok(()),
        },
    );
    assert!(
        !running(&node),
        "started on sockets of the deleted interface"
    );
    node.handle(
        T,
        Event::SocketsOpened {
            id: new,
            result: Ok(()),
        },
    );
    assert!(running(&node));
}

#[test]
fn a_failed_open_keeps_the_instance_waiting_and_is_asked_again() {
    let mut node = node();
    let (first, _) = answer_read(&mut node, T, 2);
    node.handle(
        T,
        Event::SocketsOpened {
            id: first,
            result: Err("permission denied".into()),
        },
    );
    assert!(!running(&node));
    let said = commands(&mut node);
    assert!(
        said.iter().any(|c| matches!(c, Command::Record(r) if r.what.to_string().contains("cannot open sockets: permission denied"))),
        "{said:?}"
    );
    // The next periodic read (1 s) asks again.
    let t = Instant::from_nanos(1_000_000_000);
    node.handle(t, Event::Timeout);
    let (second, _) = answer_read(&mut node, t, 2);
    assert_ne!(second, first);
    node.handle(
        t,
        Event::SocketsOpened {
            id: second,
            result: Ok(()),
        },
    );
    assert!(running(&node));
}
