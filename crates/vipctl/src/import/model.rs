//! What the converter builds before writing YAML: vipd's shapes, each with the notes
//! (review items and remarks) that belong next to it in the output.

use super::source::Loc;

/// How serious a note is: a review item makes the exit status 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Converted with a difference worth knowing; nothing to do.
    Info,
    /// Not converted, or converted with a difference a person must decide on.
    Review,
}

#[derive(Clone, Debug)]
pub struct Note {
    pub level: Level,
    pub loc: Loc,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Notes(pub Vec<Note>);

impl Notes {
    pub fn info(&mut self, loc: &Loc, message: impl Into<String>) {
        self.0.push(Note {
            level: Level::Info,
            loc: loc.clone(),
            message: message.into(),
        });
    }
    pub fn review(&mut self, loc: &Loc, message: impl Into<String>) {
        self.0.push(Note {
            level: Level::Review,
            loc: loc.clone(),
            message: message.into(),
        });
    }
}

/// One entry of `checks:`.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub what: String,
    pub loc: Loc,
    /// `(key, value)` lines, values already YAML.
    pub fields: Vec<(String, String)>,
    pub notes: Notes,
}

/// One `track:` entry.
#[derive(Clone, Debug)]
pub struct Track {
    pub check: String,
    pub weight: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Hooks {
    pub master: Option<Vec<String>>,
    pub backup: Option<Vec<String>>,
    pub fault: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    pub any: Option<Vec<String>>,
}

impl Hooks {
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.any.is_none()
    }
    pub fn entries(&self) -> Vec<(&'static str, &Vec<String>)> {
        [
            ("master", &self.master),
            ("backup", &self.backup),
            ("fault", &self.fault),
            ("stopped", &self.stop),
            ("any", &self.any),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Garp {
    pub count: Option<u32>,
    pub repeat_after: Option<f64>,
    pub refresh: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub keepalived_name: String,
    pub loc: Loc,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub advert_interval: String,
    pub version: u8,
    pub preempt: bool,
    pub preempt_delay: Option<String>,
    pub vips: Vec<String>,
    pub garp: Garp,
    pub unicast_peers: Vec<String>,
    pub track: Vec<Track>,
    pub notify: Hooks,
    pub notify_positional: bool,
    pub notes: Notes,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub loc: Loc,
    pub instances: Vec<String>,
    pub notify: Hooks,
    pub notify_positional: bool,
    pub notes: Notes,
}

/// The whole converted configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub source: String,
    pub host: String,
    /// Top-level `(key, value)` lines.
    pub globals: Vec<(String, String)>,
    pub notes: Notes,
    pub checks: Vec<Check>,
    pub instances: Vec<Instance>,
    pub groups: Vec<Group>,
}

impl Config {
    pub fn all_notes(&self) -> Vec<&Note> {
        let mut all: Vec<&Note> = self.notes.0.iter().collect();
        for c in &self.checks {
            all.extend(&c.notes.0);
        }
        for i in &self.instances {
            all.extend(&i.notes.0);
        }
        for g in &self.groups {
            all.extend(&g.notes.0);
        }
        all
    }
    pub fn reviews(&self) -> usize {
        self.all_notes()
            .iter()
            .filter(|n| n.level == Level::Review)
            .count()
    }
}
