//! The control-socket protocol between `vipd` and `vipctl` (and anything else that
//! wants to read the daemon's state).
//!
//! Framing: one JSON object per line, UTF-8, in both directions. The client sends a
//! [`Request`]; the daemon answers with one [`Response`] and closes the connection —
//! except for [`Command::Watch`], answered with [`Response::Watching`] and then one
//! [`WatchLine`] per event until the daemon stops (an `end` record) or the client leaves.
//! Every message carries `"v": 1`; a daemon refuses a version it does not speak with
//! [`Response::Error`] naming the versions it does.

use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Where the daemon listens unless configured otherwise.
pub const DEFAULT_SOCKET: &str = "/run/vipd/vipd.sock";

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub v: u32,
    #[serde(flatten)]
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// The state of every instance.
    Status,
    /// Maintenance on or off for the named instances (every instance when none is
    /// named). On: a master hands over make-before-break and the instance stays backup
    /// until off. Kept across reloads and restarts. A mutating command: allowed to
    /// uid 0 and members of the configured `operator_group` only. Added in protocol
    /// version 1 without a bump (an older daemon answers "bad request").
    Maintenance {
        on: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        instances: Vec<String>,
    },
    /// Keep the connection open and stream events ([`WatchLine`], one a line) about the
    /// named instances (every instance when none is named; events that concern no one
    /// instance, such as reloads and checks, always come). The first line is the answer
    /// ([`Response::Watching`], or an error); the stream ends with an `end` record when
    /// vipd stops. Not mutating: allowed to anyone who can connect. Added in protocol
    /// version 1 without a bump (an older daemon answers "bad request").
    Watch {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        instances: Vec<String>,
    },
}

impl Request {
    pub fn new(command: Command) -> Self {
        Request {
            v: PROTOCOL_VERSION,
            command,
        }
    }
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    Status(Status),
    Error {
        v: u32,
        message: String,
    },
    /// A mutating command was carried out; `message` says what it did. Added in
    /// protocol version 1 without a bump.
    Done {
        v: u32,
        message: String,
    },
    /// The answer to [`Command::Watch`]: the subscription holds from here on, and the
    /// watched instances as they stand now (the stream's starting point). Added in
    /// protocol version 1 without a bump.
    Watching {
        v: u32,
        instances: Vec<WatchStart>,
    },
}

/// One watched instance as it stands when the watch begins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchStart {
    pub name: String,
    pub state: State,
    /// The effective priority (configured, plus what tracked checks add).
    pub priority: u8,
    pub maintenance: bool,
}

/// One line of a watch stream after the answer: when and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchLine {
    pub v: u32,
    /// When it happened, by the daemon's wall clock: RFC 3339, UTC, milliseconds
    /// (`2026-12-01T02:30:05.123Z`).
    pub time: String,
    #[serde(flatten)]
    pub event: WatchEvent,
}

/// What happened, as a watch stream tells it (`"kind"` names the variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WatchEvent {
    /// An instance changed VRRP state; `priority` is its effective priority then.
    StateChanged {
        instance: String,
        from: State,
        to: State,
        /// Why (stable names, e.g. "master_down_timer", "higher_priority_advert").
        reason: String,
        priority: u8,
    },
    /// A health check went up or down (a file check: its value changed); `saw` is the
    /// result that decided it, in words (`exit 1`, `HTTP 503 (expected 2xx)`, ...).
    Check {
        check: String,
        up: bool,
        saw: String,
    },
    /// A master handing over (maintenance on, or vipd stopping) heard the new master's
    /// first advert from `master`, `after_us` microseconds after its own priority-0
    /// advert: the handover is complete, and its VIPs go a moment later. Added in
    /// protocol version 1 without a bump.
    NewMasterHeard {
        instance: String,
        master: String,
        after_us: u64,
    },
    /// Maintenance on or off for an instance, and the uid that asked.
    Maintenance {
        instance: String,
        on: bool,
        uid: u32,
    },
    /// A reload (SIGHUP) was applied: what changed, one entry each (`added db`,
    /// `removed web`, `updated web`, `restarted web: …`, `checks: …`); empty when
    /// nothing did.
    ReloadApplied { changes: Vec<String> },
    /// A reload was refused; the running configuration stays.
    ReloadRejected { error: String },
    /// Packets an instance dropped since its last summary, by reason (stable names as in
    /// the status's `drops`). At most one a second per instance.
    Drops {
        instance: String,
        total: u64,
        by_reason: std::collections::BTreeMap<String, u64>,
    },
    /// This many events were not delivered to this watcher (it read too slowly and its
    /// buffer was full); the next line follows them.
    Missed { count: u64 },
    /// The stream ends (vipd is stopping); nothing follows.
    End { reason: String },
    /// An announced instance (`announce:`) changed state: `from` and `to` are
    /// `announcing`, `withdrawn` or `draining` ([`AnnouncedStatus::state`]). Added in
    /// protocol version 1 without a bump.
    Announce {
        instance: String,
        from: String,
        to: String,
        /// Why, in words (`checks pass`, `maintenance`, `stopping`, ...).
        reason: String,
    },
}

