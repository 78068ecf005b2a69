//! Reading what `tcpdump -n -tt -l` printed (see [`crate::Lan::capture`] and
//! [`crate::Lan::capture_with`]): VRRP adverts (IPv4 and IPv6), gratuitous ARPs, and
//! the bytes of each packet when `-x` was given.

use crate::proc::{Line, Monitor};

/// One VRRP advert as tcpdump prints it, e.g.
/// `1700000000.123456 IP 192.0.2.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio
/// 150, intvl 20cs, length 12, addrs: 192.0.2.50` (also with `-e`, and `IP6`).
#[derive(Debug, Clone, PartialEq)]
pub struct Advert {
    /// Capture time (epoch seconds, the kernel's).
    pub t: f64,
    pub src: String,
    pub dst: String,
    /// 2 or 3.
    pub version: u8,
    pub vrid: u8,
    pub prio: u8,
    /// The interval field as printed: centiseconds for VRRPv3, seconds for VRRPv2.
    pub intvl: u16,
}

/// The number right after `key` in `text`.
pub fn number_after<T: std::str::FromStr>(text: &str, key: &str) -> Option<T> {
    let rest = &text[text.find(key)? + key.len()..];
    let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
    num.parse().ok()
}

/// The source and destination of the packet a tcpdump line describes: the words on
/// either side of the last `>` in `head` (the line up to the protocol part).
fn endpoints(head: &str) -> Option<(String, String)> {
    let words: Vec<&str> = head.split_whitespace().collect();
    let gt = words.iter().rposition(|w| *w == ">")?;
    let src = words.get(gt.checked_sub(1)?)?;
    let dst = words.get(gt + 1)?.trim_end_matches([':', ',']);
    Some((src.trim_end_matches(',').to_string(), dst.to_string()))
}

/// Parses one tcpdump line as a VRRP advert.
pub fn parse_advert(text: &str) -> Option<Advert> {
    let at = text.find("VRRPv")?;
    if !text[at..].contains("Advertisement") {
        return None;
    }
    let t = text.split_whitespace().next()?.parse().ok()?;
    let (src, dst) = endpoints(&text[..at])?;
    let tail = &text[at..];
    let intvl = number_after(tail, "intvl ")?;
    Some(Advert {
        t,
        src,
        dst,
        version: number_after(tail, "VRRPv")?,
        vrid: number_after(tail, "vrid ")?,
        prio: number_after(tail, "prio ")?,
        intvl,
    })
}

/// Every advert a capture has printed so far, in capture order.
pub fn adverts(m: &Monitor) -> Vec<Advert> {
    m.lines()
        .iter()
        .filter(|l| !l.stderr)
        .filter_map(|l| parse_advert(&l.text))
        .collect()
}

/// The adverts for `vrid` from `src`.
pub fn adverts_from(m: &Monitor, src: &str, vrid: u8) -> Vec<Advert> {
    adverts(m)
        .into_iter()
        .filter(|a| a.src == src && a.vrid == vrid)
        .collect()
}

/// Waits up to `timeout` for an advert matching `pred`.
pub fn wait_advert(
    m: &Monitor,
    timeout: std::time::Duration,
    pred: impl Fn(&Advert) -> bool,
) -> Option<Advert> {
    m.wait_for(timeout, |l| {
        !l.stderr && parse_advert(&l.text).is_some_and(|a| pred(&a))
    })
    .and_then(|l| parse_advert(&l.text))
}

/// Adverts as short text relative to `t0`, for assertion messages.
pub fn describe_adverts(adverts: &[Advert], t0: f64) -> Vec<String> {
    adverts
        .iter()
        .map(|a| {
            format!(
                "{:+.1} ms {} vrid {} prio {} intvl {}",
                (a.t - t0) * 1e3,
                a.src,
                a.vrid,
                a.prio,
                a.intvl
            )
        })
        .collect()
}

/// A gratuitous ARP as `tcpdump -e -n -tt` prints it:
/// `<t> <mac> > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Request who-has
/// 192.0.2.50 tell 192.0.2.50, length 46` (sender and target the same address).
#[derive(Debug, Clone, PartialEq)]
pub struct Garp {
    pub t: f64,
    /// The Ethernet source.
    pub mac: String,
    /// The address announced.
    pub addr: String,
}

/// Parses one `tcpdump -e` line as a gratuitous ARP request (who-has X tell X).
pub fn parse_garp(text: &str) -> Option<Garp> {
    let mut w = text.split_whitespace();
    let t = w.next()?.parse().ok()?;
    let mac = w.next()?.to_string();
    if !text.contains("ethertype ARP") {
        return None;
    }
    let rest = &text[text.find("Request who-has ")? + "Request who-has ".len()..];
    let target = rest.split_whitespace().next()?;
    let sender = rest[rest.find(" tell ")? + 6..].split([',', ' ']).next()?;
    (target == sender).then(|| Garp {
        t,
        mac,
        addr: target.to_string(),
    })
}

/// The gratuitous ARPs a `tcpdump -e` capture has printed so far.
pub fn garps(m: &Monitor) -> Vec<Garp> {
    m.lines()
        .iter()
        .filter(|l| !l.stderr)
        .filter_map(|l| parse_garp(&l.text))
        .collect()
}

/// One packet of a `tcpdump -x` capture: its summary line and the bytes tcpdump dumped
/// (from the network-layer header on).
#[derive(Debug, Clone)]
pub struct Packet {
    pub line: Line,
    pub bytes: Vec<u8>,
}

