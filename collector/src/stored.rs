//! What the store keeps of a span and of a log record, and the conversion
//! from OTLP messages to it (owned by `store`).
//!
//! A stored span keeps what the store indexes as plain fields (ids, times,
//! kind, status), points at its resource and scope (one shared copy per
//! resource of a request), and keeps its name, status message, attributes
//! and events as bytes in one buffer shared by the consecutive spans of its
//! trace in the request (attributes and events protobuf-encoded, decoded
//! only when the span is shown). That is no allocation per span that
//! outlives the request, and a few hundred bytes per stored span.
//!
//! A stored log record keeps its time, severity, span id and body as plain
//! fields, its attributes protobuf-encoded (decoded only when shown), and
//! points at its resource and scope like a span. Ids follow the logs data
//! model: a record whose trace id is missing or invalid (the wrong length,
//! or all zeros) belongs to no trace, and is kept all the same.
//!
//! Text and bytes values longer than the value limit (`--max-value-bytes`:
//! attribute values, span and event names, status messages, log bodies) are
//! cut at conversion and end with [`Cut::MARK`] and the length they had, as
//! an SDK's attribute value length limit cuts them, but visibly. Every
//! stored item also says what it costs in memory ([`StoredSpan::BYTES`],
//! [`StoredLog::bytes`], [`Source::bytes`]): the store's byte budget adds
//! these up.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1 as logs_proto;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1 as proto;
use prost::Message as _;

use crate::model::{Attributes, Event, Link, LogRecord, Span, SpanKind, StatusCode, Transport};
use crate::wire::{self, WireError};

/// Why an export request was refused whole: an id of the wrong length (as
/// the OpenTelemetry Collector refuses it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{span}: {id} must be {expected}, got {got} bytes")]
pub struct BadId {
    /// The span, by name.
    span: String,
    /// Which id.
    id: &'static str,
    expected: &'static str,
    got: usize,
}

/// The longest text or bytes value kept whole; longer ones are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    pub(crate) max_bytes: usize,
}

impl Cut {
    /// What ends a cut value, followed by the length it had.
    pub(crate) const MARK: &'static str = "…[cut by the collector: ";

    /// Cuts `text` to the limit (on a character boundary) and marks it.
    fn text(self, text: &mut String) {
        if text.len() <= self.max_bytes {
            return;
        }
        let mut end = self.max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let had = text.len();
        text.truncate(end);
        text.push_str(Self::MARK);
        text.push_str(&format!("{had} bytes in all]"));
    }

    /// Cuts every text and bytes value in `value`, nested ones too (bytes
    /// become the text of their hex and the mark).
    fn value(self, value: &mut AnyValue) {
        use any_value::Value as V;
        match &mut value.value {
            Some(V::StringValue(s)) => self.text(s),
            Some(V::BytesValue(b)) if b.len() > self.max_bytes / 2 => {
                let mut text = hex(&b[..self.max_bytes / 2]);
                text.push_str(Self::MARK);
                text.push_str(&format!("{} bytes in all]", b.len()));
                value.value = Some(V::StringValue(text));
            }
            Some(V::ArrayValue(array)) => array.values.iter_mut().for_each(|v| self.value(v)),
            Some(V::KvlistValue(list)) => self.attributes(&mut list.values),
            _ => {}
        }
    }

    fn attributes(self, attributes: &mut [KeyValue]) {
        for kv in attributes {
            self.text(&mut kv.key);
            if let Some(value) = &mut kv.value {
                self.value(value);
            }
        }
    }

    /// Everything of a span that is text or values.
    fn span(self, span: &mut proto::Span) {
        self.text(&mut span.name);
        self.text(&mut span.trace_state);
        if let Some(status) = &mut span.status {
            self.text(&mut status.message);
        }
        self.attributes(&mut span.attributes);
        for event in &mut span.events {
            self.text(&mut event.name);
            self.attributes(&mut event.attributes);
        }
        for link in &mut span.links {
            self.text(&mut link.trace_state);
            self.attributes(&mut link.attributes);
        }
    }

    fn resource(self, resource: &mut Resource) {
        self.attributes(&mut resource.attributes);
    }

    fn scope(self, scope: &mut InstrumentationScope) {
        self.text(&mut scope.name);
        self.text(&mut scope.version);
        self.attributes(&mut scope.attributes);
    }
}

pub(crate) type TraceId = [u8; 16];
pub(crate) type SpanId = [u8; 8];

/// What the spans of one resource and scope of one request share.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) service_name: Arc<str>,
    pub(crate) resource: Arc<Attributes>,
    pub(crate) scope_name: Box<str>,
    pub(crate) transport: Transport,
    pub(crate) path: Arc<str>,
    /// The resource and scope as received, for the OTLP export of a trace
    /// ([`export`]); the resource is shared by the scopes of a request.
    pub(crate) otlp: Arc<ResourceOrigin>,
    pub(crate) scope: ScopeOrigin,
    /// What it costs in memory, about: see [`Source::bytes`].
    bytes: usize,
}

/// A resource as received: its attributes (with their OTLP types), its
/// dropped attribute count, and its schema URL.
#[derive(Debug, Default)]
pub(crate) struct ResourceOrigin {
    pub(crate) resource: Option<Resource>,
    pub(crate) schema_url: String,
}

/// A scope as received: name, version, attributes and schema URL.
#[derive(Debug, Default)]
pub(crate) struct ScopeOrigin {
    pub(crate) scope: Option<InstrumentationScope>,
    pub(crate) schema_url: String,
}

