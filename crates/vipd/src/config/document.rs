//! The first reading of the config text, before deserializing: it must be one YAML
//! document, well formed, with no key repeated within a mapping, its lines ended the way
//! people count them ([`line_breaks`]).
//!
//! Reading the whole document first matters for syntax errors: serde_norway hands the
//! deserializer a document up to its first syntax error and reports that error only if
//! nothing fails earlier, so a key indented too little would otherwise show up as a
//! "missing field" of its mapping. Repeated keys are caught here, at their second
//! occurrence, rather than by serde's derive, which blames the whole mapping.
//!
//! Every position is serde_norway's ([`serde_norway::Error::location`]); what went wrong
//! is known from the walk itself, never read from an error's text.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use super::error::{Fault, Position};
use super::line_breaks;
use super::locate;
use super::path::FieldPath;

/// Why the text is not one well-formed YAML document.
#[derive(Debug)]
pub(super) enum DocumentError {
    /// serde_norway could not read it (bad syntax, an unknown alias, nesting too deep).
    Yaml(serde_norway::Error),
    /// A key appears a second time in one mapping; `pos` is that second occurrence.
    RepeatedKey {
        field: FieldPath,
        key: String,
        pos: Option<Position>,
    },
    /// The file holds a second document, starting at `pos`.
    SecondDocument { pos: Option<Position> },
    /// A character YAML takes for a line break and people do not, at `pos`.
    OddLineBreak { pos: Position, name: &'static str },
}

impl From<DocumentError> for Fault {
    fn from(err: DocumentError) -> Fault {
        match err {
            // libyaml's message, whole: it names what it was parsing and where that began
            // (and repeats the position of the error itself).
            DocumentError::Yaml(e) => Fault {
                field: FieldPath::root(),
                pos: e.location().map(Position::from),
                message: e.to_string(),
            },
            DocumentError::RepeatedKey { field, key, pos } => Fault {
                field,
                pos,
                message: format!("duplicate field `{key}`"),
            },
            DocumentError::OddLineBreak { pos, name } => Fault {
                field: FieldPath::root(),
                pos: Some(pos),
                message: line_breaks::message(name),
            },
            DocumentError::SecondDocument { pos } => Fault {
                field: FieldPath::root(),
                pos,
                message: "more than one document; a config file is a single YAML document"
                    .to_owned(),
            },
        }
    }
}

/// Reads all of `text` as YAML, without deserializing it into anything.
pub(super) fn check(text: &str) -> Result<(), DocumentError> {
    if let Some((pos, name)) = line_breaks::first_odd_break(text) {
        return Err(DocumentError::OddLineBreak { pos, name });
    }
    let mut documents = serde_norway::Deserializer::from_str(text);
    if let Some(first) = documents.next() {
        let repeated = Cell::new(None);
        let walk = Node {
            path: FieldPath::root(),
            repeated: &repeated,
        };
        if let Err(e) = walk.deserialize(first) {
            return Err(match repeated.take() {
                Some((field, key)) => DocumentError::RepeatedKey {
                    field,
                    key,
                    pos: e.location().map(Position::from),
                },
                None => DocumentError::Yaml(e),
            });
        }
    }
    match documents.next() {
        Some(second) => Err(DocumentError::SecondDocument {
            pos: second_document_start(text, second),
        }),
        None => Ok(()),
    }
}

/// Where a second document starts: at its `---` if it has one.
///
/// serde_norway gives the position of the document's first node. Its `---` is on that
/// line before the node, or on a line above with only blank lines, comments and
/// directives in between; failing that, the document starts at its first node. One that
/// cannot be read starts, as far as anyone can tell, where reading it failed.
fn second_document_start(text: &str, second: serde_norway::Deserializer<'_>) -> Option<Position> {
    let node = match locate::location_in(second, &[]) {
        Ok(node) => node?,
        Err(e) => return e.location().map(Position::from),
    };
    // The index counts bytes after a byte order mark, which libyaml skips.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let before_node = text.get(..node.index()).unwrap_or_default();
    // The node's own line up to the node, then the lines above it, nearest first.
    for (above, line) in before_node.rsplit('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        let opens = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if opens {
            return Some(Position {
                line: node.line().saturating_sub(above),
                column: 1,
            });
        }
        let body = line.trim();
        let between = above == 0 || body.is_empty() || body.starts_with(['#', '%']);
        if !between {
            break;
        }
    }
    Some(Position::from(node))
}

/// The first repeated key met: its path, and the key itself.
type Repeated = Cell<Option<(FieldPath, String)>>;

