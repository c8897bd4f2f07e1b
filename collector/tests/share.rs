//! Sharing a trace: `GET /api/traces/{id}/otlp` exports it as OTLP/JSON,
//! which another collector's OTLP/HTTP receiver, the web view's upload
//! (`POST /api/traces`) and `collector --load FILE` take back, unchanged.
//! Other files (JSON Lines, logs, everything at once, large ones) are in
//! `files.rs`.

mod support;

use std::time::Duration;

use collector::{Collector, CollectorConfig, ExportTraceServiceRequest};
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Status,
    span::{Event, Link},
};
use support::*;

const WAIT: Duration = Duration::from_secs(10);
const TRACE: [u8; 16] = [0x5a; 16];

fn value(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn kv(key: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: value(v),
        ..Default::default()
    }
}

/// A trace of two services (two resources, one with two scopes), with
/// every field OTLP has: attributes of every type, events, links, trace
/// state, flags, status, kinds, schema URLs and dropped counts.
fn rich_trace() -> ExportTraceServiceRequest {
    use any_value::Value as V;
    let mut root = timed(&TRACE, 1, None, "StartRequests", 0, 30);
    root.kind = 3;
    root.trace_state = "vendor=x".into();
    root.flags = 0x101;
    root.attributes = vec![
        kv("s", V::StringValue("text".into())),
        kv("i", V::IntValue(-7)),
        kv("d", V::DoubleValue(2.5)),
        kv("b", V::BoolValue(true)),
        kv("raw", V::BytesValue(vec![0, 1, 0xfe])),
        kv(
            "list",
            V::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(V::IntValue(1)),
                }],
            }),
        ),
    ];
    root.dropped_attributes_count = 2;
    root.events.push(Event {
        time_unix_nano: root.start_time_unix_nano + 5,
        name: "retry".into(),
        attributes: vec![kv("attempt", V::IntValue(2))],
        dropped_attributes_count: 1,
    });
    root.dropped_events_count = 3;
    root.links.push(Link {
        trace_id: vec![9; 16],
        span_id: vec![9; 8],
        trace_state: "a=b".into(),
        attributes: vec![kv("why", V::StringValue("batch".into()))],
        dropped_attributes_count: 0,
        flags: 1,
    });
    root.dropped_links_count = 4;
    let mut inner = timed(&TRACE, 2, Some(1), "encode", 1, 2);
    inner.status = Some(Status {
        code: 1,
        message: String::new(),
    });
    let mut server = timed(&TRACE, 3, Some(1), "HelloHandler", 5, 25);
    server.kind = 2;
    server.status = Some(Status {
        code: 2,
        message: "no such user".into(),
    });
    let resource = |service: &str| {
        Some(Resource {
            attributes: vec![
                kv("service.name", V::StringValue(service.into())),
                kv("host.cores", V::IntValue(8)),
            ],
            dropped_attributes_count: 1,
            entity_refs: vec![],
        })
    };
    let scope = |name: &str| {
        Some(InstrumentationScope {
            name: name.into(),
            version: "0.31.0".into(),
            attributes: vec![kv("scope.kind", V::StringValue("lib".into()))],
            dropped_attributes_count: 0,
        })
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource("client"),
                scope_spans: vec![
                    ScopeSpans {
                        scope: scope("client-app"),
                        spans: vec![root],
                        schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                    },
                    ScopeSpans {
                        scope: scope("encoder"),
                        spans: vec![inner],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.27.0".into(),
            },
            ResourceSpans {
                resource: resource("server"),
                scope_spans: vec![ScopeSpans {
                    scope: scope("server-app"),
                    spans: vec![server],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        ],
    }
}

async fn start(config: CollectorConfig) -> Collector {
    Collector::start(config)
        .await
        .expect("starting a collector")
}

/// The trace's OTLP/JSON from `collector`'s web view.
/// [`rich_trace`] exported to `collector`, then downloaded: its trace id
/// and the file.
async fn stored_rich_trace(collector: &Collector) -> (String, Vec<u8>) {
    assert_eq!(
        post_export(collector.http_addr(), &rich_trace())
            .await
            .status,
        200
    );
    collector.wait_for_spans(3, WAIT).await.expect("3 spans");
    let id = "5a".repeat(16);
    let json = download(collector, &id).await;
    (id, json)
}

async fn download(collector: &Collector, trace_id: &str) -> Vec<u8> {
    let ui = collector.ui_addr().expect("the web view is on");
    let response = get(ui, &format!("/api/traces/{trace_id}/otlp"), &[]).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("content-disposition"),
        Some(format!("attachment; filename=\"trace-{trace_id}.json\"").as_str())
    );
    response.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_trace_goes_into_another_collector_unchanged() {
    let first = start(CollectorConfig::ephemeral()).await;
    let sent = rich_trace();
    let response = post_export(first.http_addr(), &sent).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let id = "5a".repeat(16);
    first.wait_for_spans(3, WAIT).await.expect("3 spans");

    // What the web view gives is the spec's JSON encoding...
    let json = download(&first, &id).await;
    let value: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    let span = &value["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["traceId"], id, "hex ids");
    assert_eq!(span["spanId"], "01".repeat(8));
    assert_eq!(
        span["startTimeUnixNano"], "1000000000000",
        "64-bit as a string"
    );
    assert_eq!(
        value["resourceSpans"][0]["scopeSpans"][0]["scope"]["version"],
        "0.31.0"
    );
    // ...of exactly what was sent: resources, scopes, every span field.
    assert_eq!(first.export_otlp(&id), Some(sent.clone()));

    // Another collector's OTLP/HTTP receiver takes it back as it is.
    let second = start(CollectorConfig::ephemeral()).await;
    let response = post(
        second.http_addr(),
        "/v1/traces",
        &[("Content-Type", "application/json")],
        &json,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    second.wait_for_spans(3, WAIT).await.expect("3 spans");
    assert_eq!(second.export_otlp(&id), Some(sent));
    let (a, b) = (first.trace(&id).expect("a"), second.trace(&id).expect("b"));
    for (a, b) in a.spans.iter().zip(&b.spans) {
        assert_eq!(
            (
                &a.span_id,
                &a.parent_span_id,
                &a.name,
                &a.kind,
                &a.status_message
            ),
            (
                &b.span_id,
                &b.parent_span_id,
                &b.name,
                &b.kind,
                &b.status_message
            )
        );
        assert_eq!((&a.attributes, &a.events), (&b.attributes, &b.events));
        assert_eq!((&a.resource, &a.scope_name), (&b.resource, &b.scope_name));
    }
    assert_eq!(a.spans.len(), b.spans.len());
    first.shutdown().await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_view_takes_a_file_through_the_receivers_checks() {
    let first = start(CollectorConfig::ephemeral()).await;
    let (id, json) = stored_rich_trace(&first).await;

    // The download is compact: it fits an upload limit of its size, and
    // the same padded with spaces does not, compressed or not.
    let compact = json.clone();
    let limit = compact.len();
    let mut json = compact.clone();
    json.extend_from_slice(&[b' '; 1000]);
    let gzipped = gzip(&json);
    assert!(gzipped.len() < limit);
    let second = start(CollectorConfig {
        max_upload_bytes: limit,
        ..CollectorConfig::ephemeral()
    })
    .await;
    let ui = second.ui_addr().expect("the web view is on");
    let upload = |headers: &'static [(&'static str, &'static str)], body: Vec<u8>| async move {
        http_request(ui, "POST", "/api/traces", headers, &body).await
    };
    let response = upload(&[("Content-Type", "application/json")], json.clone()).await;
    assert_eq!(response.status, 413, "{}", response.text());
    assert!(
        response.text().contains("file too large"),
        "{}",
        response.text()
    );
    let response = upload(
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        gzipped,
    )
    .await;
    assert_eq!(
        response.status,
        413,
        "inflates past the limit: {}",
        response.text()
    );
    let response = upload(&[("Content-Type", "text/plain")], compact.clone()).await;
    assert_eq!(response.status, 415, "{}", response.text());
    let response = upload(
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        json[..100].to_vec(),
    )
    .await;
    assert_eq!(response.status, 400, "not gzip: {}", response.text());
    let response = upload(
        &[("Content-Type", "application/json")],
        b"{\"resourceSpans\": 7}".to_vec(),
    )
    .await;
    assert_eq!(response.status, 400, "{}", response.text());
    assert!(
        response.text().contains("malformed OTLP/JSON"),
        "{}",
        response.text()
    );
    // The Host check of the web view holds for the upload too.
    let response = send_raw(
        ui,
        b"POST /api/traces HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n\
          Content-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    assert_eq!(response.status, 403, "{}", response.text());
    assert_eq!(second.span_count(), 0, "nothing got in");

    let response = upload(
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
        gzip(&compact),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
    let answer: serde_json::Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(
        answer,
        serde_json::json!({"trace_ids": [id], "spans": 3, "log_records": 0})
    );
    assert_eq!(second.export_otlp(&id), first.export_otlp(&id));
    first.shutdown().await;
    second.shutdown().await;
}

#[test]
fn collector_load_reads_saved_traces_and_names_a_bad_file() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let (json, id) = runtime.block_on(async {
        let first = start(CollectorConfig::ephemeral()).await;
        let (id, json) = stored_rich_trace(&first).await;
        first.shutdown().await;
        (json, id)
    });
    let dir = std::env::temp_dir().join(format!("collector-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let good = dir.join("trace.json");
    std::fs::write(&good, &json).expect("writing the trace");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, b"{\"resourceSpans\": [").expect("writing a bad file");
    let text = dir.join("notes.txt");
    std::fs::write(&text, b"not a trace\n").expect("writing a text file");
    let missing = dir.join("missing.json");

    let bin = env!("CARGO_BIN_EXE_collector");
    for (file, says) in [
        (&missing, "cannot open it"),
        (&bad, "malformed OTLP/JSON"),
        (&text, "not JSON"),
    ] {
        let output = std::process::Command::new(bin)
            .args(COLLECTOR_FREE_PORTS)
            .arg("--load")
            .arg(&good)
            .arg("--load")
            .arg(file)
            .output()
            .expect("running the collector");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(error.len(), 1, "{stderr}");
        assert!(
            error[0].contains(&file.display().to_string()) && error[0].contains(says),
            "{says}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    // A good file: its trace is there, unchanged, before any export.
    let mut command = std::process::Command::new(bin);
    command.args(COLLECTOR_FREE_PORTS).arg("--load").arg(&good);
    let (_running, stderr) = Running::with_stderr(command);
    let ui = banner_addr(&stderr, "web view", Duration::from_secs(30));
    let exported = runtime.block_on(async {
        let response = get(ui, &format!("/api/traces/{id}/otlp"), &[]).await;
        assert_eq!(response.status, 200, "{}", response.text());
        response.body
    });
    let parse = |bytes: &[u8]| -> ExportTraceServiceRequest {
        serde_json::from_slice(bytes).expect("OTLP/JSON")
    };
    assert_eq!(parse(&exported), parse(&json));
    let _ = std::fs::remove_dir_all(&dir);
}
