//! keepalived's blocks into vipd's configuration: `global_defs`, trackers, every
//! `vrrp_instance` (see `instance.rs`) and `vrrp_sync_group`; everything else is named
//! in a note, never dropped silently.

use std::collections::BTreeSet;

use super::checks::{argv, Kind, Trackers};
use super::instance;
use super::model::{Config, Group, Hooks, Notes};
use super::source::Loc;
use super::tree::Stmt;

/// Why no configuration could be produced.
#[derive(Debug, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct ConvertError {
    pub loc: Loc,
    pub message: String,
}

impl ConvertError {
    pub fn at(loc: &Loc, message: impl Into<String>) -> Self {
        ConvertError {
            loc: loc.clone(),
            message: message.into(),
        }
    }
}

/// The user scripts run as (`script_user`, or a script's own `user`).
#[derive(Clone, Debug, Default)]
pub struct ScriptUser {
    pub user: Option<String>,
}

/// What `global_defs` says that instances inherit.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    pub version: Option<u8>,
    pub strict: bool,
    pub script_user: ScriptUser,
    pub garp_delay: Option<f64>,
    pub garp_repeat: Option<u32>,
    pub garp_refresh: Option<f64>,
    pub min_garp: bool,
}

/// An integer argument `n` of a statement.
pub fn parse_num(s: &Stmt, n: usize) -> Result<i64, ConvertError> {
    let w = s.arg(n).unwrap_or("");
    w.parse().map_err(|_| {
        ConvertError::at(
            &s.loc,
            format!("`{}` needs a whole number, not `{w}`", s.key()),
        )
    })
}

/// A seconds argument (fractions allowed) of a statement.
pub fn seconds(s: &Stmt, n: usize) -> Result<f64, ConvertError> {
    let w = s.arg(n).unwrap_or("");
    match w.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(ConvertError::at(
            &s.loc,
            format!("`{}` needs seconds, not `{w}`", s.key()),
        )),
    }
}

/// Notify script of a `notify*` statement: argv, with a note for a user/group.
pub fn hook(s: &Stmt, notes: &mut Notes) -> Result<Vec<String>, ConvertError> {
    let Some(script) = s.arg(1) else {
        return Err(ConvertError::at(
            &s.loc,
            format!("`{}` needs a script", s.key()),
        ));
    };
    if s.words.len() > 2 {
        notes.review(
            &s.loc,
            format!(
                "`{}` runs as {}: vipd runs hooks as its own user",
                s.key(),
                s.words[2..].join(" ")
            ),
        );
    }
    argv(script, &s.loc, notes)
}

/// The settings of global_defs that matter to VRRP (keepalived.conf(5), "Global
/// definitions"); the rest are named.
fn global_defs(stmt: &Stmt, g: &mut Globals, cfg: &mut Config) -> Result<(), ConvertError> {
    for s in stmt.block.iter().flatten() {
        let n = &mut cfg.notes;
        match s.key() {
            "vrrp_version" => {
                let v = parse_num(s, 1)?;
                if !(2..=3).contains(&v) {
                    return Err(ConvertError::at(&s.loc, format!("vrrp_version {v}: 2 or 3")));
                }
                g.version = Some(v as u8);
            }
            "vrrp_strict" => {
                g.strict = true;
                n.info(&s.loc, "vrrp_strict: vipd always follows RFC 5798 (adverts checked strictly); see each instance for Accept_Mode");
            }
            "script_user" => {
                g.script_user.user = s.arg(1).map(str::to_string);
                if s.arg(2).is_some() {
                    n.review(&s.loc, "script_user's group: vipd runs checks with the user's primary group");
                }
            }
            "enable_script_security" => n.info(&s.loc, "enable_script_security: vipd refuses relative programs and runs checks without capabilities"),
            "vrrp_garp_master_delay" => g.garp_delay = Some(seconds(s, 1)?),
            "vrrp_garp_master_repeat" => g.garp_repeat = Some(parse_num(s, 1)?.max(1) as u32),
            "vrrp_garp_master_refresh" => g.garp_refresh = Some(seconds(s, 1)?),
            "vrrp_min_garp" => g.min_garp = !matches!(s.arg(1), Some("false" | "off" | "no")),
            "vrrp_garp_master_refresh_repeat" | "vrrp_garp_lower_prio_delay" | "vrrp_garp_lower_prio_repeat"
            | "vrrp_garp_interval" | "vrrp_gna_interval" => n.review(
                &s.loc,
                format!("`{}`: vipd has no such setting (it sends each burst at once, one frame per VIP per refresh, and no extra burst on a lower-priority advert)", s.key()),
            ),
            "vrrp_rt_priority" => {
                let p = parse_num(s, 1)?.clamp(1, 99);
                cfg.globals.push(("realtime_priority".into(), p.to_string()));
                n.info(&s.loc, "vrrp_rt_priority: vipd's realtime_priority needs CAP_SYS_NICE and the systemd drop-in (see docs/src/howto/realtime.md)");
            }
            "vrrp_no_swap" => cfg.globals.push(("lock_memory".into(), "true".into())),
            "router_id" | "lvs_id" | "vrrp_priority" | "max_auto_priority" | "vrrp_skip_check_adv_addr"
            | "vrrp_check_unicast_src" | "vrrp_iptables" | "vrrp_ipsets" | "vrrp_nftables" | "dynamic_interfaces"
            | "vrrp_lower_priority_dont_send_advert" | "vrrp_higher_prio_send_advert" => {
                n.info(&s.loc, format!("`{}` has no counterpart in vipd and changes nothing on the wire: left out", s.key()))
            }
            "notification_email" | "notification_email_from" | "smtp_server" | "smtp_connect_timeout"
            | "smtp_helo_name" | "smtp_alert" | "smtp_alert_vrrp" | "smtp_alert_checker" | "no_email_faults" => {
                n.review(&s.loc, format!("`{}`: vipd sends no mail; run a mailer from a notify hook, or alert on vipd's metrics", s.key()))
            }
            k if k.starts_with("enable_snmp") || k == "snmp_socket" || k == "enable_traps" => n.review(
                &s.loc,
                format!("`{k}`: vipd has no SNMP agent; scrape its Prometheus metrics or `vipctl status --json` instead"),
            ),
            k if k.starts_with("enable_dbus") => n.review(
                &s.loc,
                format!("`{k}`: vipd has no DBus interface; use its control socket (`vipctl status --json`, `vipctl watch --json`)"),
            ),
            "vrrp_mcast_group4" if s.arg(1) == Some("224.0.0.18") => {}
            "vrrp_mcast_group6" if s.arg(1).is_some_and(|a| a.eq_ignore_ascii_case("ff02::12")) => {}
            "vrrp_mcast_group4" | "vrrp_mcast_group6" => n.review(
                &s.loc,
                format!("`{}`: vipd sends to the RFC's group (224.0.0.18 / ff02::12) only: peers must use it, or unicast_peers", s.key()),
            ),
            other => n.review(&s.loc, format!("global_defs `{other}` is not converted")),
        }
    }
    Ok(())
}

