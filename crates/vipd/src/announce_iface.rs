//! The announce interface (`vipd0` by default): vipd creates it at start-up for the
//! announced instances (`announce:`), brings it up, and leaves the rest to the node,
//! whose VIP jobs put the announced VIPs on it and take them off. The host's BGP speaker
//! redistributes what is on it.
//!
//! A `dummy` device where the kernel has that link type, else an `ifb` device (some
//! kernels are built without `dummy`; `ifb` also drops whatever is sent out of it and
//! takes any address). An interface of that name that exists already is used as it is
//! (after a restart, or one the operator made); its leftover VIPs are the node's to
//! remove.

use rtnetlink::packet_route::route::{RouteAttribute, RouteProtocol, RouteScope, RouteType};
use rtnetlink::{LinkDummy, LinkIfb, LinkUnspec};
use tracing::{info, warn};
use vipd_node::config::Vip;
use vipd_node::{VipJob, VipJobError, VipOp, ADDRESS_PROTOCOL, LOCAL_ROUTE_METRIC};

use crate::netlink::{explain, host_route, is_errno, Netlink, NetlinkError, NETLINK_TIMEOUT};

/// Why the announce interface could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceIfaceError {
    #[error("cannot create announce interface {name} (tried dummy: {dummy}; ifb: {ifb})")]
    Create {
        name: String,
        dummy: NetlinkError,
        ifb: NetlinkError,
    },
    #[error("cannot bring announce interface {name} up: {source}")]
    Up {
        name: String,
        #[source]
        source: NetlinkError,
    },
    #[error("cannot read announce interface {name}: {source}")]
    Read {
        name: String,
        #[source]
        source: NetlinkError,
    },
}

/// Makes interface `name` exist and be up; returns what it is (`existing`, `dummy`,
/// `ifb`).
pub async fn ensure(nl: &Netlink, name: &str) -> Result<&'static str, AnnounceIfaceError> {
    let read = |source| AnnounceIfaceError::Read {
        name: name.to_string(),
        source,
    };
    let (kind, index) = match nl.link_by_name(name).await {
        Ok(link) => ("existing", link.index),
        Err(NetlinkError::NoSuchInterface(_)) => {
            let kind = create(nl, name).await?;
            let link = nl.link_by_name(name).await.map_err(read)?;
            (kind, link.index)
        }
        Err(e) => return Err(read(e)),
    };
    let up = async {
        let handle = nl.ready_handle().await?;
        let message = LinkUnspec::new_with_index(index).up().build();
        handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(|e| explain(format!("bringing {name} up"), e))
    };
    up.await.map_err(|source| AnnounceIfaceError::Up {
        name: name.to_string(),
        source,
    })?;
    info!(interface = name, kind, "announce interface ready");
    Ok(kind)
}

/// Creates `name` as a dummy device, else as an ifb device.
async fn create(nl: &Netlink, name: &str) -> Result<&'static str, AnnounceIfaceError> {
    let add = |message| async move {
        let handle = nl.ready_handle().await?;
        handle
            .link()
            .add(message)
            .execute()
            .await
            .map_err(|e| explain(format!("creating {name}"), e))
    };
    let dummy = match add(LinkDummy::new(name).build()).await {
        Ok(()) => return Ok("dummy"),
        Err(e) => e,
    };
    warn!(interface = name, "no dummy link type ({dummy}); trying ifb");
    match add(LinkIfb::new(name).build()).await {
        Ok(()) => Ok("ifb"),
        Err(ifb) => Err(AnnounceIfaceError::Create {
            name: name.to_string(),
            dummy,
            ifb,
        }),
    }
}

/// Adds or removes (by `job.op`: [`VipOp::AddLocal`], [`VipOp::RemoveLocal`]) a local
/// route for each of the job's VIPs: `local VIP dev <job's interface> table local metric
/// LOCAL_ROUTE_METRIC proto 0x76`, so the host keeps answering for a draining VIP that
/// is no longer an address (routing daemons do not redistribute it). An absent route
/// is removed; one already there is added.
pub async fn local_routes(nl: &Netlink, job: &VipJob) -> Result<(), VipJobError> {
    let add = job.op == VipOp::AddLocal;
    let instance = job.instance.as_deref().unwrap_or("");
    let mut failed = Vec::new();
    let mut messages = Vec::new();
    for vip in &job.vips {
        let what = format!(
            "{} the local route for {vip}",
            if add { "adding" } else { "removing" }
        );
        let done = tokio::time::timeout(NETLINK_TIMEOUT, local_route(nl, job.ifindex, vip, add))
            .await
            .unwrap_or_else(|_| Err(NetlinkError::Timeout { what: what.clone() }));
        match done {
            Ok(()) => info!(
                instance,
                vip = %vip,
                "{}",
                if add { "VIP kept locally (local route)" } else { "local route of the VIP removed" }
            ),
            Err(e) => {
                failed.push(*vip);
                messages.push(e.to_string());
                if add {
                    break;
                }
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(VipJobError {
            failed,
            message: messages.join("; "),
        })
    }
}

/// The kernel's local table (RT_TABLE_LOCAL, `ip route show table local`).
const RT_TABLE_LOCAL: u8 = 255;

async fn local_route(nl: &Netlink, index: u32, vip: &Vip, add: bool) -> Result<(), NetlinkError> {
    let mut message = host_route(vip.addr);
    message.header.kind = RouteType::Local;
    message.header.scope = RouteScope::Host;
    message.header.protocol = RouteProtocol::Other(ADDRESS_PROTOCOL);
    message.header.table = RT_TABLE_LOCAL;
    message.attributes.push(RouteAttribute::Oif(index));
    message
        .attributes
        .push(RouteAttribute::Priority(LOCAL_ROUTE_METRIC));
    let handle = nl.ready_handle().await?;
    let what = format!("the local route for {vip}");
    if add {
        match handle.route().add(message).replace().execute().await {
            Ok(()) => Ok(()),
            Err(e) => Err(explain(format!("adding {what}"), e)),
        }
    } else {
        match handle.route().del(message).execute().await {
            Ok(()) => Ok(()),
            // ESRCH: no such route: removed already.
            Err(e) if is_errno(&e, nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(explain(format!("removing {what}"), e)),
        }
    }
}
