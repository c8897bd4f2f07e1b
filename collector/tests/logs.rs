//! OTLP logs: records sent over OTLP/HTTP (protobuf, JSON, gzip) and
//! OTLP/gRPC reach their trace and span, trace-less ones their own list,
//! within the bounds; a path ending in /v1/logs is logs, any other traces;
//! the printed tree shows a span's records under it. Real sockets, OTLP
//! requests built by hand.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use collector::{Collector, CollectorConfig, GRPC_LOGS_EXPORT_PATH, Signal, Transport};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde_json::{Value, json};
use support::*;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataValue;

const WAIT: Duration = Duration::from_secs(10);
/// The child span of [`two_spans`].
const CHILD_ID: [u8; 8] = [2; 8];
/// The start of the spans `support::span` makes: 1 s after the epoch.
const SPAN_START: u64 = 1_000_000_000;
const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");

async fn start_with(config: CollectorConfig) -> (Collector, SocketAddr) {
    let collector = Collector::start(config)
        .await
        .expect("starting the collector");
    let ui = collector.ui_addr().expect("the web view is on");
    (collector, ui)
}

async fn start() -> (Collector, SocketAddr) {
    start_with(CollectorConfig::ephemeral()).await
}

/// A record at `ms` milliseconds after the spans' start.
fn record(trace: &[u8], span: &[u8], ms: u64, severity: i32, body: &str) -> LogRecord {
    LogRecord {
        time_unix_nano: SPAN_START + ms * 1_000_000,
        observed_time_unix_nano: SPAN_START + ms * 1_000_000 + 5,
        severity_number: severity,
        severity_text: String::new(),
        body: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
            value: Some(
                opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(body.into()),
            ),
        }),
        trace_id: trace.to_vec(),
        span_id: span.to_vec(),
        ..Default::default()
    }
}

