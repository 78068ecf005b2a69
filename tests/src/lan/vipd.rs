//! The vipd process on a host: its configuration file, starting, signalling, reloading
//! and stopping it, and its logs.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{lock, Host};
use crate::bins;
use crate::proc::Proc;
use crate::util::wait_until;

/// Whether [`Host::start_vipd`] starts vipd unprivileged ([`run_vipd_unprivileged`]).
static UNPRIVILEGED: AtomicBool = AtomicBool::new(false);

/// The uid and gid unprivileged vipd runs as: `nobody`/`nogroup`, whose temp dirs the
/// harness hands over ([`Host::start_vipd`] chowns the host's directory).
pub const UNPRIVILEGED_ID: u32 = 65534;

/// From now on this test process starts every vipd unprivileged: through `setpriv` as
/// [`UNPRIVILEGED_ID`] with no supplementary groups and only CAP_NET_ADMIN and
/// CAP_NET_RAW (ambient, and all the bounding set holds) — as the systemd unit runs it.
/// Process-wide. A test binary whose name starts with `unprivileged` (for example
/// `tests/unprivileged.rs`, which includes the failover tests) runs in this mode from
/// the start, without calling it.
pub fn run_vipd_unprivileged() {
    UNPRIVILEGED.store(true, Ordering::SeqCst);
}

/// Whether vipd is started unprivileged ([`run_vipd_unprivileged`]).
pub fn vipd_unprivileged() -> bool {
    UNPRIVILEGED.load(Ordering::SeqCst)
        || std::env::current_exe().is_ok_and(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("unprivileged"))
        })
}

/// The `setpriv` arguments (before the program) of unprivileged mode.
pub fn setpriv_args() -> Vec<String> {
    let caps = "+net_admin,+net_raw";
    vec![
        format!("--reuid={UNPRIVILEGED_ID}"),
        format!("--regid={UNPRIVILEGED_ID}"),
        "--clear-groups".into(),
        format!("--inh-caps=-all,{caps}"),
        format!("--ambient-caps=-all,{caps}"),
        format!("--bounding-set=-all,{caps}"),
        "--".into(),
    ]
}

/// Lines [`Host::start_vipd`] puts before the caller's YAML (the `control_socket` and
/// `state_dir` lines).
pub const CONFIG_PREAMBLE_LINES: usize = 2;

