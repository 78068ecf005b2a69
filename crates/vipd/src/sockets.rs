//! The sockets of the interfaces in use — a frame socket for announcements, a VRRP
//! socket per family — and their receive tasks, which hand every datagram to the main
//! loop as a node event. Opened, used and closed as the node commands.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;
use vipd_node::{AdvertCopy, Datagram, Event, Family};
use vipd_wire::{Ipv4Header, RxError, PROTOCOL};

use crate::vrrp_socket::{FrameSocket, Received, VrrpSocket, MAX_DATAGRAM};

/// A VRRP socket and the task that reads it.
struct Reader {
    sock: Arc<VrrpSocket>,
    source: IpAddr,
    task: JoinHandle<()>,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct IfaceSockets {
    frames: FrameSocket,
    vrrp: BTreeMap<Family, Reader>,
}

pub struct Sockets {
    ifaces: BTreeMap<String, IfaceSockets>,
    datagrams: mpsc::Sender<Event>,
}

impl Sockets {
    /// Received datagrams go to `datagrams`.
    pub fn new(datagrams: mpsc::Sender<Event>) -> Sockets {
        Sockets {
            ifaces: BTreeMap::new(),
            datagrams,
        }
    }

    /// Opens what is missing: the interface's frame socket, and its VRRP socket for
    /// `family` (an IPv6 one from `source`; one with another source is replaced).
    pub fn open(
        &mut self,
        interface: &str,
        ifindex: u32,
        family: Family,
        source: IpAddr,
    ) -> Result<(), String> {
        if !self.ifaces.contains_key(interface) {
            let frames = FrameSocket::open(interface, ifindex).map_err(|e| e.to_string())?;
            self.ifaces.insert(
                interface.to_string(),
                IfaceSockets {
                    frames,
                    vrrp: BTreeMap::new(),
                },
            );
        }
        let iface = self
            .ifaces
            .get_mut(interface)
            .ok_or_else(|| format!("interface {interface} vanished"))?;
        let current = iface.vrrp.get(&family);
        let fits = match family {
            Family::V4 => current.is_some(),
            Family::V6 => current.is_some_and(|r| r.source == source),
        };
        if fits {
            return Ok(());
        }
        let sock = match source {
            IpAddr::V6(src) => VrrpSocket::open_v6(interface, ifindex, src),
            IpAddr::V4(_) => VrrpSocket::open_v4(interface, ifindex),
        }
        .map_err(|e| e.to_string())?;
        let sock = Arc::new(sock);
        let task = tokio::spawn(receive(
            sock.clone(),
            ifindex,
            family,
            self.datagrams.clone(),
        ));
        // Replacing the old reader aborts its task.
        iface.vrrp.insert(family, Reader { sock, source, task });
        Ok(())
    }

    pub fn close(&mut self, interface: &str) {
        self.ifaces.remove(interface);
    }

    /// Sends each copy of a VRRP advert to its destination; says whether all went out
    /// (a failed one does not keep the others from being sent).
    pub fn send_advert(
        &self,
        interface: &str,
        family: Family,
        src: IpAddr,
        to: &[AdvertCopy],
    ) -> bool {
        let Some(reader) = self.ifaces.get(interface).and_then(|i| i.vrrp.get(&family)) else {
            return false;
        };
        let mut all = true;
        for copy in to {
            if let Err(e) = reader.sock.send(src, copy.dst, &copy.bytes) {
                warn!(interface, dst = %copy.dst, error = %e, "advert not sent");
                all = false;
            }
        }
        all
    }

    /// Sends announcement frames; returns how many went out (stops at the first error).
    pub fn send_frames(&self, interface: &str, frames: &[Vec<u8>]) -> Result<usize, String> {
        let Some(iface) = self.ifaces.get(interface) else {
            return Err(format!("no frame socket on {interface}"));
        };
        for (sent, frame) in frames.iter().enumerate() {
            if let Err(e) = iface.frames.send(frame) {
                return Err(format!("{e} (after {sent} frames)"));
            }
        }
        Ok(frames.len())
    }
}

/// Reads one VRRP socket until the main loop goes away.
async fn receive(sock: Arc<VrrpSocket>, ifindex: u32, family: Family, tx: mpsc::Sender<Event>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let event = match sock.recv(&mut buf).await {
            Ok(data) => to_event(ifindex, family, data),
            Err(e) => {
                warn!(error = %e, "VRRP receive failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

/// Takes the IP layer apart: the node gets one datagram type for both families.
fn to_event(ifindex: u32, family: Family, data: Received) -> Event {
    match data {
        Received::V4(datagram) => match Ipv4Header::parse(&datagram) {
            Ok((h, _)) if h.protocol != PROTOCOL => Event::Undecodable {
                ifindex,
                family,
                error: RxError::NotVrrp(h.protocol),
            },
            Ok((h, payload)) => Event::Datagram(Datagram {
                ifindex,
                src: IpAddr::V4(h.src),
                dst: IpAddr::V4(h.dst),
                ttl: h.ttl,
                bytes: payload.to_vec(),
            }),
            // RFC 5798 §7.1 cannot even start: the IP header is malformed.
            Err(e) => Event::Undecodable {
                ifindex,
                family,
                error: RxError::BadIpHeader(e),
            },
        },
        Received::V6 {
            src,
            dst,
            hop_limit,
            payload,
        } => Event::Datagram(Datagram {
            ifindex,
            src: IpAddr::V6(src),
            dst: IpAddr::V6(dst),
            ttl: hop_limit,
            bytes: payload,
        }),
    }
}
