//! Log lines as journal entries with fields of their own (`journalctl -u vipd
//! INSTANCE=web`), when vipd's stderr is the journal (systemd sets `$JOURNAL_STREAM` to
//! its device and inode).
//!
//! The journal's native protocol (systemd.journal-fields(7), "Native Protocol"): one
//! datagram per entry to /run/systemd/journal/socket, `FIELD=value` lines, or for a
//! value with a line break `FIELD`, its length as 64-bit little-endian and the bytes.
//! Written here, not with tracing-journald: that one sends from the logging thread
//! with a blocking socket, and nothing on vipd's loop may wait for journald. Entries go
//! through a bounded queue to a thread of their own, as stderr lines do
//! ([`crate::logging`]); when journald does not keep up they are dropped and counted.

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use crate::log_queue::{Flush, LineQueue};

/// journald's socket for native entries.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// The most of one value sent (a runaway message is cut, not split).
const MAX_VALUE: usize = 16 * 1024;

/// Fields that are the entry's own in the journal and stay out of its MESSAGE.
const STRUCTURED: [&str; 5] = [
    "instance",
    "state",
    "previous_state",
    "reason",
    "vrrp_priority",
];

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether log lines go to the journal (then state changes carry their fields).
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Whether stderr is the journal: `$JOURNAL_STREAM` (`device:inode`) names it.
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    match rustix::fs::fstat(std::io::stderr()) {
        Ok(st) => st.st_dev == dev && st.st_ino == ino,
        Err(_) => false,
    }
}

/// How long the exit waits for queued entries to reach journald.
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The layer, the counter of entries dropped, and what flushes the queue at exit;
/// `None` if journald's socket cannot be reached (then stderr it is).
pub fn layer(queue: usize) -> Option<(JournalLayer, Arc<AtomicU64>, Flush)> {
    let socket = UnixDatagram::unbound().ok()?;
    socket.connect(SOCKET).ok()?;
    let (queue, flush) = LineQueue::spawn("vipd-journal", queue, FLUSH_WAIT, move |entry| {
        // Blocking here is this thread's alone.
        let _ = socket.send(entry);
    })
    .ok()?;
    let dropped = queue.dropped();
    ACTIVE.store(true, Ordering::Relaxed);
    Some((JournalLayer { queue }, dropped, flush))
}

/// A node record as a journal entry: a state change with the instance's new and previous
/// state, the reason and its priority as fields; anything else about an instance with
/// the instance and its priority.
pub fn log_record(r: &vipd_node::Record) {
    use vipd_node::{Level as L, What};
    let instance = r.instance.as_deref().unwrap_or("");
    let vrrp_priority = r.priority;
    if let What::StateChanged { from, to, reason } = &r.what {
        let (state, previous_state, reason) = (to.as_str(), from.as_str(), reason.as_str());
        tracing::info!(
            instance,
            state,
            previous_state,
            reason,
            vrrp_priority,
            "{}",
            r.what
        );
        return;
    }
    match r.level {
        L::Debug => tracing::debug!(instance, vrrp_priority, "{}", r.what),
        L::Info => tracing::info!(instance, vrrp_priority, "{}", r.what),
        L::Warn => tracing::warn!(instance, vrrp_priority, "{}", r.what),
        L::Error => tracing::error!(instance, vrrp_priority, "{}", r.what),
    }
}

/// Sends every event to the journal thread's queue.
pub struct JournalLayer {
    queue: LineQueue,
}

impl<S: Subscriber> Layer<S> for JournalLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.queue.push(entry(
            *event.metadata().level(),
            event.metadata().target(),
            &fields,
        ));
    }
}

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.others.push((field.name(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.others.push((field.name(), text));
        }
    }
}

/// One native-protocol entry.
fn entry(level: Level, target: &str, f: &Fields) -> Vec<u8> {
    let mut message = String::new();
    if let Some((_, instance)) = f.others.iter().find(|(k, _)| *k == "instance") {
        if !instance.is_empty() {
            let _ = write!(message, "{instance}: ");
        }
    }
    message.push_str(&f.message);
    for (k, v) in f.others.iter().filter(|(k, _)| !STRUCTURED.contains(k)) {
        let _ = write!(message, " {k}={v}");
    }
    let mut out = Vec::with_capacity(message.len() + 128);
    field(&mut out, "MESSAGE", &message);
    field(&mut out, "PRIORITY", syslog_priority(level));
    field(&mut out, "SYSLOG_IDENTIFIER", "vipd");
    field(&mut out, "TARGET", target);
    for (k, v) in &f.others {
        if v.is_empty() {
            continue;
        }
        field(&mut out, &field_name(k), v);
    }
    out
}

/// syslog(3)'s levels, as journald's PRIORITY.
fn syslog_priority(level: Level) -> &'static str {
    match level {
        Level::ERROR => "3",
        Level::WARN => "4",
        Level::INFO => "6",
        Level::DEBUG | Level::TRACE => "7",
    }
}

/// A journal field name: upper case letters, digits and underscores, not starting with
/// an underscore or a digit (those are journald's own).
fn field_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' | '0'..='9' => c,
            _ => '_',
        })
        .collect();
    if out.starts_with(|c: char| c == '_' || c.is_ascii_digit()) {
        out.insert(0, 'F');
    }
    out
}

fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    let mut end = value.len().min(MAX_VALUE);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let value = &value[..end];
    out.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(message: &str, others: &[(&'static str, &str)]) -> Fields {
        Fields {
            message: message.into(),
            others: others.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }

    #[test]
    fn a_state_change_gets_fields_of_its_own() {
        let f = fields(
            "state changed from backup to master (master_down)",
            &[
                ("instance", "web"),
                ("state", "master"),
                ("previous_state", "backup"),
                ("reason", "master_down"),
                ("vrrp_priority", "150"),
            ],
        );
        let e = String::from_utf8(entry(Level::INFO, "vipd::daemon", &f)).expect("utf-8");
        assert_eq!(
            e,
            "MESSAGE=web: state changed from backup to master (master_down)\n\
             PRIORITY=6\nSYSLOG_IDENTIFIER=vipd\nTARGET=vipd::daemon\n\
             INSTANCE=web\nSTATE=master\nPREVIOUS_STATE=backup\nREASON=master_down\n\
             VRRP_PRIORITY=150\n"
        );
    }

    #[test]
    fn other_fields_stay_in_the_message_and_line_breaks_are_framed() {
        let f = fields("two\nlines", &[("dropped", "3"), ("_odd-name", "x")]);
        let e = entry(Level::WARN, "t", &f);
        let mut expected = b"MESSAGE\n".to_vec();
        let message = "two\nlines dropped=3 _odd-name=x";
        expected.extend_from_slice(&(message.len() as u64).to_le_bytes());
        expected.extend_from_slice(message.as_bytes());
        expected.extend_from_slice(b"\nPRIORITY=4\nSYSLOG_IDENTIFIER=vipd\nTARGET=t\n");
        expected.extend_from_slice(b"DROPPED=3\nF_ODD_NAME=x\n");
        assert_eq!(e, expected);
    }
}