/// Converts a statement tree; `source` and `host` are shown in the header.
pub fn convert(stmts: &[Stmt], source: &str, host: &str) -> Result<Config, ConvertError> {
    let mut cfg = Config {
        source: source.to_string(),
        host: host.to_string(),
        ..Config::default()
    };
    let mut g = Globals::default();
    let mut trackers = Trackers::default();
    // Definitions first: keepalived resolves names after reading everything.
    for s in stmts {
        match s.key() {
            "global_defs" => global_defs(s, &mut g, &mut cfg)?,
            "vrrp_script" => trackers.define(Kind::Script, s, &mut cfg.notes)?,
            "vrrp_track_process" | "track_process" => {
                trackers.define(Kind::Process, s, &mut cfg.notes)?
            }
            "track_file" | "vrrp_track_file" => trackers.define(Kind::File, s, &mut cfg.notes)?,
            _ => {}
        }
    }
    let mut groups_raw = Vec::new();
    for s in stmts {
        match s.key() {
            "global_defs" | "vrrp_script" | "vrrp_track_process" | "track_process" | "track_file"
            | "vrrp_track_file" => {}
            "vrrp_instance" => {
                let inst = instance::convert(s, &g, &mut trackers, &cfg.instances)?;
                cfg.instances.push(inst);
            }
            "vrrp_sync_group" => groups_raw.push(s),
            "virtual_server" | "virtual_server_group" => cfg.notes.review(
                &s.loc,
                format!(
                    "`{}` (LVS/IPVS load balancing) is out of vipd's scope: keep keepalived for it, \
                     running only its checker (`keepalived --check`), or move to another balancer",
                    s.key()
                ),
            ),
            "static_ipaddress" | "static_routes" | "static_rules" => cfg.notes.review(
                &s.loc,
                format!("`{}`: vipd manages only VIPs; configure these addresses/routes in the host's network configuration", s.key()),
            ),
            "garp_group" => cfg.notes.review(&s.loc, "`garp_group`: vipd has no delays between gratuitous ARPs/NAs"),
            "bfd_instance" => cfg.notes.review(&s.loc, "`bfd_instance`: vipd has no BFD; a tracked check (tcp, exec) can stand in"),
            "linkbeat_interfaces" => cfg.notes.info(&s.loc, "`linkbeat_interfaces`: vipd follows links through netlink"),
            other => cfg.notes.review(&s.loc, format!("top-level `{other}` is not converted")),
        }
    }
    if cfg.instances.is_empty() {
        let loc = stmts.first().map(|s| s.loc.clone()).unwrap_or(Loc {
            file: source.into(),
            line: 1,
        });
        return Err(ConvertError::at(
            &loc,
            "no vrrp_instance: nothing to convert",
        ));
    }
    for s in groups_raw {
        if let Some(group) = sync_group(s, &g, &mut trackers, &mut cfg)? {
            cfg.groups.push(group);
        }
    }
    trackers.unused(&mut cfg.notes);
    // Checks only sync-group members tracked with a weight (left out above) go too.
    let tracked: BTreeSet<String> = cfg
        .instances
        .iter()
        .flat_map(|i| i.track.iter().map(|t| t.check.clone()))
        .collect();
    for c in &trackers.checks {
        if !tracked.contains(&c.name) {
            cfg.notes.info(
                &c.loc,
                format!("`{}` is left out: only sync group members track it, with a weight keepalived ignores", c.what),
            );
        }
    }
    cfg.checks = trackers
        .checks
        .into_iter()
        .filter(|c| tracked.contains(&c.name))
        .collect();
    Ok(cfg)
}

