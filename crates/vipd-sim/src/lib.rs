//! A deterministic simulated LAN for the vipd election engine.
//!
//! N [`vipd_engine::Router`]s share one multicast segment with configurable latency,
//! seeded loss, partitions, link state, crashes, graceful stops, tracked-object input,
//! VIP-add failures and advert send failures. The clock is fake and always jumps to
//! the earliest pending event, so every run is exact to the nanosecond and repeatable. See [`sim`] for the
//! precise model and the invariants, and [`scenario`] for the YAML scenario format.
//!
//! ```
//! use std::time::Duration;
//! use vipd_engine::{Instant, State};
//! use vipd_sim::{cfg, Sim};
//!
//! let mut sim = Sim::builder()
//!     .latency(Duration::ZERO)
//!     .node(cfg::v3_ipv4(1, 150, 100))
//!     .node(cfg::v3_ipv4(2, 100, 100))
//!     .build()
//!     .expect("valid configs");
//! sim.start_all();
//! // Master_Down_Interval of priority 150 at 100 cs: 3 s + 106 * 100 / 256 cs.
//! let t = sim.run_until_state(0, State::Master, Instant::from_nanos(10_000_000_000));
//! assert_eq!(t, Some(Instant::from_nanos(3_414_062_500)));
//! ```

pub mod cfg;
pub mod lan;
pub mod rng;
pub mod scenario;
pub mod sim;

pub use rng::SplitMix64;
pub use sim::{Action, Episode, NodeId, Record, Sim, SimBuilder, Violation, What, DEFAULT_LATENCY};

/// `secs` seconds plus `nanos` nanoseconds since the simulation's epoch.
pub const fn at(secs: u64, nanos: u64) -> vipd_engine::Instant {
    vipd_engine::Instant::from_nanos(secs * 1_000_000_000 + nanos)
}
