//! The metric families vipd writes, registered with their names and help texts in the
//! order they are written, and the two ways a value goes into one.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub(super) type Labels = Vec<(&'static str, String)>;
pub(super) type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;
pub(super) type Counters = Family<Labels, Counter<u64>>;

/// The families, registered in the order they are written.
pub(super) struct Families {
    pub(super) build: Gauges,
    pub(super) state: Gauges,
    pub(super) priority_configured: Gauges,
    pub(super) priority_effective: Gauges,
    pub(super) transitions: Counters,
    pub(super) last_transition: Gauges,
    pub(super) adverts_sent: Counters,
    pub(super) adverts_received: Counters,
    pub(super) drops: Counters,
    pub(super) auth_alarms: Counters,
    pub(super) vip_present: Gauges,
    pub(super) unknown_vrid: Counters,
    pub(super) check_up: Gauges,
    pub(super) check_duration: Gauges,
    pub(super) check_results: Counters,
    pub(super) check_failures: Counters,
    pub(super) announce_state: Gauges,
    pub(super) announce_transitions: Counters,
}

impl Families {
    pub(super) fn registered(registry: &mut Registry) -> Families {
        let f = Families {
            build: Gauges::default(),
            state: Gauges::default(),
            priority_configured: Gauges::default(),
            priority_effective: Gauges::default(),
            transitions: Counters::default(),
            last_transition: Gauges::default(),
            adverts_sent: Counters::default(),
            adverts_received: Counters::default(),
            drops: Counters::default(),
            auth_alarms: Counters::default(),
            vip_present: Gauges::default(),
            unknown_vrid: Counters::default(),
            check_up: Gauges::default(),
            check_duration: Gauges::default(),
            check_results: Counters::default(),
            check_failures: Counters::default(),
            announce_state: Gauges::default(),
            announce_transitions: Counters::default(),
        };
        registry.register(
            "vipd_build_info",
            "vipd's version (always 1)",
            f.build.clone(),
        );
        registry.register(
            "vipd_vrrp_state",
            "VRRP state, numbered as keepalived: 0 init, 1 backup, 2 master, 3 fault, 98 stopped",
            f.state.clone(),
        );
        registry.register(
            "vipd_priority_configured",
            "The configured priority",
            f.priority_configured.clone(),
        );
        registry.register(
            "vipd_priority_effective",
            "The priority advertised now (configured plus tracked checks)",
            f.priority_effective.clone(),
        );
        registry.register(
            "vipd_transitions",
            "State changes since the instance was configured, by reason",
            f.transitions.clone(),
        );
        registry.register(
            "vipd_last_transition_timestamp_seconds",
            "When the state last changed, in seconds since the Unix epoch",
            f.last_transition.clone(),
        );
        registry.register(
            "vipd_adverts_sent",
            "VRRP adverts sent by the instance's current router",
            f.adverts_sent.clone(),
        );
        registry.register(
            "vipd_adverts_received",
            "VRRP adverts received and accepted by the instance's current router",
            f.adverts_received.clone(),
        );
        registry.register(
            "vipd_drops",
            "Packets dropped by the instance's current router, by reason",
            f.drops.clone(),
        );
        registry.register(
            "vipd_auth_alarms",
            "Times adverts from one source kept failing authentication for longer than Master_Down_Interval (each warned about)",
            f.auth_alarms.clone(),
        );
        registry.register("vipd_vip_present", "1 when the kernel had the VIP on the interface at the newest read, else 0 (absent while the read failed)", f.vip_present.clone());
        registry.register(
            "vipd_unknown_vrid",
            "Adverts received on the interface for a VRID no instance here has",
            f.unknown_vrid.clone(),
        );
        registry.register(
            "vipd_check_up",
            "1 while the health check is up, else 0",
            f.check_up.clone(),
        );
        registry.register(
            "vipd_check_duration_seconds",
            "How long the newest run of a polled health check took",
            f.check_duration.clone(),
        );
        registry.register(
            "vipd_check_results",
            "Health check results",
            f.check_results.clone(),
        );
        registry.register(
            "vipd_check_failures",
            "Health check results that failed",
            f.check_failures.clone(),
        );
        registry.register(
            "vipd_announce_state",
            "1 for the state an announced instance is in (announcing, draining, withdrawn), 0 for the others",
            f.announce_state.clone(),
        );
        registry.register(
            "vipd_announce_transitions",
            "State changes of an announced instance since vipd started",
            f.announce_transitions.clone(),
        );
        f
    }
}

pub(super) fn set(f: &Gauges, labels: Labels, v: f64) {
    f.get_or_create(&labels).set(v);
}

pub(super) fn count(f: &Counters, labels: Labels, v: u64) {
    f.get_or_create(&labels).inc_by(v);
}
