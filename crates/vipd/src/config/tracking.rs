//! `checks:` (health checks by name) and each instance's `track:` list: the raw shapes,
//! their single-value checks (inside `Deserialize`, so a bad URL or weight is placed at
//! its own line and column), and the rules across fields (one kind per check, fields
//! that only suit some kinds, track entries naming checks that exist).
//!
//! ```yaml
//! checks:
//!   nginx:
//!     process: {pidfile: /run/nginx.pid}
//!   nginx_http:
//!     http: http://127.0.0.1/healthz
//!     fall: 1
//! instances:
//!   - name: web
//!     track: [nginx, {check: nginx_http}, {check: upstream, weight: -60}]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use vipd_node::config::{CheckConfig, CheckInit, CheckKind, ProcessMatch, Track};

use super::duration::HumanDuration;
use super::path::FieldPath;
use super::validate::Problem;

/// Defaults of the common check fields.
pub(super) mod defaults {
    use std::time::Duration;

    pub const INTERVAL: Duration = Duration::from_secs(1);
    pub const TIMEOUT: Duration = Duration::from_millis(500);
    pub const RISE: u32 = 2;
    pub const FALL: u32 = 2;
}

/// The shortest interval: more often is a busy loop of checks, not a health check.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest timeout.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// The longest interval or timeout.
pub const MAX_PERIOD: Duration = Duration::from_secs(3600);
/// The largest |weight| (keepalived's bound).
pub const MAX_WEIGHT: i64 = 254;
/// Longest check name.
pub const MAX_CHECK_NAME_LEN: usize = 64;
/// Most arguments of an exec check.
pub const MAX_ARGS: usize = 256;

// The shapes as written and their single-value checks: `check_raw`.
use super::check_raw::*;

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a check name is empty".into());
    }
    if name.len() > MAX_CHECK_NAME_LEN {
        return Err(format!(
            "check name `{name}` is longer than {MAX_CHECK_NAME_LEN} characters"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "check name `{name}` contains {c:?}; use only letters, digits, '_', '-' and '.'"
        ));
    }
    Ok(())
}

/// Builds every check; `at` is the path of `checks`.
pub(super) fn build_checks(
    raw: BTreeMap<String, RawCheck>,
    at: &FieldPath,
) -> Result<BTreeMap<String, CheckConfig>, Problem> {
    let mut checks = BTreeMap::new();
    for (name, raw) in raw {
        let here = at.key(&name);
        check_name(&name).map_err(|m| Problem::new(here.clone(), m))?;
        let check = build_check(raw, &here)?;
        checks.insert(name, check);
    }
    Ok(checks)
}