/// Walks the node at `path` and everything under it.
struct Node<'a> {
    path: FieldPath,
    repeated: &'a Repeated,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    visit_scalars!(self => Ok(()));

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for index in 0.. {
            let element = Node {
                path: self.path.index(index),
                repeated: self.repeated,
            };
            if seq.next_element_seed(element)?.is_none() {
                break;
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        loop {
            let key = Key {
                mapping: &self.path,
                seen: &seen,
                repeated: self.repeated,
            };
            let Some(key) = map.next_key_seed(key)? else {
                return Ok(());
            };
            let path = match &key {
                Some(key) => self.path.key(key),
                None => self.path.unknown(),
            };
            map.next_value_seed(Node {
                path,
                repeated: self.repeated,
            })?;
            seen.extend(key);
        }
    }

    /// A tagged node (`!tag value`): the value is walked like any other.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let (IgnoredAny, value) = data.variant()?;
        value.newtype_variant_seed(self)
    }
}

/// A mapping key: `Some` if it is a string, `None` for any other node. Fails, at the
/// key's position, if the string is in `seen`.
struct Key<'a> {
    mapping: &'a FieldPath,
    seen: &'a HashSet<String>,
    repeated: &'a Repeated,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Option<String>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    visit_scalars!(self => Ok(None));

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<String>, E> {
        if self.seen.contains(key) {
            self.repeated
                .set(Some((self.mapping.key(key), key.to_owned())));
            return Err(E::custom("repeated key"));
        }
        Ok(Some(key.to_owned()))
    }

    // A key that is itself a collection or tagged: nothing to compare.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_enum(data).map(|_| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeated(text: &str) -> (String, usize, usize) {
        match check(text) {
            Err(DocumentError::RepeatedKey {
                field,
                pos: Some(p),
                ..
            }) => (field.to_string(), p.line, p.column),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn second_document_line(text: &str) -> Option<usize> {
        match check(text) {
            Err(DocumentError::SecondDocument { pos }) => pos.map(|p| p.line),
            Ok(()) => None,
            Err(other) => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn accepts_one_well_formed_document() {
        for text in [
            "",
            "# only a comment\n",
            "---\na: 1\n",
            "a: 1\n...\n",
            "a: [1, {b: 2}]\nc: !tag {d: 3}\ne: &x {f: 4}\ng: *x\n",
            // The same key in different mappings, and keys that are not strings.
            "a: {k: 1}\nb: {k: 2}\n1: x\n[1]: y\n",
        ] {
            assert!(check(text).is_ok(), "{text:?}: {:?}", check(text));
        }
    }

    #[test]
    fn finds_a_repeated_key_at_its_second_occurrence() {
        let text = "instances:\n  - name: a\n    vrid: 1\n    vrid: 2\n";
        assert_eq!(repeated(text), ("instances[0].vrid".into(), 4, 5));
        let top = "log_level: info\ninstances: []\nlog_level: warn\n";
        assert_eq!(repeated(top), ("log_level".into(), 3, 1));
        let flow = "a: [{b: 1, c: 2, b: 3}]\n";
        assert_eq!(repeated(flow), ("a[0].b".into(), 1, 18));
        let quoted = "a: 1\n\"a\": 2\n";
        assert_eq!(repeated(quoted), ("a".into(), 2, 1));
        let tagged = "a: !t {b: 1, b: 2}\n";
        assert_eq!(repeated(tagged), ("a.b".into(), 1, 14));
    }

    #[test]
    fn reports_syntax_errors_with_their_position() {
        for (text, line) in [
            ("a: [1, 2\n", 2),
            ("a:\n\tb: 1\n", 2),
            ("a: 1\n b: 2\n", 2),
            ("a: *nowhere\n", 1),
        ] {
            match check(text) {
                Err(DocumentError::Yaml(e)) => {
                    assert_eq!(e.location().map(|l| l.line()), Some(line), "{text:?}: {e}");
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn finds_where_the_second_document_starts() {
        assert_eq!(second_document_line("a: 1\n---\nb: 2\n"), Some(2));
        assert_eq!(
            second_document_line("# c\n---\na: 1\n--- \nb: 2\n"),
            Some(4)
        );
        assert_eq!(second_document_line("a: 1\n---\n# c\n\nb: 2\n"), Some(2));
        assert_eq!(second_document_line("a: 1\n--- {b: 2}\n"), Some(2));
        assert_eq!(second_document_line("a: 1\n---\n"), Some(2));
        assert_eq!(second_document_line("a: 1\r\n---\r\nb: 2\r\n"), Some(2));
        assert_eq!(
            second_document_line("\u{feff}a: é\n---\n# ü\nb: 2\n"),
            Some(2)
        );
        // After `...`, libyaml wants a `---`: it fails at what follows instead.
        assert_eq!(second_document_line("a: 1\n...\nb: 2\n"), Some(3));
        assert_eq!(second_document_line("a: 1\n...\n---\nb: 2\n"), Some(3));
        assert_eq!(second_document_line("---\na: 1\n"), None);
        assert_eq!(second_document_line("a: 1\n"), None);
    }
}
