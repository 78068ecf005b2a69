//! Opening a file a check reads (the file check's value, a process check's pidfile) so
//! that what sits at the path cannot turn the check against vipd: the final component
//! is not followed if it is a symbolic link (O_NOFOLLOW: a pidfile pointed at a key file
//! is refused, not read), the open never waits (O_NONBLOCK: a FIFO opens at once instead
//! of blocking the thread until a writer comes), the descriptor does not reach a child
//! (O_CLOEXEC) and a terminal does not become vipd's (O_NOCTTY); then fstat(2) on the
//! descriptor (not the path, which may have changed since) must show a regular file.
//! Reasons never quote the file's contents.

use std::fmt;
use std::io::Read;
use std::path::Path;

use rustix::fs::{fstat, open, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Why a file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Nothing at the path.
    Missing,
    /// A symbolic link at the path (not followed).
    Symlink,
    /// Something other than a regular file: a FIFO, a directory, a device, a socket.
    NotRegular(&'static str),
    /// Could not be opened or read.
    Unreadable(Errno),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::Missing => f.write_str("not readable: no such file"),
            Refused::Symlink => f.write_str("is a symbolic link, which vipd does not follow"),
            Refused::NotRegular(what) => write!(f, "is a {what}, not a regular file"),
            Refused::Unreadable(e) => write!(f, "not readable: {}", std::io::Error::from(*e)),
        }
    }
}

/// An open regular file.
pub struct Opened {
    file: std::fs::File,
    /// Its owner.
    pub uid: u32,
    /// Its permission bits.
    pub mode: u32,
}

impl Opened {
    /// At most `max` bytes from the start; `None` if the file holds more.
    pub fn read_at_most(self, max: usize) -> Result<Option<Vec<u8>>, Refused> {
        let mut buf = Vec::with_capacity(max + 1);
        let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        self.file
            .take(limit)
            .read_to_end(&mut buf)
            .map_err(|e| Refused::Unreadable(Errno::from_io_error(&e).unwrap_or(Errno::IO)))?;
        Ok((buf.len() <= max).then_some(buf))
    }
}

/// Opens `path` for reading if a regular file is there.
pub fn open_regular(path: &Path) -> Result<Opened, Refused> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Err(Refused::Missing),
        // open(2): O_NOFOLLOW and the final component is a symbolic link.
        Err(Errno::LOOP) => return Err(Refused::Symlink),
        Err(e) => return Err(Refused::Unreadable(e)),
    };
    let st = fstat(&fd).map_err(Refused::Unreadable)?;
    let what = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => None,
        FileType::Fifo => Some("FIFO"),
        FileType::Directory => Some("directory"),
        FileType::CharacterDevice | FileType::BlockDevice => Some("device"),
        FileType::Socket => Some("socket"),
        _ => Some("special file"),
    };
    if let Some(what) = what {
        return Err(Refused::NotRegular(what));
    }
    Ok(Opened {
        file: std::fs::File::from(fd),
        uid: st.st_uid,
        mode: st.st_mode & 0o7777,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = std::env::temp_dir().join(format!("vipd-safe-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let plain = dir.join("plain");
        std::fs::write(&plain, "12\n").expect("write");
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&plain, &link).expect("symlink");
        assert_eq!(open_regular(&link).err(), Some(Refused::Symlink));
        assert_eq!(
            open_regular(&dir).err(),
            Some(Refused::NotRegular("directory"))
        );
        assert_eq!(
            open_regular(Path::new("/dev/null")).err(),
            Some(Refused::NotRegular("device"))
        );
        assert_eq!(
            open_regular(&dir.join("none")).err(),
            Some(Refused::Missing)
        );
        let opened = open_regular(&plain).expect("a regular file");
        assert_eq!(opened.read_at_most(3), Ok(Some(b"12\n".to_vec())));
        let opened = open_regular(&plain).expect("a regular file");
        assert_eq!(opened.read_at_most(2), Ok(None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
