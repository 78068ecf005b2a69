//! `vipd`: the VRRP floating-VIP agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vipd::config;

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
    let config = match config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vipd: {e}");
            return ExitCode::from(1);
        }
    };
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
        let report = rt.block_on(vipd::check::host_check(&config));
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
            args.config.display(),
            config.instances.len(),
            if config.instances.len() == 1 { "" } else { "s" }
        );
        return ExitCode::SUCCESS;
    }
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.log_level.as_deref().unwrap_or("info")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match rt.block_on(vipd::daemon::run(args.config, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vipd: {e}");
            ExitCode::from(1)
        }
    }
}