fn build_check(raw: RawCheck, at: &FieldPath) -> Result<CheckConfig, Problem> {
    let mut kinds: Vec<(&str, CheckKind)> = Vec::new();
    if let Some(p) = raw.process {
        if p.pidfile.is_none() && p.name.is_none() {
            return Err(Problem::new(
                at.key("process"),
                "say which process: `pidfile`, `name` or both",
            ));
        }
        kinds.push((
            "process",
            CheckKind::Process(ProcessMatch {
                pidfile: p.pidfile.map(|p| p.0),
                name: p.name.map(|n| n.0),
                user: p.user.map(|u| u.0),
            }),
        ));
    }
    if let Some(HttpUrl(mut h)) = raw.http {
        if let Some(ExpectStatus(s)) = raw.expect_status.clone() {
            h.expect_status = s;
        }
        h.expect_body = raw.expect_body.clone().map(|b| b.0);
        kinds.push(("http", CheckKind::Http(h)));
    }
    if let Some(t) = raw.tcp {
        kinds.push(("tcp", CheckKind::Tcp(t.0)));
    }
    if let Some(a) = raw.exec {
        // No PATH search: what runs must not depend on vipd's environment.
        let program = a.0.first().map(String::as_str).unwrap_or_default();
        if !program.starts_with('/') {
            return Err(Problem::new(
                at.key("exec").index(0),
                format!(
                    "`{program}` is not an absolute path; exec checks run with a minimal \
                     PATH and no shell, so name the program by its full path (e.g. \
                     /usr/local/bin/{})",
                    program.rsplit('/').next().unwrap_or(program)
                ),
            ));
        }
        kinds.push((
            "exec",
            CheckKind::Exec {
                argv: a.0,
                user: raw.user.clone().map(|u| u.0),
            },
        ));
    }
    if let Some(i) = raw.interface {
        kinds.push(("interface", CheckKind::Interface(i.0)));
    }
    if let Some(f) = raw.file {
        kinds.push(("file", CheckKind::File(f.0)));
    }
    let kind = match kinds.len() {
        0 => {
            return Err(Problem::new(
                at.clone(),
                "a check needs one of `process`, `http`, `tcp`, `exec`, `interface`, `file`",
            ))
        }
        1 => kinds.remove(0).1,
        _ => {
            return Err(Problem::new(
                at.key(kinds[1].0),
                format!(
                    "a check has one kind, but this one has both `{}` and `{}` (declare a \
                     check for each)",
                    kinds[0].0, kinds[1].0
                ),
            ))
        }
    };
    let only = |present: bool, field: &str, kinds: &str| -> Result<(), Problem> {
        if present {
            Err(Problem::new(
                at.key(field),
                format!(
                    "`{field}` does not apply to a {} check (only to {kinds})",
                    kind.name()
                ),
            ))
        } else {
            Ok(())
        }
    };
    let is = |k: &[&str]| k.contains(&kind.name());
    only(
        raw.user.is_some() && !is(&["exec"]),
        "user",
        if is(&["process"]) {
            "exec; a process check takes it inside: process: {name: nginx, user: root}"
        } else {
            "exec"
        },
    )?;
    only(
        raw.expect_status.is_some() && !is(&["http"]),
        "expect_status",
        "http",
    )?;
    only(
        raw.expect_body.is_some() && !is(&["http"]),
        "expect_body",
        "http",
    )?;
    let polled = ["http", "tcp", "exec"];
    only(
        raw.rise.is_some() && !is(&polled),
        "rise",
        "http, tcp and exec; a process, interface or file check takes each change at once",
    )?;
    only(
        raw.fall.is_some() && !is(&polled),
        "fall",
        "http, tcp and exec; a process, interface or file check takes each change at once",
    )?;
    only(
        raw.timeout.is_some() && !is(&["http", "tcp", "exec", "file"]),
        "timeout",
        "http, tcp, exec and file",
    )?;
    only(
        raw.interval.is_some() && is(&["interface"]),
        "interval",
        "every kind but interface, which follows the kernel's link events",
    )?;
    only(
        raw.init.is_some() && is(&["file"]),
        "init",
        "every kind but file, whose value is 0 until read",
    )?;
    let interval = raw.interval.map_or(defaults::INTERVAL, |d| d.0);
    if !(MIN_INTERVAL..=MAX_PERIOD).contains(&interval) {
        return Err(Problem::new(
            at.key("interval"),
            format!(
                "{} is out of range {}..={}",
                HumanDuration(interval),
                HumanDuration(MIN_INTERVAL),
                HumanDuration(MAX_PERIOD)
            ),
        ));
    }
    let timeout = raw.timeout.map_or(defaults::TIMEOUT, |d| d.0);
    if !(MIN_TIMEOUT..=MAX_PERIOD).contains(&timeout) {
        return Err(Problem::new(
            at.key("timeout"),
            format!(
                "{} is out of range {}..={}",
                HumanDuration(timeout),
                HumanDuration(MIN_TIMEOUT),
                HumanDuration(MAX_PERIOD)
            ),
        ));
    }
    Ok(CheckConfig {
        kind,
        interval,
        timeout,
        rise: raw.rise.map_or(defaults::RISE, |r| u32::from(r.0)),
        fall: raw.fall.map_or(defaults::FALL, |f| u32::from(f.0)),
        init: raw.init.map_or(CheckInit::Down, |i| i.0),
    })
}

/// Builds an instance's track list; `at` is the path of its `track`.
pub(super) fn build_track(
    raw: Vec<RawTrack>,
    checks: &BTreeMap<String, CheckConfig>,
    at: &FieldPath,
) -> Result<Vec<Track>, Problem> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut track = Vec::with_capacity(raw.len());
    for (j, t) in raw.into_iter().enumerate() {
        let here = at.index(j);
        let name_at = if t.mapping {
            here.key("check")
        } else {
            here.clone()
        };
        if !checks.contains_key(&t.check) {
            let known: Vec<&str> = checks.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "no checks are declared (add them under `checks:`)".to_owned()
            } else {
                format!("declared checks: {}", known.join(", "))
            };
            return Err(Problem::new(
                name_at,
                format!("unknown check `{}`; {hint}", t.check),
            ));
        }
        if let Some(first) = seen.insert(t.check.clone(), j) {
            return Err(Problem::new(
                name_at,
                format!(
                    "check `{}` is already tracked by track[{first}]; track a check once",
                    t.check
                ),
            ));
        }
        track.push(Track {
            check: t.check,
            weight: t.weight.unwrap_or(0),
        });
    }
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipd_node::config::StatusMatch;

    #[test]
    fn statuses() {
        assert_eq!(status_match("200"), Ok(StatusMatch::Exact(200)));
        assert_eq!(status_match("3xx"), Ok(StatusMatch::Class(3)));
        assert!(status_match("600").is_err());
        assert!(status_match("6xx").is_err());
        assert!(status_match("22xx").is_err());
        assert!(StatusMatch::Class(2).matches(204));
        assert!(!StatusMatch::Class(2).matches(301));
    }
}
