//! [`FieldPath`]: which field of the config file an error is about, shown the way the
//! file is written: `instances[1].garp.count`.

use std::fmt;

/// One step in a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// A key of a mapping.
    Key(String),
    /// An index into a sequence.
    Index(usize),
    /// A step that has no name, such as a mapping key that is not a string; shown as `?`.
    Unknown,
}

/// A path from the top of the document to a field; empty for the document itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FieldPath(Vec<Step>);

impl FieldPath {
    /// The document itself.
    pub(super) fn root() -> Self {
        FieldPath(Vec::new())
    }

    pub(super) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn steps(&self) -> &[Step] {
        &self.0
    }

    pub(super) fn key(&self, key: &str) -> Self {
        self.with(Step::Key(key.to_owned()))
    }

    pub(super) fn index(&self, index: usize) -> Self {
        self.with(Step::Index(index))
    }

    pub(super) fn unknown(&self) -> Self {
        self.with(Step::Unknown)
    }

    fn with(&self, step: Step) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        FieldPath(steps)
    }
}

/// The path serde_path_to_error tracked to a deserialization error.
impl From<&serde_path_to_error::Path> for FieldPath {
    fn from(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment;
        let steps = path.iter().map(|segment| match segment {
            Segment::Seq { index } => Step::Index(*index),
            Segment::Map { key } => Step::Key(key.clone()),
            // Inside an enum's variant (`!variant value`); the file names it as a tag.
            Segment::Enum { variant } => Step::Key(variant.clone()),
            Segment::Unknown => Step::Unknown,
        });
        FieldPath(steps.collect())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            let dot = if i == 0 { "" } else { "." };
            match step {
                Step::Key(k) => write!(f, "{dot}{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::Unknown => write!(f, "{dot}?")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_the_file() {
        let root = FieldPath::root();
        assert_eq!(root.to_string(), "");
        assert!(root.is_root());
        let count = root.key("instances").index(1).key("garp").key("count");
        assert_eq!(count.to_string(), "instances[1].garp.count");
        let odd = root.key("instances").index(0).unknown();
        assert_eq!(odd.to_string(), "instances[0].?");
        assert_eq!(root.unknown().key("a").to_string(), "?.a");
    }

    #[test]
    fn takes_serde_path_to_errors_path() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Doc {
            a: Vec<std::collections::BTreeMap<String, u8>>,
        }
        let text = "a:\n  - {x: 1}\n  - {y: 300}\n";
        let de = serde_norway::Deserializer::from_str(text);
        let err = serde_path_to_error::deserialize::<_, Doc>(de).expect_err("300 is not a u8");
        let path = FieldPath::from(err.path());
        assert_eq!(path, FieldPath::root().key("a").index(1).key("y"));
        assert_eq!(path.to_string(), "a[1].y");
    }
}
