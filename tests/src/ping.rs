//! Outage measurement from a client: `ping -D -i 0.005` (root may ping every 5 ms) and
//! the longest gap between consecutive replies.

use std::fmt;
use std::time::Duration;

use crate::lan::Host;
use crate::proc::{Line, Monitor};
use crate::util::wait_until;

/// How long [`Pinger::start_replying`] waits for the first replies.
pub const FIRST_REPLIES: Duration = Duration::from_secs(5);

/// A running pinger; stop it with [`Pinger::stop`] (or drop it).
pub struct Pinger {
    mon: Monitor,
    target: String,
}

/// What a pinger saw.
#[derive(Debug, Clone)]
pub struct PingReport {
    pub target: String,
    /// Wall-clock times (epoch seconds, from `ping -D`) of the echo replies, in order.
    pub replies: Vec<f64>,
    /// `ping`'s own summary lines.
    pub summary: Vec<String>,
    /// (icmp_seq, wall-clock time) of every reply, in the order of their times.
    pub seqs: Vec<(u64, f64)>,
}

/// The `icmp_seq` of a reply line (see [`parse_reply`]).
pub fn parse_seq(line: &str) -> Option<u64> {
    parse_reply(line)?;
    let rest = &line[line.find("icmp_seq=")? + "icmp_seq=".len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Parses `[1700000000.123456] 64 bytes from 192.0.2.50: icmp_seq=1 ttl=64 time=0.1 ms`.
pub fn parse_reply(line: &str) -> Option<f64> {
    if !line.contains(" bytes from ") {
        return None;
    }
    let rest = line.strip_prefix('[')?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

impl Pinger {
    /// Starts pinging `target` from `client` every 5 ms for at most `limit` (ping's own
    /// `-w` deadline, so it ends even if the test forgets it).
    pub fn start(client: &Host, target: &str, limit: Duration) -> Pinger {
        crate::lan::assert_documentation_address(target);
        let v6 = target.contains(':');
        let mut cmd = client.command("ping");
        if v6 {
            cmd.arg("-6");
        }
        let deadline = limit.as_secs().max(1).to_string();
        cmd.args([
            "-D", "-n", "-i", "0.005", "-W", "1", "-w", &deadline, target,
        ]);
        Pinger {
            mon: Monitor::spawn(cmd, "ping"),
            target: target.to_string(),
        }
    }

    /// [`Pinger::start`], returned once `replies` replies have come within
    /// [`FIRST_REPLIES`] (panics if not): the path to `target` is known good.
    pub fn start_replying(client: &Host, target: &str, limit: Duration, replies: usize) -> Pinger {
        let p = Pinger::start(client, target, limit);
        assert!(
            p.wait_replies(replies, FIRST_REPLIES),
            "the client {} cannot ping {target}: fewer than {replies} replies within \
             {FIRST_REPLIES:?}",
            client.name
        );
        p
    }

    /// Replies so far.
    pub fn replies(&self) -> usize {
        self.mon
            .lines()
            .iter()
            .filter(|l| parse_reply(&l.text).is_some())
            .count()
    }

    /// Waits until `n` more replies than now have arrived (so the path is known good).
    pub fn wait_replies(&self, n: usize, timeout: Duration) -> bool {
        let base = self.replies();
        wait_until(timeout, Duration::from_millis(5), || {
            self.replies() >= base + n
        })
    }

    /// [`Pinger::wait_replies`], which must come true: panics with `what` if not.
    pub fn assert_replies(&self, n: usize, timeout: Duration, what: &str) {
        assert!(
            self.wait_replies(n, timeout),
            "{what}: {n} more replies from {} did not come within {timeout:?}",
            self.target
        );
    }

    pub fn stop(mut self) -> PingReport {
        let lines: Vec<Line> = self.mon.stop();
        let mut replies: Vec<f64> = lines.iter().filter_map(|l| parse_reply(&l.text)).collect();
        replies.sort_by(f64::total_cmp);
        let mut seqs: Vec<(u64, f64)> = lines
            .iter()
            .filter_map(|l| Some((parse_seq(&l.text)?, parse_reply(&l.text)?)))
            .collect();
        seqs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let summary = lines
            .iter()
            .filter(|l| l.text.contains("packets transmitted") || l.text.starts_with("rtt"))
            .map(|l| l.text.clone())
            .collect();
        PingReport {
            target: self.target.clone(),
            replies,
            summary,
            seqs,
        }
    }
}

impl PingReport {
    /// The longest gap between consecutive replies, and when it began (epoch seconds).
    pub fn longest_gap(&self) -> Option<(Duration, f64)> {
        self.replies
            .windows(2)
            .map(|w| (w[1] - w[0], w[0]))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(gap, at)| (Duration::from_secs_f64(gap.max(0.0)), at))
    }

    /// The longest gap between consecutive replies among those after `from` (including
    /// the last reply before it), i.e. the outage caused by an event at `from`.
    pub fn longest_gap_after(&self, from: f64) -> Option<Duration> {
        let start = self.replies.iter().rposition(|&t| t <= from).unwrap_or(0);
        self.replies[start..]
            .windows(2)
            .map(|w| w[1] - w[0])
            .max_by(f64::total_cmp)
            .map(|g| Duration::from_secs_f64(g.max(0.0)))
    }

    /// [`PingReport::longest_gap_after`] in milliseconds, NaN if there is none.
    pub fn longest_gap_after_ms(&self, from: f64) -> f64 {
        self.longest_gap_after(from)
            .map_or(f64::NAN, |g| g.as_secs_f64() * 1e3)
    }

    /// Echo requests that got no reply although a later one did, counted from the last
    /// reply at or before `from` to the last reply: the probes an event at `from`
    /// lost. (Requests after the last reply are not counted: the pinger was stopped.)
    pub fn lost_after(&self, from: f64) -> Vec<u64> {
        let first = self
            .seqs
            .iter()
            .filter(|(_, t)| *t <= from)
            .map(|(s, _)| *s)
            .max()
            .unwrap_or(0);
        let seen: std::collections::BTreeSet<u64> = self
            .seqs
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| *s >= first)
            .collect();
        let Some(&last) = seen.iter().next_back() else {
            return Vec::new();
        };
        (first..=last).filter(|s| !seen.contains(s)).collect()
    }

    /// Replies received after `t`.
    pub fn replies_after(&self, t: f64) -> usize {
        self.replies.iter().filter(|&&r| r > t).count()
    }
}

impl fmt::Display for PingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ping {}: {} replies", self.target, self.replies.len())?;
        if let Some((gap, at)) = self.longest_gap() {
            write!(
                f,
                ", longest gap {:.1} ms starting at {at:.6}",
                gap.as_secs_f64() * 1e3
            )?;
        }
        for s in &self.summary {
            write!(f, "; {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ping_d_lines() {
        let l = "[1732389000.123456] 64 bytes from 192.0.2.50: icmp_seq=1 ttl=64 time=0.071 ms";
        assert_eq!(parse_reply(l), Some(1732389000.123456));
        assert_eq!(parse_seq(l), Some(1));
        assert_eq!(
            parse_reply("PING 192.0.2.50 (192.0.2.50) 56(84) bytes of data."),
            None
        );
        assert_eq!(
            parse_reply("[1732389000.1] From 192.0.2.100 icmp_seq=3 Destination Host Unreachable"),
            None
        );
    }

    #[test]
    fn gaps() {
        let r = PingReport {
            target: "x".into(),
            replies: vec![1.0, 1.005, 1.010, 1.5, 1.505],
            summary: vec![],
            seqs: vec![(1, 1.0), (2, 1.005), (3, 1.010), (7, 1.5), (8, 1.505)],
        };
        assert_eq!(r.lost_after(1.007), vec![4, 5, 6]);
        assert_eq!(r.lost_after(1.6), Vec::<u64>::new());
        let (g, at) = r.longest_gap().expect("gap");
        assert!((g.as_secs_f64() - 0.49).abs() < 1e-9);
        assert!((at - 1.010).abs() < 1e-9);
        assert!(r.longest_gap_after(1.2).expect("gap") >= Duration::from_millis(489));
        assert_eq!(r.replies_after(1.2), 2);
    }
}
