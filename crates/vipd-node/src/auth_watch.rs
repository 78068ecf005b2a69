//! What the node makes of authentication over time, per instance:
//! - adverts from one source that keep failing authentication for longer than
//!   Master_Down_Interval: warned about once per such stretch, counted (`auth_alarms`)
//!   and listed in the status while it lasts (a peer whose numbers went back, a key
//!   that differs, someone forging);
//! - a master that keeps hearing a router it outranks (authenticated adverts) for
//!   longer than Master_Down_Interval: that router does not hear us, and our sequence
//!   numbers jump ahead in case it drops our adverts as replays ([`crate::auth_state`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use vipd_engine::{Instant, State};
use vipd_wire::RxError;

/// Sources whose last sequence number an instance remembers (`crate::auth`), and whose
/// failures it follows; when a new one comes, the one heard from least recently is
/// forgotten. A VRRP group has a handful of routers, and only adverts whose MAC holds
/// are remembered.
pub const MAX_SOURCES: usize = 64;

/// Auth drops from one source, since the last advert accepted from it.
#[derive(Debug, Clone)]
struct Streak {
    since: Instant,
    last: Instant,
    kind: &'static str,
    dropped: u64,
    warned: bool,
}

/// One source whose adverts have failed authentication for longer than
/// Master_Down_Interval, and still do.
#[derive(Debug, Clone, PartialEq)]
pub struct Failing {
    pub from: IpAddr,
    /// The last failure's counter name (`auth_replay`, `auth_bad_mac`, ...).
    pub kind: &'static str,
    pub since: Instant,
    pub dropped: u64,
}

/// An instance's authentication over time.
#[derive(Debug, Clone, Default)]
pub struct AuthWatch {
    streaks: BTreeMap<IpAddr, Streak>,
    /// Stretches of failures that lasted longer than Master_Down_Interval.
    pub alarms: u64,
    /// A router we outrank heard while master: since when, last heard.
    outranked: Option<(IpAddr, Instant, Instant)>,
}

impl AuthWatch {
    /// An advert from `src` failed authentication (`kind`) at `now`. Returns the
    /// stretch if it has just lasted longer than `mdi`.
    fn dropped(
        &mut self,
        now: Instant,
        src: IpAddr,
        kind: &'static str,
        mdi: Duration,
    ) -> Option<Failing> {
        let fresh = Streak {
            since: now,
            last: now,
            kind,
            dropped: 0,
            warned: false,
        };
        if !self.streaks.contains_key(&src) && self.streaks.len() >= MAX_SOURCES {
            let quietest = self
                .streaks
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(a, _)| *a);
            if let Some(a) = quietest {
                self.streaks.remove(&a);
            }
        }
        let s = self.streaks.entry(src).or_insert_with(|| fresh.clone());
        // Silent for longer than Master_Down_Interval: a new stretch.
        if now > s.last + mdi {
            *s = fresh;
        }
        s.last = now;
        s.kind = kind;
        s.dropped += 1;
        if s.warned || now <= s.since + mdi {
            return None;
        }
        s.warned = true;
        self.alarms += 1;
        Some(Failing {
            from: src,
            kind,
            since: s.since,
            dropped: s.dropped,
        })
    }

    /// An advert from `src` passed: its stretch of failures, if any, is over.
    fn accepted(&mut self, src: IpAddr) {
        self.streaks.remove(&src);
    }

    /// The sources failing now: warned about and heard within `mdi`.
    pub fn failing(&self, now: Instant, mdi: Duration) -> Vec<Failing> {
        self.streaks
            .iter()
            .filter(|(_, s)| s.warned && now <= s.last + mdi)
            .map(|(a, s)| Failing {
                from: *a,
                kind: s.kind,
                since: s.since,
                dropped: s.dropped,
            })
            .collect()
    }

    /// While master, `src` (which we outrank) was heard at `now`: whether it has been
    /// heard for longer than `mdi` without a gap of `mdi` (then the count starts again).
    fn outranked(&mut self, now: Instant, src: IpAddr, mdi: Duration) -> bool {
        let since = match self.outranked {
            Some((a, since, last)) if a == src && now <= last + mdi => since,
            _ => now,
        };
        if now > since + mdi {
            self.outranked = Some((src, now, now));
            return true;
        }
        self.outranked = Some((src, since, now));
        false
    }
}

