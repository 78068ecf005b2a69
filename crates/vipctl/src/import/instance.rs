//! One `vrrp_instance` (keepalived.conf(5), "VRRP instance(s)") as a vipd instance.

use std::net::IpAddr;

use super::addresses::{self, address_lines, vip};
use super::checks::{Kind, Trackers};
use super::convert::{hook, parse_num, seconds, ConvertError, Globals};
use super::emit::duration;
use super::model::{Garp, Hooks, Instance, Notes};
use super::source::Loc;
use super::tree::Stmt;

/// A vipd instance or group name: 1-15 of `A-Z a-z 0-9 _ -`.
pub fn vipd_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(15)
        .collect();
    if clean.is_empty() {
        "vrrp".into()
    } else {
        clean
    }
}

pub fn convert(
    stmt: &Stmt,
    g: &Globals,
    trackers: &mut Trackers,
    earlier: &[Instance],
) -> Result<Instance, ConvertError> {
    let ka_name = stmt.arg(1).unwrap_or("").to_string();
    let mut notes = Notes::default();
    let body: Vec<&Stmt> = stmt.block.iter().flatten().collect();
    let find = |k: &str| body.iter().rev().find(|s| s.key() == k).copied();
    let Some(interface) = find("interface").and_then(|s| s.arg(1)).map(str::to_string) else {
        return Err(ConvertError::at(
            &stmt.loc,
            format!("vrrp_instance {ka_name} has no `interface` (vipd needs one)"),
        ));
    };
    let Some(vrid_s) = find("virtual_router_id") else {
        return Err(ConvertError::at(
            &stmt.loc,
            format!("vrrp_instance {ka_name} has no virtual_router_id"),
        ));
    };
    let vrid = parse_num(vrid_s, 1)?;
    if !(1..=255).contains(&vrid) {
        return Err(ConvertError::at(
            &vrid_s.loc,
            format!("virtual_router_id {vrid} is outside 1..=255"),
        ));
    }
    let mut name = vipd_name(&ka_name);
    let mut k = 2;
    while earlier.iter().any(|i| i.name == name) {
        let suffix = format!("-{k}");
        name = format!(
            "{}{suffix}",
            &vipd_name(&ka_name)[..vipd_name(&ka_name).len().min(15 - suffix.len())]
        );
        k += 1;
    }
    let mut inst = Instance {
        name: name.clone(),
        keepalived_name: ka_name.clone(),
        loc: stmt.loc.clone(),
        interface: interface.clone(),
        vrid: vrid as u8,
        priority: 100,
        advert_interval: String::new(),
        version: g.version.unwrap_or(2),
        preempt: true,
        preempt_delay: None,
        vips: Vec::new(),
        garp: Garp::default(),
        unicast_peers: Vec::new(),
        track: Vec::new(),
        notify: Hooks::default(),
        notify_positional: false,
        notes: Notes::default(),
    };
    let mut advert = 1.0;
    let mut family: Option<bool> = None; // Some(true) = IPv6
    let mut accept: Option<bool> = None;
    let mut strict = g.strict;
    let mut explicit_version = false;
    let mut peers: Vec<(IpAddr, Loc)> = Vec::new();
    let mut garp = Garp {
        count: g.garp_repeat.or(Some(if g.min_garp { 1 } else { 5 })),
        repeat_after: g.garp_delay.or(Some(if g.min_garp { 0.0 } else { 5.0 })),
        refresh: g.garp_refresh.filter(|r| *r > 0.0),
    };
    for s in &body {
        match s.key() {
            "interface" | "virtual_router_id" => {}
            "state" => notes.info(&s.loc, format!("state {}: a hint only; the priorities decide (vipd starts as backup)", s.arg(1).unwrap_or(""))),
            "priority" => {
                let p = parse_num(s, 1)?;
                if !(1..=255).contains(&p) {
                    return Err(ConvertError::at(&s.loc, format!("priority {p} is outside 1..=255")));
                }
                inst.priority = p as u8;
            }
            "advert_int" => advert = seconds(s, 1)?,
            "version" => {
                let v = parse_num(s, 1)?;
                if !(2..=3).contains(&v) {
                    return Err(ConvertError::at(&s.loc, format!("version {v}: 2 or 3")));
                }
                inst.version = v as u8;
                explicit_version = true;
            }
            "nopreempt" => inst.preempt = false,
            "preempt" => inst.preempt = true,
            "preempt_delay" => {
                inst.preempt_delay = Some(duration(seconds(s, 1)?));
                notes.review(
                    &s.loc,
                    "preempt_delay: keepalived waits this long each time it starts hearing a lower-priority master; \
                     vipd only during this long after its own start-up (later, e.g. when a failed tracked check \
                     recovers, it preempts at once)",
                );
            }
            "virtual_ipaddress" => {
                for (words, line) in address_lines(s) {
                    if let Some((text, ip)) = vip(&words, Some(&interface), &line, &mut notes)? {
                        match family {
                            None => family = Some(ip.is_ipv6()),
                            Some(v6) if v6 != ip.is_ipv6() => {
                                notes.review(&line.loc, format!("`{text}` is of the other family: a vipd instance holds one family; make a second instance (another VRID) for it"));
                                continue;
                            }
                            _ => {}
                        }
                        let text = if text.contains('/') { text } else if ip.is_ipv4() { format!("{text}/32") } else { format!("{text}/128") };
                        if inst.vips.iter().any(|v| v.split('/').next() == Some(&ip.to_string())) {
                            notes.info(&line.loc, format!("`{text}` is listed twice: once in vipd"));
                            continue;
                        }
                        inst.vips.push(text);
                    }
                }
            }
            "virtual_ipaddress_excluded" => {
                let addrs: Vec<String> = address_lines(s).into_iter().filter_map(|(w, _)| w.first().cloned()).collect();
                notes.review(
                    &s.loc,
                    format!(
                        "virtual_ipaddress_excluded {{ {} }}: vipd has no excluded addresses (every VIP is in the adverts). \
                         While keepalived peers remain, leave them out (keepalived may drop adverts whose address list differs) \
                         and add them from notify hooks; once every node runs vipd, add them to `vips`",
                        addrs.join(" ")
                    ),
                );
            }
            "unicast_peer" => {
                for (w, loc, _) in s.block_words() {
                    if let Ok(ip) = w.parse::<IpAddr>() {
                        peers.push((ip, loc));
                    } else if !matches!(w.as_str(), "min_ttl" | "max_ttl") && w.parse::<u8>().is_err() {
                        return Err(ConvertError::at(&loc, format!("unicast_peer `{w}` is not an IP address")));
                    }
                }
            }
            "unicast_src_ip" | "mcast_src_ip" => notes.review(
                &s.loc,
                format!("`{} {}`: vipd sends from the interface's primary address: make sure {} is {interface}'s primary address, or peers will not recognise the source", s.key(), s.arg(1).unwrap_or(""), s.arg(1).unwrap_or("")),
            ),
            "unicast_ttl" | "check_unicast_src" | "unicast_fault_no_peer" => notes.info(&s.loc, format!("`{}`: vipd always sends TTL 255, accepts adverts only from listed peers with TTL 255", s.key())),
            "track_script" | "track_interface" | "track_file" | "track_process" => {
                let kind = match s.key() {
                    "track_script" => Kind::Script,
                    "track_interface" => Kind::Interface,
                    "track_file" => Kind::File,
                    _ => Kind::Process,
                };
                let tracks = trackers.track_block(kind, s, &g.script_user, &mut notes)?;
                for t in tracks {
                    if !inst.track.iter().any(|x| x.check == t.check) {
                        inst.track.push(t);
                    }
                }
            }
            "notify_master" => inst.notify.master = Some(hook(s, &mut notes)?),
            "notify_backup" => inst.notify.backup = Some(hook(s, &mut notes)?),
            "notify_fault" => inst.notify.fault = Some(hook(s, &mut notes)?),
            "notify_stop" => inst.notify.stop = Some(hook(s, &mut notes)?),
            "notify" => {
                inst.notify.any = Some(hook(s, &mut notes)?);
                inst.notify_positional = true;
            }
            "garp_master_delay" => garp.repeat_after = Some(seconds(s, 1)?),
            "garp_master_repeat" => garp.count = Some(parse_num(s, 1)?.max(1) as u32),
            "garp_master_refresh" => garp.refresh = Some(seconds(s, 1)?).filter(|r| *r > 0.0),
            "garp_master_refresh_repeat" | "garp_lower_prio_delay" | "garp_lower_prio_repeat" | "garp_extra_if" => notes.review(
                &s.loc,
                format!("`{}`: vipd has no such setting (one frame per VIP per refresh, no extra burst on a lower-priority advert)", s.key()),
            ),
            "accept" => accept = Some(true),
            "no_accept" => accept = Some(false),
            "strict_mode" => strict = !matches!(s.arg(1), Some("false" | "off" | "no")),
            "authentication" | "auth_hmac" => notes.review(
                &s.loc,
                format!(
                    "`{}` is not converted: vipd sends no RFC 3768 PASS/AH data (RFC 5798 removed it), \
                     so keepalived nodes with it drop vipd's adverts. Remove it from every keepalived node first (one node at \
                     a time), then convert. vipd's own `auth: {{key_file}}` (HMAC-SHA256) works among vipd nodes only",
                    s.key()
                ),
            ),
            "use_vmac" | "vmac_xmit_base" | "use_vmac_addr" | "use_ipvlan" => notes.review(
                &s.loc,
                format!("`{}`: vipd has no virtual MAC; the VIPs use {interface}'s own MAC, announced by gratuitous ARP / unsolicited NA on takeover", s.key()),
            ),
            "virtual_routes" | "virtual_rules" => notes.review(
                &s.loc,
                format!("`{}`: vipd moves only addresses; add and remove these from notify hooks (master / backup / fault)", s.key()),
            ),
            "smtp_alert" => notes.review(&s.loc, "`smtp_alert`: vipd sends no mail; use a notify hook"),
            "track_bfd" => notes.review(&s.loc, "`track_bfd`: vipd has no BFD; a tracked check can stand in"),
            "mcast_dst_ip" => notes.review(&s.loc, "`mcast_dst_ip`: vipd sends to the RFC's group only"),
            "native_ipv6" | "dont_track_primary" | "debug" | "kernel_rx_buf_size" | "skip_check_adv_addr"
            | "lower_prio_no_advert" | "linkbeat_use_polling" | "promote_secondaries" => {
                notes.info(&s.loc, format!("`{}`: no counterpart in vipd, nothing changes on the wire: left out", s.key()))
            }
            other => notes.review(&s.loc, format!("`{other}` is not converted")),
        }
    }
    if inst.vips.is_empty() {
        return Err(ConvertError::at(
            &stmt.loc,
            format!(
                "vrrp_instance {ka_name} has no virtual_ipaddress (vipd needs at least one VIP)"
            ),
        ));
    }
    inst.unicast_peers =
        addresses::unicast_peers(peers, family == Some(true), &inst.vips, &mut notes)?;
    if inst.vips.len() > 255 {
        return Err(ConvertError::at(
            &stmt.loc,
            "more than 255 VIPs: vipd's limit (an advert carries at most 255)",
        ));
    }
    // IPv6 instances are always VRRPv3 (keepalived.conf(5), `version`).
    if family == Some(true) && inst.version == 2 {
        if explicit_version {
            notes.info(
                &stmt.loc,
                "IPv6: keepalived runs it as VRRPv3 whatever `version` says",
            );
        }
        inst.version = 3;
    }
    // RFC 3768 §5.3.7: v2 intervals are whole seconds; RFC 5798 §5.2.7: v3 centiseconds.
    inst.advert_interval = if inst.version == 2 {
        let whole = advert.round().clamp(1.0, 255.0);
        if (whole - advert).abs() > f64::EPSILON {
            notes.review(
                &stmt.loc,
                format!("advert_int {advert}: VRRPv2 sends whole seconds; {whole}s is used"),
            );
        }
        duration(whole)
    } else {
        let cs = (advert * 100.0).round().clamp(1.0, 4095.0);
        duration(cs / 100.0)
    };
    if strict && accept != Some(true) || accept == Some(false) {
        notes.review(
            &stmt.loc,
            "keepalived runs this instance without Accept_Mode (no_accept, or vrrp_strict/strict_mode): a master \
             drops traffic to its VIPs. vipd always accepts it (Accept_Mode true)",
        );
    }
    if let Some(c) = garp.count {
        if c > 100 {
            notes.review(
                &stmt.loc,
                format!("garp_master_repeat {c}: vipd sends at most 100 per burst"),
            );
            garp.count = Some(100);
        }
    }
    if let Some(r) = garp.refresh {
        garp.refresh = Some(r.max(1.0));
    }
    notes.info(&stmt.loc, "advert_interval, version and garp are written out: vipd's defaults differ from keepalived's");
    if name != ka_name {
        let msg = format!("`{ka_name}` is `{name}` in vipd (1-15 of A-Z a-z 0-9 _ -)");
        if inst.notify_positional {
            notes.review(&stmt.loc, format!("{msg}: notify scripts get the new name"));
        } else {
            notes.info(&stmt.loc, msg);
        }
    }
    // keepalived clears nopreempt and preempt_delay of an instance with `state MASTER`
    // (with a warning): so does the conversion, to run as keepalived runs.
    if find("state").and_then(|s| s.arg(1)) == Some("MASTER") {
        if !inst.preempt {
            inst.preempt = true;
            notes.info(&stmt.loc, "nopreempt with state MASTER: keepalived ignores nopreempt (it warns), so preempt stays true");
        }
        if inst.preempt_delay.take().is_some() {
            notes.0.retain(|n| !n.message.starts_with("preempt_delay:"));
            notes.info(&stmt.loc, "preempt_delay with state MASTER: keepalived ignores it (it warns), so it is left out");
        }
    }
    if inst.notify_positional {
        let others: Vec<(&str, &Vec<String>)> = inst
            .notify
            .entries()
            .into_iter()
            .filter(|(k, _)| *k != "any")
            .collect();
        if others.iter().any(|(_, argv)| argv.len() > 1) {
            notes.review(
                &stmt.loc,
                "with `notify`, vipd appends INSTANCE NAME STATE PRIORITY to every hook (notify_positional), \
                 also to notify_master/backup/fault/stop, which keepalived runs with their own arguments only: \
                 check that those scripts ignore extra arguments",
            );
        } else if !others.is_empty() {
            notes.info(
                &stmt.loc,
                "with `notify`, every hook gets INSTANCE NAME STATE PRIORITY appended (notify_positional); \
                 notify_master/backup/fault/stop without arguments of their own",
            );
        }
    }
    inst.garp = garp;
    inst.notes = notes;
    Ok(inst)
}
