//! The vipd election engine: one VRRP virtual router per [`Router`], sans-IO.
//!
//! The daemon (or a test) drives it with three calls and nothing else:
//! ```text
//! router.handle(now, Input::Advert { .. });       // or Timeout, LinkUp/Down, Tracked, VipApplied, Startup, Shutdown
//! while let Some(out) = router.poll_output() { }  // SendAdvert, AddVips, DelVips, Announce, StateChanged, Dropped, AddressMismatch
//! let wake = router.poll_timeout();               // when to call handle(now, Input::Timeout) next
//! ```
//! The engine never reads a clock, sleeps, or touches a socket; results of I/O come back
//! as inputs, and it never assumes an effect happened.

pub mod config;
pub mod io;
pub mod router;
pub mod time;
pub mod timers;

pub use config::{AnnounceConfig, Config, ConfigError};
pub use io::{DropReason, FaultCause, Input, Output, Reason, VipJobId};
pub use router::{AddressMismatch, ReconfigureError, Router, State, Status, HANDOVER_GRACE};
pub use time::{centis, Instant};
pub use vipd_wire::{V3Checksum, Version};
