//! What vipd keeps across restarts under the state directory (config `state_dir`,
//! default /var/lib/vipd): today the maintenance state, `maintenance.json`.
//!
//! Read once at start, before the main loop. Written off the main loop, one write at a
//! time in the order the node asked (a [`StateWriter`] task), atomically: a temporary
//! file in the same directory, synced, renamed over the old one, and the directory
//! synced — a crash leaves the old state or the new one, never half of one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tracing::{error, info};
use vipd_node::Maintenance;

/// The maintenance state's file name in the state directory.
pub const MAINTENANCE_FILE: &str = "maintenance.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, #[source] io::Error),
    #[error("{0} is not a maintenance state: {1}")]
    Parse(PathBuf, #[source] serde_json::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, #[source] io::Error),
    #[error("cannot encode the maintenance state: {0}")]
    Encode(#[source] serde_json::Error),
}

/// The maintenance state kept in `dir`; none kept (no file) is no maintenance.
pub fn load_maintenance(dir: &Path) -> Result<Maintenance, StateError> {
    let path = dir.join(MAINTENANCE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Maintenance::default()),
        Err(e) => return Err(StateError::Read(path, e)),
    };
    serde_json::from_str(&text).map_err(|e| StateError::Parse(path, e))
}

/// Replaces the maintenance state kept in `dir` atomically (see the module docs).
pub fn save_maintenance(dir: &Path, m: &Maintenance) -> Result<(), StateError> {
    let path = dir.join(MAINTENANCE_FILE);
    let tmp = dir.join(format!(".{MAINTENANCE_FILE}.tmp"));
    let mut text = serde_json::to_vec_pretty(m).map_err(StateError::Encode)?;
    text.push(b'\n');
    let write = || -> io::Result<()> {
        fs::create_dir_all(dir)?;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| StateError::Write(path, e))
}

/// Writes maintenance states in `dir` one after the other, off the main loop.
pub struct StateWriter {
    tx: mpsc::UnboundedSender<Maintenance>,
}

impl StateWriter {
    pub fn spawn(dir: PathBuf) -> StateWriter {
        let (tx, mut rx) = mpsc::unbounded_channel::<Maintenance>();
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                let d = dir.clone();
                let result = tokio::task::spawn_blocking(move || save_maintenance(&d, &m)).await;
                match result {
                    Ok(Ok(())) => info!(
                        "maintenance state saved in {}",
                        dir.join(MAINTENANCE_FILE).display()
                    ),
                    Ok(Err(e)) => error!("{e}; a restart would not keep this maintenance state"),
                    Err(e) => error!("maintenance state writer failed: {e}"),
                }
            }
        });
        StateWriter { tx }
    }

    pub fn save(&self, m: Maintenance) {
        if self.tx.send(m).is_err() {
            error!("maintenance state writer is gone; the state was not saved");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_atomically_and_a_missing_file_is_no_maintenance() {
        let dir = std::env::temp_dir().join(format!("vipd-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            load_maintenance(&dir).expect("no file"),
            Maintenance::default()
        );
        let m = Maintenance {
            all: false,
            instances: ["web".to_string()].into_iter().collect(),
        };
        save_maintenance(&dir, &m).expect("save");
        assert_eq!(load_maintenance(&dir).expect("load"), m);
        assert!(!dir.join(format!(".{MAINTENANCE_FILE}.tmp")).exists());
        fs::write(dir.join(MAINTENANCE_FILE), "garbage").expect("write");
        assert!(matches!(load_maintenance(&dir), Err(StateError::Parse(..))));
        let _ = fs::remove_dir_all(&dir);
    }
}
