//! Where a node is in the config text, for problems found after deserializing (those
//! of `validate`: a missing field, a name used twice, an interval that does not suit the
//! version, ...), when serde_norway no longer has a position to give.
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
use serde_norway::Location;

use super::error::Position;
use super::path::{FieldPath, Step};

/// The position of the value at `path`, or of its nearest ancestor that is in the text
/// (a defaulted field is not). `None` only if not even the document start was read.
pub(super) fn locate(text: &str, path: &FieldPath) -> Option<Position> {
    let steps = path.steps();
    (0..=steps.len()).rev().find_map(|len| {
        let de = serde_norway::Deserializer::from_str(text);
        location_in(de, &steps[..len]).ok()?.map(Position::from)
    })
}

/// Where the node at `steps` is in the document `de` reads. A walk that does not reach
/// the node returns what ended it: `Ok(None)`, or an error (one met on the way, such as
/// a syntax error, or serde_norway objecting to a mapping left half read).
pub(super) fn location_in(
    de: serde_norway::Deserializer<'_>,
    steps: &[Step],
) -> Result<Option<Location>, serde_norway::Error> {
    let arrived = Cell::new(false);
    let walk = Probe {
        steps,
        arrived: &arrived,
    };
    match walk.deserialize(de) {
        Err(e) if arrived.get() => Ok(e.location()),
        Err(e) => Err(e),
        Ok(()) => Ok(None),
    }
}

/// Walks towards the node at `steps`; `Ok(())` means it is not there. `arrived` is set
/// when the target is rejected, so the error that ends the walk is known to be that
/// rejection.
struct Probe<'a> {
    steps: &'a [Step],
    arrived: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        if self.steps.is_empty() {
            // `Reject` accepts nothing, so the error carries this node's position.
            de.deserialize_any(Reject {
                arrived: self.arrived,
            })
        } else {
            de.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or a sequence")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(want), rest)) = self.steps.split_first() else {
            return Ok(());
        };
        // Keys are read as text, as serde's derive reads field names.
        while let Some(key) = map.next_key::<String>()? {
            if key == *want {
                return map.next_value_seed(Probe {
                    steps: rest,
                    ..self
                });
            }
            map.next_value::<IgnoredAny>()?;
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
        seq.next_element_seed(Probe {
            steps: rest,
            ..self
        })?;
        Ok(())
    }

    // Scalars on the way are simply not the node we want.
    visit_scalars!(self => Ok(()));

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
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

impl<'de> Visitor<'de> for Reject<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing (vipd is locating this node)")
    }

    visit_scalars!(self => self.arrive());

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
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
    fn broken_text_yields_what_was_read_before_the_break() {
        // The walk is streaming: nodes before the break are found, the rest fall back
        // to an ancestor. (Callers only locate fields in text that already parsed.)
        assert_eq!(at("a: [", &FieldPath::root().key("a")), (1, 4));
        let open = serde_norway::Deserializer::from_str("a: 'open");
        assert!(location_in(open, &[Step::Key("a".into())]).is_err());
        assert_eq!(at("a: 'open", &FieldPath::root().key("a")), (1, 1));
        assert_eq!(at("", &FieldPath::root().key("a")), (1, 1));
    }
}
