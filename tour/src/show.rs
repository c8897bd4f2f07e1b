//! What the tour prints, every line fitted to the terminal's width: the
//! headings and intros, commands as a user would type them, a process's
//! output, and the summary. (A trace's waterfall is `waterfall.rs`.)
//!
//! A process's output comes from outside the tour, so it goes through the
//! collector's [`text`] sanitizer before it reaches the terminal.

use std::io::Write as _;

use collector::{Collector, text};
use testkit::process::Finished;

use crate::run::Outcome;

/// Columns when neither the terminal nor `COLUMNS` says.
const DEFAULT_COLUMNS: usize = 100;
/// Narrower than this, nothing is readable anyway.
const MIN_COLUMNS: usize = 40;
/// Intro paragraphs are wrapped at most this wide.
const PARAGRAPH: usize = 78;
/// Where an indented line starts, and a command's continuation lines.
const INDENT: &str = "   ";
const CONTINUED: &str = "    ";

/// The terminal, as wide as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Screen {
    cols: usize,
}

impl Screen {
    /// As wide as the terminal says it is; else `COLUMNS` columns when it
    /// is set and a number; else 100.
    pub(crate) fn new() -> Screen {
        Screen {
            cols: text::terminal_columns(DEFAULT_COLUMNS).max(MIN_COLUMNS),
        }
    }

    /// Its width in columns.
    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// One line, cut to the width (with `…` where it was cut).
    pub(crate) fn line(&self, line: &str) {
        println!("{}", text::fit(line, self.cols));
    }

    pub(crate) fn blank(&self) {
        println!();
    }

    /// A blank line, then `━━ title`.
    pub(crate) fn heading(&self, title: &str) {
        self.blank();
        self.line(&format!("━━ {title}"));
    }

    /// Prose, wrapped at word boundaries and indented.
    pub(crate) fn paragraph(&self, prose: &str) {
        let width = PARAGRAPH.min(self.cols);
        let words: Vec<String> = prose.split_whitespace().map(str::to_owned).collect();
        for line in wrap(&words, width, INDENT, INDENT, "") {
            self.line(&line);
        }
    }

    /// Text from outside (a trace's sentence), escaped and wrapped at word
    /// boundaries to the terminal's width, indented.
    pub(crate) fn prose(&self, prose: &str) {
        let escaped = text::escape(prose);
        // A duration's unit stays on the line of its number (`510 µs`).
        let mut words: Vec<String> = Vec::new();
        for word in escaped.split_whitespace() {
            let unit = ["ns", "µs", "ms", "s"]
                .iter()
                .any(|u| word.trim_end_matches([',', '.', ';', ')']) == *u);
            match words.last_mut() {
                Some(last) if unit && last.ends_with(|c: char| c.is_ascii_digit()) => {
                    last.push(' ');
                    last.push_str(word);
                }
                _ => words.push(word.to_owned()),
            }
        }
        for line in wrap(&words, self.cols, INDENT, INDENT, "") {
            self.line(&line);
        }
    }

    /// `text`'s lines, each after `prefix` (a waterfall).
    pub(crate) fn block(&self, block: &str, prefix: &str) {
        for line in block.lines() {
            self.line(&format!("{prefix}{line}"));
        }
    }

