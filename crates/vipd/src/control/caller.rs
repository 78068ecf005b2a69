//! Who is asking on the control socket: the peer's uid and gid, and its supplementary
//! groups as the kernel checks its file access with them.

use vipd_node::Caller;

/// The caller: uid and gid from SO_PEERCRED, and the supplementary groups of the
/// peer process from the `Groups:` line of /proc/<pid>/status (read on a blocking
/// thread, off the main loop). The process's own groups are what the kernel checks its
/// file access with — they reflect `setpriv --clear-groups`, `newgrp` and group changes
/// since login, which the group database (getgrouplist) does not. The file is trusted
/// only if its effective uid is the peer's (the pid was not reused); otherwise, or
/// without a pid (another pid namespace), only the primary gid counts.
pub(super) async fn caller(uid: u32, gid: u32, pid: Option<i32>) -> Caller {
    let groups = match pid.filter(|p| *p > 0) {
        Some(pid) => tokio::task::spawn_blocking(move || proc_groups(pid, uid))
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    Caller { uid, gid, groups }
}

/// The supplementary groups of process `pid`, if its effective uid is `uid`.
fn proc_groups(pid: i32, uid: u32) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    parse_groups(&text, uid).unwrap_or_default()
}

/// The `Groups:` of a /proc/<pid>/status text whose effective uid (the second field of
/// `Uid:`) is `uid`.
fn parse_groups(status: &str, uid: u32) -> Option<Vec<u32>> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>())
    };
    let euid: u32 = field("Uid:")?.get(1)?.parse().ok()?;
    if euid != uid {
        return None;
    }
    field("Groups:")?.iter().map(|g| g.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_proc_status_only_for_the_peers_uid() {
        let status = "Name:\tvipctl\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t4 27 900 \n";
        assert_eq!(parse_groups(status, 1000), Some(vec![4, 27, 900]));
        // Another process now has that pid: its groups are not the caller's.
        assert_eq!(parse_groups(status, 0), None);
        let none = "Uid:\t65534\t65534\t65534\t65534\nGroups:\t\n";
        assert_eq!(parse_groups(none, 65534), Some(vec![]));
    }

    #[tokio::test]
    async fn own_groups_are_read_for_a_live_pid() {
        let me = nix::unistd::geteuid().as_raw();
        let pid = i32::try_from(std::process::id()).expect("pid fits");
        let c = caller(me, 0, Some(pid)).await;
        let mut want: Vec<u32> = nix::unistd::getgroups()
            .expect("getgroups")
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        want.sort_unstable();
        let mut got = c.groups.clone();
        got.sort_unstable();
        assert_eq!(got, want);
    }
}
