//! Asking a host's vipd what it thinks: `status` over the control socket (the JSON
//! protocol of `vipd-api`) and `vipctl status`, as JSON and as text.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Output;
use std::time::Duration;

use vipd_api::{Command as ApiCommand, InstanceStatus, Request, Response, State, Status};

use super::Host;
use crate::bins;
use crate::util::run;

/// The first (in these tests, only) instance of a status.
pub fn first_instance(s: &Status) -> &InstanceStatus {
    match s.instances.first() {
        Some(i) => i,
        None => panic!("status has no instances: {s:?}"),
    }
}

/// Instance `name` of a status, if it has one.
pub fn instance<'a>(s: &'a Status, name: &str) -> Option<&'a InstanceStatus> {
    s.instances.iter().find(|i| i.name == name)
}

impl Host {
    /// Asks vipd for its status over the control socket directly (the JSON protocol of
    /// `vipd-api`), without vipctl.
    pub fn try_status(&self) -> Result<Status, String> {
        self.try_status_within(Duration::from_secs(3))
    }

    /// [`Host::try_status`] giving up on a read or write that takes longer than
    /// `timeout` (for polling a vipd that may be stopped or shutting down: its socket
    /// still accepts connections, but nothing answers them).
    pub fn try_status_within(&self, timeout: Duration) -> Result<Status, String> {
        let path = self.control_socket();
        let mut s =
            UnixStream::connect(&path).map_err(|e| format!("connect {}: {e}", path.display()))?;
        let t = Some(timeout);
        s.set_read_timeout(t).map_err(|e| e.to_string())?;
        s.set_write_timeout(t).map_err(|e| e.to_string())?;
        let mut req =
            serde_json::to_vec(&Request::new(ApiCommand::Status)).map_err(|e| e.to_string())?;
        req.push(b'\n');
        s.write_all(&req).map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        s.take(4 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| format!("read: {e}"))?;
        match serde_json::from_slice::<Response>(&buf) {
            Ok(Response::Status(st)) => Ok(st),
            Ok(Response::Error { message, .. }) => {
                Err(format!("vipd answered an error: {message}"))
            }
            Ok(Response::Done { message, .. }) => {
                Err(format!("vipd answered a status request with: {message}"))
            }
            Ok(Response::Watching { .. }) => {
                Err("vipd answered a status request as a watch".to_string())
            }
            Err(e) => Err(format!(
                "unparsable answer ({e}): {}",
                String::from_utf8_lossy(&buf)
            )),
        }
    }

    /// The status, which must be available.
    pub fn status(&self) -> Status {
        match self.try_status() {
            Ok(s) => s,
            Err(e) => panic!(
                "status of vipd on {}: {e}\nlog:\n{}",
                self.name,
                self.vipd_log()
            ),
        }
    }

    /// The first instance's state, if vipd answers.
    pub fn state(&self) -> Option<State> {
        self.try_status()
            .ok()
            .and_then(|s| s.instances.first().map(|i| i.state))
    }

    /// Runs `vipctl --socket <this host's socket> <args>` in the namespace.
    pub fn vipctl(&self, args: &[&str]) -> Output {
        let mut c = self.command(bins::vipctl());
        c.arg("--socket").arg(self.control_socket()).args(args);
        run(&mut c)
    }

    /// `vipctl status --json`, parsed.
    pub fn vipctl_status_json(&self) -> Status {
        match self.try_vipctl_status_json() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// `vipctl status --json`, parsed, or why not.
    pub fn try_vipctl_status_json(&self) -> Result<Status, String> {
        let out = self.vipctl(&["status", "--json"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "vipctl status --json on {} failed ({}): stdout {stdout} stderr {}",
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if let Ok(s) = serde_json::from_str::<Status>(&stdout) {
            return Ok(s);
        }
        match serde_json::from_str::<Response>(&stdout) {
            Ok(Response::Status(s)) => Ok(s),
            other => Err(format!(
                "vipctl status --json printed something that is not a Status ({other:?}):\n{stdout}"
            )),
        }
    }

    /// `vipctl status -v`: the detailed report of every instance (what `vipctl
    /// status` prints for one instance; for several it prints the table).
    pub fn vipctl_status_text(&self) -> String {
        match self.try_vipctl_status_text() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    /// `vipctl status -v` (the detailed report), or why not.
    pub fn try_vipctl_status_text(&self) -> Result<String, String> {
        self.try_vipctl_text(&["status", "-v"])
    }

    /// `vipctl status` as printed: the table when there are several instances.
    pub fn vipctl_status_table(&self) -> String {
        match self.try_vipctl_text(&["status"]) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn try_vipctl_text(&self, args: &[&str]) -> Result<String, String> {
        let out = self.vipctl(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!(
                "vipctl {} on {} failed ({}): stdout {stdout} stderr {}",
                args.join(" "),
                self.name,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(stdout)
    }
}
