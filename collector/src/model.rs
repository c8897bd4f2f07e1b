//! What the collector stores and shows: spans, log records and traces as
//! owned values, converted from OTLP, and the summary of a trace the list
//! shows. Everything here is `Serialize`, and the JSON is the web view's API.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Attribute values as the JSON API shows them: ints stay numbers, bytes
/// become lowercase hex.
pub type Attributes = BTreeMap<String, serde_json::Value>;

/// How a batch of spans or log records reached the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// OTLP/gRPC (`TraceService/Export` or `LogsService/Export`).
    Grpc,
    /// OTLP/HTTP with `Content-Type: application/x-protobuf`.
    HttpProtobuf,
    /// OTLP/HTTP with `Content-Type: application/json`.
    HttpJson,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Grpc => "grpc",
            Transport::HttpProtobuf => "http/protobuf",
            Transport::HttpJson => "http/json",
        })
    }
}

/// What an export request carried: OTLP calls traces and logs signals.
/// Over gRPC the method says which; over HTTP the path does: a path ending
/// in `/v1/logs` carries logs, any other path traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// An `ExportTraceServiceRequest`: spans.
    #[default]
    Traces,
    /// An `ExportLogsServiceRequest`: log records.
    Logs,
}

impl Signal {
    /// The lowercase name, as in the JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span's role (OTLP `Span.SpanKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// From the OTLP enum value; unknown values are `Unspecified`.
    pub fn from_otlp(kind: i32) -> SpanKind {
        match kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        }
    }

    /// The OTLP enum value.
    pub fn to_otlp(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }

    /// The lowercase name, as in the JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            SpanKind::Unspecified => "unspecified",
            SpanKind::Internal => "internal",
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
        }
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span's status code (OTLP `Status.StatusCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    /// From the OTLP enum value; unknown values are `Unset`.
    pub fn from_otlp(code: i32) -> StatusCode {
        match code {
            1 => StatusCode::Ok,
            2 => StatusCode::Error,
            _ => StatusCode::Unset,
        }
    }

    /// The OTLP enum value.
    pub fn to_otlp(self) -> i32 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        }
    }

    /// The lowercase name, as in the JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Unset => "unset",
            StatusCode::Ok => "ok",
            StatusCode::Error => "error",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span event (a timestamped log line inside a span).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: Attributes,
}

/// One received log record (OTLP `LogRecord`), with the service and scope
/// that sent it. A record with a trace id belongs to that trace
/// ([`Trace::logs`]), and to one of its spans when its span id is one
/// ([`Trace::logs_of`]); one without is kept on its own
/// ([`crate::Collector::logs`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// When it happened; the time the SDK observed it when the record has
    /// no time of its own.
    pub time_unix_nano: u64,
    /// The record's severity text, or else the short name of its severity
    /// number (`INFO`, `WARN`, `ERROR`, `INFO2`...); empty when it has
    /// neither.
    pub severity: String,
    /// OTLP `SeverityNumber`: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN,
    /// 17-20 ERROR, 21-24 FATAL; 0 unspecified.
    pub severity_number: i32,
    /// A string body as it is; any other body as its JSON (see
    /// [`Attributes`] for how values are written); empty for none.
    pub body: String,
    pub attributes: Attributes,
    /// Lowercase hex, 32 characters; `None` for a record outside any trace
    /// (no trace id, or an invalid one: the wrong length, or all zeros).
    pub trace_id: Option<String>,
    /// Lowercase hex, 16 characters; `None` when the record names no span.
    pub span_id: Option<String>,
    /// The resource's `service.name` (empty if the exporter sent none).
    pub service_name: String,
    pub scope_name: String,
}

impl LogRecord {
    /// A string attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key)?.as_str()
    }
}

/// One received span, with its resource and scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: Attributes,
    pub events: Vec<Event>,
    pub status_code: StatusCode,
    pub status_message: String,
    /// The resource's `service.name` (empty if the exporter sent none).
    pub service_name: String,
    /// The resource's attributes, shared by every span of the resource.
    pub resource: Arc<Attributes>,
    pub scope_name: String,
    /// How the span arrived.
    pub transport: Transport,
    /// The HTTP request path, or the gRPC method path.
    pub path: String,
}

