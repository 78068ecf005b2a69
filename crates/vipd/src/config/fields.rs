//! Single-value checks, done inside `Deserialize` so that serde_norway reports the exact
//! line, column and field path of a bad value.
//!
//! Each type here fails from within its visitor (not after deserializing, as
//! `#[serde(try_from)]` would): serde_norway then attributes the error to the value
//! itself rather than to the enclosing mapping.
//!
//! The text fields (names, durations, addresses, ...) take any scalar, the way YAML
//! resolves it: a plain `51` or `true` arrives as a number or a boolean and is read as
//! its text, null as empty text. They read the same from the config text as from a
//! [`serde_norway::Value`] of it, which `deserialize` relies on for its messages. A
//! spelling YAML normalizes (`0x1F` is 31, `1e5` is 100000, `1.50` is 1.5) must be
//! quoted to be kept.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::duration::parse_duration;

/// Longest Linux interface name (IFNAMSIZ - 1).
pub const MAX_IFNAME_LEN: usize = 15;
/// Longest instance name; it becomes part of a kernel address label.
pub const MAX_NAME_LEN: usize = 15;
/// Longest Unix socket path (`sun_path` is 108 bytes including the NUL).
pub const MAX_SOCKET_PATH_LEN: usize = 107;
/// The VRRP "Count IPvX Addr" field is one byte (RFC 5798 §5.2.6).
pub const MAX_VIPS: usize = 255;

/// Levels accepted for `log_level`.
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

/// A string checked by `check`; any scalar is taken as text.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $expecting:literal, $check:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub $inner);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        $check(s).map($name).map_err(E::custom)
                    }
                    scalars_as_text!();
                }
                de.deserialize_any(V)
            }
        }
    };
}

checked_string!(
    /// An instance name: `[A-Za-z0-9_-]{1,15}`.
    InstanceName, String, "an instance name", check_instance_name
);
checked_string!(
    /// A Linux interface name.
    IfName, String, "an interface name", check_ifname
);
checked_string!(
    /// A human duration such as `200ms`.
    DurationField, Duration, "a duration such as 200ms or 1s", parse_duration
);
checked_string!(
    /// One of [`LOG_LEVELS`], lower-cased.
    LogLevel, String, "a log level", check_log_level
);
checked_string!(
    /// A path for the control socket.
    SocketPath, PathBuf, "a socket path", check_socket_path
);
checked_string!(
    /// The absolute path of a key file.
    KeyPath, PathBuf, "the absolute path of a key file", check_key_path
);
checked_string!(
    /// The state directory: an absolute path.
    StateDir, PathBuf, "a directory path", check_state_dir
);
checked_string!(
    /// A group name (or a numeric gid), resolved when the configuration is built.
    GroupName, String, "a group name", check_group_name
);

checked_string!(
    /// An address and port to listen on: `127.0.0.1:9650`, `[::1]:9650`.
    ListenAddr, std::net::SocketAddr, "an address and port such as 127.0.0.1:9650", check_listen_addr
);

fn check_listen_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = s.parse().map_err(|_| {
        format!("`{s}` is not an address and port (e.g. 127.0.0.1:9650 or [::1]:9650)")
    })?;
    if addr.port() == 0 {
        return Err(format!("`{s}`: port 0 is not a fixed port; name one"));
    }
    Ok(addr)
}

fn check_instance_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("the name is empty".to_owned());
    }
    if s.len() > MAX_NAME_LEN {
        return Err(format!("`{s}` is longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "`{s}` contains {c:?}; use only letters, digits, '_' and '-'"
        ));
    }
    Ok(s.to_owned())
}

/// The rules of the kernel's `dev_valid_name()`.
fn check_ifname(s: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("`{s}` is not a valid interface name: {why}"));
    if s.is_empty() {
        return bad("it is empty");
    }
    if s.len() > MAX_IFNAME_LEN {
        return bad(&format!("longer than {MAX_IFNAME_LEN} bytes"));
    }
    if s == "." || s == ".." {
        return bad("reserved name");
    }
    if let Some(c) = s
        .chars()
        .find(|c| *c == '/' || *c == ':' || *c == '\0' || c.is_whitespace())
    {
        return bad(&format!("contains {c:?}"));
    }
    Ok(s.to_owned())
}

