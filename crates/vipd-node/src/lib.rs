//! vipd-node: every VRRP instance of a configuration and all decisions around them,
//! sans-IO.
pub mod config;
pub mod vip;
