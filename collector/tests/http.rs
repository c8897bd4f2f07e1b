//! OTLP/HTTP receiver, driven over real sockets with a raw HTTP/1.1 client.

mod support;

use std::time::Duration;

use collector::{Collector, CollectorConfig, SpanKind, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use support::*;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> Collector {
    Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector")
}

async fn start_with_limit(max_http_body_bytes: usize) -> Collector {
    Collector::start(CollectorConfig {
        max_http_body_bytes,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector")
}

fn protobuf_request() -> Vec<u8> {
    let mut root = span(&TRACE_ID, &SPAN_ID, None, "main");
    root.attributes.push(int_attr("user.id", 1));
    export("proto-svc", vec![root]).encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_json_on_a_vendor_path_is_stored() {
    let collector = start().await;
    // Written by hand as the OTLP spec shows it: camelCase, hex ids, 64-bit
    // integers as strings, `kind` as a number.
    let body = format!(
        r#"{{"resourceSpans":[{{
            "resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"json-svc"}}}}]}},
            "scopeSpans":[{{"scope":{{"name":"manual"}},"spans":[{{
                "traceId":"{TRACE_ID_HEX}","spanId":"{SPAN_ID_HEX}","parentSpanId":"",
                "name":"GetUser","kind":2,
                "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712660012500000",
                "attributes":[
                    {{"key":"user.id","value":{{"intValue":"1"}}}},
                    {{"key":"http.route","value":{{"stringValue":"/user"}}}}
                ],
                "events":[{{"timeUnixNano":"1544712660001000000","name":"cache miss","attributes":[]}}],
                "status":{{"code":2,"message":"boom"}}
            }}]}}]
        }}]}}"#
    );
    let response = post(
        collector.http_addr(),
        "/adapt_x/api/otlp/traces",
        &[
            ("Content-Type", "application/json"),
            ("Authentication", "secret-token"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text(), "{}");

    let spans = collector.wait_for_spans(1, WAIT).await.expect("the span");
    let span = &spans[0];
    assert_eq!(span.trace_id, TRACE_ID_HEX);
    assert_eq!(span.span_id, SPAN_ID_HEX);
    assert_eq!(span.parent_span_id, None);
    assert_eq!(span.name, "GetUser");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.attr_i64("user.id"), Some(1));
    assert_eq!(span.attr_str("http.route"), Some("/user"));
    assert_eq!(span.service_name, "json-svc");
    assert_eq!(span.scope_name, "manual");
    assert_eq!(span.duration(), Duration::from_micros(12_500));
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "cache miss");
    assert_eq!(
        (span.status_code.as_str(), span.status_message.as_str()),
        ("error", "boom")
    );
    assert_eq!(span.transport, Transport::HttpJson);
    assert_eq!(span.path, "/adapt_x/api/otlp/traces");

    let requests = collector.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].transport, Transport::HttpJson);
    assert_eq!(requests[0].path, "/adapt_x/api/otlp/traces");
    assert_eq!(requests[0].span_count, 1);
    assert_eq!(
        requests[0]
            .headers
            .get("authentication")
            .map(String::as_str),
        Some("secret-token")
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_protobuf_is_stored_and_answered_in_protobuf() {
    let collector = start().await;
    let response = post(
        collector.http_addr(),
        "/v1/traces",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "gzip"),
        ],
        &gzip(&protobuf_request()),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/x-protobuf")
    );
    ExportTraceServiceResponse::decode(response.body.as_slice()).expect("a protobuf response");

    let trace = collector
        .wait_for_trace(|t| t.span_named("main").is_some(), WAIT)
        .await
        .expect("the trace");
    assert_eq!(trace.trace_id, TRACE_ID_HEX);
    let root = trace.root().expect("a root span");
    assert_eq!(root.name, "main");
    assert_eq!(root.attr_i64("user.id"), Some(1));
    assert_eq!(root.service_name, "proto-svc");
    assert_eq!(root.transport, Transport::HttpProtobuf);
    assert_eq!(root.path, "/v1/traces");

    let request = &collector.requests()[0];
    assert_eq!(request.transport, Transport::HttpProtobuf);
    assert_eq!(
        request.headers.get("content-encoding").map(String::as_str),
        Some("gzip")
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_parameters_and_case_are_ignored() {
    let collector = start().await;
    let response = post(
        collector.http_addr(),
        "/v1/traces",
        &[("Content-Type", "Application/X-Protobuf; charset=binary")],
        &protobuf_request(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    collector.shutdown().await;
}

/// Posts and checks the status and that the message names the problem.
async fn assert_rejected(
    collector: &Collector,
    headers: &[(&str, &str)],
    body: &[u8],
    status: u16,
    message: &str,
) {
    let response = post(collector.http_addr(), "/v1/traces", headers, body).await;
    assert_eq!(response.status, status, "{}", response.text());
    assert!(
        response.text().contains(message),
        "expected {message:?} in {:?}",
        response.text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses() {
    let collector = start_with_limit(16 * 1024).await;
    let proto = [("Content-Type", "application/x-protobuf")];
    let json = [("Content-Type", "application/json")];
    let gzip_proto = [
        ("Content-Type", "application/x-protobuf"),
        ("Content-Encoding", "gzip"),
    ];

    assert_rejected(
        &collector,
        &proto,
        &[0xff, 0xff, 0xff, 0xff],
        400,
        "malformed OTLP protobuf",
    )
    .await;
    assert_rejected(
        &collector,
        &json,
        b"{\"resourceSpans\": [",
        400,
        "malformed OTLP/JSON",
    )
    .await;
    assert_rejected(
        &collector,
        &json,
        b"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\"}]}]}]}",
        400,
        "malformed OTLP/JSON",
    )
    .await;
    assert_rejected(
        &collector,
        &[("Content-Type", "text/plain")],
        b"hello",
        415,
        "text/plain",
    )
    .await;
    assert_rejected(&collector, &[], b"hello", 415, "content type").await;
    assert_rejected(&collector, &proto, &vec![0u8; 32 * 1024], 413, "too large").await;
    assert_rejected(&collector, &gzip_proto, b"definitely not gzip", 400, "gzip").await;
    assert_rejected(
        &collector,
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "br"),
        ],
        &protobuf_request(),
        400,
        "content encoding br",
    )
    .await;

    // A gzip bomb: about 4 KiB that inflate to 4 MiB.
    let bomb = gzip(&vec![0u8; 4 * 1024 * 1024]);
    assert!(
        bomb.len() < 16 * 1024,
        "the bomb must fit the limit compressed"
    );
    assert_rejected(&collector, &gzip_proto, &bomb, 413, "too large").await;

    // Span ids of the wrong length.
    let short_trace = export("svc", vec![span(&[1, 2, 3], &SPAN_ID, None, "x")]).encode_to_vec();
    assert_rejected(
        &collector,
        &proto,
        &short_trace,
        400,
        "trace id must be 16 bytes",
    )
    .await;
    let short_span = export("svc", vec![span(&TRACE_ID, &[1], None, "x")]).encode_to_vec();
    assert_rejected(
        &collector,
        &proto,
        &short_span,
        400,
        "span id must be 8 bytes",
    )
    .await;

    assert!(collector.spans().is_empty());
    assert!(collector.requests().is_empty());
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_post_is_allowed() {
    let collector = start().await;
    let response = get(collector.http_addr(), "/v1/traces", &[]).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oldest_traces_are_evicted() {
    let collector = Collector::start(CollectorConfig {
        max_traces: 2,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector");
    for i in 1..=3u8 {
        let trace_id = [i; 16];
        let name = format!("trace-{i}");
        send(
            collector.http_addr(),
            "svc",
            vec![span(&trace_id, &[i; 8], None, &name)],
        )
        .await;
    }
    let names: Vec<String> = collector
        .traces()
        .iter()
        .map(|t| t.spans[0].name.clone())
        .collect();
    assert_eq!(names, ["trace-2", "trace-3"]);
    assert!(collector.trace(&"01".repeat(16)).is_none());
    assert!(collector.trace(&"03".repeat(16)).is_some());
    assert_eq!(collector.spans().len(), 2);
    assert_eq!(collector.requests().len(), 3);
    collector.shutdown().await;
}
