//! `vipctl import keepalived [FILE]`: a keepalived configuration as vipd YAML.
//!
//! Reading (`source`, `glob`, `tree`) follows keepalived's parser: includes, `@ID`
//! conditionals, `$PARAM` substitution. Converting (`convert`, `instance`, `checks`)
//! builds vipd's shapes (`model`) with notes; `emit` writes them with the notes as
//! comments. Exit status: 0 complete, 1 something needs review, 2 no configuration (an
//! error `file:line: message` on stderr, or `--check-on-this-host` failed).

mod addresses;
mod checks;
mod convert;
mod emit;
mod glob;
mod instance;
mod model;
mod source;
mod tree;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use model::Level;

/// Complete: everything converted as keepalived runs it.
pub const EXIT_COMPLETE: u8 = 0;
/// Converted, with items a person must review (REVIEW comments).
pub const EXIT_REVIEW: u8 = 1;
/// No configuration could be produced.
pub const EXIT_FAILED: u8 = 2;

/// keepalived's default configuration file.
pub const DEFAULT_FILE: &str = "/etc/keepalived/keepalived.conf";

/// What the command was asked.
pub struct Options {
    pub file: PathBuf,
    /// keepalived's config id for `@ID` lines; default: this host's name up to the first dot.
    pub host: Option<String>,
    /// Run `vipd --config <tmp> --check` on the result.
    pub check_on_this_host: bool,
    /// The vipd binary for the check.
    pub vipd: PathBuf,
}

/// keepalived's default config id: the node name up to its first dot.
fn this_host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    name.trim().split('.').next().unwrap_or("").to_string()
}

/// Runs the import; returns the exit status.
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let host = opts.host.clone().unwrap_or_else(this_host);
    let shown = opts.file.to_string_lossy().into_owned();
    let (tokens, read_notes) = match source::read(&opts.file, &shown, &host) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_FAILED;
        }
    };
    let stmts = match tree::build(&tokens) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_FAILED;
        }
    };
    let mut cfg = match convert::convert(&stmts, &shown, &host) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return EXIT_FAILED;
        }
    };
    for n in read_notes {
        cfg.notes.review(&n.loc, n.message);
    }
    let yaml = emit::yaml(&cfg);
    if opts.check_on_this_host {
        match check_here(&yaml, &opts.vipd) {
            // vipd's own words (its warnings, "valid") go to stderr as they are.
            Ok(said) => {
                let _ = writeln!(err, "{}", said.trim_end());
            }
            Err(message) => {
                let _ = writeln!(err, "{message}");
                return EXIT_FAILED;
            }
        }
    }
    if let Err(e) = out.write_all(yaml.as_bytes()).and_then(|()| out.flush()) {
        let _ = writeln!(err, "vipctl: cannot write the output: {e}");
        return EXIT_FAILED;
    }
    let reviews: Vec<_> = cfg
        .all_notes()
        .into_iter()
        .filter(|n| n.level == Level::Review)
        .collect();
    for n in &reviews {
        let _ = writeln!(err, "{}: review: {}", n.loc, n.message);
    }
    if reviews.is_empty() {
        EXIT_COMPLETE
    } else {
        let _ = writeln!(
            err,
            "vipctl: {} item(s) need review (REVIEW comments in the output)",
            reviews.len()
        );
        EXIT_REVIEW
    }
}

/// `vipd --config <tmp> --check` on this host: what it said, an error when it refused.
fn check_here(yaml: &str, vipd: &Path) -> Result<String, String> {
    let path = std::env::temp_dir().join(format!("vipctl-import-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml)
        .map_err(|e| format!("vipctl: cannot write {}: {e}", path.display()))?;
    let result = Command::new(vipd)
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .output();
    let _ = std::fs::remove_file(&path);
    let output = result.map_err(|e| format!("vipctl: cannot run {}: {e}", vipd.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "vipctl: vipd --check refused the converted configuration on this host:\n{}",
            text.trim_end()
        ))
    }
}
