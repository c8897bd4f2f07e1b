//! OTLP requests built by hand for the collector's tests and the browser
//! test: fixed ids, attributes, spans, one export request, and its POST to
//! a collector's `/v1/traces`.

use std::net::SocketAddr;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

use crate::http::{HttpResponse, post};

pub const TRACE_ID: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
pub const TRACE_ID_HEX: &str = "5b8efff798038103d269b633813fc60c";
pub const SPAN_ID: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74];
pub const SPAN_ID_HEX: &str = "eee19b7ec3c1b174";

pub fn string_attr(key: &str, value: &str) -> KeyValue {
    attr(key, any_value::Value::StringValue(value.into()))
}

pub fn int_attr(key: &str, value: i64) -> KeyValue {
    attr(key, any_value::Value::IntValue(value))
}

fn attr(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// An internal span with start 1 s and end 1.5 s after the epoch.
pub fn span(trace_id: &[u8], span_id: &[u8], parent: Option<&[u8]>, name: &str) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.map(<[u8]>::to_vec).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: 1_000_000_000,
        end_time_unix_nano: 1_500_000_000,
        ..Default::default()
    }
}

/// A span with id `[id; 8]` (parent `[parent; 8]`) starting `start_ms` and
/// ending `end_ms` after second 1000 of the epoch.
pub fn timed(
    trace: &[u8],
    id: u8,
    parent: Option<u8>,
    name: &str,
    start_ms: u64,
    end_ms: u64,
) -> Span {
    let parent = parent.map(|p| [p; 8]);
    let mut s = span(trace, &[id; 8], parent.as_ref().map(|p| &p[..]), name);
    s.start_time_unix_nano = 1_000_000_000_000 + start_ms * 1_000_000;
    s.end_time_unix_nano = 1_000_000_000_000 + end_ms * 1_000_000;
    s
}

/// One resource (with `service.name`) and one scope holding `spans`.
pub fn export(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test-scope".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `request` as protobuf in a POST to `/v1/traces` of the OTLP/HTTP
/// receiver at `addr`; the answer, whatever it is.
pub async fn post_export(addr: SocketAddr, request: &ExportTraceServiceRequest) -> HttpResponse {
    post(
        addr,
        "/v1/traces",
        &[("Content-Type", "application/x-protobuf")],
        &request.encode_to_vec(),
    )
    .await
}

/// Sends `spans` of `service` to the OTLP/HTTP receiver at `addr` and
/// checks that they were accepted (200).
pub async fn send(addr: SocketAddr, service: &str, spans: Vec<Span>) {
    let response = post_export(addr, &export(service, spans)).await;
    assert_eq!(response.status, 200, "{}", response.text());
}
