//! Deserializing the text into a [`RawConfig`], and saying where and why that failed.
//!
//! The deserializer runs over the text, wrapped in serde_path_to_error: the failing
//! field's path comes from serde_path_to_error, its position from
//! [`serde_norway::Error::location`].
//!
//! The message takes one more step. serde_norway writes its own path and position into
//! an error's text and has no other way to give the message alone, so after a failure
//! the same `Deserialize` impls run once more, over a [`serde_norway::Value`] of the
//! document. A `Value` has no positions, so its errors are the bare message. That run
//! meets the same fields in the same order, with the same scalars (see `fields`), so it
//! fails at the same path with the same message. Where it cannot follow (a `Value`
//! holds no integer beyond 64 bits) serde_norway's whole text is shown instead, which
//! repeats the path and position but says nothing false.

use super::error::{Fault, Position};
use super::path::{FieldPath, Step};
use super::raw::RawConfig;

/// Deserializes `text`, which [`super::document::check`] has accepted.
pub(super) fn raw_config(text: &str) -> Result<RawConfig, Fault> {
    let de = serde_norway::Deserializer::from_str(text);
    let err = match serde_path_to_error::deserialize(de) {
        Ok(raw) => return Ok(raw),
        Err(err) => err,
    };
    let field = FieldPath::from(err.path());
    let message = bare_message(text, &field).unwrap_or_else(|| err.inner().to_string());
    let message = renamed(&field, &message).unwrap_or(message);
    Err(Fault {
        field,
        pos: err.into_inner().location().map(Position::from),
        message,
    })
}

/// The message of the error met at `field` when `text` is deserialized from a `Value`;
/// `None` if that run fails elsewhere or not at all.
fn bare_message(text: &str, field: &FieldPath) -> Option<String> {
    let value: serde_norway::Value = serde_norway::from_str(text).ok()?;
    match serde_path_to_error::deserialize::<_, RawConfig>(&value) {
        Err(err) if FieldPath::from(err.path()) == *field => Some(err.into_inner().to_string()),
        _ => None,
    }
}

/// Fields renamed before 1.0: (where, old name, new name, what the new name means).
/// `where` is the field's path with indexes left out (`instances[].notify.stop` is
/// `instances.notify.stop`).
const RENAMED: [(&str, &str, &str, &str); 4] = [
    (
        "peers",
        "peers",
        "cluster_peers",
        "the other nodes' metrics listeners that `vipctl status --cluster` asks; \
         `unicast_peers` of an instance are its VRRP peers",
    ),
    (
        "admin_group",
        "admin_group",
        "operator_group",
        "the group whose members may run maintenance and drills",
    ),
    (
        "instances.notify.stop",
        "stop",
        "stopped",
        "the hook runs when the instance enters state `stopped`",
    ),
    (
        "groups.notify.stop",
        "stop",
        "stopped",
        "the hook runs when the group enters state `stopped`",
    ),
];

/// The message for an old field name that is unknown now: it names the new one.
fn renamed(field: &FieldPath, message: &str) -> Option<String> {
    let place: Vec<String> = field
        .steps()
        .iter()
        .filter_map(|s| match s {
            Step::Key(k) => Some(k.clone()),
            Step::Index(_) | Step::Unknown => None,
        })
        .collect();
    let place = place.join(".");
    let (_, old, new, meaning) = RENAMED.iter().find(|(at, ..)| *at == place)?;
    message
        .starts_with(&format!("unknown field `{old}`"))
        .then(|| format!("`{old}` is now called `{new}` ({meaning}); rename the field"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(text: &str) -> (String, Option<(usize, usize)>, String) {
        match raw_config(text) {
            Ok(raw) => panic!("{text:?} deserialized: {raw:?}"),
            Err(f) => (
                f.field.to_string(),
                f.pos.map(|p| (p.line, p.column)),
                f.message,
            ),
        }
    }

    #[test]
    fn names_the_field_where_serde_norway_places_it() {
        let text = "instances:\n  - name: a\n    vrid: 0\n";
        assert_eq!(
            fault(text),
            (
                "instances[0].vrid".into(),
                Some((3, 11)),
                "0 is out of range 1..=255".into()
            )
        );
        // An unknown key is placed at the key, not at its value.
        let text = "instances:\n  - name: a\n    garps:\n      count: 1\n";
        let (field, pos, message) = fault(text);
        assert_eq!((field.as_str(), pos), ("instances[0].garps", Some((3, 5))));
        assert!(
            message.starts_with("unknown field `garps`, expected one of"),
            "{message}"
        );
    }

    #[test]
    fn an_old_field_name_names_the_new_one() {
        let (field, pos, message) = fault("peers: []\ninstances: []\n");
        assert_eq!((field.as_str(), pos), ("peers", Some((1, 1))));
        assert!(
            message.starts_with("`peers` is now called `cluster_peers` ("),
            "{message}"
        );
        let (field, _, message) = fault("admin_group: ops\n");
        assert_eq!(field, "admin_group");
        assert!(
            message.starts_with("`admin_group` is now called `operator_group` ("),
            "{message}"
        );
        let text = "instances:\n  - name: a\n    notify:\n      stop: [/bin/true]\n";
        let (field, pos, message) = fault(text);
        assert_eq!(
            (field.as_str(), pos),
            ("instances[0].notify.stop", Some((4, 7)))
        );
        assert!(
            message.starts_with("`stop` is now called `stopped` ("),
            "{message}"
        );
        let text = "groups:\n  - name: g\n    notify:\n      stop: [/bin/true]\n";
        assert!(fault(text).2.starts_with("`stop` is now called `stopped`"));
        // The same word elsewhere is only unknown.
        let text = "instances:\n  - name: a\n    stop: 1\n";
        assert!(fault(text).2.starts_with("unknown field `stop`, expected"));
    }

    #[test]
    fn a_wrong_document_shape_has_no_field() {
        let (field, pos, message) = fault("- a\n");
        assert_eq!((field.as_str(), pos), ("", Some((1, 1))));
        assert!(message.starts_with("invalid type: sequence"), "{message}");
    }

    #[test]
    fn without_a_value_to_compare_shows_serde_norways_whole_text() {
        // A `Value` cannot hold this integer, so only the text's own error is there.
        let text = "instances: [{vrid: 99999999999999999999}]\n";
        let (field, pos, message) = fault(text);
        assert_eq!((field.as_str(), pos), ("instances[0].vrid", Some((1, 20))));
        assert!(message.contains("99999999999999999999"), "{message}");
    }

    #[test]
    fn numbers_in_text_fields_read_the_same_from_a_value() {
        // A plain scalar that looks like a number is text to the name and duration
        // fields; the run over a `Value` must agree, or its message would not be used.
        let text = "instances:\n  - name: 51\n    advert_interval: 200\n";
        assert_eq!(
            fault(text).2,
            "`200` has no unit; expected a number and a unit (ms, s, m or h), e.g. 200ms, 1s, 1.5s, 2m"
        );
    }
}
