//! The targets of `http` and `tcp` checks as written: a plain-HTTP URL, `host:port`.

use std::net::{IpAddr, Ipv6Addr};

use vipd_node::config::{HostPort, HttpCheck, StatusMatch};

/// Parses `http://host[:port][/path]`. No TLS: an https URL is refused, saying so.
pub fn parse_http_url(s: &str) -> Result<HttpCheck, String> {
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(format!(
            "`{s}`: https is not supported; the http check speaks plain HTTP/1.1 without \
             TLS. Check a plain-HTTP port (e.g. a local health endpoint such as \
             http://127.0.0.1/healthz) or use a tcp or exec check"
        ));
    }
    let Some(rest) = lower.starts_with("http://").then(|| &s["http://".len()..]) else {
        return Err(format!(
            "`{s}` is not an http:// URL; expected e.g. http://127.0.0.1/healthz"
        ));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_owned()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_owned()),
    };
    if let Some(i) = path.find('#') {
        return Err(format!(
            "`{s}` has a fragment (`{}`); a server never sees it, leave it out",
            &path[i..]
        ));
    }
    if authority.contains('@') {
        return Err(format!(
            "`{s}` has user information; the http check sends no credentials"
        ));
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{s}`: the path contains spaces or control characters; percent-encode them"
        ));
    }
    let target = parse_host_port(authority, Some(80)).map_err(|e| format!("`{s}`: {e}"))?;
    Ok(HttpCheck {
        url: s.to_owned(),
        target,
        host_header: authority.to_owned(),
        path,
        expect_status: vec![StatusMatch::Class(2)],
        expect_body: None,
    })
}

/// Parses `host:port`, `[v6]:port`, or (with a default port) `host`, `[v6]`.
pub fn parse_host_port(s: &str, default_port: Option<u16>) -> Result<HostPort, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else {
            return Err(format!("`{s}`: an IPv6 address needs its closing `]`"));
        };
        if h.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{h}` is not an IPv6 address"));
        }
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(format!("`{s}`: expected `:port` after `]`")),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, _)) if h.contains(':') => {
                return Err(format!(
                    "`{s}`: write an IPv6 address in brackets, e.g. [{h}]:80"
                ))
            }
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err(format!("`{s}` has no host"));
    }
    if !host.contains(':') && host.parse::<IpAddr>().is_err() {
        let ok = host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if !ok {
            return Err(format!("`{host}` is neither an address nor a host name"));
        }
    }
    let port = match (port, default_port) {
        (Some(p), _) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(format!("`{p}` is not a port (1..=65535)")),
        },
        (None, Some(d)) => d,
        (None, None) => return Err(format!("`{s}` has no port; write host:port")),
    };
    Ok(HostPort {
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        let h = parse_http_url("http://127.0.0.1/healthz").expect("valid");
        assert_eq!(h.target.to_string(), "127.0.0.1:80");
        assert_eq!(h.path, "/healthz");
        assert_eq!(h.host_header, "127.0.0.1");
        let h = parse_http_url("http://[::1]:8080").expect("valid");
        assert_eq!(h.target.host, "::1");
        assert_eq!(h.target.port, 8080);
        assert_eq!(h.path, "/");
        assert_eq!(h.host_header, "[::1]:8080");
        let h = parse_http_url("HTTP://localhost:81?x=1").expect("valid");
        assert_eq!(h.path, "/?x=1");
        assert_eq!(h.target.host, "localhost");
        let e = parse_http_url("https://127.0.0.1/").expect_err("https");
        assert!(e.contains("https is not supported"), "{e}");
        for bad in [
            "ftp://x/",
            "http://",
            "http://a:0/",
            "http://a:99999/",
            "http://::1/",
            "http://[::1/",
            "http://u@h/",
            "http://h/a b",
            "http://h/#x",
            "http://bad host/",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn host_ports() {
        let t = parse_host_port("192.0.2.1:80", None).expect("valid");
        assert_eq!(t.to_string(), "192.0.2.1:80");
        let t = parse_host_port("[2001:db8::1]:443", None).expect("valid");
        assert_eq!(t.to_string(), "[2001:db8::1]:443");
        assert!(parse_host_port("192.0.2.1", None).is_err());
        assert!(parse_host_port("2001:db8::1:80", None).is_err());
    }
}
