//! Prints each finished trace to stdout as an indented tree, once, with
//! each span's log records under it.
//!
//! A trace is printed when it has settled (`settled`: complete and quiet
//! for [`SETTLE`], or quiet for five seconds, complete or not); the printer
//! is one reader of the same feed as [`crate::SettledTraces`]. Spans that
//! and log records that arrive after their trace was printed get one compact
//! line naming them, never a second tree. Every piece of outside text goes through
//! [`crate::text`]; a deep trace is indented up to [`MAX_INDENT`] levels and
//! then says how deep it is.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use tokio::sync::watch;

use crate::model::{LogRecord, Span, Trace, Transport};
use crate::settled::{Feed, SETTLE};
use crate::store::{Settled, Store};
use crate::text;
/// On shutdown, traces still pending are printed for at most this long and
/// at most [`SHUTDOWN_SPANS`] spans; the rest are counted, not printed.
pub(crate) const SHUTDOWN_BUDGET: Duration = Duration::from_millis(500);
const SHUTDOWN_SPANS: usize = 5_000;
/// Deeper spans are indented as deep as this and marked with their depth.
const MAX_INDENT: usize = 32;
/// Columns of a span name or attribute value, at most.
const MAX_TEXT: usize = 120;
/// Log records printed under one span (or of no span), at most; the rest
/// are counted.
const MAX_LOGS: usize = 20;

/// Attributes worth showing on a span's line, when present. A database
/// span is named by its query summary (`SELECT user`): its query text (with
/// placeholders) says the rest. The gRPC status is read under both the
/// semantic conventions' current name and the older `rpc.grpc.status_code`.
const SHOWN_ATTRIBUTES: &[&str] = &[
    "user.id",
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "rpc.method",
    "rpc.response.status_code",
    "rpc.grpc.status_code",
    "db.system.name",
    "db.query.text",
    "cache.hit",
];

/// Prints traces as they settle until `shutdown` turns true, then, within
/// a budget, what is still pending.
pub(crate) async fn run(store: Store, mut shutdown: watch::Receiver<bool>) {
    let mut feed = Feed::new(&store, Some(SHOWN_ATTRIBUTES), true);
    while feed.wait(&mut shutdown).await {
        // Rendering a big trace takes a while: not on a runtime thread.
        let printing = tokio::task::spawn_blocking(move || {
            print(&feed.take());
            feed
        });
        match printing.await {
            Ok(back) => feed = back,
            Err(_) => return,
        }
    }
    let printing = tokio::task::spawn_blocking(move || {
        print(&feed.take_all(SHUTDOWN_SPANS));
        feed.ungiven()
    });
    let (traces, spans) = tokio::time::timeout(SHUTDOWN_BUDGET, printing)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    if traces > 0 {
        let _ = writeln!(
            std::io::stdout().lock(),
            "({traces} more trace{} with {spans} span{} not printed on the way out; \
             the web view shows traces while the collector runs)",
            plural(traces),
            plural(spans),
        );
    }
}

fn print(due: &[Settled]) {
    let mut stdout = std::io::stdout().lock();
    for settled in due {
        // Not `println!`: a closed stdout (`collector | head`) must not panic.
        let _ = match settled {
            Settled::Whole(trace) => writeln!(stdout, "{}\n", render(trace)),
            Settled::Late {
                trace_id,
                spans,
                logs,
                after,
            } => writeln!(stdout, "{}\n", render_late(trace_id, spans, logs, *after)),
            Settled::TraceLess { logs, missed } => {
                stdout.write_all(render_trace_less(logs, *missed).as_bytes())
            }
        };
    }
}

