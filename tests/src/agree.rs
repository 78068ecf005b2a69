//! Does what `vipctl` says agree with the kernel? The acceptance check every test that
//! runs vipd makes on each vipd host once things have settled:
//!
//! - for every instance in `vipctl status --json`, each VIP's `present` is whether
//!   `ip -j addr show dev <interface>` has that address;
//! - an instance is master exactly when its VIPs are on the interface: a master holds
//!   all of them, any other state none;
//! - `vipctl status` (text) lists the same instances in the same order, each with one
//!   `state:` line naming the same state and the same VIPs, present or absent alike.
//!
//! The three views are read one after another, so a host that is still settling may
//! show them out of step for a moment: [`Host::assert_vipctl_agrees_with_kernel`] polls
//! (bounded) until they agree and panics with all three if they never do.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vipd_api::{State, Status};

use crate::lan::{link_addresses, Host};
use crate::util::{run, wait_until};

/// How long [`Host::assert_vipctl_agrees_with_kernel`] waits for the views to agree.
pub const AGREE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often it looks again.
pub const AGREE_POLL: Duration = Duration::from_millis(50);

/// The kernel's addresses (`addr/prefix`) by interface, from `ip -j addr show dev ...`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelAddrs(pub BTreeMap<String, Vec<String>>);

impl KernelAddrs {
    /// Adds the interfaces and addresses of one `ip -j addr show` answer.
    pub fn add_ip_json(&mut self, json: &str) -> Result<(), String> {
        let v: Value =
            serde_json::from_str(json).map_err(|e| format!("ip -j addr: {e}: {json}"))?;
        let Some(links) = v.as_array() else {
            return Err(format!("ip -j addr: not a list: {json}"));
        };
        for link in links {
            let Some(name) = link["ifname"].as_str() else {
                continue;
            };
            self.0.insert(name.to_string(), link_addresses(link));
        }
        Ok(())
    }

    /// Whether `iface` has `addr` (any prefix length).
    pub fn has(&self, iface: &str, addr: IpAddr) -> bool {
        self.0.get(iface).is_some_and(|addrs| {
            addrs
                .iter()
                .any(|a| address_of(a).is_ok_and(|ip| ip == addr))
        })
    }
}

/// The address of `addr` or `addr/prefix`.
fn address_of(s: &str) -> Result<IpAddr, String> {
    let a = s.split('/').next().unwrap_or(s);
    a.parse()
        .map_err(|e| format!("{s:?} is not an address: {e}"))
}

/// One instance as `vipctl status` (text) shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInstance {
    pub name: String,
    /// The first word of every `state:` line (there should be exactly one).
    pub states: Vec<String>,
    /// `vip:` lines: address as printed and whether it says `present`.
    pub vips: Vec<(String, bool)>,
}

/// `vipctl status` (text), parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextStatus {
    /// The header's `instances: N`.
    pub header_instances: Option<usize>,
    pub instances: Vec<TextInstance>,
}

