//! Stored spans and log records back to OTLP: one trace's spans, or log
//! records, as an export request, under the resources and scopes they came
//! with.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1 as logs_proto;
use opentelemetry_proto::tonic::trace::v1 as proto;

use crate::stored::{Source, StoredLog, StoredSpan, TraceId};

/// The spans of one trace as an OTLP export request, the way they came:
/// spans of one resource and scope of one request stay together under
/// their resource and scope (attributes with their OTLP types, schema
/// URLs, dropped counts). Serialized with serde, it is the OTLP/JSON
/// encoding (hex ids), which any OTLP receiver takes back.
pub(crate) fn export<'a>(
    trace_id: &TraceId,
    spans: impl IntoIterator<Item = &'a StoredSpan>,
) -> ExportTraceServiceRequest {
    let resource_spans = nest(
        spans,
        |span| &span.source,
        |source| proto::ResourceSpans {
            resource: source.otlp.resource.clone(),
            scope_spans: Vec::new(),
            schema_url: source.otlp.schema_url.clone(),
        },
        |source| proto::ScopeSpans {
            scope: source.scope.scope.clone(),
            spans: Vec::new(),
            schema_url: source.scope.schema_url.clone(),
        },
        |resource| &mut resource.scope_spans,
        |scope, span| scope.spans.push(span.to_otlp(trace_id)),
    );
    ExportTraceServiceRequest { resource_spans }
}

/// Log records as an OTLP logs export request, the way they came, as
/// [`export`] does spans. Each record's trace id is `trace_id` (`None`: of
/// no trace).
pub(crate) fn logs<'a>(
    records: impl IntoIterator<Item = &'a StoredLog>,
    trace_id: Option<&TraceId>,
) -> ExportLogsServiceRequest {
    let resource_logs = nest(
        records,
        |record| &record.source,
        |source| logs_proto::ResourceLogs {
            resource: source.otlp.resource.clone(),
            scope_logs: Vec::new(),
            schema_url: source.otlp.schema_url.clone(),
        },
        |source| logs_proto::ScopeLogs {
            scope: source.scope.scope.clone(),
            log_records: Vec::new(),
            schema_url: source.scope.schema_url.clone(),
        },
        |resource| &mut resource.scope_logs,
        |scope, record| scope.log_records.push(record.to_otlp(trace_id)),
    );
    ExportLogsServiceRequest { resource_logs }
}

/// `items` under their resources and scopes: a new resource each time the
/// resource changes from one item to the next, a new scope each time the
/// source does (the resource is shared by the scopes of a request).
fn nest<'a, T: 'a, R, S>(
    items: impl IntoIterator<Item = &'a T>,
    source_of: impl Fn(&'a T) -> &'a Arc<Source>,
    resource: impl Fn(&Source) -> R,
    scope: impl Fn(&Source) -> S,
    scopes_of: impl Fn(&mut R) -> &mut Vec<S>,
    mut push: impl FnMut(&mut S, &'a T),
) -> Vec<R> {
    let mut resources: Vec<R> = Vec::new();
    let mut last: Option<&'a Arc<Source>> = None;
    for item in items {
        let source = source_of(item);
        let same_resource = last.is_some_and(|l| Arc::ptr_eq(&l.otlp, &source.otlp));
        let same_scope = last.is_some_and(|l| Arc::ptr_eq(l, source));
        if !same_resource {
            resources.push(resource(source));
        }
        let Some(current) = resources.last_mut() else {
            continue;
        };
        let scopes = scopes_of(current);
        if !same_scope || !same_resource {
            scopes.push(scope(source));
        }
        if let Some(current) = scopes.last_mut() {
            push(current, item);
        }
        last = Some(source);
    }
    resources
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;

    use super::*;
    use crate::model::Transport;
    use crate::stored::{Cut, convert_logs};

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    #[test]
    fn log_records_go_out_as_they_came() {
        use any_value::Value as V;
        let trace_id = [7u8; 16];
        let record = |body: V, severity_text: &str| logs_proto::LogRecord {
            time_unix_nano: 0,
            observed_time_unix_nano: 42,
            severity_number: 13,
            severity_text: severity_text.into(),
            body: Some(AnyValue { value: Some(body) }),
            attributes: vec![
                kv("n", V::IntValue(3)),
                kv("raw", V::BytesValue(vec![0, 255])),
            ],
            dropped_attributes_count: 2,
            flags: 1,
            trace_id: trace_id.to_vec(),
            span_id: vec![8; 8],
            event_name: "disk.full".into(),
        };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![logs_proto::ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", V::StringValue("svc".into())),
                        kv("host.name", V::StringValue("box".into())),
                    ],
                    dropped_attributes_count: 1,
                    entity_refs: Vec::new(),
                }),
                scope_logs: vec![logs_proto::ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        version: "2".into(),
                        ..Default::default()
                    }),
                    log_records: vec![
                        record(V::StringValue("text".into()), ""),
                        record(
                            V::KvlistValue(KeyValueList {
                                values: vec![kv("user", V::IntValue(1))],
                            }),
                            "warning",
                        ),
                    ],
                    schema_url: "s".into(),
                }],
                schema_url: "r".into(),
            }],
        };
        let cut = Cut { max_bytes: 1 << 16 };
        let runs = convert_logs(request.clone(), Transport::Grpc, "/", cut);
        let records: Vec<&StoredLog> = runs.iter().flat_map(|(_, run)| run.iter()).collect();
        assert_eq!(logs(records, Some(&trace_id)), request);
    }
}
