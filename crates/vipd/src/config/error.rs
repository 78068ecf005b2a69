//! [`ConfigError`]: every problem with a config file, pinned to a file, line and field.
//!
//! Each part arrives separately from where the problem was found (`document`,
//! `deserialize`, `validate` with `locate`) as a [`Fault`]; nothing here reads the text
//! of another error.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::path::FieldPath;

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
}

/// A problem found in the text, not yet pinned to a file: the field to blame (the
/// document itself for a problem of syntax or shape), where it is, and what is wrong.
#[derive(Debug)]
pub(super) struct Fault {
    pub field: FieldPath,
    pub pos: Option<Position>,
    pub message: String,
}

impl Fault {
    /// The [`ConfigError`] for this problem in the file at `path`.
    pub(super) fn in_file(self, path: &Path) -> ConfigError {
        let path = path.to_owned();
        let Fault {
            field,
            pos,
            message,
        } = self;
        if field.is_root() {
            ConfigError::Syntax { path, pos, message }
        } else {
            ConfigError::Invalid {
                path,
                pos,
                field: field.to_string(),
                message,
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_fault_of_the_whole_document_has_no_field() {
        let pos = Some(Position { line: 1, column: 1 });
        let file = Path::new("/etc/vipd.yaml");
        let shape = Fault {
            field: FieldPath::root(),
            pos,
            message: "expected a mapping".into(),
        };
        let e = shape.in_file(file);
        assert!(matches!(e, ConfigError::Syntax { .. }));
        assert_eq!(e.to_string(), "/etc/vipd.yaml:1:1: expected a mapping");
        let field = Fault {
            field: FieldPath::root().key("instances"),
            pos: None,
            message: "at least one instance is required".into(),
        };
        let e = field.in_file(file);
        assert_eq!(e.field(), Some("instances"));
        assert_eq!(
            e.to_string(),
            "/etc/vipd.yaml: instances: at least one instance is required"
        );
    }
}
