//! Files that go out and back in: a 100,000-span trace downloaded, uploaded
//! and loaded whole; JSON Lines of traces and of logs (the OpenTelemetry
//! file format) loaded by `--load` and the upload; `GET /api/export` read
//! back; gzip; and files of other kinds refused with what is supported.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, LogsData, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use serde_json::Value;
use support::*;

const WAIT: Duration = Duration::from_secs(20);
const BIG_TRACE: [u8; 16] = [0xb1; 16];
const JSON: (&str, &str) = ("Content-Type", "application/json");
const GZIP: (&str, &str) = ("Content-Encoding", "gzip");

async fn start(config: CollectorConfig) -> Collector {
    Collector::start(config)
        .await
        .expect("starting a collector")
}

fn ui(collector: &Collector) -> SocketAddr {
    collector.ui_addr().expect("the web view is on")
}

async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let response = get(addr, path, &[]).await;
    assert_eq!(response.status, 200, "GET {path}: {}", response.text());
    serde_json::from_slice(&response.body).expect("JSON")
}

/// A temporary directory of this test process, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("collector-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("writing a file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The collector binary with `--load` of each file: its web view address
/// and the `loaded ...` lines it printed first.
fn run_loading(files: &[&PathBuf]) -> (Running, SocketAddr, Vec<String>) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_collector"));
    command.args(COLLECTOR_FREE_PORTS);
    for file in files {
        command.arg("--load").arg(file);
    }
    let (running, stderr) = Running::with_stderr(command);
    let loaded = loaded_lines(&stderr, files.len());
    let ui = banner_addr(&stderr, "web view", Duration::from_secs(60));
    (running, ui, loaded)
}

fn loaded_lines(stderr: &Receiver<String>, n: usize) -> Vec<String> {
    let mut lines = Vec::new();
    while lines.len() < n {
        let line = stderr
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("no `loaded` line ({e}) after {lines:?}"));
        assert!(!line.starts_with("error"), "{line}");
        if line.starts_with("loaded") {
            lines.push(line);
        }
    }
    lines
}

fn span_id(n: u64) -> [u8; 8] {
    (n + 1).to_be_bytes()
}

#[test]
fn a_100k_span_trace_downloads_compact_and_goes_back_in_whole() {
    const SPANS: u64 = 100_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = TempDir::new("big");
    let id = "b1".repeat(16);
    let download = runtime.block_on(async {
        let first = start(CollectorConfig::ephemeral()).await;
        // A root and its children, sent in batches as an SDK would.
        for batch in 0..5 {
            let spans = (batch * SPANS / 5..(batch + 1) * SPANS / 5)
                .map(|i| {
                    let parent = (i > 0).then(|| span_id(0));
                    span(
                        &BIG_TRACE,
                        &span_id(i),
                        parent.as_ref().map(|p| &p[..]),
                        "s",
                    )
                })
                .collect();
            send(first.http_addr(), "big", spans).await;
        }
        first
            .wait_for_spans(SPANS as usize, WAIT)
            .await
            .expect("every span");
        let response = get(ui(&first), &format!("/api/traces/{id}/otlp"), &[]).await;
        assert_eq!(response.status, 200, "{}", response.text());
        let download = response.body;
        assert!(
            !download.windows(2).any(|w| w == b"\n "),
            "the download is compact JSON"
        );

        // The upload takes it back whole.
        let second = start(CollectorConfig::ephemeral()).await;
        let response = http_request(ui(&second), "POST", "/api/traces", &[JSON], &download).await;
        assert_eq!(response.status, 200, "{}", response.text());
        let answer: Value = serde_json::from_slice(&response.body).expect("JSON");
        assert_eq!(answer["trace_ids"], serde_json::json!([id]));
        assert_eq!(answer["spans"], SPANS);
        assert_eq!(second.span_count(), SPANS as usize);
        assert!(
            second.export_otlp(&id) == first.export_otlp(&id),
            "the same spans, resources and scopes"
        );
        first.shutdown().await;
        second.shutdown().await;
        download
    });
    println!("a {SPANS}-span trace downloads as {} bytes", download.len());

    // `--load` in the real binary takes it back whole too.
    let file = dir.file("big.json", &download);
    let (_running, ui, loaded) = run_loading(&[&file]);
    assert!(
        loaded[0].contains("loaded 1 trace (100000 spans)"),
        "{loaded:?}"
    );
    runtime.block_on(async {
        let list = get_json(ui, "/api/traces").await;
        assert_eq!(list["traces"][0]["span_count"], SPANS, "{list}");
        let again = get(ui, &format!("/api/traces/{id}/otlp"), &[]).await;
        assert!(again.body == download, "the same file comes out again");
    });
}

