//! Test hosts that boot systemd: a Debian 12 root file system (built once by
//! `tests/hosts/build-rootfs.sh` and cached), run by `systemd-nspawn --boot` with systemd
//! as PID 1 inside one of the [`crate::Lan`]'s host namespaces, on an overlay of the
//! cached root so that a run starts in about a second and leaves the cache untouched.
//!
//! The host's network is the LAN host's namespace (its `eth0` on the test bridge, with
//! the addresses the harness gave it); commands run inside it with `nsenter` into the
//! container's PID 1. Everything goes in `Drop`, also when a test panics: the
//! container's PID 1 is killed (and with it every process of its PID namespace),
//! nspawn reaped, the overlay unmounted and its directory removed; the namespace goes
//! with the [`Host`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::lan::Host;
use crate::util::{run, run_timeout, wait_until};

/// How long a boot may take until `systemctl is-system-running --wait` answers.
const BOOT_WAIT: Duration = Duration::from_secs(90);

/// How long one command inside a host may take.
const EXEC_WAIT: Duration = Duration::from_secs(120);

/// Capabilities a real host's root has that nspawn leaves out by default: CAP_NET_ADMIN
/// (nspawn grants it only with a network namespace of its own making) for vipd's VIPs,
/// CAP_IPC_LOCK for `lock_memory`.
const EXTRA_CAPS: &str = "CAP_NET_ADMIN,CAP_IPC_LOCK";

