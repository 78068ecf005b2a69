//! keepalived's trackers (`vrrp_script`, `vrrp_track_process`, `track_file`,
//! `track_interface`) as vipd checks, and the `track_*` lists that refer to them.

use std::collections::BTreeMap;

use super::convert::{parse_num, seconds, ConvertError, ScriptUser};
use super::emit::{duration, flow_list, scalar};
use super::model::{Check, Notes, Track};
use super::source::{split_script, Loc};
use super::tree::Stmt;

/// The kinds of tracker, each its own namespace in keepalived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Script,
    Process,
    File,
    Interface,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::Script => "track_script",
            Kind::Process => "track_process",
            Kind::File => "track_file",
            Kind::Interface => "track_interface",
        }
    }
}

/// A tracker's definition block, kept until some instance tracks it (keepalived runs
/// only tracked scripts).
#[derive(Clone, Debug)]
pub struct Definition {
    pub stmt: Stmt,
    pub weight: i64,
    pub reverse: bool,
}

/// The definitions and the checks made from them so far.
#[derive(Default)]
pub struct Trackers {
    pub defs: BTreeMap<(Kind, String), Definition>,
    pub made: BTreeMap<(Kind, String), String>,
    pub checks: Vec<Check>,
}

impl Trackers {
    /// Remembers a `vrrp_script` / `vrrp_track_process` / `track_file` block.
    pub fn define(
        &mut self,
        kind: Kind,
        stmt: &Stmt,
        notes: &mut Notes,
    ) -> Result<(), ConvertError> {
        let Some(name) = stmt.arg(1) else {
            return Err(ConvertError::at(
                &stmt.loc,
                format!("`{}` needs a name", stmt.key()),
            ));
        };
        let mut weight = if kind == Kind::File { 1 } else { 0 };
        let mut reverse = false;
        for s in stmt.block.iter().flatten() {
            if s.key() == "weight" {
                weight = parse_num(s, 1)?;
                reverse = s.arg(2) == Some("reverse");
            }
        }
        if self.defs.contains_key(&(kind, name.to_string())) {
            notes.review(
                &stmt.loc,
                format!(
                    "`{} {name}` is defined twice: the last one is used",
                    stmt.key()
                ),
            );
        }
        self.defs.insert(
            (kind, name.to_string()),
            Definition {
                stmt: stmt.clone(),
                weight,
                reverse,
            },
        );
        Ok(())
    }

    /// Definitions no instance tracks: keepalived does not run them either.
    pub fn unused(&self, notes: &mut Notes) {
        for ((kind, name), d) in &self.defs {
            if !self.made.contains_key(&(*kind, name.clone())) {
                notes.info(
                    &d.stmt.loc,
                    format!("`{} {name}` is tracked by no instance (keepalived does not run it): not converted", d.stmt.key()),
                );
            }
        }
    }

    /// A `track_*` block of an instance or sync group into track entries.
    pub fn track_block(
        &mut self,
        kind: Kind,
        stmt: &Stmt,
        user: &ScriptUser,
        notes: &mut Notes,
    ) -> Result<Vec<Track>, ConvertError> {
        let mut out = Vec::new();
        let words = stmt.block_words();
        let mut i = 0;
        while i < words.len() {
            let (name, loc, row) = (&words[i].0, &words[i].1, words[i].2);
            i += 1;
            let mut weight: Option<i64> = None;
            let mut reverse = false;
            while i < words.len() && words[i].2 == row {
                match words[i].0.as_str() {
                    "weight" => {
                        let w = words.get(i + 1).map(|w| w.0.as_str()).unwrap_or("");
                        weight = Some(w.parse().map_err(|_| {
                            ConvertError::at(loc, format!("`weight {w}` is not a number"))
                        })?);
                        i += 2;
                    }
                    "reverse" => {
                        reverse = true;
                        i += 1;
                    }
                    "noreverse" => i += 1,
                    _ => break,
                }
            }
            let def_weight = self
                .defs
                .get(&(kind, name.clone()))
                .map(|d| (d.weight, d.reverse));
            let (weight, reverse) = match (weight, def_weight) {
                (Some(w), _) => (w, reverse),
                (None, Some((w, r))) => (w, r || reverse),
                (None, None) => (0, reverse),
            };
            let Some(check) = self.check_for(kind, name, loc, user, weight, notes)? else {
                continue;
            };
            let mut weight = weight;
            if reverse {
                if kind == Kind::File {
                    // The file's value times a negated weight is the same adjustment.
                    weight = -weight;
                } else {
                    notes.review(
                        loc,
                        format!(
                            "`{name}` is tracked with `reverse`: vipd has no reverse tracking; \
                             it is tracked {} — invert the check itself (e.g. a wrapper script) \
                             if you need the reversed sense",
                            if weight == 0 {
                                "plainly (Fault while failing)"
                            } else {
                                "with its weight as written"
                            }
                        ),
                    );
                }
            }
            if !(-254..=254).contains(&weight) {
                return Err(ConvertError::at(
                    loc,
                    format!("weight {weight} of `{name}` is outside -254..=254"),
                ));
            }
            out.push(Track { check, weight });
        }
        Ok(out)
    }

