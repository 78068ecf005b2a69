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
        let mut c = self.bridge.command("tcpdump");
        c.args(["-i", iface, "-n", "-tt", "-l", filter]);
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

    /// Runs `args[0] args[1..]` in the namespace (`ip netns exec`).
    pub fn exec(&self, args: &[&str]) -> Output {
        let Some((prog, rest)) = args.split_first() else {
            panic!("exec needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        run(&mut c)
    }

    /// Like [`Host::exec`] but the command must succeed; returns stdout.
    pub fn exec_ok(&self, args: &[&str]) -> String {
        let Some((prog, rest)) = args.split_first() else {
            panic!("exec needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        run_ok(&mut c)
    }

    /// Starts a line monitor (`ip monitor ...`, `tcpdump ...`) in the namespace.
    pub fn monitor(&self, args: &[&str]) -> Monitor {
        let Some((prog, rest)) = args.split_first() else {
            panic!("monitor needs a program");
        };
        let mut c = self.command(prog);
        c.args(rest);
        Monitor::spawn(c, &format!("{} on {}", args.join(" "), self.name))
    }
}
