//! The sockets of the interfaces in use — a frame socket for announcements, a VRRP
//! socket per family — and their receive tasks, which hand every datagram to the main
//! loop as a node event. Opened, used and closed as the node commands.
//!
//! Opening and closing never happen on the main loop: joining or leaving a multicast
//! group takes the kernel's rtnl lock, which a burst of interface or route changes can
//! hold for long. Sockets are made on a blocking thread and installed when ready
//! ([`Sockets::install`]); closed ones are dropped on a blocking thread once their
//! reader has stopped.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;
use vipd_node::{AdvertCopy, Datagram, Event, Family, OpenId};
use vipd_wire::{Ipv4Header, RxError, PROTOCOL};

use crate::vrrp_socket::{FrameSocket, Received, VrrpSocket, MAX_DATAGRAM};

/// A VRRP socket and the task that reads it.
struct Reader {
    sock: Arc<VrrpSocket>,
    source: IpAddr,
    task: JoinHandle<()>,
}

impl Reader {
    /// Stops the reader, then closes the socket on a blocking thread.
    fn close(self) {
        self.task.abort();
        let Reader { sock, task, .. } = self;
        tokio::spawn(async move {
            // Once the task is gone, `sock` is the last reference.
            let _ = task.await;
            tokio::task::spawn_blocking(move || drop(sock));
        });
    }
}

struct IfaceSockets {
    /// The interface index the sockets are bound to.
    ifindex: u32,
    frames: FrameSocket,
    vrrp: BTreeMap<Family, Reader>,
}

/// Sockets made on a blocking thread, to be installed by the main loop.
pub struct Opened {
    id: OpenId,
    interface: String,
    ifindex: u32,
    family: Family,
    source: IpAddr,
    /// The frame socket and the VRRP socket, each if it had to be made.
    made: Result<(Option<FrameSocket>, Option<VrrpSocket>), String>,
}

pub struct Sockets {
    ifaces: BTreeMap<String, IfaceSockets>,
    datagrams: mpsc::Sender<Event>,
    opened: mpsc::UnboundedSender<Opened>,
}

impl Sockets {
    /// Received datagrams go to `datagrams`; sockets made off the loop to `opened`.
    pub fn new(datagrams: mpsc::Sender<Event>, opened: mpsc::UnboundedSender<Opened>) -> Sockets {
        Sockets {
            ifaces: BTreeMap::new(),
            datagrams,
            opened,
        }
    }

    /// Makes what is missing — the interface's frame socket, its VRRP socket for
    /// `family` (an IPv6 one from `source`) — on a blocking thread; the result comes
    /// back through `opened`. Answers at once when nothing is missing.
    pub fn open(
        &self,
        id: OpenId,
        interface: String,
        ifindex: u32,
        family: Family,
        source: IpAddr,
    ) -> Option<Event> {
        // Sockets of an interface that was deleted and re-created are of no use.
        let current = self.ifaces.get(&interface).filter(|i| i.ifindex == ifindex);
        let need_frames = current.is_none();
        let need_vrrp = match current.and_then(|i| i.vrrp.get(&family)) {
            None => true,
            Some(r) => family == Family::V6 && r.source != source,
        };
        if !need_frames && !need_vrrp {
            return Some(Event::SocketsOpened { id, result: Ok(()) });
        }
        let opened = self.opened.clone();
        tokio::task::spawn_blocking(move || {
            let made = (|| {
                let frames = match need_frames {
                    true => Some(FrameSocket::open(&interface, ifindex)?),
                    false => None,
                };
                let vrrp = match (need_vrrp, source) {
                    (false, _) => None,
                    (true, IpAddr::V6(src)) => Some(VrrpSocket::open_v6(&interface, ifindex, src)?),
                    (true, IpAddr::V4(_)) => Some(VrrpSocket::open_v4(&interface, ifindex)?),
                };
                Ok::<_, crate::vrrp_socket::SocketError>((frames, vrrp))
            })();
            let _ = opened.send(Opened {
                id,
                interface,
                ifindex,
                family,
                source,
                made: made.map_err(|e| e.to_string()),
            });
        });
        None
    }

    /// Puts sockets made by [`Sockets::open`] in place (a VRRP socket with a new source
    /// replaces the old one) and starts their readers; returns the node's answer.
    pub fn install(&mut self, o: Opened) -> Event {
        let (frames, vrrp) = match o.made {
            Ok(made) => made,
            Err(e) => {
                return Event::SocketsOpened {
                    id: o.id,
                    result: Err(e),
                }
            }
        };
        if let Some(frames) = frames {
            match self.ifaces.get(&o.interface) {
                // Another open of the same interface got there first: keep its sockets.
                Some(i) if i.ifindex == o.ifindex => {
                    tokio::task::spawn_blocking(move || drop(frames));
                }
                _ => {
                    let new = IfaceSockets {
                        ifindex: o.ifindex,
                        frames,
                        vrrp: BTreeMap::new(),
                    };
                    if let Some(old) = self.ifaces.insert(o.interface.clone(), new) {
                        close_all(old);
                    }
                }
            }
        }
        let Some(iface) = self
            .ifaces
            .get_mut(&o.interface)
            .filter(|i| i.ifindex == o.ifindex)
        else {
            if let Some(sock) = vrrp {
                tokio::task::spawn_blocking(move || drop(sock));
            }
            let result = Err(format!("interface {} changed meanwhile", o.interface));
            return Event::SocketsOpened { id: o.id, result };
        };
        if let Some(sock) = vrrp {
            let sock = Arc::new(sock);
            let task = tokio::spawn(receive(
                sock.clone(),
                o.ifindex,
                o.family,
                self.datagrams.clone(),
            ));
            let reader = Reader {
                sock,
                source: o.source,
                task,
            };
            if let Some(old) = iface.vrrp.insert(o.family, reader) {
                old.close();
            }
        }
        Event::SocketsOpened {
            id: o.id,
            result: Ok(()),
        }
    }

    pub fn close(&mut self, interface: &str) {
        if let Some(s) = self.ifaces.remove(interface) {
            close_all(s);
        }
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

    /// Sends announcement frames, each one tried (one that fails does not keep the
    /// others, of other VIPs, from going out); returns how many went out and the last
    /// error.
    pub fn send_frames(&self, interface: &str, frames: &[Vec<u8>]) -> (usize, Option<String>) {
        let Some(iface) = self.ifaces.get(interface) else {
            return (0, Some(format!("no frame socket on {interface}")));
        };
        let mut sent = 0;
        let mut error = None;
        for frame in frames {
            match iface.frames.send(frame) {
                Ok(()) => sent += 1,
                Err(e) => error = Some(e.to_string()),
            }
        }
        (sent, error)
    }
}

/// Closes an interface's sockets off the loop.
fn close_all(s: IfaceSockets) {
    let IfaceSockets { frames, vrrp, .. } = s;
    for reader in vrrp.into_values() {
        reader.close();
    }
    tokio::task::spawn_blocking(move || drop(frames));
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
