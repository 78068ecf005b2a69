//! `vipctl watch`: follow vipd's event stream, one line per event (or the raw JSON lines
//! with `--json`), until vipd ends the stream.

use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::time::Duration;

use vipd_api::{Command, Request, Response, WatchEvent, WatchLine, WatchStart};

use crate::client::{self, ClientError};
use crate::printable;
use crate::{report, EXIT_DAEMON_ERROR, EXIT_OK, EXIT_UNREACHABLE};

/// A line longer than this is not one vipd would send.
const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// Runs `vipctl watch`; returns the exit code: 0 when vipd ended the stream (it
/// stopped), 1 when it refused, 2 when it could not be reached or went away without
/// ending the stream (a crash).
pub fn watch(
    socket: &Path,
    instances: Vec<String>,
    json: bool,
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let request = Request::new(Command::Watch { instances });
    let mut reader = match client::open_stream(socket, &request, timeout) {
        Ok(r) => r,
        Err(e) => return report(err, &e),
    };
    let io_err = |e| ClientError::from_io(socket, timeout, e);
    let mut first = String::new();
    if let Err(e) = (&mut reader).take(MAX_LINE_BYTES).read_line(&mut first) {
        return report(err, &io_err(e));
    }
    if first.trim().is_empty() {
        return report(err, &ClientError::NoAnswer);
    }
    let started = match printable::parse::<Response>(first.as_bytes()) {
        Ok(Response::Watching { instances, .. }) => instances,
        Ok(Response::Error { message, .. }) => {
            let _ = writeln!(err, "vipctl: vipd refused the request: {message}");
            return EXIT_DAEMON_ERROR;
        }
        Ok(_) => {
            let _ = writeln!(
                err,
                "vipctl: vipd answered a watch request with something else"
            );
            return EXIT_DAEMON_ERROR;
        }
        Err(e) => return report(err, &ClientError::BadAnswer(e)),
    };
    // From here on the stream is quiet for as long as nothing happens.
    if let Err(e) = reader.get_ref().set_read_timeout(None) {
        return report(err, &io_err(e));
    }
    let head = if json {
        printable::lines(&first).into_owned()
    } else {
        render_start(&started)
    };
    if write(out, &head).is_err() {
        return EXIT_OK;
    }
    loop {
        let mut line = String::new();
        match (&mut reader).take(MAX_LINE_BYTES).read_line(&mut line) {
            Ok(0) => {
                let _ = writeln!(
                    err,
                    "vipctl: vipd closed the stream without ending it (did it crash, or was this \
                     watcher not reading for 30 s?)"
                );
                return EXIT_UNREACHABLE;
            }
            Ok(_) => {}
            Err(e) => return report(err, &io_err(e)),
        }
        let parsed = printable::parse::<WatchLine>(line.as_bytes());
        let text = match (&parsed, json) {
            (_, true) => printable::lines(&line).into_owned(),
            (Ok(l), false) => render_event(l),
            (Err(_), false) => format!(
                "(a line this vipctl cannot read) {}\n",
                printable::field(&line)
            ),
        };
        if write(out, &text).is_err() {
            // `vipctl watch | head` closed the pipe: done.
            return EXIT_OK;
        }
        if let Ok(WatchLine {
            event: WatchEvent::End { .. },
            ..
        }) = parsed
        {
            return EXIT_OK;
        }
    }
}

