//! A trace as a waterfall for the terminal, the picture Jaeger draws: one
//! line per span, children indented under their parent, and a bar per span
//! on a common time axis (the trace's first start to its last end, scaled to
//! `width` columns), then its duration and the attributes worth reading.
//! Every line fits the screen's width: the bars get narrower to make room
//! for the attributes, and what still does not fit is cut.
//!
//! ```text
//! trace 5b8aa5a2d2c872e8321cf37308d69df2 · 4 spans · 2 services · 3.41 ms
//! span                 service            0                             3.41 ms
//! StartRequests        otlp-http-client  │████████████████████████████████│  3.41 ms
//!   GET                otlp-http-client  │ ██████████████████████████████ │  3.02 ms  http.response.status_code=200
//! ```
//!
//! A span's log records follow its line, each a `•` on the time axis with
//! its severity and body: `    · INFO  │   •   │  GetUser(100): found`.
//!
//! Span names, services, attributes and log bodies come from whoever sent
//! them, so
//! every one of them goes through the collector's [`text`] sanitizer before
//! it reaches the terminal; widths are terminal columns (CJK takes two).

use std::collections::HashMap;

use collector::{LogRecord, Span, Trace, text};

/// Attributes shown on a span's line, when present, the most telling
/// first (a line too long for the screen loses its end). A database span
/// is named by its query summary (`SELECT user`); its query text, with
/// placeholders, says the rest. The gRPC status is read under the semantic
/// conventions' current name and the older `rpc.grpc.status_code`.
const SHOWN_ATTRIBUTES: &[&str] = &[
    "user.id",
    "http.route",
    "http.response.status_code",
    "rpc.response.status_code",
    "rpc.grpc.status_code",
    "cache.hit",
    "error.type",
    "db.query.text",
];

/// Span names are whole (cut only when they would leave the service
/// column fewer than this many columns beside the bars' minimum).
const SERVICE_MIN: usize = 12;
/// Notes beside the bars get at least this many columns (or all that the
/// widest takes, if less); on a narrower screen they go on lines of their
/// own, under the span's.
const NOTES_MIN: usize = 24;
/// Longest error message shown; the rest is in the collector.
const MESSAGE_MAX: usize = 72;
/// The bars give up columns for the attributes down to this width.
const MIN_BAR: usize = 16;
/// Columns of a span line besides its name, service, bar and notes: the
/// gaps, the bar's two `│` and the duration.
const FRAME: usize = 2 + 2 + 2 + 2 + 8;

/// The waterfall of `trace` in lines of at most `total` columns: `width`
/// columns for the bars (at least 1) when the attributes fit beside them,
/// fewer (down to [`MIN_BAR`]) when they do not, and then attributes that
/// do not fit go on lines of their own under the span's, cut (with `…`)
/// if even that is too narrow.
pub(crate) fn waterfall(trace: &Trace, width: usize, total: usize) -> String {
    let width = width.max(1);
    let rows = rows(trace);
    let (start, end) = trace.bounds();
    let span_time = end.saturating_sub(start);

    let services = trace.services();
    let header = format!(
        "trace {} · {} span{} · {} service{} · {}",
        text::escape(&trace.trace_id),
        trace.spans.len(),
        plural(trace.spans.len()),
        services.len(),
        plural(services.len()),
        text::duration(span_time),
    );
    let mut lines = vec![header];
    if !rows.is_empty() {
        let mut logs: HashMap<&str, Vec<&LogRecord>> = HashMap::new();
        for log in &trace.logs {
            if let Some(span_id) = log.span_id.as_deref() {
                logs.entry(span_id).or_default().push(log);
            }
        }
        lines.extend(table(&rows, &logs, start, span_time, width, total));
        let unattached = trace.unattached_logs().len();
        if unattached > 0 {
            lines.push(format!(
                "(and {unattached} log record{} of no span shown here: see the web view)",
                plural(unattached)
            ));
        }
    }
    let fitted: Vec<String> = lines.iter().map(|l| text::fit(l, total)).collect();
    fitted.join("\n")
}

