//! Helpers shared by the integration tests: OTLP requests built by hand, a
//! minimal HTTP/1.1 client (one request per connection), and the collector
//! binary run as a child process.

#![allow(dead_code, unreachable_pub, unused_imports)] // each test binary uses a different subset

use std::io::Write as _;
use std::process::Child;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

pub const TRACE_ID: [u8; 16] = [
    0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c,
];
pub const TRACE_ID_HEX: &str = "5b8efff798038103d269b633813fc60c";
pub const SPAN_ID: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74];
pub const SPAN_ID_HEX: &str = "eee19b7ec3c1b174";

pub fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn int_attr(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A span of `service` with start 1 s and end 1.5 s after the epoch.
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

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// A child process (the collector binary), killed even when an assertion
/// fails.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub use testkit::process::{banner_addr, lines};

/// The raw HTTP/1.1 client every test here uses.
pub use testkit::http::{HttpResponse, http_request, post};
