//! Finding where a field is in the config text, for errors whose position serde_norway
//! does not give precisely: cross-field checks done after deserializing (duplicate
//! names, an interval that does not suit the version, ...) and repeated keys.
//!
//! serde_norway has no public API for its parser's events and their marks, but it stamps
//! every error raised while a node is visited with that node's line and column
//! ([`serde_norway::Error::location`]). So this walks the document again with
//! serde_norway's own deserializer towards the wanted node and, on arriving, rejects it
//! on purpose: the rejection's location is the node's, whatever the YAML style (block or
//! flow, quoted keys, comments, anchors). A flag set on arrival tells that rejection
//! from any other error; no error text is read.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::Position;
use super::path::{FieldPath, Step};

/// The position of the value at `path`, or of its nearest ancestor that is in the text
/// (a defaulted field is not). `None` only if not even the document start was read.
pub(super) fn locate(text: &str, path: &FieldPath) -> Option<Position> {
    let steps = path.steps();
    (0..=steps.len())
        .rev()
        .find_map(|len| probe(text, &steps[..len], Target::Node))
}

/// The position of the second occurrence of `key` in the mapping at `parent`.
pub(super) fn locate_repeated_key(text: &str, parent: &FieldPath, key: &str) -> Option<Position> {
    probe(text, parent.steps(), Target::RepeatedKey(key))
}

/// The position of the `---` that starts a second YAML document, if any.
pub(super) fn locate_second_document(text: &str) -> Option<Position> {
    let mut seen_content = false;
    for (i, line) in text.lines().enumerate() {
        let is_marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if is_marker && seen_content {
            return Some(Position {
                line: i + 1,
                column: 1,
            });
        }
        let body = line.trim();
        if is_marker || !(body.is_empty() || body.starts_with('#') || body.starts_with('%')) {
            seen_content = true;
        }
    }
    None
}

/// What to fail on once the walk has reached the end of the path.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    /// The node itself.
    Node,
    /// The second occurrence of this key in the mapping there.
    RepeatedKey(&'a str),
}

fn probe(text: &str, steps: &[Step], target: Target<'_>) -> Option<Position> {
    let de = serde_norway::Deserializer::from_str(text);
    let arrived = Cell::new(false);
    let probe = Probe {
        steps,
        target,
        arrived: &arrived,
    };
    match probe.deserialize(de) {
        Err(e) if arrived.get() => e.location().map(|l| Position {
            line: l.line(),
            column: l.column(),
        }),
        _ => None,
    }
}

/// Walks towards the node at `steps`; `Ok(())` means it is not there. `arrived` is set
/// when the target is rejected, so the error that ends the walk is known to be that
/// rejection.
struct Probe<'a> {
    steps: &'a [Step],
    target: Target<'a>,
    arrived: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        match (self.steps.first(), self.target) {
            // `Reject` accepts nothing, so the error carries this node's position.
            (None, Target::Node) => de.deserialize_any(Reject {
                arrived: self.arrived,
            }),
            _ => de.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let want = match (self.steps.split_first(), self.target) {
            (Some((Step::Key(want), rest)), _) => (want.as_str(), Some(rest)),
            (None, Target::RepeatedKey(key)) => (key, None),
            _ => return Ok(()),
        };
        let mut seen = false;
        while let Some(key) = map.next_key_seed(Key {
            fail_on: seen.then_some(want.0),
            arrived: self.arrived,
        })? {
            match want.1 {
                Some(rest) if key == want.0 => {
                    return map.next_value_seed(Probe {
                        steps: rest,
                        ..self
                    });
                }
                _ => {
                    seen |= key == want.0;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(want), rest)) = self.steps.split_first() else {
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        let next = Probe {
            steps: rest,
            ..self
        };
        seq.next_element_seed(next)?;
        Ok(())
    }

    // Scalars on the way are simply not the node we want.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A mapping key, failing (at the key's position) if it equals `fail_on`.
struct Key<'a> {
    fail_on: Option<&'a str>,
    arrived: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<String, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.fail_on == Some(key) {
            self.arrived.set(true);
            return Err(E::custom("repeated key"));
        }
        Ok(key.to_owned())
    }
}

/// A visitor that accepts nothing: whatever node it is given, it notes its arrival and
/// fails, and serde_norway stamps the failure with that node's position. (Only a visit
/// sets the flag: an error met before the node, such as a syntax error, leaves it unset.)
struct Reject<'a> {
    arrived: &'a Cell<bool>,
}

impl Reject<'_> {
    fn arrive<E: de::Error>(self) -> Result<(), E> {
        self.arrived.set(true);
        Err(E::custom("vipd is locating this node"))
    }
}

/// The visit methods serde_norway's `deserialize_any` calls for a scalar.
macro_rules! reject_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<(), E> {
            self.arrive()
        })*
    };
}

