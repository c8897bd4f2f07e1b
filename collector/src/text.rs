//! Outside text made safe to print: span names, attribute values, service
//! names and paths come from whoever sends spans, and the collector and the
//! tour print them to a terminal. This is the one sanitizer for both.
//!
//! Control characters are escaped (ESC would start an ANSI sequence, CR
//! and LF would forge lines), and so is every format character (Unicode
//! category Cf: bidirectional overrides reorder what is shown, zero-width
//! spaces and joiners, the soft hyphen and tag characters hide text:
//! `Get\u{200b}User` must not print as `GetUser`), and combining marks
//! beyond [`MAX_MARKS`] on one character (a flood of them draws over the
//! lines around it). Widths are terminal columns: a CJK character takes
//! two, a combining mark none.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};
use unicode_width::UnicodeWidthChar as _;

/// Combining marks kept in a row; the rest of a run is escaped.
pub const MAX_MARKS: usize = 3;

/// `text` with every control character, format character (category Cf)
/// and line or paragraph separator written as an escape (`\n`, `\r`,
/// `\t`, `\u{1b}`, `\u{200b}`), and the combining marks of a run beyond
/// [`MAX_MARKS`] too, so it prints as exactly one line, shows every
/// character it has, and nothing in it reaches the terminal as a command.
pub fn escape(text: &str) -> Cow<'_, str> {
    let mut marks = 0;
    let clean = text.chars().all(|c| {
        marks = if stacks(c) { marks + 1 } else { 0 };
        marks <= MAX_MARKS && !needs_escape(c)
    });
    if clean {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut marks = 0;
    for c in text.chars() {
        marks = if stacks(c) { marks + 1 } else { 0 };
        if marks > MAX_MARKS {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            push_escaped(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// A count with thousands separators (`1,204`), for messages.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Columns of the terminal: the size the terminal on stdout reports, else
/// `COLUMNS` (which shells set but rarely export), else `default` (stdout
/// is a file or a pipe).
pub fn terminal_columns(default: usize) -> usize {
    let terminal = terminal_size::terminal_size_of(std::io::stdout())
        .map(|(terminal_size::Width(w), _)| usize::from(w));
    terminal
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<usize>().ok())
        })
        .filter(|&c| c > 0)
        .unwrap_or(default)
}

/// A duration for people, in the unit that reads best: `450 ns`, `38 µs`,
/// `3.50 ms`, `2.01 s`. The tour and the collector print every duration
/// this way.
pub fn duration(nanos: u64) -> String {
    if nanos < 1_000 {
        format!("{nanos} ns")
    } else if nanos < 1_000_000 {
        format!("{} µs", nanos / 1_000)
    } else if nanos < 1_000_000_000 {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else {
        format!("{:.2} s", nanos as f64 / 1e9)
    }
}

/// [`duration`] of a [`std::time::Duration`].
pub fn duration_of(duration: std::time::Duration) -> String {
    self::duration(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
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
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// A mark drawn on the character before it (accents stack up).
fn stacks(c: char) -> bool {
    !c.is_ascii()
        && matches!(
            c.general_category(),
            GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
        )
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
    fn durations_read_in_their_own_unit() {
        assert_eq!(duration(0), "0 ns");
        assert_eq!(duration(450), "450 ns");
        assert_eq!(duration(38_400), "38 µs");
        assert_eq!(duration(3_504_000), "3.50 ms");
        assert_eq!(duration(999_000_000), "999.00 ms");
        assert_eq!(duration(2_008_620_000), "2.01 s");
        assert_eq!(
            duration_of(std::time::Duration::from_millis(12)),
            "12.00 ms"
        );
    }

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
    fn format_characters_are_escaped() {
        assert_eq!(escape("Get\u{200b}User"), "Get\\u{200b}User");
        // A sample of category Cf from every block that has some.
        for c in [
            '\u{ad}',
            '\u{600}',
            '\u{61c}',
            '\u{6dd}',
            '\u{70f}',
            '\u{890}',
            '\u{8e2}',
            '\u{180e}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{206a}',
            '\u{206f}',
            '\u{feff}',
            '\u{fff9}',
            '\u{fffb}',
            '\u{110bd}',
            '\u{13430}',
            '\u{1bca0}',
            '\u{1d173}',
            '\u{e0001}',
            '\u{e0020}',
            '\u{e007f}',
        ] {
            let out = escape(&format!("a{c}b")).into_owned();
            assert_eq!(out, format!("a\\u{{{:x}}}b", u32::from(c)), "{c:?}");
        }
        assert_eq!(escape("line\u{2028}break"), "line\\u{2028}break");
        // Not format characters: kept.
        for kept in ["é", "获取用户", "Grüße", "e\u{301}", "👍"] {
            assert!(matches!(escape(kept), Cow::Borrowed(_)), "{kept:?}");
        }
    }

    #[test]
    fn a_flood_of_combining_marks_is_cut_to_three() {
        let zalgo = format!("a{}b", "\u{301}".repeat(6));
        assert_eq!(
            escape(&zalgo),
            "a\u{301}\u{301}\u{301}\\u{301}\\u{301}\\u{301}b"
        );
        assert_eq!(width(&escape(&zalgo)), 2 + 3 * 7);
        // Three are kept (Vietnamese stacks two), and each run counts apart.
        let ok = "e\u{302}\u{301}\u{323} o\u{302}\u{301}";
        assert!(matches!(escape(ok), Cow::Borrowed(_)));
        // Escaping twice changes nothing more.
        assert_eq!(escape(&escape(&zalgo)), escape(&zalgo));
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_204), "1,204");
        assert_eq!(thousands(12_345_678), "12,345,678");
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
