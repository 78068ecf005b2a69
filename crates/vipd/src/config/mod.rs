//! The daemon's YAML configuration: loading, defaults and validation.
//!
//! ```yaml
//! control_socket: /run/vipd/vipd.sock   # optional
//! log_level: info                        # optional; RUST_LOG overrides
//! state_dir: /var/lib/vipd               # optional; kept across restarts (maintenance)
//! operator_group: vipd-operators        # optional; may run mutating commands besides root
//! instances:
//!   - name: web
//!     interface: eth0
//!     vrid: 51
//!     priority: 150
//!     advert_interval: 200ms
//!     vips: [192.0.2.50/24]
//!     unicast_peers: [192.0.2.12]          # optional; see below
//!     auth:                              # optional: HMAC-SHA256 among vipd peers
//!       key_file: /etc/vipd/web.key      # hex, >= 16 bytes, mode 0600
//!       previous_key_file: /etc/vipd/web.key.old   # optional, during a rotation
//! ```
//!
//! `unicast_peers` (optional, per instance) is for networks without multicast: adverts go
//! to each listed address instead of 224.0.0.18 / ff02::12 (same VRRP message, from the
//! interface's primary address, TTL / hop limit 255), and adverts from any other address
//! are dropped and counted as `not_a_peer`. List the other routers' advert sources: their
//! primary IPv4 address, or their IPv6 link-local address (fe80::). At least one entry,
//! all of the instance's family, no duplicates, no VIP; leave the field out for
//! multicast.
//!
//! Every error names the file, the 1-based line and column, and the field path, e.g.
//! `/etc/vipd.yaml:7:15: instances[0].vrid: 0 is out of range 1..=255`.
//!
//! How it fits together: `document` first reads the text as one YAML document with no
//! repeated keys; `deserialize` turns it into `raw`, which mirrors the file, while the
//! types in `fields` check single values (a failure's path comes from
//! serde_path_to_error, its position from serde_norway); `validate` applies defaults
//! and cross-field rules and names the field to blame (a `path`), and `locate` finds
//! that field in the text. No error's text is ever taken apart.

/// Implements the `Visitor` methods that serde_norway's `deserialize_any` calls for a
/// scalar (all but `visit_str`), each evaluating `$value`, with `self` named `$this`.
/// For the walks in `document` and `locate`, which look at the shape of a document.
macro_rules! visit_scalars {
    ($this:ident => $value:expr) => {
        fn visit_bool<E: serde::de::Error>($this, _: bool) -> Result<Self::Value, E> {
            $value
        }
        fn visit_i64<E: serde::de::Error>($this, _: i64) -> Result<Self::Value, E> {
            $value
        }
        fn visit_i128<E: serde::de::Error>($this, _: i128) -> Result<Self::Value, E> {
            $value
        }
        fn visit_u64<E: serde::de::Error>($this, _: u64) -> Result<Self::Value, E> {
            $value
        }
        fn visit_u128<E: serde::de::Error>($this, _: u128) -> Result<Self::Value, E> {
            $value
        }
        fn visit_f64<E: serde::de::Error>($this, _: f64) -> Result<Self::Value, E> {
            $value
        }
        fn visit_unit<E: serde::de::Error>($this) -> Result<Self::Value, E> {
            $value
        }
        fn visit_none<E: serde::de::Error>($this) -> Result<Self::Value, E> {
            $value
        }
    };
}

/// The visit methods for scalars that YAML resolves to something other than a string:
/// each passes the scalar on to `visit_str` as text.
macro_rules! scalars_as_text {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            self.visit_str(&v.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.visit_str("")
        }
    };
}

mod address_lists;
mod announce;
mod check_raw;
mod check_target;
mod deserialize;
mod document;
mod duration;
mod error;
mod fields;
mod groups;
mod instance;
pub mod keys;
mod line_breaks;
mod locate;
mod path;
mod peers;
mod raw;
pub mod reference;
mod tracking;
mod validate;

use std::path::Path;

pub use check_target::{parse_host_port, parse_http_url};
pub use duration::{parse_duration, DurationError, HumanDuration};
use error::Fault;
pub use error::{ConfigError, Position};
pub use fields::LOG_LEVELS;
pub use vipd_node::config::{
    AuthConfig, AuthKey, CheckConfig, CheckInit, CheckKind, Config, GarpConfig, GroupConfig,
    InstanceConfig, NotifyConfig, StatusMatch, Track, Vip, VipParseError,
};

/// The largest configuration file read: a real one is a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads, parses and validates the file at `path`. Only a regular file of at most
/// [`MAX_FILE_BYTES`] is read: a FIFO or device would hang or never end.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let failed = |source: std::io::Error| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(failed)?;
    if !meta.is_file() {
        return Err(failed(std::io::Error::other("not a regular file")));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(failed(std::io::Error::other(format!(
            "{} bytes, more than the {MAX_FILE_BYTES} a configuration may have",
            meta.len()
        ))));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(
            std::fs::File::open(path).map_err(failed)?,
            MAX_FILE_BYTES + 1,
        ),
        &mut text,
    )
    .map_err(failed)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(failed(std::io::Error::other(
            "the file grew past the size limit while read",
        )));
    }
    parse(&text, path)
}

/// Parses and validates `text`, and reads the key files its `auth` settings name
/// ([`keys::read_key_file`]); `path` is only used in error messages.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let read_key = |p: &Path| keys::read_key_file(p).map_err(|e| e.to_string());
    parse_with_key_reader(text, path, &read_key)
}

/// [`parse`], with the key files that `auth` names read by `read_key` instead of
/// [`keys::read_key_file`]: for checking examples (the documentation's) whose key files
/// exist only on the hosts they are written for. Everything else is checked as `vipd
/// --check` checks it.
pub fn parse_with_key_reader(
    text: &str,
    path: &Path,
    read_key: &dyn Fn(&Path) -> Result<AuthKey, String>,
) -> Result<Config, ConfigError> {
    let in_file = |fault: Fault| fault.in_file(path);
    document::check(text).map_err(|e| in_file(e.into()))?;
    let raw = deserialize::raw_config(text).map_err(in_file)?;
    validate::build(raw, read_key).map_err(|problem| {
        in_file(Fault {
            pos: locate::locate(text, &problem.field),
            field: problem.field,
            message: problem.message,
        })
    })
}
