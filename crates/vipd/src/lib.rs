//! The vipd daemon: reading the configuration, and the tokio shell around the node
//! (`vipd_node`): sockets, netlink, the control socket, signals. The binary in `main.rs` is a thin shell over this library.

pub mod announce_iface;
pub mod check;
pub mod checks;
pub mod clock;
pub mod config;
pub mod config_reader;
pub mod control;
pub mod daemon;
pub mod event_stream;
pub mod hooks;
pub mod hot_path;
pub mod journal;
pub mod logging;
pub mod metrics;
pub mod netlink;
mod netlink_conn;
pub mod process_group;
pub mod realtime;
pub mod release;
pub mod service_manager;
pub mod sockets;
pub mod stamp;
pub mod state;
mod sys;
pub mod vip_writer;
pub mod vrrp_socket;
pub mod watcher;
mod worker;
