//! Prints each finished trace to stdout as an indented tree, once, with
//! each span's log records under it.
//!
//! A trace is printed when it has settled (`settled`: complete and quiet
//! for [`SETTLE`], or quiet for five seconds, complete or not); the printer
//! is one reader of the same feed as [`crate::SettledTraces`]. Spans that
//! and log records that arrive after their trace was printed get one compact
//! line naming them, never a second tree. Every piece of outside text goes through
//! [`crate::text`]; a deep trace is indented up to [`MAX_INDENT`] levels and
//! then says how deep it is. Every line fits the terminal's width
//! ([`columns`]): attributes are cut before names.
//!
//! Stdout is written by one thread of its own, fed through a bounded
//! channel, because a stdout nobody reads (`collector | less` paused, a
//! full pipe, Ctrl-S) blocks a write forever. That thread is never waited
//! for beyond the shutdown budget: what it could not write is counted in a
//! closing line on stderr, and the process exits anyway.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::model::{LogRecord, Span, Trace, Transport};
use crate::settled::{Feed, SETTLE};
use crate::store::{Settled, Store};
use crate::text;

/// On shutdown, traces still pending are rendered for at most this long and
/// at most [`SHUTDOWN_SPANS`] spans; the rest are counted, not printed.
const RENDER_BUDGET: Duration = Duration::from_millis(500);
/// On shutdown, the stdout thread is given this long (from the stop) to
/// write what it holds; what is left is counted on stderr.
pub(crate) const SHUTDOWN_BUDGET: Duration = Duration::from_millis(900);
const SHUTDOWN_SPANS: usize = 5_000;
/// Rendered traces waiting for the stdout thread, at most; the printer
/// waits (and traces wait in the store) beyond that.
const QUEUE: usize = 16;
/// Deeper spans are indented as deep as this and marked with their depth.
const MAX_INDENT: usize = 32;
/// Columns of a span name or attribute value, at most.
const MAX_TEXT: usize = 120;
/// Log records printed under one span (or of no span), at most; the rest
/// are counted.
const MAX_LOGS: usize = 20;
/// Line width when stdout is not a terminal and `COLUMNS` is not set.
pub(crate) const DEFAULT_COLUMNS: usize = 100;
/// Narrower widths are taken as this: below it a tree line says nothing.
const MIN_COLUMNS: usize = 20;
/// Columns the services list of a trace's header gets at least.
const MIN_SERVICES: usize = 20;

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

/// Columns a printed line may take: the terminal's (of stdout), else
/// `COLUMNS`, else [`DEFAULT_COLUMNS`].
pub(crate) fn columns() -> usize {
    text::terminal_columns(DEFAULT_COLUMNS).max(MIN_COLUMNS)
}

/// Rendered text for stdout, and the traces and spans it prints.
#[derive(Debug)]
struct Chunk {
    text: String,
    traces: usize,
    spans: usize,
}

/// Traces and spans handed to the stdout thread and not written yet.
#[derive(Debug, Default)]
struct Pending {
    traces: AtomicUsize,
    spans: AtomicUsize,
}

impl Pending {
    fn add(&self, chunk: &Chunk) {
        self.traces.fetch_add(chunk.traces, Ordering::AcqRel);
        self.spans.fetch_add(chunk.spans, Ordering::AcqRel);
    }

    fn done(&self, traces: usize, spans: usize) {
        self.traces.fetch_sub(traces, Ordering::AcqRel);
        self.spans.fetch_sub(spans, Ordering::AcqRel);
    }

    fn get(&self) -> (usize, usize) {
        (
            self.traces.load(Ordering::Acquire),
            self.spans.load(Ordering::Acquire),
        )
    }
}

/// The thread that writes stdout, and what it has not written yet.
#[derive(Debug)]
struct Stdout {
    queue: mpsc::Sender<Chunk>,
    /// Counted from queueing until written: a chunk whose write blocks
    /// stays counted.
    pending: Arc<Pending>,
    /// Chunks queued, and chunks written (by the thread).
    queued: usize,
    written: Arc<AtomicUsize>,
}

