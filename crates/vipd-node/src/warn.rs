//! Warnings about what other routers send: adverts that do not fit an instance's
//! configuration keep coming, one per advert interval or more, so each kind is warned
//! about at once the first time and then at most once per [`WARN_EVERY`] for each
//! instance and reason, saying how many were held back in between. The engine counts
//! every one of them regardless (status).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vipd_engine::{DropReason, Instant};
use vipd_wire::{RxError, V3Checksum};

use crate::config::InstanceConfig;
use crate::io::{Level, What};

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

impl Warnings {
    /// What to record (rate-limited) about an advert instance `cfg` accepted from `from`
    /// listing `addresses`, not its own virtual addresses: a warning, when one is due.
    pub(crate) fn address_mismatch(
        &mut self,
        now: Instant,
        cfg: &InstanceConfig,
        from: IpAddr,
        addresses: &[IpAddr],
    ) -> Option<What> {
        let held_back = self.due(now, &cfg.name, "address_mismatch")?;
        let list = |a: &mut dyn Iterator<Item = IpAddr>| {
            a.map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
        };
        let detail = format!(
            "VRRPv{} advert from {from} lists {} but this instance has {}: the routers are \
             configured differently (taking part in the election all the same)",
            cfg.version.number(),
            list(&mut addresses.iter().copied()),
            list(&mut cfg.vips.iter().map(|v| v.addr)),
        );
        Some(What::Mismatch {
            kind: "address_mismatch",
            detail,
            held_back,
        })
    }

    /// What to record (rate-limited) about a VRRPv3 advert instance `cfg` accepted from
    /// `from` checksummed in `form`, not its own: a warning, when one is due.
    pub(crate) fn checksum_form(
        &mut self,
        now: Instant,
        cfg: &InstanceConfig,
        from: IpAddr,
        form: V3Checksum,
    ) -> Option<What> {
        let held_back = self.due(now, &cfg.name, "other_checksum_form")?;
        let (theirs, ours) = match form {
            V3Checksum::NoPseudoHeader => ("without", "rfc5798: with"),
            V3Checksum::PseudoHeader => ("with", "rfc9568: without"),
        };
        let detail = format!(
            "VRRPv3 advert from {from} is checksummed {theirs} the IPv4 pseudo-header, this \
             instance sends ({ours} it): accepted, but a router that takes only its own form \
             drops this instance's adverts (set the same checksum on both)"
        );
        Some(What::Mismatch {
            kind: "other_checksum_form",
            detail,
            held_back,
        })
    }

    /// What to record about a packet instance `cfg` dropped (`from`: the advert's
    /// sender, where it was a received advert): at debug level, or — for a drop that
    /// means another router of the VRID is configured differently — as a warning, at
    /// once the first time and then at most once per [`WARN_EVERY`] for each reason
    /// (debug in between).
    pub(crate) fn dropped(
        &mut self,
        now: Instant,
        cfg: &InstanceConfig,
        reason: DropReason,
        from: Option<IpAddr>,
    ) -> (Level, What) {
        let held_back = if is_mismatch(&reason) {
            self.due(now, &cfg.name, reason.kind())
        } else {
            None
        };
        let Some(held_back) = held_back else {
            return (Level::Debug, What::Dropped(reason));
        };
        let from = from.map_or_else(String::new, |a| format!(" from {a}"));
        let detail = format!(
            "advert{from} dropped ({}): {reason}; another router of VRID {} is configured \
             differently",
            reason.kind(),
            cfg.vrid
        );
        let what = What::Mismatch {
            kind: reason.kind(),
            detail,
            held_back,
        };
        (Level::Warn, what)
    }
}

/// Drops that mean another router of the VRID is configured differently (RFC 3768
/// §7.1's interval, authentication and address checks, the version of RFC 5798 §7.1),
/// as opposed to damaged or stray packets, which stay at debug level.
fn is_mismatch(reason: &DropReason) -> bool {
    matches!(
        reason,
        DropReason::IntervalMismatch { .. }
            | DropReason::AuthMismatch(_)
            | DropReason::AddressMismatch(_)
            | DropReason::Wire(RxError::BadVersion { .. })
    )
}
