//! The file check (keepalived's `track_file`): an integer read from a file. A missing
//! file reads as 0 (nothing asked for: the check is up); an unreadable one, or one
//! that holds no integer, reads as 0 with the reason (status shows the check down; the
//! instances only ever see the value, as with keepalived).

use std::io::Read;
use std::path::{Path, PathBuf};

use vipd_node::CheckResult;

/// The most read of the file: an integer and a newline.
const MAX_BYTES: u64 = 64;

/// Reads the file on a blocking thread (a hung file system hangs that thread, not a
/// runtime); the caller bounds it with the timeout.
pub(super) async fn read(path: &Path) -> CheckResult {
    let p: PathBuf = path.to_owned();
    match tokio::task::spawn_blocking(move || read_value(&p)).await {
        Ok(r) => r,
        Err(e) => CheckResult::Error(format!("reading {}: {e}", path.display())),
    }
}

/// The value in the file at `path`.
pub fn read_value(path: &Path) -> CheckResult {
    let zero = |note: String| CheckResult::Value {
        value: 0,
        note: Some(note),
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return CheckResult::Value {
                value: 0,
                note: None,
            }
        }
        Err(e) => return zero(format!("cannot open {}: {e}", path.display())),
    };
    let mut text = String::new();
    if let Err(e) = file.take(MAX_BYTES).read_to_string(&mut text) {
        return zero(format!("cannot read {}: {e}", path.display()));
    }
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(value) => CheckResult::Value { value, note: None },
        Err(_) if t.is_empty() => zero(format!("{} is empty", path.display())),
        Err(_) => zero(format!("{} holds no integer: {t:?}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        let dir = std::env::temp_dir().join(format!("vipd-file-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("drain");
        let value = |text: &str| {
            std::fs::write(&f, text).expect("write");
            read_value(&f)
        };
        assert_eq!(
            value("-254\n"),
            CheckResult::Value {
                value: -254,
                note: None
            }
        );
        assert_eq!(
            value(" 10 "),
            CheckResult::Value {
                value: 10,
                note: None
            }
        );
        assert!(matches!(
            value("drain"),
            CheckResult::Value {
                value: 0,
                note: Some(_)
            }
        ));
        assert!(matches!(
            value(""),
            CheckResult::Value {
                value: 0,
                note: Some(_)
            }
        ));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            read_value(&f),
            CheckResult::Value {
                value: 0,
                note: None
            }
        );
    }
}