impl Stdout {
    /// Starts the thread; `None` (and a line on stderr) if it cannot be.
    fn start() -> Option<Stdout> {
        let (queue, mut chunks) = mpsc::channel::<Chunk>(QUEUE);
        let pending = Arc::new(Pending::default());
        let written = Arc::new(AtomicUsize::new(0));
        let (thread_pending, thread_written) = (pending.clone(), written.clone());
        let spawned = std::thread::Builder::new()
            .name("collector-stdout".to_owned())
            .spawn(move || {
                let mut out = std::io::stdout();
                while let Some(chunk) = chunks.blocking_recv() {
                    // A closed stdout (`collector | head`) is no reason to
                    // stop: the web view still works.
                    let _ = out.write_all(chunk.text.as_bytes());
                    let _ = out.flush();
                    thread_pending.done(chunk.traces, chunk.spans);
                    thread_written.fetch_add(1, Ordering::AcqRel);
                }
            });
        match spawned {
            Ok(_) => Some(Stdout {
                queue,
                pending,
                queued: 0,
                written,
            }),
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "collector: cannot start the thread that prints traces ({e}); \
                     traces are not printed, the web view shows them"
                );
                None
            }
        }
    }

    /// Waits until the queue has room (or the thread is gone).
    async fn room(&self) {
        // Released at once: this task is the only sender.
        let _ = self.queue.reserve().await;
    }

    /// Queues `chunk` if there is room.
    fn try_send(&mut self, chunk: Chunk) -> Result<(), Chunk> {
        let Ok(permit) = self.queue.try_reserve() else {
            return Err(chunk);
        };
        self.pending.add(&chunk);
        self.queued += 1;
        permit.send(chunk);
        Ok(())
    }

    /// Waits until everything queued is written, or `deadline`; whether it
    /// all was.
    async fn drained(&self, deadline: Instant) -> bool {
        loop {
            if self.written.load(Ordering::Acquire) >= self.queued {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Prints traces as they settle until `shutdown` turns true; then, within
/// [`SHUTDOWN_BUDGET`], what is still pending. What could not be printed
/// is counted: on stdout when the budget ran out, on stderr when stdout
/// was not being read.
pub(crate) async fn run(store: Store, mut shutdown: watch::Receiver<bool>) {
    let Some(mut stdout) = Stdout::start() else {
        return;
    };
    let mut feed = Feed::new(&store, Some(SHOWN_ATTRIBUTES), true);
    // Traces and spans that never reached the stdout thread.
    let mut unsent = (0, 0);
    // When the printer saw the stop: its budget counts from there.
    let mut stopped = None;
    while feed.wait(&mut shutdown).await {
        let width = columns();
        // Rendering a big trace takes a while: not on a runtime thread.
        let mut rendering = tokio::task::spawn_blocking(move || {
            let chunks = chunks(&feed.take(), width);
            (feed, chunks)
        });
        let rendered = tokio::select! {
            rendered = &mut rendering => rendered,
            () = stop(&mut shutdown) => {
                let now = Instant::now();
                stopped = Some(now);
                match tokio::time::timeout_at(now + RENDER_BUDGET, rendering).await {
                    Ok(rendered) => rendered,
                    Err(_) => {
                        let (traces, spans) = stdout.pending.get();
                        not_printed(traces + unsent.0, spans + unsent.1, "and the ones being rendered ");
                        return;
                    }
                }
            }
        };
        let Ok((back, chunks)) = rendered else { return };
        feed = back;
        for chunk in chunks {
            if stopped.is_none() {
                tokio::select! {
                    () = stdout.room() => {}
                    () = stop(&mut shutdown) => stopped = Some(Instant::now()),
                }
            }
            if let Err(chunk) = stdout.try_send(chunk) {
                unsent.0 += chunk.traces;
                unsent.1 += chunk.spans;
            }
        }
        if stopped.is_some() {
            break;
        }
    }
    let stopped = stopped.unwrap_or_else(Instant::now);
    let width = columns();
    let rendering = tokio::task::spawn_blocking(move || {
        let chunks = chunks(&feed.take_all(SHUTDOWN_SPANS), width);
        (chunks, feed.ungiven())
    });
    let (chunks, (traces, spans)) =
        match tokio::time::timeout_at(stopped + RENDER_BUDGET, rendering).await {
            Ok(Ok(rendered)) => rendered,
            _ => (Vec::new(), (0, 0)),
        };
    let mut not_queued = (0, 0);
    for chunk in chunks {
        if let Err(chunk) = stdout.try_send(chunk) {
            not_queued.0 += chunk.traces;
            not_queued.1 += chunk.spans;
        }
    }
    if traces > 0 {
        let note = format!(
            "({traces} more trace{} with {spans} span{} not printed on the way out; \
             the web view shows them while running)",
            plural(traces),
            plural(spans),
        );
        let _ = stdout.try_send(Chunk {
            text: text::fit(&note, width) + "\n",
            traces: 0,
            spans: 0,
        });
    }
    if stdout.drained(stopped + SHUTDOWN_BUDGET).await {
        return;
    }
    let (pending_traces, pending_spans) = stdout.pending.get();
    not_printed(
        pending_traces + not_queued.0 + unsent.0 + traces,
        pending_spans + not_queued.1 + unsent.1 + spans,
        "",
    );
}

/// Resolves once a stop was asked for (or can no longer be).
async fn stop(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// The closing line on stderr when stdout was not being read.
fn not_printed(traces: usize, spans: usize, more: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "collector: {} trace{} ({} span{}) {more}not printed: stdout was not being read",
        text::thousands(traces),
        plural(traces),
        text::thousands(spans),
        plural(spans),
    );
}

/// Each settled item as text for stdout, `width` columns wide.
fn chunks(due: &[Settled], width: usize) -> Vec<Chunk> {
    due.iter()
        .map(|settled| match settled {
            Settled::Whole(trace) => Chunk {
                text: format!("{}\n\n", render(trace, width)),
                traces: 1,
                spans: trace.spans.len(),
            },
            Settled::Late {
                trace_id,
                spans,
                logs,
                after,
            } => Chunk {
                text: format!("{}\n\n", render_late(trace_id, spans, logs, *after, width)),
                traces: 0,
                spans: spans.len(),
            },
            Settled::TraceLess { logs, missed } => Chunk {
                text: render_trace_less(logs, *missed, width),
                traces: 0,
                spans: 0,
            },
        })
        .collect()
}

/// The trace as text, every line at most `width` columns: a header line,
/// then one line per span, children indented under their parent and sorted
/// by start time, each span's log records (time from the span's start)
/// under it one level deeper; then the records of no span of the trace
/// (time from the trace's start).
pub(crate) fn render(trace: &Trace, width: usize) -> String {
    if trace.spans.is_empty() {
        return render_logs_only(trace, width);
    }
    let mut out = header(trace, width);
    let (by_span, unattached) = trace.logs_by_span();
    for row in trace.tree() {
        out.push('\n');
        let mut line = span_line(row.span, row.depth, width);
        if row.in_cycle && row.depth == 0 {
            line.push_str("  (parent link loops)");
        }
        out.push_str(&text::fit(&line, width));
        if let Some(logs) = by_span.get(row.span.span_id.as_str()) {
            let indent = indent(row.depth) + 2;
            write_logs(
                &mut out,
                logs,
                row.span.start_unix_nano,
                indent,
                false,
                width,
            );
        }
    }
    if !unattached.is_empty() {
        out.push_str("\n  (log records of no span in this trace)");
        write_logs(&mut out, &unattached, trace.bounds().0, 4, true, width);
    }
    out
}

/// `trace ID  N spans  services: a, b, and 3 more`, then the log records
/// and what is missing; the services list takes what room the rest leaves.
fn header(trace: &Trace, width: usize) -> String {
    let start = format!(
        "trace {}  {} span{}  services: ",
        trace.trace_id,
        trace.spans.len(),
        plural(trace.spans.len()),
    );
    let mut notes = String::new();
    if !trace.logs.is_empty() {
        let _ = write!(
            notes,
            "  {} log record{}",
            trace.logs.len(),
            plural(trace.logs.len())
        );
    }
    if !trace.is_complete() {
        notes.push_str("  (incomplete: some parent spans never arrived)");
    }
    if trace.dropped_spans > 0 {
        let _ = write!(
            notes,
            "  ({} more span{} dropped: the trace reached the collector's per-trace limit, --max-spans-per-trace)",
            trace.dropped_spans,
            plural(usize::try_from(trace.dropped_spans).unwrap_or(usize::MAX)),
        );
    }
    if trace.dropped_logs > 0 {
        let _ = write!(
            notes,
            "  ({} more log record{} dropped: the trace reached the collector's per-trace limit, --max-logs-per-trace)",
            trace.dropped_logs,
            plural(usize::try_from(trace.dropped_logs).unwrap_or(usize::MAX)),
        );
    }
    let services: Vec<String> = trace.services().iter().map(|s| text::fit(s, 60)).collect();
    let room = width.saturating_sub(text::width(&start) + text::width(&notes));
    // Service names are never cut to keep the header on one line: when not
    // even the first fits whole beside the rest, they get a line of their own.
    let first_fits = services.first().is_none_or(|first| {
        let more = if services.len() > 1 {
            format!(", and {} more", services.len() - 1)
        } else {
            String::new()
        };
        text::width(first) + more.len() <= room
    });
    if first_fits {
        return text::fit(&format!("{start}{}{notes}", list(&services, room)), width);
    }
    let first = format!(
        "trace {}  {} span{}{notes}",
        trace.trace_id,
        trace.spans.len(),
        plural(trace.spans.len()),
    );
    let label = "  services: ";
    let room = width.saturating_sub(label.len()).max(MIN_SERVICES);
    format!(
        "{}\n{}",
        text::fit(&first, width),
        text::fit(&format!("{label}{}", list(&services, room)), width)
    )
}

/// `a, b, c`, or as many as fit in `room` columns and `and N more`.
fn list(names: &[String], room: usize) -> String {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let separator = if i == 0 { "" } else { ", " };
        let rest = names.len() - i - 1;
        let more = if rest > 0 {
            format!(", and {rest} more")
        } else {
            String::new()
        };
        let needed = text::width(&out) + separator.len() + text::width(name) + more.len();
        if needed > room {
            let rest = names.len() - i;
            if i == 0 {
                // Not even one whole name: as much of it as fits.
                let more = format!(", and {} more", rest - 1);
                let cut = text::fit(name, room.saturating_sub(more.len()).max(1));
                return if rest > 1 { cut + &more } else { cut };
            }
            let _ = write!(out, ", and {rest} more");
            return out;
        }
        out.push_str(separator);
        out.push_str(name);
    }
    out
}

/// A trace of log records only (no span of it arrived): a header, then
/// its records, the time of each from the first.
fn render_logs_only(trace: &Trace, width: usize) -> String {
    let services: BTreeSet<String> = trace
        .logs
        .iter()
        .map(|l| text::fit(&l.service_name, 60))
        .collect();
    let start = format!(
        "trace {}  {} log record{}, no span  services: ",
        trace.trace_id,
        trace.logs.len(),
        plural(trace.logs.len()),
    );
    let room = width.saturating_sub(text::width(&start)).max(MIN_SERVICES);
    let services: Vec<String> = services.into_iter().collect();
    let mut out = text::fit(&format!("{start}{}", list(&services, room)), width);
    let logs: Vec<&LogRecord> = trace.logs.iter().collect();
    let start = logs.iter().map(|l| l.time_unix_nano).min().unwrap_or(0);
    write_logs(&mut out, &logs, start, 4, true, width);
    out
}

/// Log records of no trace, one line each: `log (no trace)  INFO body
/// [service]`; `missed` more came than were printed.
fn render_trace_less(logs: &[LogRecord], missed: usize, width: usize) -> String {
    let mut out = String::new();
    if missed > 0 {
        let note = format!(
            "log (no trace)  ({missed} more record{} came meanwhile, not printed; GET /api/logs has them)",
            plural(missed)
        );
        out.push_str(&text::fit(&note, width));
        out.push('\n');
    }
    for log in logs {
        // The service first: the body is what gets cut.
        let mut line = format!("log (no trace)  [{}] ", text::fit(&log.service_name, 60));
        if !log.severity.is_empty() {
            let _ = write!(line, "{} ", text::fit(&log.severity, 20));
        }
        line.push_str(&text::fit(&log.body, MAX_TEXT));
        out.push_str(&text::fit(&line, width));
        out.push('\n');
    }
    out
}

/// Columns a span line at `depth` is indented by.
fn indent(depth: usize) -> usize {
    2 + depth.min(MAX_INDENT) * 2
}

/// One line per record (at most [`MAX_LOGS`], then how many more), each
/// `indent` columns in: `· +12 µs INFO body`, the time from `start`.
fn write_logs(
    out: &mut String,
    logs: &[&LogRecord],
    start: u64,
    indent: usize,
    service: bool,
    width: usize,
) {
    for log in logs.iter().take(MAX_LOGS) {
        let mut line: String = std::iter::repeat_n(' ', indent).collect();
        let (sign, offset) = if log.time_unix_nano >= start {
            ('+', log.time_unix_nano - start)
        } else {
            ('-', start - log.time_unix_nano)
        };
        let _ = write!(line, "· {sign}{}", text::duration(offset));
        if !log.severity.is_empty() {
            let _ = write!(line, " {}", text::fit(&log.severity, 20));
        }
        // The service first, then the body gets the rest of the line.
        let service = if service {
            format!("  [{}]", text::fit(&log.service_name, 60))
        } else {
            String::new()
        };
        let room = width.saturating_sub(text::width(&line) + 1 + text::width(&service));
        let _ = write!(
            line,
            " {}{service}",
            text::fit(&log.body, MAX_TEXT.min(room.max(8)))
        );
        out.push('\n');
        out.push_str(&text::fit(&line, width));
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
fn render_late(
    trace_id: &str,
    spans: &[Span],
    logs: &[LogRecord],
    after: Duration,
    width: usize,
) -> String {
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
    let line = format!(
        "trace {trace_id}  {} {:.1} s after it was printed: {}  \
         (their exporter's batch came later than the collector waits for a trace to go quiet, {} s)",
        counts.join(", "),
        after.as_secs_f64(),
        parts.join("; "),
        SETTLE.as_secs()
    );
    text::fit(&line, width)
}

/// The first five items, named, and how many more.
fn first_five<T>(items: &[T], name: impl Fn(&T) -> String) -> String {
    let mut names: Vec<String> = items.iter().take(5).map(name).collect();
    if items.len() > 5 {
        names.push(format!("and {} more", items.len() - 5));
    }
    names.join(", ")
}

/// A span's line in at most `width` columns: the name, service, duration,
/// kind and transport first; the path, attributes and status after them
/// get what room is left, so they are cut before the name is.
fn span_line(span: &Span, depth: usize, width: usize) -> String {
    let mut line: String = std::iter::repeat_n(' ', indent(depth)).collect();
    if depth > MAX_INDENT {
        let _ = write!(line, "[depth {depth}] ");
    }
    let _ = write!(
        line,
        "{} [{}] {} {}  via {}",
        text::fit(&span.name, MAX_TEXT),
        text::fit(&span.service_name, 60),
        text::duration_of(span.duration()),
        span.kind,
        span.transport,
    );
    let mut tail = String::new();
    // The gRPC method is always the same; an HTTP path tells which URL the
    // exporter was given.
    if span.transport != Transport::Grpc {
        let _ = write!(tail, " {}", text::fit(&span.path, MAX_TEXT));
    }
    for key in SHOWN_ATTRIBUTES {
        if let Some(value) = span.attributes.get(*key) {
            let value = match value.as_str() {
                Some(s) => text::fit(s, MAX_TEXT),
                None => text::fit(&value.to_string(), MAX_TEXT),
            };
            let _ = write!(tail, "  {key}={value}");
        }
    }
    if span.is_error() {
        tail.push_str("  status=error");
        if !span.status_message.is_empty() {
            let _ = write!(tail, ": {}", text::fit(&span.status_message, MAX_TEXT));
        }
    }
    let room = width.saturating_sub(text::width(&line));
    if text::width(&tail) <= room {
        line.push_str(&tail);
    } else if room > 1 {
        line.push_str(&text::fit(&tail, room));
    }
    text::fit(&line, width)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, trace};
    use crate::model::StatusCode;

    /// Wide enough for any line of the tests that are not about width.
    const WIDE: usize = 1000;

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
        let text = render(&t, WIDE);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "trace 0af7651916cd43dd8448eb211c80319c  2 spans  services: svc  4 log records",
                "  main [svc] 1.50 ms internal  via http/protobuf /v1/traces",
                "    · +500 µs WARN slow\\nstart",
                "    GetUser [svc] 1.50 ms internal  via http/protobuf /v1/traces",
                "      · +12 µs INFO GetUser(1): not found",
                "  (log records of no span in this trace)",
                "    · +2.00 ms no span  [svc]",
                "    · +3.00 ms ERROR other span  [svc]",
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
        let text = render(&t, WIDE);
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
        let line = render_late("t", &[], &logs, Duration::from_millis(1500), WIDE);
        assert!(
            line.starts_with(
                "trace t  +1 log record 1.5 s after it was printed: INFO late\\u{1b}[31m  ("
            ),
            "{line}"
        );
        let spans = vec![span("b", Some("a"), "GetUser", 2)];
        let line = render_late("t", &spans, &logs, Duration::from_millis(1500), WIDE);
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
        let text = render(
            &trace(vec![failed, child, span("a", None, "main", 1)]),
            WIDE,
        );
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
    fn every_line_fits_the_width() {
        let mut root = span("a", None, &"main".repeat(50), 1);
        root.attributes.insert(
            "db.query.text".into(),
            serde_json::json!("SELECT * FROM user WHERE id = ?".repeat(5)),
        );
        root.status_code = StatusCode::Error;
        root.status_message = "boom ".repeat(40);
        let mut spans = vec![root];
        // 300 services: the header lists as many as fit.
        spans.extend((0..300).map(|i| {
            let mut s = span(&format!("k{i}"), Some("a"), "kid", i);
            s.service_name = format!("service-{i:03}");
            s
        }));
        let mut t = trace(spans);
        t.logs = vec![log(Some("a"), 2, "INFO", &"long body ".repeat(30))];
        t.dropped_spans = 7;
        for width in [20, 40, 80, 100, 200] {
            let text = render(&t, width);
            for line in text.lines() {
                assert!(text::width(line) <= width, "{width}: {line:?}");
            }
            let late = render_late("t", &t.spans[1..], &t.logs, Duration::ZERO, width);
            assert!(text::width(&late) <= width, "{width}: {late:?}");
        }
        // The services list takes the room the rest of the header leaves.
        t.dropped_spans = 0;
        let header = render(&t, 120).lines().next().unwrap().to_owned();
        assert!(
            header.ends_with("  services: service-000, service-001, and 299 more  1 log record"),
            "{header}"
        );
    }

    #[test]
    fn service_names_are_never_cut_to_keep_the_header_on_one_line() {
        let mut s = span("a", None, "main", 1);
        s.service_name = "otlp-http-client-with-db".into();
        let mut t = trace(vec![s]);
        t.logs = vec![log(Some("a"), 2, "INFO", "x")];
        let text = render(&t, 80);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..2],
            [
                "trace 0af7651916cd43dd8448eb211c80319c  1 span  1 log record",
                "  services: otlp-http-client-with-db",
            ],
            "{text}"
        );
        assert!(!text.contains('…'), "{text}");
    }

    #[test]
    fn attributes_are_cut_before_the_name() {
        let mut s = span("a", None, "GetUserProfile", 1);
        s.attributes
            .insert("user.id".into(), serde_json::json!("x".repeat(100)));
        let line = span_line(&s, 0, 100);
        assert_eq!(text::width(&line), 100, "{line}");
        assert!(
            line.starts_with(
                "  GetUserProfile [svc] 1.50 ms internal  via http/protobuf /v1/traces  user.id=xx"
            ),
            "{line}"
        );
        assert!(line.ends_with('…'), "{line}");
        // Only a name wider than the line is cut, and then nothing follows it.
        let long = span("a", None, &"N".repeat(100), 1);
        let line = span_line(&long, 0, 80);
        assert_eq!(line, format!("  {}…", "N".repeat(77)));
    }

    #[test]
    fn survives_parent_cycles() {
        let text = render(
            &trace(vec![
                span("a", Some("b"), "A", 1),
                span("b", Some("a"), "B", 2),
            ]),
            WIDE,
        );
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
        let text = render(&trace(vec![evil]), WIDE);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert!(text.contains("a\\u{1b}[31mred\\r\\nfake line"), "{text}");
    }

    #[test]
    fn a_deep_chain_and_wide_siblings_print_one_line_each() {
        let n = 40_000;
        let mut spans = vec![span("0", None, "s", 0)];
        spans.extend((1..n).map(|i| span(&i.to_string(), Some(&(i - 1).to_string()), "s", i)));
        let text = render(&trace(spans), WIDE);
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
        assert_eq!(render(&trace(wide), WIDE).lines().count(), 10_002);
    }
}
