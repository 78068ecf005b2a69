//! Re-reads the configuration file on SIGHUP on a thread of its own, so a file that
//! hangs (a FIFO, a stuck network file system) freezes a reload, never the main loop.
//! SIGHUPs that arrive while a read is already due are folded into that read.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};

use tokio::sync::mpsc::UnboundedSender;
use vipd_node::Event;

use crate::config;
use crate::release::Remembered;

/// Writes the release file; a failure is logged (`vipd --release` then falls back on
/// the configuration file).
fn remember(path: &std::path::Path, r: &Remembered) {
    if let Err(e) = r.write(path) {
        tracing::warn!(
            "cannot write the release file {}: {e} (vipd --release will only know the \
             configuration file's VIPs)",
            path.display()
        );
    }
}

pub struct ConfigReader {
    due: SyncSender<()>,
}

impl ConfigReader {
    /// Starts the thread; each result comes back as `Event::Reload` on `results`.
    /// The thread also keeps the release file ([`crate::release`]) at `release`: the
    /// VIPs of `first` (the configuration vipd starts with) and of each configuration
    /// read successfully since.
    pub fn spawn(
        path: PathBuf,
        results: UnboundedSender<Event>,
        release: PathBuf,
        first: Remembered,
    ) -> std::io::Result<ConfigReader> {
        // Room for one read due beside the one under way: more would read the same file.
        let (due, wanted) = sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("vipd-config".into())
            .spawn(move || {
                let mut remembered = first;
                remember(&release, &remembered);
                while wanted.recv().is_ok() {
                    let config = config::load(&path).map_err(|e| e.to_string());
                    if let Ok(c) = &config {
                        let before = remembered.clone();
                        remembered.merge(&Remembered::from_config(c));
                        if remembered != before {
                            remember(&release, &remembered);
                        }
                    }
                    if results.send(Event::Reload(config)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(ConfigReader { due })
    }

    /// Asks for a read; folded into one already due.
    pub fn request(&self) {
        match self.due.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::error!("the configuration reader is gone; SIGHUP ignored")
            }
        }
    }
}
