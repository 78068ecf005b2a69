//! Reading an `auth` key file: one key as hex text (`openssl rand -hex 32 >
//! /etc/vipd/web.key`), in a regular file that only its owner may read or write (mode
//! 0600 or stricter). Anything else is refused with the reason; no message shows any
//! of the key.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use vipd_node::config::{AuthKey, KeyError};

/// The largest key file read: a key is at most 128 hex digits.
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The permission bits a key file must not have: any for group or others.
const GROUP_OR_OTHERS: u32 = 0o077;

/// Why a key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("key file {} is not a regular file", .path.display())]
    NotAFile { path: PathBuf },
    #[error(
        "key file {} is {len} bytes; it should hold one hex key (at most {MAX_KEY_FILE_BYTES} bytes)",
        .path.display()
    )]
    TooLarge { path: PathBuf, len: u64 },
    #[error(
        "key file {} has mode {}; it must be readable by its owner only \
         (0600 or stricter): chmod 600 {}",
        .path.display(), Mode(*.mode), .path.display()
    )]
    Mode { path: PathBuf, mode: u32 },
    #[error("key file {}: {source}", .path.display())]
    Key {
        path: PathBuf,
        #[source]
        source: KeyError,
    },
}

/// Permission bits as `ls` and `chmod` write them: `0644`.
struct Mode(u32);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0 & 0o7777)
    }
}

/// Reads the key in the file at `path`. The file is checked before it is opened (a FIFO
/// would block the open) and again through the open handle (it may have been replaced
/// in between).
pub fn read_key_file(path: &Path) -> Result<AuthKey, KeyFileError> {
    let read = |source: io::Error| KeyFileError::Read {
        path: path.to_owned(),
        source,
    };
    check_metadata(path, &std::fs::metadata(path).map_err(read)?)?;
    let file = std::fs::File::open(path).map_err(read)?;
    check_metadata(path, &file.metadata().map_err(read)?)?;
    let mut text = String::new();
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read)?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            len: text.len() as u64,
        });
    }
    AuthKey::from_hex(&text).map_err(|source| KeyFileError::Key {
        path: path.to_owned(),
        source,
    })
}

fn check_metadata(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyFileError> {
    if !meta.is_file() {
        return Err(KeyFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let mode = meta.permissions().mode();
    if mode & GROUP_OR_OTHERS != 0 {
        return Err(KeyFileError::Mode {
            path: path.to_owned(),
            mode,
        });
    }
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            len: meta.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_show_as_chmod_writes_them() {
        assert_eq!(Mode(0o100644).to_string(), "0644");
        assert_eq!(Mode(0o600).to_string(), "0600");
    }
}
