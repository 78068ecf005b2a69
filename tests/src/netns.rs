//! Named network namespaces (`ip netns`), their teardown, and the sweep of namespaces a
//! dead test process left behind.
//!
//! Names are `vte2e-<test id>-<pid>-<role>`: the pid of the test process that created
//! the namespace is part of the name, so a namespace whose creator is gone is stale.

use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::util::{run, run_ok, wait_until};

/// Every namespace the harness creates starts with this.
pub const PREFIX: &str = "vte2e-";

/// The name for `role` in test `test_id`, owned by this process.
pub fn ns_name(test_id: &str, role: &str) -> String {
    assert!(
        !test_id.is_empty()
            && test_id.len() <= 12
            && test_id.chars().all(|c| c.is_ascii_alphanumeric()),
        "test id {test_id:?}: use 1..=12 letters and digits (it is part of namespace names)"
    );
    assert!(
        !role.is_empty() && role.len() <= 12 && role.chars().all(|c| c.is_ascii_alphanumeric()),
        "role {role:?}: use 1..=12 letters and digits"
    );
    format!("{PREFIX}{test_id}-{}-{role}", std::process::id())
}

/// A network namespace; deleted (with every process still in it) when dropped.
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates the namespace and brings its loopback up.
    pub fn create(name: String) -> NetNs {
        assert!(
            name.starts_with(PREFIX),
            "namespace {name} lacks the harness prefix"
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = NetNs { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n <ns> <args>`, which must succeed; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`, which execs
    /// the program in place, so the child's pid is the program's).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Sets sysctls inside the namespace (`key=value` each).
    pub fn sysctl(&self, settings: &[&str]) {
        let mut c = self.command("sysctl");
        c.arg("-q").arg("-w").args(settings);
        run_ok(&mut c);
    }
}

/// Pids of the processes inside namespace `name`.
fn pids_in(name: &str) -> Vec<i32> {
    let out = run(Command::new("ip").args(["netns", "pids", name]));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Kills what runs in the namespace (all of it was started there by this harness) and
/// deletes it.
fn destroy(name: &str) {
    for pid in pids_in(name) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    wait_until(Duration::from_secs(3), Duration::from_millis(10), || {
        pids_in(name).is_empty()
    });
    let out = run(Command::new("ip").args(["netns", "del", name]));
    if !out.status.success() {
        eprintln!(
            "vipd-e2e: cannot delete namespace {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        destroy(&self.name);
    }
}

/// Names of all namespaces with the harness prefix.
pub fn harness_namespaces() -> Vec<String> {
    let out = run(Command::new("ip").args(["netns", "list"]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(PREFIX))
        .map(str::to_string)
        .collect()
}

/// The creating pid encoded in a harness namespace name.
fn creator(name: &str) -> Option<i32> {
    name.strip_prefix(PREFIX)?.split('-').nth(1)?.parse().ok()
}

fn alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

static SWEEP: Once = Once::new();

/// Once per process: deletes harness namespaces (and temp dirs) whose creating process
/// is gone.
pub fn sweep_stale() {
    SWEEP.call_once(|| {
        for name in harness_namespaces() {
            match creator(&name) {
                Some(pid) if alive(pid) => {}
                _ => {
                    eprintln!("vipd-e2e: removing stale namespace {name}");
                    destroy(&name);
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
            for e in entries.flatten().take(10_000) {
                let n = e.file_name().to_string_lossy().into_owned();
                if !n.starts_with(PREFIX) {
                    continue;
                }
                // Temp dirs are `vte2e-<id>-<pid>`.
                let stale = n
                    .strip_prefix(PREFIX)
                    .and_then(|rest| rest.split('-').nth(1))
                    .and_then(|p| p.parse::<i32>().ok())
                    .is_some_and(|pid| !alive(pid));
                if stale {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_creator() {
        let n = ns_name("elect2", "br");
        assert!(n.starts_with("vte2e-elect2-"));
        assert_eq!(creator(&n), i32::try_from(std::process::id()).ok());
        assert_eq!(creator("vte2e-x-notapid-a"), None);
    }
}