/// The axis line, one line per span, and one per log record under its span.
fn table(
    rows: &[Row<'_>],
    logs: &HashMap<&str, Vec<&LogRecord>>,
    start: u64,
    span_time: u64,
    width: usize,
    total: usize,
) -> Vec<String> {
    // Names whole: the name column is as wide as the widest name, and the
    // attributes make room for it (they go under the span's line). Only a
    // name that leaves no room for a short service column and the bars'
    // minimum is cut.
    let min_bar = width.min(MIN_BAR);
    let name_max = total.saturating_sub(FRAME + min_bar + SERVICE_MIN).max(4);

    let labels: Vec<String> = rows
        .iter()
        .map(|row| {
            // Never wider than the column, however deep the span.
            let indent = " ".repeat(2 * row.depth.min(name_max / 2));
            text::fit(
                &format!("{indent}{}", text::escape(&row.span.name)),
                name_max,
            )
        })
        .collect();
    // A log record's label (`· INFO`) sits one level deeper than its span.
    let log_label = |row: &Row<'_>, log: &LogRecord| -> String {
        let indent = " ".repeat(2 * (row.depth + 1).min(name_max / 2));
        text::fit(
            &format!("{indent}· {}", text::escape(&log.severity)),
            name_max,
        )
    };
    let log_labels = rows.iter().flat_map(|row| {
        logs.get(row.span.span_id.as_str())
            .into_iter()
            .flatten()
            .map(move |log| log_label(row, log))
    });
    let name_width = labels
        .iter()
        .cloned()
        .chain(log_labels)
        .map(|l| text::width(&l))
        .max()
        .unwrap_or(0)
        .max(4);
    let service_max = total.saturating_sub(FRAME + min_bar + name_width).max(4);
    let service_names: Vec<String> = rows
        .iter()
        .map(|row| text::fit(&row.span.service_name, service_max))
        .collect();
    let service_width = service_names
        .iter()
        .map(|s| text::width(s))
        .max()
        .unwrap_or(0)
        .max(7);
    let notes: Vec<Vec<String>> = rows.iter().map(|row| notes(row.span, row.note)).collect();
    let joined =
        |parts: &[String]| -> usize { parts.iter().map(|p| text::width(p) + 2).sum::<usize>() };
    // A log record's body takes the duration's columns too.
    let widest_body = rows
        .iter()
        .flat_map(|row| logs.get(row.span.span_id.as_str()).into_iter().flatten())
        .map(|log| (text::width(&text::escape(&log.body)) + 2).saturating_sub(10))
        .max()
        .unwrap_or(0);
    let widest_line = notes
        .iter()
        .map(|n| joined(n))
        .max()
        .unwrap_or(0)
        .max(widest_body);
    let widest_part = notes
        .iter()
        .flatten()
        .map(|p| text::width(p) + 2)
        .max()
        .unwrap_or(0)
        .max(widest_body);

    // The bars at `width` when every span's notes fit on its line; else
    // narrower, down to the minimum, and the notes go on as many lines as
    // they take, each note whole if it can be.
    let room = total.saturating_sub(name_width + service_width + FRAME);
    let bar_width = if room.saturating_sub(widest_line) >= min_bar {
        width.min(room - widest_line)
    } else {
        room.saturating_sub(widest_part).clamp(min_bar, width)
    }
    .min(room)
    .max(1);
    // Beside the bars (and the duration's columns, for a log record's body),
    // or, on a screen too narrow for that, none: everything goes under.
    let mut notes_room = room.saturating_sub(bar_width + 2);
    if notes_room < NOTES_MIN.min(widest_line.saturating_sub(2)) {
        notes_room = 0;
    }
    let body_room = if notes_room == 0 { 0 } else { notes_room + 10 };
    // Under a span's line, from the service column to the screen's edge.
    let under_room = total.saturating_sub(name_width + 2);
    let under = |notes: &str| format!("{}  {notes}", text::cell("", name_width));
    let axis = Axis {
        start,
        total: span_time,
        width: bar_width,
    };

    // The axis: "0" over the bars' left edge, the total over the right one.
    let (zero, full) = ("0", text::duration(span_time));
    let gap = (bar_width + 2)
        .saturating_sub(zero.len() + text::width(&full))
        .max(1);
    let mut lines = vec![format!(
        "{}  {}  {zero}{:gap$}{full}",
        text::cell("span", name_width),
        text::cell("service", service_width),
        ""
    )];
    // A line that goes on with more notes: the columns blank, the bar's frame.
    let more = format!(
        "{}  {}  │{}│  {:>8}",
        text::cell("", name_width),
        text::cell("", service_width),
        " ".repeat(bar_width),
        ""
    );
    for ((row, label), (service, notes)) in rows
        .iter()
        .zip(&labels)
        .zip(service_names.iter().zip(&notes))
    {
        let span = row.span;
        let line = format!(
            "{}  {}  │{}│  {:>8}",
            text::cell(label, name_width),
            text::cell(service, service_width),
            bar(span, &axis),
            text::duration_of(span.duration()),
        );
        // Each note whole beside the bars if it fits there, else under.
        let (beside, below): (Vec<String>, Vec<String>) = notes
            .iter()
            .cloned()
            .partition(|note| text::width(note) <= notes_room);
        let mut groups = group(&beside, notes_room).into_iter();
        match groups.next() {
            Some(notes) => lines.push(format!("{line}  {notes}")),
            None => lines.push(line),
        }
        lines.extend(groups.map(|notes| format!("{more}  {notes}")));
        lines.extend(group(&below, under_room).iter().map(|n| under(n)));
        for log in logs.get(span.span_id.as_str()).into_iter().flatten() {
            let label = log_label(row, log);
            let line = format!(
                "{}  {}  │{}│",
                text::cell(&label, name_width),
                text::cell("", service_width),
                mark(log.time_unix_nano, &axis),
            );
            let body = text::escape(&log.body);
            if text::width(&body) <= body_room {
                lines.push(format!("{line}  {body}"));
            } else {
                lines.push(line);
                lines.push(under(&text::fit(&body, under_room)));
            }
        }
    }
    lines
}