impl Span {
    /// A string attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key)?.as_str()
    }

    /// An integer attribute.
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attributes.get(key)?.as_i64()
    }

    /// A boolean attribute.
    pub fn attr_bool(&self, key: &str) -> Option<bool> {
        self.attributes.get(key)?.as_bool()
    }

    /// A string resource attribute (`host.name`, `telemetry.sdk.language`, ...).
    pub fn resource_str(&self, key: &str) -> Option<&str> {
        self.resource.get(key)?.as_str()
    }

    /// End minus start; zero if the end is before the start.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.end_unix_nano.saturating_sub(self.start_unix_nano))
    }

    /// Whether the span's status is `error`.
    pub fn is_error(&self) -> bool {
        self.status_code == StatusCode::Error
    }
}

/// All spans and log records received so far that share one trace id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub trace_id: String,
    /// In arrival order.
    pub spans: Vec<Span>,
    /// Spans that arrived after the trace reached the per-trace limit, and
    /// were not kept.
    pub dropped_spans: u64,
    /// Every log record of the trace, in time order (arrival order for the
    /// same time): see [`Trace::logs_of`] for a span's.
    pub logs: Vec<LogRecord>,
    /// Log records that arrived after the trace reached the per-trace
    /// limit of records, and were not kept.
    pub dropped_logs: u64,
}

/// One line of the trace list: kept up to date as spans arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    /// The root span's name (see [`Trace::root`]); empty for no spans.
    pub root_name: String,
    pub root_service: String,
    /// Sorted, without duplicates (of the spans).
    pub services: BTreeSet<String>,
    pub span_count: usize,
    pub error_count: usize,
    /// Earliest span start.
    pub start_unix_nano: u64,
    /// Latest span end minus earliest span start.
    pub duration_nanos: u64,
    /// A root exists and every parent is part of the trace.
    pub complete: bool,
    /// The trace has log records and no span (yet): its times and services
    /// are those of its records.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logs_only: bool,
    /// Spans not kept: the trace reached the per-trace limit.
    pub dropped_spans: u64,
    /// Log records of the trace (absent from the JSON when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub log_records: usize,
    /// Log records not kept: the trace reached the per-trace limit of
    /// records (absent from the JSON when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped_log_records: u64,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// Calls from one service to another: parent and child spans of the two
/// services in the stored traces (`GET /api/dependencies`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The service of the parent spans (the caller).
    pub parent: String,
    /// The service of the child spans (the callee).
    pub child: String,
    /// Parent/child span pairs seen.
    pub calls: u64,
}

/// One line of a trace's tree view: see [`Trace::tree`].
#[derive(Debug, Clone, Copy)]
pub struct TreeRow<'t> {
    pub span: &'t Span,
    /// 0 for a root; a child is one deeper than its parent.
    pub depth: usize,
    /// Only reachable through a parent-link cycle.
    pub in_cycle: bool,
}

impl Trace {
    /// The span with no parent, or failing that the earliest span whose
    /// parent is not part of the trace (its parent lives in a process that did
    /// not export to this collector).
    pub fn root(&self) -> Option<&Span> {
        self.spans
            .iter()
            .find(|s| s.parent_span_id.is_none())
            .or_else(|| {
                let ids = self.span_ids();
                self.spans
                    .iter()
                    .filter(|s| !has_parent_in(s, &ids))
                    .min_by_key(|s| s.start_unix_nano)
            })
    }