impl Source {
    /// What the source costs in memory, about (its resource counted whole,
    /// though the scopes of a request share it; the store counts it once
    /// per run of spans that point at it, so it never counts less than it
    /// holds).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    fn new(
        service_name: Arc<str>,
        resource: Arc<Attributes>,
        scope_name: Box<str>,
        transport: Transport,
        path: Arc<str>,
        otlp: Arc<ResourceOrigin>,
        scope: ScopeOrigin,
    ) -> Source {
        let bytes = std::mem::size_of::<Source>()
            + 2 * json_bytes(&resource)
            + otlp.schema_url.len()
            + 2 * scope_name.len()
            + scope.scope.as_ref().map_or(0, |s| s.encoded_len())
            + scope.schema_url.len();
        Source {
            service_name,
            resource,
            scope_name,
            transport,
            path,
            otlp,
            scope,
            bytes,
        }
    }

    /// A source with nothing kept of its origin (for tests).
    #[cfg(test)]
    pub(crate) fn plain(
        service_name: &str,
        resource: Attributes,
        transport: Transport,
        path: &str,
    ) -> Source {
        Source::new(
            service_name.into(),
            Arc::new(resource),
            Box::default(),
            transport,
            path.into(),
            Arc::default(),
            ScopeOrigin::default(),
        )
    }
}

/// Bytes of the keys and values of `attributes`, and a little for each
/// entry: what a JSON map of them costs, about.
fn json_bytes(attributes: &Attributes) -> usize {
    fn value_bytes(value: &serde_json::Value) -> usize {
        use serde_json::Value as J;
        32 + match value {
            J::String(s) => s.len(),
            J::Array(values) => values.iter().map(value_bytes).sum(),
            J::Object(map) => map.iter().map(|(k, v)| k.len() + value_bytes(v)).sum(),
            _ => 0,
        }
    }
    attributes
        .iter()
        .map(|(key, value)| 48 + key.len() + value_bytes(value))
        .sum()
}

/// The bytes of a run of spans (consecutive spans of one trace in one
/// request): their names, status messages and details, back to back. The
/// spans of a run live and die together (a trace is evicted whole), so one
/// allocation holds what would otherwise be three per span.
pub(crate) type Blob = Arc<[u8]>;

/// Where a span's text or bytes are in its run's [`Blob`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Slice {
    start: u32,
    len: u32,
}

impl Slice {
    fn of(blob: &mut Vec<u8>, bytes: &[u8]) -> Slice {
        let slice = Slice {
            start: u32::try_from(blob.len()).unwrap_or(u32::MAX),
            len: u32::try_from(bytes.len()).unwrap_or(0),
        };
        blob.extend_from_slice(bytes);
        slice
    }

    /// `start..end` of a blob.
    fn of_range(start: usize, end: usize) -> Slice {
        Slice {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(end.saturating_sub(start)).unwrap_or(0),
        }
    }

    pub(crate) fn get(self, blob: &[u8]) -> &[u8] {
        let start = self.start as usize;
        blob.get(start..start + self.len as usize)
            .unwrap_or_default()
    }

    pub(crate) fn len(self) -> usize {
        self.len as usize
    }

    /// `len` bytes from `start`.
    #[cfg(test)]
    pub(crate) fn at(start: usize, len: usize) -> Slice {
        Slice {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(0),
        }
    }

    /// All of `blob`.
    #[cfg(test)]
    pub(crate) fn whole(blob: &[u8]) -> Slice {
        Slice {
            start: 0,
            len: u32::try_from(blob.len()).unwrap_or(0),
        }
    }
}

/// A span as the store keeps it.
#[derive(Debug)]
pub(crate) struct StoredSpan {
    pub(crate) span_id: SpanId,
    pub(crate) parent: Option<SpanId>,
    pub(crate) kind: SpanKind,
    pub(crate) status: StatusCode,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) source: Arc<Source>,
    pub(crate) blob: Blob,
    pub(crate) name: Slice,
    pub(crate) status_message: Slice,
    /// Everything else: an OTLP `Span` message holding only its
    /// attributes, events, links, trace state, flags and dropped counts.
    pub(crate) details: Slice,
}

impl StoredSpan {
    /// What a stored span costs in memory besides its bytes in the blob:
    /// the struct and its entry in the trace's id index.
    pub(crate) const BYTES: usize = std::mem::size_of::<StoredSpan>() + 48;

    /// The span's name (checked UTF-8 at ingest).
    pub(crate) fn name(&self) -> &str {
        std::str::from_utf8(self.name.get(&self.blob)).unwrap_or_default()
    }

    fn status_message(&self) -> &str {
        std::str::from_utf8(self.status_message.get(&self.blob)).unwrap_or_default()
    }

    /// Bytes of the blob this span uses.
    pub(crate) fn blob_bytes(&self) -> usize {
        self.name.len() + self.status_message.len() + self.details.len()
    }

    /// Copies this span's bytes into `blob` and points at the copy there.
    pub(crate) fn move_to(&mut self, blob: &mut Vec<u8>) {
        let old = self.blob.clone();
        self.name = Slice::of(blob, self.name.get(&old));
        self.status_message = Slice::of(blob, self.status_message.get(&old));
        self.details = Slice::of(blob, self.details.get(&old));
    }