/// The trace as text: a header line, then one line per span, children
/// indented under their parent and sorted by start time, each span's log
/// records (time from the span's start) under it one level deeper; then the
/// records of no span of the trace (time from the trace's start).
pub(crate) fn render(trace: &Trace) -> String {
    if trace.spans.is_empty() {
        return render_logs_only(trace);
    }
    let services: Vec<String> = trace.services().iter().map(|s| text::fit(s, 60)).collect();
    let mut out = format!(
        "trace {}  {} span{}  services: {}",
        trace.trace_id,
        trace.spans.len(),
        plural(trace.spans.len()),
        services.join(", ")
    );
    if !trace.logs.is_empty() {
        let _ = write!(
            out,
            "  {} log record{}",
            trace.logs.len(),
            plural(trace.logs.len())
        );
    }
    if !trace.is_complete() {
        out.push_str("  (incomplete: some parent spans never arrived)");
    }
    if trace.dropped_spans > 0 {
        let _ = write!(
            out,
            "  ({} more span{} dropped: the trace reached the collector's per-trace limit, --max-spans-per-trace)",
            trace.dropped_spans,
            plural(usize::try_from(trace.dropped_spans).unwrap_or(usize::MAX)),
        );
    }
    if trace.dropped_logs > 0 {
        let _ = write!(
            out,
            "  ({} more log record{} dropped: the trace reached the collector's per-trace limit, --max-logs-per-trace)",
            trace.dropped_logs,
            plural(usize::try_from(trace.dropped_logs).unwrap_or(usize::MAX)),
        );
    }
    let (by_span, unattached) = trace.logs_by_span();
    for row in trace.tree() {
        out.push('\n');
        write_span(&mut out, row.span, row.depth);
        if row.in_cycle && row.depth == 0 {
            out.push_str("  (parent link loops)");
        }
        if let Some(logs) = by_span.get(row.span.span_id.as_str()) {
            let indent = indent(row.depth) + 2;
            write_logs(&mut out, logs, row.span.start_unix_nano, indent, false);
        }
    }
    if !unattached.is_empty() {
        out.push_str("\n  (log records of no span in this trace)");
        write_logs(&mut out, &unattached, trace.bounds().0, 4, true);
    }
    out
}

/// A trace of log records only (no span of it arrived): a header, then
/// its records, the time of each from the first.
fn render_logs_only(trace: &Trace) -> String {
    let services: BTreeSet<String> = trace
        .logs
        .iter()
        .map(|l| text::fit(&l.service_name, 60))
        .collect();
    let mut out = format!(
        "trace {}  log records only: {} (no span of this trace arrived)  services: {}",
        trace.trace_id,
        trace.logs.len(),
        services.into_iter().collect::<Vec<_>>().join(", ")
    );
    let logs: Vec<&LogRecord> = trace.logs.iter().collect();
    let start = logs.iter().map(|l| l.time_unix_nano).min().unwrap_or(0);
    write_logs(&mut out, &logs, start, 4, true);
    out
}

/// Log records of no trace, one line each: `log (no trace)  INFO body
/// [service]`; `missed` more came than were printed.
fn render_trace_less(logs: &[LogRecord], missed: usize) -> String {
    let mut out = String::new();
    if missed > 0 {
        let _ = writeln!(
            out,
            "log (no trace)  ({missed} more record{} came meanwhile, not printed; GET /api/logs has them)",
            plural(missed)
        );
    }
    for log in logs {
        out.push_str("log (no trace) ");
        if !log.severity.is_empty() {
            let _ = write!(out, " {}", text::fit(&log.severity, 20));
        }
        let _ = writeln!(
            out,
            " {}  [{}]",
            text::fit(&log.body, MAX_TEXT),
            text::fit(&log.service_name, 60)
        );
    }
    out
}

/// Columns a span line at `depth` is indented by.
fn indent(depth: usize) -> usize {
    2 + depth.min(MAX_INDENT) * 2
}

/// One line per record (at most [`MAX_LOGS`], then how many more), each
/// `indent` columns in: `· +0.012 ms INFO body`, the time from `start`.
fn write_logs(out: &mut String, logs: &[&LogRecord], start: u64, indent: usize, service: bool) {
    for log in logs.iter().take(MAX_LOGS) {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        let offset = i128::from(log.time_unix_nano) - i128::from(start);
        // Exact to the nanosecond up to 2^53 ns (104 days).
        let ms = offset as f64 / 1e6;
        let _ = write!(out, "· {ms:+.3} ms");
        if !log.severity.is_empty() {
            let _ = write!(out, " {}", text::fit(&log.severity, 20));
        }
        let _ = write!(out, " {}", text::fit(&log.body, MAX_TEXT));
        if service {
            let _ = write!(out, "  [{}]", text::fit(&log.service_name, 60));
        }
    }
    if logs.len() > MAX_LOGS {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent));
        let more = logs.len() - MAX_LOGS;
        let _ = write!(out, "({more} more log record{})", plural(more));
    }
}