/// The bytes of one `-x` line, `\t0x0010:  e000 0012 3133 9601 0014 8c49 c000 0232`.
fn hex_line(text: &str) -> Option<Vec<u8>> {
    let t = text.trim_start();
    let rest = t.strip_prefix("0x")?;
    let (_, data) = rest.split_once(':')?;
    let mut out = Vec::new();
    for word in data.split_whitespace() {
        if word.len() % 2 != 0 || !word.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        for i in (0..word.len()).step_by(2) {
            out.push(u8::from_str_radix(&word[i..i + 2], 16).ok()?);
        }
    }
    Some(out)
}

/// Groups a `tcpdump -x` capture's lines into packets.
pub fn packets(m: &Monitor) -> Vec<Packet> {
    let mut out: Vec<Packet> = Vec::new();
    for l in m.lines().into_iter().filter(|l| !l.stderr) {
        match hex_line(&l.text) {
            Some(bytes) => {
                if let Some(p) = out.last_mut() {
                    p.bytes.extend(bytes);
                }
            }
            None => out.push(Packet {
                line: l,
                bytes: Vec::new(),
            }),
        }
    }
    out
}

/// The adverts of a `tcpdump -x` capture with their bytes (the IP header on).
pub fn advert_packets(m: &Monitor) -> Vec<(Advert, Vec<u8>)> {
    packets(m)
        .into_iter()
        .filter_map(|p| Some((parse_advert(&p.line.text)?, p.bytes)))
        .collect()
}

/// The VRRP message inside an IPv4 packet's bytes (after the header of IHL words).
pub fn ipv4_payload(bytes: &[u8]) -> Option<&[u8]> {
    let ihl = usize::from(bytes.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    bytes.get(ihl..total)
}

/// The IPv4 addresses a VRRP message over IPv4 carries (its count byte says how many;
/// they start at byte 8).
pub fn vrrp_v4_addresses(vrrp: &[u8]) -> Vec<String> {
    let n = usize::from(vrrp.get(3).copied().unwrap_or(0));
    (0..n)
        .filter_map(|i| {
            let a = vrrp.get(8 + 4 * i..12 + 4 * i)?;
            Some(std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
        })
        .collect()
}

/// The RFC 1071 Internet checksum of `data` (odd length padded with a zero byte),
/// written out here rather than taken from `vipd-wire`, so a test checks vipd's
/// checksums against an independent computation.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adverts_with_and_without_link_header() {
        let a = parse_advert(
            "1700000000.123456 IP 192.0.2.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, \
             prio 150, intvl 20cs, length 12, addrs: 192.0.2.50",
        )
        .expect("advert");
        assert_eq!(
            (
                a.src.as_str(),
                a.dst.as_str(),
                a.version,
                a.vrid,
                a.prio,
                a.intvl
            ),
            ("192.0.2.11", "224.0.0.18", 3, 51, 150, 20)
        );
        assert!((a.t - 1_700_000_000.123456).abs() < 1e-6);
        let e = parse_advert(
            "1700000000.5 02:00:00:00:00:01 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), \
             length 54: 192.0.2.11 > 224.0.0.18: VRRPv2, Advertisement, vrid 7, prio 0, \
             authtype none, intvl 1s, length 20, addrs: 192.0.2.50",
        )
        .expect("advert with -e");
        assert_eq!(
            (e.src.as_str(), e.version, e.prio, e.intvl),
            ("192.0.2.11", 2, 0, 1)
        );
        let v6 = parse_advert(
            "1700000000.5 IP6 fe80::1 > ff02::12: VRRPv3, Advertisement, vrid 51, prio 100, \
             intvl 20cs, length 28, addrs: 2001:db8::50",
        )
        .expect("v6 advert");
        assert_eq!((v6.src.as_str(), v6.dst.as_str()), ("fe80::1", "ff02::12"));
        assert!(parse_advert("1700000000.5 IP 192.0.2.11 > 192.0.2.12: ICMP echo").is_none());
    }

    #[test]
    fn garps_and_hex() {
        let g = parse_garp(
            "1700000000.25 02:aa:bb:cc:dd:ee > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), \
             length 60: Request who-has 192.0.2.50 tell 192.0.2.50, length 46",
        )
        .expect("garp");
        assert_eq!(
            (g.mac.as_str(), g.addr.as_str()),
            ("02:aa:bb:cc:dd:ee", "192.0.2.50")
        );
        assert!(parse_garp(
            "1700000000.25 02:aa:bb:cc:dd:ee > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), \
             length 60: Request who-has 192.0.2.50 tell 192.0.2.100, length 46"
        )
        .is_none());
        assert_eq!(
            hex_line("\t0x0010:  e000 0012 3133 9601"),
            Some(vec![0xe0, 0, 0, 0x12, 0x31, 0x33, 0x96, 0x01])
        );
        assert_eq!(hex_line("1700000000.5 IP 192.0.2.11 > 224.0.0.18: x"), None);
        let packet = [
            0x45, 0xc0, 0, 32, 0, 0, 0x40, 0, 255, 112, 0, 0, 192, 0, 2, 11, 224, 0, 0, 18, 0x31,
            51, 150, 1, 0, 20, 0, 0, 192, 0, 2, 50,
        ];
        let vrrp = ipv4_payload(&packet).expect("payload");
        assert_eq!(vrrp.len(), 12);
        assert_eq!(vrrp_v4_addresses(vrrp), vec!["192.0.2.50".to_string()]);
    }

    #[test]
    fn rfc1071() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }
}
