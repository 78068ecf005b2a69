//! `vipd`: the VRRP floating-VIP agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use vipd::config;
use vipd::daemon::{self, Signals};

mod man;

#[derive(Parser, Debug)]
#[command(
    name = "vipd",
    version,
    about = "VRRP (RFC 5798 / RFC 3768) floating virtual IP agent"
)]
struct Args {
    /// Configuration file (YAML).
    #[arg(short, long, default_value = "/etc/vipd/vipd.yaml")]
    config: PathBuf,
    /// Validate the configuration and exit: 0 if valid, 1 if not.
    #[arg(long, conflicts_with = "release")]
    check: bool,
    /// Remove the VIPs that a vipd with this configuration added and left behind (after
    /// a crash or SIGKILL), and nothing else; then exit. Also works when the file no
    /// longer parses: the VIPs the daemon last ran with are remembered beside its
    /// control socket.
    #[arg(long)]
    release: bool,
}

fn main() -> ExitCode {
    if let Some(code) = generate_packaging_files() {
        return code;
    }
    let args = Args::parse();
    // Blocking-pool threads (opening sockets, writing the state file) end after 1 s
    // idle rather than tokio's 10 s: they are seldom needed, and a start-up one would
    // otherwise outlive start-up.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vipd: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if args.check {
        return rt.block_on(check(&args.config));
    }
    if args.release {
        return rt.block_on(release(&args.config));
    }
    rt.block_on(serve(args.config))
}

/// `--check`: the file, then what this host says about it.
async fn check(path: &std::path::Path) -> ExitCode {
    let config = match config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vipd: {e}");
            return ExitCode::from(1);
        }
    };
    let report = vipd::check::host_check(&config).await;
    for w in &report.warnings {
        eprintln!("vipd: warning: {w}");
    }
    if !report.errors.is_empty() {
        for e in &report.errors {
            eprintln!("vipd: error: {e}");
        }
        return ExitCode::from(1);
    }
    println!(
        "vipd: configuration {} is valid ({} instance{})",
        path.display(),
        config.instances.len(),
        if config.instances.len() == 1 { "" } else { "s" }
    );
    ExitCode::SUCCESS
}

/// `--release`: the configuration's VIPs and the remembered ones, those vipd added.
async fn release(path: &std::path::Path) -> ExitCode {
    use vipd::release::{self, Remembered};
    let (mut what, socket) = match config::load(path) {
        Ok(c) => (Remembered::from_config(&c), c.control_socket.clone()),
        Err(e) => {
            eprintln!("vipd: {e}; releasing the VIPs the daemon remembered");
            let text = std::fs::read_to_string(path).unwrap_or_default();
            (
                Remembered::default(),
                release::control_socket_of_broken(&text),
            )
        }
    };
    let file = release::path_for(&socket);
    match Remembered::read(&file) {
        Ok(Some(r)) => what.merge(&r),
        Ok(None) => {}
        Err(e) => eprintln!("vipd: cannot read the release file {e}"),
    }
    if what.instances.is_empty() {
        // Nothing this configuration ever ran (a daemon that never started): done.
        eprintln!(
            "vipd: nothing to release: no valid configuration and no release file {}",
            file.display()
        );
        return ExitCode::SUCCESS;
    }
    let out = match release::release(&what).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("vipd: {e}");
            return ExitCode::from(1);
        }
    };
    for r in &out.removed {
        println!("vipd: released {r}");
    }
    for k in &out.kept {
        println!("vipd: kept {k}: not added by vipd");
    }
    for e in &out.errors {
        eprintln!("vipd: error: {e}");
    }
    if out.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn serve(path: PathBuf) -> ExitCode {
    // Before anything else: the default action of an early SIGHUP (a reload sent while
    // vipd starts) or SIGTERM would kill it on the spot.
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vipd: {e}");
            return ExitCode::from(1);
        }
    };
    let config = match config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vipd: {e}");
            return ExitCode::from(1);
        }
    };
    let (_flush_on_exit, dropped) =
        vipd::logging::init(config.log_level.as_deref().unwrap_or("info"));
    vipd::logging::report_drops(dropped);
    match daemon::run(path, config, signals).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vipd: {e}");
            ExitCode::from(1)
        }
    }
}

/// `vipd --generate-man DIR` (hidden, for packaging): writes the man page `vipd.8` (the
/// clap definitions above, then the sections of `man.rs`) and the bash, zsh and fish
/// completions, generated from the clap definitions, to
/// DIR; `packaging/man` and `packaging/completions` hold the committed copies the
/// Debian package ships (a test keeps them current).
fn generate_packaging_files() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new("--generate-man")) {
        return None;
    }
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("vipd: --generate-man needs a directory");
        return Some(ExitCode::from(2));
    };
    let write = || -> std::io::Result<()> {
        use clap::CommandFactory;
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Args::command();
        let mut page = Vec::new();
        let man = clap_mangen::Man::new(cmd.clone()).section("8");
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        page.extend_from_slice(man::SECTIONS.as_bytes());
        man.render_version_section(&mut page)?;
        std::fs::write(dir.join("vipd.8"), page)?;
        for (shell, file) in [
            (clap_complete::Shell::Bash, "vipd.bash"),
            (clap_complete::Shell::Zsh, "_vipd"),
            (clap_complete::Shell::Fish, "vipd.fish"),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "vipd", &mut out);
            std::fs::write(dir.join(file), out)?;
        }
        Ok(())
    };
    Some(match write() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vipd: {}: {e}", dir.display());
            ExitCode::from(1)
        }
    })
}