/// keepalived.conf(5) "VRRP synchronization group(s)".
fn sync_group(
    stmt: &Stmt,
    g: &Globals,
    trackers: &mut Trackers,
    cfg: &mut Config,
) -> Result<Option<Group>, ConvertError> {
    let name = stmt.arg(1).unwrap_or("").to_string();
    let mut notes = Notes::default();
    let mut members = Vec::new();
    let mut notify = Hooks::default();
    let mut positional = false;
    let mut tracks = Vec::new();
    let mut keep_weights = false;
    for s in stmt.block.iter().flatten() {
        match s.key() {
            "group" => {
                for (w, loc, _) in s.block_words() {
                    match cfg.instances.iter().find(|i| i.keepalived_name == w) {
                        Some(i) if cfg.groups.iter().any(|g| g.instances.contains(&i.name)) => notes.review(
                            &loc,
                            format!("`{w}` is already in another sync group: vipd allows one group per instance, so it is left out here"),
                        ),
                        Some(i) => members.push(i.name.clone()),
                        None => notes.review(&loc, format!("sync group member `{w}` is no vrrp_instance (keepalived ignores it)")),
                    }
                }
            }
            "notify_master" => notify.master = Some(hook(s, &mut notes)?),
            "notify_backup" => notify.backup = Some(hook(s, &mut notes)?),
            "notify_fault" => notify.fault = Some(hook(s, &mut notes)?),
            "notify_stop" => notify.stop = Some(hook(s, &mut notes)?),
            "notify" => {
                notify.any = Some(hook(s, &mut notes)?);
                positional = true;
            }
            "track_script" | "track_interface" | "track_file" | "track_process" => {
                let kind = match s.key() {
                    "track_script" => Kind::Script,
                    "track_interface" => Kind::Interface,
                    "track_file" => Kind::File,
                    _ => Kind::Process,
                };
                tracks.extend(trackers.track_block(kind, s, &g.script_user, &mut notes)?);
                notes.info(
                    &s.loc,
                    format!("the group's `{}` is tracked by each member", s.key()),
                );
            }
            "global_tracking" | "sync_group_tracking_weight" => keep_weights = true,
            "smtp_alert" => notes.review(
                &s.loc,
                "`smtp_alert`: vipd sends no mail; use a notify hook",
            ),
            other => notes.review(
                &s.loc,
                format!("`{other}` in a vrrp_sync_group is not converted"),
            ),
        }
    }
    let mut seen = BTreeSet::new();
    members.retain(|m| seen.insert(m.clone()));
    let others: Vec<(&str, &Vec<String>)> = notify
        .entries()
        .into_iter()
        .filter(|(k, _)| *k != "any")
        .collect();
    if positional && others.iter().any(|(_, argv)| argv.len() > 1) {
        notes.review(
            &stmt.loc,
            "with `notify`, vipd appends GROUP NAME STATE 0 to every group hook (notify_positional), also to \
             notify_master/backup/fault/stop, which keepalived runs with their own arguments only: check that \
             those scripts ignore extra arguments",
        );
    } else if positional && !others.is_empty() {
        notes.info(
            &stmt.loc,
            "with `notify`, every group hook gets GROUP NAME STATE 0 appended (notify_positional)",
        );
    }
    // keepalived ignores weighted trackers of members unless told otherwise
    // (keepalived.conf(5), "VRRP synchronization group(s)"): so does the conversion.
    for inst in cfg
        .instances
        .iter_mut()
        .filter(|i| members.contains(&i.name))
    {
        if !keep_weights {
            let before = inst.track.len();
            inst.track.retain(|t| t.weight == 0);
            if inst.track.len() != before {
                inst.notes.info(
                    &inst.loc,
                    format!("member of sync group `{name}`: keepalived ignores its weighted trackers, so they are left out (vipd would apply them)"),
                );
            }
        }
        for t in &tracks {
            if !inst.track.iter().any(|x| x.check == t.check) {
                inst.track.push(t.clone());
            }
        }
    }
    if members.len() < 2 {
        cfg.notes.review(
            &stmt.loc,
            format!("sync group `{name}` has fewer than two instances: vipd refuses such a group, so it is left out"),
        );
        return Ok(None);
    }
    let clean = instance::vipd_name(&name);
    if clean != name {
        notes.review(&stmt.loc, format!("group `{name}` is `{clean}` in vipd (1-15 of A-Z a-z 0-9 _ -): hooks see the new name"));
    }
    Ok(Some(Group {
        name: clean,
        loc: stmt.loc.clone(),
        instances: members,
        notify,
        notify_positional: positional,
        notes,
    }))
}
