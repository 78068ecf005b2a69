//! [`ConfigError`]: every problem with a config file, pinned to a file, line and field.
//!
//! Errors found while deserializing come from serde_norway, which reports a 1-based
//! line and column plus a message that starts with the field path (for example
//! `instances[0].vrid: 0 is out of range 1..=255 at line 3 column 11`). This module
//! splits such a message back into its parts. Errors found afterwards (cross-field
//! checks) are located with [`super::locate`]; [`super::document`] reports its own.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::document::DocumentError;

/// A 1-based line and column in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl From<serde_norway::Location> for Position {
    fn from(l: serde_norway::Location) -> Self {
        Position {
            line: l.line(),
            column: l.column(),
        }
    }
}

/// Why a config file was rejected.
///
/// Displays as `PATH:LINE:COL: FIELD: what is wrong`, e.g.
/// `/etc/vipd.yaml:7:15: instances[0].vrid: 0 is out of range 1..=255`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The text is not a YAML document of the expected shape (syntax errors, a list
    /// where the top-level mapping should be, several documents).
    #[error("{}: {message}", Where(path, *pos))]
    Syntax {
        path: PathBuf,
        pos: Option<Position>,
        message: String,
    },
    /// A field is unknown, missing, of the wrong type, out of range, or inconsistent
    /// with another field.
    #[error("{}: {field}: {message}", Where(path, *pos))]
    Invalid {
        path: PathBuf,
        pos: Option<Position>,
        /// Path of the offending field, e.g. `instances[1].garp.count`.
        field: String,
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the problem is on, when known.
    pub fn line(&self) -> Option<usize> {
        self.position().map(|p| p.line)
    }

    /// The 1-based column the problem is at, when known.
    pub fn column(&self) -> Option<usize> {
        self.position().map(|p| p.column)
    }

    /// Line and column together.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { pos, .. } | ConfigError::Invalid { pos, .. } => *pos,
        }
    }

    /// The path of the offending field, e.g. `instances[0].vrid`.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// What is wrong, without the file, position and field.
    pub fn message(&self) -> String {
        match self {
            ConfigError::Read { source, .. } => format!("cannot read: {source}"),
            ConfigError::Syntax { message, .. } | ConfigError::Invalid { message, .. } => {
                message.clone()
            }
        }
    }

    /// Why the text is not one well-formed YAML document.
    pub(super) fn from_document(path: &Path, err: DocumentError) -> ConfigError {
        match err {
            DocumentError::Yaml(e) => ConfigError::from_yaml(path, &e),
            DocumentError::RepeatedKey { field, key, pos } => ConfigError::Invalid {
                path: path.to_owned(),
                pos,
                field: field.to_string(),
                message: format!("duplicate field `{key}`"),
            },
            DocumentError::SecondDocument { pos } => ConfigError::Syntax {
                path: path.to_owned(),
                pos,
                message: "more than one document; a config file is a single YAML document"
                    .to_owned(),
            },
        }
    }

    /// Converts a serde_norway error, splitting its text into field path and message.
    pub(super) fn from_yaml(path: &Path, err: &serde_norway::Error) -> ConfigError {
        let pos = err.location().map(Position::from);
        let shown = strip_location(&err.to_string(), err.location());
        let (parent, message) = split_field_path(&shown);
        // serde names the key itself only in the message; put it in the path.
        let key = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split_once('`'))
            .map(|(key, _)| key);
        let field = match (parent, key) {
            (Some(p), Some(k)) => Some(format!("{p}.{k}")),
            (None, Some(k)) => Some(k.to_owned()),
            (Some(p), None) => Some(p.to_owned()),
            (None, None) => None,
        };
        match field {
            Some(field) => ConfigError::Invalid {
                path: path.to_owned(),
                pos,
                field,
                message: message.to_owned(),
            },
            None => ConfigError::Syntax {
                path: path.to_owned(),
                pos,
                message: message.to_owned(),
            },
        }
    }
}

/// `PATH:LINE:COL`, or just `PATH` without a position.
struct Where<'a>(&'a Path, Option<Position>);

impl fmt::Display for Where<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())?;
        if let Some(p) = self.1 {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        Ok(())
    }
}

/// Removes the ` at line L column C` (or ` at position N`) that serde_norway appends for
/// the error's own location, since [`ConfigError`] shows it up front. Other marks (such
/// as libyaml's "while scanning ... at line 2 column 11" context) are kept.
fn strip_location(text: &str, loc: Option<serde_norway::Location>) -> String {
    let Some(loc) = loc else {
        return text.to_owned();
    };
    for mark in [
        format!(" at line {} column {}", loc.line(), loc.column()),
        format!(" at position {}", loc.index()),
    ] {
        if let Some(at) = text.find(&mark) {
            return format!("{}{}", &text[..at], &text[at + mark.len()..]);
        }
    }
    text.to_owned()
}

/// Splits `instances[0].vrid: message` into the path and the message. A prefix counts
/// as a path only if it looks like one (identifiers, `.`, `[n]`), so messages such as
/// `invalid type: sequence, ...` are left whole.
fn split_field_path(text: &str) -> (Option<&str>, &str) {
    if let Some((head, rest)) = text.split_once(": ") {
        let looks_like_path = !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.[]?".contains(c))
            && head.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if looks_like_path {
            return (Some(head), rest);
        }
    }
    (None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_only_when_they_look_like_paths() {
        assert_eq!(
            split_field_path("instances[0].vrid: 0 is out of range"),
            (Some("instances[0].vrid"), "0 is out of range")
        );
        assert_eq!(
            split_field_path("invalid type: sequence, expected a map"),
            (None, "invalid type: sequence, expected a map")
        );
        assert_eq!(
            split_field_path("mapping values are not allowed in this context"),
            (None, "mapping values are not allowed in this context")
        );
    }

    #[test]
    fn display_has_file_position_and_field() {
        let e = ConfigError::Invalid {
            path: PathBuf::from("/etc/vipd.yaml"),
            pos: Some(Position {
                line: 7,
                column: 15,
            }),
            field: "instances[0].vrid".into(),
            message: "0 is out of range 1..=255".into(),
        };
        assert_eq!(
            e.to_string(),
            "/etc/vipd.yaml:7:15: instances[0].vrid: 0 is out of range 1..=255"
        );
        assert_eq!(e.line(), Some(7));
        assert_eq!(e.field(), Some("instances[0].vrid"));
    }
}
