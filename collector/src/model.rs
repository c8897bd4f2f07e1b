//! The collector's own view of spans and traces, converted from the OTLP
//! protobuf types. Everything here is `Serialize` so a web view can serve it
//! as JSON as is.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde::Serialize;

/// How a batch of spans reached the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// OTLP/gRPC (`TraceService/Export`).
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

/// A span event (a timestamped log line inside a span).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub name: String,
    pub time_unix_nano: u64,
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// One received span, flattened with its resource and scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Lowercase hex, 32 characters.
    pub trace_id: String,
    /// Lowercase hex, 16 characters.
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub name: String,
    /// `internal`, `server`, `client`, `producer`, `consumer` or `unspecified`.
    pub kind: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub events: Vec<Event>,
    /// `unset`, `ok` or `error`.
    pub status_code: String,
    pub status_message: String,
    /// The resource's `service.name` (empty if the exporter sent none).
    pub service_name: String,
    pub resource: BTreeMap<String, serde_json::Value>,
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
        self.status_code == "error"
    }
}

/// All spans received so far that share one trace id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub trace_id: String,
    /// In arrival order.
    pub spans: Vec<Span>,
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
                self.spans
                    .iter()
                    .filter(|s| !self.contains_parent(s))
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
        self.spans.iter().any(|s| s.parent_span_id.is_none())
            && self.spans.iter().all(|s| self.contains_parent(s))
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
    /// span, marked `in_cycle`; bad links can never make this loop.
    pub fn tree(&self) -> Vec<TreeRow<'_>> {
        let ids: HashSet<&str> = self.spans.iter().map(|s| s.span_id.as_str()).collect();
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
        let mut seen: HashSet<&str> = HashSet::new();
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

    fn contains_parent(&self, span: &Span) -> bool {
        match span.parent_span_id.as_deref() {
            None => true,
            Some(parent) => self.spans.iter().any(|s| s.span_id == parent),
        }
    }
}

/// One export request, as the collector saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedRequest {
    pub transport: Transport,
    /// The HTTP path, or the gRPC method path.
    pub path: String,
    /// Header (or gRPC metadata) names lowercased; only ASCII values.
    pub headers: BTreeMap<String, String>,
    pub span_count: usize,
}

/// Converts an export request into spans, rejecting ids of the wrong length.
pub(crate) fn spans_from_request(
    request: &ExportTraceServiceRequest,
    transport: Transport,
    path: &str,
) -> Result<Vec<Span>, String> {
    let mut spans = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let service_name = resource
            .get("service.name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        for scope_spans in &resource_spans.scope_spans {
            let scope_name = scope_spans
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for span in &scope_spans.spans {
                let described = || format!("span {:?}", span.name);
                if span.trace_id.len() != 16 {
                    return Err(format!(
                        "{}: trace id must be 16 bytes, got {}",
                        described(),
                        span.trace_id.len()
                    ));
                }
                if span.span_id.len() != 8 {
                    return Err(format!(
                        "{}: span id must be 8 bytes, got {}",
                        described(),
                        span.span_id.len()
                    ));
                }
                let parent_span_id = match span.parent_span_id.len() {
                    0 => None,
                    8 => Some(hex(&span.parent_span_id)),
                    n => {
                        return Err(format!(
                            "{}: parent span id must be 8 bytes or empty, got {n}",
                            described()
                        ));
                    }
                };
                let status = span.status.clone().unwrap_or_default();
                spans.push(Span {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id,
                    name: span.name.clone(),
                    kind: kind_name(span.kind).to_owned(),
                    start_unix_nano: span.start_time_unix_nano,
                    end_unix_nano: span.end_time_unix_nano,
                    attributes: attributes_to_map(&span.attributes),
                    events: span
                        .events
                        .iter()
                        .map(|e| Event {
                            name: e.name.clone(),
                            time_unix_nano: e.time_unix_nano,
                            attributes: attributes_to_map(&e.attributes),
                        })
                        .collect(),
                    status_code: match status.code {
                        1 => "ok",
                        2 => "error",
                        _ => "unset",
                    }
                    .to_owned(),
                    status_message: status.message,
                    service_name: service_name.clone(),
                    resource: resource.clone(),
                    scope_name: scope_name.clone(),
                    transport,
                    path: path.to_owned(),
                });
            }
        }
    }
    Ok(spans)
}

fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn attributes_to_map(attributes: &[KeyValue]) -> BTreeMap<String, serde_json::Value> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), any_value_to_json(kv.value.as_ref())))
        .collect()
}

/// OTLP `AnyValue` to JSON: ints stay numbers, bytes become lowercase hex.
fn any_value_to_json(value: Option<&AnyValue>) -> serde_json::Value {
    use any_value::Value as V;
    use serde_json::Value as J;
    match value.and_then(|v| v.value.as_ref()) {
        None | Some(V::StringValueStrindex(_)) => J::Null,
        Some(V::StringValue(s)) => J::String(s.clone()),
        Some(V::BoolValue(b)) => J::Bool(*b),
        Some(V::IntValue(i)) => J::from(*i),
        // NaN and infinities have no JSON number; keep them readable.
        Some(V::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(d.to_string())),
        Some(V::ArrayValue(a)) => J::Array(
            a.values
                .iter()
                .map(|v| any_value_to_json(Some(v)))
                .collect(),
        ),
        Some(V::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|kv| (kv.key.clone(), any_value_to_json(kv.value.as_ref())))
                .collect(),
        ),
        Some(V::BytesValue(b)) => J::String(hex(b)),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
    }

    #[test]
    fn any_values_become_json() {
        use any_value::Value as V;
        let v = |value| Some(AnyValue { value: Some(value) });
        assert_eq!(
            any_value_to_json(v(V::IntValue(7)).as_ref()),
            serde_json::json!(7)
        );
        assert_eq!(
            any_value_to_json(v(V::BytesValue(vec![1, 2])).as_ref()),
            serde_json::json!("0102")
        );
        assert_eq!(
            any_value_to_json(v(V::DoubleValue(f64::NAN)).as_ref()),
            serde_json::json!("NaN")
        );
        assert_eq!(any_value_to_json(None), serde_json::Value::Null);
    }
}
