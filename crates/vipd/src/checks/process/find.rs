//! Which processes a process check matches now: the one whose pid is in the pidfile;
//! or every one whose `comm`, `argv[0]` or `argv[0]`'s last component is `name`; or the
//! one in the pidfile if it has that name; with `user`, only those whose real and
//! effective uid are that user's. A zombie does not count. The pidfile is opened as
//! [`crate::checks::safe_file`] says and must not be writable by every user.

use std::path::Path;

use nix::unistd::User;
use vipd_node::config::ProcessMatch;

use crate::checks::safe_file::open_regular;

/// The most processes one check watches (by name).
const MAX_PIDS: usize = 64;
/// The most /proc entries one scan looks at.
const MAX_SCAN: usize = 1_000_000;
/// The most read of a pidfile: a pid and a newline, with room to spare.
const MAX_PIDFILE: usize = 64;

/// What a look found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub pids: Vec<u32>,
    /// Why none was found.
    pub why: Option<String>,
}

/// The processes a process check matches now.
pub fn find_processes(m: &ProcessMatch) -> Found {
    let none = |why: String| Found {
        pids: Vec::new(),
        why: Some(why),
    };
    // Looked up at each look: a user created after vipd started counts from then on.
    let owner = match &m.user {
        None => None,
        Some(name) => match User::from_name(name) {
            Ok(Some(u)) => Some((name.as_str(), u.uid.as_raw())),
            Ok(None) => return none(format!("no user {name}")),
            Err(e) => return none(format!("looking up user {name}: {e}")),
        },
    };
    let of_user = owner
        .map(|(n, _)| format!(" of user {n}"))
        .unwrap_or_default();
    if let Some(pidfile) = &m.pidfile {
        let pid = match read_pidfile(pidfile, owner.map(|(_, uid)| uid)) {
            Ok(p) => p,
            Err(why) => return none(format!("{}: {why}", pidfile.display())),
        };
        if !alive(pid) {
            return none(format!(
                "pid {pid} from {} is not running",
                pidfile.display()
            ));
        }
        if let Some(name) = &m.name {
            if !named(pid, name) {
                return none(format!(
                    "pid {pid} from {} is not {name}",
                    pidfile.display()
                ));
            }
        }
        if let Some((_, uid)) = owner {
            if !runs_as(pid, uid) {
                return none(format!(
                    "pid {pid} from {} is not a process{of_user}",
                    pidfile.display()
                ));
            }
        }
        return Found {
            pids: vec![pid],
            why: None,
        };
    }
    let Some(name) = &m.name else {
        return none("no pidfile and no name to look for".into());
    };
    let me = std::process::id();
    let mut pids = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten().take(MAX_SCAN) {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid != me
                && named(pid, name)
                && owner.is_none_or(|(_, uid)| runs_as(pid, uid))
                && alive(pid)
            {
                pids.push(pid);
                if pids.len() >= MAX_PIDS {
                    break;
                }
            }
        }
    }
    pids.sort_unstable();
    if pids.is_empty() {
        none(format!("no process named {name}{of_user}"))
    } else {
        Found { pids, why: None }
    }
}

/// The pid in a pidfile: a regular file (not a symbolic link, FIFO or device:
/// [`super::safe_file`]) that not every user may write, owned by root or, with a
/// user, by that user. Its contents are never quoted.
fn read_pidfile(path: &Path, owner: Option<u32>) -> Result<u32, String> {
    let file = open_regular(path).map_err(|e| e.to_string())?;
    if file.mode & 0o002 != 0 {
        return Err(format!(
            "writable by every user (mode {:04o}), so not trusted",
            file.mode
        ));
    }
    if let Some(uid) = owner {
        if file.uid != 0 && file.uid != uid {
            return Err(format!(
                "owned by uid {}, neither root nor the check's user",
                file.uid
            ));
        }
    }
    let bytes = file
        .read_at_most(MAX_PIDFILE)
        .map_err(|e| e.to_string())?
        .ok_or("not a pid")?;
    match String::from_utf8_lossy(&bytes).trim().parse::<u32>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err("not a pid".into()),
    }
}

/// Whether `pid`'s real and effective uid are `uid` (/proc/PID/status, `Uid:` real,
/// effective, saved, filesystem).
fn runs_as(pid: u32, uid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let ids: Vec<u32> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.len() >= 2 && ids[0] == uid && ids[1] == uid
}

/// Whether `pid` runs: it exists and is no zombie.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last ')', as comm may hold anything.
    match stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
    {
        Some(state) => state != "Z" && state != "X",
        None => false,
    }
}