static ROOTFS: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The cached root file system (built on first use, which takes a minute or two).
/// `VIPD_E2E_ROOTFS` names one to use instead.
pub fn rootfs() -> PathBuf {
    let got = ROOTFS.get_or_init(|| {
        if let Some(p) = std::env::var_os("VIPD_E2E_ROOTFS") {
            return Ok(PathBuf::from(p));
        }
        let script = crate::bins::workspace_root().join("tests/hosts/build-rootfs.sh");
        let out = run(Command::new("bash").arg(&script));
        if !out.status.success() {
            return Err(format!(
                "{} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(PathBuf::from(path))
    });
    match got {
        Ok(p) => p.clone(),
        Err(e) => panic!("no root file system for the test hosts: {e}"),
    }
}

/// The tools the booted hosts need on this machine.
fn require_tools() {
    for tool in ["systemd-nspawn", "nsenter", "debootstrap", "mount"] {
        let found = run(Command::new("sh").args(["-c", &format!("command -v {tool}")]));
        assert!(
            found.status.success(),
            "the booted test hosts need {tool} (apt-get install systemd-container debootstrap util-linux)"
        );
    }
}

/// One booted host. Declare it after the [`crate::Lan`] (it is torn down first).
pub struct Booted {
    name: String,
    nspawn: Option<Child>,
    /// The container's PID 1, as this machine numbers it.
    pid1: u32,
    /// upper/, work/ and root/ (the overlay's mount point).
    dir: PathBuf,
    root: PathBuf,
    /// How long the boot took, to the system being up.
    pub boot_time: Duration,
    /// Declared last: the namespace goes after everything inside it.
    pub host: Host,
}

impl Booted {
    /// Boots a host in `host`'s namespace (its name becomes the hostname).
    pub fn boot(host: Host) -> Booted {
        require_tools();
        let lower = rootfs();
        let name = host.name.clone();
        let dir = host.dir().join("machine");
        let root = dir.join("root");
        for d in ["upper", "work", "root"] {
            if let Err(e) = std::fs::create_dir_all(dir.join(d)) {
                panic!("cannot create {}: {e}", dir.join(d).display());
            }
        }
        let options = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        let mounted = run(Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &options])
            .arg(&root));
        assert!(
            mounted.status.success(),
            "cannot mount the overlay for {name}: {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        let mut booted = Booted {
            name,
            nspawn: None,
            pid1: 0,
            dir,
            root,
            boot_time: Duration::ZERO,
            host,
        };
        booted.start();
        booted
    }

    /// Starts systemd-nspawn on the mounted root and waits until the system is up.
    fn start(&mut self) {
        let started = Instant::now();
        let console = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("console.log"))
        {
            Ok(f) => f,
            Err(e) => panic!("cannot open the console log: {e}"),
        };
        let err = console.try_clone().expect("duplicate a file handle");
        let nspawn = Command::new("systemd-nspawn")
            .args(["--register=no", "--keep-unit", "-q", "--boot"])
            .arg("-D")
            .arg(&self.root)
            .arg(format!(
                "--network-namespace-path=/run/netns/{}",
                self.host.ns().name()
            ))
            .args(["-M", &self.name, &format!("--capability={EXTRA_CAPS}")])
            .stdin(Stdio::null())
            .stdout(Stdio::from(console))
            .stderr(Stdio::from(err))
            .spawn();
        self.nspawn = match nspawn {
            Ok(c) => Some(c),
            Err(e) => panic!("cannot start systemd-nspawn: {e}"),
        };
        self.pid1 = 0;
        let ns = self.host.ns().name().to_string();
        let mut pid1 = 0;
        let found =
            wait_until(
                Duration::from_secs(30),
                Duration::from_millis(20),
                || match container_init(&ns) {
                    Some(p) => {
                        pid1 = p;
                        true
                    }
                    None => false,
                },
            );
        assert!(
            found,
            "{}: no systemd came up\n{}",
            self.name,
            self.console()
        );
        self.pid1 = pid1;
        // Nothing or "offline" until PID 1 takes calls; then --wait waits for the boot's
        // end.
        let mut state = String::new();
        wait_until(BOOT_WAIT, Duration::from_millis(50), || {
            let up = self.exec_within(&["systemctl", "is-system-running", "--wait"], BOOT_WAIT);
            state = String::from_utf8_lossy(&up.stdout).trim().to_string();
            matches!(
                state.as_str(),
                "running" | "degraded" | "maintenance" | "stopping"
            )
        });
        assert!(
            state == "running" || state == "degraded",
            "{}: systemd says {state:?} after booting\n{}\nfailed units: {}",
            self.name,
            self.console(),
            String::from_utf8_lossy(&self.exec(&["systemctl", "--failed", "--no-legend"]).stdout)
        );
        self.boot_time = started.elapsed();
    }

    /// `systemctl reboot` inside: waits for the shutdown to end (nspawn exits; the
    /// shutdown stops every service as a real reboot does), then boots again on the same
    /// root. Returns how long the shutdown took.
    pub fn reboot(&mut self) -> Duration {
        let asked = Instant::now();
        // It may not return: the system goes away under it.
        let mut c = Command::new("nsenter");
        c.args([
            "-t",
            &self.pid1.to_string(),
            "-a",
            "--",
            "systemctl",
            "reboot",
        ]);
        let _ = run_timeout(&mut c, Duration::from_secs(30));
        let mut child = self.nspawn.take().expect("a running host");
        let ended = wait_until(Duration::from_secs(60), Duration::from_millis(20), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        assert!(ended, "{}: did not shut down within 60 s", self.name);
        let shutdown = asked.elapsed();
        self.start();
        shutdown
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A path inside the host's file system, as this machine reaches it. Not under
    /// /tmp: nspawn mounts a tmpfs there, which hides what is written here.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Writes a file inside the host (mode `mode`, owned by root).
    pub fn write(&self, inside: &str, contents: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(inside);
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(&p, contents) {
            panic!("cannot write {}: {e}", p.display());
        }
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
    }

    /// Runs `args` inside the host (all of its namespaces, as root).
    pub fn exec(&self, args: &[&str]) -> Output {
        self.exec_within(args, EXEC_WAIT)
    }

    fn exec_within(&self, args: &[&str], wait: Duration) -> Output {
        let mut c = Command::new("nsenter");
        c.args(["-t", &self.pid1.to_string(), "-a", "--"])
            .args(args);
        match run_timeout(&mut c, wait) {
            Some(o) => o,
            None => panic!("{}: {args:?} did not end within {wait:?}", self.name),
        }
    }

    /// Starts `args` inside the host and leaves it running, its stdout and stderr
    /// appended to `log` on this machine. It ends with the host at the latest (its PID
    /// namespace goes with the container's init); kill and wait for the child to end it
    /// sooner.
    pub fn spawn(&self, args: &[&str], log: &Path) -> Child {
        let out = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            Ok(f) => f,
            Err(e) => panic!("cannot open {}: {e}", log.display()),
        };
        let err = match out.try_clone() {
            Ok(f) => f,
            Err(e) => panic!("cannot duplicate {}: {e}", log.display()),
        };
        let spawned = Command::new("nsenter")
            .args(["-t", &self.pid1.to_string(), "-a", "--"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn();
        match spawned {
            Ok(c) => c,
            Err(e) => panic!("{}: cannot start {args:?}: {e}", self.name),
        }
    }

    /// Runs `args` inside the host, which must succeed; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{}: {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `sh -c script` inside the host.
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["sh", "-c", script])
    }

    /// `journalctl --no-pager -o short-precise` with these arguments.
    pub fn journal(&self, args: &[&str]) -> String {
        let mut all = vec!["journalctl", "--no-pager", "-o", "short-precise"];
        all.extend_from_slice(args);
        String::from_utf8_lossy(&self.exec(&all).stdout).into_owned()
    }

    /// Installs vipd as the README's "From source" does: the binaries under test, the
    /// packaged unit, the system user, `/etc/vipd/vipd.yaml` (0640 root:vipd) with
    /// `config`. With `VIPD_DEB` set, installs that Debian package instead (then only
    /// the configuration is written). The service is not started.
    pub fn install_vipd(&self, config: &str) {
        if let Some(deb) = std::env::var_os("VIPD_DEB") {
            let deb = PathBuf::from(deb);
            let inside = "/root/vipd.deb";
            if let Err(e) = std::fs::copy(&deb, self.path(inside)) {
                panic!("cannot copy {}: {e}", deb.display());
            }
            self.exec_ok(&["dpkg", "-i", inside]);
        } else {
            let root = crate::bins::workspace_root();
            self.copy_in(&crate::bins::vipd(), "/usr/sbin/vipd", 0o755);
            self.copy_in(&crate::bins::vipctl(), "/usr/bin/vipctl", 0o755);
            self.copy_in(
                &root.join("packaging/systemd/vipd.service"),
                "/etc/systemd/system/vipd.service",
                0o644,
            );
            self.exec_ok(&[
                "adduser",
                "--system",
                "--group",
                "--no-create-home",
                "--home",
                "/var/lib/vipd",
                "vipd",
            ]);
        }
        self.write("/etc/vipd/vipd.yaml", config, 0o640);
        self.exec_ok(&["chgrp", "vipd", "/etc/vipd/vipd.yaml"]);
        self.exec_ok(&["systemctl", "daemon-reload"]);
    }

    fn copy_in(&self, from: &Path, inside: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let to = self.path(inside);
        if let Some(parent) = to.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::copy(from, &to) {
            panic!("cannot copy {} to {}: {e}", from.display(), to.display());
        }
        let _ = std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode));
    }

    /// The main pid of a unit inside the host, as this machine numbers it (0: none).
    pub fn main_pid(&self, unit: &str) -> u32 {
        let inner: u32 = String::from_utf8_lossy(
            &self
                .exec(&["systemctl", "show", "-P", "MainPID", unit])
                .stdout,
        )
        .trim()
        .parse()
        .unwrap_or(0);
        if inner == 0 {
            return 0;
        }
        // Its NSpid line: the pid here first, the container's last.
        let ns = self.host.ns().name().to_string();
        pids_in(&ns)
            .into_iter()
            .find(|p| nspid(*p).last() == Some(&inner) && nspid(*p).len() > 1)
            .unwrap_or(0)
    }

    /// What the console showed, for failure reports.
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default()
    }
}

