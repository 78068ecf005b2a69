//! `vipctl`: ask a running vipd for its state.
//!
//! ```text
//! vipctl [--socket PATH] status [NAME] [-v|--verbose] [--json]
//! vipctl [--socket PATH] status --cluster [NAME] [--json]
//! vipctl [--socket PATH] maintenance on|off [INSTANCE…]
//! vipctl [--socket PATH] watch [--json] [INSTANCE…]
//! vipctl [--socket PATH] drill [INSTANCE]
//! vipctl import keepalived [FILE] [--host NAME] [--check-on-this-host]
//! ```
//!
//! `maintenance` changes state: vipd allows it to root and to members of its
//! `operator_group`; anyone else gets "permission denied" (exit code 1).
//!
//! Exit codes: 0 success; 1 vipd answered with an error (or an unreadable answer);
//! 2 vipd could not be reached (not running, permission denied, no answer in time).
//! Usage errors exit 2, as usual for clap. `status --cluster` exits 1 when it flags a
//! problem (a peer unreachable included), 2 when this node's vipd cannot be reached.

mod client;
mod cluster;
mod drill;
mod http_get;
mod import;
mod interrupt;
mod man;
mod printable;
mod render;
mod watch;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use vipd_api::{Command, Request, Response, PROTOCOL_VERSION};

use crate::client::ClientError;
use crate::render::{render_status, render_table};

/// Success.
pub(crate) const EXIT_OK: u8 = 0;
/// vipd answered, but with an error.
pub(crate) const EXIT_DAEMON_ERROR: u8 = 1;
/// vipd could not be reached.
pub(crate) const EXIT_UNREACHABLE: u8 = 2;

/// The environment variable naming the control socket when `--socket` is not given.
const SOCKET_ENV: &str = "VIPD_SOCKET";

#[derive(Parser, Debug)]
#[command(name = "vipctl", version, about = "Query a running vipd")]
struct Cli {
    /// The daemon's control socket [env: VIPD_SOCKET] [default: /run/vipd/vipd.sock]
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Show the state of every VRRP instance: a table when there are several, the
    /// detailed report for one (or with NAME or --verbose).
    Status {
        /// Only this instance, in the detailed report.
        name: Option<String>,
        /// The detailed report of every instance instead of the table.
        #[arg(short, long)]
        verbose: bool,
        /// Print the daemon's status as JSON instead of a report (with NAME: only
        /// that instance in `instances`).
        #[arg(long)]
        json: bool,
        /// The whole cluster: this node and every peer (`cluster_peers:` in vipd's
        /// configuration, read over their metrics listeners, 1 s each, in parallel) in
        /// one table, with what is wrong flagged under it (a node unreachable, a VIP on
        /// two nodes, no master, settings that differ between nodes). Exit code 1 when
        /// something is flagged.
        #[arg(long, conflicts_with = "verbose")]
        cluster: bool,
    },
    /// Maintenance on: a master hands its VIPs over without a gap and the instances
    /// stay backup (across reloads and restarts) until maintenance is off. Every
    /// instance when none is named. Needs root or the configured operator_group.
    Maintenance {
        #[arg(value_enum)]
        mode: OnOff,
        /// Instances to change (default: every instance).
        instances: Vec<String>,
    },
    /// A rehearsed failover, timed, on the master: checks that a healthy backup
    /// answers (`status --cluster`; refuses and changes nothing otherwise), turns
    /// maintenance on (make-before-break handover), confirms the backup is master with
    /// the VIPs, turns maintenance off and waits for the VIPs to come back (or reports
    /// that they stay). Every wait is bounded; on a failure, or on Ctrl-C, maintenance is
    /// turned off again. Needs root or the configured operator_group. Exit 1 when
    /// refused, failed or interrupted.
    Drill {
        /// The instance to drill (default: the only one).
        instance: Option<String>,
    },
    /// Follow what vipd does, one line per event as it happens: state changes, health
    /// check changes, maintenance on/off, reloads and dropped packets (summarised at
    /// most once a second). Runs until vipd stops (exit 0) or goes away (exit 2), or
    /// Ctrl-C.
    Watch {
        /// Print the daemon's JSON lines as they come (the answer first).
        #[arg(long)]
        json: bool,
        /// Instances to watch (default: every instance). Reloads and checks concern
        /// no one instance and always come.
        instances: Vec<String>,
    },
    /// Convert another agent's configuration into vipd's YAML (printed on stdout).
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
}

