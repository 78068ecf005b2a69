//! vipd-node: every VRRP instance of a configuration and all decisions around them,
//! sans-IO — one level above the engine (`vipd_engine::Router`, one virtual router).
//!
//! The daemon (or the simulator) drives it with three calls and nothing else:
//! ```text
//! node.handle(now, Event::Datagram(..));          // or a kernel read, a VIP job's result, a link event, reload, stop, ...
//! while let Some(cmd) = node.poll_command() { }   // SendAdvert, Announce, VipJob { id, .. }, ReadKernel { id, .. }, Reply, Record, Exit
//! let wake = node.poll_timeout();                 // when to call handle(now, Event::Timeout) next
//! ```
//! It never reads a clock, sleeps, or touches a socket, and it never assumes that an
//! effect happened: each command that needs an answer carries an id, and the answer comes
//! back as an event carrying it.

pub mod announce;
mod announce_config;
mod announcing;
pub mod auth;
pub mod auth_state;
pub mod auth_watch;
mod check_config;
mod check_runs;
mod checks;
pub mod config;
mod demux;
mod drop_summaries;
mod group_hooks;
mod group_notify;
pub mod groups;
mod hook_runs;
pub mod instance;
mod instances;
pub mod io;
mod jobs;
mod kernel;
mod links;
pub mod maintenance;
mod maintenance_state;
mod node;
pub mod notify;
mod notify_config;
mod publication;
mod readiness;
mod reconcile;
mod reload;
pub mod service;
mod setup;
mod shutdown;
mod status;
mod stop;
pub mod vip;
mod vip_jobs;
mod warn;
mod watch;

pub use announce::Phase as AnnouncePhase;
pub use auth_state::AuthState;
pub use io::{
    has_vip, Addr, AdvertCopy, Caller, CheckResult, CheckRunId, Command, Datagram, Event,
    ExitError, Family, HookResult, HookRunId, IfaceRead, JobId, Level, Link, LinkReadError, OpenId,
    Published, ReadId, Record, RequestId, RunId, VipJob, VipJobError, VipOp, What,
    ADDRESS_PROTOCOL, LOCAL_ROUTE_METRIC,
};
pub use jobs::REMOVE_RETRY;
pub use kernel::POLL;
pub use maintenance_state::Maintenance;
pub use node::{HostInfo, Node};
pub use stop::{HANDOVER_WAIT, SHUTDOWN_WAIT};
pub use vipd_engine::Instant;
pub use warn::WARN_EVERY;
pub use watch::DROP_SUMMARY_EVERY;