/// The axis's width in blanks, with a `•` where `at` falls on it.
fn mark(at: u64, axis: &Axis) -> String {
    let column = axis.column(at, false).min(axis.width - 1);
    format!(
        "{}•{}",
        " ".repeat(column),
        " ".repeat(axis.width - column - 1)
    )
}

/// `notes` joined two spaces apart in lines of at most `room` columns; a
/// note wider than that is cut.
fn group(notes: &[String], room: usize) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    if room == 0 {
        return groups;
    }
    for note in notes {
        let note = text::fit(note, room);
        match groups.last_mut() {
            Some(last) if text::width(last) + 2 + text::width(&note) <= room => {
                last.push_str("  ");
                last.push_str(&note);
            }
            _ => groups.push(note),
        }
    }
    groups
}

/// One line of the waterfall: a span, its depth, and why it is not where
/// its parent link says.
struct Row<'t> {
    span: &'t Span,
    depth: usize,
    note: Option<&'static str>,
}

/// The spans depth-first, children sorted by start time. A span whose parent
/// never arrived starts a tree of its own; spans only reachable through a
/// parent cycle come last.
fn rows(trace: &Trace) -> Vec<Row<'_>> {
    trace
        .tree()
        .into_iter()
        .map(|row| Row {
            span: row.span,
            depth: row.depth,
            note: match (row.depth, row.in_cycle, row.span.parent_span_id.is_some()) {
                (0, true, _) => Some("(parent link loops)"),
                (0, false, true) => Some("(parent span not received)"),
                _ => None,
            },
        })
        .collect()
}

/// The axis's width in characters: blanks before the span starts, `█` while it runs,
/// blanks after; `▏` marks a span of zero length.
fn bar(span: &Span, axis: &Axis) -> String {
    let width = axis.width;
    let from = axis.column(span.start_unix_nano, false).min(width - 1);
    let to = axis.column(span.end_unix_nano.max(span.start_unix_nano), true);
    let mut bar = " ".repeat(from);
    if to > from {
        bar.push_str(&"█".repeat(to - from));
    } else {
        bar.push('▏');
    }
    let used = from + (to - from).max(1);
    bar.push_str(&" ".repeat(width - used));
    bar
}

/// The time axis: `total` ns from `start` over `width` columns.
struct Axis {
    start: u64,
    total: u64,
    width: usize,
}

