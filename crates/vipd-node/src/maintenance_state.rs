//! Which instances are in maintenance: what the shell keeps under the state directory
//! across restarts (see [`crate::maintenance`]).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Which instances are in maintenance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// Every instance, also ones a later reload adds.
    #[serde(default)]
    pub all: bool,
    /// These instances (by name), besides `all`.
    #[serde(default)]
    pub instances: BTreeSet<String>,
}

impl Maintenance {
    /// Every instance in maintenance: what a shell assumes when the saved state cannot
    /// be read (safer than taking the VIPs back unasked).
    pub fn everything() -> Maintenance {
        Maintenance {
            all: true,
            instances: BTreeSet::new(),
        }
    }

    pub fn contains(&self, instance: &str) -> bool {
        self.all || self.instances.contains(instance)
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.instances.is_empty()
    }
}