    /// The span as it was received (an OTLP `Span`), for the export.
    pub(crate) fn to_otlp(&self, trace_id: &TraceId) -> proto::Span {
        let mut span = proto::Span::decode(self.details.get(&self.blob)).unwrap_or_default();
        span.trace_id = trace_id.to_vec();
        span.span_id = self.span_id.to_vec();
        span.parent_span_id = self.parent.map(|p| p.to_vec()).unwrap_or_default();
        span.name = self.name().to_owned();
        span.kind = self.kind.to_otlp();
        span.start_time_unix_nano = self.start;
        span.end_time_unix_nano = self.end;
        let message = self.status_message();
        if self.status != StatusCode::Unset || !message.is_empty() {
            span.status = Some(proto::Status {
                code: self.status.to_otlp(),
                message: message.to_owned(),
            });
        }
        span
    }

    /// The span as [`StoredSpan::to_otlp`] makes it, protobuf-encoded
    /// onto `out`, without decoding its details: protobuf messages merge
    /// when concatenated, and the details hold none of the fields written
    /// after them. What `--store` writes (see `persist`).
    pub(crate) fn encode_otlp(&self, trace_id: &TraceId, out: &mut Vec<u8>) {
        use prost::encoding::{WireType, encode_key, encode_varint, fixed64, int32, message};
        let put = |tag: u32, bytes: &[u8], out: &mut Vec<u8>| {
            encode_key(tag, WireType::LengthDelimited, out);
            encode_varint(bytes.len() as u64, out);
            out.extend_from_slice(bytes);
        };
        out.extend_from_slice(self.details.get(&self.blob));
        put(1, trace_id, out);
        put(2, &self.span_id, out);
        if let Some(parent) = &self.parent {
            put(4, parent, out);
        }
        let name = self.name.get(&self.blob);
        if !name.is_empty() {
            put(5, name, out);
        }
        int32::encode(6, &self.kind.to_otlp(), out);
        fixed64::encode(7, &self.start, out);
        fixed64::encode(8, &self.end, out);
        let status_message = self.status_message();
        if self.status != StatusCode::Unset || !status_message.is_empty() {
            let status = proto::Status {
                code: self.status.to_otlp(),
                message: status_message.to_owned(),
            };
            message::encode(15, &status, out);
        }
    }

    /// Whether the span has each `(key, value)` attribute, on itself or
    /// its resource, reading `value` as the JSON API shows it (a string
    /// as it is, anything else as its JSON): what a search's
    /// `attr=KEY=VALUE` asks. Decodes the span's details once, and only if
    /// an attribute is asked for.
    pub(crate) fn has_attributes(&self, wanted: &[(String, String)]) -> bool {
        if wanted.is_empty() {
            return true;
        }
        let details = proto::Span::decode(self.details.get(&self.blob)).unwrap_or_default();
        wanted.iter().all(|(key, value)| {
            let own = details
                .attributes
                .iter()
                .filter(|kv| kv.key == *key)
                .any(|kv| reads_as(&any_value_to_json(kv.value.as_ref()), value));
            own || self
                .source
                .resource
                .get(key)
                .is_some_and(|v| reads_as(v, value))
        })
    }

    /// The span as the API shows it.
    pub(crate) fn to_span(&self, trace_id: &str) -> Span {
        self.to_span_with(trace_id, None)
    }

    /// With `only` given, just those attributes and no events: what the
    /// printer needs, at a fraction of the cost.
    pub(crate) fn to_span_with(&self, trace_id: &str, only: Option<&[&str]>) -> Span {
        let mut details = proto::Span::decode(self.details.get(&self.blob)).unwrap_or_default();
        if let Some(keys) = only {
            details
                .attributes
                .retain(|kv| keys.contains(&kv.key.as_str()));
            details.events.clear();
            details.links.clear();
        }
        Span {
            trace_id: trace_id.to_owned(),
            span_id: hex(&self.span_id),
            parent_span_id: self.parent.as_ref().map(|p| hex(p)),
            name: self.name().to_owned(),
            kind: self.kind,
            start_unix_nano: self.start,
            end_unix_nano: self.end,
            attributes: attributes_to_map(&details.attributes),
            events: details
                .events
                .iter()
                .map(|e| Event {
                    name: e.name.clone(),
                    time_unix_nano: e.time_unix_nano,
                    attributes: attributes_to_map(&e.attributes),
                })
                .collect(),
            status_code: self.status,
            status_message: self.status_message().to_owned(),
            service_name: self.source.service_name.to_string(),
            resource: self.source.resource.clone(),
            scope_name: self.source.scope_name.to_string(),
            transport: self.source.transport,
            path: self.source.path.to_string(),
            links: details
                .links
                .iter()
                .map(|l| Link {
                    trace_id: hex(&l.trace_id),
                    span_id: hex(&l.span_id),
                    attributes: attributes_to_map(&l.attributes),
                    stored: false,
                })
                .collect(),
            linked_from: Vec::new(),
        }
    }
}

/// Whether `value` reads `text`: a string as it is, anything else as its
/// JSON (`100`, `true`, `["a","b"]`).
pub(crate) fn reads_as(value: &serde_json::Value, text: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s == text,
        // Not `*other == text`: a JSON value equals a str only as a string.
        other => serde_json::to_string(other).is_ok_and(|json| json == text),
    }
}
/// Consecutive spans of one trace in a request, stored together.
pub(crate) type Run = (TraceId, Vec<StoredSpan>);

/// A span decoded and checked, its bytes already in the run's blob.
struct Pending {
    span_id: SpanId,
    parent: Option<SpanId>,
    kind: SpanKind,
    status: StatusCode,
    start: u64,
    end: u64,
    source: Arc<Source>,
    name: Slice,
    status_message: Slice,
    details: Slice,
}

