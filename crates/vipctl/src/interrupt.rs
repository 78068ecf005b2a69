//! Ctrl-C (SIGINT), SIGTERM and SIGHUP while a command has changed something it must
//! put back (`vipctl drill` turns maintenance on): the signal is noted, not obeyed at
//! once, and the command undoes its change before it exits.
//!
//! Without a signal handler (vipctl has no unsafe code): the signals are blocked, and a
//! thread waits for them with sigwait and sets the flag [`interrupted`] reads.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// From now on SIGINT, SIGTERM and SIGHUP only set the flag [`interrupted`] reads. Call
/// it before any other thread starts: a thread started earlier would still die of them.
pub fn catch() -> Result<(), String> {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            while set.wait().is_ok() {
                INTERRUPTED.store(true, Ordering::SeqCst);
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    Ok(())
}

/// Whether one of those signals came since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
