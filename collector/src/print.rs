//! Prints each finished trace to stdout as an indented tree, once.
//!
//! A trace is printed when it has settled (`settled`: complete and quiet
//! for [`SETTLE`], or quiet for five seconds, complete or not); the printer
//! is one reader of the same feed as [`crate::SettledTraces`]. Spans that
//! arrive after their trace was printed get one compact line naming them,
//! never a second tree. Every piece of outside text goes through
//! [`crate::text`]; a deep trace is indented up to [`MAX_INDENT`] levels and
//! then says how deep it is.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use tokio::sync::watch;

use crate::model::{Span, Trace, Transport};
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

/// Attributes worth showing on a span's line, when present.
const SHOWN_ATTRIBUTES: &[&str] = &[
    "user.id",
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "rpc.method",
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
                after,
            } => writeln!(stdout, "{}\n", render_late(trace_id, spans, *after)),
        };
    }
}

/// The trace as text: a header line, then one line per span, children
/// indented under their parent and sorted by start time.
pub(crate) fn render(trace: &Trace) -> String {
    let services: Vec<String> = trace.services().iter().map(|s| text::fit(s, 60)).collect();
    let mut out = format!(
        "trace {}  {} span{}  services: {}",
        trace.trace_id,
        trace.spans.len(),
        plural(trace.spans.len()),
        services.join(", ")
    );
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
    for row in trace.tree() {
        out.push('\n');
        write_span(&mut out, row.span, row.depth);
        if row.in_cycle && row.depth == 0 {
            out.push_str("  (parent link loops)");
        }
    }
    out
}

/// One line for spans that came after their trace was printed.
fn render_late(trace_id: &str, spans: &[Span], after: Duration) -> String {
    let mut names: Vec<String> = spans
        .iter()
        .take(5)
        .map(|s| {
            format!(
                "{} [{}]",
                text::fit(&s.name, 40),
                text::fit(&s.service_name, 40)
            )
        })
        .collect();
    if spans.len() > 5 {
        names.push(format!("and {} more", spans.len() - 5));
    }
    format!(
        "trace {trace_id}  +{} span{} {:.1} s after it was printed: {}  \
         (their exporter's batch came later than the collector waits for a trace to go quiet, {} s)",
        spans.len(),
        plural(spans.len()),
        after.as_secs_f64(),
        names.join(", "),
        SETTLE.as_secs()
    )
}

fn write_span(out: &mut String, span: &Span, depth: usize) {
    let ms = span.duration().as_secs_f64() * 1000.0;
    let indent = 2 + depth.min(MAX_INDENT) * 2;
    out.extend(std::iter::repeat_n(' ', indent));
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
    use std::sync::Arc;

    use super::*;
    use crate::model::{SpanKind, StatusCode, Transport};

    fn span(id: &str, parent: Option<&str>, name: &str, start: u64) -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: start + 1_500_000,
            attributes: Default::default(),
            events: vec![],
            status_code: StatusCode::Unset,
            status_message: String::new(),
            service_name: "svc".into(),
            resource: Arc::default(),
            scope_name: String::new(),
            transport: Transport::HttpProtobuf,
            path: "/v1/traces".into(),
        }
    }

    fn trace(spans: Vec<Span>) -> Trace {
        Trace {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            spans,
            dropped_spans: 0,
        }
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
