//! Running things inside a host's namespace (or the bridge's): one-off commands and
//! line monitors such as `ip monitor` and `tcpdump`.

use std::process::{Command, Output};
use std::time::Duration;

use super::{Host, Lan};
use crate::proc::Monitor;
use crate::util::{run, run_ok};

impl Lan {
    /// `tcpdump -n -tt -l -i <iface> <filter>` in the bridge namespace (`any`: every
    /// bridge and port), returned once it is listening, so nothing after is missed.
    pub fn capture(&self, iface: &str, filter: &str) -> Monitor {
        self.capture_with(iface, &[], filter)
    }

    /// [`Lan::capture`] with further tcpdump options (`-e` for the link-level header,
    /// `-x` for the packet bytes; read them with [`crate::capture`]).
    pub fn capture_with(&self, iface: &str, options: &[&str], filter: &str) -> Monitor {
        let mut c = self.bridge.command("tcpdump");
        c.args(["-i", iface, "-n", "-tt", "-l"])
            .args(options)
            .arg(filter);
        let capture = Monitor::spawn(c, "tcpdump in the bridge namespace");
        let listening = capture
            .wait_for(Duration::from_secs(5), |l| {
                l.stderr && l.text.contains("listening on")
            })
            .is_some();
        assert!(
            listening,
            "tcpdump did not start: {:?}",
            capture.lines().iter().map(|l| &l.text).collect::<Vec<_>>()
        );
        capture
    }
}

impl Host {
    /// A command running `program` in this host's namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        self.ns.command(program)
    }

    /// `args[0] args[1..]` as a command in the namespace; `what` names the caller in
    /// the panic when `args` is empty.
    fn command_line(&self, args: &[&str], what: &str) -> Command {
        let Some((prog, rest)) = args.split_first() else {
            panic!("{what} needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        c
    }

    /// Runs `args[0] args[1..]` in the namespace (`ip netns exec`).
    pub fn exec(&self, args: &[&str]) -> Output {
        run(&mut self.command_line(args, "exec"))
    }

    /// Like [`Host::exec`] but the command must succeed; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        run_ok(&mut self.command_line(args, "exec"))
    }

    /// Starts a line monitor (`ip monitor ...`, `tcpdump ...`) in the namespace.
    pub fn monitor(&self, args: &[&str]) -> Monitor {
        let c = self.command_line(args, "monitor");
        Monitor::spawn(c, &format!("{} on {}", args.join(" "), self.name))
    }

    /// `ip monitor address dev eth0` in the namespace, given 200 ms to subscribe (it
    /// prints nothing until an event). Read its lines with [`crate::events`].
    pub fn address_events(&self) -> Monitor {
        let m = self.monitor(&["ip", "monitor", "address", "dev", "eth0"]);
        std::thread::sleep(Duration::from_millis(200));
        m
    }
}
