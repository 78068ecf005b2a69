//! `checks:` and `track:` as written: the raw shapes, and their single-value checks,
//! made inside `Deserialize` so a bad URL or weight is placed at its own line and column
//! (the rules across fields are `tracking`'s).

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use vipd_node::config::{CheckInit, HostPort, HttpCheck, StatusMatch};

use super::check_target::{parse_host_port, parse_http_url};
use super::fields::{DurationField, IfName, RangedU8};
use super::tracking::{MAX_ARGS, MAX_WEIGHT};

/// One check as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a check: a mapping with one of `process`, `http`, `tcp`, `exec`, `interface`, `file`"
)]
pub(super) struct RawCheck {
    #[serde(default)]
    pub process: Option<RawProcess>,
    #[serde(default)]
    pub http: Option<HttpUrl>,
    #[serde(default)]
    pub tcp: Option<TcpTarget>,
    #[serde(default)]
    pub exec: Option<Argv>,
    #[serde(default)]
    pub interface: Option<IfName>,
    #[serde(default)]
    pub file: Option<AbsPath>,
    #[serde(default)]
    pub user: Option<Text>,
    #[serde(default)]
    pub expect_status: Option<ExpectStatus>,
    #[serde(default)]
    pub expect_body: Option<Text>,
    #[serde(default)]
    pub interval: Option<DurationField>,
    #[serde(default)]
    pub timeout: Option<DurationField>,
    #[serde(default)]
    pub rise: Option<RangedU8<1, 100>>,
    #[serde(default)]
    pub fall: Option<RangedU8<1, 100>>,
    #[serde(default)]
    pub init: Option<InitField>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `pidfile`, `name` or both, and optionally `user`"
)]
pub(super) struct RawProcess {
    #[serde(default)]
    pub pidfile: Option<AbsPath>,
    #[serde(default)]
    pub name: Option<Text>,
    /// Only processes running as this user count.
    #[serde(default)]
    pub user: Option<Text>,
}

/// One entry of `track:`: a bare check name, or `{check: NAME, weight: N}`.
#[derive(Debug)]
pub(super) struct RawTrack {
    pub check: String,
    pub weight: Option<i32>,
    /// Written as a mapping: the name is at `.check`.
    pub mapping: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with `check` and `weight`")]
struct RawTrackMap {
    #[serde(default)]
    check: Option<Text>,
    #[serde(default)]
    weight: Option<Weight>,
}

impl<'de> Deserialize<'de> for RawTrack {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTrack;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a check name, or a mapping such as {check: nginx, weight: -60}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawTrack, E> {
                Ok(RawTrack {
                    check: s.to_owned(),
                    weight: None,
                    mapping: false,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawTrack, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawTrack, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTrack, A::Error> {
                let m = RawTrackMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let Some(check) = m.check else {
                    return Err(de::Error::custom("missing field `check`"));
                };
                Ok(RawTrack {
                    check: check.0,
                    weight: m.weight.map(|w| w.0),
                    mapping: true,
                })
            }
        }
        de.deserialize_any(V)
    }
}

/// Implements `visit_str` for a checked text value and takes other scalars as text.
macro_rules! text_visitor {
    ($name:ident, $expecting:literal, $check:expr) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$name, E> {
                        let check: fn(&str) -> Result<$name, String> = $check;
                        check(s).map_err(E::custom)
                    }
                    fn visit_bool<E: de::Error>(self, v: bool) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                    fn visit_f64<E: de::Error>(self, v: f64) -> Result<$name, E> {
                        self.visit_str(&v.to_string())
                    }
                }
                de.deserialize_any(V)
            }
        }
    };
}

/// Any non-empty text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Text(pub String);
text_visitor!(Text, "text", |s| if s.is_empty() {
    Err("empty; write something or leave the field out".into())
} else {
    Ok(Text(s.to_owned()))
});

/// An absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AbsPath(pub PathBuf);
text_visitor!(AbsPath, "an absolute path", |s| if s.starts_with('/') {
    Ok(AbsPath(PathBuf::from(s)))
} else {
    Err(format!(
        "`{s}` is not an absolute path; vipd's working directory is no place to look"
    ))
});

