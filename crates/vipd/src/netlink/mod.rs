//! Talking to the kernel over rtnetlink: links, addresses, VIPs, and link events.
//! Errors come by kind ([`error`]).

mod error;

pub(crate) use error::{explain, is_errno};
pub use error::{NetlinkError, NETLINK_TIMEOUT};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures::{StreamExt, TryStreamExt};
use nix::errno::Errno;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::route::{RouteMessage, RouteType};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::{Handle, MulticastGroup, RouteMessageBuilder};
use tokio::sync::mpsc;

use vipd_node::config::Vip;
use vipd_node::{has_vip, Addr, Event, Link, ADDRESS_PROTOCOL};

/// Runs a netlink request with [`NETLINK_TIMEOUT`].
async fn bounded<T>(
    what: impl Fn() -> String,
    f: impl std::future::Future<Output = Result<T, NetlinkError>>,
) -> Result<T, NetlinkError> {
    tokio::time::timeout(NETLINK_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| Err(NetlinkError::Timeout { what: what() }))
}

fn link_from_message(m: &LinkMessage) -> Option<Link> {
    let mut name = None;
    let mut mac = [0u8; 6];
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(b) if b.len() == 6 => mac.copy_from_slice(b),
            _ => {}
        }
    }
    let f = m.header.flags;
    Some(Link {
        index: m.header.index,
        name: name?,
        mac,
        up: f.contains(LinkFlags::Up) && f.contains(LinkFlags::LowerUp),
    })
}

/// An address and the index of the interface it is on.
fn addr_from_message(m: &AddressMessage) -> Option<(u32, Addr)> {
    let mut local = None;
    let mut address = None;
    let mut flags = AddressFlags::empty();
    let mut protocol = None;
    let mut label = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    let addr = local.or(address)?;
    let link_local = match addr {
        IpAddr::V6(a) => a.segments()[0] & 0xffc0 == 0xfe80,
        IpAddr::V4(a) => a.is_link_local(),
    };
    Some((
        m.header.index,
        Addr {
            addr,
            prefix_len: m.header.prefix_len,
            tentative: flags.contains(AddressFlags::Tentative)
                || flags.contains(AddressFlags::Dadfailed),
            link_local,
            protocol,
            label,
        },
    ))
}

/// Requests to the kernel.
#[derive(Clone)]
pub struct Netlink {
    conn: tokio::sync::watch::Receiver<Option<Handle>>,
}

impl Netlink {
    /// The interface called `name`.
    pub async fn link_by_name(&self, name: &str) -> Result<Link, NetlinkError> {
        bounded(
            || format!("reading interface {name}"),
            self.link_by_name_unbounded(name),
        )
        .await
    }

    /// All addresses on interface `index`.
    pub async fn addresses(&self, index: u32) -> Result<Vec<Addr>, NetlinkError> {
        bounded(
            || format!("listing addresses of link {index}"),
            self.addresses_unbounded(index),
        )
        .await
    }

    /// Adds a VIP; see `add_vip_unbounded`.
    pub async fn add_vip(
        &self,
        index: u32,
        vip: &Vip,
        label: Option<&str>,
    ) -> Result<(), NetlinkError> {
        bounded(
            || format!("adding {vip}"),
            self.add_vip_unbounded(index, vip, label),
        )
        .await
    }

    /// Whether the kernel delivers packets for `addr` to this host now: the route it
    /// finds for it (`ip route get ADDR`) is a `local` one. See `vip_writer`: an IPv6
    /// address gets its local route some time after the add was answered.
    pub async fn is_local(&self, addr: IpAddr) -> Result<bool, NetlinkError> {
        bounded(
            || format!("looking up the route to {addr}"),
            self.is_local_unbounded(addr),
        )
        .await
    }

    /// Removes a VIP (matched by address, whatever its prefix length); an absent one
    /// is not an error. Returns whether one was removed.
    pub async fn del_vip(&self, index: u32, vip: &Vip) -> Result<bool, NetlinkError> {
        bounded(
            || format!("removing {vip}"),
            self.del_vip_unbounded(index, vip),
        )
        .await
    }
    /// Opens the request connection (see [`crate::netlink_conn`]): it runs on a thread
    /// of its own and is opened again, with back-off, whenever it dies.
    pub fn open() -> Result<Netlink, NetlinkError> {
        Ok(Netlink {
            conn: crate::netlink_conn::spawn().map_err(NetlinkError::Open)?,
        })
    }