impl AuthWatch {
    /// An advert from `src` was refused with `e` while the router's
    /// Master_Down_Interval is `mdi` (none: no router runs). Returns the warning to log
    /// when it was an authentication failure whose stretch has just lasted longer than
    /// `mdi`.
    pub(crate) fn refused(
        &mut self,
        now: Instant,
        src: IpAddr,
        e: &RxError,
        mdi: Option<Duration>,
    ) -> Option<String> {
        let RxError::Auth(_) = e else {
            return None;
        };
        let mdi = mdi?;
        let f = self.dropped(now, src, e.kind(), mdi)?;
        let hint = match f.kind {
            "auth_replay" => {
                "its sequence numbers went back (restored from a snapshot with its clock \
                 behind?): as master it moves them ahead by itself, else see `auth` in the README"
            }
            "auth_bad_mac" => "its key differs from ours (a key rotation half done?)",
            _ => "it does not sign its adverts as this instance expects",
        };
        Some(format!(
            "adverts from {} have failed authentication ({}) for {:.3} s, longer than \
             Master_Down_Interval ({:.3} s): {} dropped; {hint}",
            f.from,
            f.kind,
            now.saturating_since(f.since).as_secs_f64(),
            mdi.as_secs_f64(),
            f.dropped,
        ))
    }

    /// An advert from `src` passed authentication. `priority`: the priority it carries,
    /// if it parses; `was_master`: whether the router was master before it, and
    /// `router`: its state and Master_Down_Interval after it (none: no router runs).
    /// Returns Master_Down_Interval when a router we outrank (priority 0 is one
    /// leaving) has now been heard for longer than that while we stayed master: it
    /// does not hear us.
    pub(crate) fn heard(
        &mut self,
        now: Instant,
        src: IpAddr,
        priority: Option<u8>,
        was_master: bool,
        router: Option<(State, Duration)>,
    ) -> Option<Duration> {
        self.accepted(src);
        let (state, mdi) = router?;
        // Still master after it: the sender ranks below us.
        if !(was_master && state == State::Master) {
            return None;
        }
        let below = priority.is_some_and(|p| p > 0);
        (below && self.outranked(now, src, mdi)).then_some(mdi)
    }
}

/// The warning about `src`, a router we outrank heard for longer than `mdi` while we
/// are master: our sequence numbers moved ahead by `jump` ns (none: as far as they may
/// this run).
pub(crate) fn outranked_warning(src: IpAddr, mdi: Duration, jump: Option<u64>) -> String {
    match jump {
        Some(size) => format!(
            "{src} keeps advertising below our priority for longer than \
             Master_Down_Interval ({:.3} s) while we are master: it does not hear \
             us. In case it drops our adverts as replays (our sequence numbers went \
             back), they move ahead by {size} ns from now",
            mdi.as_secs_f64()
        ),
        None => format!(
            "{src} keeps advertising below our priority while we are master: it \
             does not hear us, and our sequence numbers have moved ahead as far as \
             they may this run; check its log, link and key"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    const MDI: Duration = Duration::from_millis(360);

    fn src(n: u8) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, n))
    }

    #[test]
    fn failures_lasting_longer_than_master_down_interval_alarm_once() {
        let mut w = AuthWatch::default();
        for t in [0, 100, 200, 300, 360] {
            assert_eq!(w.dropped(ms(t), src(1), "auth_replay", MDI), None, "{t}");
        }
        let f = w.dropped(ms(400), src(1), "auth_replay", MDI);
        assert_eq!(
            f,
            Some(Failing {
                from: src(1),
                kind: "auth_replay",
                since: ms(0),
                dropped: 6
            })
        );
        assert_eq!(w.dropped(ms(500), src(1), "auth_replay", MDI), None);
        assert_eq!(w.alarms, 1);
        assert_eq!(w.failing(ms(500), MDI).len(), 1);
        assert_eq!(w.failing(ms(861), MDI), vec![], "silent since 500 ms");
        // A gap longer than MDI starts a new stretch; an accepted advert ends one.
        assert_eq!(w.dropped(ms(1000), src(1), "auth_replay", MDI), None);
        w.accepted(src(1));
        assert_eq!(w.dropped(ms(1100), src(1), "auth_replay", MDI), None);
        assert_eq!(w.dropped(ms(1400), src(1), "auth_replay", MDI), None);
        assert!(w.dropped(ms(1461), src(1), "auth_replay", MDI).is_some());
        assert_eq!(w.alarms, 2);
    }

    #[test]
    fn outranked_for_longer_than_master_down_interval() {
        let mut w = AuthWatch::default();
        assert!(!w.outranked(ms(0), src(2), MDI));
        assert!(!w.outranked(ms(300), src(2), MDI));
        assert!(w.outranked(ms(361), src(2), MDI));
        // The count starts again.
        assert!(!w.outranked(ms(400), src(2), MDI));
        // A gap longer than MDI resets it.
        assert!(!w.outranked(ms(1000), src(2), MDI));
        assert!(!w.outranked(ms(1300), src(2), MDI));
        assert!(w.outranked(ms(1361), src(2), MDI));
    }
}
