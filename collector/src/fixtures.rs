//! The span and the trace the collector's unit tests build from (compiled
//! for those tests only; the integration tests and the other crates use
//! `testkit`).

use std::sync::Arc;

use crate::model::{Attributes, Span, SpanKind, StatusCode, Trace, Transport};

/// The trace id of every fixture.
pub(crate) const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

/// Span `id` (its name too) of `parent`, from `start` to `end` (ns): an
/// internal span of `svc` with no attributes, received over OTLP/HTTP.
pub(crate) fn span(id: &str, parent: Option<&str>, start: u64, end: u64) -> Span {
    Span {
        trace_id: TRACE_ID.into(),
        span_id: id.into(),
        parent_span_id: parent.map(Into::into),
        name: id.into(),
        kind: SpanKind::Internal,
        start_unix_nano: start,
        end_unix_nano: end,
        attributes: Attributes::new(),
        events: vec![],
        status_code: StatusCode::Unset,
        status_message: String::new(),
        service_name: "svc".into(),
        resource: Arc::default(),
        scope_name: String::new(),
        transport: Transport::HttpProtobuf,
        path: "/v1/traces".into(),
        links: Vec::new(),
        linked_from: Vec::new(),
    }
}

/// A trace of `spans`, with no log records.
pub(crate) fn trace(spans: Vec<Span>) -> Trace {
    Trace {
        trace_id: TRACE_ID.into(),
        spans,
        dropped_spans: 0,
        logs: vec![],
        dropped_logs: 0,
    }
}
