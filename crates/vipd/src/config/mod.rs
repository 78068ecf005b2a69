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
mod path;
mod raw;
mod validate;

use std::path::Path;

pub use duration::{parse_duration, DurationError, HumanDuration};
pub use error::{ConfigError, Position};
pub use fields::LOG_LEVELS;
pub use vipd_node::config::{
    ChecksumMode, Config, GarpConfig, InstanceConfig, Vip, VipParseError, VrrpVersion,
};

/// Reads, parses and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
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
