//! What the collector shows: spans, log records and traces as owned
//! values (what the API, the printer and library users get, converted
//! from what the store keeps: see `stored`), the summary of a trace the
//! list shows, and a trace's tree. Everything here is `Serialize`, and the
//! JSON is the web view's API.

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
    /// Its links to other spans, in the order they came (absent from the
    /// JSON when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The stored spans that link to this one (absent from the JSON when
    /// none); filled in by [`crate::Collector::trace`] and the API, empty
    /// elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linked_from: Vec<LinkedFrom>,
}

/// A span's link to another span (OTLP `Span.Link`): of the same trace or
/// of another one, e.g. a retry linked to the first attempt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    pub attributes: Attributes,
    /// Whether the linked span is in the store (as of the answer); filled
    /// in by [`crate::Collector::trace`] and the API, `false` elsewhere.
    pub stored: bool,
}

/// A stored span that links to a span: see [`Span::linked_from`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedFrom {
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    pub name: String,
    pub service_name: String,
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
    /// The run (collector start, see `--store`) its first span or record
    /// arrived in: 1 for the first.
    pub run: u32,
}

/// One collector start (`GET /api/runs`): without `--store` there is just
/// run 1; with it, every start of the collector on the file is the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// 1, 2, ...
    pub run: u32,
    /// When that start was, in Unix nanoseconds.
    pub started_unix_nano: u64,
    /// Traces of the run stored now.
    pub traces: usize,
    /// The run of this start of the collector.
    pub current: bool,
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
