//! The file check (keepalived's `track_file`): an integer read from a file. A missing
//! file reads as 0 (nothing asked for: the check is up); an unreadable one, one that
//! holds no integer, or anything but a regular file at the path (a symbolic link, a
//! FIFO, a device: [`super::safe_file`]) reads as 0 with the reason (status shows the
//! check down; the instances only ever see the value, as with keepalived). The reason
//! never quotes the file.

use std::path::{Path, PathBuf};

use vipd_node::CheckResult;

use super::safe_file::{open_regular, Refused};

/// The most read of the file: an integer and a newline.
const MAX_BYTES: usize = 64;

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
    let zero = |why: String| CheckResult::Value {
        value: 0,
        note: Some(format!("{}: {why}", path.display())),
    };
    // A symlink, a FIFO or a device at the path is refused, never followed or waited on.
    let bytes = match open_regular(path).and_then(|f| f.read_at_most(MAX_BYTES)) {
        Ok(Some(b)) => b,
        Ok(None) => return zero("not an integer (longer than 64 bytes)".into()),
        Err(Refused::Missing) => {
            return CheckResult::Value {
                value: 0,
                note: None,
            }
        }
        Err(e) => return zero(e.to_string()),
    };
    // Never quoted: the file could hold anything (status, metrics and the log show notes).
    let text = String::from_utf8_lossy(&bytes);
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(value) => CheckResult::Value { value, note: None },
        Err(_) if t.is_empty() => zero("empty".into()),
        Err(_) => zero("not an integer".into()),
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

    #[test]
    fn contents_are_never_echoed_and_only_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("vipd-file-safe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let secret = dir.join("web.key");
        std::fs::write(&secret, "SECRETKEY0123456789\n").expect("write");
        let note = |r: CheckResult| match r {
            CheckResult::Value {
                value: 0,
                note: Some(n),
            } => n,
            other => panic!("{other:?}"),
        };
        // Not an integer: said so, the text not quoted.
        let n = note(read_value(&secret));
        assert!(n.ends_with("not an integer"), "{n}");
        assert!(!n.contains("SECRET"), "{n}");
        // A symlink to it: refused, not followed.
        let link = dir.join("drain");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&secret, &link).expect("symlink");
        let n = note(read_value(&link));
        assert!(n.contains("symbolic link"), "{n}");
        assert!(!n.contains("SECRET"), "{n}");
        // A directory and a device are no files to read a value from.
        assert!(note(read_value(&dir)).contains("directory"));
        assert!(note(read_value(Path::new("/dev/zero"))).contains("device"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_fifo_is_a_failed_check_at_once() {
        let dir = std::env::temp_dir().join(format!("vipd-file-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let fifo = dir.join("drain");
        let _ = std::fs::remove_file(&fifo);
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .expect("mkfifo");
        // Nobody ever writes: an open that waits for a writer would never return.
        let (tx, rx) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(read_value(&path));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(2))
            .expect("reading a FIFO hung");
        assert!(
            matches!(&r, CheckResult::Value { value: 0, note: Some(n) } if n.contains("FIFO")),
            "{r:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