impl Host {
    /// The control socket of this host's vipd.
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("vipd.sock")
    }

    /// Writes `yaml` (a vipd configuration without `control_socket`) to a file with
    /// this host's control socket added, starts vipd with it, and waits until the
    /// control socket answers.
    pub fn spawn_vipd(&self, yaml: &str) {
        let p = self.start_vipd(yaml);
        let ready = wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            self.try_status().is_ok()
        });
        if !ready {
            panic!(
                "vipd on {} did not answer on {} within 5 s ({}); log {}:\n{}",
                self.name,
                self.control_socket().display(),
                self.try_status().err().unwrap_or_default(),
                p.display(),
                self.vipd_log()
            );
        }
    }

    /// A command running the vipd binary in this host's namespace; unprivileged in that
    /// mode ([`run_vipd_unprivileged`]), with the host's directory (control socket,
    /// release file) handed to [`UNPRIVILEGED_ID`].
    pub fn vipd_command(&self) -> std::process::Command {
        if !vipd_unprivileged() {
            return self.command(bins::vipd());
        }
        let id = Some(nix::unistd::Uid::from_raw(UNPRIVILEGED_ID));
        let gid = Some(nix::unistd::Gid::from_raw(UNPRIVILEGED_ID));
        if let Err(e) = nix::unistd::chown(&self.dir, id, gid) {
            panic!("cannot chown {}: {e}", self.dir.display());
        }
        let mut c = self.command("setpriv");
        c.args(setpriv_args()).arg(bins::vipd());
        c
    }

    /// Starts vipd without waiting for it; returns the config file's path.
    pub fn start_vipd(&self, yaml: &str) -> PathBuf {
        assert!(
            !yaml.contains("control_socket") && !yaml.contains("state_dir"),
            "spawn_vipd adds control_socket and state_dir itself"
        );
        let n = self.spawns.get() + 1;
        self.spawns.set(n);
        let cfg = self.dir.join(format!("vipd-{n}.yaml"));
        if let Err(e) = std::fs::write(&cfg, self.vipd_config_text(yaml)) {
            panic!("cannot write {}: {e}", cfg.display());
        }
        *lock(&self.vipd_config) = Some(cfg.clone());
        let log = self.dir.join(format!("vipd-{n}.log"));
        let mut cmd = self.vipd_command();
        cmd.arg("--config").arg(&cfg);
        // Debug logs for the tests; `VIPD_E2E_RUST_LOG` sets another filter (the
        // benchmark runs vipd at its production level: logging every dropped packet of a
        // flood at debug level costs more than handling it).
        let filter = std::env::var("VIPD_E2E_RUST_LOG")
            .unwrap_or_else(|_| "info,vipd=debug,vipd_engine=debug".to_string());
        cmd.env("RUST_LOG", filter);
        let new = Proc::spawn(cmd, &format!("vipd on {}", self.name), &log);
        if let Some(old) = lock(&self.vipd).replace(new) {
            lock(&self.old).push(old);
        }
        cfg
    }

    /// What [`Host::start_vipd`] writes for `yaml`: the control socket and state
    /// directory lines first (so line N of `yaml` is line N + [`CONFIG_PREAMBLE_LINES`]
    /// of the file), then `yaml`.
    pub fn vipd_config_text(&self, yaml: &str) -> String {
        format!(
            "control_socket: \"{}\"\nstate_dir: \"{}\"\n{yaml}",
            self.control_socket().display(),
            self.state_dir().display()
        )
    }

    /// The state directory of this host's vipd (kept across its restarts).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The config file the current vipd was started with (`--config`), if one was.
    pub fn vipd_config_path(&self) -> Option<PathBuf> {
        lock(&self.vipd_config).clone()
    }

    /// Replaces the running vipd's config file (the path it was started with) by `yaml`
    /// plus this host's control socket, exactly as [`Host::start_vipd`] writes it, for a
    /// reload ([`Host::reload_vipd`]). `yaml` may be broken on purpose. Written to a
    /// temporary file and renamed over the old one, so vipd never reads half a file.
    /// Returns the path.
    pub fn rewrite_vipd_config(&self, yaml: &str) -> PathBuf {
        assert!(
            !yaml.contains("control_socket"),
            "rewrite_vipd_config adds control_socket itself"
        );
        let Some(cfg) = self.vipd_config_path() else {
            panic!(
                "no vipd was started on {}: no config file to rewrite",
                self.name
            );
        };
        let tmp = cfg.with_extension("yaml.new");
        if let Err(e) = std::fs::write(&tmp, self.vipd_config_text(yaml)) {
            panic!("cannot write {}: {e}", tmp.display());
        }
        if let Err(e) = std::fs::rename(&tmp, &cfg) {
            panic!("cannot rename {} to {}: {e}", tmp.display(), cfg.display());
        }
        cfg
    }

    /// Sends SIGHUP to this host's vipd (re-read the config file); false if it had
    /// already exited.
    pub fn reload_vipd(&self) -> bool {
        self.kill(Signal::SIGHUP)
    }

    /// [`Host::reload_vipd`], then waits up to `timeout` for vipd to log the outcome:
    /// `Ok(line)` with the `configuration reloaded` line, `Err(line)` with the `reload
    /// refused` line. Panics (with the log) if vipd is gone or logs neither in time.
    pub fn reload_vipd_and_wait(&self, timeout: Duration) -> Result<String, String> {
        let before = self.vipd_log().lines().count();
        assert!(
            self.reload_vipd(),
            "vipd on {} had exited before SIGHUP; log:\n{}",
            self.name,
            self.vipd_log()
        );
        let mut outcome = None;
        wait_until(timeout, Duration::from_millis(2), || {
            let log = self.vipd_log();
            for line in log.lines().skip(before) {
                if line.contains("configuration reloaded") {
                    outcome = Some(Ok(line.to_string()));
                    return true;
                }
                if line.contains("reload refused") {
                    outcome = Some(Err(line.to_string()));
                    return true;
                }
            }
            false
        });
        match outcome {
            Some(o) => o,
            None => panic!(
                "vipd on {} logged neither `configuration reloaded` nor `reload refused` \
                 within {timeout:?} of SIGHUP (running: {}); log since:\n{}",
                self.name,
                self.vipd_running(),
                self.vipd_log()
                    .lines()
                    .skip(before)
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }

    /// Whether this host's vipd process is still running (not exited).
    pub fn vipd_running(&self) -> bool {
        self.with_vipd(|p| p.exited().is_none())
    }

    fn with_vipd<T>(&self, f: impl FnOnce(&mut Proc) -> T) -> T {
        match lock(&self.vipd).as_mut() {
            Some(p) => f(p),
            None => panic!("no vipd was started on {}", self.name),
        }
    }

    /// Signals this host's vipd; false if it had already exited.
    pub fn kill(&self, sig: Signal) -> bool {
        self.with_vipd(|p| p.signal(sig))
    }

    /// Waits for vipd to exit.
    pub fn wait_vipd_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        self.with_vipd(|p| p.wait_exit(timeout))
    }

    /// Waits up to `timeout` for vipd (sent SIGTERM) to exit, which it must, with 0.
    pub fn assert_exits_cleanly(&self, timeout: Duration) {
        match self.wait_vipd_exit(timeout) {
            Some(s) => assert_eq!(s.code(), Some(0), "vipd on {} exited with {s}", self.name),
            None => panic!(
                "vipd on {} still running {timeout:?} after SIGTERM",
                self.name
            ),
        }
    }

    /// [`Host::assert_exits_cleanly`], and `vip` is gone from eth0: vipd took it along.
    pub fn assert_left(&self, vip: &str, timeout: Duration) {
        self.assert_exits_cleanly(timeout);
        assert!(
            !self.has_addr(vip),
            "{} left its VIP behind: {:?}",
            self.name,
            self.addresses()
        );
    }

    /// Crashes vipd: SIGKILL, after which it must be gone within 3 s. Whatever it had
    /// added to the kernel stays there.
    pub fn crash_vipd(&self) {
        assert!(
            self.kill(Signal::SIGKILL),
            "vipd on {} had exited before SIGKILL",
            self.name
        );
        assert!(
            self.wait_vipd_exit(Duration::from_secs(3)).is_some(),
            "SIGKILL did not end vipd on {}",
            self.name
        );
    }

    pub fn vipd_pid(&self) -> Option<u32> {
        lock(&self.vipd).as_ref().map(Proc::pid)
    }

    /// The current vipd run's log.
    pub fn vipd_log(&self) -> String {
        lock(&self.vipd)
            .as_ref()
            .map(Proc::log_text)
            .unwrap_or_default()
    }

    /// Every vipd run's log on this host so far (the current one and those of earlier,
    /// restarted processes), oldest first, with its path.
    pub fn vipd_logs(&self) -> Vec<(PathBuf, String)> {
        let old = lock(&self.old);
        let vipd = lock(&self.vipd);
        old.iter()
            .chain(vipd.iter())
            .filter(|p| p.what().starts_with("vipd"))
            .map(|p| (p.log_path().to_path_buf(), p.log_text()))
            .collect()
    }
}