#[derive(Subcommand, Debug)]
enum ImportFrom {
    /// Read a keepalived.conf (with its includes, $PARAMETERS and @ID conditionals) and
    /// print a vipd configuration that behaves the same on the wire, with comments. What
    /// cannot be converted is named in REVIEW comments (file:line and what to do). Exit
    /// status: 0 complete, 1 needs review, 2 could not be produced (`file:line: message`).
    Keepalived {
        /// The keepalived configuration.
        #[arg(default_value = import::DEFAULT_FILE)]
        file: PathBuf,
        /// keepalived's config id for `@ID` lines (keepalived -i) [default: this host's
        /// name up to the first dot].
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
        /// Also run `vipd --config <the result> --check` here; exit 2 when it refuses.
        #[arg(long)]
        check_on_this_host: bool,
        /// The vipd binary for --check-on-this-host.
        #[arg(long, value_name = "PATH", default_value = "vipd")]
        vipd: PathBuf,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnOff {
    On,
    Off,
}

fn main() -> ExitCode {
    if let Some(code) = generate_packaging_files() {
        return code;
    }
    let cli = Cli::parse();
    let env_socket = std::env::var_os(SOCKET_ENV);
    // Colour only for a person at a terminal who did not opt out (no-color.org).
    let colour = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let code = run(
        &cli,
        env_socket,
        colour,
        client::TIMEOUT,
        &mut io::stdout().lock(),
        &mut io::stderr().lock(),
    );
    ExitCode::from(code)
}

/// `--socket`, else `$VIPD_SOCKET` if set and non-empty, else the default.
fn socket_path(cli: &Cli, env_socket: Option<OsString>) -> PathBuf {
    cli.socket
        .clone()
        .or_else(|| env_socket.filter(|s| !s.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(vipd_api::DEFAULT_SOCKET))
}

/// Runs one command, writing the result to `out` and problems to `err`; returns the
/// exit code.
fn run(
    cli: &Cli,
    env_socket: Option<OsString>,
    colour: bool,
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let socket = socket_path(cli, env_socket);
    let (name, verbose, json, cluster) = match &cli.command {
        Cmd::Status {
            name,
            verbose,
            json,
            cluster,
        } => (name.as_deref(), *verbose, *json, *cluster),
        Cmd::Maintenance { mode, instances } => {
            let command = Command::Maintenance {
                on: *mode == OnOff::On,
                instances: instances.clone(),
            };
            return mutate(&socket, command, timeout, out, err);
        }
        Cmd::Drill { instance } => {
            return drill::drill(&socket, instance.as_deref(), timeout, out, err);
        }
        Cmd::Import {
            from:
                ImportFrom::Keepalived {
                    file,
                    host,
                    check_on_this_host,
                    vipd,
                },
        } => {
            let opts = import::Options {
                file: file.clone(),
                host: host.clone(),
                check_on_this_host: *check_on_this_host,
                vipd: vipd.clone(),
            };
            return import::run(&opts, out, err);
        }
        Cmd::Watch { json, instances } => {
            return watch::watch(&socket, instances.clone(), *json, timeout, out, err);
        }
    };
    let response = match client::call(&socket, &Request::new(Command::Status), timeout) {
        Ok(r) => r,
        Err(e) => return report(err, &e),
    };
    let status = match response {
        Response::Status(status) => status,
        Response::Error { message, .. } => {
            let _ = writeln!(err, "vipctl: vipd refused the request: {message}");
            return EXIT_DAEMON_ERROR;
        }
        Response::Done { .. } | Response::Watching { .. } => {
            let _ = writeln!(err, "vipctl: vipd answered a status request with no status");
            return EXIT_DAEMON_ERROR;
        }
    };
    if status.v != PROTOCOL_VERSION {
        let _ = writeln!(
            err,
            "vipctl: warning: vipd speaks protocol version {}, this vipctl speaks {}",
            status.v, PROTOCOL_VERSION
        );
    }
    if cluster {
        return cluster_status(status, name, json, cluster::PEER_TIMEOUT, out, err);
    }
    let mut status = status;
    if let Some(name) = name {
        status.instances.retain(|i| i.name == name);
        status.announced.retain(|a| a.name == name);
        if status.instances.is_empty() && status.announced.is_empty() {
            let _ = writeln!(err, "vipctl: vipd has no instance named `{name}`");
            return EXIT_DAEMON_ERROR;
        }
    }
    let text = if json {
        match serde_json::to_string_pretty(&status) {
            Ok(s) => s + "\n",
            Err(e) => {
                let _ = writeln!(err, "vipctl: cannot encode the status as JSON: {e}");
                return EXIT_DAEMON_ERROR;
            }
        }
    } else if status.instances.len() + status.announced.len() > 1 && !verbose {
        render_table(&status, colour)
    } else {
        render_status(&status)
    };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `vipctl status | head` closing the pipe early is not an error.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "vipctl: cannot write the output: {e}");
            EXIT_DAEMON_ERROR
        }
        _ => EXIT_OK,
    }
}

