//! What an announced instance (`announce:`) is configured with; what the node does
//! with it is [`crate::announce`]'s.

use std::time::Duration;

use crate::check_config::Track;
use crate::vip::Vip;

/// One announced instance as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// `[A-Za-z0-9_-]{1,15}`, unique among instances and announced instances.
    pub name: String,
    /// The interface vipd creates and owns for announced VIPs; default
    /// [`crate::announce::DEFAULT_INTERFACE`].
    pub interface: String,
    /// 1..=255 host addresses (/32 or /128), no duplicates, none of another instance.
    pub vips: Vec<Vip>,
    /// The checks that decide; every name is a key of `Config::checks`. A bare name
    /// (weight 0) withdraws while it fails; weights add up as for VRRP instances.
    pub track: Vec<Track>,
    /// The VIPs are withdrawn while the tracked weights add up to less than this
    /// (default 0: a failing check with a negative weight withdraws).
    pub withdraw_below: i32,
    /// How long a withdrawn VIP stays answered locally; default
    /// [`crate::announce::DEFAULT_DRAIN`].
    pub drain: Duration,
    /// Programs run when it enters a state.
    pub notify: AnnounceNotify,
}

/// An announced instance's notify hooks: the state's own on entering it, then `any`,
/// queued and run one at a time with the VRRP instances' machinery
/// ([`crate::notify`]). Each an argv (no shell), the program an absolute path. The
/// environment: `VIPD_INSTANCE`, `VIPD_STATE` (`announcing`, `draining`, `withdrawn`),
/// `VIPD_PREVIOUS`, `VIPD_REASON` (in words), `VIPD_VIPS`, `VIPD_HOOK`, `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceNotify {
    pub announcing: Option<Vec<String>>,
    pub draining: Option<Vec<String>>,
    pub withdrawn: Option<Vec<String>>,
    pub any: Option<Vec<String>>,
    /// A run longer than this has its process group killed.
    pub timeout: Duration,
}

impl Default for AnnounceNotify {
    fn default() -> Self {
        AnnounceNotify {
            announcing: None,
            draining: None,
            withdrawn: None,
            any: None,
            timeout: crate::notify_config::DEFAULT_TIMEOUT,
        }
    }
}