/// Parses the `label: value` report of `vipctl status`.
pub fn parse_status_text(text: &str) -> Result<TextStatus, String> {
    let mut out = TextStatus::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if n == 0 {
            if !line.starts_with("host: ") {
                return Err(format!("first line is not the `host:` header: {raw:?}"));
            }
            out.header_instances = line
                .split_once("instances: ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|c| c.parse().ok());
            continue;
        }
        let Some((label, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim();
        if label == "instance" {
            out.instances.push(TextInstance {
                name: value.to_string(),
                ..TextInstance::default()
            });
            continue;
        }
        if label != "state" && label != "vip" {
            continue;
        }
        let Some(inst) = out.instances.last_mut() else {
            return Err(format!(
                "line {} before any `instance:` line: {raw:?}",
                n + 1
            ));
        };
        let mut words = value.split_whitespace();
        let first = words.next().unwrap_or("").to_string();
        if label == "state" {
            inst.states.push(first);
        } else if first != "none" {
            let present = match words.next() {
                Some("present") => true,
                Some("absent") => false,
                _ => {
                    return Err(format!(
                        "vip line {} is not `<vip> present|absent`: {raw:?}",
                        n + 1
                    ))
                }
            };
            inst.vips.push((first, present));
        }
    }
    Ok(out)
}

/// Everything on which `json` (`vipctl status --json`), `text` (`vipctl status`) and
/// `kernel` disagree; empty when they agree.
pub fn disagreements(json: &Status, text: &str, kernel: &KernelAddrs) -> Vec<String> {
    let mut p = Vec::new();
    for inst in &json.instances {
        let who = format!("instance {} ({})", inst.name, inst.state.as_str());
        let (mut all, mut any) = (true, false);
        for vip in &inst.vips {
            let ip = match address_of(&vip.address) {
                Ok(ip) => ip,
                Err(e) => {
                    p.push(format!("{who}: VIP {e}"));
                    continue;
                }
            };
            let in_kernel = kernel.has(&inst.interface, ip);
            if vip.present != in_kernel {
                p.push(format!(
                    "{who}: --json says {} present={} but ip addr on {} {} it",
                    vip.address,
                    vip.present,
                    inst.interface,
                    if in_kernel { "has" } else { "lacks" }
                ));
            }
            all &= in_kernel;
            any |= in_kernel;
        }
        if !inst.vips.is_empty() {
            if inst.state == State::Master && !all {
                p.push(format!(
                    "{who}: master, but not all of its VIPs are on {}",
                    inst.interface
                ));
            }
            if inst.state != State::Master && any {
                p.push(format!(
                    "{who}: not master, but some of its VIPs are on {}",
                    inst.interface
                ));
            }
        }
    }
    let t = match parse_status_text(text) {
        Ok(t) => t,
        Err(e) => {
            p.push(format!("vipctl status: {e}"));
            return p;
        }
    };
    if t.header_instances != Some(json.instances.len()) {
        p.push(format!(
            "vipctl status header says instances: {:?}, --json has {}",
            t.header_instances,
            json.instances.len()
        ));
    }
    let names = |v: Vec<&str>| v.join(", ");
    let text_names = names(t.instances.iter().map(|i| i.name.as_str()).collect());
    let json_names = names(json.instances.iter().map(|i| i.name.as_str()).collect());
    if text_names != json_names {
        p.push(format!(
            "vipctl status shows instances [{text_names}], --json [{json_names}]"
        ));
    }
    for (j, ti) in json.instances.iter().zip(&t.instances) {
        let want = j.state.as_str();
        if ti.states != [want] {
            p.push(format!(
                "instance {}: vipctl status state line(s) {:?}, --json says {want}",
                j.name, ti.states
            ));
        }
        let json_vips: Vec<(String, bool)> = j
            .vips
            .iter()
            .map(|v| (v.address.clone(), v.present))
            .collect();
        if ti.vips != json_vips {
            p.push(format!(
                "instance {}: vipctl status VIPs {:?}, --json {json_vips:?}",
                j.name, ti.vips
            ));
        }
    }
    p
}

/// One reading of the three views on a host.
#[derive(Debug, Clone)]
pub struct VipctlViews {
    /// `vipctl status --json`.
    pub json: Result<Status, String>,
    /// `vipctl status`.
    pub text: Result<String, String>,
    /// `ip -j addr show dev <iface>` for eth0 and every instance's interface.
    pub kernel: Result<KernelAddrs, String>,
}

impl VipctlViews {
    /// What disagrees (including views that could not be read).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        for e in [
            self.json.as_ref().err(),
            self.text.as_ref().err(),
            self.kernel.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            p.push(e.clone());
        }
        if let (Ok(j), Ok(t), Ok(k)) = (&self.json, &self.text, &self.kernel) {
            p.extend(disagreements(j, t, k));
        }
        p
    }

    /// All three views, for a failure message.
    pub fn show(&self) -> String {
        let mut s = String::from("-- vipctl status --json:\n");
        match &self.json {
            Ok(j) => s.push_str(&serde_json::to_string_pretty(j).unwrap_or_else(|e| e.to_string())),
            Err(e) => s.push_str(e),
        }
        s.push_str("\n-- vipctl status:\n");
        match &self.text {
            Ok(t) => s.push_str(t),
            Err(e) => s.push_str(e),
        }
        s.push_str("\n-- ip addr:\n");
        match &self.kernel {
            Ok(k) => {
                for (iface, addrs) in &k.0 {
                    let _ = writeln!(s, "{iface}: {}", addrs.join(" "));
                }
            }
            Err(e) => s.push_str(e),
        }
        s
    }
}