/// `status --cluster`: every node's status, the table (or JSON), the problems.
fn cluster_status(
    here: vipd_api::Status,
    name: Option<&str>,
    json: bool,
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let peers = here.peers.clone();
    if peers.is_empty() {
        let _ = writeln!(
            err,
            "vipctl: warning: vipd knows no peers (`cluster_peers:` in its configuration, or \
             unicast peers with `metrics:`): only this node is shown"
        );
    }
    let mut nodes = cluster::gather(here, &peers, timeout);
    if let Some(name) = name {
        for n in &mut nodes {
            if let Ok(s) = &mut n.status {
                s.instances.retain(|i| i.name == name);
                s.announced.retain(|a| a.name == name);
            }
        }
    }
    let problems = cluster::problems(&nodes);
    let text = if json {
        match serde_json::to_string_pretty(&cluster::to_json(&nodes, &problems)) {
            Ok(s) => s + "\n",
            Err(e) => {
                let _ = writeln!(err, "vipctl: cannot encode the cluster as JSON: {e}");
                return EXIT_DAEMON_ERROR;
            }
        }
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        cluster::render(&nodes, &problems, now)
    };
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            let _ = writeln!(err, "vipctl: cannot write the output: {e}");
            EXIT_DAEMON_ERROR
        }
        _ if problems.is_empty() => EXIT_OK,
        _ => EXIT_DAEMON_ERROR,
    }
}

/// Sends a mutating command; prints what vipd did, or why it refused.
fn mutate(
    socket: &std::path::Path,
    command: Command,
    timeout: Duration,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match client::call(socket, &Request::new(command), timeout) {
        Err(e) => report(err, &e),
        Ok(Response::Done { message, .. }) => {
            let _ = writeln!(out, "{message}");
            EXIT_OK
        }
        Ok(Response::Error { message, .. }) => {
            let _ = writeln!(err, "vipctl: vipd refused the request: {message}");
            EXIT_DAEMON_ERROR
        }
        Ok(Response::Status(_) | Response::Watching { .. }) => {
            let _ = writeln!(err, "vipctl: vipd answered with a status, not a result");
            EXIT_DAEMON_ERROR
        }
    }
}

pub(crate) fn report(err: &mut dyn Write, e: &ClientError) -> u8 {
    let _ = writeln!(err, "vipctl: {e}");
    if e.is_unreachable() {
        EXIT_UNREACHABLE
    } else {
        EXIT_DAEMON_ERROR
    }
}

