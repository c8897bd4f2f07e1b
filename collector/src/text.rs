//! Outside text made safe to print: span names, attribute values, service
//! names and paths come from whoever sends spans, and the collector and the
//! tour print them to a terminal. This is the one sanitizer for both.
//!
//! Control characters are escaped (ESC would start an ANSI sequence, CR
//! and LF would forge lines), and so are bidirectional overrides (they
//! reorder what is shown). Widths are terminal columns: a CJK character
//! takes two, a combining mark none.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar as _;

/// `text` with every control character and bidirectional override written
/// as an escape (`\n`, `\r`, `\t`, `\u{1b}`), so it prints as exactly one
/// line and nothing in it reaches the terminal as a command.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Terminal columns `text` takes (after [`escape`], which only adds
/// single-column characters).
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// [`escape`]d and cut to at most `max` columns, the last one `…` if
/// something was cut.
pub fn fit(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if width(&escaped) <= max {
        return escaped.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in escaped.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `text` fitted to `cols` columns and padded with spaces to exactly that
/// width: a table cell.
pub fn cell(text: &str, cols: usize) -> String {
    let mut out = fit(text, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

/// One line of text from outside, for a message: escaped, cut to `max`
/// columns.
pub fn one_line(text: &str, max: usize) -> String {
    fit(text.trim(), max)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_commands_and_line_breaks_are_escaped() {
        assert_eq!(
            escape("a\x1b[31mred\r\nfake line"),
            "a\\u{1b}[31mred\\r\\nfake line"
        );
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert!(matches!(escape("GetUser"), Cow::Borrowed("GetUser")));
        for c in (0u32..0x2070).filter_map(char::from_u32) {
            let out = escape(&c.to_string()).into_owned();
            assert!(!out.chars().any(needs_escape), "{c:?} left {out:?} unsafe");
        }
    }

    #[test]
    fn widths_are_terminal_columns() {
        assert_eq!(width("GetUser"), 7);
        assert_eq!(width("获取用户"), 8);
        assert_eq!(width("e\u{301}"), 1);
        assert_eq!(fit("获取用户信息", 7), "获取用…");
        assert_eq!(width(&fit("获取用户信息", 7)), 7);
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("a\nb", 3), "a\\…");
        assert_eq!(cell("用户", 6), "用户  ");
        assert_eq!(width(&cell("获取用户信息", 5)), 5);
    }
}
