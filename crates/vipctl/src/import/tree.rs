//! Tokens into statements: the words of one line, and the `{ ... }` block that follows
//! them (on the same line or the next), as keepalived reads its blocks.

use super::source::{Loc, SourceError, Token};

/// A keyword with its arguments and maybe a block.
#[derive(Clone, Debug)]
pub struct Stmt {
    pub words: Vec<String>,
    pub block: Option<Vec<Stmt>>,
    pub loc: Loc,
    row: usize,
}

impl Stmt {
    pub fn key(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.words.get(n).map(String::as_str)
    }
    /// Every word of the block's lines, each with its line and row (for list blocks).
    pub fn block_words(&self) -> Vec<(String, Loc, usize)> {
        let mut out = Vec::new();
        for s in self.block.iter().flatten() {
            out.extend(s.words.iter().map(|w| (w.clone(), s.loc.clone(), s.row)));
        }
        out
    }
}

/// Builds the statement tree of a whole configuration.
pub fn build(tokens: &[Token]) -> Result<Vec<Stmt>, SourceError> {
    let mut pos = 0;
    let stmts = block(tokens, &mut pos, None)?;
    Ok(stmts)
}

fn block(
    tokens: &[Token],
    pos: &mut usize,
    opened: Option<&Loc>,
) -> Result<Vec<Stmt>, SourceError> {
    let mut out: Vec<Stmt> = Vec::new();
    let mut cur: Option<Stmt> = None;
    while let Some(t) = tokens.get(*pos) {
        *pos += 1;
        if t.is_close() {
            out.extend(cur.take());
            return match opened {
                Some(_) => Ok(out),
                None => Err(SourceError::At {
                    loc: t.loc.clone(),
                    message: "`}` closes no block".into(),
                }),
            };
        }
        if t.is_open() {
            let inner = block(tokens, pos, Some(&t.loc))?;
            match cur.take() {
                Some(mut s) if s.block.is_none() => {
                    s.block = Some(inner);
                    out.push(s);
                }
                other => {
                    out.extend(other);
                    match out.last_mut() {
                        Some(prev) if prev.block.is_none() => prev.block = Some(inner),
                        _ => {
                            return Err(SourceError::At {
                                loc: t.loc.clone(),
                                message: "`{` follows no keyword".into(),
                            })
                        }
                    }
                }
            }
            continue;
        }
        match &mut cur {
            Some(s) if s.row == t.row && s.block.is_none() => s.words.push(t.text.clone()),
            _ => {
                out.extend(cur.take());
                cur = Some(Stmt {
                    words: vec![t.text.clone()],
                    block: None,
                    loc: t.loc.clone(),
                    row: t.row,
                });
            }
        }
    }
    out.extend(cur);
    match opened {
        Some(loc) => Err(SourceError::At {
            loc: loc.clone(),
            message: "this `{` is never closed".into(),
        }),
        None => Ok(out),
    }
}
