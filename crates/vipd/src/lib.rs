//! The vipd daemon: configuration, the tokio driver around the election engine, and the
//! control socket. The binary in `main.rs` is a thin shell over this library.

pub mod config;