impl WatchEvent {
    /// The instance the event concerns, if one.
    pub fn instance(&self) -> Option<&str> {
        match self {
            WatchEvent::StateChanged { instance, .. }
            | WatchEvent::NewMasterHeard { instance, .. }
            | WatchEvent::Maintenance { instance, .. }
            | WatchEvent::Drops { instance, .. }
            | WatchEvent::Announce { instance, .. } => Some(instance),
            _ => None,
        }
    }
}

/// The start of the [`Response::Error`] message when the caller may not run a command.
pub const PERMISSION_DENIED: &str = "permission denied";

/// Everything `vipctl status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub v: u32,
    /// The daemon's hostname, so output from several hosts can be told apart.
    pub host: String,
    pub pid: u32,
    /// Seconds the daemon has been running.
    pub uptime_s: f64,
    pub instances: Vec<InstanceStatus>,
    /// The interfaces the instances run on, with what is counted per interface.
    /// Added in protocol version 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<InterfaceStatus>,
    /// Every health check (`checks:`), by name. Optional, so older peers parse it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckStatus>,
    /// The other nodes of the cluster (`cluster_peers:` in the configuration), whose `/status`
    /// `vipctl status --cluster` reads. Added in protocol version 1 without a bump:
    /// optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerInfo>,
    /// Instances that announce their VIPs through the host's routing daemon instead
    /// of electing a master (`announce:`). Added in protocol version 1 without a
    /// bump: optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub announced: Vec<AnnouncedStatus>,
}

/// One announced instance (`announce:`): while its tracked checks pass, its VIPs are on
/// its announce interface, where the host's BGP speaker picks them up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnouncedStatus {
    pub name: String,
    /// The interface vipd owns for announced VIPs (e.g. `vipd0`).
    pub interface: String,
    /// `announcing` (the VIPs are on the interface), `draining` (withdrawn, still
    /// answered locally until the drain time passes) or `withdrawn`.
    pub state: String,
    /// Why it is in that state, in words.
    pub reason: String,
    /// Seconds in this state.
    pub in_state_s: f64,
    /// State changes since vipd started.
    pub transitions: u64,
    /// The sum of the tracked checks' weights now, and the sum below which the VIPs
    /// are withdrawn.
    pub weight: i64,
    pub withdraw_below: i64,
    /// The configured drain time, and what is left of a drain under way.
    pub drain_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_left_s: Option<f64>,
    /// `present`: on the announce interface now (as of a kernel read for the status).
    pub vips: Vec<VipStatus>,
    pub tracking: Vec<TrackStatus>,
    pub maintenance: bool,
}

/// Another node's metrics listener, as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its name, if the configuration gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `ADDR:PORT` of its metrics listener.
    pub address: String,
}

/// One interface in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    pub name: String,
    /// VRRP adverts received on it for a VRID (of their address family) that no
    /// instance here has: discarded (RFC 5798 §7.1), only counted.
    pub unknown_vrid: u64,
}