fn check_log_level(s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    if LOG_LEVELS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(format!(
            "unknown log level `{s}`; expected one of {}",
            LOG_LEVELS.join(", ")
        ))
    }
}

/// Absolute, so that what is read does not depend on the directory vipd started in.
fn check_key_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("the key file path is empty".to_owned())
    } else if !s.starts_with('/') {
        Err(format!(
            "`{s}` is not an absolute path; write the key file's full path, e.g. /etc/vipd/web.key"
        ))
    } else {
        Ok(PathBuf::from(s))
    }
}

fn check_state_dir(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("the state directory is empty".to_owned())
    } else if !s.starts_with('/') {
        Err(format!("`{s}` is not an absolute path"))
    } else {
        Ok(PathBuf::from(s))
    }
}

fn check_group_name(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("the group name is empty".to_owned())
    } else if s.contains(|c: char| c.is_whitespace() || c == ':') {
        Err(format!("`{s}` is not a group name"))
    } else {
        Ok(s.to_owned())
    }
}

fn check_socket_path(s: &str) -> Result<PathBuf, String> {
    if s.is_empty() {
        Err("the socket path is empty".to_owned())
    } else if s.len() > MAX_SOCKET_PATH_LEN {
        Err(format!(
            "the socket path is {} bytes long; Unix sockets allow at most {MAX_SOCKET_PATH_LEN}",
            s.len()
        ))
    } else {
        Ok(PathBuf::from(s))
    }
}

/// An integer in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangedU8<const MIN: u8, const MAX: u8>(pub u8);

impl<'de, const MIN: u8, const MAX: u8> Deserialize<'de> for RangedU8<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V<const MIN: u8, const MAX: u8>;
        impl<'de, const MIN: u8, const MAX: u8> Visitor<'de> for V<MIN, MAX> {
            type Value = RangedU8<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer in {MIN}..={MAX}")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                match u8::try_from(v) {
                    Ok(n) if (MIN..=MAX).contains(&n) => Ok(RangedU8(n)),
                    _ => Err(E::custom(format!("{v} is out of range {MIN}..={MAX}"))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!("{v} is out of range {MIN}..={MAX}"))),
                }
            }
        }
        de.deserialize_any(V::<MIN, MAX>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        assert!(check_instance_name("web-1_a").is_ok());
        assert!(check_instance_name("123456789012345").is_ok());
        assert!(check_instance_name("1234567890123456").is_err());
        assert!(check_instance_name("").is_err());
        assert!(check_instance_name("a.b").is_err());
        assert!(check_instance_name("a:b").is_err());
    }

    #[test]
    fn interface_names() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("veth-a.100").is_ok());
        assert!(check_ifname("abcdefghijklmno").is_ok());
        for bad in [
            "",
            "abcdefghijklmnop",
            "eth/0",
            "eth 0",
            "eth0:1",
            ".",
            "..",
            "a\tb",
        ] {
            assert!(check_ifname(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn text_fields_take_scalars_as_yaml_resolves_them() {
        let name = |yaml: &str| -> Result<String, String> {
            serde_norway::from_str::<InstanceName>(yaml)
                .map(|n| n.0)
                .map_err(|e| e.to_string())
        };
        assert_eq!(name("51"), Ok("51".to_owned()));
        assert_eq!(name("007"), Ok("007".to_owned()));
        assert_eq!(name("true"), Ok("true".to_owned()));
        assert_eq!(name("0x1F"), Ok("31".to_owned()));
        assert_eq!(name("\"0x1F\""), Ok("0x1F".to_owned()));
        assert!(name("~").is_err_and(|e| e.contains("the name is empty")));
        let value: serde_norway::Value = serde_norway::from_str("51").expect("yaml");
        let from_value = InstanceName::deserialize(&value).map(|n| n.0);
        assert_eq!(from_value.map_err(|e| e.to_string()), name("51"));
        let interval = serde_norway::from_str::<DurationField>("200").map_err(|e| e.to_string());
        assert!(interval.is_err_and(|e| e.contains("`200` has no unit")));
    }

    #[test]
    fn log_levels() {
        assert_eq!(check_log_level("INFO"), Ok("info".to_owned()));
        assert!(check_log_level("verbose").is_err());
    }
}
