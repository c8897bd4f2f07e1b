//! Prints each finished trace to stdout as an indented tree.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use tokio::sync::watch;

use crate::model::{Span, Trace, Transport};
use crate::store::Store;

/// A trace is printed once it has been quiet this long and is complete...
const SETTLE: Duration = Duration::from_secs(1);
/// ...or once it has been quiet this long, complete or not.
const GIVE_UP: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(250);

/// Attributes worth showing on a span's line, when present.
const SHOWN_ATTRIBUTES: &[&str] = &[
    "user.id",
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "rpc.method",
];

/// Prints due traces until `shutdown` turns true, then whatever is left.
pub(crate) async fn run(store: Store, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => print_due(&store, SETTLE, GIVE_UP),
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    print_due(&store, Duration::ZERO, Duration::ZERO);
}

fn print_due(store: &Store, settle: Duration, give_up: Duration) {
    let mut stdout = std::io::stdout().lock();
    for (trace, updated) in store.take_printable(settle, give_up) {
        // Not `println!`: a closed stdout (`collector | head`) must not panic.
        let _ = writeln!(stdout, "{}\n", render(&trace, updated));
    }
}

/// The trace as text: a header line, then one line per span, children
/// indented under their parent and sorted by start time.
pub fn render(trace: &Trace, updated: bool) -> String {
    let services: Vec<String> = trace.services().into_iter().collect();
    let mut out = format!(
        "trace {}  {} span{}  services: {}",
        trace.trace_id,
        trace.spans.len(),
        if trace.spans.len() == 1 { "" } else { "s" },
        services.join(", ")
    );
    if updated {
        out.push_str("  (updated)");
    }
    if !trace.is_complete() {
        out.push_str("  (incomplete: some parent spans never arrived)");
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

fn write_span(out: &mut String, span: &Span, depth: usize) {
    let ms = span.duration().as_secs_f64() * 1000.0;
    let _ = write!(
        out,
        "{:indent$}{} [{}] {:.2} ms {}  via {}",
        "",
        span.name,
        span.service_name,
        ms,
        span.kind,
        span.transport,
        indent = 2 + depth * 2
    );
    // The gRPC method is always the same; an HTTP path tells which URL the
    // exporter was given.
    if span.transport != Transport::Grpc {
        let _ = write!(out, " {}", span.path);
    }
    for key in SHOWN_ATTRIBUTES {
        if let Some(value) = span.attributes.get(*key) {
            match value.as_str() {
                Some(s) => {
                    let _ = write!(out, "  {key}={s}");
                }
                None => {
                    let _ = write!(out, "  {key}={value}");
                }
            }
        }
    }
    if span.is_error() {
        let _ = write!(out, "  status=error");
        if !span.status_message.is_empty() {
            let _ = write!(out, ": {}", span.status_message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;

    fn span(id: &str, parent: Option<&str>, name: &str, start: u64) -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: name.into(),
            kind: "internal".into(),
            start_unix_nano: start,
            end_unix_nano: start + 1_500_000,
            attributes: Default::default(),
            events: vec![],
            status_code: "unset".into(),
            status_message: String::new(),
            service_name: "svc".into(),
            resource: Default::default(),
            scope_name: String::new(),
            transport: Transport::HttpProtobuf,
            path: "/v1/traces".into(),
        }
    }

    #[test]
    fn renders_an_indented_tree() {
        let mut child = span("b", Some("a"), "GetUser", 2);
        child
            .attributes
            .insert("user.id".into(), serde_json::json!(1));
        let mut failed = span("c", Some("b"), "GetInfo", 3);
        failed.status_code = "error".into();
        failed.status_message = "boom".into();
        let trace = Trace {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            spans: vec![failed, child, span("a", None, "main", 1)],
        };
        let text = render(&trace, false);
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
        let trace = Trace {
            trace_id: "t".into(),
            spans: vec![span("a", Some("b"), "A", 1), span("b", Some("a"), "B", 2)],
        };
        let text = render(&trace, true);
        assert!(text.contains("(updated)"));
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
}