/// One resource (with `service.name`) and one scope holding `records`.
fn logs_export(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![string_attr("service.name", service)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "log-scope".into(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn post_logs(addr: SocketAddr, request: &ExportLogsServiceRequest) -> HttpResponse {
    post(addr, "/v1/logs", &[PROTOBUF], &request.encode_to_vec()).await
}

/// `main` (the root, `SPAN_ID`) and its child `GetUser` (`CHILD_ID`).
async fn two_spans(collector: &Collector) {
    send(
        collector.http_addr(),
        "svc",
        vec![
            span(&TRACE_ID, &SPAN_ID, None, "main"),
            span(&TRACE_ID, &CHILD_ID, Some(&SPAN_ID), "GetUser"),
        ],
    )
    .await;
}

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let response = get(addr, path, &[]).await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", response.text()))
}

/// The span called `name` in the JSON of `/api/traces/{id}`.
fn span_json<'a>(trace: &'a Value, name: &str) -> &'a Value {
    trace["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no span {name} in {trace:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_over_http_protobuf_reach_their_span_in_the_api() {
    let (collector, ui) = start().await;
    two_spans(&collector).await;
    let mut not_found = record(&TRACE_ID, &CHILD_ID, 12, 9, "GetUser(1): not found");
    not_found.attributes.push(int_attr("user.id", 1));
    let request = logs_export(
        "svc",
        vec![
            not_found,
            record(&TRACE_ID, &SPAN_ID, 400, 13, "slow"),
            record(&TRACE_ID, &SPAN_ID, 100, 17, "earlier"),
            record(&TRACE_ID, &[9; 8], 200, 9, "of a span never seen"),
            record(&TRACE_ID, &[], 300, 9, "of no span"),
        ],
    );
    let response = post(
        collector.http_addr(),
        "/v1/logs",
        &[PROTOBUF, ("Authorization", "Bearer logs-token")],
        &request.encode_to_vec(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/x-protobuf")
    );
    let answer = ExportLogsServiceResponse::decode(response.body.as_slice()).expect("an answer");
    assert_eq!(answer.partial_success, None, "all accepted");
    assert_eq!(collector.span_count(), 2, "no span came of it");

    let trace = get_json(ui, &format!("/api/traces/{TRACE_ID_HEX}")).await;
    assert_eq!(
        span_json(&trace, "GetUser")["logs"],
        json!([{
            "time_unix_nano": SPAN_START + 12_000_000,
            "offset_nanos": 12_000_000,
            "severity": "INFO",
            "severity_number": 9,
            "body": "GetUser(1): not found",
            "attributes": {"user.id": 1},
        }])
    );
    let main: Vec<&Value> = span_json(&trace, "main")["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| &l["body"])
        .collect();
    assert_eq!(main, ["earlier", "slow"], "in time order");
    assert_eq!(span_json(&trace, "main")["logs"][0]["severity"], "ERROR");
    let unattached: Vec<(&Value, &Value)> = trace["logs"]
        .as_array()
        .expect("the trace's own logs")
        .iter()
        .map(|l| (&l["body"], &l["span_id"]))
        .collect();
    assert_eq!(
        unattached,
        [
            (&json!("of a span never seen"), &json!("09".repeat(8))),
            (&json!("of no span"), &Value::Null),
        ]
    );
    assert_eq!(trace["logs"][0]["service_name"], "svc");
    assert_eq!(trace["log_records"], 5);

    let list = get_json(ui, "/api/traces").await;
    assert_eq!(list["traces"][0]["log_records"], 5);
    assert_eq!(list["traces"][0]["span_count"], 2, "existing fields kept");

    // The library sees the same.
    let stored = collector.trace(TRACE_ID_HEX).expect("the trace");
    let get_user = stored.span_named("GetUser").expect("GetUser");
    let logs = stored.logs_of(get_user);
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].body, "GetUser(1): not found");
    assert_eq!(logs[0].trace_id.as_deref(), Some(TRACE_ID_HEX));
    assert_eq!(logs[0].span_id.as_deref(), Some(get_user.span_id.as_str()));
    assert_eq!(logs[0].scope_name, "log-scope");
    assert_eq!(stored.unattached_logs().len(), 2);
    let request = collector.requests().pop().expect("the logs request");
    assert_eq!(
        (request.signal, request.transport, request.path.as_str()),
        (Signal::Logs, Transport::HttpProtobuf, "/v1/logs")
    );
    assert_eq!((request.span_count, request.log_record_count), (0, 5));
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Bearer logs-token")
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_otlp_json_with_hex_ids_on_a_vendor_path_are_stored() {
    let (collector, _ui) = start().await;
    two_spans(&collector).await;
    let child = "02".repeat(8);
    // As the OTLP spec writes it: camelCase, hex ids, 64-bit integers as
    // strings, the severity as a number; a body that is not a string.
    let body = format!(
        r#"{{"resourceLogs":[{{
            "resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"json-svc"}}}}]}},
            "scopeLogs":[{{"scope":{{"name":"manual"}},"logRecords":[
                {{"timeUnixNano":"1012000000","severityNumber":13,"severityText":"Warning",
                  "traceId":"{TRACE_ID_HEX}","spanId":"{child}",
                  "body":{{"kvlistValue":{{"values":[{{"key":"user","value":{{"intValue":"1"}}}}]}}}},
                  "attributes":[{{"key":"cache","value":{{"stringValue":"users"}}}}]}},
                {{"observedTimeUnixNano":"1020000000","traceId":"","spanId":"",
                  "body":{{"stringValue":"no trace"}}}}
            ]}}]
        }}]}}"#
    );
    let response = post(
        collector.http_addr(),
        "/adapt_x/api/otlp/v1/logs",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.text(), "{}");

    let trace = collector.trace(TRACE_ID_HEX).expect("the trace");
    let log = &trace.logs_of(trace.span_named("GetUser").expect("GetUser"))[0];
    assert_eq!(log.time_unix_nano, 1_012_000_000);
    assert_eq!(
        (log.severity.as_str(), log.severity_number),
        ("Warning", 13)
    );
    assert_eq!(log.body, r#"{"user":1}"#);
    assert_eq!(log.attr_str("cache"), Some("users"));
    assert_eq!(log.service_name, "json-svc");
    let lone = collector.logs();
    assert_eq!(lone.len(), 1);
    assert_eq!(
        (lone[0].body.as_str(), lone[0].time_unix_nano),
        ("no trace", 1_020_000_000),
        "the observed time stands in"
    );
    let request = collector.requests().pop().expect("the logs request");
    assert_eq!(
        (request.signal, request.transport),
        (Signal::Logs, Transport::HttpJson)
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_logs_are_stored() {
    let (collector, _ui) = start().await;
    two_spans(&collector).await;
    let request = logs_export("svc", vec![record(&TRACE_ID, &CHILD_ID, 1, 9, "zipped")]);
    let response = post(
        collector.http_addr(),
        "/v1/logs",
        &[PROTOBUF, ("Content-Encoding", "gzip")],
        &gzip(&request.encode_to_vec()),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let trace = collector.trace(TRACE_ID_HEX).expect("the trace");
    let logs = trace.logs_of(trace.span_named("GetUser").expect("GetUser"));
    assert_eq!(
        logs.iter().map(|l| l.body.as_str()).collect::<Vec<_>>(),
        ["zipped"]
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_over_grpc_reach_their_span_beside_the_trace_service() {
    let (collector, ui) = start().await;
    two_spans(&collector).await;
    let mut client = LogsServiceClient::connect(collector.grpc_endpoint())
        .await
        .expect("connecting to the collector")
        .send_compressed(CompressionEncoding::Gzip);
    let mut request = tonic::Request::new(logs_export(
        "grpc-svc",
        vec![record(&TRACE_ID, &CHILD_ID, 3, 17, "over gRPC")],
    ));
    request
        .metadata_mut()
        .insert("authentication", MetadataValue::from_static("token-123"));
    let answer = client.export(request).await.expect("export succeeds");
    assert_eq!(answer.into_inner().partial_success, None);

    let trace = get_json(ui, &format!("/api/traces/{TRACE_ID_HEX}")).await;
    let logs = &span_json(&trace, "GetUser")["logs"];
    assert_eq!(logs[0]["body"], "over gRPC");
    assert_eq!(logs[0]["severity"], "ERROR");
    let request = collector.requests().pop().expect("the logs request");
    assert_eq!(
        (request.signal, request.transport, request.path.as_str()),
        (Signal::Logs, Transport::Grpc, GRPC_LOGS_EXPORT_PATH)
    );
    assert_eq!(
        request.headers.get("authentication").map(String::as_str),
        Some("token-123")
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_grpc_logs_message_is_resource_exhausted() {
    let (collector, _ui) = start_with(CollectorConfig {
        max_grpc_message_bytes: 1024,
        ..CollectorConfig::ephemeral()
    })
    .await;
    let mut client = LogsServiceClient::connect(collector.grpc_endpoint())
        .await
        .expect("connecting to the collector");
    let big = "x".repeat(4096);
    let status = client
        .export(logs_export("svc", vec![record(&TRACE_ID, &[], 0, 9, &big)]))
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert_eq!(collector.log_count(), 0);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_grpc_logs_are_invalid_argument_and_metrics_unimplemented() {
    let (collector, _ui) = start().await;
    // Field 1 (resource_logs), length-delimited, claiming 100 bytes that never come.
    let status = grpc_raw(
        collector.grpc_endpoint(),
        GRPC_LOGS_EXPORT_PATH,
        vec![0x0a, 100, 1, 2],
    )
    .await
    .expect_err("rejected");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("malformed ExportLogsServiceRequest"),
        "{status:?}"
    );
    let answer = grpc_raw(collector.grpc_endpoint(), GRPC_LOGS_EXPORT_PATH, Vec::new())
        .await
        .expect("an empty export is fine");
    assert!(answer.is_empty(), "an empty ExportLogsServiceResponse");
    let status = grpc_raw(
        collector.grpc_endpoint(),
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Vec::new(),
    )
    .await
    .expect_err("not served");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    assert!(status.message().contains("LogsService"), "{status:?}");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_less_records_are_listed_by_api_logs_newest_last() {
    let (collector, ui) = start().await;
    let records = vec![
        record(&[], &[], 1, 9, "first"),
        record(&[0; 16], &[1; 8], 2, 13, "all-zero trace id"),
        record(&[7; 5], &[], 3, 17, "a trace id of the wrong length"),
    ];
    let response = post_logs(collector.http_addr(), &logs_export("lone-svc", records)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(collector.traces().is_empty(), "no trace made of them");

    let list = get_json(ui, "/api/logs").await;
    let bodies: Vec<&Value> = list["logs"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| &l["body"])
        .collect();
    assert_eq!(
        bodies,
        [
            "first",
            "all-zero trace id",
            "a trace id of the wrong length"
        ]
    );
    assert_eq!(list["total"], 3);
    assert_eq!(list["evicted_log_records"], 0);
    let first = &list["logs"][0];
    assert_eq!(first["service_name"], "lone-svc");
    assert_eq!(first["scope_name"], "log-scope");
    assert_eq!(first["trace_id"], Value::Null);
    assert_eq!(first["severity"], "INFO");

    let list = get_json(ui, "/api/logs?limit=1").await;
    assert_eq!(list["logs"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["logs"][0]["body"], "a trace id of the wrong length");
    assert_eq!(collector.logs().len(), 3);
    collector.shutdown().await;
}

/// The bodies `/api/logs?{query}` lists, oldest first.
async fn log_bodies(ui: SocketAddr, query: &str) -> Vec<String> {
    let list = get_json(ui, &format!("/api/logs?{query}")).await;
    list["logs"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_logs_filters_by_service_minimum_severity_and_body_text() {
    let (collector, ui) = start().await;
    let otlp = collector.http_addr();
    let sent = [
        ("api", vec![record(&[], &[], 1, 9, "Request handled")]),
        ("api", vec![record(&[], &[], 2, 13, "Disk almost FULL")]),
        ("db", vec![record(&[], &[], 3, 17, "disk full")]),
        ("db", vec![record(&[], &[], 4, 0, "no severity")]),
    ];
    for (service, records) in sent {
        let response = post_logs(otlp, &logs_export(service, records)).await;
        assert_eq!(response.status, 200, "{}", response.text());
    }
    assert_eq!(
        log_bodies(ui, "service=db").await,
        ["disk full", "no severity"]
    );
    assert_eq!(
        log_bodies(ui, "severity=WARN").await,
        ["Disk almost FULL", "disk full"]
    );
    assert_eq!(log_bodies(ui, "severity=error").await, ["disk full"]);
    assert_eq!(log_bodies(ui, "severity=17").await, ["disk full"]);
    // Any case, percent-encoded as a form sends it.
    assert_eq!(
        log_bodies(ui, "q=FULL").await,
        ["Disk almost FULL", "disk full"]
    );
    assert_eq!(
        log_bodies(ui, "q=almost%20full").await,
        ["Disk almost FULL"]
    );
    assert_eq!(
        log_bodies(ui, "q=DISK&service=api&severity=WARN").await,
        ["Disk almost FULL"]
    );
    // The limit keeps the newest of those that match.
    assert_eq!(log_bodies(ui, "q=disk&limit=1").await, ["disk full"]);
    let list = get_json(ui, "/api/logs?service=api&limit=1").await;
    assert_eq!(
        (list["total"].as_u64(), list["matched"].as_u64()),
        (Some(4), Some(2))
    );
    // Empty values are no condition, as in the trace search.
    assert_eq!(log_bodies(ui, "service=&q=").await.len(), 4);

    for (query, says) in [
        ("limit=many", "limit must be a whole number"),
        (
            "severity=loud",
            "severity must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL",
        ),
        (
            "level=WARN",
            "unknown parameter \"level\": /api/logs takes service, severity, q, limit",
        ),
    ] {
        let response = get(ui, &format!("/api/logs?{query}"), &[]).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        let json: Value = serde_json::from_slice(&response.body).expect("a JSON error");
        let error = json["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{query}: {error}");
    }
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_tells_logs_from_traces() {
    let (collector, _ui) = start().await;
    let otlp = collector.http_addr();
    let logs = logs_export("svc", vec![record(&TRACE_ID, &SPAN_ID, 1, 9, "a log")]);
    let traces = export("svc", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]);

    // Logs to /v1/logs: a record, never a span.
    let response = post_logs(otlp, &logs).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!((collector.span_count(), collector.log_count()), (0, 1));

    // The same bytes on a traces path are read as traces, and are not.
    let response = post(otlp, "/v1/traces", &[PROTOBUF], &logs.encode_to_vec()).await;
    assert_eq!(response.status, 400, "{}", response.text());
    // Spans on /v1/logs are not logs either, and the answer says why.
    let response = post(otlp, "/v1/logs", &[PROTOBUF], &traces.encode_to_vec()).await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("ExportLogsServiceRequest")
            && response.text().contains("/v1/logs"),
        "{}",
        response.text()
    );
    assert_eq!((collector.span_count(), collector.log_count()), (0, 1));

    // Traces still go anywhere else, and find their record.
    let response = post_export(otlp, &traces).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let trace = collector
        .wait_for_trace(|t| t.spans.len() == 1, WAIT)
        .await
        .expect("the trace");
    assert_eq!(
        trace.logs_of(&trace.spans[0]).len(),
        1,
        "the earlier record"
    );
    let signals: Vec<Signal> = collector.requests().iter().map(|r| r.signal).collect();
    assert_eq!(signals, [Signal::Logs, Signal::Traces]);
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_or_oversized_logs_body_is_rejected_clearly() {
    let (collector, _ui) = start_with(CollectorConfig {
        max_http_body_bytes: 1024,
        ..CollectorConfig::ephemeral()
    })
    .await;
    let otlp = collector.http_addr();
    let response = post(otlp, "/v1/logs", &[PROTOBUF], b"\xff\xff\xff not protobuf").await;
    assert_eq!(response.status, 400);
    let text = response.text();
    assert!(
        text.starts_with("malformed OTLP protobuf:") && text.contains("ExportLogsServiceRequest"),
        "{text}"
    );
    let response = post(
        otlp,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        br#"{"resourceLogs": 7}"#,
    )
    .await;
    assert_eq!(response.status, 400);
    assert!(
        response.text().starts_with("malformed OTLP/JSON:"),
        "{}",
        response.text()
    );
    let response = post(
        otlp,
        "/v1/logs",
        &[PROTOBUF, ("Content-Encoding", "gzip")],
        b"nope",
    )
    .await;
    assert_eq!(response.status, 400);
    assert!(response.text().contains("gzip"), "{}", response.text());

    let big = logs_export("svc", vec![record(&[], &[], 0, 9, &"x".repeat(4096))]);
    let response = post_logs(otlp, &big).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(collector.log_count(), 0);
    assert!(collector.requests().is_empty());
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_log_cap_evicts_the_oldest_with_a_count() {
    let (collector, ui) = start_with(CollectorConfig {
        max_logs: 5,
        ..CollectorConfig::ephemeral()
    })
    .await;
    two_spans(&collector).await;
    let otlp = collector.http_addr();
    // Two of the trace first, then six of no trace: the trace's go first.
    let in_trace = (0..2)
        .map(|i| record(&TRACE_ID, &SPAN_ID, i, 9, &format!("traced {i}")))
        .collect();
    assert_eq!(
        post_logs(otlp, &logs_export("svc", in_trace)).await.status,
        200
    );
    let lone = (0..6)
        .map(|i| record(&[], &[], i, 9, &format!("lone {i}")))
        .collect();
    let response = post_logs(otlp, &logs_export("svc", lone)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = ExportLogsServiceResponse::decode(response.body.as_slice()).expect("an answer");
    assert_eq!(
        answer.partial_success, None,
        "accepted; older ones made room"
    );

    assert_eq!(collector.log_count(), 5);
    let list = get_json(ui, "/api/logs").await;
    let bodies: Vec<&Value> = list["logs"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| &l["body"])
        .collect();
    assert_eq!(bodies, ["lone 1", "lone 2", "lone 3", "lone 4", "lone 5"]);
    assert_eq!(list["evicted_log_records"], 3);
    let traces = get_json(ui, "/api/traces").await;
    assert_eq!(traces["evicted_log_records"], 3);
    assert!(
        traces["traces"][0].get("log_records").is_none(),
        "no record left: {traces:#}"
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_past_its_log_limit_counts_what_it_dropped() {
    let (collector, ui) = start_with(CollectorConfig {
        max_logs_per_trace: 3,
        ..CollectorConfig::ephemeral()
    })
    .await;
    two_spans(&collector).await;
    let records = (0..5)
        .map(|i| record(&TRACE_ID, &SPAN_ID, i, 9, &format!("log {i}")))
        .collect();
    let response = post_logs(collector.http_addr(), &logs_export("svc", records)).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer = ExportLogsServiceResponse::decode(response.body.as_slice()).expect("an answer");
    let partial = answer.partial_success.expect("a partial success");
    assert_eq!(partial.rejected_log_records, 2);
    assert!(
        partial.error_message.contains("--max-logs-per-trace"),
        "{}",
        partial.error_message
    );

    // In JSON as well.
    let json_body = format!(
        r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[
            {{"timeUnixNano":"1","traceId":"{TRACE_ID_HEX}","body":{{"stringValue":"one more"}}}}
        ]}}]}}]}}"#
    );
    let response = post(
        collector.http_addr(),
        "/v1/logs",
        &[("Content-Type", "application/json")],
        json_body.as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(
        answer["partialSuccess"]["rejectedLogRecords"], 1,
        "{answer}"
    );

    let list = get_json(ui, "/api/traces").await;
    assert_eq!(list["traces"][0]["log_records"], 3);
    assert_eq!(list["traces"][0]["dropped_log_records"], 3);
    let trace = collector.trace(TRACE_ID_HEX).expect("the trace");
    assert_eq!((trace.logs.len(), trace.dropped_logs), (3, 3));
    let bodies: Vec<&str> = trace.logs.iter().map(|l| l.body.as_str()).collect();
    assert_eq!(bodies, ["log 0", "log 1", "log 2"], "the first ones stay");
    collector.shutdown().await;
}

const BIN: &str = env!("CARGO_BIN_EXE_collector");

#[test]
fn help_says_how_logs_are_told_from_traces() {
    let output = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(output.status.success());
    // Wrapped to the terminal: compared with single spaces.
    let help = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for text in [
        "--max-logs <N>",
        "--max-logs-per-trace <N>",
        "LogsService/Export",
        "a path ending in /v1/logs carries logs, any other path traces",
    ] {
        assert!(help.contains(text), "{text} missing from:\n{help}");
    }
}

/// The next stdout line, or a panic that shows what came.
fn next_line(stdout: &mpsc::Receiver<String>, limit: Duration) -> String {
    stdout.recv_timeout(limit).expect("a printed line")
}

#[test]
fn the_printed_tree_shows_log_records_under_their_span_and_late_ones_in_a_line() {
    let mut child = Command::new(BIN)
        .args(COLLECTOR_FREE_PORTS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the collector");
    let stdout = lines(child.stdout.take().expect("piped stdout"));
    let stderr = lines(child.stderr.take().expect("piped stderr"));
    let _running = Running(child);
    let timeout = Duration::from_secs(30);
    let banner: Vec<String> = std::iter::from_fn(|| stderr.recv_timeout(timeout).ok())
        .take_while(|line| !line.contains("# gRPC exporters"))
        .collect();
    let http = banner
        .iter()
        .find_map(|line| line.trim().strip_prefix("OTLP/HTTP"))
        .expect("the OTLP/HTTP line");
    // The banner wraps to the width: its words, joined, say it.
    let said = banner
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        said.contains("a path ending in /v1/logs carries logs, any other path traces"),
        "{said}"
    );
    let addr: SocketAddr = http
        .split_whitespace()
        .next()
        .and_then(|url| url.strip_prefix("http://"))
        .and_then(|addr| addr.parse().ok())
        .expect("the OTLP/HTTP address");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // The records come first, as a log exporter's shorter batch delay
    // often has them; the spans find them.
    let records = logs_export(
        "printed-svc",
        vec![record(
            &TRACE_ID,
            &CHILD_ID,
            12,
            9,
            "GetUser(1): not found\x1b[31m",
        )],
    );
    let response = runtime.block_on(post_logs(addr, &records));
    assert_eq!(response.status, 200, "{}", response.text());
    runtime.block_on(send(
        addr,
        "printed-svc",
        vec![
            span(&TRACE_ID, &CHILD_ID, Some(&SPAN_ID), "GetUser"),
            span(&TRACE_ID, &SPAN_ID, None, "main"),
        ],
    ));

    let header = next_line(&stdout, timeout);
    assert!(
        header.starts_with(&format!(
            "trace {TRACE_ID_HEX}  2 spans  services: printed-svc  1 log record"
        )),
        "{header}"
    );
    let tree: Vec<String> = (0..3).map(|_| next_line(&stdout, timeout)).collect();
    assert_eq!(
        tree,
        [
            "  main [printed-svc] 500.00 ms internal  via http/protobuf /v1/traces",
            "    GetUser [printed-svc] 500.00 ms internal  via http/protobuf /v1/traces",
            "      · +12.00 ms INFO GetUser(1): not found\\u{1b}[31m",
        ]
    );
    assert_eq!(next_line(&stdout, timeout), "", "the tree ends");

    // One more record after the print: one line, not a second tree.
    let late = logs_export(
        "printed-svc",
        vec![record(&TRACE_ID, &SPAN_ID, 20, 13, "late")],
    );
    let response = runtime.block_on(post_logs(addr, &late));
    assert_eq!(response.status, 200, "{}", response.text());
    let line = next_line(&stdout, timeout);
    assert!(
        line.starts_with(&format!("trace {TRACE_ID_HEX}  +1 log record "))
            && line.contains("after it was printed: WARN late"),
        "{line}"
    );
}

#[test]
fn records_of_no_span_and_of_no_trace_are_listed_and_printed() {
    let mut command = Command::new(BIN);
    command.args(COLLECTOR_FREE_PORTS);
    let (_running, stdout, stderr) = Running::printing(command);
    let timeout = Duration::from_secs(30);
    let http = banner_addr(&stderr, "OTLP/HTTP", timeout);
    let ui = banner_addr(&stderr, "web view", timeout);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // What an example sends when its sampler drops every span: records
    // with a trace id and no span ever; and one record of no trace at all.
    let only_logs = logs_export(
        "sampled-out",
        vec![
            record(&TRACE_ID, &SPAN_ID, 1, 9, "user 1 found"),
            record(&TRACE_ID, &SPAN_ID, 2, 13, "cache miss"),
        ],
    );
    let no_trace = logs_export(
        "startup",
        vec![record(&[], &[], 0, 9, "listening on :8000")],
    );
    for request in [&only_logs, &no_trace] {
        let response = runtime.block_on(post_logs(http, request));
        assert_eq!(response.status, 200, "{}", response.text());
    }

    let list = runtime.block_on(get_json(ui, "/api/traces"));
    let summary = &list["traces"][0];
    assert_eq!(summary["trace_id"], TRACE_ID_HEX, "{list:#}");
    assert_eq!(summary["logs_only"], true, "{summary:#}");
    assert_eq!(
        (
            summary["span_count"].as_u64(),
            summary["log_records"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(summary["services"], json!(["sampled-out"]));
    let trace = runtime.block_on(get_json(ui, &format!("/api/traces/{TRACE_ID_HEX}")));
    assert_eq!(trace["logs"].as_array().map(Vec::len), Some(2), "{trace:#}");
    let logs = runtime.block_on(get_json(ui, "/api/logs"));
    assert_eq!(logs["logs"][0]["body"], "listening on :8000");

    // Printed: the record of no trace at once, the trace of records once
    // it has given up waiting for spans.
    let printed: Vec<String> = (0..4).map(|_| next_line(&stdout, timeout)).collect();
    assert_eq!(
        printed[0],
        "log (no trace)  [startup] INFO listening on :8000"
    );
    assert!(
        printed[1].starts_with(&format!(
            "trace {TRACE_ID_HEX}  2 log records, no span  services: sampled-out"
        )),
        "{printed:#?}"
    );
    assert!(
        printed[2].ends_with("· +0 ns INFO user 1 found  [sampled-out]"),
        "{printed:#?}"
    );
    assert!(
        printed[3].ends_with("· +1.00 ms WARN cache miss  [sampled-out]"),
        "{printed:#?}"
    );
}