    /// `items` after `first`, comma-separated, on as many lines as they
    /// take (the later ones under the first item).
    pub(crate) fn words(&self, first: &str, items: &[&str]) {
        let rest = " ".repeat(text::width(first));
        let words: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let comma = if i + 1 < items.len() { "," } else { "" };
                format!("{item}{comma}")
            })
            .collect();
        for line in wrap(&words, self.cols, first, &rest, "") {
            self.line(&line);
        }
    }

    /// A command as a user types it, after `first` (`$ ` or a label):
    /// words on as many lines as it takes, each but the last ending in ` \`
    /// so that it still pastes into a shell; then `note` as a comment.
    pub(crate) fn command(&self, first: &str, words: &[String], note: Option<&str>) {
        let rest = format!("{}{CONTINUED}", " ".repeat(text::width(first)));
        let mut lines = wrap(words, self.cols, first, &rest, " \\");
        if let (Some(note), Some(last)) = (note, lines.last_mut()) {
            let comment = format!("   # {note}");
            if text::width(last) + text::width(&comment) <= self.cols {
                last.push_str(&comment);
            } else {
                lines.push(format!("{rest}{}", comment.trim_start()));
            }
        }
        for line in lines {
            self.line(&line);
        }
    }

    /// Lines from outside (a process's output) under a label:
    /// `   stdout │ line`, escaped and cut to the width.
    pub(crate) fn labelled<'t>(&self, label: &str, lines: impl IntoIterator<Item = &'t str>) {
        for (i, line) in lines.into_iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            let prefix = format!("{INDENT}{label:<6} │ ");
            let room = self.cols.saturating_sub(text::width(&prefix));
            println!("{prefix}{}", text::fit(line, room));
        }
    }

    /// A process's end (`status`, e.g. `exit status 0 after 12.50 ms`),
    /// its stdout as printed, and the lines of its stderr that tell the
    /// story (errors and where the spans went); its log lines are not
    /// shown, only counted: the trace shows each under its span.
    pub(crate) fn process(&self, status: &str, out: &Finished) {
        self.line(&format!("{INDENT}{status}"));
        self.labelled("stdout", out.stdout.lines());
        let tells = |l: &&str| {
            ["error:", "warning:", "note:", "exported "]
                .iter()
                .any(|start| l.starts_with(start))
        };
        let mut told: Vec<String> = out
            .stderr
            .lines()
            .filter(tells)
            .map(str::to_owned)
            .collect();
        let hidden = out.stderr.lines().filter(|l| !tells(l)).count();
        if hidden > 0 {
            told.push(format!(
                "({hidden} log line{} not shown here: the trace below has each under its span)",
                if hidden == 1 { "" } else { "s" }
            ));
        }
        self.wrapped("stderr", told.iter().map(String::as_str));
    }

    /// Lines from outside under a label, as [`Self::labelled`], but each
    /// wrapped at its spaces instead of cut: a report is read to its end.
    fn wrapped<'t>(&self, label: &str, lines: impl IntoIterator<Item = &'t str>) {
        let rest = format!("{INDENT}{:<6} │ ", "");
        for (i, line) in lines.into_iter().enumerate() {
            let first = format!("{INDENT}{:<6} │ ", if i == 0 { label } else { "" });
            let words: Vec<String> = text::escape(line)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            for line in wrap(&words, self.cols, &first, &rest, "") {
                self.line(&line);
            }
        }
    }

    /// Waits for Enter after a prompt; `false` on end of input (stdin
    /// closed), said once.
    pub(crate) async fn press_enter(&self) -> bool {
        print!("{INDENT}press Enter to run it ");
        let _ = std::io::stdout().flush();
        let read = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)
        })
        .await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            println!("(no input: not pausing any more)");
            return false;
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            // A terminal echoes the Enter; piped input does not.
            println!();
        }
        true
    }

    /// Problems, one `✗` each, indented under it when they take lines;
    /// wrapped, not cut: what differs is often at the end.
    pub(crate) fn problems(&self, problems: &[String]) {
        for problem in problems {
            for (i, line) in problem.lines().enumerate() {
                let mark = if i == 0 { "✗" } else { " " };
                self.said(&format!("{INDENT}{mark} "), &format!("{INDENT}  "), line);
            }
        }
    }

    /// `line` (from outside: escaped) after `first`, wrapped at its spaces
    /// under `rest`.
    fn said(&self, first: &str, rest: &str, line: &str) {
        let words: Vec<String> = text::escape(line)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        for line in wrap(&words, self.cols, first, rest, "") {
            self.line(&line);
        }
    }

    /// Where the collector listens, under `heading`.
    pub(crate) fn collector(&self, heading: &str, collector: &Collector) {
        self.line(heading);
        self.line(&format!("{INDENT}OTLP/gRPC  {}", collector.grpc_endpoint()));
        self.line(&format!("{INDENT}OTLP/HTTP  {}", collector.http_endpoint()));
        if let Some(url) = collector.ui_url() {
            self.line(&format!("{INDENT}web view   {url}"));
        }
    }

    /// The summary: one line per example, the other problems, the verdict;
    /// `true` if everything held.
    pub(crate) fn summary(&self, outcomes: &[Outcome], other_problems: &[String]) -> bool {
        self.heading("summary");
        for (outcome, line) in outcomes.iter().zip(outcome_lines(outcomes, self.cols)) {
            self.line(&line);
            for problem in &outcome.problems {
                self.said(
                    &format!("{INDENT}    - "),
                    &format!("{INDENT}      "),
                    first_line(problem),
                );
            }
        }
        for problem in other_problems {
            self.said(
                &format!("{INDENT}✗ "),
                &format!("{INDENT}  "),
                first_line(problem),
            );
        }
        let run = outcomes.iter().filter(|o| o.spans.is_some()).count();
        let spans: usize = outcomes.iter().filter_map(|o| o.spans).sum();
        let differences: usize =
            outcomes.iter().map(|o| o.problems.len()).sum::<usize>() + other_problems.len();
        let verdict = match differences {
            0 => "all as expected".to_owned(),
            1 => "1 difference (above)".to_owned(),
            n => format!("{n} differences (above)"),
        };
        self.line(&format!(
            "{} examples run, {run} traces, {spans} spans: {verdict}",
            outcomes.len()
        ));
        differences == 0
    }
}