/// The run being built while converting.
struct RunBuilder {
    trace_id: TraceId,
    blob: Vec<u8>,
    spans: Vec<Pending>,
}

impl RunBuilder {
    fn finish(self) -> Run {
        let blob: Blob = Arc::from(self.blob);
        let spans = self
            .spans
            .into_iter()
            .map(|p| StoredSpan {
                span_id: p.span_id,
                parent: p.parent,
                kind: p.kind,
                status: p.status,
                start: p.start,
                end: p.end,
                source: p.source,
                blob: blob.clone(),
                name: p.name,
                status_message: p.status_message,
                details: p.details,
            })
            .collect();
        (self.trace_id, spans)
    }
}

/// What the spans of one resource of a request share: its service name,
/// its attributes as the API shows them, and the resource as received (cut
/// to the value limit).
struct ResourceParts {
    service_name: Arc<str>,
    attributes: Arc<Attributes>,
    origin: Arc<ResourceOrigin>,
}

impl ResourceParts {
    fn new(mut resource: Option<Resource>, schema_url: String, cut: Cut) -> ResourceParts {
        if let Some(resource) = &mut resource {
            cut.resource(resource);
        }
        let attributes = resource
            .as_ref()
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let service_name: Arc<str> = attributes
            .get("service.name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .into();
        ResourceParts {
            service_name,
            attributes: Arc::new(attributes),
            origin: Arc::new(ResourceOrigin {
                resource,
                schema_url,
            }),
        }
    }

    /// The source of the spans (or records) of one of its scopes.
    fn source(
        &self,
        mut scope: Option<InstrumentationScope>,
        schema_url: String,
        transport: Transport,
        path: &Arc<str>,
        cut: Cut,
    ) -> Arc<Source> {
        if let Some(scope) = &mut scope {
            cut.scope(scope);
        }
        Arc::new(Source::new(
            self.service_name.clone(),
            self.attributes.clone(),
            scope
                .as_ref()
                .map(|s| s.name.as_str())
                .unwrap_or_default()
                .into(),
            transport,
            path.clone(),
            self.origin.clone(),
            ScopeOrigin { scope, schema_url },
        ))
    }
}

/// The runs of a request being made: a span of another trace than the
/// last one starts a new run.
#[derive(Default)]
struct Runs {
    done: Vec<Run>,
    current: Option<RunBuilder>,
}

impl Runs {
    fn of(&mut self, trace_id: TraceId) -> &mut RunBuilder {
        if self
            .current
            .as_ref()
            .is_some_and(|r| r.trace_id != trace_id)
        {
            self.done
                .extend(self.current.take().map(RunBuilder::finish));
        }
        self.current.get_or_insert_with(|| RunBuilder {
            trace_id,
            blob: Vec::new(),
            spans: Vec::new(),
        })
    }

    fn finish(mut self) -> Vec<Run> {
        self.done.extend(self.current.map(RunBuilder::finish));
        self.done
    }
}

/// Converts an export request into runs of stored spans (consecutive spans
/// of one trace), rejecting the whole request if an id has the wrong length
/// (as the OpenTelemetry Collector does).
pub(crate) fn convert(
    request: ExportTraceServiceRequest,
    transport: Transport,
    path: &str,
    cut: Cut,
) -> Result<Vec<Run>, BadId> {
    let path: Arc<str> = Arc::from(path);
    let mut runs = Runs::default();
    let mut scratch = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = ResourceParts::new(resource_spans.resource, resource_spans.schema_url, cut);
        for scope_spans in resource_spans.scope_spans {
            let source = resource.source(
                scope_spans.scope,
                scope_spans.schema_url,
                transport,
                &path,
                cut,
            );
            for span in scope_spans.spans {
                let current = runs.of(trace_id_of(&span)?);
                let pending = pending(span, &source, &mut current.blob, &mut scratch, cut)?;
                current.spans.push(pending);
            }
        }
    }
    Ok(runs.finish())
}

/// Why a protobuf export request was refused whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    #[error(transparent)]
    Malformed(#[from] WireError),
    #[error(transparent)]
    BadId(#[from] BadId),
}

/// [`convert`] for a protobuf request as it came (see `wire`): the spans'
/// fields other than the indexed ones are kept as the bytes they came as.
pub(crate) fn convert_protobuf(
    body: &[u8],
    transport: Transport,
    path: &str,
    cut: Cut,
) -> Result<Vec<Run>, Refused> {
    let request = wire::request(body)?;
    let path: Arc<str> = Arc::from(path);
    let mut runs = Runs::default();
    let mut scratch = Vec::new();
    let mut kept = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = ResourceParts::new(resource_spans.resource, resource_spans.schema_url, cut);
        for scope_spans in resource_spans.scope_spans {
            let source = resource.source(
                scope_spans.scope,
                scope_spans.schema_url,
                transport,
                &path,
                cut,
            );
            for bytes in scope_spans.spans {
                let span = wire::span(bytes, &mut kept)?;
                let trace_id: TraceId = span.trace_id.try_into().map_err(|_| {
                    BadId::named(span.name, "trace id", "16 bytes", span.trace_id.len())
                })?;
                let current = runs.of(trace_id);
                let pending = if span.longest > cut.max_bytes {
                    // Something to cut: decoded whole, as any other.
                    let whole =
                        proto::Span::decode(bytes).map_err(|e| wire::malformed(e.to_string()))?;
                    pending(whole, &source, &mut current.blob, &mut scratch, cut)?
                } else {
                    pending_wire(&span, bytes, &kept, &source, &mut current.blob)?
                };
                current.spans.push(pending);
            }
        }
    }
    Ok(runs.finish())
}

