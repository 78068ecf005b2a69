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

use rtnetlink::{LinkDummy, LinkIfb, LinkUnspec};
use tracing::{info, warn};

use crate::netlink::{explain, Netlink, NetlinkError};

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
