//! What one virtual router is configured with.

use std::net::IpAddr;
use std::time::Duration;

use vipd_wire::{RxCheck, V3Checksum, Version};

/// How a new master tells the LAN where the VIPs are (gratuitous ARP / unsolicited NA).
///
/// The default is a burst of 3 frames on becoming master (one lost frame does not
/// matter) and one more burst 2 s later, for switches and hosts that were still
/// settling (a port coming up, a bridge re-learning). keepalived sends 5 and 5 more
/// after 5 s; that is more traffic for no better result on a healthy LAN, and the
/// 5 s wait is too late to help the hosts that missed the first burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// Frames per VIP in each burst.
    pub count: u32,
    /// A second burst this long after becoming master; zero for none.
    pub repeat_after: Duration,
    /// Re-announce this often while master; zero for never.
    pub refresh: Duration,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            count: 3,
            repeat_after: Duration::from_secs(2),
            refresh: Duration::ZERO,
        }
    }
}

/// The configuration of one virtual router (RFC 5798 §6.1 "Parameters per Virtual Router").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub vrid: u8,
    pub version: Version,
    /// 1..=255; 255 is the address owner.
    pub priority: u8,
    /// Advertisement_Interval in centiseconds (v2: a multiple of 100).
    pub advert_interval_cs: u16,
    pub preempt: bool,
    /// After start-up, keep accepting a lower-priority master for this long before
    /// preempting it.
    pub preempt_delay: Duration,
    /// The virtual addresses, all of one family.
    pub vips: Vec<IpAddr>,
    /// The address adverts are sent from: the interface's primary IPv4 address, or its
    /// IPv6 link-local address (RFC 5798 §5.1.1.1, §5.1.2.1). Also the tie-breaker.
    pub primary: IpAddr,
    pub checksum: V3Checksum,
    pub announce: AnnounceConfig,
    /// After a failed VIP add, stay in Fault this long before trying again.
    pub fault_retry: Duration,
    /// This router knows that exactly two routers take part (declared, or unicast with
    /// one peer):
    /// as a backup it is the only one, and when the master it follows resigns with
    /// priority 0 it takes over at once instead of after Skew_Time, which only orders
    /// several backups; as a master whose tracked check fails it hands over
    /// make-before-break (see `Router`'s "Successor"). Default false.
    pub only_backup: bool,
}

/// A configuration the engine cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("VRID must be 1..=255, not 0")]
    Vrid,
    #[error("priority must be 1..=255, not 0")]
    Priority,
    #[error("advertisement interval {0} cs is outside what VRRP{1} can carry")]
    Interval(u16, u8),
    #[error("a virtual router needs 1 to 255 virtual addresses, not {0}")]
    VipCount(usize),
    #[error("virtual addresses and the primary address must all be of one family")]
    MixedFamilies,
    #[error("VRRPv2 is IPv4 only")]
    V2Ipv6,
}

impl Config {
    /// What this router expects of an advert that arrived from `src` to `dst` with
    /// `ttl`: what the codec checks a received advert against (RFC 5798 §7.1) before
    /// it is handed over as [`crate::Input::Advert`].
    pub fn rx_check(&self, src: IpAddr, dst: IpAddr, ttl: u8) -> RxCheck {
        RxCheck {
            version: self.version,
            vrid: self.vrid,
            src,
            dst,
            ttl,
            v3_checksum: self.checksum,
        }
    }

    /// Checks what the wire and the RFC timers need.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        let ok = match self.version {
            Version::V2 => {
                self.advert_interval_cs.is_multiple_of(100)
                    && (100..=25500).contains(&self.advert_interval_cs)
            }
            Version::V3 => {
                (1..=vipd_wire::vrrp::V3_MAX_INTERVAL_CS).contains(&self.advert_interval_cs)
            }
        };
        if !ok {
            return Err(ConfigError::Interval(
                self.advert_interval_cs,
                self.version.number(),
            ));
        }
        if self.vips.is_empty() || self.vips.len() > 255 {
            return Err(ConfigError::VipCount(self.vips.len()));
        }
        let v6 = self.primary.is_ipv6();
        if self.vips.iter().any(|v| v.is_ipv6() != v6) {
            return Err(ConfigError::MixedFamilies);
        }
        if v6 && self.version == Version::V2 {
            return Err(ConfigError::V2Ipv6);
        }
        Ok(())
    }

    /// A v3 configuration with RFC defaults, handy for tests and examples.
    pub fn v3(
        vrid: u8,
        priority: u8,
        advert_interval_cs: u16,
        primary: IpAddr,
        vips: Vec<IpAddr>,
    ) -> Self {
        Config {
            vrid,
            version: Version::V3,
            priority,
            advert_interval_cs,
            preempt: true,
            preempt_delay: Duration::ZERO,
            vips,
            primary,
            checksum: V3Checksum::PseudoHeader,
            announce: AnnounceConfig::default(),
            fault_retry: Duration::from_secs(10),
            only_backup: false,
        }
    }
}
