//! `cluster_peers:`: the other nodes' metrics listeners, for `vipctl status --cluster` and
//! `vipctl drill`. Left out, they are the instances' unicast peers at this node's own
//! metrics port (a cluster usually listens on one port everywhere); IPv6 link-local
//! peers are left out of that default (an address without its interface cannot be
//! reached), and without `metrics:` there is no port to take, so no default.

use std::net::{IpAddr, SocketAddr};

use vipd_node::config::{InstanceConfig, MetricsConfig, PeerConfig};

use super::path::FieldPath;
use super::raw::RawPeer;
use super::validate::{required, Problem};

pub(super) fn build_peers(
    raw: Option<Vec<RawPeer>>,
    metrics: Option<&MetricsConfig>,
    instances: &[InstanceConfig],
    root: &FieldPath,
) -> Result<Vec<PeerConfig>, Problem> {
    let Some(raw) = raw else {
        return Ok(default_peers(metrics, instances));
    };
    let mut out: Vec<PeerConfig> = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        let at = root.key("cluster_peers").index(i);
        let address = required(p.address, &at, "address")?.0;
        if let Some(j) = out.iter().position(|o| o.address == address) {
            return Err(Problem::new(
                at.key("address"),
                format!("{address} is already cluster_peers[{j}]"),
            ));
        }
        if metrics.is_some_and(|m| m.listen == address) {
            return Err(Problem::new(
                at.key("address"),
                format!("{address} is this node's own metrics listener; list the other nodes"),
            ));
        }
        let name = p.name.map(|n| n.0);
        if let Some(n) = &name {
            if let Some(j) = out.iter().position(|o| o.name.as_ref() == Some(n)) {
                return Err(Problem::new(
                    at.key("name"),
                    format!("`{n}` is already the name of cluster_peers[{j}]"),
                ));
            }
        }
        out.push(PeerConfig { name, address });
    }
    Ok(out)
}

fn default_peers(metrics: Option<&MetricsConfig>, instances: &[InstanceConfig]) -> Vec<PeerConfig> {
    let Some(port) = metrics.map(|m| m.listen.port()) else {
        return Vec::new();
    };
    let mut out: Vec<PeerConfig> = Vec::new();
    for ip in instances.iter().flat_map(|i| i.unicast_peers.iter()) {
        if matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80) {
            continue;
        }
        let address = SocketAddr::new(*ip, port);
        if !out.iter().any(|o| o.address == address) {
            out.push(PeerConfig {
                name: None,
                address,
            });
        }
    }
    out
}