/// `up` or `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InitField(pub CheckInit);
text_visitor!(InitField, "up or down", |s| match s {
    "up" => Ok(InitField(CheckInit::Up)),
    "down" => Ok(InitField(CheckInit::Down)),
    _ => Err(format!("`{s}` is neither up nor down")),
});

/// A plain-HTTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HttpUrl(pub HttpCheck);
text_visitor!(HttpUrl, "a URL such as http://127.0.0.1/healthz", |s| {
    parse_http_url(s).map(HttpUrl)
});

/// `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TcpTarget(pub HostPort);
text_visitor!(TcpTarget, "host:port, e.g. 127.0.0.1:80 or [::1]:80", |s| {
    parse_host_port(s, None).map(TcpTarget)
});

/// A weight in -254..=254.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Weight(pub i32);

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Weight;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "an integer in -{MAX_WEIGHT}..={MAX_WEIGHT}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Weight, E> {
                if (-MAX_WEIGHT..=MAX_WEIGHT).contains(&v) {
                    // In range, so it fits.
                    Ok(Weight(i32::try_from(v).unwrap_or(0)))
                } else {
                    Err(E::custom(format!(
                        "{v} is out of range -{MAX_WEIGHT}..={MAX_WEIGHT}"
                    )))
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Weight, E> {
                match i64::try_from(v) {
                    Ok(v) => self.visit_i64(v),
                    Err(_) => Err(E::custom(format!(
                        "{v} is out of range -{MAX_WEIGHT}..={MAX_WEIGHT}"
                    ))),
                }
            }
        }
        de.deserialize_any(V)
    }
}

/// An exec check's argv: a non-empty list of non-empty strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Argv(pub Vec<String>);

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Argv;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a list: the program and its arguments, e.g. [/usr/local/bin/check, --quick]",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Argv, A::Error> {
                let mut argv = Vec::new();
                while let Some(Text(arg)) = seq.next_element()? {
                    if argv.len() >= MAX_ARGS {
                        return Err(de::Error::custom(format!("more than {MAX_ARGS} arguments")));
                    }
                    argv.push(arg);
                }
                if argv.is_empty() {
                    return Err(de::Error::custom(
                        "the list is empty; name the program to run (no shell is involved)",
                    ));
                }
                Ok(Argv(argv))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Argv, E> {
                Err(E::custom(format!(
                    "`{s}` is one string; write the program and its arguments as a list, \
                     e.g. [{}] (no shell is involved)",
                    s.split_whitespace().collect::<Vec<_>>().join(", ")
                )))
            }
        }
        de.deserialize_any(V)
    }
}

/// `expect_status`: a status (`200`), a class (`2xx`), or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExpectStatus(pub Vec<StatusMatch>);

pub(super) fn status_match(s: &str) -> Result<StatusMatch, String> {
    let bad = || {
        format!(
            "`{s}` is not an HTTP status; expected a number in 100..=599 or a class such as 2xx"
        )
    };
    if let Some(d) = s.strip_suffix("xx").or_else(|| s.strip_suffix("XX")) {
        return match d.parse::<u8>() {
            Ok(c) if (1..=5).contains(&c) && d.len() == 1 => Ok(StatusMatch::Class(c)),
            _ => Err(bad()),
        };
    }
    match s.parse::<u16>() {
        Ok(n) if (100..=599).contains(&n) => Ok(StatusMatch::Exact(n)),
        _ => Err(bad()),
    }
}

struct OneStatus(StatusMatch);
text_visitor!(OneStatus, "an HTTP status such as 200 or 2xx", |s| {
    status_match(s).map(OneStatus)
});

impl<'de> Deserialize<'de> for ExpectStatus {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExpectStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an HTTP status (200), a class (2xx) or a list of them")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectStatus, E> {
                status_match(s)
                    .map(|m| ExpectStatus(vec![m]))
                    .map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpectStatus, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExpectStatus, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExpectStatus, A::Error> {
                let mut all = Vec::new();
                while let Some(OneStatus(m)) = seq.next_element()? {
                    if all.len() >= 100 {
                        return Err(de::Error::custom("more than 100 statuses"));
                    }
                    all.push(m);
                }
                if all.is_empty() {
                    return Err(de::Error::custom(
                        "the list is empty; leave expect_status out for 2xx",
                    ));
                }
                Ok(ExpectStatus(all))
            }
        }
        de.deserialize_any(V)
    }
}
