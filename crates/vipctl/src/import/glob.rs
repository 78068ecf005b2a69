//! The file names an `include` pattern names, as glob(3) with GLOB_BRACE finds them:
//! `*`, `?`, `[...]` within one path component and `{a,b}` alternatives; sorted; only
//! names that exist. A pattern without wildcards names itself when it exists.

use std::path::{Component, Path, PathBuf};

/// Existing files matching `pattern`, sorted, without duplicates.
pub fn expand(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    let mut out = Vec::new();
    for alt in braces(&text) {
        let mut found = Vec::new();
        walk(Path::new(&alt), &mut found);
        found.sort();
        out.extend(found);
    }
    out.dedup();
    out
}

/// `{a,b}` alternatives expanded, left to right (nested braces included).
fn braces(s: &str) -> Vec<String> {
    let Some(open) = s.find('{') else {
        return vec![s.to_string()];
    };
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = open + 1;
    for (i, c) in s[open..].char_indices().map(|(i, c)| (i + open, c)) {
        match c {
            '{' => depth += 1,
            ',' if depth == 1 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&s[start..i]);
                    let (head, tail) = (&s[..open], &s[i + 1..]);
                    return parts
                        .iter()
                        .flat_map(|p| braces(&format!("{head}{p}{tail}")))
                        .collect();
                }
            }
            _ => {}
        }
    }
    vec![s.to_string()]
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn walk(pattern: &Path, out: &mut Vec<PathBuf>) {
    let mut bases = vec![PathBuf::new()];
    let comps: Vec<Component> = pattern.components().collect();
    for (n, comp) in comps.iter().enumerate() {
        let last = n + 1 == comps.len();
        let name = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &bases {
            if !has_wildcard(&name) || !matches!(comp, Component::Normal(_)) {
                next.push(base.join(comp.as_os_str()));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for e in entries.flatten() {
                let file_name = e.file_name().to_string_lossy().into_owned();
                // glob(3): a leading dot is matched only by a leading dot.
                if file_name.starts_with('.') && !name.starts_with('.') {
                    continue;
                }
                if matches(name.as_bytes(), file_name.as_bytes()) {
                    next.push(base.join(&file_name));
                }
            }
        }
        if !last {
            next.retain(|p| p.is_dir());
        }
        bases = next;
    }
    out.extend(bases.into_iter().filter(|p| p.is_file()));
}

/// fnmatch(3) without flags for one component.
fn matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.first() {
        None => name.is_empty(),
        Some(b'*') => (0..=name.len()).any(|i| matches(&pat[1..], &name[i..])),
        Some(b'?') => !name.is_empty() && matches(&pat[1..], &name[1..]),
        Some(b'[') => {
            let Some(c) = name.first() else { return false };
            let Some(end) = pat.iter().skip(2).position(|&b| b == b']').map(|p| p + 2) else {
                return pat[0] == *c && matches(&pat[1..], &name[1..]);
            };
            let set = &pat[1..end];
            let (negate, set) = match set.first() {
                Some(b'!' | b'^') => (true, &set[1..]),
                _ => (false, set),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= *c && *c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == *c;
                    i += 1;
                }
            }
            hit != negate && matches(&pat[end + 1..], &name[1..])
        }
        Some(p) => name.first() == Some(p) && matches(&pat[1..], &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_braces() {
        assert!(matches(b"*.conf", b"a.conf"));
        assert!(!matches(b"*.conf", b"a.conf.bak"));
        assert!(matches(b"vi_[0-9]?.conf", b"vi_1a.conf"));
        assert!(!matches(b"[!a]*", b"abc"));
        assert_eq!(braces("a/{b,c{d,e}}/f"), vec!["a/b/f", "a/cd/f", "a/ce/f"]);
    }
}