    /// The vipd check for a tracker, made on first use.
    fn check_for(
        &mut self,
        kind: Kind,
        name: &str,
        loc: &Loc,
        user: &ScriptUser,
        weight: i64,
        notes: &mut Notes,
    ) -> Result<Option<String>, ConvertError> {
        if let Some(made) = self.made.get(&(kind, name.to_string())) {
            return Ok(Some(made.clone()));
        }
        let check = if kind == Kind::Interface {
            Check {
                name: String::new(),
                what: format!("track_interface {name}"),
                loc: loc.clone(),
                fields: vec![("interface".into(), scalar(name))],
                notes: Notes::default(),
            }
        } else {
            let Some(def) = self.defs.get(&(kind, name.to_string())).cloned() else {
                notes.review(
                    loc,
                    format!(
                        "`{} {name}`: nothing of that name is defined (keepalived ignores it): not tracked",
                        kind.keyword()
                    ),
                );
                return Ok(None);
            };
            match kind {
                Kind::Script => script_check(&def.stmt, user, weight)?,
                Kind::Process => process_check(&def.stmt)?,
                _ => file_check(&def.stmt)?,
            }
        };
        let base = match kind {
            Kind::Interface => format!("if-{name}"),
            _ => name.to_string(),
        };
        let vipd_name = self.unique_name(&base, kind, loc, notes);
        self.made
            .insert((kind, name.to_string()), vipd_name.clone());
        self.checks.push(Check {
            name: vipd_name.clone(),
            ..check
        });
        Ok(Some(vipd_name))
    }

    fn unique_name(&self, base: &str, kind: Kind, loc: &Loc, notes: &mut Notes) -> String {
        let mut clean: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .take(56)
            .collect();
        if clean.is_empty() {
            clean = "check".into();
        }
        let taken = |n: &str| self.checks.iter().any(|c| c.name == n);
        let suffix = match kind {
            Kind::Script => "script",
            Kind::Process => "process",
            Kind::File => "file",
            Kind::Interface => "if",
        };
        let mut name = clean.clone();
        if taken(&name) {
            name = format!("{clean}-{suffix}");
        }
        let mut k = 2;
        while taken(&name) {
            name = format!("{clean}-{suffix}{k}");
            k += 1;
        }
        if name != base {
            notes.info(loc, format!("`{base}` is the check `{name}` (vipd's check names are letters, digits, '_', '-', '.' and unique across kinds)"));
        }
        name
    }
}

/// Program and arguments of a keepalived script string: vipd runs no shell and wants an
/// absolute program; keepalived looks a bare name up in PATH, so does `/usr/bin/env`.
pub fn argv(script: &str, loc: &Loc, notes: &mut Notes) -> Result<Vec<String>, ConvertError> {
    let mut args = split_script(script);
    let Some(program) = args.first() else {
        return Err(ConvertError::at(loc, "the script is empty"));
    };
    if !program.starts_with('/') {
        notes.info(
            loc,
            format!("`{program}` is not an absolute path: run through /usr/bin/env, which finds it in PATH as keepalived does"),
        );
        args.insert(0, "/usr/bin/env".into());
    }
    Ok(args)
}