    /// Direct children of `span`, sorted by start time.
    pub fn children(&self, span: &Span) -> Vec<&Span> {
        let mut children: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(span.span_id.as_str()))
            .collect();
        children.sort_by_key(|s| s.start_unix_nano);
        children
    }

    /// The parent of `span`, if it is part of the trace.
    pub fn parent(&self, span: &Span) -> Option<&Span> {
        let parent = span.parent_span_id.as_deref()?;
        self.spans.iter().find(|s| s.span_id == parent)
    }

    /// The first span (by start time) with this name.
    pub fn span_named(&self, name: &str) -> Option<&Span> {
        self.spans_named(name).into_iter().next()
    }

    /// All spans with this name, sorted by start time.
    pub fn spans_named(&self, name: &str) -> Vec<&Span> {
        let mut spans: Vec<&Span> = self.spans.iter().filter(|s| s.name == name).collect();
        spans.sort_by_key(|s| s.start_unix_nano);
        spans
    }

    /// The service names of all spans.
    pub fn services(&self) -> BTreeSet<String> {
        self.spans.iter().map(|s| s.service_name.clone()).collect()
    }

    /// Complete enough to print: a true root exists and every parent link
    /// resolves inside the trace.
    pub fn is_complete(&self) -> bool {
        let ids = self.span_ids();
        self.spans.iter().any(|s| s.parent_span_id.is_none())
            && self.spans.iter().all(|s| has_parent_in(s, &ids))
    }

    /// Earliest start and latest end of the spans, in Unix nanoseconds
    /// (`(0, 0)` for no span): the time axis of a waterfall.
    pub fn bounds(&self) -> (u64, u64) {
        let start = self.spans.iter().map(|s| s.start_unix_nano).min();
        let end = self
            .spans
            .iter()
            .map(|s| s.end_unix_nano.max(s.start_unix_nano))
            .max();
        (start.unwrap_or(0), end.unwrap_or(0))
    }

    /// Every span once, depth first from the roots (spans whose parent is
    /// not in the trace), siblings by start time: the order of a tree view
    /// or a waterfall. Spans only reachable through a parent cycle (possible
    /// with hand-made input) come last, each cycle from its first-arrived
    /// span, marked `in_cycle`. Iterative and linear: no depth, width or
    /// bad link can make it loop or overflow the stack.
    pub fn tree(&self) -> Vec<TreeRow<'_>> {
        let ids = self.span_ids();
        let mut roots = Vec::new();
        let mut children: HashMap<&str, Vec<&Span>> = HashMap::new();
        for span in &self.spans {
            match span.parent_span_id.as_deref() {
                Some(parent) if ids.contains(parent) => {
                    children.entry(parent).or_default().push(span);
                }
                _ => roots.push(span),
            }
        }
        roots.sort_by_key(|s| s.start_unix_nano);
        for siblings in children.values_mut() {
            siblings.sort_by_key(|s| s.start_unix_nano);
        }
        let proper_roots = roots.len();
        // Then whatever a cycle hid, in arrival order.
        roots.extend(self.spans.iter());

        let mut rows = Vec::with_capacity(self.spans.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(self.spans.len());
        for (index, root) in roots.into_iter().enumerate() {
            let mut stack = vec![(root, 0)];
            while let Some((span, depth)) = stack.pop() {
                if !seen.insert(span.span_id.as_str()) {
                    continue;
                }
                rows.push(TreeRow {
                    span,
                    depth,
                    in_cycle: index >= proper_roots,
                });
                if let Some(kids) = children.get(span.span_id.as_str()) {
                    stack.extend(kids.iter().rev().map(|kid| (*kid, depth + 1)));
                }
            }
        }
        rows
    }

    /// The log records of `span`, in time order.
    pub fn logs_of(&self, span: &Span) -> Vec<&LogRecord> {
        self.logs
            .iter()
            .filter(|l| l.span_id.as_deref() == Some(span.span_id.as_str()))
            .collect()
    }

    /// The log records of the trace that belong to none of its spans (no
    /// span id, or one the trace does not have), in time order.
    pub fn unattached_logs(&self) -> Vec<&LogRecord> {
        self.logs_by_span().1
    }

    /// The log records by span id (of spans in the trace), and those of no
    /// span of the trace; each in time order. One pass, for a whole view.
    pub(crate) fn logs_by_span(&self) -> (HashMap<&str, Vec<&LogRecord>>, Vec<&LogRecord>) {
        let ids = self.span_ids();
        let mut by_span: HashMap<&str, Vec<&LogRecord>> = HashMap::new();
        let mut unattached = Vec::new();
        for log in &self.logs {
            match log.span_id.as_deref().and_then(|id| ids.get(id).copied()) {
                Some(id) => by_span.entry(id).or_default().push(log),
                None => unattached.push(log),
            }
        }
        (by_span, unattached)
    }

    fn span_ids(&self) -> HashSet<&str> {
        self.spans.iter().map(|s| s.span_id.as_str()).collect()
    }
}

