//! `vipd`: the VRRP floating-VIP agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use vipd::config;
use vipd::daemon::{self, Signals};

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
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
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