/// One line for spans and log records that came after their trace was
/// printed.
fn render_late(trace_id: &str, spans: &[Span], logs: &[LogRecord], after: Duration) -> String {
    let mut counts = Vec::new();
    let mut parts = Vec::new();
    if !spans.is_empty() {
        counts.push(format!("+{} span{}", spans.len(), plural(spans.len())));
        parts.push(first_five(spans, |s| {
            format!(
                "{} [{}]",
                text::fit(&s.name, 40),
                text::fit(&s.service_name, 40)
            )
        }));
    }
    if !logs.is_empty() {
        counts.push(format!("+{} log record{}", logs.len(), plural(logs.len())));
        parts.push(first_five(logs, |l| {
            let body = text::fit(&l.body, 40);
            if l.severity.is_empty() {
                body
            } else {
                format!("{} {body}", text::fit(&l.severity, 20))
            }
        }));
    }
    format!(
        "trace {trace_id}  {} {:.1} s after it was printed: {}  \
         (their exporter's batch came later than the collector waits for a trace to go quiet, {} s)",
        counts.join(", "),
        after.as_secs_f64(),
        parts.join("; "),
        SETTLE.as_secs()
    )
}

/// The first five items, named, and how many more.
fn first_five<T>(items: &[T], name: impl Fn(&T) -> String) -> String {
    let mut names: Vec<String> = items.iter().take(5).map(name).collect();
    if items.len() > 5 {
        names.push(format!("and {} more", items.len() - 5));
    }
    names.join(", ")
}

