//! Reading keepalived's configuration syntax into tokens, as keepalived's parser does
//! (keepalived.conf(5), DESCRIPTION and ADVANCED CONFIGURATION): comments from `#` or `!`,
//! `include` with globs relative to the including file, `@ID` / `@^ID` conditional lines,
//! `$NAME=VALUE` parameters (multi-line with `\`) replaced as `$NAME` or `${NAME}`, and
//! quoted strings.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::glob;

/// Where a token came from: a file as shown to the user and a 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: Rc<str>,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One word of the configuration, quotes removed, or a brace.
#[derive(Clone, Debug)]
pub struct Token {
    pub text: String,
    /// Written (at least partly) in quotes: never a brace.
    pub quoted: bool,
    pub loc: Loc,
    /// The logical line it is on (lines a multi-line parameter expands into differ).
    pub row: usize,
}

impl Token {
    pub fn is_open(&self) -> bool {
        !self.quoted && self.text == "{"
    }
    pub fn is_close(&self) -> bool {
        !self.quoted && self.text == "}"
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{shown}: cannot read: {source}")]
    Read {
        shown: String,
        source: std::io::Error,
    },
    #[error("{loc}: {message}")]
    At { loc: Loc, message: String },
}

/// Something the reader met that a person should look at (an include matching nothing).
#[derive(Clone, Debug)]
pub struct ReadNote {
    pub loc: Loc,
    pub message: String,
}

const MAX_INCLUDE_DEPTH: usize = 16;
const MAX_EXPANSIONS: usize = 64;

/// Reads `path` (shown as `shown`) with its includes for config id `host`.
pub fn read(
    path: &Path,
    shown: &str,
    host: &str,
) -> Result<(Vec<Token>, Vec<ReadNote>), SourceError> {
    let mut r = Reader {
        host: host.to_string(),
        params: HashMap::new(),
        tokens: Vec::new(),
        notes: Vec::new(),
        rows: 0,
    };
    r.file(path, shown, 0)?;
    Ok((r.tokens, r.notes))
}

struct Reader {
    host: String,
    params: HashMap<String, String>,
    tokens: Vec<Token>,
    notes: Vec<ReadNote>,
    rows: usize,
}

impl Reader {
    fn file(&mut self, path: &Path, shown: &str, depth: usize) -> Result<(), SourceError> {
        let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read {
            shown: shown.to_string(),
            source,
        })?;
        let file: Rc<str> = Rc::from(shown);
        let dir = Path::new(shown)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let real_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // ${_PWD}: the directory of the file being read, as an absolute path.
        let pwd = std::fs::canonicalize(if real_dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            real_dir.as_path()
        })
        .unwrap_or_else(|_| real_dir.clone());
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let loc = Loc {
                file: file.clone(),
                line: i + 1,
            };
            let mut logical = strip_comment(lines[i]).trim_end().to_string();
            // A line ending in `\` continues (multi-line parameter definitions).
            while logical.ends_with('\\') && i + 1 < lines.len() {
                logical.pop();
                logical.push('\n');
                i += 1;
                logical.push_str(strip_comment(lines[i]).trim_end());
            }
            i += 1;
            let first = logical.split_whitespace().next().unwrap_or("");
            if matches!(
                first,
                "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
            ) {
                // The rest of the line, braces included (`{a,b}` alternatives).
                let pattern = logical.trim_start()[first.len()..]
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'');
                if pattern.is_empty() {
                    return Err(at(&loc, "include needs a file name"));
                }
                self.include(pattern, &dir, &real_dir, &loc, depth)?;
                continue;
            }
            self.line(&logical, &loc, &pwd, 0)?;
        }
        Ok(())
    }

    /// keepalived.conf(5): relative names are relative to the including file's directory,
    /// and may hold wildcards.
    fn include(
        &mut self,
        pattern: &str,
        dir: &Path,
        real_dir: &Path,
        loc: &Loc,
        depth: usize,
    ) -> Result<(), SourceError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(at(loc, "includes nested too deep (a loop?)"));
        }
        let (real, shown) = if Path::new(pattern).is_absolute() {
            (PathBuf::from(pattern), PathBuf::from(pattern))
        } else {
            (real_dir.join(pattern), dir.join(pattern))
        };
        let matches = glob::expand(&real);
        if matches.is_empty() {
            self.notes.push(ReadNote {
                loc: loc.clone(),
                message: format!(
                    "`include {pattern}` matches no file (keepalived goes on without it)"
                ),
            });
            return Ok(());
        }
        for m in matches {
            // Show the match under the including file's name for the same directory.
            let shown_m = match m.strip_prefix(real_dir) {
                Ok(rest) if !Path::new(pattern).is_absolute() => dir.join(rest),
                _ => m.clone(),
            };
            let _ = &shown;
            self.file(&m, &shown_m.to_string_lossy(), depth + 1)?;
        }
        Ok(())
    }

    /// One logical line: conditional, parameter definition or words.
    fn line(&mut self, text: &str, loc: &Loc, dir: &Path, level: usize) -> Result<(), SourceError> {
        if level > MAX_EXPANSIONS {
            return Err(at(loc, "parameters expand into themselves"));
        }
        // A multi-line value used as a line: each of its lines is a line.
        if text.contains('\n') && !is_definition(text.trim_start()) {
            for part in text.split('\n') {
                self.line(part, loc, dir, level + 1)?;
            }
            return Ok(());
        }
        let mut rest = text.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        // Conditional configuration: `@ID line` or `@^ID line`.
        if let Some(cond) = rest.strip_prefix('@') {
            let end = cond.find(char::is_whitespace).unwrap_or(cond.len());
            let (word, after) = cond.split_at(end);
            let (negate, id) = match word.strip_prefix('^') {
                Some(id) => (true, id),
                None => (false, word),
            };
            if (id == self.host) == negate {
                return Ok(());
            }
            rest = after.trim_start();
            if rest.is_empty() {
                return Ok(());
            }
        }
        if let Some(def) = rest.strip_prefix('$') {
            if let Some(eq) = def.find('=') {
                let name = &def[..eq];
                if is_param_name(name) {
                    self.params
                        .insert(name.to_string(), def[eq + 1..].trim().to_string());
                    return Ok(());
                }
            }
        }
        if rest.starts_with("~SEQ") || rest.starts_with("~LST") {
            return Err(at(
                loc,
                "~SEQ and ~LST blocks are not supported by the importer: expand them by hand \
                 (keepalived -t -d prints the configuration it read)",
            ));
        }
        let replaced = self.substitute(rest, loc, dir)?;
        if replaced != rest {
            let first = replaced.split_whitespace().next().unwrap_or("");
            if first.starts_with("include") {
                return Err(at(
                    loc,
                    "an include produced by a parameter or conditional: keepalived does not \
                     read it either",
                ));
            }
            return self.line(&replaced, loc, dir, level + 1);
        }
        self.rows += 1;
        for (text, quoted) in split_words(rest, loc)? {
            self.tokens.push(Token {
                text,
                quoted,
                loc: loc.clone(),
                row: self.rows,
            });
        }
        Ok(())
    }

    /// Replaces `${NAME}` and `$NAME` (followed by whitespace or the end) once.
    fn substitute(&self, text: &str, loc: &Loc, dir: &Path) -> Result<String, SourceError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(braced) = after.strip_prefix('{') {
                if let Some(close) = braced.find('}') {
                    let inner = &braced[..close];
                    if let Some(v) = self.value(inner, loc, dir)? {
                        out.push_str(&v);
                        rest = &braced[close + 1..];
                        continue;
                    }
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                let name = &after[..end];
                let followed_ok = after[end..].chars().next().is_none_or(char::is_whitespace);
                if followed_ok && is_param_name(name) {
                    if let Some(v) = self.params.get(name) {
                        out.push_str(v);
                        rest = &after[end..];
                        continue;
                    }
                }
            }
            out.push('$');
            rest = after;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A parameter's value, or keepalived's pre-defined ones (keepalived.conf(5),
    /// "Pre-defined definitions").
    fn value(&self, inner: &str, loc: &Loc, dir: &Path) -> Result<Option<String>, SourceError> {
        let mut words = inner.split_whitespace();
        let name = words.next().unwrap_or("");
        Ok(match name {
            "_PWD" => Some(dir.to_string_lossy().into_owned()),
            "_INSTANCE" => Some(self.host.clone()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_ENV" => match words.next() {
                Some(var) => Some(std::env::var(var).unwrap_or_default()),
                None => return Err(at(loc, "${_ENV} needs a variable name")),
            },
            "_RANDOM" => {
                return Err(at(
                    loc,
                    "${_RANDOM} makes every run differ: replace it with a fixed value",
                ))
            }
            _ => self.params.get(inner).cloned(),
        })
    }
}

fn at(loc: &Loc, message: &str) -> SourceError {
    SourceError::At {
        loc: loc.clone(),
        message: message.to_string(),
    }
}

fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_definition(text: &str) -> bool {
    let text = match text.strip_prefix('@') {
        Some(rest) => rest
            .split_once(char::is_whitespace)
            .map(|(_, r)| r.trim_start())
            .unwrap_or(""),
        None => text,
    };
    text.strip_prefix('$')
        .and_then(|d| d.split_once('='))
        .is_some_and(|(name, _)| is_param_name(name))
}

/// The line up to its first `#` or `!` outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#' | '!') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Words of a line, quotes removed (`abc" d "e` is one word), braces on their own.
/// Inside double quotes `\"` and `\\` are unescaped; other escapes stay for the script
/// splitter.
fn split_words(line: &str, loc: &Loc) -> Result<Vec<(String, bool)>, SourceError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                in_word = true;
                quoted = true;
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    if d == '\\' && c == '"' {
                        match chars.peek() {
                            Some('"') | Some('\\') => {
                                if let Some(e) = chars.next() {
                                    cur.push(e);
                                }
                                continue;
                            }
                            _ => {}
                        }
                    }
                    cur.push(d);
                }
                if !closed {
                    return Err(at(loc, &format!("unterminated {c} quote")));
                }
            }
            // An undefined `${NAME}` stays as written, one word with its braces.
            '$' if chars.peek() == Some(&'{') => {
                in_word = true;
                cur.push('$');
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == '}' {
                        break;
                    }
                }
            }
            '{' | '}' => {
                if in_word {
                    words.push((std::mem::take(&mut cur), quoted));
                }
                words.push((c.to_string(), false));
                in_word = false;
                quoted = false;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push((std::mem::take(&mut cur), quoted));
                }
                in_word = false;
                quoted = false;
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push((cur, quoted));
    }
    Ok(words)
}

