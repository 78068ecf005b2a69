//! The daemon's YAML configuration: loading, defaults and validation.
//!
//! ```yaml
//! control_socket: /run/vipd/vipd.sock   # optional
//! log_level: info                        # optional; RUST_LOG overrides
//! instances:
//!   - name: web
//!     interface: eth0
//!     vrid: 51
//!     priority: 150
//!     advert_interval: 200ms
//!     vips: [192.0.2.50/24]
//! ```
//!
//! Every error names the file, the 1-based line and column, and the field path, e.g.
//! `/etc/vipd.yaml:7:15: instances[0].vrid: 0 is out of range 1..=255`.
//!
//! How it fits together: `raw` mirrors the file with serde; the types in `fields`
//! check single values while deserializing, so serde_norway reports their exact
//! position; `validate` applies defaults and cross-field rules and names the field
//! to blame; `locate` finds that field's position in the text.

mod duration;
mod error;
mod fields;
mod locate;
mod raw;
mod validate;
mod vip;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use duration::{parse_duration, DurationError, HumanDuration};
pub use error::{ConfigError, Position};
pub use fields::{ChecksumMode, VrrpVersion, LOG_LEVELS};
pub use vip::{Vip, VipParseError};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the control socket listens; default [`vipd_api::DEFAULT_SOCKET`].
    pub control_socket: PathBuf,
    /// One of [`LOG_LEVELS`], lower-cased; `RUST_LOG` overrides it.
    pub log_level: Option<String>,
    /// At least one; names unique, (interface, VRID, family) unique.
    pub instances: Vec<InstanceConfig>,
}

/// One virtual router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// `[A-Za-z0-9_-]{1,15}`, unique; used in address labels and logs.
    pub name: String,
    pub interface: String,
    /// 1..=255.
    pub vrid: u8,
    /// 1..=255; 255 means this router owns the addresses (RFC 5798 §6.1). Default 100.
    pub priority: u8,
    /// A whole number of centiseconds (10ms..=40950ms) for v3, of seconds (1..=255) for
    /// v2. Default 200ms (v3) or 1s (v2).
    pub advert_interval: Duration,
    /// Default v3.
    pub version: VrrpVersion,
    /// Whether a higher-priority backup takes over from a lower-priority master
    /// (RFC 5798 §6.1 Preempt_Mode). Default true.
    pub preempt: bool,
    /// How long to wait before preempting. Default 0s.
    pub preempt_delay: Duration,
    /// RFC 5798 §6.1 Accept_Mode: whether a master that does not own the VIPs accepts
    /// packets addressed to them. Only affects the data-plane policy of non-owner
    /// masters. Default true.
    pub accept: bool,
    /// How VRRPv3 over IPv4 is checksummed. Default [`ChecksumMode::Rfc5798`].
    pub checksum: ChecksumMode,
    /// 1..=255 addresses, all of one family (IPv4 only for v2), no duplicates.
    pub vips: Vec<Vip>,
    pub garp: GarpConfig,
}

/// Gratuitous ARP / unsolicited Neighbor Advertisement announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GarpConfig {
    /// Frames per burst on becoming master, 1..=100. Default 3.
    pub count: u32,
    /// A second burst this long after becoming master; zero means none. Default 2s.
    pub repeat_after: Duration,
    /// Re-announce this often while master; zero means never (the default).
    pub refresh: Duration,
}

impl InstanceConfig {
    /// Whether `other` is the same virtual router on the same link, so that a reload
    /// can update it in place: interface, VRID, version and VIPs (with prefix lengths)
    /// unchanged; priority, interval and the rest may differ. (Reload also matches
    /// instances by name.)
    pub fn same_identity(&self, other: &InstanceConfig) -> bool {
        self.interface == other.interface
            && self.vrid == other.vrid
            && self.version == other.version
            && self.vips.len() == other.vips.len()
            && self.vips.iter().all(|v| other.vips.contains(v))
    }

    /// The advertisement interval in centiseconds, the unit of the VRRPv3 Max Adver Int
    /// field (RFC 5798 §5.2.7). Validation guarantees it fits: at most 4095 for v3,
    /// 25500 for v2.
    pub fn advert_interval_cs(&self) -> u16 {
        u16::try_from(self.advert_interval.as_millis() / 10).unwrap_or(u16::MAX)
    }

    /// Whether the instance's VIPs (and so its adverts) are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr.is_ipv6())
    }
}

impl Config {
    /// Reads, parses and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let yaml_error = |e: serde_norway::Error| ConfigError::from_yaml(path, text, &e);
        // serde_norway hands a document to the deserializer up to the first syntax
        // error and reports that error only if nothing fails earlier. A key indented
        // too little would then show up as a "missing field" in its mapping; reading
        // the whole document first reports the syntax error instead.
        serde_norway::from_str::<serde::de::IgnoredAny>(text).map_err(yaml_error)?;
        let raw: raw::RawConfig = serde_norway::from_str(text).map_err(yaml_error)?;
        validate::build(raw).map_err(|problem| ConfigError::Invalid {
            path: path.to_owned(),
            pos: locate::locate(text, &problem.field),
            field: problem.field.to_string(),
            message: problem.message,
        })
    }
}
