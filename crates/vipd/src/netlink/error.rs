//! What went wrong talking to the kernel, by kind: the interface is gone, the connection
//! is down, the kernel did not answer in time, vipd lacks the permission, or another
//! errno. Callers decide on the kind (a removal whose interface is gone is done); the
//! messages are sentences a person can act on ("permission denied: vipd needs
//! CAP_NET_ADMIN"), not netlink error numbers.

use nix::errno::Errno;

/// How long one netlink request may take before it counts as failed, so a stuck
/// request never stalls the event loop.
pub const NETLINK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// What went wrong talking to the kernel; `what` says what was being done.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("cannot open a netlink socket: {0}")]
    Open(#[source] std::io::Error),
    /// A lookup by name found no interface.
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// ENODEV: the interface went away (its addresses with it).
    #[error("{what}: no such device (the interface went away)")]
    Gone { what: String },
    /// The request connection is closed and being opened again.
    #[error("the netlink connection is down (being opened again)")]
    Down,
    #[error("{what}: the kernel did not answer within {NETLINK_TIMEOUT:?}")]
    Timeout { what: String },
    /// EPERM or EACCES.
    #[error("{what}: permission denied: vipd needs root or CAP_NET_ADMIN")]
    Permission { what: String },
    /// Any other errno the kernel answered with.
    #[error("{what}: {}", errno_words(*errno))]
    Errno { what: String, errno: Errno },
    /// Not an errno: an answer that could not be decoded, an acknowledgement where an
    /// answer was due.
    #[error("{what}: {message}")]
    Protocol { what: String, message: String },
}

/// The errno of a kernel's error answer; `None` for anything else.
pub(crate) fn errno_of(e: &rtnetlink::Error) -> Option<Errno> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| Errno::from_raw(-c.get())),
        _ => None,
    }
}

/// Whether `e` is the kernel answering with `errno`.
pub(crate) fn is_errno(e: &rtnetlink::Error, errno: Errno) -> bool {
    errno_of(e) == Some(errno)
}

/// Sorts a netlink error into its kind, naming what was being done.
pub(crate) fn explain(what: String, e: rtnetlink::Error) -> NetlinkError {
    match errno_of(&e) {
        Some(Errno::ENODEV) => NetlinkError::Gone { what },
        Some(Errno::EPERM | Errno::EACCES) => NetlinkError::Permission { what },
        Some(errno) => NetlinkError::Errno { what, errno },
        None => NetlinkError::Protocol {
            what,
            message: match e {
                rtnetlink::Error::NetlinkError(_) => "unexpected acknowledgement".to_string(),
                other => other.to_string(),
            },
        },
    }
}

/// An errno in words, with its number.
fn errno_words(errno: Errno) -> String {
    match errno {
        Errno::EEXIST => "the address already exists".to_string(),
        Errno::EADDRNOTAVAIL => "address not available on this interface".to_string(),
        Errno::EINVAL => "the kernel refused the request as invalid (EINVAL)".to_string(),
        other => format!("{} (errno {})", other.desc(), other as i32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::ErrorMessage;

    fn kernel_says(errno: Errno) -> rtnetlink::Error {
        let mut m = ErrorMessage::default();
        m.code = std::num::NonZeroI32::new(-(errno as i32));
        rtnetlink::Error::NetlinkError(m)
    }

    #[test]
    fn errnos_are_sorted_into_kinds() {
        let what = || "adding 192.0.2.50/24".to_string();
        assert!(matches!(
            explain(what(), kernel_says(Errno::ENODEV)),
            NetlinkError::Gone { .. }
        ));
        for errno in [Errno::EPERM, Errno::EACCES] {
            assert!(matches!(
                explain(what(), kernel_says(errno)),
                NetlinkError::Permission { .. }
            ));
        }
        assert!(matches!(
            explain(what(), kernel_says(Errno::EBUSY)),
            NetlinkError::Errno {
                errno: Errno::EBUSY,
                ..
            }
        ));
        assert!(matches!(
            explain(
                what(),
                rtnetlink::Error::NetlinkError(ErrorMessage::default())
            ),
            NetlinkError::Protocol { .. }
        ));
        assert!(is_errno(&kernel_says(Errno::ESRCH), Errno::ESRCH));
        assert!(!is_errno(&kernel_says(Errno::ESRCH), Errno::ENODEV));
    }

    #[test]
    fn every_kind_reads_as_a_sentence() {
        let what = || "adding 192.0.2.50/24".to_string();
        let said = |e: rtnetlink::Error| explain(what(), e).to_string();
        assert_eq!(
            said(kernel_says(Errno::ENODEV)),
            "adding 192.0.2.50/24: no such device (the interface went away)"
        );
        assert_eq!(
            said(kernel_says(Errno::EPERM)),
            "adding 192.0.2.50/24: permission denied: vipd needs root or CAP_NET_ADMIN"
        );
        assert_eq!(
            said(kernel_says(Errno::EEXIST)),
            "adding 192.0.2.50/24: the address already exists"
        );
        assert_eq!(
            said(kernel_says(Errno::EBUSY)),
            "adding 192.0.2.50/24: Device or resource busy (errno 16)"
        );
        assert_eq!(
            NetlinkError::Timeout { what: what() }.to_string(),
            "adding 192.0.2.50/24: the kernel did not answer within 2s"
        );
        assert_eq!(
            NetlinkError::Down.to_string(),
            "the netlink connection is down (being opened again)"
        );
    }
}