/// Whether `pid`'s comm, argv[0] or argv[0]'s last component is `name`.
fn named(pid: u32, name: &str) -> bool {
    if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == name) {
        return true;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let argv0 = String::from_utf8_lossy(argv0);
    argv0 == name || argv0.rsplit('/').next() == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use std::time::Duration;
    #[test]
    fn finds_by_pidfile_and_name_and_not_zombies() {
        let dir = std::env::temp_dir().join(format!("vipd-proc-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        let pidfile = dir.join("sleep.pid");
        std::fs::write(&pidfile, format!("{pid}\n")).expect("pidfile");
        let by_file = ProcessMatch {
            pidfile: Some(pidfile.clone()),
            name: None,
            user: None,
        };
        assert_eq!(find_processes(&by_file).pids, vec![pid]);
        let both = ProcessMatch {
            pidfile: Some(pidfile.clone()),
            name: Some("sleep".into()),
            user: None,
        };
        assert_eq!(find_processes(&both).pids, vec![pid]);
        let wrong = ProcessMatch {
            pidfile: Some(pidfile.clone()),
            name: Some("nginx".into()),
            user: None,
        };
        assert!(find_processes(&wrong).pids.is_empty());
        let by_name = ProcessMatch {
            pidfile: None,
            name: Some("sleep".into()),
            user: None,
        };
        assert!(find_processes(&by_name).pids.contains(&pid));
        // Killed and not reaped yet: a zombie, which does not count.
        child.kill().expect("kill");
        std::thread::sleep(Duration::from_millis(100));
        assert!(find_processes(&by_file).pids.is_empty());
        let _ = child.wait();
        let missing = ProcessMatch {
            pidfile: Some(PathBuf::from("/nonexistent/x.pid")),
            name: None,
            user: None,
        };
        assert!(find_processes(&missing).why.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn by_pidfile(pidfile: &Path) -> ProcessMatch {
        ProcessMatch {
            pidfile: Some(pidfile.to_owned()),
            name: None,
            user: None,
        }
    }

    #[test]
    fn a_pidfile_is_never_followed_waited_on_or_quoted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vipd-proc-safe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let secret = dir.join("web.key");
        std::fs::write(&secret, "SECRETKEY0123456789\n").expect("key");
        let pidfile = dir.join("nginx.pid");
        // Its contents, not a pid: said so, not quoted.
        let why = find_processes(&by_pidfile(&secret)).why.expect("none");
        assert!(why.ends_with("not a pid"), "{why}");
        assert!(!why.contains("SECRET"), "{why}");
        // A pidfile pointed at the key: not followed.
        std::os::unix::fs::symlink(&secret, &pidfile).expect("symlink");
        let why = find_processes(&by_pidfile(&pidfile)).why.expect("none");
        assert!(why.contains("symbolic link"), "{why}");
        assert!(!why.contains("SECRET"), "{why}");
        std::fs::remove_file(&pidfile).expect("rm");
        // A live pid in a file every user may write: not trusted.
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        std::fs::write(&pidfile, format!("{}\n", child.id())).expect("pidfile");
        std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let found = find_processes(&by_pidfile(&pidfile));
        assert!(found.pids.is_empty(), "{found:?}");
        assert!(found
            .why
            .as_deref()
            .is_some_and(|w| w.contains("writable by every user")));
        std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(find_processes(&by_pidfile(&pidfile)).pids, vec![child.id()]);
        let _ = child.kill();
        let _ = child.wait();
        // A FIFO nobody writes: a failed look at once, not a watch blocked forever.
        std::fs::remove_file(&pidfile).expect("rm");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &pidfile,
            rustix::fs::Mode::from_raw_mode(0o644),
        )
        .expect("mkfifo");
        let (tx, rx) = std::sync::mpsc::channel();
        let m = by_pidfile(&pidfile);
        std::thread::spawn(move || {
            let _ = tx.send(find_processes(&m));
        });
        let found = rx
            .recv_timeout(Duration::from_secs(2))
            .expect("looking at a FIFO pidfile hung");
        assert!(found.pids.is_empty(), "{found:?}");
        assert!(
            found.why.as_deref().is_some_and(|w| w.contains("FIFO")),
            "{found:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_user_limits_which_processes_count() {
        use std::os::unix::process::CommandExt;
        let dir = std::env::temp_dir().join(format!("vipd-proc-user-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        // A name no other process has: a copy of sleep.
        let name = format!("vipd-us-{}", std::process::id());
        let program = dir.join(&name);
        std::fs::copy("/bin/sleep", &program).expect("copy sleep");
        let mut mine = std::process::Command::new(&program)
            .arg("30")
            .spawn()
            .expect("root's");
        let mut theirs = std::process::Command::new(&program)
            .arg("30")
            .uid(65534)
            .gid(65534)
            .spawn()
            .expect("nobody's");
        let (root_pid, nobody_pid) = (mine.id(), theirs.id());
        let named = |user: Option<&str>| ProcessMatch {
            pidfile: None,
            name: Some(name.clone()),
            user: user.map(str::to_owned),
        };
        let mut both = vec![root_pid, nobody_pid];
        both.sort_unstable();
        assert_eq!(find_processes(&named(None)).pids, both);
        assert_eq!(
            find_processes(&named(Some("nobody"))).pids,
            vec![nobody_pid]
        );
        assert_eq!(find_processes(&named(Some("root"))).pids, vec![root_pid]);
        // The pidfile names root's process; the check wants nobody's.
        let pidfile = dir.join("x.pid");
        std::fs::write(&pidfile, format!("{root_pid}\n")).expect("pidfile");
        let wanted = ProcessMatch {
            user: Some("nobody".into()),
            ..by_pidfile(&pidfile)
        };
        let found = find_processes(&wanted);
        assert!(found.pids.is_empty(), "{found:?}");
        assert!(
            found
                .why
                .as_deref()
                .is_some_and(|w| w.contains("of user nobody")),
            "{found:?}"
        );
        let unknown = find_processes(&named(Some("no-such-user-vipd")));
        assert_eq!(unknown.why.as_deref(), Some("no user no-such-user-vipd"));
        for c in [&mut mine, &mut theirs] {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
