//! Text from outside (a collector's message, an error, a value from the
//! environment) made safe to print on one terminal line.

/// Control characters (ESC starts an ANSI sequence, CR/LF would forge
/// lines) and bidirectional overrides (they reorder what is shown) become
/// spaces, runs of whitespace one space, and the text is cut to `max`
/// characters, the last one `…` if something was cut.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() || unsafe_to_print(c) {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        space = false;
        if count >= max {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

fn unsafe_to_print(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_short_safe_line() {
        assert_eq!(
            one_line(" a\x1b[31mred\r\nfake  line ", 200),
            "a [31mred fake line"
        );
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("evil\u{202e}txt.exe", 200), "evil txt.exe");
    }
}