/// A stretch of a span's time on the trace's critical path: see
/// [`Trace::critical_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriticalSection {
    pub span_id: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl Trace {
    /// The critical path: the stretches of spans that determine when the
    /// trace ends, in time order. The algorithm is Jaeger's (jaeger-ui
    /// `getCriticalPath`): children are first clipped to their parent
    /// (one that ends after its parent ends with it, one that starts
    /// before starts with it, one entirely outside is left out with its
    /// descendants); then from the root's end, the path walks back into
    /// the child that finishes last before the current point, down to a
    /// span with no such child, whose time back to its start is on the
    /// path, and from that start back up to the parent. A span whose
    /// parent is not in the trace is off the path (unless it is the root),
    /// and so is a stretch of no length. Linear in the spans (after
    /// sorting each span's children).
    pub fn critical_path(&self) -> Vec<CriticalSection> {
        let Some(root) = self.root() else {
            return Vec::new();
        };
        let rows = self.tree();
        let index: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.span.span_id.as_str(), i))
            .collect();
        let Some(&root) = index.get(root.span_id.as_str()) else {
            return Vec::new();
        };
        // Clipped times, parents before children (the tree's order).
        let mut times: Vec<Option<(u64, u64)>> = Vec::with_capacity(rows.len());
        let mut parent_of: Vec<Option<usize>> = vec![None; rows.len()];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
        for (i, row) in rows.iter().enumerate() {
            let span = row.span;
            let own = (
                span.start_unix_nano,
                span.end_unix_nano.max(span.start_unix_nano),
            );
            let parent = span
                .parent_span_id
                .as_deref()
                .and_then(|p| index.get(p).copied())
                .filter(|_| !row.in_cycle && i != root);
            let clipped = match parent {
                None => Some(own),
                Some(p) => times[p].and_then(|parent| clip(own, parent)),
            };
            times.push(clipped);
            if let (Some(p), Some(_)) = (parent, clipped) {
                parent_of[i] = Some(p);
                children[p].push(i);
            }
        }
        for kids in &mut children {
            kids.sort_by_key(|&k| times[k].map_or(0, |t| t.1));
        }
        // The children of each span not yet passed over, from the end of
        // its list: the walk only ever moves earlier in each list.
        let mut left: Vec<usize> = children.iter().map(Vec::len).collect();
        let mut sections = Vec::new();
        let mut current = root;
        let mut bound: Option<u64> = None;
        // Each span is entered once from its parent and left once to it.
        for _ in 0..=2 * rows.len() {
            let Some((start, end)) = times[current] else {
                break;
            };
            let section_end = bound.unwrap_or(end);
            let kids = &children[current];
            while left[current] > 0
                && bound.is_some_and(|b| times[kids[left[current] - 1]].map_or(0, |t| t.1) >= b)
            {
                left[current] -= 1;
            }
            if left[current] > 0 {
                left[current] -= 1;
                let child = kids[left[current]];
                let child_end = times[child].map_or(0, |t| t.1);
                push_section(&mut sections, &rows, current, child_end, section_end);
                current = child;
                bound = None;
            } else {
                push_section(&mut sections, &rows, current, start, section_end);
                match parent_of[current] {
                    Some(parent) => {
                        current = parent;
                        bound = Some(start);
                    }
                    None => break,
                }
            }
        }
        sections.reverse();
        sections
    }
}

/// A child's times clipped to its parent's, as Jaeger does; `None` when
/// it lies entirely outside them.
fn clip((start, end): (u64, u64), (parent_start, parent_end): (u64, u64)) -> Option<(u64, u64)> {
    if start >= parent_start && end <= parent_end {
        Some((start, end))
    } else if start >= parent_end || end <= parent_start {
        None
    } else {
        Some((start.max(parent_start), end.min(parent_end)))
    }
}