/// keepalived.conf(5) "VRRP script(s)": interval (1 s), timeout (= interval), rise and
/// fall (1), user, init_fail. `weight` is that of the first track of it.
fn script_check(stmt: &Stmt, user: &ScriptUser, weight: i64) -> Result<Check, ConvertError> {
    let mut notes = Notes::default();
    let mut script: Option<(String, Loc)> = None;
    let mut interval = 1.0;
    let mut timeout: Option<f64> = None;
    let (mut rise, mut fall) = (1i64, 1i64);
    let mut init_fail = false;
    let mut run_as = user.user.clone();
    for s in stmt.block.iter().flatten() {
        match s.key() {
            "script" => script = Some((s.words[1..].join(" "), s.loc.clone())),
            "interval" => interval = seconds(s, 1)?,
            "timeout" => timeout = Some(seconds(s, 1)?),
            "rise" => rise = parse_num(s, 1)?,
            "fall" => fall = parse_num(s, 1)?,
            "weight" => {}
            "init_fail" => init_fail = true,
            "user" => {
                run_as = s.arg(1).map(str::to_string);
                if s.arg(2).is_some() {
                    notes.review(&s.loc, "a group for the script: vipd runs it with the user's primary group and no supplementary groups");
                }
            }
            other => notes.review(
                &s.loc,
                format!("`{other}` in a vrrp_script is not converted"),
            ),
        }
    }
    let Some((script, sloc)) = script else {
        return Err(ConvertError::at(&stmt.loc, "vrrp_script without `script`"));
    };
    // keepalived's script strings may hold several quoted words: the joined string is
    // split again as keepalived splits a script.
    let args = argv(&script, &sloc, &mut notes)?;
    if !(0.1..=3600.0).contains(&interval) {
        notes.review(
            &stmt.loc,
            format!(
                "interval {interval}s: vipd runs checks every 100ms to 60m; {} is used",
                duration(interval.clamp(0.1, 3600.0))
            ),
        );
    }
    let interval = interval.clamp(0.1, 3600.0);
    let timeout = timeout.unwrap_or(interval);
    let mut fields = vec![
        ("exec".to_string(), flow_list(&args)),
        ("interval".into(), duration(interval)),
        ("timeout".into(), duration(timeout)),
        ("rise".into(), rise.clamp(1, 100).to_string()),
        ("fall".into(), fall.clamp(1, 100).to_string()),
    ];
    if rise > 100 || fall > 100 {
        notes.review(&stmt.loc, "rise/fall above 100: vipd's limit is 100");
    }
    // keepalived starts a script "one success from up" (vrrp_init_script): until its
    // first result it neither lets a fault-tracking instance up nor adds a positive
    // weight, and subtracts a negative one only after a failure; vipd's first result
    // counts at once too. So: down, but up for a negative weight (unless `init_fail`).
    let init = if weight < 0 && !init_fail {
        "up"
    } else {
        "down"
    };
    fields.push(("init".into(), init.into()));
    match run_as {
        Some(u) => fields.push(("user".into(), scalar(&u))),
        None => notes.info(
            &stmt.loc,
            "keepalived runs scripts as keepalived_script (if that user exists) or root; vipd runs this one as its own user: add `user:` if it needs another",
        ),
    }
    Ok(Check {
        name: String::new(),
        what: format!("vrrp_script {}", stmt.arg(1).unwrap_or("")),
        loc: stmt.loc.clone(),
        fields,
        notes,
    })
}

/// keepalived.conf(5) "VRRP track processes": `process NAME` as a process check by name.
fn process_check(stmt: &Stmt) -> Result<Check, ConvertError> {
    let mut notes = Notes::default();
    let mut name = None;
    for s in stmt.block.iter().flatten() {
        match s.key() {
            "process" => {
                name = s.arg(1).map(str::to_string);
                if s.words.len() > 2 {
                    notes.review(
                        &s.loc,
                        "process parameters: vipd matches the process name only (comm or argv[0])",
                    );
                }
            }
            "weight" => {}
            "quorum" if s.arg(1) == Some("1") => {}
            "quorum" | "quorum_max" => notes.review(
                &s.loc,
                format!(
                    "`{}`: vipd's process check is up while at least one matching process runs",
                    s.key()
                ),
            ),
            "param_match" | "full_command" => notes.review(
                &s.loc,
                format!(
                    "`{}`: vipd matches the process name only (comm or argv[0])",
                    s.key()
                ),
            ),
            "delay" | "fork_delay" | "terminate_delay" => notes.review(
                &s.loc,
                format!(
                    "`{}`: vipd takes a process's death and return at once",
                    s.key()
                ),
            ),
            other => notes.review(
                &s.loc,
                format!("`{other}` in a vrrp_track_process is not converted"),
            ),
        }
    }
    let Some(name) = name else {
        return Err(ConvertError::at(
            &stmt.loc,
            "vrrp_track_process without `process`",
        ));
    };
    Ok(Check {
        name: String::new(),
        what: format!("vrrp_track_process {}", stmt.arg(1).unwrap_or("")),
        loc: stmt.loc.clone(),
        fields: vec![("process".into(), format!("{{name: {}}}", scalar(&name)))],
        notes,
    })
}

/// keepalived.conf(5) "Track files": the file's integer times the weight.
fn file_check(stmt: &Stmt) -> Result<Check, ConvertError> {
    let mut notes = Notes::default();
    let mut file = None;
    for s in stmt.block.iter().flatten() {
        match s.key() {
            "file" => file = s.arg(1).map(str::to_string),
            "weight" => {}
            "init_file" => notes.review(&s.loc, "`init_file`: vipd does not create or write the file (a missing file reads 0): create it before vipd starts"),
            other => notes.review(&s.loc, format!("`{other}` in a track_file is not converted")),
        }
    }
    let Some(file) = file else {
        return Err(ConvertError::at(&stmt.loc, "track_file without `file`"));
    };
    if !file.starts_with('/') {
        return Err(ConvertError::at(
            &stmt.loc,
            format!("track_file `{file}` is not an absolute path"),
        ));
    }
    notes.info(
        &stmt.loc,
        "keepalived reads the file when it changes; vipd polls it every second",
    );
    Ok(Check {
        name: String::new(),
        what: format!("track_file {}", stmt.arg(1).unwrap_or("")),
        loc: stmt.loc.clone(),
        fields: vec![("file".into(), scalar(&file))],
        notes,
    })
}
