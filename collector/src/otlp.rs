//! From bytes on the wire to what the store keeps: decoding an export
//! request body (protobuf or JSON, optionally gzip, within a size limit),
//! checking its ids, and converting its spans.
//!
//! A stored span keeps what the store indexes and the list summarises as
//! plain fields (ids, name, times, kind, status), points at its resource
//! and scope (one shared copy per resource of a request), and keeps its
//! attributes and events as the protobuf bytes they came in, decoded only
//! when the span is shown. That is one allocation per span at ingest and
//! a few hundred bytes per stored span.

use std::io::Read as _;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1 as proto;
use prost::Message as _;

use crate::model::{Attributes, Event, Span, SpanKind, StatusCode, Transport};

/// How an OTLP/HTTP body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, enum values as numbers)
    Json,
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// More than the limit, compressed or decompressed.
    TooLarge { limit: usize },
    /// Not gzip although the request said so.
    Gzip(String),
    /// Not an `ExportTraceServiceRequest` in the declared encoding.
    Malformed(Encoding, String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::TooLarge { limit } => write!(
                f,
                "body too large: the limit is {limit} bytes, compressed or decompressed"
            ),
            DecodeError::Gzip(e) => write!(f, "invalid gzip body: {e}"),
            DecodeError::Malformed(Encoding::Protobuf, e) => {
                write!(f, "malformed OTLP protobuf: {e}")
            }
            DecodeError::Malformed(Encoding::Json, e) => write!(f, "malformed OTLP/JSON: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes an OTLP/HTTP export body. A gzip body is inflated to at most
/// `limit` bytes (a gzip bomb never allocates more).
pub fn decode(
    body: &[u8],
    encoding: Encoding,
    gzip: bool,
    limit: usize,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    let inflated;
    let body = if gzip {
        let mut out = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        MultiGzDecoder::new(body)
            .take(cap)
            .read_to_end(&mut out)
            .map_err(|e| DecodeError::Gzip(e.to_string()))?;
        if out.len() > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        inflated = out;
        inflated.as_slice()
    } else {
        body
    };
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| DecodeError::Malformed(encoding, e.to_string())),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| DecodeError::Malformed(encoding, e.to_string())),
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
    pub(crate) name: Box<str>,
    pub(crate) status_message: Box<str>,
    pub(crate) source: Arc<Source>,
    /// Attributes and events: an OTLP `Span` message holding only those.
    pub(crate) details: Box<[u8]>,
}

impl StoredSpan {
    /// The span as the API shows it.
    pub(crate) fn to_span(&self, trace_id: &str) -> Span {
        let details = proto::Span::decode(&*self.details).unwrap_or_default();
        Span {
            trace_id: trace_id.to_owned(),
            span_id: hex(&self.span_id),
            parent_span_id: self.parent.as_ref().map(|p| hex(p)),
            name: self.name.to_string(),
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
            status_message: self.status_message.to_string(),
            service_name: self.source.service_name.to_string(),
            resource: self.source.resource.clone(),
            scope_name: self.source.scope_name.to_string(),
            transport: self.source.transport,
            path: self.source.path.to_string(),
        }
    }
}

/// Converts an export request into stored spans with their trace ids,
/// rejecting the whole request if an id has the wrong length (as the
/// OpenTelemetry Collector does).
pub(crate) fn convert(
    request: ExportTraceServiceRequest,
    transport: Transport,
    path: &str,
) -> Result<Vec<(TraceId, StoredSpan)>, String> {
    let path: Arc<str> = Arc::from(path);
    let count = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let mut out = Vec::with_capacity(count);
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|r| attributes_to_map(&r.attributes))
            .unwrap_or_default();
        let service_name: Arc<str> = resource
            .get("service.name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .into();
        let resource = Arc::new(resource);
        for scope_spans in resource_spans.scope_spans {
            let source = Arc::new(Source {
                service_name: service_name.clone(),
                resource: resource.clone(),
                scope_name: scope_spans.scope.map(|s| s.name).unwrap_or_default().into(),
                transport,
                path: path.clone(),
            });
            for span in scope_spans.spans {
                out.push(stored(span, &source)?);
            }
        }
    }
    Ok(out)
}

fn stored(mut span: proto::Span, source: &Arc<Source>) -> Result<(TraceId, StoredSpan), String> {
    let described =
        |span: &proto::Span| format!("span {:?}", crate::text::one_line(&span.name, 80));
    let trace_id: TraceId = span.trace_id.as_slice().try_into().map_err(|_| {
        format!(
            "{}: trace id must be 16 bytes, got {}",
            described(&span),
            span.trace_id.len()
        )
    })?;
    let span_id: SpanId = span.span_id.as_slice().try_into().map_err(|_| {
        format!(
            "{}: span id must be 8 bytes, got {}",
            described(&span),
            span.span_id.len()
        )
    })?;
    let parent = match span.parent_span_id.len() {
        0 => None,
        8 => span.parent_span_id.as_slice().try_into().ok(),
        n => {
            return Err(format!(
                "{}: parent span id must be 8 bytes or empty, got {n}",
                described(&span)
            ));
        }
    };
    let details = proto::Span {
        attributes: std::mem::take(&mut span.attributes),
        events: std::mem::take(&mut span.events),
        ..Default::default()
    }
    .encode_to_vec()
    .into_boxed_slice();
    let status = span.status.unwrap_or_default();
    Ok((
        trace_id,
        StoredSpan {
            span_id,
            parent,
            kind: SpanKind::from_otlp(span.kind),
            status: StatusCode::from_otlp(status.code),
            start: span.start_time_unix_nano,
            end: span.end_time_unix_nano,
            name: span.name.into_boxed_str(),
            status_message: status.message.into_boxed_str(),
            source: source.clone(),
            details,
        },
    ))
}

/// Every span of an export request as the API would show it: decoding and
/// conversion in one call, for scripts and the fuzz targets.
pub fn spans(
    request: ExportTraceServiceRequest,
    transport: Transport,
    path: &str,
) -> Result<Vec<Span>, String> {
    Ok(convert(request, transport, path)?
        .iter()
        .map(|(trace_id, span)| span.to_span(&hex(trace_id)))
        .collect())
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

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4096);
        assert_eq!(
            decode(&bomb, Encoding::Protobuf, true, 64 * 1024),
            Err(DecodeError::TooLarge { limit: 64 * 1024 })
        );
    }
}