/// Splits a script string into argv as keepalived does for scripts with parameters:
/// unquoted spaces separate, single (or double) quotes group, shell-like escapes.
pub fn split_script(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (_, '\\') => {
                in_word = true;
                match chars.next() {
                    Some('n') => cur.push('\n'),
                    Some('t') => cur.push('\t'),
                    Some('x') => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 2 {
                            match chars.peek().and_then(|d| d.to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    chars.next();
                                    n += 1;
                                }
                                None => break,
                            }
                        }
                        cur.extend(char::from_u32(v));
                    }
                    Some(d) => cur.push(d),
                    None => {}
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                }
                in_word = false;
            }
            (_, c) => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_strings_split_like_keepalived() {
        assert_eq!(
            split_script(r#"/bin/x ' a b ' '\"q\"' c\x20d"#),
            vec!["/bin/x", " a b ", "\"q\"", "c d"]
        );
    }

    fn words_of(conf: &str, host: &str) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("vipctl-source-{}-{host}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("k.conf");
        std::fs::write(&file, conf).expect("write");
        let (tokens, _) = read(&file, "k.conf", host).expect("read");
        let _ = std::fs::remove_dir_all(&dir);
        tokens.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn parameters_are_replaced_when_used_not_when_defined() {
        // keepalived.conf(5), "Parameter substitution".
        let conf = "$BASE=192.0.${SUB}\n$SUB=2\n${BASE}.100/32\n$SUB=3\n${BASE}.100/32\n";
        assert_eq!(
            words_of(conf, "a"),
            vec!["192.0.2.100/32", "192.0.3.100/32"]
        );
    }

    #[test]
    fn conditionals_select_lines_and_parameters_may_hold_them() {
        let conf = "@main $P=240\n@^main $P=100\npriority $P\n$IF_MAIN=@main\n$IF_MAIN x\n$UNDEF_KEPT ${UNDEF}\n";
        assert_eq!(
            words_of(conf, "main"),
            vec!["priority", "240", "x", "$UNDEF_KEPT", "${UNDEF}"]
        );
        assert_eq!(
            words_of(conf, "other"),
            vec!["priority", "100", "$UNDEF_KEPT", "${UNDEF}"]
        );
    }

    #[test]
    fn comments_end_outside_quotes_only() {
        assert_eq!(strip_comment(r#"a "b # c" ! d"#), r#"a "b # c" "#);
    }
}
