//! Drop summaries for the event stream ([`crate::watch`]): dropped packets can come by
//! the thousand a second (a flood, a misconfigured peer), so the first drop of an
//! instance is published at once, and later ones are counted by reason and published
//! together at most once per [`DROP_SUMMARY_EVERY`] for each instance, at the end of
//! that interval.

use std::collections::BTreeMap;
use std::time::Duration;

use vipd_api::WatchEvent;
use vipd_engine::Instant;

/// The least time between two drop summaries of one instance.
pub const DROP_SUMMARY_EVERY: Duration = Duration::from_secs(1);

/// Per instance: when its last drop summary went out, and what was dropped since.
#[derive(Debug, Default)]
pub(crate) struct DropSummaries {
    per: BTreeMap<String, Summary>,
}

#[derive(Debug, Default)]
struct Summary {
    last: Option<Instant>,
    counts: BTreeMap<&'static str, u64>,
}

impl Summary {
    /// When the counts held back are due (none when nothing is held back).
    fn due(&self) -> Option<Instant> {
        match self.last {
            Some(last) if !self.counts.is_empty() => Some(last + DROP_SUMMARY_EVERY),
            _ => None,
        }
    }

    /// The counts, now published.
    fn take(&mut self, now: Instant) -> BTreeMap<&'static str, u64> {
        self.last = Some(now);
        std::mem::take(&mut self.counts)
    }
}

impl DropSummaries {
    /// Counts one drop of `instance` at `now`: the counts to publish now, if a summary
    /// is due (the first since [`DROP_SUMMARY_EVERY`]), else none (held back).
    pub(crate) fn count(
        &mut self,
        now: Instant,
        instance: &str,
        kind: &'static str,
    ) -> Option<BTreeMap<&'static str, u64>> {
        // No allocation per packet once the instance has an entry (a flood is many).
        if !self.per.contains_key(instance) {
            self.per.insert(instance.to_string(), Summary::default());
        }
        let s = self.per.get_mut(instance)?;
        *s.counts.entry(kind).or_insert(0) += 1;
        match s.last {
            Some(last) if now < last + DROP_SUMMARY_EVERY => None,
            _ => Some(s.take(now)),
        }
    }

    /// When the next held-back summary is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.per.values().filter_map(Summary::due).min()
    }

    /// The summaries due at `now`, by instance. Instances quiet for a whole interval
    /// are forgotten (their next drop goes out at once).
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<(String, BTreeMap<&'static str, u64>)> {
        let mut out = Vec::new();
        for (name, s) in &mut self.per {
            if s.due().is_some_and(|t| t <= now) {
                out.push((name.clone(), s.take(now)));
            }
        }
        self.per.retain(|_, s| {
            !s.counts.is_empty() || s.last.is_some_and(|l| now < l + DROP_SUMMARY_EVERY)
        });
        out
    }
}

pub(crate) fn drops_event(instance: String, counts: BTreeMap<&'static str, u64>) -> WatchEvent {
    WatchEvent::Drops {
        instance,
        total: counts.values().sum(),
        by_reason: counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_nanos(n * 1_000_000)
    }

    #[test]
    fn first_drop_goes_out_at_once_then_at_most_one_summary_a_second() {
        let mut d = DropSummaries::default();
        assert_eq!(
            d.count(ms(100), "web", "bad_ttl"),
            Some([("bad_ttl", 1)].into())
        );
        assert_eq!(d.count(ms(200), "web", "bad_ttl"), None);
        assert_eq!(d.count(ms(300), "web", "bad_checksum"), None);
        // Another instance has its own interval.
        assert_eq!(
            d.count(ms(300), "db", "bad_ttl"),
            Some([("bad_ttl", 1)].into())
        );
        assert_eq!(d.next_due(), Some(ms(1100)));
        assert!(d.take_due(ms(1099)).is_empty());
        assert_eq!(
            d.take_due(ms(1100)),
            vec![(
                "web".to_string(),
                [("bad_checksum", 1), ("bad_ttl", 1)].into()
            )]
        );
        // The summary at 1100 starts a new interval.
        assert_eq!(d.next_due(), None);
        assert_eq!(d.count(ms(1500), "web", "bad_ttl"), None);
        assert_eq!(d.next_due(), Some(ms(2100)));
    }
}