/// VRRP state as shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "initialize",
            State::Backup => "backup",
            State::Master => "master",
            State::Fault => "fault",
            State::Stopped => "stopped",
        }
    }
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub state: State,
    /// Why the instance is in its state (e.g. "master_down_timer", "link_down").
    pub reason: String,
    pub priority_configured: u8,
    pub priority_effective: u8,
    /// This host's primary address on the interface (the advert source).
    pub local_address: Option<String>,
    /// The master as this instance knows it: itself when master, else the source of the
    /// last accepted advert.
    pub master_address: Option<String>,
    pub master_priority: Option<u8>,
    /// Configured advertisement interval, in milliseconds.
    pub advert_interval_ms: u64,
    /// The interval the master advertises (RFC 5798 Master_Adver_Interval, learned from
    /// its adverts; this host's own when master), in milliseconds. Absent while no
    /// master is known. Added in protocol version 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_advert_interval_ms: Option<u64>,
    /// Seconds since the last valid advert from another router was accepted.
    pub last_advert_age_s: Option<f64>,
    /// Configured VIPs with whether each is on the interface right now (read from the
    /// kernel when the status is asked for, not remembered).
    pub vips: Vec<VipStatus>,
    /// Set when the kernel could not be asked: `vips[].present` is then unknown (and
    /// false), not a reading. Optional, so older peers parse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_error: Option<String>,
    /// Seconds since the last state change.
    pub in_state_s: f64,
    /// When the last state change happened, in seconds since the Unix epoch by the
    /// daemon's wall clock at its start plus its monotonic clock since. Absent while
    /// the instance has not started. Added in protocol version 1 without a bump:
    /// optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_unix_s: Option<f64>,
    pub transitions: u64,
    /// State changes since the instance was configured, by the reason of the change
    /// (the engine's reason names, e.g. "master_down_timer", "higher_priority"); kept
    /// across restarts of its router, unlike `transitions`. Added in protocol version
    /// 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub transitions_by_reason: std::collections::BTreeMap<String, u64>,
    pub adverts_sent: u64,
    pub adverts_received: u64,
    /// Dropped packets by reason (stable names, e.g. "bad_ttl", "bad_checksum"), and
    /// answers to lower-priority adverts a master held back ("answer_rate_limited").
    pub drops: std::collections::BTreeMap<String, u64>,
    /// Adverts accepted although they list other virtual addresses than this instance
    /// (VRRPv3, RFC 5798 §7.1): another router is configured differently, e.g. midway
    /// through a rolling change. Absent while none came. Added in protocol version 1
    /// without a bump: optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_mismatch: Option<AddressMismatch>,
    /// With `auth`: how many times adverts from one source kept failing authentication
    /// for longer than Master_Down_Interval (each warned about once). Added in protocol
    /// version 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth_alarms: u64,
    /// With `auth`: the sources whose adverts have failed authentication for longer
    /// than Master_Down_Interval and still do. Added in protocol version 1 without a
    /// bump: optional.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_failing: Vec<AuthFailing>,
    /// The checks this instance tracks and what each does to it now; the priority
    /// they produce is `priority_effective`. Optional, so older peers parse it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking: Vec<TrackStatus>,
    /// In maintenance (`vipctl maintenance on`): backup, never taking over, until
    /// turned off. Added in protocol version 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maintenance: bool,
    /// A make-before-break handover under way (vipd stopping, maintenance on, a failed
    /// tracked check with two routers): the instance has left master but keeps its VIPs
    /// until the new master is heard, for at most this many seconds more. Added in
    /// protocol version 1 without a bump: optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handover_left_s: Option<f64>,
    /// The instance's notify hooks: counters and what is under way. Absent when it has
    /// none configured and none ran. Added in protocol version 1 without a bump:
    /// optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyStatus>,
    /// The sync group this instance is in, if any. Added in protocol version 1
    /// without a bump: optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupMembership>,
}

/// An instance's sync group (`groups:` in the configuration) and what holds it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMembership {
    pub name: String,
    /// Held back by the group: it does not become master while a member is neither
    /// master nor ready to be.
    pub held: bool,
    /// Held, and would be master now (its Master_Down_Timer ran out): waiting only for
    /// the other members.
    pub ready: bool,
    /// The members the group waits for, each with its state ("fault", "backup",
    /// "maintenance", ...); empty when every member is master or ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<GroupWait>,
    /// Runs of the group's own notify hooks (`groups[].notify`): present once the group
    /// has hooks or runs of them. The same for every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyStatus>,
}

/// A member a sync group waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupWait {
    pub instance: String,
    pub state: String,
}

/// Runs of an instance's notify hooks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotifyStatus {
    /// Runs that ended, whatever their result.
    pub runs: u64,
    /// Runs that could not start, exited non-zero, were ended by a signal, timed out,
    /// or had no answer in time.
    pub failed: u64,
    /// Runs killed at `notify_timeout` (also counted in `failed`).
    pub timed_out: u64,
    /// Runs dropped before they started (too many transitions waiting, or a stop).
    pub dropped: u64,
    /// The hook running now (`master`, `backup`, `fault`, `stop`, `any`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<String>,
    /// Runs waiting for it.
    pub pending: u64,
    /// The newest failure, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A source whose adverts keep failing authentication (see
/// `InstanceStatus::auth_failing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthFailing {
    pub from: String,
    /// The last failure's counter name: "auth_replay", "auth_bad_mac", ...
    pub reason: String,
    /// Seconds since its first failure of this stretch.
    pub for_s: f64,
    /// Its adverts dropped in this stretch.
    pub dropped: u64,
}

/// Adverts that listed other virtual addresses than the instance's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressMismatch {
    /// The sender of the last one.
    pub from: String,
    /// The addresses it listed.
    pub addresses: Vec<String>,
    /// How many such adverts were accepted since the instance started.
    pub count: u64,
    /// Seconds since the last one.
    pub last_age_s: f64,
}

/// One entry of an instance's track list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackStatus {
    pub check: String,
    /// 0: a failing check puts the instance in Fault; otherwise added to the priority
    /// (a negative weight while the check fails, a positive one while it is up; for a
    /// file check, the file's value × weight).
    pub weight: i32,
    /// Whether the check now lowers the priority, withholds a positive weight, or
    /// puts the instance in Fault.
    pub failing: bool,
    /// What it adds to the priority now.
    pub adds: i64,
    /// Whether it puts the instance in Fault now.
    pub fault: bool,
}