impl Axis {
    /// The column (0 to `width`) where `at` falls, rounded down or up.
    fn column(&self, at: u64, round_up: bool) -> usize {
        if self.total == 0 {
            return 0;
        }
        let scaled = u128::from(at.saturating_sub(self.start)) * self.width as u128;
        let total = u128::from(self.total);
        let column = if round_up {
            scaled.div_ceil(total)
        } else {
            scaled / total
        };
        usize::try_from(column)
            .unwrap_or(self.width)
            .min(self.width)
    }
}

/// The error, if any, how the span sits in the tree, if oddly, then the
/// attributes worth reading: the most telling first, as a line too long
/// for the screen is cut at its end.
fn notes(span: &Span, note: Option<&str>) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    if span.is_error() {
        let mut error = "✗ error".to_owned();
        if !span.status_message.is_empty() {
            error.push_str(": ");
            error.push_str(&text::fit(&span.status_message, MESSAGE_MAX));
        }
        // The cause, when the span recorded one and the status does not say it.
        let exception = span
            .events
            .iter()
            .filter(|e| e.name == "exception")
            .find_map(|e| e.attributes.get("exception.message")?.as_str())
            .filter(|cause| *cause != span.status_message);
        if let Some(cause) = exception {
            error.push_str(" · exception: ");
            error.push_str(&text::fit(cause, MESSAGE_MAX));
        }
        parts.push(error);
    }
    if let Some(note) = note {
        parts.push(note.to_owned());
    }
    for key in SHOWN_ATTRIBUTES {
        if let Some(value) = span.attributes.get(*key) {
            let value = match value.as_str() {
                Some(s) => s.to_owned(),
                None => value.to_string(),
            };
            match *key {
                // Every call that went well says OK: only the others are news.
                "rpc.response.status_code" | "rpc.grpc.status_code"
                    if value == "OK" || value == "0" => {}
                // SQL says what it is; the columns go to the statement.
                "db.query.text" => parts.push(text::escape(&value).into_owned()),
                _ => parts.push(format!("{key}={}", text::escape(&value))),
            }
        }
    }
    parts
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collector::{SpanKind, StatusCode, Transport};

    const MS: u64 = 1_000_000;
    /// A screen wide enough for every line.
    const WIDE: usize = 300;

    fn span(id: &str, parent: Option<&str>, name: &str, start_ms: u64, end_ms: u64) -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            kind: SpanKind::Internal,
            start_unix_nano: 1_000 * MS + start_ms * MS,
            end_unix_nano: 1_000 * MS + end_ms * MS,
            attributes: Default::default(),
            events: vec![],
            status_code: StatusCode::Unset,
            status_message: String::new(),
            service_name: "svc".into(),
            resource: Default::default(),
            scope_name: String::new(),
            transport: Transport::HttpProtobuf,
            path: "/v1/traces".into(),
            links: Vec::new(),
            linked_from: Vec::new(),
        }
    }

    fn trace(spans: Vec<Span>) -> Trace {
        Trace {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            spans,
            dropped_spans: 0,
            logs: Vec::new(),
            dropped_logs: 0,
        }
    }

    /// The bar of each span line: what lies between the two `│`.
    fn bars(text: &str) -> Vec<String> {
        text.lines()
            .skip(2)
            .filter(|line| line.contains('│'))
            .map(|line| {
                let from = line.find('│').expect("a bar") + '│'.len_utf8();
                let to = line.rfind('│').expect("a bar");
                line[from..to].to_owned()
            })
            .collect()
    }

    fn log(span_id: Option<&str>, at_ms: u64, body: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: 1_000 * MS + at_ms * MS,
            severity: "INFO".into(),
            severity_number: 9,
            body: body.into(),
            attributes: Default::default(),
            trace_id: Some("0af7651916cd43dd8448eb211c80319c".into()),
            span_id: span_id.map(Into::into),
            service_name: "svc".into(),
            scope_name: String::new(),
        }
    }

    #[test]
    fn log_records_follow_their_span_as_marks_on_the_axis() {
        let mut trace = trace(vec![
            span("m", None, "main", 0, 10),
            span("a", Some("m"), "GetUser", 0, 5),
        ]);
        trace.logs = vec![
            log(Some("m"), 5, "GetUser(1): not found"),
            log(Some("a"), 0, "user \x1b[31mnot found"),
            log(Some("elsewhere"), 9, "orphan"),
        ];
        let text = waterfall(&trace, 10, WIDE);
        let lines: Vec<&str> = text.lines().collect();
        // header, axis, main, its record, GetUser, its record, the count.
        assert_eq!(lines.len(), 7, "{text}");
        assert!(lines[3].starts_with("  · INFO"), "{text}");
        assert!(lines[3].ends_with("│  GetUser(1): not found"), "{text}");
        let spans_and_records = lines[..6].join("\n");
        assert_eq!(bars(&spans_and_records)[1], "     •    ", "{text}");
        assert!(lines[5].starts_with("    · INFO"), "{text}");
        assert_eq!(bars(&spans_and_records)[3], "•         ", "{text}");
        // Outside text is escaped, never sent to the terminal raw.
        assert!(!text.contains('\x1b'), "{text}");
        assert_eq!(
            lines[6],
            "(and 1 log record of no span shown here: see the web view)"
        );
    }

    #[test]
    fn bars_share_one_time_axis() {
        // main 0..10 ms; a 0..5; b 5..10 (later in the list, earlier in time order).
        let mut b = span("b", Some("m"), "GetUser", 5, 10);
        b.attributes
            .insert("user.id".into(), serde_json::json!(100));
        let text = waterfall(
            &trace(vec![
                b,
                span("a", Some("m"), "GetUser", 0, 5),
                span("m", None, "main", 0, 10),
            ]),
            10,
            WIDE,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "trace 0af7651916cd43dd8448eb211c80319c · 3 spans · 1 service · 10.00 ms"
        );
        assert!(lines[1].starts_with("span       service  0 "), "{text}");
        assert!(lines[1].ends_with("10.00 ms"), "{text}");
        assert_eq!(
            bars(&text),
            ["██████████", "█████     ", "     █████"],
            "{text}"
        );
        // Names indented under their parent, then one column for the bars.
        assert!(lines[2].starts_with("main       svc      │"), "{text}");
        assert!(lines[3].starts_with("  GetUser  svc      │"), "{text}");
        assert!(lines[4].ends_with("5.00 ms  user.id=100"), "{text}");
        let bar_column: std::collections::HashSet<usize> =
            lines[2..].iter().map(|l| l.find('│').unwrap()).collect();
        assert_eq!(bar_column.len(), 1, "{text}");
    }

    #[test]
    fn a_database_span_shows_its_statement_and_a_call_only_a_status_that_is_news() {
        let mut select = span("s", Some("m"), "SELECT user", 1, 2);
        select.attributes.insert(
            "db.query.text".into(),
            serde_json::json!("SELECT uid, name FROM user WHERE uid=?"),
        );
        let mut ok = span("o", Some("m"), "user.User/Query", 0, 5);
        ok.attributes
            .insert("rpc.response.status_code".into(), serde_json::json!("OK"));
        let mut refused = span("r", Some("m"), "user.User/Delete", 5, 10);
        refused.attributes.insert(
            "rpc.response.status_code".into(),
            serde_json::json!("INVALID_ARGUMENT"),
        );
        let text = waterfall(
            &trace(vec![span("m", None, "main", 0, 10), ok, select, refused]),
            10,
            WIDE,
        );
        let line = |name: &str| {
            text.lines()
                .find(|l| l.contains(name))
                .unwrap_or_else(|| panic!("no {name}:\n{text}"))
                .to_owned()
        };
        assert!(line("user.User/Query").ends_with("5.00 ms"), "{text}");
        assert!(
            line("SELECT user").ends_with("ms  SELECT uid, name FROM user WHERE uid=?"),
            "{text}"
        );
        assert!(
            line("user.User/Delete").ends_with("rpc.response.status_code=INVALID_ARGUMENT"),
            "{text}"
        );
    }

    #[test]
    fn a_short_span_still_shows_and_rounds_outwards() {
        // 0..1000 ms trace, a span of 1 ms in the middle: one column.
        let text = waterfall(
            &trace(vec![
                span("m", None, "main", 0, 1000),
                span("x", Some("m"), "x", 500, 501),
            ]),
            20,
            WIDE,
        );
        assert_eq!(
            bars(&text)[1],
            format!("{}█{}", " ".repeat(10), " ".repeat(9))
        );
    }

    #[test]
    fn a_zero_length_trace_has_no_division_by_zero() {
        let text = waterfall(&trace(vec![span("m", None, "main", 3, 3)]), 8, WIDE);
        assert!(text.lines().next().unwrap().ends_with("· 0 ns"), "{text}");
        assert_eq!(bars(&text), [format!("▏{}", " ".repeat(7))]);
        assert_eq!(waterfall(&trace(vec![]), 8, WIDE).lines().count(), 1);
    }

    #[test]
    fn a_span_with_a_missing_parent_is_shown_and_said() {
        let text = waterfall(
            &trace(vec![
                span("m", None, "main", 0, 4),
                span("o", Some("gone"), "orphan", 1, 2),
                span("c", Some("o"), "child", 1, 2),
            ]),
            4,
            WIDE,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[3].starts_with("orphan "), "{text}");
        assert!(lines[3].ends_with("(parent span not received)"), "{text}");
        assert!(lines[4].starts_with("  child "), "{text}");
    }

    #[test]
    fn parent_cycles_do_not_loop() {
        let text = waterfall(
            &trace(vec![
                span("a", Some("b"), "A", 0, 1),
                span("b", Some("a"), "B", 0, 1),
            ]),
            4,
            WIDE,
        );
        // Each span once: the cycle from its first span, marked, the other
        // indented under it.
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("A ") && lines[0].ends_with("(parent link loops)"),
            "{text}"
        );
        assert!(lines[1].starts_with("  B "), "{text}");
        assert_eq!(text.matches("(parent link loops)").count(), 1, "{text}");
    }

    #[test]
    fn untrusted_text_cannot_drive_the_terminal() {
        let mut evil = span(
            "m",
            None,
            "GET\u{1b}[2J\u{1b}]0;pwned\u{7}\nfake line\u{202e}",
            0,
            1,
        );
        evil.service_name = "svc\r".into();
        evil.attributes
            .insert("http.route".into(), serde_json::json!("/a\u{1b}[31m"));
        evil.status_code = StatusCode::Error;
        evil.status_message = "bad\u{9b}31m".into();
        let text = waterfall(&trace(vec![evil]), 4, WIDE);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{text:?}");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("GET\\u{1b}[2J"), "{text}");
        assert!(text.contains("svc\\r"), "{text}");
        assert!(text.contains("http.route=/a\\u{1b}[31m"), "{text}");
        assert!(text.contains("✗ error: bad\\u{9b}31m"), "{text}");
    }

    #[test]
    fn long_names_are_whole_unless_wider_than_the_screen_and_errors_name_their_cause() {
        let mut failed = span("m", None, &"x".repeat(100), 0, 1);
        failed.status_code = StatusCode::Error;
        failed.events.push(collector::Event {
            name: "exception".into(),
            time_unix_nano: 0,
            attributes: [("exception.message".to_owned(), serde_json::json!("boom"))].into(),
        });
        let text = waterfall(&trace(vec![failed.clone()]), 4, WIDE);
        let line = text.lines().nth(2).unwrap();
        assert!(
            line.starts_with(&format!("{}  svc", "x".repeat(100))),
            "{text}"
        );
        assert!(line.ends_with("✗ error · exception: boom"), "{text}");
        // A name wider than the screen leaves a service column and the bars.
        let text = waterfall(&trace(vec![failed]), 4, 80);
        let line = text.lines().nth(2).unwrap();
        let name_max = 80 - FRAME - 4 - SERVICE_MIN;
        assert!(
            line.starts_with(&format!("{}…  svc", "x".repeat(name_max - 1))),
            "{text}"
        );
        assert!(text.lines().all(|l| text::width(l) <= 80), "{text}");
    }

    /// The display column of each span line's bar.
    fn bar_columns(text: &str) -> Vec<usize> {
        text.lines()
            .skip(2)
            .filter(|line| line.contains('│'))
            .map(|line| text::width(&line[..line.find('│').expect("a bar")]))
            .collect()
    }

    #[test]
    fn cjk_names_keep_the_bars_aligned() {
        let mut child = span("c", Some("m"), "获取用户", 2, 6);
        child.service_name = "用户服务".into();
        let text = waterfall(
            &trace(vec![
                span("m", None, "main", 0, 10),
                child,
                span("d", Some("m"), "GetDetail", 6, 8),
            ]),
            10,
            WIDE,
        );
        let columns = bar_columns(&text);
        assert_eq!(columns.len(), 3, "{text}");
        assert!(
            columns.iter().all(|c| *c == columns[0]),
            "{columns:?}\n{text}"
        );
        // The axis's "0" stands over the bars' left edge.
        let axis = text.lines().nth(1).unwrap();
        assert_eq!(
            text::width(&axis[..axis.find('0').unwrap()]),
            columns[0],
            "{text}"
        );
        assert!(bars(&text).iter().all(|b| text::width(b) == 10), "{text}");
    }

    #[test]
    fn short_attributes_stay_beside_their_bars() {
        // The in-process trace's columns: 22 are left beside 40 of bars.
        let mut scores = span("u", Some("m"), "GetScores", 1, 4);
        scores.service_name = "inprocess".into();
        scores
            .attributes
            .insert("user.id".into(), serde_json::json!(100));
        let mut main = span("m", None, "main", 0, 10);
        main.service_name = "inprocess".into();
        let text = waterfall(&trace(vec![main, scores]), 40, 100);
        assert!(
            text.lines()
                .any(|l| l.starts_with("  GetScores") && l.ends_with("  user.id=100")),
            "{text}"
        );
        assert_eq!(text.lines().count(), 4, "{text}");
    }

    #[test]
    fn long_attributes_fit_the_screen() {
        let mut failed = span("e", Some("m"), "GET /error", 1, 9);
        failed.service_name = "otlp-http-server".into();
        failed.attributes.insert(
            "http.route".into(),
            serde_json::json!(format!("/{}", "segment/".repeat(30))),
        );
        failed
            .attributes
            .insert("http.response.status_code".into(), serde_json::json!(500));
        failed.status_code = StatusCode::Error;
        failed.status_message = "the stock service did not answer ".repeat(5);
        let deep = span("x", Some("e"), "获取用户", 2, 3);
        let mut long_name = span("y", Some("m"), &"获取".repeat(40), 3, 4);
        long_name.service_name = "a-service-with-a-very-long-name".into();
        let spans = vec![span("m", None, "main", 0, 10), failed, deep];
        let text = waterfall(&trace(spans.clone()), 40, 100);
        for line in text.lines() {
            assert!(
                text::width(line) <= 100,
                "{} columns: {line}",
                text::width(line)
            );
        }
        let columns = bar_columns(&text);
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        // The bars gave up columns for the attributes, down to the minimum.
        assert!(
            bars(&text).iter().all(|b| text::width(b) == MIN_BAR),
            "{text}"
        );
        assert!(text.contains("✗ error: the stock"), "{text}");
        // A note that fits beside the bars is there, whole; one that does
        // not goes under the span's line, from the service column, cut at
        // the screen's edge.
        assert!(
            text.lines().any(|l| l.starts_with("  GET /error  ")
                && l.ends_with("  http.response.status_code=500")),
            "{text}"
        );
        let service_column = text::width("  GET /error  ");
        let under = text
            .lines()
            .find(|l| l.trim_start().starts_with("✗ error: the stock"))
            .unwrap_or_else(|| panic!("no error line under the span:\n{text}"));
        assert_eq!(
            under.len() - under.trim_start().len(),
            service_column,
            "{text}"
        );
        assert!(under.ends_with('…'), "{text}");

        // Where everything fits, the bars keep the width asked for.
        let short = waterfall(&trace(vec![span("m", None, "main", 0, 10)]), 40, 100);
        assert_eq!(text::width(&bars(&short)[0]), 40, "{short}");
        // Long names and a narrow screen: still never overrun.
        let mut spans = spans;
        spans.push(long_name);
        for total in [100, 50] {
            let text = waterfall(&trace(spans.clone()), 40, total);
            for line in text.lines() {
                assert!(text::width(line) <= total, "{line}");
            }
            let columns = bar_columns(&text);
            assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
        }
    }
}