/// A span read by `wire`, its kept fields copied to the run's blob as they
/// came (together they are the `Span` message [`StoredSpan::details`]
/// holds).
fn pending_wire(
    span: &wire::Span<'_>,
    bytes: &[u8],
    kept: &[std::ops::Range<usize>],
    source: &Arc<Source>,
    blob: &mut Vec<u8>,
) -> Result<Pending, BadId> {
    let span_id: SpanId = span
        .span_id
        .try_into()
        .map_err(|_| BadId::named(span.name, "span id", "8 bytes", span.span_id.len()))?;
    let parent = match span.parent_span_id.len() {
        0 => None,
        8 => span.parent_span_id.try_into().ok(),
        n => {
            return Err(BadId::named(
                span.name,
                "parent span id",
                "8 bytes or empty",
                n,
            ));
        }
    };
    let name = Slice::of(blob, span.name.as_bytes());
    let status_message = Slice::of(blob, span.status_message.as_bytes());
    let start = blob.len();
    for range in kept {
        blob.extend_from_slice(&bytes[range.clone()]);
    }
    let details = Slice::of_range(start, blob.len());
    Ok(Pending {
        span_id,
        parent,
        kind: SpanKind::from_otlp(span.kind),
        status: StatusCode::from_otlp(span.status_code),
        start: span.start,
        end: span.end,
        source: source.clone(),
        name,
        status_message,
        details,
    })
}

impl BadId {
    fn new(span: &proto::Span, id: &'static str, expected: &'static str, got: usize) -> BadId {
        BadId::named(&span.name, id, expected, got)
    }

    fn named(name: &str, id: &'static str, expected: &'static str, got: usize) -> BadId {
        BadId {
            span: format!("span {:?}", crate::text::one_line(name, 80)),
            id,
            expected,
            got,
        }
    }
}

fn trace_id_of(span: &proto::Span) -> Result<TraceId, BadId> {
    span.trace_id
        .as_slice()
        .try_into()
        .map_err(|_| BadId::new(span, "trace id", "16 bytes", span.trace_id.len()))
}

fn pending(
    mut span: proto::Span,
    source: &Arc<Source>,
    blob: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    cut: Cut,
) -> Result<Pending, BadId> {
    let span_id: SpanId = span
        .span_id
        .as_slice()
        .try_into()
        .map_err(|_| BadId::new(&span, "span id", "8 bytes", span.span_id.len()))?;
    let parent = match span.parent_span_id.len() {
        0 => None,
        8 => span.parent_span_id.as_slice().try_into().ok(),
        n => return Err(BadId::new(&span, "parent span id", "8 bytes or empty", n)),
    };
    cut.span(&mut span);
    scratch.clear();
    // Encoding into a Vec cannot fail.
    let _ = proto::Span {
        attributes: std::mem::take(&mut span.attributes),
        events: std::mem::take(&mut span.events),
        links: std::mem::take(&mut span.links),
        trace_state: std::mem::take(&mut span.trace_state),
        flags: span.flags,
        dropped_attributes_count: span.dropped_attributes_count,
        dropped_events_count: span.dropped_events_count,
        dropped_links_count: span.dropped_links_count,
        ..Default::default()
    }
    .encode(scratch);
    let status = span.status.unwrap_or_default();
    Ok(Pending {
        span_id,
        parent,
        kind: SpanKind::from_otlp(span.kind),
        status: StatusCode::from_otlp(status.code),
        start: span.start_time_unix_nano,
        end: span.end_time_unix_nano,
        source: source.clone(),
        name: Slice::of(blob, span.name.as_bytes()),
        status_message: Slice::of(blob, status.message.as_bytes()),
        details: Slice::of(blob, scratch),
    })
}

/// A log record as the store keeps it.
#[derive(Debug)]
pub(crate) struct StoredLog {
    /// Arrival number, given by the store (oldest first across all records).
    pub(crate) seq: u64,
    /// What the store counts it as costing (see [`StoredLog::bytes`]),
    /// given by the store.
    pub(crate) charged: usize,
    /// The row of the store file that holds it (`--store`; 0: none),
    /// given by the store.
    pub(crate) row: i64,
    pub(crate) time: u64,
    pub(crate) severity_number: i32,
    /// The severity text, when it says more than the number's name.
    pub(crate) severity_text: Option<Box<str>>,
    pub(crate) body: Box<str>,
    /// An OTLP `LogRecord` message holding what is not kept above, as it
    /// came: the attributes, the original times, severity text, flags,
    /// event name, dropped count, and the body when it is not a string
    /// (empty: none of these).
    pub(crate) details: Box<[u8]>,
    pub(crate) span_id: Option<SpanId>,
    pub(crate) source: Arc<Source>,
}