/// `vipctl --generate-man DIR` (hidden, for packaging): writes the man page `vipctl.8` (the
/// clap definitions above, every command's included, then the sections of `man.rs`) and
/// the bash, zsh and fish completions, generated from the clap definitions, to
/// DIR; `packaging/man` and `packaging/completions` hold the committed copies the
/// Debian package ships (a test keeps them current).
fn generate_packaging_files() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new("--generate-man")) {
        return None;
    }
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("vipctl: --generate-man needs a directory");
        return Some(ExitCode::from(2));
    };
    let write = || -> std::io::Result<()> {
        use clap::CommandFactory;
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Cli::command();
        let mut page = Vec::new();
        let man = clap_mangen::Man::new(cmd.clone()).section("8");
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        page.extend_from_slice(man::commands(&cmd).as_bytes());
        page.extend_from_slice(man::SECTIONS.as_bytes());
        man.render_version_section(&mut page)?;
        std::fs::write(dir.join("vipctl.8"), page)?;
        for (shell, file) in [
            (clap_complete::Shell::Bash, "vipctl.bash"),
            (clap_complete::Shell::Zsh, "_vipctl"),
            (clap_complete::Shell::Fish, "vipctl.fish"),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "vipctl", &mut out);
            std::fs::write(dir.join(file), out)?;
        }
        Ok(())
    };
    Some(match write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vipctl: {}: {e}", dir.display());
            ExitCode::from(1)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::net::UnixListener;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::{self, JoinHandle};

    use crate::render::tests::sample_status;

    const SHORT: Duration = Duration::from_millis(300);

    /// A socket path under the temp dir, removed on drop.
    struct TempSocket(PathBuf);

    impl TempSocket {
        fn new(tag: &str) -> TempSocket {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let name = format!("vipctl-test-{}-{tag}-{n}.sock", std::process::id());
            let path = std::env::temp_dir().join(name);
            let _ = std::fs::remove_file(&path);
            TempSocket(path)
        }
    }

    impl Drop for TempSocket {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// Accepts one connection, reads one line, answers with `reply` (if any) and
    /// returns the bytes it read.
    fn serve_once(listener: UnixListener, reply: Option<String>) -> JoinHandle<Vec<u8>> {
        thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request = Vec::new();
            reader
                .read_until(b'\n', &mut request)
                .expect("read request");
            if let Some(reply) = reply {
                let mut stream = stream;
                stream.write_all(reply.as_bytes()).expect("write reply");
                stream.write_all(b"\n").expect("write newline");
            } else {
                // Hold the connection open without answering.
                thread::sleep(SHORT * 3);
            }
            request
        })
    }

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).expect("valid arguments")
    }

    /// Runs `vipctl <args>` against `socket`; returns (exit code, stdout, stderr).
    fn run_against(socket: &Path, args: &[&str]) -> (u8, String, String) {
        let mut argv = vec!["vipctl", "--socket", socket.to_str().expect("utf-8 path")];
        argv.extend_from_slice(args);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(&cli(&argv), None, false, SHORT, &mut out, &mut err);
        let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
        (code, text(out), text(err))
    }

    fn status_reply() -> String {
        serde_json::to_string(&Response::Status(sample_status())).expect("encode")
    }

    #[test]
    fn status_names_an_announced_instance_too() {
        let mut s = sample_status();
        s.announced.push(vipd_api::AnnouncedStatus {
            name: "anycast".into(),
            interface: "vipd0".into(),
            state: "announcing".into(),
            reason: "checks pass".into(),
            in_state_s: 5.0,
            transitions: 1,
            weight: 0,
            withdraw_below: 0,
            drain_ms: 2000,
            drain_left_s: None,
            vips: vec![vipd_api::VipStatus {
                address: "192.0.2.80/32".into(),
                present: true,
            }],
            tracking: Vec::new(),
            maintenance: false,
        });
        let reply = serde_json::to_string(&Response::Status(s)).expect("encode");
        let sock = TempSocket::new("announced");
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(reply));
        let (code, out, err) = run_against(&sock.0, &["status", "anycast"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_OK, "{err}");
        assert!(out.contains("       announce: anycast\n"), "{out}");
        assert!(
            out.contains("          state: announcing (checks pass)\n"),
            "{out}"
        );
        assert!(!out.contains("instance: web\n"), "{out}");
    }

    #[test]
    fn maintenance_sends_the_command_and_prints_what_was_done_or_why_not() {
        let sock = TempSocket::new("maint");
        let done = serde_json::to_string(&Response::Done {
            v: 1,
            message: "maintenance on for web".into(),
        })
        .expect("encode");
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(done));
        let (code, out, err) = run_against(&sock.0, &["maintenance", "on", "web"]);
        let request = server.join().expect("server thread");
        assert_eq!(
            request,
            b"{\"v\":1,\"command\":\"maintenance\",\"on\":true,\"instances\":[\"web\"]}\n"
        );
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "maintenance on for web\n", "")
        );
        drop(sock);

        let sock = TempSocket::new("maint-denied");
        let denied = serde_json::to_string(&Response::Error {
            v: 1,
            message: "permission denied: maintenance changes are allowed to root".into(),
        })
        .expect("encode");
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(denied));
        let (code, out, err) = run_against(&sock.0, &["maintenance", "off"]);
        let request = server.join().expect("server thread");
        assert_eq!(
            request,
            b"{\"v\":1,\"command\":\"maintenance\",\"on\":false}\n"
        );
        assert_eq!(code, EXIT_DAEMON_ERROR);
        assert!(out.is_empty());
        assert!(err.contains("permission denied"), "{err}");
        assert!(Cli::try_parse_from(["vipctl", "maintenance", "maybe"]).is_err());
    }

    #[test]
    fn status_sends_one_request_line_and_prints_the_table_for_several_instances() {
        let sock = TempSocket::new("status");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(status_reply()),
        );
        let (code, out, err) = run_against(&sock.0, &["status"]);
        let request = server.join().expect("server thread");
        assert_eq!(request, b"{\"v\":1,\"command\":\"status\"}\n");
        assert_eq!(code, EXIT_OK, "stderr: {err}");
        assert_eq!(err, "");
        // Two instances: the table, without colour (not a terminal here).
        assert_eq!(out, render_table(&sample_status(), false));
        assert!(out.starts_with("INSTANCE "), "{out}");
    }

    #[test]
    fn verbose_or_a_name_gives_the_detailed_report() {
        let sock = TempSocket::new("verbose");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(status_reply()),
        );
        let (code, out, _) = run_against(&sock.0, &["status", "-v"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_OK);
        assert_eq!(out, render_status(&sample_status()));
        assert!(out.contains("\n          state: master (master_down_timer)\n"));

        let sock = TempSocket::new("name");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(status_reply()),
        );
        let (code, out, _) = run_against(&sock.0, &["status", "web6"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_OK);
        let mut only = sample_status();
        only.instances.retain(|i| i.name == "web6");
        assert_eq!(out, render_status(&only));
        assert!(!out.contains("instance: web\n"), "{out}");

        let sock = TempSocket::new("noname");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(status_reply()),
        );
        let (code, out, err) = run_against(&sock.0, &["status", "nope"]);
        server.join().expect("server thread");
        assert_eq!((code, out.as_str()), (EXIT_DAEMON_ERROR, ""));
        assert_eq!(err, "vipctl: vipd has no instance named `nope`\n");
    }

    #[test]
    fn status_json_prints_the_status_object() {
        let sock = TempSocket::new("json");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(status_reply()),
        );
        let (code, out, err) = run_against(&sock.0, &["status", "--json"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_OK, "stderr: {err}");
        let back: vipd_api::Status = serde_json::from_str(&out).expect("stdout is a Status");
        assert_eq!(back, sample_status());
        assert!(
            out.contains("\n  \"host\": \"node-a\",\n"),
            "not pretty: {out}"
        );
    }

    #[test]
    fn daemon_error_goes_to_stderr_with_exit_1() {
        let sock = TempSocket::new("error");
        let reply = Response::Error {
            v: 1,
            message: "unsupported protocol version 7".into(),
        };
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(serde_json::to_string(&reply).expect("encode")),
        );
        let (code, out, err) = run_against(&sock.0, &["status"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_DAEMON_ERROR);
        assert_eq!(out, "");
        assert_eq!(
            err,
            "vipctl: vipd refused the request: unsupported protocol version 7\n"
        );
    }

    #[test]
    fn garbage_answer_is_exit_1() {
        let sock = TempSocket::new("garbage");
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some("hello".into()),
        );
        let (code, _, err) = run_against(&sock.0, &["status"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_DAEMON_ERROR);
        assert!(err.starts_with("vipctl: vipd sent an answer this vipctl cannot read"));
    }

    #[test]
    fn missing_socket_means_not_running_exit_2() {
        let sock = TempSocket::new("absent");
        let (code, out, err) = run_against(&sock.0, &["status"]);
        assert_eq!(code, EXIT_UNREACHABLE);
        assert_eq!(out, "");
        assert_eq!(
            err,
            format!(
                "vipctl: vipd is not running (no control socket at {})\n",
                sock.0.display()
            )
        );
    }

    #[test]
    fn stale_socket_means_connection_refused_exit_2() {
        let sock = TempSocket::new("stale");
        drop(UnixListener::bind(&sock.0).expect("bind"));
        let (code, _, err) = run_against(&sock.0, &["status", "--json"]);
        assert_eq!(code, EXIT_UNREACHABLE);
        assert_eq!(
            err,
            format!(
                "vipctl: vipd is not running (connection refused at {})\n",
                sock.0.display()
            )
        );
    }

    #[test]
    fn silent_daemon_times_out_exit_2() {
        let sock = TempSocket::new("silent");
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), None);
        let (code, _, err) = run_against(&sock.0, &["status"]);
        server.join().expect("server thread");
        assert_eq!(code, EXIT_UNREACHABLE);
        assert!(
            err.starts_with("vipctl: vipd did not answer within"),
            "{err}"
        );
    }

    #[test]
    fn socket_comes_from_flag_then_env_then_default() {
        let env = Some(OsString::from("/tmp/from-env.sock"));
        assert_eq!(
            socket_path(
                &cli(&["vipctl", "--socket", "/a.sock", "status"]),
                env.clone()
            ),
            PathBuf::from("/a.sock")
        );
        assert_eq!(
            socket_path(
                &cli(&["vipctl", "status", "--socket", "/b.sock"]),
                env.clone()
            ),
            PathBuf::from("/b.sock")
        );
        assert_eq!(
            socket_path(&cli(&["vipctl", "status"]), env),
            PathBuf::from("/tmp/from-env.sock")
        );
        assert_eq!(
            socket_path(&cli(&["vipctl", "status"]), Some(OsString::new())),
            PathBuf::from(vipd_api::DEFAULT_SOCKET)
        );
        assert_eq!(
            socket_path(&cli(&["vipctl", "status"]), None),
            PathBuf::from(vipd_api::DEFAULT_SOCKET)
        );
    }

    #[test]
    fn watch_prints_events_until_the_end_record_and_exits_0() {
        let sock = TempSocket::new("watch");
        let ack = serde_json::to_string(&Response::Watching {
            v: 1,
            instances: vec![vipd_api::WatchStart {
                name: "web".into(),
                state: vipd_api::State::Backup,
                priority: 100,
                maintenance: false,
            }],
        })
        .expect("encode");
        let changed = r#"{"v":1,"time":"2026-12-01T02:30:05.123Z","kind":"state_changed","instance":"web","from":"backup","to":"master","reason":"master_down_timer","priority":100}"#;
        let end =
            r#"{"v":1,"time":"2026-12-01T02:30:06.000Z","kind":"end","reason":"vipd is stopping"}"#;
        let reply = format!(
            "{ack}
{changed}
{end}"
        );
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(reply));
        let (code, out, err) = run_against(&sock.0, &["watch", "web"]);
        assert_eq!(code, EXIT_OK, "{err}");
        assert_eq!(
            out,
            concat!(
                "watching web: backup, priority 100\n",
                "2026-12-01T02:30:05.123Z  web  backup -> master (master_down_timer, priority 100)\n",
                "2026-12-01T02:30:06.000Z  -  stream ended: vipd is stopping\n",
            )
        );
        let request = server.join().expect("server");
        assert_eq!(
            String::from_utf8(request).expect("utf-8"),
            "{\"v\":1,\"command\":\"watch\",\"instances\":[\"web\"]}\n"
        );
    }

    #[test]
    fn watch_json_prints_the_raw_lines_and_an_unended_stream_is_exit_2() {
        let sock = TempSocket::new("watch-json");
        let ack = r#"{"kind":"watching","v":1,"instances":[]}"#;
        let missed = r#"{"v":1,"time":"2026-12-01T02:30:05.123Z","kind":"missed","count":3}"#;
        let reply = format!(
            "{ack}
{missed}"
        );
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(reply));
        let (code, out, err) = run_against(&sock.0, &["watch", "--json"]);
        server.join().expect("server");
        assert_eq!(code, EXIT_UNREACHABLE);
        assert_eq!(
            out,
            format!(
                "{ack}
{missed}
"
            )
        );
        assert!(err.contains("closed the stream without ending it"), "{err}");
    }

    #[test]
    fn watch_refused_is_exit_1() {
        let sock = TempSocket::new("watch-refused");
        let refused = r#"{"kind":"error","v":1,"message":"no instance named db"}"#;
        let server = serve_once(
            UnixListener::bind(&sock.0).expect("bind"),
            Some(refused.into()),
        );
        let (code, out, err) = run_against(&sock.0, &["watch", "db"]);
        server.join().expect("server");
        assert_eq!(code, EXIT_DAEMON_ERROR);
        assert!(out.is_empty());
        assert!(err.contains("no instance named db"), "{err}");
    }

    #[test]
    fn cli_shape() {
        assert!(Cli::try_parse_from(["vipctl"]).is_err());
        assert!(Cli::try_parse_from(["vipctl", "status", "--bogus"]).is_err());
        let c = cli(&["vipctl", "status", "--json"]);
        assert!(matches!(c.command, Cmd::Status { json: true, .. }));
    }

    /// Serves one HTTP answer with `body` on a loopback port; returns the address.
    fn http_peer(body: String) -> (std::net::SocketAddr, JoinHandle<()>) {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("address");
        let t = thread::spawn(move || {
            let (mut s, _) = l.accept().expect("accept");
            let mut req = [0u8; 2048];
            let _ = s.read(&mut req).expect("read");
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).expect("write");
            s.write_all(body.as_bytes()).expect("write");
        });
        (addr, t)
    }

    #[test]
    fn status_cluster_asks_the_daemon_then_every_peer_and_exits_1_on_a_problem() {
        // Peer b answers as a backup of web without the VIP; peer c's port is closed.
        let mut b = sample_status();
        b.host = "node-b".into();
        b.instances.truncate(1);
        b.instances[0].state = vipd_api::State::Backup;
        for v in &mut b.instances[0].vips {
            v.present = false;
        }
        let (b_addr, b_thread) = http_peer(serde_json::to_string(&b).expect("encode"));
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let c_addr = closed.local_addr().expect("address");
        drop(closed);
        let mut here = sample_status();
        here.instances.truncate(1);
        here.peers = vec![
            vipd_api::PeerInfo {
                name: Some("b".into()),
                address: b_addr.to_string(),
            },
            vipd_api::PeerInfo {
                name: None,
                address: c_addr.to_string(),
            },
        ];
        let reply = serde_json::to_string(&Response::Status(here)).expect("encode");
        let sock = TempSocket::new("cluster");
        let server = serve_once(UnixListener::bind(&sock.0).expect("bind"), Some(reply));
        let (code, out, err) = run_against(&sock.0, &["status", "--cluster", "--json"]);
        assert_eq!(
            server.join().expect("server"),
            b"{\"v\":1,\"command\":\"status\"}\n"
        );
        b_thread.join().expect("peer b");
        assert_eq!(code, EXIT_DAEMON_ERROR, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(v["ok"], serde_json::json!(false));
        let nodes: Vec<(&str, bool)> = v["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| (n["node"].as_str().unwrap_or("?"), n["status"].is_object()))
            .collect();
        let c_name = c_addr.to_string();
        assert_eq!(
            nodes,
            vec![("node-a", true), ("b", true), (c_name.as_str(), false)]
        );
        let kinds: Vec<&str> = v["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .filter_map(|p| p["kind"].as_str())
            .collect();
        // (sample_status's master lacks one of its two VIPs: flagged too.)
        assert_eq!(kinds, vec!["unreachable", "vip_missing"], "{out}");
        let first = v["problems"][0]["message"].as_str().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{c_name} cannot be reached: connection refused")),
            "{first}"
        );
        assert!(
            v["nodes"][2]["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("connection refused")),
            "{out}"
        );
    }
}
