//! Addresses of a `vrrp_instance`: `virtual_ipaddress` entries with their options, and
//! `unicast_peer`s as vipd's validation takes them.

use std::net::IpAddr;

use super::convert::ConvertError;
use super::model::Notes;
use super::source::Loc;
use super::tree::Stmt;

/// One address line of `virtual_ipaddress`: the address and its options.
pub fn vip(
    words: &[String],
    interface: Option<&str>,
    s: &Stmt,
    notes: &mut Notes,
) -> Result<Option<(String, IpAddr)>, ConvertError> {
    let Some(first) = words.first() else {
        return Ok(None);
    };
    let (addr, prefix) = match first.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (first.as_str(), None),
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| ConvertError::at(&s.loc, format!("`{first}` is not an IP address")))?;
    if let Some(p) = prefix {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if !p.parse::<u8>().is_ok_and(|p| p <= max) {
            return Err(ConvertError::at(
                &s.loc,
                format!("`{first}`: bad prefix length"),
            ));
        }
    }
    let mut i = 1;
    while i < words.len() {
        let opt = words[i].as_str();
        let val = words.get(i + 1).map(String::as_str);
        match opt {
            "dev" => {
                if val != interface {
                    notes.review(
                        &s.loc,
                        format!("`{first} dev {}`: vipd puts every VIP on the instance's interface; make another instance for that interface", val.unwrap_or("")),
                    );
                }
                i += 2;
            }
            "scope" => {
                if val != Some("global") {
                    notes.review(
                        &s.loc,
                        format!(
                            "`{first} scope {}`: vipd adds VIPs with scope global",
                            val.unwrap_or("")
                        ),
                    );
                }
                i += 2;
            }
            "label" => {
                notes.review(&s.loc, format!("`{first} label {}`: vipd labels IPv4 VIPs with the instance's name; scripts that look for the label must change", val.unwrap_or("")));
                i += 2;
            }
            "brd" | "peer" | "preferred_lft" => {
                notes.review(
                    &s.loc,
                    format!("`{first} {opt} ...`: vipd adds the address without it"),
                );
                i += 2;
            }
            "no_track" | "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute"
            | "autojoin" | "use_vmac" => {
                notes.review(
                    &s.loc,
                    format!("`{first} {opt}`: vipd adds the address without it"),
                );
                i += 1;
            }
            other => {
                notes.review(
                    &s.loc,
                    format!("`{first} {other}`: unknown address option, not converted"),
                );
                i += 1;
            }
        }
    }
    Ok(Some((first.clone(), ip)))
}

/// Splits an address block into entries, one address with its options each: a line
/// may hold several (`virtual_ipaddress { 192.0.2.1/24 192.0.2.2/24 }`).
pub fn address_lines(s: &Stmt) -> Vec<(Vec<String>, Stmt)> {
    let is_addr = |w: &str| {
        w.split('/')
            .next()
            .is_some_and(|a| a.parse::<IpAddr>().is_ok())
    };
    let mut out = Vec::new();
    for line in s.block.iter().flatten() {
        let mut cur: Vec<String> = Vec::new();
        let mut takes_value = false;
        for w in &line.words {
            if !takes_value && is_addr(w) && !cur.is_empty() {
                out.push((std::mem::take(&mut cur), line.clone()));
            }
            takes_value = !takes_value
                && matches!(
                    w.as_str(),
                    "dev" | "scope" | "label" | "brd" | "peer" | "preferred_lft"
                );
            cur.push(w.clone());
        }
        if !cur.is_empty() {
            out.push((cur, line.clone()));
        }
    }
    out
}

/// vipd's unicast peers: of the VIPs' family, IPv6 only link-local, no VIP, no
/// duplicates (its validation refuses anything else, so these are errors here).
pub fn unicast_peers(
    peers: Vec<(IpAddr, Loc)>,
    v6_family: bool,
    vips: &[String],
    notes: &mut Notes,
) -> Result<Vec<String>, ConvertError> {
    let mut out: Vec<String> = Vec::new();
    for (ip, loc) in peers {
        if ip.is_ipv6() != (v6_family) {
            return Err(ConvertError::at(&loc, format!("unicast_peer {ip} is of the other family than the VIPs: vipd needs a second instance for it")));
        }
        if let IpAddr::V6(v6) = ip {
            if v6.segments()[0] & 0xffc0 != 0xfe80 {
                return Err(ConvertError::at(&loc, format!("unicast_peer {ip}: vipd takes IPv6 adverts from link-local sources only: list the peers' fe80:: addresses")));
            }
        }
        if vips
            .iter()
            .any(|v| v.split('/').next() == Some(&ip.to_string()))
        {
            return Err(ConvertError::at(
                &loc,
                format!("unicast_peer {ip} is one of the VIPs"),
            ));
        }
        if out.contains(&ip.to_string()) {
            notes.info(
                &loc,
                format!("unicast_peer {ip} is listed twice: once in vipd"),
            );
            continue;
        }
        out.push(ip.to_string());
    }
    Ok(out)
}