fn write_span(out: &mut String, span: &Span, depth: usize) {
    let ms = span.duration().as_secs_f64() * 1000.0;
    out.extend(std::iter::repeat_n(' ', indent(depth)));
    if depth > MAX_INDENT {
        let _ = write!(out, "[depth {depth}] ");
    }
    let _ = write!(
        out,
        "{} [{}] {ms:.2} ms {}  via {}",
        text::fit(&span.name, MAX_TEXT),
        text::fit(&span.service_name, 60),
        span.kind,
        span.transport,
    );
    // The gRPC method is always the same; an HTTP path tells which URL the
    // exporter was given.
    if span.transport != Transport::Grpc {
        let _ = write!(out, " {}", text::fit(&span.path, MAX_TEXT));
    }
    for key in SHOWN_ATTRIBUTES {
        if let Some(value) = span.attributes.get(*key) {
            let value = match value.as_str() {
                Some(s) => text::fit(s, MAX_TEXT),
                None => text::fit(&value.to_string(), MAX_TEXT),
            };
            let _ = write!(out, "  {key}={value}");
        }
    }
    if span.is_error() {
        out.push_str("  status=error");
        if !span.status_message.is_empty() {
            let _ = write!(out, ": {}", text::fit(&span.status_message, MAX_TEXT));
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, trace};
    use crate::model::StatusCode;

    fn span(id: &str, parent: Option<&str>, name: &str, start: u64) -> Span {
        Span {
            name: name.into(),
            ..fixtures::span(id, parent, start, start + 1_500_000)
        }
    }

    fn log(span: Option<&str>, time: u64, severity: &str, body: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: time,
            severity: severity.into(),
            severity_number: 9,
            body: body.into(),
            attributes: Default::default(),
            trace_id: Some("0af7651916cd43dd8448eb211c80319c".into()),
            span_id: span.map(Into::into),
            service_name: "svc".into(),
            scope_name: String::new(),
        }
    }

    #[test]
    fn log_records_print_under_their_span() {
        let mut t = trace(vec![
            span("b", Some("a"), "GetUser", 2_000_000),
            span("a", None, "main", 1_000_000),
        ]);
        t.logs = vec![
            log(Some("b"), 2_012_000, "INFO", "GetUser(1): not found"),
            log(Some("a"), 1_500_000, "WARN", "slow\nstart"),
            log(None, 3_000_000, "", "no span"),
            log(Some("elsewhere"), 4_000_000, "ERROR", "other span"),
        ];
        t.logs.sort_by_key(|l| l.time_unix_nano);
        let text = render(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "trace 0af7651916cd43dd8448eb211c80319c  2 spans  services: svc  4 log records",
                "  main [svc] 1.50 ms internal  via http/protobuf /v1/traces",
                "    · +0.500 ms WARN slow\\nstart",
                "    GetUser [svc] 1.50 ms internal  via http/protobuf /v1/traces",
                "      · +0.012 ms INFO GetUser(1): not found",
                "  (log records of no span in this trace)",
                "    · +2.000 ms no span  [svc]",
                "    · +3.000 ms ERROR other span  [svc]",
            ]
        );
    }

    #[test]
    fn a_span_prints_at_most_twenty_log_records() {
        let mut t = trace(vec![span("a", None, "main", 1_000_000)]);
        t.logs = (0..25)
            .map(|i| log(Some("a"), 1_000_000 + i, "INFO", "tick"))
            .collect();
        t.dropped_logs = 3;
        let text = render(&t);
        assert_eq!(text.matches("· ").count(), MAX_LOGS, "{text}");
        assert!(text.ends_with("\n    (5 more log records)"), "{text}");
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains("(3 more log records dropped"),
            "{text}"
        );
    }

    #[test]
    fn late_log_records_get_one_line() {
        let logs = vec![log(Some("a"), 1, "INFO", "late\x1b[31m")];
        let line = render_late("t", &[], &logs, Duration::from_millis(1500));
        assert!(
            line.starts_with(
                "trace t  +1 log record 1.5 s after it was printed: INFO late\\u{1b}[31m  ("
            ),
            "{line}"
        );
        let spans = vec![span("b", Some("a"), "GetUser", 2)];
        let line = render_late("t", &spans, &logs, Duration::from_millis(1500));
        assert!(line.starts_with("trace t  +1 span, +1 log record 1.5 s after it was printed: GetUser [svc]; INFO late"), "{line}");
    }

    #[test]
    fn renders_an_indented_tree() {
        let mut child = span("b", Some("a"), "GetUser", 2);
        child
            .attributes
            .insert("user.id".into(), serde_json::json!(1));
        let mut failed = span("c", Some("b"), "GetInfo", 3);
        failed.status_code = StatusCode::Error;
        failed.status_message = "boom".into();
        let text = render(&trace(vec![failed, child, span("a", None, "main", 1)]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "trace 0af7651916cd43dd8448eb211c80319c  3 spans  services: svc",
                "  main [svc] 1.50 ms internal  via http/protobuf /v1/traces",
                "    GetUser [svc] 1.50 ms internal  via http/protobuf /v1/traces  user.id=1",
                "      GetInfo [svc] 1.50 ms internal  via http/protobuf /v1/traces  status=error: boom",
            ]
        );
    }

    #[test]
    fn survives_parent_cycles() {
        let text = render(&trace(vec![
            span("a", Some("b"), "A", 1),
            span("b", Some("a"), "B", 2),
        ]));
        assert!(text.contains("(incomplete"));
        // Each span once: the cycle from its first span, marked, the other
        // indented under it.
        let lines: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("  A [svc]"), "{text}");
        assert!(lines[0].ends_with("(parent link loops)"), "{text}");
        assert!(lines[1].starts_with("    B [svc]"), "{text}");
        assert_eq!(text.matches("(parent link loops)").count(), 1);
    }

    #[test]
    fn outside_text_cannot_forge_lines_or_colours() {
        let mut evil = span("a", None, "a\x1b[31mred\r\nfake line", 1);
        evil.service_name = "svc\u{202e}".into();
        evil.path = "/v1/traces\n".into();
        evil.attributes
            .insert("user.id".into(), serde_json::json!("1\r\n2"));
        let text = render(&trace(vec![evil]));
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert!(text.contains("a\\u{1b}[31mred\\r\\nfake line"), "{text}");
    }

    #[test]
    fn a_deep_chain_and_wide_siblings_print_one_line_each() {
        let n = 40_000;
        let mut spans = vec![span("0", None, "s", 0)];
        spans.extend((1..n).map(|i| span(&i.to_string(), Some(&(i - 1).to_string()), "s", i)));
        let text = render(&trace(spans));
        assert_eq!(text.lines().count(), n as usize + 1);
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with(&format!(
                "{}[depth {}] s",
                " ".repeat(2 + MAX_INDENT * 2),
                n - 1
            )),
            "{last}"
        );

        let mut wide = vec![span("root", None, "root", 0)];
        wide.extend((0..10_000).map(|i| span(&format!("k{i}"), Some("root"), "kid", i)));
        assert_eq!(render(&trace(wide)).lines().count(), 10_002);
    }
}
