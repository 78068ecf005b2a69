//! keepalived on a host: starting it with a configuration, signalling it, its log.

use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{lock, Host};
use crate::proc::Proc;

impl Host {
    /// Starts keepalived (VRRP subsystem only, in the foreground, logging to the
    /// console, with pid files of its own so no system instance is touched).
    pub fn spawn_keepalived(&self, conf: &str) {
        let n = self.spawns.get() + 1;
        self.spawns.set(n);
        let cfg = self.dir.join(format!("keepalived-{n}.conf"));
        if let Err(e) = std::fs::write(&cfg, conf) {
            panic!("cannot write {}: {e}", cfg.display());
        }
        let log = self.dir.join(format!("keepalived-{n}.log"));
        let pid = |what: &str| self.dir.join(format!("keepalived-{n}-{what}.pid"));
        let mut cmd = self.command("keepalived");
        cmd.args([
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--no-syslog",
            "--vrrp",
        ])
        .arg("--use-file")
        .arg(&cfg)
        .arg("--pid")
        .arg(pid("main"))
        .arg("--vrrp_pid")
        .arg(pid("vrrp"))
        .arg("--checkers_pid")
        .arg(pid("checkers"));
        let new = Proc::spawn(cmd, &format!("keepalived on {}", self.name), &log);
        if let Some(old) = lock(&self.keepalived).replace(new) {
            lock(&self.old).push(old);
        }
    }

    fn with_keepalived<T>(&self, f: impl FnOnce(&mut Proc) -> T) -> T {
        match lock(&self.keepalived).as_mut() {
            Some(p) => f(p),
            None => panic!("no keepalived was started on {}", self.name),
        }
    }

    /// Signals keepalived's parent process (it stops its VRRP child on SIGTERM).
    pub fn kill_keepalived(&self, sig: Signal) -> bool {
        self.with_keepalived(|p| p.signal(sig))
    }

    pub fn wait_keepalived_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        self.with_keepalived(|p| p.wait_exit(timeout))
    }

    pub fn keepalived_log(&self) -> String {
        lock(&self.keepalived)
            .as_ref()
            .map(Proc::log_text)
            .unwrap_or_default()
    }

    /// keepalived logs why it drops a received advert: no line of its log may carry
    /// one of those words, nor any of `more` (words a test's setting adds).
    pub fn assert_keepalived_understands(&self, more: &[&str]) {
        const WORDS: [&str; 7] = [
            "invalid",
            "checksum",
            "ttl",
            "mismatch",
            "wrong",
            "malformed",
            "bad ",
        ];
        let log = self.keepalived_log();
        let complaints: Vec<&str> = log
            .lines()
            .filter(|l| {
                let l = l.to_lowercase();
                WORDS.iter().chain(more).any(|w| l.contains(w))
            })
            .collect();
        assert!(
            complaints.is_empty(),
            "keepalived complained about received adverts:\n{}",
            complaints.join("\n")
        );
    }
}