impl StoredLog {
    /// What the record costs in memory, about: the struct, its place in the
    /// store's indexes, its body, severity text and attributes (its source
    /// is counted by the store, once per run).
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<StoredLog>()
            + 64
            + self.body.len()
            + self.severity_text.as_ref().map_or(0, |t| t.len())
            + self.details.len()
    }

    /// The record as it came (an OTLP `LogRecord`), for the export; its
    /// trace id is `trace_id`.
    pub(crate) fn to_otlp(&self, trace_id: Option<&TraceId>) -> logs_proto::LogRecord {
        let mut record = logs_proto::LogRecord::decode(&self.details[..]).unwrap_or_default();
        if record.time_unix_nano == 0 && record.observed_time_unix_nano == 0 {
            record.time_unix_nano = self.time;
        }
        record.severity_number = self.severity_number;
        if record.body.is_none() && !self.body.is_empty() {
            record.body = Some(AnyValue {
                value: Some(any_value::Value::StringValue(self.body.to_string())),
            });
        }
        record.trace_id = trace_id.map(|id| id.to_vec()).unwrap_or_default();
        record.span_id = self.span_id.map(|id| id.to_vec()).unwrap_or_default();
        record
    }

    /// The record as the API shows it; without `attributes`, with none
    /// (what the printer needs).
    pub(crate) fn to_record(&self, trace_id: Option<&str>, attributes: bool) -> LogRecord {
        let attributes = if attributes && !self.details.is_empty() {
            let details = logs_proto::LogRecord::decode(&self.details[..]).unwrap_or_default();
            attributes_to_map(&details.attributes)
        } else {
            Attributes::new()
        };
        LogRecord {
            time_unix_nano: self.time,
            severity: match &self.severity_text {
                Some(text) => text.to_string(),
                None => severity_name(self.severity_number).to_owned(),
            },
            severity_number: self.severity_number,
            body: self.body.to_string(),
            attributes,
            trace_id: trace_id.map(str::to_owned),
            span_id: self.span_id.as_ref().map(|id| hex(id)),
            service_name: self.source.service_name.to_string(),
            scope_name: self.source.scope_name.to_string(),
        }
    }
}

/// Consecutive log records of one trace (`None`: of no trace) in a request.
pub(crate) type LogRun = (Option<TraceId>, Vec<StoredLog>);

/// Converts a logs export request into runs of stored records (consecutive
/// records of one trace). Never fails: an invalid id only means no trace
/// (or no span), as the logs data model says.
pub(crate) fn convert_logs(
    request: ExportLogsServiceRequest,
    transport: Transport,
    path: &str,
    cut: Cut,
) -> Vec<LogRun> {
    let path: Arc<str> = Arc::from(path);
    let mut runs: Vec<LogRun> = Vec::new();
    let mut scratch = Vec::new();
    for mut resource_logs in request.resource_logs {
        if let Some(resource) = &mut resource_logs.resource {
            cut.resource(resource);
        }
        let resource = resource_logs
            .resource
            .as_ref()
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let origin = Arc::new(ResourceOrigin {
            resource: resource_logs.resource,
            schema_url: resource_logs.schema_url,
        });
        let service_name: Arc<str> = resource
            .get("service.name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .into();
        let resource = Arc::new(resource);
        for mut scope_logs in resource_logs.scope_logs {
            if let Some(scope) = &mut scope_logs.scope {
                cut.scope(scope);
            }
            let source = Arc::new(Source::new(
                service_name.clone(),
                resource.clone(),
                scope_logs
                    .scope
                    .as_ref()
                    .map(|s| s.name.as_str())
                    .unwrap_or_default()
                    .into(),
                transport,
                path.clone(),
                origin.clone(),
                ScopeOrigin {
                    scope: scope_logs.scope,
                    schema_url: scope_logs.schema_url,
                },
            ));
            for mut record in scope_logs.log_records {
                let trace_id = valid_id::<16>(&record.trace_id);
                if let Some(body) = &mut record.body {
                    cut.value(body);
                }
                cut.attributes(&mut record.attributes);
                cut.text(&mut record.severity_text);
                let log = stored_log(record, &source, &mut scratch);
                match runs.last_mut() {
                    Some((id, run)) if *id == trace_id => run.push(log),
                    _ => runs.push((trace_id, vec![log])),
                }
            }
        }
    }
    runs
}

/// An id of the right length and not all zeros.
fn valid_id<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    let id: [u8; N] = bytes.try_into().ok()?;
    id.iter().any(|b| *b != 0).then_some(id)
}

fn stored_log(
    mut record: logs_proto::LogRecord,
    source: &Arc<Source>,
    scratch: &mut Vec<u8>,
) -> StoredLog {
    let string_body = matches!(
        record.body.as_ref().and_then(|b| b.value.as_ref()),
        Some(any_value::Value::StringValue(_)) | None
    );
    let details = logs_proto::LogRecord {
        time_unix_nano: record.time_unix_nano,
        observed_time_unix_nano: record.observed_time_unix_nano,
        attributes: std::mem::take(&mut record.attributes),
        dropped_attributes_count: record.dropped_attributes_count,
        flags: record.flags,
        event_name: std::mem::take(&mut record.event_name),
        severity_text: record.severity_text.clone(),
        body: if string_body {
            None
        } else {
            record.body.clone()
        },
        ..Default::default()
    };
    let details: Box<[u8]> = if details == logs_proto::LogRecord::default() {
        Box::default()
    } else {
        scratch.clear();
        // Encoding into a Vec cannot fail.
        let _ = details.encode(scratch);
        scratch.as_slice().into()
    };
    let severity_text = Some(record.severity_text)
        .filter(|text| !text.is_empty() && text != severity_name(record.severity_number))
        .map(String::into_boxed_str);
    let body = match record.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.as_str().into(),
        Some(_) => any_value_to_json(record.body.as_ref())
            .to_string()
            .into_boxed_str(),
        None => Box::default(),
    };
    StoredLog {
        seq: 0,
        charged: 0,
        row: 0,
        time: if record.time_unix_nano != 0 {
            record.time_unix_nano
        } else {
            record.observed_time_unix_nano
        },
        severity_number: record.severity_number,
        severity_text,
        body,
        details,
        span_id: valid_id::<8>(&record.span_id),
        source: source.clone(),
    }
}

