//! Lines end in `\n` (or `\r\n`), and nothing else does: the first check of a config
//! text, before YAML reads it.
//!
//! The YAML reader (libyaml, YAML 1.1) also ends a line at a lone carriage return and at
//! U+0085, U+2028 and U+2029, while editors, `sed -n Np`, `grep -n` and YAML 1.2 readers
//! mostly do not. A file holding one would have every position after it counted in lines
//! the operator cannot find (a fuzzed text of 23 lines was blamed at line 108), and the
//! same file would mean different things to different tools. So such a character is
//! refused where it stands, counted in `\n` lines; an escaped one (`"\u2028"` in a
//! double-quoted string) is only text and stays allowed.

use super::error::Position;

/// The first character that ends a line for YAML but not for a person: where it is and
/// what it is called.
pub(super) fn first_odd_break(text: &str) -> Option<(Position, &'static str)> {
    // libyaml skips a byte order mark: it takes no column.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chars = body.chars().peekable();
    let (mut line, mut column) = (1, 1);
    while let Some(c) = chars.next() {
        let odd = match c {
            '\n' => {
                line += 1;
                column = 1;
                continue;
            }
            '\r' if chars.peek() == Some(&'\n') => None,
            '\r' => Some("a carriage return not followed by a line feed"),
            '\u{85}' => Some("U+0085 NEXT LINE"),
            '\u{2028}' => Some("U+2028 LINE SEPARATOR"),
            '\u{2029}' => Some("U+2029 PARAGRAPH SEPARATOR"),
            _ => None,
        };
        if let Some(name) = odd {
            return Some((Position { line, column }, name));
        }
        column += 1;
    }
    None
}

/// The sentence for an odd line break called `name`.
pub(super) fn message(name: &str) -> String {
    format!(
        "{name} ends a line for YAML but not for most editors; \
         end lines with \\n (or \\r\\n) only"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn plain_and_crlf_lines_pass() {
        assert_eq!(first_odd_break("a: 1\nb: 2\n"), None);
        assert_eq!(first_odd_break("a: 1\r\nb: 2\r\n"), None);
        assert_eq!(first_odd_break("\u{feff}a: \"\\u2028\"\n"), None);
        assert_eq!(first_odd_break(""), None);
    }

    #[test]
    fn each_odd_break_is_found_where_it_stands() {
        assert_eq!(
            first_odd_break("a: 1\nb: 2\rc: 3\n"),
            Some((at(2, 5), "a carriage return not followed by a line feed"))
        );
        assert_eq!(
            first_odd_break("a: 1\r"),
            Some((at(1, 5), "a carriage return not followed by a line feed"))
        );
        assert_eq!(
            first_odd_break("x\n\nné\u{85}"),
            Some((at(3, 3), "U+0085 NEXT LINE"))
        );
        assert_eq!(
            first_odd_break("\u{feff}\u{2028}"),
            Some((at(1, 1), "U+2028 LINE SEPARATOR"))
        );
        assert_eq!(
            first_odd_break("a: \"\u{2029}\""),
            Some((at(1, 5), "U+2029 PARAGRAPH SEPARATOR"))
        );
    }
}