impl Drop for Booted {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- booted host {} ----\n{}",
                self.name,
                self.journal(&["-n", "80"])
            );
        }
        // Killing the container's init kills every process of its PID namespace.
        if self.pid1 != 0 {
            let _ = kill(Pid::from_raw(self.pid1 as i32), Signal::SIGKILL);
        }
        if let Some(mut child) = self.nspawn.take() {
            let ended = wait_until(Duration::from_secs(10), Duration::from_millis(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !ended {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let unmounted = wait_until(Duration::from_secs(10), Duration::from_millis(50), || {
            run(Command::new("umount").arg(&self.root)).status.success() || !mounted(&self.root)
        });
        if !unmounted {
            let _ = run(Command::new("umount").arg("-l").arg(&self.root));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether `path` is a mount point now.
fn mounted(path: &Path) -> bool {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let p = path.display().to_string();
    mounts
        .lines()
        .any(|l| l.split(' ').nth(1) == Some(p.as_str()))
}

/// The pids of the processes in namespace `ns`.
fn pids_in(ns: &str) -> Vec<u32> {
    let out = run(Command::new("ip").args(["netns", "pids", ns]));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A process's pid in each PID namespace it is in, outermost first.
fn nspid(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The container's init in namespace `ns`: the process that is PID 1 of its own PID
/// namespace.
fn container_init(ns: &str) -> Option<u32> {
    pids_in(ns).into_iter().find(|p| {
        let ids = nspid(*p);
        ids.len() == 2 && ids[1] == 1
    })
}

static DEB: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The Debian package under test: `$VIPD_DEB` (CI builds it once, before the tests),
/// else built here with `cargo deb -p vipd` (cargo-deb; a release build: minutes).
pub fn deb() -> PathBuf {
    let got = DEB.get_or_init(|| {
        if let Some(p) = std::env::var_os("VIPD_DEB") {
            return Ok(PathBuf::from(p));
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = run(Command::new(cargo)
            .args(["deb", "-p", "vipd", "--quiet"])
            .current_dir(crate::bins::workspace_root()));
        if !out.status.success() {
            return Err(format!(
                "`cargo deb -p vipd` failed ({}); install cargo-deb (`cargo install cargo-deb`) or set VIPD_DEB: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // cargo deb prints the path of the package it wrote.
        let path = String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find(|l| l.trim_end().ends_with(".deb"))
            .map(|l| PathBuf::from(l.trim()));
        path.ok_or_else(|| "cargo deb printed no package path".to_string())
    });
    match got {
        Ok(p) => p.clone(),
        Err(e) => panic!("no vipd package: {e}"),
    }
}
