//! Stored spans back to OTLP: one trace as an export request, its spans
//! under the resources and scopes they came with.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1 as proto;

use crate::stored::{ResourceOrigin, Source, StoredSpan, TraceId};

/// The spans of one trace as an OTLP export request, the way they came:
/// spans of one resource and scope of one request stay together under
/// their resource and scope (attributes with their OTLP types, schema
/// URLs, dropped counts). Serialized with serde, it is the OTLP/JSON
/// encoding (hex ids), which any OTLP receiver takes back.
pub(crate) fn export<'a>(
    trace_id: &TraceId,
    spans: impl IntoIterator<Item = &'a StoredSpan>,
) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<proto::ResourceSpans> = Vec::new();
    // The origin of the last resource and scope added to.
    let mut last: Option<(*const ResourceOrigin, *const Source)> = None;
    for span in spans {
        let source = &span.source;
        let resource_ptr = Arc::as_ptr(&source.otlp);
        let source_ptr = Arc::as_ptr(source);
        let same_resource = last.is_some_and(|(r, _)| r == resource_ptr);
        let same_scope = last.is_some_and(|(_, s)| s == source_ptr);
        if !same_resource {
            resource_spans.push(proto::ResourceSpans {
                resource: source.otlp.resource.clone(),
                scope_spans: Vec::new(),
                schema_url: source.otlp.schema_url.clone(),
            });
        }
        let Some(resource) = resource_spans.last_mut() else {
            continue;
        };
        if !same_scope || !same_resource {
            resource.scope_spans.push(proto::ScopeSpans {
                scope: source.scope.scope.clone(),
                spans: Vec::new(),
                schema_url: source.scope.schema_url.clone(),
            });
        }
        if let Some(scope) = resource.scope_spans.last_mut() {
            scope.spans.push(span.to_otlp(trace_id));
        }
        last = Some((resource_ptr, source_ptr));
    }
    ExportTraceServiceRequest { resource_spans }
}
