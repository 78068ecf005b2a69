//! Warnings about what other routers send: adverts that do not fit an instance's
//! configuration keep coming, one per advert interval or more, so each kind is warned
//! about at once the first time and then at most once per [`WARN_EVERY`] for each
//! instance and reason, saying how many were held back in between. The engine counts
//! every one of them regardless (status).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vipd_engine::Instant;

use crate::io::{Level, What};
use crate::node::Node;

/// The least time between two warnings of one instance for one reason.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// When each (instance, reason) was last warned about, and how many were held back
/// since.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    last: BTreeMap<(String, &'static str), Held>,
}

#[derive(Debug)]
struct Held {
    warned: Instant,
    held_back: u64,
}

impl Warnings {
    /// Whether a warning of `instance` for `reason` is due at `now`: `Some(n)` with the
    /// number held back since the last one (and the clock for the next starts now), or
    /// `None` and this one is counted as held back.
    pub(crate) fn due(
        &mut self,
        now: Instant,
        instance: &str,
        reason: &'static str,
    ) -> Option<u64> {
        match self.last.get_mut(&(instance.to_string(), reason)) {
            Some(h) if now < h.warned + WARN_EVERY => {
                h.held_back += 1;
                None
            }
            Some(h) => {
                let held_back = h.held_back;
                *h = Held {
                    warned: now,
                    held_back: 0,
                };
                Some(held_back)
            }
            None => {
                self.last.insert(
                    (instance.to_string(), reason),
                    Held {
                        warned: now,
                        held_back: 0,
                    },
                );
                Some(0)
            }
        }
    }

    /// Forgets an instance's warnings (it was removed or restarted).
    pub(crate) fn forget(&mut self, instance: &str) {
        self.last.retain(|(name, _), _| name != instance);
    }
}

impl Node {
    /// Warns (rate-limited) that instance `i` accepted an advert from `from` listing
    /// `addresses`, not its own virtual addresses.
    pub(crate) fn warn_address_mismatch(
        &mut self,
        now: Instant,
        i: usize,
        from: IpAddr,
        addresses: &[IpAddr],
    ) {
        let inst = &self.instances[i];
        let name = inst.cfg.name.clone();
        let Some(held_back) = self.warnings.due(now, &name, "address_mismatch") else {
            return;
        };
        let list = |a: &mut dyn Iterator<Item = IpAddr>| {
            a.map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        };
        let detail = format!(
            "VRRPv{} advert from {from} lists {} but this instance has {}: the routers are \
             configured differently (taking part in the election all the same)",
            inst.cfg.version.number(),
            list(&mut addresses.iter().copied()),
            list(&mut inst.cfg.vips.iter().map(|v| v.addr)),
        );
        self.record(
            Level::Warn,
            Some(&name),
            What::Mismatch {
                kind: "address_mismatch",
                detail,
                held_back,
            },
        );
    }
}