    /// The connection's handle once it is open (at start-up it may still be opening),
    /// waiting at most [`NETLINK_TIMEOUT`]: for requests made outside the VIP jobs
    /// (`crate::announce_iface`).
    pub(crate) async fn ready_handle(&self) -> Result<Handle, NetlinkError> {
        let mut conn = self.conn.clone();
        let waited = tokio::time::timeout(NETLINK_TIMEOUT, conn.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|h| h.clone()));
        match waited {
            Ok(Ok(Some(h))) => Ok(h),
            _ => Err(NetlinkError::Down),
        }
    }

    /// The connection's handle, or why there is none right now.
    fn handle(&self) -> Result<Handle, NetlinkError> {
        self.conn.borrow().clone().ok_or(NetlinkError::Down)
    }

    /// Subscribes to link and address events; they arrive on the returned channel.
    pub fn monitor() -> Result<mpsc::UnboundedReceiver<Event>, NetlinkError> {
        let (conn, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
            MulticastGroup::Link,
            MulticastGroup::Ipv4Ifaddr,
            MulticastGroup::Ipv6Ifaddr,
        ])
        .map_err(NetlinkError::Open)?;
        tokio::spawn(conn);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some((msg, _)) = messages.next().await {
                let ev = match msg.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
                        link_from_message(&m).map(Event::Link)
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
                        Some(Event::LinkGone(m.header.index))
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m))
                    | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => {
                        Some(Event::AddressesChanged(m.header.index))
                    }
                    _ => None,
                };
                if let Some(ev) = ev {
                    if tx.send(ev).is_err() {
                        break;
                    }
                }
            }
        });
        Ok(rx)
    }

    async fn link_by_name_unbounded(&self, name: &str) -> Result<Link, NetlinkError> {
        let mut links = self
            .handle()?
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(Some(m)) => {
                link_from_message(&m).ok_or_else(|| NetlinkError::NoSuchInterface(name.into()))
            }
            Ok(None) => Err(NetlinkError::NoSuchInterface(name.into())),
            Err(e) if is_errno(&e, Errno::ENODEV) => {
                Err(NetlinkError::NoSuchInterface(name.into()))
            }
            Err(e) => Err(explain(format!("reading interface {name}"), e)),
        }
    }

    /// All addresses on interface `index`.
    async fn addresses_unbounded(&self, index: u32) -> Result<Vec<Addr>, NetlinkError> {
        let mut out = Vec::new();
        let mut s = self
            .handle()?
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        loop {
            match s.try_next().await {
                Ok(Some(m)) => {
                    if let Some((i, a)) = addr_from_message(&m) {
                        if i == index {
                            out.push(a);
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(explain(format!("listing addresses of link {index}"), e)),
            }
        }
        Ok(out)
    }

    /// Adds a VIP (replacing an identical one, so a leftover does not fail the add).
    /// IPv4 addresses get the label `label` when given; IPv6 ones are `nodad`, as a
    /// VIP moves between hosts and must be usable at once.
    async fn add_vip_unbounded(
        &self,
        index: u32,
        vip: &Vip,
        label: Option<&str>,
    ) -> Result<(), NetlinkError> {
        let mut req = self
            .handle()?
            .address()
            .add(index, vip.addr, vip.prefix_len)
            .replace();
        let msg = req.message_mut();
        // Tagged, so vipd knows its own VIPs from the host's addresses (after a crash
        // too). Kernels before 6.1 ignore the attribute; IPv4 VIPs keep their label.
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                ADDRESS_PROTOCOL,
            )));
        match vip.addr {
            IpAddr::V4(_) => {
                if let Some(l) = label {
                    msg.attributes.push(AddressAttribute::Label(l.to_string()));
                }
            }
            IpAddr::V6(_) => {
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        req.execute()
            .await
            .map_err(|e| explain(format!("adding {vip}"), e))
    }

    async fn is_local_unbounded(&self, addr: IpAddr) -> Result<bool, NetlinkError> {
        // With a destination the request is a lookup (not a dump): one answer, the
        // route a packet to `addr` would take.
        let query = host_route(addr);
        let mut s = self.handle()?.route().get(query).execute();
        match s.try_next().await {
            Ok(Some(m)) => Ok(m.header.kind == RouteType::Local),
            // No route at all (an unreachable destination): not local either.
            Ok(None) => Ok(false),
            Err(e) if is_errno(&e, Errno::ENETUNREACH) || is_errno(&e, Errno::EHOSTUNREACH) => {
                Ok(false)
            }
            Err(e) => Err(explain(format!("looking up the route to {addr}"), e)),
        }
    }

    /// Removes a VIP; an absent one is not an error.
    async fn del_vip_unbounded(&self, index: u32, vip: &Vip) -> Result<bool, NetlinkError> {
        if !has_vip(&self.addresses(index).await?, vip) {
            return Ok(false);
        }
        let mut s = self
            .handle()?
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(vip.addr)
            .execute();
        let mut removed = false;
        loop {
            match s.try_next().await {
                Ok(Some(m)) => {
                    if addr_from_message(&m).is_some_and(|(i, a)| a.addr == vip.addr && i == index)
                    {
                        match self.handle()?.address().del(m).execute().await {
                            Ok(()) => removed = true,
                            // Gone between the lookup and the removal.
                            Err(e) if is_errno(&e, Errno::EADDRNOTAVAIL) => {}
                            Err(e) => return Err(explain(format!("removing {vip}"), e)),
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(explain(format!("looking up {vip}"), e)),
            }
        }
        Ok(removed)
    }
}

/// A route message for `addr` alone (/32 or /128): a lookup's query, or the start of a
/// route to add or remove.
pub(crate) fn host_route(addr: IpAddr) -> RouteMessage {
    match addr {
        IpAddr::V4(a) => RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(a, 32)
            .build(),
        IpAddr::V6(a) => RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(a, 128)
            .build(),
    }
}
