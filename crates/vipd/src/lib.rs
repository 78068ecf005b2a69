//! The vipd daemon: reading the configuration, and the tokio shell around the node
//! (`vipd_node`): sockets, netlink, the control socket, signals. The binary in `main.rs` is a thin shell over this library.

mod announce_iface;
pub mod check;
mod checks;
mod clock;
pub mod config;
mod config_reader;
mod control;
pub mod daemon;
mod event_stream;
mod hooks;
mod hot_path;
mod journal;
mod log_queue;
pub mod logging;
/// Public for the series' rendering only (`metrics::series::render`), which the
/// reference pages' test reads; the endpoint itself is the daemon's.
pub mod metrics;
mod netlink;
mod netlink_conn;
mod process_group;
pub mod realtime;
pub mod release;
mod service_manager;
mod sockets;
mod stamp;
mod state;
mod sys;
mod vip_writer;
mod vrrp_socket;
mod watcher;
mod worker;

/// The control socket's request parser (one line of JSON, the protocol version checked
/// first), for its fuzz target (`fuzz/fuzz_targets/control_request.rs`) and the stable
/// property test of it.
pub use control::parse as parse_control_request;
/// The Prometheus text of a status (the reference page of the metrics is checked against it).
pub use metrics::series::render as render_metrics;
