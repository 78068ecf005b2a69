//! The validated model of health checks (`checks:`) and of what each instance tracks
//! (`track:`). Parsing the file is the daemon's business; running a check is the
//! shell's; deciding what a result means is the node's (`crate::checks`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One check, declared once under `checks:` and tracked by any number of instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    pub kind: CheckKind,
    /// How often a polled check runs (from the start of one run to the start of the
    /// next), or how often a process check looks for its process again while none is
    /// found. Default 1s.
    pub interval: Duration,
    /// How long one run of a polled check may take. Default 500ms.
    pub timeout: Duration,
    /// Consecutive successes that bring a polled check up. Default 2.
    pub rise: u32,
    /// Consecutive failures that bring a polled check down. Default 2.
    pub fall: u32,
    /// The state before the first result. Default down: a node whose service is dead
    /// at start-up never takes the VIP.
    pub init: CheckInit,
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// A process, watched (not polled): up while it runs, down the moment it dies.
    Process(ProcessMatch),
    /// An HTTP/1.1 GET (plain TCP, no TLS).
    Http(HttpCheck),
    /// A TCP connect.
    Tcp(HostPort),
    /// A program (no shell): exit 0 is up.
    Exec {
        argv: Vec<String>,
        /// Run as this user (and its primary group) instead of vipd's.
        user: Option<String>,
    },
    /// Another interface's link state (administratively up with carrier).
    Interface(String),
    /// keepalived's `track_file`: an integer read from the file, multiplied by the
    /// track's weight.
    File(PathBuf),
}

/// Which process a process check watches: the one in the pidfile, the ones with this
/// name (exact `comm` or `argv[0]`, with or without its directory), or the one in the
/// pidfile if it has this name. At least one of the two. With `user`, only processes
/// whose real and effective uid are that user's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMatch {
    pub pidfile: Option<PathBuf>,
    pub name: Option<String>,
    /// The user name the processes must run as.
    pub user: Option<String>,
}

/// A GET of `path` from `target`, with `Host: host_header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// The URL as written, for status and logs.
    pub url: String,
    pub target: HostPort,
    /// `host[:port]` as the URL has it.
    pub host_header: String,
    /// Path and query, at least `/`.
    pub path: String,
    /// Statuses that count as up. Default: 2xx.
    pub expect_status: Vec<StatusMatch>,
    /// A substring the body must contain (the first 64 KiB of it are read).
    pub expect_body: Option<String>,
}

/// An HTTP status, or a class of them (`2xx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    Exact(u16),
    /// The hundreds digit: 2 for `2xx`.
    Class(u8),
}

impl StatusMatch {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Exact(s) => s == status,
            StatusMatch::Class(c) => status / 100 == u16::from(c),
        }
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::Exact(s) => write!(f, "{s}"),
            StatusMatch::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// A host (name, IPv4 or IPv6 address) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A check's state before its first result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInit {
    Up,
    Down,
}

/// One entry of an instance's `track:` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The name of a check under `checks:`.
    pub check: String,
    /// -254..=254. 0 (a bare name): a failing check puts the instance in Fault.
    /// Negative: added to the priority while the check fails; positive: added while it
    /// is up (keepalived's semantics). For a file check: the file's value × weight is
    /// added, and below -253 the instance is in Fault; with weight 0 a value other than
    /// 0 is a Fault.
    pub weight: i32,
}

impl CheckKind {
    /// The kind's name as the configuration spells it.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Process(_) => "process",
            CheckKind::Http(_) => "http",
            CheckKind::Tcp(_) => "tcp",
            CheckKind::Exec { .. } => "exec",
            CheckKind::Interface(_) => "interface",
            CheckKind::File(_) => "file",
        }
    }

    /// Whether the node runs it every interval (and rise and fall apply).
    pub fn polled(&self) -> bool {
        matches!(
            self,
            CheckKind::Http(_) | CheckKind::Tcp(_) | CheckKind::Exec { .. } | CheckKind::File(_)
        )
    }

    /// What it looks at, for status: `pidfile /run/nginx.pid`, `http://127.0.0.1/`, ...
    pub fn target(&self) -> String {
        match self {
            CheckKind::Process(p) => {
                let what = match (&p.pidfile, &p.name) {
                    (Some(f), Some(n)) => format!("pidfile {} (name {n})", f.display()),
                    (Some(f), None) => format!("pidfile {}", f.display()),
                    (None, Some(n)) => format!("name {n}"),
                    (None, None) => "nothing".into(),
                };
                match &p.user {
                    Some(u) => format!("{what} (user {u})"),
                    None => what,
                }
            }
            CheckKind::Http(h) => h.url.clone(),
            CheckKind::Tcp(t) => t.to_string(),
            CheckKind::Exec { argv, user } => {
                let cmd = argv.join(" ");
                match user {
                    Some(u) => format!("{cmd} (as {u})"),
                    None => cmd,
                }
            }
            CheckKind::Interface(i) => i.clone(),
            CheckKind::File(p) => p.display().to_string(),
        }
    }
}