/// One health check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub name: String,
    /// process, http, tcp, exec, interface or file.
    pub kind: String,
    /// What it looks at: `pidfile /run/nginx.pid`, `http://127.0.0.1/healthz`, ...
    pub target: String,
    pub up: bool,
    /// Seconds since it last went up or down (or since it was set up).
    pub since_s: f64,
    /// The newest result in words: `exit 0`, `HTTP 503 (expected 2xx)`, `pid 4242`,
    /// `timed out after 500ms`, `connection refused`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// Seconds since the newest result came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result_age_s: Option<f64>,
    /// An exec check's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// An http check's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// A process check's process ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u32>,
    /// A file check's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// Why the newest result failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long the newest run of a polled check (http, tcp, exec, file) took, from
    /// the node asking for it to its result, in seconds. Added in protocol version 1
    /// without a bump: optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_duration_s: Option<f64>,
    /// Results so far, and how many of them failed.
    pub results: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipStatus {
    /// Address with prefix length, e.g. "192.0.2.50/24".
    pub address: String,
    /// Whether the kernel has it on the instance's interface now.
    pub present: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_form_is_stable() {
        let r = Request::new(Command::Status);
        let s = serde_json::to_string(&r).expect("serialize");
        assert_eq!(s, r#"{"v":1,"command":"status"}"#);
        let back: Request = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, r);
    }

    #[test]
    fn maintenance_wire_form() {
        let r = Request::new(Command::Maintenance {
            on: true,
            instances: vec!["web".into()],
        });
        let s = serde_json::to_string(&r).expect("serialize");
        assert_eq!(
            s,
            r#"{"v":1,"command":"maintenance","on":true,"instances":["web"]}"#
        );
        let all: Request =
            serde_json::from_str(r#"{"v":1,"command":"maintenance","on":false}"#).expect("parse");
        assert_eq!(
            all.command,
            Command::Maintenance {
                on: false,
                instances: vec![]
            }
        );
    }

    #[test]
    fn watch_wire_form() {
        let r = Request::new(Command::Watch {
            instances: vec!["web".into()],
        });
        let s = serde_json::to_string(&r).expect("serialize");
        assert_eq!(s, r#"{"v":1,"command":"watch","instances":["web"]}"#);
        let all: Request = serde_json::from_str(r#"{"v":1,"command":"watch"}"#).expect("parse");
        assert_eq!(all.command, Command::Watch { instances: vec![] });
        let line = WatchLine {
            v: 1,
            time: "2026-12-01T02:30:05.123Z".into(),
            event: WatchEvent::Missed { count: 7 },
        };
        let s = serde_json::to_string(&line).expect("serialize");
        assert_eq!(
            s,
            r#"{"v":1,"time":"2026-12-01T02:30:05.123Z","kind":"missed","count":7}"#
        );
        let back: WatchLine = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, line);
        let changed = WatchLine {
            v: 1,
            time: "2026-12-01T02:30:05.123Z".into(),
            event: WatchEvent::StateChanged {
                instance: "web".into(),
                from: State::Backup,
                to: State::Master,
                reason: "master_down_timer".into(),
                priority: 100,
            },
        };
        let s = serde_json::to_string(&changed).expect("serialize");
        assert_eq!(
            s,
            r#"{"v":1,"time":"2026-12-01T02:30:05.123Z","kind":"state_changed","instance":"web","from":"backup","to":"master","reason":"master_down_timer","priority":100}"#
        );
        assert_eq!(
            serde_json::from_str::<WatchLine>(&s).expect("parse"),
            changed
        );
    }

    #[test]
    fn new_master_heard_wire_form() {
        let line = WatchLine {
            v: 1,
            time: "2026-12-01T02:30:05.123Z".into(),
            event: WatchEvent::NewMasterHeard {
                instance: "web".into(),
                master: "192.0.2.12".into(),
                after_us: 63_137,
            },
        };
        let s = serde_json::to_string(&line).expect("serialize");
        assert_eq!(
            s,
            r#"{"v":1,"time":"2026-12-01T02:30:05.123Z","kind":"new_master_heard","instance":"web","master":"192.0.2.12","after_us":63137}"#
        );
        assert_eq!(serde_json::from_str::<WatchLine>(&s).expect("parse"), line);
        assert_eq!(line.event.instance(), Some("web"));
    }

    #[test]
    fn error_response_round_trips() {
        let e = Response::Error {
            v: 1,
            message: "unsupported protocol version 7".into(),
        };
        let s = serde_json::to_string(&e).expect("serialize");
        assert!(s.contains(r#""kind":"error""#));
        let back: Response = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, e);
    }
}