fn body(text: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(text.into())),
    })
}

/// Log records of `service`: one of no trace and one of `TRACE_ID`'s
/// span, or as given.
fn logs_data(service: &str, records: Vec<LogRecord>) -> LogsData {
    LogsData {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                // More than the service name: an export keeps it all.
                attributes: vec![
                    string_attr("service.name", service),
                    string_attr("host.name", "file-host"),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "file-scope".into(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn log_record(ms: u64, severity: i32, text: &str, trace: Option<&[u8]>) -> LogRecord {
    LogRecord {
        time_unix_nano: 1_000_000_000 + ms * 1_000_000,
        severity_number: severity,
        body: body(text),
        attributes: vec![int_attr("attempt", 3), string_attr("disk", "sda")],
        trace_id: trace.map(<[u8]>::to_vec).unwrap_or_default(),
        span_id: trace.map(|_| SPAN_ID.to_vec()).unwrap_or_default(),
        ..Default::default()
    }
}

fn line(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON") + "\n"
}

/// Two traces on two lines (and a blank one), as the OpenTelemetry file
/// exporter writes them.
fn traces_jsonl() -> String {
    let first = export("svc-a", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]);
    let second = export("svc-b", vec![timed(&[0x22; 16], 2, None, "batch", 5, 9)]);
    let first = TracesData {
        resource_spans: first.resource_spans,
    };
    let second = TracesData {
        resource_spans: second.resource_spans,
    };
    line(&first) + "\n" + &line(&second)
}

/// A trace-less record and one of `TRACE_ID`, then a later line of one
/// more trace-less record.
fn logs_jsonl() -> String {
    line(&logs_data(
        "svc-log",
        vec![
            log_record(1, 13, "disk almost full", None),
            log_record(2, 9, "request handled", Some(&TRACE_ID)),
        ],
    )) + &line(&logs_data(
        "svc-log",
        vec![log_record(3, 17, "disk full", None)],
    ))
}

#[test]
fn json_lines_of_traces_and_logs_load_and_the_export_reads_back() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = TempDir::new("jsonl");
    let traces = dir.file("traces.jsonl", traces_jsonl().as_bytes());
    let logs = dir.file("logs.jsonl.gz", &gzip(logs_jsonl().as_bytes()));
    let (_running, ui, loaded) = run_loading(&[&traces, &logs]);
    assert!(
        loaded[0].contains("loaded 2 traces (2 spans) and 0 log records"),
        "{loaded:?}"
    );
    assert!(loaded[1].contains("and 3 log records from"), "{loaded:?}");
    runtime.block_on(async {
        let list = get_json(ui, "/api/traces").await;
        let names: Vec<&str> = list["traces"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| t["root_name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["batch", "main"], "{list}");
        let trace = get_json(ui, &format!("/api/traces/{TRACE_ID_HEX}")).await;
        assert_eq!(
            trace["spans"][0]["logs"][0]["body"], "request handled",
            "{trace}"
        );
        let logs = get_json(ui, "/api/logs").await;
        let bodies: Vec<&str> = logs["logs"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|l| l["body"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(bodies, ["disk almost full", "disk full"], "{logs}");
        assert_eq!(logs["logs"][0]["service_name"], "svc-log");
        assert_eq!(logs["logs"][0]["attributes"]["attempt"], 3);

        // Everything at once, as JSON Lines, as a download.
        let response = get(ui, "/api/export", &[]).await;
        assert_eq!(response.status, 200, "{}", response.text());
        assert_eq!(
            response.header("content-disposition"),
            Some("attachment; filename=\"collector-export.jsonl\"")
        );
        let export = response.body;
        let text = String::from_utf8_lossy(&export);
        assert_eq!(
            text.lines().count(),
            4,
            "two traces, one trace's records, the records of no trace: {text}"
        );

        // Uploaded (gzipped, as the page sends a large file) to another
        // collector, and loaded by a third: the same traces and records.
        let second = start(CollectorConfig::ephemeral()).await;
        let response = http_request(
            collector_ui(&second),
            "POST",
            "/api/traces",
            &[("Content-Type", "application/x-ndjson"), GZIP],
            &gzip(&export),
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text());
        let answer: Value = serde_json::from_slice(&response.body).expect("JSON");
        assert_eq!(
            (answer["spans"].as_u64(), answer["log_records"].as_u64()),
            (Some(2), Some(3))
        );
        let third = start(CollectorConfig::ephemeral()).await;
        let loaded = third.load(&export[..], "(test)").expect("the export loads");
        assert_eq!((loaded.spans, loaded.log_records), (2, 3));
        // What goes out of a collector that loaded the export is the export
        // again, line for line: resources, scopes, typed attributes,
        // bodies and times as they came.
        let again = get(collector_ui(&third), "/api/export", &[]).await;
        assert_eq!(again.status, 200, "{}", again.text());
        let lines = |body: &[u8]| -> Vec<Value> {
            let mut lines: Vec<Value> = String::from_utf8_lossy(body)
                .lines()
                .map(|line| serde_json::from_str(line).expect("a JSON line"))
                .collect();
            lines.sort_by_key(|line| line.to_string());
            lines
        };
        assert_eq!(lines(&again.body), lines(&export));
        assert!(
            String::from_utf8_lossy(&export).contains("file-host"),
            "the records' resource went out whole"
        );
        for other in [&second, &third] {
            let other_ui = collector_ui(other);
            for path in [
                "/api/traces".to_owned(),
                format!("/api/traces/{TRACE_ID_HEX}"),
                "/api/logs".to_owned(),
            ] {
                let (a, b) = (get_json(ui, &path).await, get_json(other_ui, &path).await);
                assert_eq!(strip_received(a), strip_received(b), "{path}");
            }
        }
        second.shutdown().await;
        third.shutdown().await;
    });
}

fn collector_ui(collector: &Collector) -> SocketAddr {
    ui(collector)
}

/// A JSON answer without where each span came from (the path and
/// transport of the request: a file's name here, `(uploaded)` there).
fn strip_received(mut value: Value) -> Value {
    if let Some(spans) = value["spans"].as_array_mut() {
        for span in spans {
            if let Some(span) = span.as_object_mut() {
                span.remove("path");
                span.remove("transport");
            }
        }
    }
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_other_kinds_are_refused_with_what_is_supported() {
    let collector = start(CollectorConfig::ephemeral()).await;
    let metrics = "{\"resourceMetrics\": []}\n";
    let traces = traces_jsonl();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            (traces.clone() + metrics).into_bytes(),
            "line 4: metrics (resourceMetrics) are not kept",
        ),
        (
            b"{\"resourceProfiles\": []}".to_vec(),
            "line 1: profiles (resourceProfiles) are not kept",
        ),
        (
            export("svc", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]).encode_to_vec(),
            "not JSON (protobuf or text?)",
        ),
        (b"hello\n".to_vec(), "not JSON"),
        (b"\n\n".to_vec(), "the file is empty"),
        (b"{}".to_vec(), "neither resourceSpans nor resourceLogs"),
        (
            (traces.clone() + "{\"resourceSpans\": 7}\n").into_bytes(),
            "line 4: malformed OTLP/JSON",
        ),
    ];
    for (file, says) in cases {
        let response = http_request(ui(&collector), "POST", "/api/traces", &[JSON], &file).await;
        assert_eq!(response.status, 400, "{says}: {}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        let error: Value = serde_json::from_slice(&response.body).expect("JSON");
        let error = error["error"].as_str().unwrap_or_default();
        assert!(error.contains(says), "{says}: {error}");
        if !says.contains("malformed") {
            assert!(
                error.contains("supported: OTLP/JSON traces or logs"),
                "{error}"
            );
        }
    }
    // One export request of logs, the ExportLogsServiceRequest a logs
    // exporter posts, is a file too.
    let request = ExportLogsServiceRequest {
        resource_logs: logs_data("svc", vec![log_record(1, 9, "hello", None)]).resource_logs,
    };
    let pretty = serde_json::to_vec_pretty(&request).expect("JSON");
    let response = http_request(ui(&collector), "POST", "/api/traces", &[JSON], &pretty).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(collector.logs().len(), 1);
    collector.shutdown().await;
}

use prost::Message as _;