impl<'de> Visitor<'de> for Reject<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing (vipd is locating this node)")
    }

    reject_scalars!(
        visit_bool(bool),
        visit_i64(i64),
        visit_i128(i128),
        visit_u64(u64),
        visit_u128(u128),
        visit_f64(f64),
        visit_str(&str),
    );

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.arrive()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.arrive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, path: &FieldPath) -> (usize, usize) {
        let p = locate(text, path).expect("located");
        (p.line, p.column)
    }

    fn inst(i: usize) -> FieldPath {
        FieldPath::root().key("instances").index(i)
    }

    const BLOCK: &str = "\
# comment
log_level: info
instances:
  - name: web
    vrid: 51
    vips:
      - 192.0.2.1
      - 192.0.2.2
  - name: db   # trailing comment
    interface: eth1
    vrid: 52
    garp:
      count: 3
    vips: [192.0.2.3, \"192.0.2.4\"]
";

    #[test]
    fn finds_values_in_block_style() {
        assert_eq!(at(BLOCK, &FieldPath::root().key("log_level")), (2, 12));
        assert_eq!(at(BLOCK, &inst(0).key("name")), (4, 11));
        assert_eq!(at(BLOCK, &inst(0).key("vrid")), (5, 11));
        assert_eq!(at(BLOCK, &inst(0).key("vips").index(1)), (8, 9));
        assert_eq!(at(BLOCK, &inst(1).key("name")), (9, 11));
        assert_eq!(at(BLOCK, &inst(1).key("vrid")), (11, 11));
        assert_eq!(at(BLOCK, &inst(1).key("garp").key("count")), (13, 14));
    }

    #[test]
    fn finds_values_in_flow_style() {
        assert_eq!(at(BLOCK, &inst(1).key("vips").index(0)), (14, 12));
        assert_eq!(at(BLOCK, &inst(1).key("vips").index(1)), (14, 23));
        let flow = "instances: [{name: a, vrid: 1}, {name: b, vrid: 1}]\n";
        assert_eq!(at(flow, &inst(1).key("vrid")), (1, 49));
    }

    #[test]
    fn finds_every_kind_of_node() {
        let text = "a: 99999999999999999999\nb: !tag x\nc: ~\nd:\ne: -1.5\n";
        let key = |k| FieldPath::root().key(k);
        assert_eq!(at(text, &key("a")), (1, 4));
        assert_eq!(at(text, &key("b")), (2, 4));
        assert_eq!(at(text, &key("c")), (3, 4));
        assert_eq!(at(text, &key("e")), (5, 4));
        // serde_norway replays an alias from its anchor, so that is where it points.
        let anchored = "g: &x 1\nf: *x\n";
        assert_eq!(at(anchored, &key("f")), (1, 4));
    }

    #[test]
    fn falls_back_to_the_nearest_ancestor() {
        // `version` is absent from instance 0, so its mapping is the best answer.
        assert_eq!(at(BLOCK, &inst(0).key("version")), (4, 5));
        assert_eq!(at(BLOCK, &inst(7).key("name")), (4, 3));
        assert_eq!(at("{}", &FieldPath::root().key("instances")), (1, 1));
    }

    #[test]
    fn finds_a_repeated_key() {
        let text = "instances:\n  - name: a\n    vrid: 1\n    vrid: 2\n";
        let p = locate_repeated_key(text, &inst(0), "vrid").expect("found");
        assert_eq!((p.line, p.column), (4, 5));
        let top = "log_level: info\ninstances: []\nlog_level: warn\n";
        let p = locate_repeated_key(top, &FieldPath::root(), "log_level").expect("found");
        assert_eq!((p.line, p.column), (3, 1));
        assert_eq!(locate_repeated_key(text, &inst(0), "name"), None);
    }

    #[test]
    fn finds_the_second_document() {
        let pos = |t| locate_second_document(t).map(|p| p.line);
        assert_eq!(pos("a: 1\n---\nb: 2\n"), Some(2));
        assert_eq!(pos("# c\n---\na: 1\n--- \nb: 2\n"), Some(4));
        assert_eq!(pos("---\na: 1\n"), None);
        assert_eq!(pos("a: 1\n"), None);
    }

    #[test]
    fn broken_text_yields_what_was_read_before_the_break() {
        // The walk is streaming: nodes before the break are found, the rest fall back
        // to an ancestor. (Callers only locate fields in text that already parsed.)
        assert_eq!(at("a: [", &FieldPath::root().key("a")), (1, 4));
        assert_eq!(
            probe("a: 'open", &[Step::Key("a".into())], Target::Node),
            None
        );
        assert_eq!(at("a: 'open", &FieldPath::root().key("a")), (1, 1));
        assert_eq!(at("", &FieldPath::root().key("a")), (1, 1));
    }
}
