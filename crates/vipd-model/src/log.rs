//! A host's input log: a persistent list (states share their prefixes), identified by
//! its length and a digest, so that hashing a model state does not walk it.
//!
//! The digest takes the steps of one instant as a set, not in their order: two
//! interleavings that give a host the same inputs at the same instants in another
//! order count as one log. They are one state only if they also left the host's
//! router in the same state ([`crate::host::View::router`]): inputs of one instant
//! whose order mattered (an advert and the timer it would have stopped) are told apart
//! by what they did. Without this, zero-latency shells put a poll timer and an advert
//! on the same instant every second, and every such pair doubled the states.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use vipd_engine::Instant;

use crate::host::Step;

struct Entry {
    at: Instant,
    step: Step,
    prev: Option<Arc<Entry>>,
}

/// The steps a host was given, oldest first.
#[derive(Clone, Default)]
pub struct Log {
    last: Option<Arc<Entry>>,
    len: usize,
    /// The digest of every instant before `at`.
    closed: u64,
    /// The newest instant, and the sum of its steps' hashes (order-free).
    at: Instant,
    sum: u64,
    digest: u64,
}

fn hash_of(value: &impl Hash) -> u64 {
    // A fixed-key hasher: the same log always has the same digest.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

impl Log {
    /// This log with `step` at `at` appended.
    pub fn push(&self, at: Instant, step: Step) -> Log {
        let step_hash = hash_of(&step);
        let (closed, sum) = if self.len > 0 && at == self.at {
            (self.closed, self.sum.wrapping_add(step_hash))
        } else {
            (hash_of(&(self.closed, self.at, self.sum)), step_hash)
        };
        Log {
            closed,
            at,
            sum,
            digest: hash_of(&(closed, at, sum)),
            len: self.len + 1,
            last: Some(Arc::new(Entry {
                at,
                step,
                prev: self.last.clone(),
            })),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every step, oldest first.
    pub fn to_vec(&self) -> Vec<(Instant, Step)> {
        let mut out = Vec::with_capacity(self.len);
        let mut cur = self.last.as_deref();
        while let Some(e) = cur {
            out.push((e.at, e.step.clone()));
            cur = e.prev.as_deref();
        }
        out.reverse();
        out
    }
}

impl PartialEq for Log {
    fn eq(&self, other: &Log) -> bool {
        self.len == other.len && self.digest == other.digest
    }
}

impl Eq for Log {}

impl Hash for Log {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.len.hash(state);
        self.digest.hash(state);
    }
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} steps", self.len)
    }
}
