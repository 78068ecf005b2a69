//! Text from elsewhere made safe to print: vipd's answers and events, other nodes'
//! `/status`, an HTTP error body. vipctl prints it to a terminal, and a terminal obeys
//! control characters: ESC starts a sequence that can move the cursor, rewrite what is
//! on the screen, set the window title or worse. So no control character (Unicode
//! category Cc: C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F, whose U+009B is a
//! one-character CSI) gets through, except a newline or tab where they belong: between
//! lines of a text made of lines (the JSON lines `vipctl watch --json` passes on). In a
//! field (a name, a reason, a check's output), which vipctl prints within one line, a
//! newline or tab becomes a space and every other control character is dropped.
//!
//! Every answer is cleaned where it is parsed ([`parse`]): each string of the JSON,
//! keys included, before it becomes a typed value, so every field of every type is
//! covered, those added later too.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// `text` as one line: newline, carriage return and tab become a space; every other
/// control character is dropped.
pub fn field(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect(),
    )
}

/// `text` made of lines: newlines and tabs stay; every other control character is
/// dropped.
pub fn lines(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| !unsafe_char(*c)).collect())
}

/// Cleans every string in `value` (object keys included) with [`field`].
pub fn clean(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(c) = field(s) {
                *s = c;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                clean(&mut v);
                map.insert(field(&key).into_owned(), v);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Parses JSON from elsewhere into a `T` whose every string has been through [`field`].
pub fn parse<T: DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(json)?;
    clean(&mut value);
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vipd_api::{Status, WatchEvent, WatchLine};

    /// Every kind of control character a terminal acts on, and the two that belong.
    const NASTY: &str = "we\u{1b}[2J\u{1b}]0;owned\u{7}b\u{7f}\u{9b}31m\u{0}\r\n\tx";

    #[test]
    fn fields_keep_no_control_character_and_lines_keep_newline_and_tab() {
        assert_eq!(field(NASTY), "we[2J]0;ownedb31m   x");
        assert_eq!(lines(NASTY), "we[2J]0;ownedb31m\n\tx");
        assert!(matches!(field("web 192.0.2.50/24"), Cow::Borrowed(_)));
        assert!(matches!(lines("{\"a\":1}\n"), Cow::Borrowed(_)));
        // Printable text beyond ASCII stays.
        assert_eq!(field("café ü 名前"), "café ü 名前");
    }

    #[test]
    fn every_string_of_a_parsed_answer_is_cleaned_keys_included() {
        let mut status = crate::render::tests::sample_status();
        status.host = format!("node{NASTY}");
        status.instances[0].name = NASTY.into();
        status.instances[0].reason = "\u{1b}[31mmaster_down_timer".into();
        status.instances[0]
            .drops
            .insert("bad\u{1b}[5mttl".into(), 3);
        let json = serde_json::to_vec(&status).expect("encode");
        let back: Status = parse(&json).expect("parse");
        let text = format!("{back:?}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}'),
            "{text}"
        );
        assert_eq!(back.instances[0].name, "we[2J]0;ownedb31m   x");
        assert_eq!(back.instances[0].reason, "[31mmaster_down_timer");
        assert_eq!(back.instances[0].drops.get("bad[5mttl"), Some(&3));
        // What vipctl prints of it has no control character but its line ends.
        for out in [
            crate::render::render_status(&back),
            crate::render::render_table(&back, false),
        ] {
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        }
        // A watch event likewise.
        let line = WatchLine {
            v: 1,
            time: "2026-12-07T10:00:00Z".into(),
            event: WatchEvent::Check {
                check: "web\u{1b}[8m".into(),
                up: false,
                saw: "HTTP 500\r\n\u{1b}]52;c;ZWNobyBoaQ==\u{7}".into(),
            },
        };
        let json = serde_json::to_vec(&line).expect("encode");
        let back: WatchLine = parse(&json).expect("parse");
        let out = crate::watch::render_event(&back);
        assert_eq!(
            out,
            "2026-12-07T10:00:00Z  -  check web[8m down: HTTP 500  ]52;c;ZWNobyBoaQ==\n"
        );
    }
}