/// The short name of an OTLP `SeverityNumber` (the data model's: `INFO`,
/// `INFO2`...); empty for 0 and unknown numbers.
pub(crate) fn severity_name(number: i32) -> &'static str {
    const NAMES: [&str; 24] = [
        "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO",
        "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3",
        "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
    ];
    usize::try_from(number)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|n| NAMES.get(n))
        .copied()
        .unwrap_or_default()
}

fn attributes_to_map(attributes: &[KeyValue]) -> Attributes {
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

/// Lowercase hex, as trace and span ids are written everywhere.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// A 32-digit hex trace id (either case) as bytes.
pub(crate) fn parse_trace_id(text: &str) -> Option<TraceId> {
    let text = text.as_bytes();
    if text.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (byte, pair) in id.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CUT: Cut = Cut { max_bytes: 64 };

    /// Every record of a logs export request as the API would show it.
    fn log_records(
        request: ExportLogsServiceRequest,
        transport: Transport,
        path: &str,
    ) -> Vec<LogRecord> {
        let mut records = Vec::new();
        for (trace_id, run) in convert_logs(request, transport, path, CUT) {
            let trace_id = trace_id.map(|id| hex(&id));
            records.extend(
                run.iter()
                    .map(|log| log.to_record(trace_id.as_deref(), true)),
            );
        }
        records
    }

    #[test]
    fn hex_is_lowercase_and_parses_back() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
        let id: TraceId = *b"0123456789abcdef";
        assert_eq!(parse_trace_id(&hex(&id)), Some(id));
        assert_eq!(parse_trace_id(&hex(&id).to_uppercase()), Some(id));
        assert_eq!(parse_trace_id("xyz"), None);
        assert_eq!(parse_trace_id(&"g".repeat(32)), None);
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

    fn record(trace_id: Vec<u8>, span_id: Vec<u8>) -> logs_proto::LogRecord {
        logs_proto::LogRecord {
            time_unix_nano: 0,
            observed_time_unix_nano: 42,
            severity_number: 13,
            severity_text: "WARN".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::KvlistValue(
                    opentelemetry_proto::tonic::common::v1::KeyValueList {
                        values: vec![KeyValue {
                            key: "user".into(),
                            value: Some(AnyValue {
                                value: Some(any_value::Value::IntValue(1)),
                            }),
                            ..Default::default()
                        }],
                    },
                )),
            }),
            trace_id,
            span_id,
            ..Default::default()
        }
    }

    fn request(records: Vec<logs_proto::LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![logs_proto::ResourceLogs {
                scope_logs: vec![logs_proto::ScopeLogs {
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_log_record_keeps_its_trace_span_time_severity_and_body() {
        let records = log_records(
            request(vec![record(vec![7; 16], vec![8; 8])]),
            Transport::Grpc,
            "/x",
        );
        let log = &records[0];
        assert_eq!(log.trace_id, Some(hex(&[7; 16])));
        assert_eq!(log.span_id, Some(hex(&[8; 8])));
        assert_eq!(log.time_unix_nano, 42, "the observed time when 0");
        assert_eq!(log.severity, "WARN");
        assert_eq!(log.body, r#"{"user":1}"#, "a non-string body as JSON");
    }

    #[test]
    fn invalid_log_ids_mean_no_trace_or_no_span() {
        let records = log_records(
            request(vec![
                record(vec![0; 16], vec![8; 8]),
                record(vec![7; 3], vec![0; 8]),
                record(vec![], vec![1; 3]),
            ]),
            Transport::Grpc,
            "/x",
        );
        assert_eq!(records.len(), 3, "kept all the same");
        for log in records {
            assert_eq!(log.trace_id, None);
        }
    }

    #[test]
    fn severity_comes_from_the_number_when_there_is_no_text() {
        assert_eq!(severity_name(9), "INFO");
        assert_eq!(severity_name(10), "INFO2");
        assert_eq!(severity_name(17), "ERROR");
        assert_eq!(severity_name(24), "FATAL4");
        assert_eq!(severity_name(0), "");
        assert_eq!(severity_name(25), "");
        assert_eq!(severity_name(-1), "");
        let mut plain = record(vec![7; 16], vec![]);
        plain.severity_text = String::new();
        plain.severity_number = 17;
        let mut custom = record(vec![7; 16], vec![]);
        custom.severity_text = "oops".into();
        let records = log_records(request(vec![plain, custom]), Transport::Grpc, "/x");
        assert_eq!(records[0].severity, "ERROR");
        assert_eq!(records[1].severity, "oops");
        assert_eq!(records[0].span_id, None);
    }

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    /// A request with a bit of everything a span can carry, two traces
    /// interleaved, two resources and scopes.
    fn rich_request(long: usize) -> ExportTraceServiceRequest {
        use any_value::Value as V;
        use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
        let attributes = vec![
            kv("s", V::StringValue("text".into())),
            kv("b", V::BoolValue(true)),
            kv("i", V::IntValue(-7)),
            kv("d", V::DoubleValue(1.5)),
            kv("bytes", V::BytesValue(vec![1, 2, 255])),
            kv("long", V::StringValue("x".repeat(long))),
            kv(
                "array",
                V::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(V::KvlistValue(KeyValueList {
                            values: vec![kv("deep", V::IntValue(1))],
                        })),
                    }],
                }),
            ),
        ];
        let span = |trace: u8, id: u8, parent: Option<u8>| proto::Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            trace_state: "k=v".into(),
            name: format!("span {id}"),
            kind: 2,
            start_time_unix_nano: 10 * u64::from(id),
            end_time_unix_nano: 10 * u64::from(id) + 5,
            attributes: attributes.clone(),
            dropped_attributes_count: 1,
            events: vec![proto::span::Event {
                time_unix_nano: 3,
                name: "event".into(),
                attributes: attributes.clone(),
                dropped_attributes_count: 2,
            }],
            dropped_events_count: 3,
            links: vec![proto::span::Link {
                trace_id: vec![9; 16],
                span_id: vec![9; 8],
                trace_state: "l=1".into(),
                attributes: attributes.clone(),
                dropped_attributes_count: 4,
                flags: 0x301,
            }],
            dropped_links_count: 5,
            status: Some(proto::Status {
                message: "broken".into(),
                code: 2,
            }),
            flags: 0x101,
        };
        let scope = |name: &str, spans| proto::ScopeSpans {
            scope: Some(InstrumentationScope {
                name: name.into(),
                version: "1.0".into(),
                attributes: vec![kv("scope.attr", V::StringValue("a".into()))],
                dropped_attributes_count: 0,
            }),
            spans,
            schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
        };
        let resource = |service: &str, scopes| proto::ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", V::StringValue(service.into()))],
                dropped_attributes_count: 1,
                entity_refs: Vec::new(),
            }),
            scope_spans: scopes,
            schema_url: "https://opentelemetry.io/schemas/1.31.0".into(),
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                resource(
                    "one",
                    vec![
                        scope("a", vec![span(1, 2, Some(1)), span(2, 3, None)]),
                        scope("b", vec![span(1, 1, None)]),
                    ],
                ),
                resource("two", vec![scope("c", vec![span(2, 4, Some(3))])]),
            ],
        }
    }

    /// Each span as the API shows it and as it goes out, by run.
    fn shown(runs: &[Run]) -> Vec<(Span, proto::Span)> {
        runs.iter()
            .flat_map(|(id, run)| run.iter().map(|s| (s.to_span(&hex(id)), s.to_otlp(id))))
            .collect()
    }

    #[test]
    fn the_protobuf_path_stores_what_the_decoded_path_stores() {
        // Nothing to cut, and a value to cut (decoded whole then).
        for (long, cut) in [(10, Cut { max_bytes: 1 << 16 }), (100, CUT)] {
            let request = rich_request(long);
            let body = request.encode_to_vec();
            let decoded = convert(request, Transport::HttpProtobuf, "/v1/traces", cut).unwrap();
            let read = convert_protobuf(&body, Transport::HttpProtobuf, "/v1/traces", cut).unwrap();
            assert_eq!(decoded.len(), 4, "runs: a trace change starts one");
            assert_eq!(
                decoded
                    .iter()
                    .map(|(id, r)| (*id, r.len()))
                    .collect::<Vec<_>>(),
                read.iter()
                    .map(|(id, r)| (*id, r.len()))
                    .collect::<Vec<_>>()
            );
            assert_eq!(shown(&decoded), shown(&read), "long value {long}");
            let resource = |runs: &[Run]| {
                let source = &runs[0].1[0].source;
                (
                    source.otlp.resource.clone(),
                    source.scope.scope.clone(),
                    source.bytes(),
                )
            };
            assert_eq!(resource(&decoded), resource(&read));
        }
        let span = &shown(
            &convert_protobuf(
                &rich_request(100).encode_to_vec(),
                Transport::Grpc,
                "/",
                CUT,
            )
            .unwrap(),
        )[0]
        .0;
        assert!(
            span.attributes["long"]
                .as_str()
                .is_some_and(|v| v.ends_with("…[cut by the collector: 100 bytes in all]")),
            "{:?}",
            span.attributes["long"]
        );
    }

    #[test]
    fn a_truncated_or_damaged_protobuf_body_is_refused_as_prost_refuses_it() {
        let body = rich_request(10).encode_to_vec();
        let cut = Cut { max_bytes: 1 << 16 };
        for n in 0..body.len() {
            let part = &body[..n];
            let prost = ExportTraceServiceRequest::decode(part)
                .map_err(|_| ())
                .and_then(|r| convert(r, Transport::Grpc, "/", cut).map_err(|_| ()));
            let read = convert_protobuf(part, Transport::Grpc, "/", cut);
            assert_eq!(prost.is_ok(), read.is_ok(), "cut at {n}: {read:?}");
        }
        // Damage anywhere: never a panic, and what is read stays readable.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut damaged = body.clone();
            let at = (seed % damaged.len() as u64) as usize;
            damaged[at] ^= (seed >> 32) as u8 | 1;
            if let Ok(runs) = convert_protobuf(&damaged, Transport::Grpc, "/", cut) {
                let _ = shown(&runs);
            }
        }
    }

    #[test]
    fn wrong_wire_types_and_bad_text_are_refused_with_a_reason() {
        // A span whose name (field 5) is a varint.
        let span = [0x28, 0x01];
        let body = [&[0x0a, 0x06, 0x12, 0x04, 0x12, 0x02][..], &span].concat();
        let err = convert_protobuf(&body, Transport::Grpc, "/", CUT).unwrap_err();
        assert!(
            err.to_string()
                .contains("Span field 5: invalid wire type 0"),
            "{err}"
        );
        // A name that is not UTF-8.
        let span = [0x2a, 0x01, 0xff];
        let body = [&[0x0a, 0x07, 0x12, 0x05, 0x12, 0x03][..], &span].concat();
        let err = convert_protobuf(&body, Transport::Grpc, "/", CUT).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
    }
}
