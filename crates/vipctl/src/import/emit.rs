//! Writing the converted configuration as vipd YAML, with the notes as comments next to
//! what they concern.

use std::fmt::Write;

use super::model::{Config, Hooks, Level, Note, Notes};

/// A string as a YAML scalar: plain when that reads back as the same string, else
/// double-quoted (JSON's escaping is valid YAML).
pub fn scalar(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | '+' | '='))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
        );
    let ipv4 = s.contains('.')
        && s.split('/')
            .next()
            .is_some_and(|a| a.parse::<std::net::Ipv4Addr>().is_ok());
    if plain || ipv4 {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// `[a, b]` with each element a scalar.
pub fn flow_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|i| scalar(i)).collect();
    format!("[{}]", parts.join(", "))
}

/// Seconds as a vipd duration: `1s`, `1.5s`, `250ms`.
pub fn duration(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as u64;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn note_lines(out: &mut String, indent: &str, notes: &Notes) {
    for n in &notes.0 {
        note_line(out, indent, n);
    }
}

fn note_line(out: &mut String, indent: &str, n: &Note) {
    let tag = match n.level {
        Level::Review => "REVIEW ",
        Level::Info => "",
    };
    let _ = writeln!(out, "{indent}# {tag}{}: {}", n.loc, n.message);
}

fn hooks(out: &mut String, indent: &str, h: &Hooks) {
    if h.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}notify:");
    for (k, argv) in h.entries() {
        let _ = writeln!(out, "{indent}  {k}: {}", flow_list(argv));
    }
}

/// The whole file.
pub fn yaml(c: &Config) -> String {
    let mut out = String::new();
    let reviews = c.reviews();
    let _ = writeln!(
        out,
        "# vipd configuration converted from {} by `vipctl import keepalived` (config id {}).",
        c.source, c.host
    );
    if reviews == 0 {
        let _ = writeln!(out, "# Complete: nothing needs review. Check it on the host with `vipd --config FILE --check`.");
    } else {
        let _ = writeln!(
            out,
            "# {reviews} item(s) marked REVIEW were not converted as keepalived runs them: decide on each before use."
        );
    }
    let _ = writeln!(
        out,
        "# Comments name the keepalived file:line each item comes from."
    );
    note_lines(&mut out, "", &c.notes);
    for (k, v) in &c.globals {
        let _ = writeln!(out, "{k}: {v}");
    }
    if !c.checks.is_empty() {
        let _ = writeln!(out, "checks:");
        for ch in &c.checks {
            let _ = writeln!(out, "  {}:  # {}: {}", scalar(&ch.name), ch.loc, ch.what);
            note_lines(&mut out, "    ", &ch.notes);
            for (k, v) in &ch.fields {
                let _ = writeln!(out, "    {k}: {v}");
            }
        }
    }
    let _ = writeln!(out, "instances:");
    for i in &c.instances {
        let _ = writeln!(
            out,
            "  - name: {}  # {}: vrrp_instance {}",
            scalar(&i.name),
            i.loc,
            i.keepalived_name
        );
        note_lines(&mut out, "    ", &i.notes);
        let _ = writeln!(out, "    interface: {}", scalar(&i.interface));
        let _ = writeln!(out, "    vrid: {}", i.vrid);
        let _ = writeln!(out, "    priority: {}", i.priority);
        let _ = writeln!(out, "    advert_interval: {}", i.advert_interval);
        let _ = writeln!(out, "    version: {}", i.version);
        let _ = writeln!(out, "    preempt: {}", i.preempt);
        if let Some(d) = &i.preempt_delay {
            let _ = writeln!(out, "    preempt_delay: {d}");
        }
        let _ = writeln!(out, "    vips: {}", flow_list(&i.vips));
        let mut garp = Vec::new();
        if let Some(n) = i.garp.count {
            garp.push(format!("count: {n}"));
        }
        if let Some(d) = i.garp.repeat_after {
            garp.push(format!("repeat_after: {}", duration(d)));
        }
        if let Some(d) = i.garp.refresh {
            garp.push(format!("refresh: {}", duration(d)));
        }
        if !garp.is_empty() {
            let _ = writeln!(out, "    garp: {{{}}}", garp.join(", "));
        }
        if !i.unicast_peers.is_empty() {
            let _ = writeln!(out, "    unicast_peers: {}", flow_list(&i.unicast_peers));
        }
        if !i.track.is_empty() {
            let _ = writeln!(out, "    track:");
            for t in &i.track {
                if t.weight == 0 {
                    let _ = writeln!(out, "      - {}", scalar(&t.check));
                } else {
                    let _ = writeln!(
                        out,
                        "      - {{check: {}, weight: {}}}",
                        scalar(&t.check),
                        t.weight
                    );
                }
            }
        }
        hooks(&mut out, "    ", &i.notify);
        if i.notify_positional {
            let _ = writeln!(out, "    notify_positional: true");
        }
    }
    if !c.groups.is_empty() {
        let _ = writeln!(out, "groups:");
        for g in &c.groups {
            let _ = writeln!(
                out,
                "  - name: {}  # {}: vrrp_sync_group",
                scalar(&g.name),
                g.loc
            );
            note_lines(&mut out, "    ", &g.notes);
            let _ = writeln!(out, "    instances: {}", flow_list(&g.instances));
            hooks(&mut out, "    ", &g.notify);
            if g.notify_positional {
                let _ = writeln!(out, "    notify_positional: true");
            }
        }
    }
    out
}