fn write(out: &mut dyn Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Where the watched instances stand when the watch begins.
pub fn render_start(instances: &[WatchStart]) -> String {
    let mut s = String::new();
    for i in instances {
        s.push_str(&format!(
            "watching {}: {}, priority {}{}\n",
            i.name,
            i.state.as_str(),
            i.priority,
            if i.maintenance {
                ", in maintenance"
            } else {
                ""
            }
        ));
    }
    s
}

/// One event as a line: time, instance (`-` when none), what happened.
pub fn render_event(l: &WatchLine) -> String {
    let instance = l.event.instance().unwrap_or("-");
    format!("{}  {instance}  {}\n", l.time, describe_event(&l.event))
}

/// What happened, in words (`vipctl watch` and `vipctl drill` print it).
pub fn describe_event(event: &WatchEvent) -> String {
    match event {
        WatchEvent::StateChanged {
            from,
            to,
            reason,
            priority,
            ..
        } => format!(
            "{} -> {} ({reason}, priority {priority})",
            from.as_str(),
            to.as_str()
        ),
        WatchEvent::Check { check, up, saw } => {
            format!("check {check} {}: {saw}", if *up { "up" } else { "down" })
        }
        WatchEvent::Maintenance { on, uid, .. } => {
            format!("maintenance {} (uid {uid})", if *on { "on" } else { "off" })
        }
        WatchEvent::NewMasterHeard {
            master, after_us, ..
        } => format!(
            "handover complete: new master {master} heard {:.1} ms after our priority-0 advert",
            *after_us as f64 / 1000.0
        ),
        WatchEvent::ReloadApplied { changes } if changes.is_empty() => {
            "reload applied: nothing changed".to_string()
        }
        WatchEvent::ReloadApplied { changes } => {
            format!("reload applied: {}", changes.join("; "))
        }
        WatchEvent::ReloadRejected { error } => format!("reload refused: {error}"),
        WatchEvent::Drops {
            total, by_reason, ..
        } => {
            let reasons: Vec<String> = by_reason.iter().map(|(r, n)| format!("{r} {n}")).collect();
            format!(
                "dropped {total} packet{} ({})",
                if *total == 1 { "" } else { "s" },
                reasons.join(", ")
            )
        }
        WatchEvent::Missed { count } => format!(
            "missed {count} event{} (this watcher read too slowly)",
            if *count == 1 { "" } else { "s" }
        ),
        WatchEvent::End { reason } => format!("stream ended: {reason}"),
        WatchEvent::Announce {
            from, to, reason, ..
        } => format!("{from} -> {to} ({reason})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipd_api::State;

    fn line(event: WatchEvent) -> WatchLine {
        WatchLine {
            v: 1,
            time: "2026-12-01T02:30:05.123Z".into(),
            event,
        }
    }

    #[test]
    fn events_render_as_one_line_each() {
        let t = "2026-12-01T02:30:05.123Z";
        assert_eq!(
            render_event(&line(WatchEvent::StateChanged {
                instance: "web".into(),
                from: State::Backup,
                to: State::Master,
                reason: "master_down_timer".into(),
                priority: 100,
            })),
            format!("{t}  web  backup -> master (master_down_timer, priority 100)\n")
        );
        assert_eq!(
            render_event(&line(WatchEvent::Drops {
                instance: "web".into(),
                total: 3,
                by_reason: [("bad_checksum".to_string(), 2), ("bad_ttl".to_string(), 1)].into(),
            })),
            format!("{t}  web  dropped 3 packets (bad_checksum 2, bad_ttl 1)\n")
        );
        assert_eq!(
            render_event(&line(WatchEvent::Check {
                check: "web_http".into(),
                up: false,
                saw: "HTTP 503 (expected 2xx)".into(),
            })),
            format!("{t}  -  check web_http down: HTTP 503 (expected 2xx)\n")
        );
        assert_eq!(
            render_event(&line(WatchEvent::NewMasterHeard {
                instance: "web".into(),
                master: "192.0.2.12".into(),
                after_us: 63_137,
            })),
            format!("{t}  web  handover complete: new master 192.0.2.12 heard 63.1 ms after our priority-0 advert\n")
        );
        assert_eq!(
            render_event(&line(WatchEvent::ReloadApplied { changes: vec![] })),
            format!("{t}  -  reload applied: nothing changed\n")
        );
        assert_eq!(
            render_event(&line(WatchEvent::Missed { count: 1 })),
            format!("{t}  -  missed 1 event (this watcher read too slowly)\n")
        );
    }
}
