//! Search latency of the trace list (`GET /api/traces?...`, answered by
//! [`Collector::search`]) with 1,000 stored traces of 9 spans each (the
//! in-process example's shape: `main`, two `GetUser` with a `user.id`, three
//! children each), 10 resource attributes per service, one trace in ten
//! with an error.
//!
//! Run with
//!
//! ```text
//! cargo bench -p collector --bench search
//! ```
//!
//! A search is one pass over the traces, and over the spans only of the
//! traces the summary-level conditions (service, errors, duration) let
//! through; a span's attributes are decoded only when its name matches (or
//! no name is asked for).

use std::sync::LazyLock;

use collector::{Collector, CollectorConfig, TraceQuery, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message as _;

const TRACES: usize = 1000;

fn main() {
    divan::main();
}

/// A collector holding the traces, and the runtime it runs on.
static STORE: LazyLock<(tokio::runtime::Runtime, Collector)> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let collector = runtime
        .block_on(Collector::start(CollectorConfig {
            max_traces: TRACES,
            ..CollectorConfig::ephemeral()
        }))
        .expect("starting the collector");
    for n in 0..TRACES {
        let body = trace(n).encode_to_vec();
        collector
            .import(&body, Transport::HttpProtobuf)
            .expect("importing a trace");
    }
    assert_eq!(collector.summaries().len(), TRACES);
    (runtime, collector)
});

fn value(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn attribute(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value(v),
        ..Default::default()
    }
}

/// Trace `n`: 9 spans of service `svc-{n % 5}`, lasting `n % 100` ms + 1.
fn trace(n: usize) -> ExportTraceServiceRequest {
    use any_value::Value as V;
    let trace_id = {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
        id.to_vec()
    };
    let start = 1_700_000_000_000_000_000u64 + n as u64 * 1_000_000_000;
    let length = (n as u64 % 100 + 1) * 1_000_000;
    let mut spans = Vec::new();
    let mut id = 1u64;
    let mut span = |name: &str, parent: Option<u64>, from: u64, to: u64, user: Option<i64>| {
        let mut s = Span {
            trace_id: trace_id.clone(),
            span_id: id.to_be_bytes().to_vec(),
            parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
            name: name.into(),
            kind: 1,
            start_time_unix_nano: start + from * length / 10,
            end_time_unix_nano: start + to * length / 10,
            ..Default::default()
        };
        if let Some(user) = user {
            s.attributes.push(attribute("user.id", V::IntValue(user)));
        }
        id += 1;
        spans.push(s);
        id - 1
    };
    let root = span("main", None, 0, 10, None);
    for (user, at) in [(1, 0), (100 + (n as i64 % 50), 5)] {
        let get_user = span("GetUser", Some(root), at, at + 5, Some(user));
        for (i, child) in ["GetInfo", "GetDetail", "GetScores"]
            .into_iter()
            .enumerate()
        {
            let from = at + i as u64;
            span(child, Some(get_user), from, from + 1, Some(user));
        }
    }
    if n.is_multiple_of(10) {
        spans[1].status = Some(Status {
            code: 2,
            message: "no such user".into(),
        });
    }
    let mut resource: Vec<KeyValue> = (0..9)
        .map(|i| {
            attribute(
                &format!("host.attr{i}"),
                V::StringValue(format!("value-{i}")),
            )
        })
        .collect();
    resource.push(attribute(
        "service.name",
        V::StringValue(format!("svc-{}", n % 5)),
    ));
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "bench".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn search(pairs: &[(&str, &str)]) -> usize {
    let query = TraceQuery::from_pairs(pairs.iter().copied()).expect("a valid query");
    STORE.1.search(&query).len()
}

/// Every trace (the list with no search).
#[divan::bench]
fn all() -> usize {
    search(&[])
}

/// A service: summaries only.
#[divan::bench]
fn service() -> usize {
    search(&[("service", "svc-3")])
}

/// Errors and a duration range: summaries only.
#[divan::bench]
fn errors_and_duration() -> usize {
    search(&[
        ("errors", "true"),
        ("min_duration_ms", "20"),
        ("max_duration_ms", "80"),
    ])
}

/// A span name: every span's name, no attribute decoded.
#[divan::bench]
fn span_name() -> usize {
    search(&[("span", "GetUser")])
}

/// An attribute alone: every span's attributes decoded.
#[divan::bench]
fn attribute_only() -> usize {
    search(&[("attr", "user.id=120")])
}

/// A span name and its attribute: attributes of the matching spans only.
#[divan::bench]
fn span_and_attribute() -> usize {
    search(&[("span", "GetUser"), ("attr", "user.id=120")])
}

/// A resource attribute, with a service: the resource map, per span.
#[divan::bench]
fn service_and_resource_attribute() -> usize {
    search(&[("service", "svc-2"), ("attr", "host.attr3=value-3")])
}