/// What a successful [`Host::assert_vipctl_agrees_with_kernel`] saw.
#[derive(Debug, Clone)]
pub struct Agreed {
    pub json: Status,
    pub text: String,
    pub kernel: KernelAddrs,
}

impl Host {
    /// Reads `vipctl status --json`, `vipctl status` and the addresses of eth0 and of
    /// every instance's interface, in that order.
    pub fn vipctl_views(&self) -> VipctlViews {
        let json = self.try_vipctl_status_json();
        let text = self.try_vipctl_status_text();
        let mut ifaces = vec!["eth0".to_string()];
        if let Ok(st) = &json {
            for i in &st.instances {
                if !ifaces.contains(&i.interface) {
                    ifaces.push(i.interface.clone());
                }
            }
        }
        let mut kernel = KernelAddrs::default();
        let mut kernel_err = None;
        for iface in &ifaces {
            let out = run(Command::new("ip").args([
                "-n",
                self.ns().name(),
                "-j",
                "addr",
                "show",
                "dev",
                iface,
            ]));
            let res = if out.status.success() {
                kernel.add_ip_json(&String::from_utf8_lossy(&out.stdout))
            } else {
                Err(format!(
                    "ip -j addr show dev {iface} failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            };
            if let Err(e) = res {
                kernel_err = Some(e);
            }
        }
        VipctlViews {
            json,
            text,
            kernel: kernel_err.map_or(Ok(kernel), Err),
        }
    }

    /// `vipctl status --json` and `vipctl status` agree with `ip addr` on this host (see
    /// the [module](self) for exactly what that means). Polls every [`AGREE_POLL`] for
    /// up to [`AGREE_TIMEOUT`] so a host still settling can catch up, then panics with
    /// all three views. Returns the views that agreed.
    pub fn assert_vipctl_agrees_with_kernel(&self) -> Agreed {
        let mut last = None;
        let agreed = wait_until(AGREE_TIMEOUT, AGREE_POLL, || {
            let v = self.vipctl_views();
            let ok = v.problems().is_empty();
            last = Some(v);
            ok
        });
        let Some(v) = last else {
            panic!("{}: no reading of vipctl and ip addr was made", self.name);
        };
        match (agreed, v.json, v.text, v.kernel) {
            (true, Ok(json), Ok(text), Ok(kernel)) => {
                println!(
                    "{}: vipctl agrees with ip addr: {}",
                    self.name,
                    json.instances
                        .iter()
                        .map(|i| format!("{} {}", i.name, i.state.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                Agreed { json, text, kernel }
            }
            (_, json, text, kernel) => {
                let v = VipctlViews { json, text, kernel };
                panic!(
                    "{}: vipctl and ip addr still disagree after {AGREE_TIMEOUT:?}:\n- {}\n{}",
                    self.name,
                    v.problems().join("\n- "),
                    v.show()
                );
            }
        }
    }
}

/// [`Host::assert_vipctl_agrees_with_kernel`] on each of `hosts`.
pub fn assert_vipctl_agrees(hosts: &[&Host]) {
    for h in hosts {
        h.assert_vipctl_agrees_with_kernel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipd_api::{InstanceStatus, VipStatus};

    const TEXT: &str = "host: a   pid: 7   uptime: 1.0s   instances: 1

       instance: web
      interface: eth0
           vrid: 51
        version: 3
          state: master (master_down_timer)
       in state: 0.8s, 1 transition
            vip: 192.0.2.50/24    present
            vip: 2001:db8::50/64  present
          drops: none
";

    fn kernel(addrs: &[&str]) -> KernelAddrs {
        let mut k = KernelAddrs::default();
        k.0.insert("eth0".into(), addrs.iter().map(|a| a.to_string()).collect());
        k
    }

    fn status(state: State, present: bool) -> Status {
        Status {
            v: 1,
            host: "a".into(),
            pid: 7,
            uptime_s: 1.0,
            instances: vec![InstanceStatus {
                name: "web".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 3,
                state,
                reason: "master_down_timer".into(),
                priority_configured: 100,
                priority_effective: 100,
                local_address: Some("192.0.2.11".into()),
                master_address: None,
                master_priority: None,
                advert_interval_ms: 200,
                master_advert_interval_ms: None,
                kernel_error: None,
                last_advert_age_s: None,
                vips: ["192.0.2.50/24", "2001:db8::50/64"]
                    .iter()
                    .map(|a| VipStatus {
                        address: a.to_string(),
                        present,
                    })
                    .collect(),
                in_state_s: 0.8,
                last_transition_unix_s: None,
                transitions: 1,
                transitions_by_reason: Default::default(),
                adverts_sent: 1,
                adverts_received: 0,
                drops: BTreeMap::new(),
                address_mismatch: None,
                auth_alarms: 0,
                auth_failing: Vec::new(),
                tracking: Vec::new(),
                maintenance: false,
                handover_left_s: None,
                notify: None,
                group: None,
            }],
            interfaces: Vec::new(),
            checks: Vec::new(),
            peers: Vec::new(),
            announced: Vec::new(),
        }
    }

    #[test]
    fn parses_the_text_report() {
        let t = parse_status_text(TEXT).expect("parses");
        assert_eq!(t.header_instances, Some(1));
        assert_eq!(t.instances.len(), 1);
        assert_eq!(t.instances[0].name, "web");
        assert_eq!(t.instances[0].states, ["master"]);
        assert_eq!(
            t.instances[0].vips,
            [
                ("192.0.2.50/24".to_string(), true),
                ("2001:db8::50/64".to_string(), true)
            ]
        );
    }

    #[test]
    fn agreement_and_each_kind_of_disagreement() {
        let held = kernel(&["192.0.2.11/24", "192.0.2.50/24", "2001:db8:0:0::50/64"]);
        let bare = kernel(&["192.0.2.11/24"]);
        assert_eq!(
            disagreements(&status(State::Master, true), TEXT, &held),
            Vec::<String>::new()
        );
        // --json claims present, the kernel lacks them.
        assert!(!disagreements(&status(State::Master, true), TEXT, &bare).is_empty());
        // Master without its VIPs, consistently reported.
        let text = TEXT.replace("  present", "  absent");
        let p = disagreements(&status(State::Master, false), &text, &bare);
        assert!(p.iter().any(|l| l.contains("not all")), "{p:?}");
        // Backup holding VIPs.
        let text = TEXT.replace("state: master", "state: backup");
        let p = disagreements(&status(State::Backup, true), &text, &held);
        assert!(p.iter().any(|l| l.contains("not master")), "{p:?}");
        // The text names another state than --json.
        let p = disagreements(&status(State::Backup, false), TEXT, &bare);
        assert!(p.iter().any(|l| l.contains("state line")), "{p:?}");
        // Backup without VIPs and a text that says so agrees.
        let text = TEXT
            .replace("state: master", "state: backup")
            .replace("  present", "  absent");
        assert_eq!(
            disagreements(&status(State::Backup, false), &text, &bare),
            Vec::<String>::new()
        );
    }
}
