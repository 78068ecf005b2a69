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
}

/// A path from the top of the document to a field; empty for the document itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FieldPath(Vec<Step>);

impl FieldPath {
    /// The document itself.
    pub(super) fn root() -> Self {
        FieldPath(Vec::new())
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

    /// Reads a path as serde_norway prints it (`instances[0].garp`); `None` for
    /// anything else, such as its `?` for an unknown position.
    pub(super) fn parse(text: &str) -> Option<FieldPath> {
        let mut path = FieldPath::root();
        for part in text.split('.') {
            let (key, mut indexes) = part.split_at(part.find('[').unwrap_or(part.len()));
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return None;
            }
            path = path.key(key);
            while let Some(rest) = indexes.strip_prefix('[') {
                let (n, tail) = rest.split_once(']')?;
                path = path.index(n.parse().ok()?);
                indexes = tail;
            }
            if !indexes.is_empty() {
                return None;
            }
        }
        Some(path)
    }

    fn with(&self, step: Step) -> Self {
        let mut steps = self.0.clone();
        steps.push(step);
        FieldPath(steps)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            let dot = if i == 0 { "" } else { "." };
            match step {
                Step::Key(k) => write!(f, "{dot}{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
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
        let count = root.key("instances").index(1).key("garp").key("count");
        assert_eq!(count.to_string(), "instances[1].garp.count");
    }

    #[test]
    fn parses_like_serde_norway() {
        let p = FieldPath::root().key("instances").index(1).key("garp");
        assert_eq!(FieldPath::parse("instances[1].garp"), Some(p));
        for bad in ["", "a..b", "a[", "a[x]", "a[1]x", "?", "a.?", ".a"] {
            assert_eq!(FieldPath::parse(bad), None, "{bad:?}");
        }
    }
}