/// `words` in lines of at most `width` columns: the first after `first`,
/// the others after `rest`, each but the last ending in `end`. A word never
/// breaks; one too long for a line is cut when printed.
fn wrap(words: &[String], width: usize, first: &str, rest: &str, end: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in words {
        let space = usize::from(!empty);
        let fits = text::width(&line) + space + text::width(word) + text::width(end) <= width;
        if !empty && !fits {
            line.push_str(end);
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The summary's line of each example: its mark, number, title and what
/// came of it (`1 trace, 9 spans`; only `9 spans` when the titles would be
/// cut otherwise: every example makes one trace, and the verdict counts
/// them), in `cols` columns.
fn outcome_lines(outcomes: &[Outcome], cols: usize) -> Vec<String> {
    let numbers = outcomes.len().to_string().len();
    // `   ✓ 1. ` and the counts take their room; the titles get the rest.
    let fixed = INDENT.len() + 2 + numbers + 2;
    let titles = outcomes
        .iter()
        .map(|o| text::width(o.title))
        .max()
        .unwrap_or(0);
    let counts = |outcome: &Outcome, long: bool| match (outcome.spans, long) {
        (Some(n), true) => format!("1 trace, {n} spans"),
        (Some(n), false) => format!("{n} spans"),
        (None, _) => "no trace".to_owned(),
    };
    let width = |long: bool| {
        outcomes
            .iter()
            .map(|o| counts(o, long).len())
            .max()
            .unwrap_or(0)
    };
    let long = fixed + titles + 2 + 1 + width(true) <= cols;
    let title_width = (titles + 2).min(cols.saturating_sub(fixed + 1 + width(long)));
    outcomes
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            let mark = if outcome.problems.is_empty() {
                "✓"
            } else {
                "✗"
            };
            format!(
                "{INDENT}{mark} {:>numbers$}. {} {}",
                i + 1,
                text::cell(outcome.title, title_width),
                counts(outcome, long)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn summary_titles_are_whole_at_80_columns() {
        let outcome = |title, spans| Outcome {
            title,
            spans,
            problems: Vec::new(),
        };
        let outcomes = [
            outcome(
                "A failing call: the server's /error route (expected to fail)",
                Some(3),
            ),
            outcome("A gRPC service on a database and a cache", Some(15)),
            outcome("A trace across child processes", None),
        ];
        let narrow = outcome_lines(&outcomes, 80);
        assert!(narrow[0].contains("(expected to fail)") && narrow[0].ends_with(" 3 spans"));
        assert!(narrow[2].ends_with(" no trace"), "{narrow:?}");
        assert!(narrow.iter().all(|l| text::width(l) <= 80), "{narrow:?}");
        // With room, each says its trace too.
        let wide = outcome_lines(&outcomes, 100);
        assert!(wide[1].ends_with(" 1 trace, 15 spans"), "{wide:?}");
        assert!(wide.iter().all(|l| text::width(l) <= 100), "{wide:?}");
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(
            wrap(&words("aa bb cc dd"), 7, "> ", "> ", ""),
            ["> aa bb", "> cc dd"]
        );
        assert!(wrap(&[], 5, "> ", "> ", "").is_empty());
    }

    #[test]
    fn a_long_command_continues_with_a_backslash() {
        let lines = wrap(
            &words("cargo run -- --url http://x/hello --path /p"),
            24,
            "$ ",
            "    ",
            " \\",
        );
        assert_eq!(
            lines,
            [
                "$ cargo run -- --url \\",
                "    http://x/hello \\",
                "    --path /p"
            ]
        );
        assert!(lines.iter().all(|l| text::width(l) <= 24), "{lines:?}");
    }
}
