//! The vipd daemon: configuration, the tokio driver around the election engine, and the
//! control socket. The binary in `main.rs` is a thin shell over this library.

pub mod check;
pub mod clock;
pub mod config;
pub mod control;
pub mod daemon;
pub mod instance;
pub mod netlink;
pub mod status;
mod sys;
pub mod vip_writer;
pub mod vrrp_socket;
pub mod watcher;
