//! What vipd keeps across restarts under the state directory (config `state_dir`,
//! default /var/lib/vipd): the maintenance state, `maintenance.json`, and with `auth`
//! the authentication state, `auth.json` (the reservation of sequence numbers and the
//! last numbers accepted from each peer: see `vipd_node::auth_state`).
//!
//! Read once at start, before the main loop. Written off the main loop, one write at a
//! time in the order the node asked (a [`StateWriter`] task), atomically: a temporary
//! file in the same directory, synced, renamed over the old one, and the directory
//! synced — a crash leaves the old state or the new one, never half of one.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tracing::{debug, error, info};
use vipd_node::{AuthState, Maintenance};

/// The maintenance state's file name in the state directory.
pub const MAINTENANCE_FILE: &str = "maintenance.json";
/// The authentication state's file name in the state directory.
pub const AUTH_FILE: &str = "auth.json";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, #[source] io::Error),
    #[error("{0} is not a maintenance state: {1}")]
    Parse(PathBuf, #[source] serde_json::Error),
    #[error("{0} is not an authentication state: {1}")]
    ParseAuth(PathBuf, #[source] serde_json::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, #[source] io::Error),
    #[error("cannot encode the state: {0}")]
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
    let text = serde_json::to_vec_pretty(m).map_err(StateError::Encode)?;
    replace(dir, MAINTENANCE_FILE, text)
}

/// The authentication state kept in `dir`; none kept (no file) is the default: numbers
/// from the wall clock, no peer's numbers remembered.
pub fn load_auth(dir: &Path) -> Result<AuthState, StateError> {
    let path = dir.join(AUTH_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AuthState::default()),
        Err(e) => return Err(StateError::Read(path, e)),
    };
    serde_json::from_str(&text).map_err(|e| StateError::ParseAuth(path, e))
}

/// Replaces the authentication state kept in `dir` atomically (see the module docs).
pub fn save_auth(dir: &Path, a: &AuthState) -> Result<(), StateError> {
    let text = serde_json::to_vec(a).map_err(StateError::Encode)?;
    replace(dir, AUTH_FILE, text)
}

/// Replaces `file` in `dir` with `text` and a newline: a temporary file in the same
/// directory, synced, renamed over the old one, and the directory synced.
fn replace(dir: &Path, file: &str, mut text: Vec<u8>) -> Result<(), StateError> {
    let path = dir.join(file);
    let tmp = dir.join(format!(".{file}.tmp"));
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

/// One state to keep. An authentication save carries nothing: the newest state waits in
/// [`StateWriter`]'s `pending_auth` (later ones replace earlier ones not yet written).
enum Save {
    Maintenance(Maintenance),
    Auth,
}

/// The newest authentication state not yet written, and the lock every write of
/// `auth.json` holds (the writer task's and the last one, in `Drop`).
#[derive(Default)]
struct PendingAuth {
    state: std::sync::Mutex<Option<AuthState>>,
    writing: std::sync::Mutex<()>,
}

impl PendingAuth {
    fn take(&self) -> Option<AuthState> {
        self.state.lock().map(|mut s| s.take()).unwrap_or(None)
    }

    /// Writes the newest pending state, if any.
    fn write(&self, dir: &Path) -> Option<Result<(), StateError>> {
        let _writing = self.writing.lock();
        let a = self.take()?;
        Some(save_auth(dir, &a))
    }
}

/// Writes the states the node asks to keep in `dir`, one after the other, off the main
/// loop. The authentication state still pending when it is dropped (the one the node
/// asked for on its way out, after the loop ended) is written then, synchronously.
pub struct StateWriter {
    tx: mpsc::UnboundedSender<Save>,
    pending_auth: std::sync::Arc<PendingAuth>,
    dir: PathBuf,
}

impl StateWriter {
    pub fn spawn(dir: PathBuf) -> StateWriter {
        let (tx, mut rx) = mpsc::unbounded_channel::<Save>();
        let pending_auth = std::sync::Arc::new(PendingAuth::default());
        let pending = pending_auth.clone();
        let d = dir.clone();
        tokio::spawn(async move {
            while let Some(save) = rx.recv().await {
                let (d, pending) = (d.clone(), pending.clone());
                match save {
                    Save::Maintenance(m) => {
                        let path = d.join(MAINTENANCE_FILE);
                        match tokio::task::spawn_blocking(move || save_maintenance(&d, &m)).await {
                            Ok(Ok(())) => info!("maintenance state saved in {}", path.display()),
                            Ok(Err(e)) => {
                                error!("{e}; a restart would not keep this maintenance state")
                            }
                            Err(e) => error!("state writer failed: {e}"),
                        }
                    }
                    Save::Auth => {
                        let path = d.join(AUTH_FILE);
                        match tokio::task::spawn_blocking(move || pending.write(&d)).await {
                            Ok(result) => log_auth(&path, result),
                            Err(e) => error!("state writer failed: {e}"),
                        }
                    }
                }
            }
        });
        StateWriter {
            tx,
            pending_auth,
            dir,
        }
    }

    pub fn save(&self, m: Maintenance) {
        if self.tx.send(Save::Maintenance(m)).is_err() {
            error!("state writer is gone; the maintenance state was not saved");
        }
    }

    pub fn save_auth(&self, a: AuthState) {
        if let Ok(mut s) = self.pending_auth.state.lock() {
            *s = Some(a);
        }
        if self.tx.send(Save::Auth).is_err() {
            error!("state writer is gone; the authentication state was not saved");
        }
    }
}

impl Drop for StateWriter {
    fn drop(&mut self) {
        let path = self.dir.join(AUTH_FILE);
        log_auth(&path, self.pending_auth.write(&self.dir));
    }
}

fn log_auth(path: &Path, result: Option<Result<(), StateError>>) {
    match result {
        Some(Ok(())) => debug!("authentication state saved in {}", path.display()),
        Some(Err(e)) => error!(
            "{e}; a restart would number authenticated adverts from the wall clock and \
             forget the peers' numbers"
        ),
        None => {}
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

    #[test]
    fn the_auth_state_saves_and_loads_and_a_missing_file_is_the_default() {
        let dir = std::env::temp_dir().join(format!("vipd-auth-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(load_auth(&dir).expect("no file"), AuthState::default());
        let a = AuthState {
            next_seq: 1_700_000_000_000_000_000,
            accepted: [(
                "web".to_string(),
                [("192.0.2.11".parse().expect("addr"), 17u64)]
                    .into_iter()
                    .collect(),
            )]
            .into_iter()
            .collect(),
        };
        save_auth(&dir, &a).expect("save");
        assert_eq!(load_auth(&dir).expect("load"), a);
        assert!(!dir.join(format!(".{AUTH_FILE}.tmp")).exists());
        // The last save, asked for just before the exit (the loop is over, the writer
        // task never runs again): written when the writer is dropped.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let last = AuthState {
            next_seq: a.next_seq + 1,
            ..a.clone()
        };
        rt.block_on(async {
            let w = StateWriter::spawn(dir.clone());
            w.save_auth(last.clone());
            drop(w);
        });
        assert_eq!(load_auth(&dir).expect("load"), last);
        fs::write(dir.join(AUTH_FILE), "garbage").expect("write");
        assert!(matches!(load_auth(&dir), Err(StateError::ParseAuth(..))));
        let _ = fs::remove_dir_all(&dir);
    }
}