fn push_section(
    sections: &mut Vec<CriticalSection>,
    rows: &[TreeRow<'_>],
    span: usize,
    start: u64,
    end: u64,
) {
    if start >= end {
        return;
    }
    // Sections come latest first: one that meets the last of the same
    // span (a zero-length child in between) extends it.
    match sections.last_mut() {
        Some(last) if last.span_id == rows[span].span.span_id && last.start_unix_nano == end => {
            last.start_unix_nano = start;
        }
        _ => sections.push(CriticalSection {
            span_id: rows[span].span.span_id.clone(),
            start_unix_nano: start,
            end_unix_nano: end,
        }),
    }
}

fn has_parent_in(span: &Span, ids: &HashSet<&str>) -> bool {
    span.parent_span_id
        .as_deref()
        .is_none_or(|parent| ids.contains(parent))
}

/// One export request, as the collector saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedRequest {
    pub transport: Transport,
    /// Traces or logs.
    pub signal: Signal,
    /// The HTTP path, or the gRPC method path.
    pub path: String,
    /// Header (or gRPC metadata) names lowercased; only ASCII values.
    pub headers: BTreeMap<String, String>,
    /// Spans in the request (0 for logs).
    pub span_count: usize,
    /// Log records in the request (0 for traces).
    pub log_record_count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{span, trace};

    /// The path as `(span, start, end)`, in time order.
    fn path(spans: Vec<Span>) -> Vec<(String, u64, u64)> {
        trace(spans)
            .critical_path()
            .into_iter()
            .map(|s| (s.span_id, s.start_unix_nano, s.end_unix_nano))
            .collect()
    }

    fn sections(expected: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
        expected
            .iter()
            .map(|(id, start, end)| ((*id).to_owned(), *start, *end))
            .collect()
    }

    #[test]
    fn sequential_children_are_all_on_the_path() {
        // root 0-100: a 10-40, b 50-90 (b's child b1 60-70).
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 40),
            span("b", Some("root"), 50, 90),
            span("b1", Some("b"), 60, 70),
        ]);
        let want = sections(&[
            ("root", 0, 10),
            ("a", 10, 40),
            ("root", 40, 50),
            ("b", 50, 60),
            ("b1", 60, 70),
            ("b", 70, 90),
            ("root", 90, 100),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_child_must_end_before_the_point_the_walk_came_back_from() {
        // As in Jaeger: strictly before. `a` ends the instant `b` starts,
        // so the walk back from `b` passes it over to the root.
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 30),
            span("b", Some("root"), 30, 100),
        ]);
        assert_eq!(got, sections(&[("root", 0, 30), ("b", 30, 100)]));
    }

    #[test]
    fn of_overlapping_children_the_last_to_finish_wins() {
        // a 10-80 and b 20-60 overlap; a ends last, and b ends after a
        // starts, so b is not on the path at all.
        let got = path(vec![
            span("root", None, 0, 100),
            span("b", Some("root"), 20, 60),
            span("a", Some("root"), 10, 80),
        ]);
        assert_eq!(
            got,
            sections(&[("root", 0, 10), ("a", 10, 80), ("root", 80, 100)])
        );
    }

    #[test]
    fn a_child_ending_after_its_parent_is_clipped_to_it() {
        // The child runs on past its parent's end (an async task): it is
        // on the path up to the parent's end only.
        let got = path(vec![
            span("root", None, 0, 100),
            span("late", Some("root"), 50, 150),
            span("late1", Some("late"), 120, 140),
        ]);
        assert_eq!(got, sections(&[("root", 0, 50), ("late", 50, 100)]));
    }

    #[test]
    fn children_outside_their_parent_or_starting_before_it() {
        let got = path(vec![
            span("root", None, 10, 100),
            // Entirely after the root: left out, with its child.
            span("after", Some("root"), 100, 120),
            span("after1", Some("after"), 105, 110),
            // Starts before the root: clipped to start with it.
            span("early", Some("root"), 0, 30),
        ]);
        assert_eq!(got, sections(&[("early", 10, 30), ("root", 30, 100)]));
    }

    #[test]
    fn spans_with_a_missing_parent_are_off_the_path_and_nothing_loops() {
        let got = path(vec![
            span("root", None, 0, 100),
            span("orphan", Some("elsewhere"), 0, 200),
            span("a", Some("root"), 20, 30),
        ]);
        assert_eq!(
            got,
            sections(&[("root", 0, 20), ("a", 20, 30), ("root", 30, 100)])
        );
        // No true root: the earliest span whose parent is missing is.
        let got = path(vec![
            span("x", Some("gone"), 5, 50),
            span("x1", Some("x"), 10, 20),
        ]);
        assert_eq!(
            got,
            sections(&[("x", 5, 10), ("x1", 10, 20), ("x", 20, 50)])
        );
        // A parent cycle (hand-made input) has no root, and no path.
        let got = path(vec![
            span("p", Some("q"), 0, 10),
            span("q", Some("p"), 0, 10),
        ]);
        assert!(got.is_empty());
        assert!(path(vec![]).is_empty());
    }

    #[test]
    fn zero_length_stretches_are_left_out() {
        // The child ends exactly at the root's end, and a zero-length
        // child leaves nothing of itself.
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 40, 100),
            span("blip", Some("root"), 20, 20),
        ]);
        assert_eq!(got, sections(&[("root", 0, 40), ("a", 40, 100)]));
    }
}
