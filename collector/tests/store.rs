//! `--store PATH`: traces and log records that survive a restart (SIGTERM
//! and SIGKILL), bounded by the same limits as memory; the runs, the run
//! filter, the trace of the previous run, the export of one run; the
//! errors of a file that cannot be used. The collector binary, real OTLP
//! over HTTP and gRPC.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use collector::{GRPC_EXPORT_PATH, GRPC_LOGS_EXPORT_PATH};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::trace::v1::span::Event;
use prost::Message as _;
use serde_json::Value;
use sqlx::Connection as _;
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_collector");
const BANNER: Duration = Duration::from_secs(20);

/// A temporary directory of this test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("collector-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The collector binary on free ports, running.
struct Started {
    process: Running,
    stderr: std::sync::mpsc::Receiver<String>,
    grpc: SocketAddr,
    http: SocketAddr,
    ui: SocketAddr,
}

/// Starts the binary with `args` after the free-port flags, in `cwd`.
fn start(cwd: &Path, args: &[&str]) -> Started {
    let mut command = Command::new(BIN);
    command
        .current_dir(cwd)
        .args(COLLECTOR_FREE_PORTS)
        .args(args);
    start_command(command)
}

/// Starts `command`: the binary on free ports, however it is wrapped.
fn start_command(command: Command) -> Started {
    let (process, stderr) = Running::with_stderr(command);
    started(process, stderr)
}

/// Starts the binary on `store`, its stdout (the printed traces) piped.
fn start_printing(store: &Path) -> (Started, std::sync::mpsc::Receiver<String>) {
    let mut command = Command::new(BIN);
    command.args(COLLECTOR_FREE_PORTS).arg("--store").arg(store);
    let (process, stdout, stderr) = Running::printing(command);
    (started(process, stderr), stdout)
}

/// Reads `stdout` up to the line that has `text`; the lines before it.
fn printed_before(stdout: &std::sync::mpsc::Receiver<String>, text: &str) -> Vec<String> {
    let mut before = Vec::new();
    loop {
        match stdout.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.contains(text) => return before,
            Ok(line) => before.push(line),
            Err(e) => panic!("no {text:?} printed ({e}); printed: {before:#?}"),
        }
    }
}

fn started(process: Running, stderr: std::sync::mpsc::Receiver<String>) -> Started {
    let grpc = banner_addr(&stderr, "OTLP/gRPC", BANNER);
    let http = banner_addr(&stderr, "OTLP/HTTP", BANNER);
    let ui = banner_addr(&stderr, "web view", BANNER);
    Started {
        process,
        stderr,
        grpc,
        http,
        ui,
    }
}

fn start_on(store: &Path, more: &[&str]) -> Started {
    let store = store.to_str().expect("a UTF-8 path");
    let mut args = vec!["--store", store];
    args.extend_from_slice(more);
    start(Path::new("."), &args)
}

impl Started {
    /// SIGTERM, and the exit (within the collector's 2 s bound, and some);
    /// the lines it wrote to stderr after its banner.
    fn stop(mut self) -> Vec<String> {
        signal(self.process.0.id(), Signal::TERM).expect("sending SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.process.0.try_wait().expect("waiting") {
                assert!(status.success(), "exit status {status}");
                // The pipe's last lines, once the thread has read them.
                std::thread::sleep(Duration::from_millis(100));
                return self.stderr.try_iter().collect();
            }
            assert!(
                Instant::now() < deadline,
                "still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(mut self) {
        signal(self.process.0.id(), Signal::KILL).expect("sending SIGKILL");
        let _ = self.process.0.wait();
    }

    async fn json(&self, path: &str) -> Value {
        let response = get(self.ui, path, &[]).await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
        serde_json::from_slice(&response.body).expect("JSON")
    }

    /// The ids of the traces listed for `query`, sorted.
    async fn listed(&self, query: &str) -> Vec<String> {
        let list = self
            .json(&format!("/api/traces?limit=100000&{query}"))
            .await;
        let mut ids: Vec<String> = list["traces"]
            .as_array()
            .expect("traces")
            .iter()
            .map(|t| t["trace_id"].as_str().expect("an id").to_owned())
            .collect();
        ids.sort();
        ids
    }
}

fn trace_id(n: u32) -> [u8; 16] {
    let mut id = [0x70; 16];
    id[12..].copy_from_slice(&n.to_be_bytes());
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A root and a child span of trace `n`, with attributes and an event.
fn spans(n: u32, root: &str) -> Vec<opentelemetry_proto::tonic::trace::v1::Span> {
    let id = trace_id(n);
    let mut parent = timed(&id, 1, None, root, 0, 40);
    parent.attributes = vec![int_attr("n", i64::from(n)), string_attr("k", "v")];
    let mut child = timed(&id, 2, Some(1), "child", 5, 30);
    child.events = vec![Event {
        time_unix_nano: 1_000_010_000_000,
        name: "an event".into(),
        attributes: vec![string_attr("e", "x")],
        ..Default::default()
    }];
    vec![parent, child]
}

async fn send_logs(addr: SocketAddr, trace: Option<[u8; 16]>, body: &str) {
    let json = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": "1000000000000",
            "severityNumber": 9,
            "body": {"stringValue": body},
            "traceId": trace.map(|t| hex(&t)).unwrap_or_default(),
        }]}]
    }]});
    let response = post(
        addr,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        json.to_string().as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

/// One request of `count` log records of no trace.
async fn send_trace_less(addr: SocketAddr, count: usize, tag: &str) {
    let records: Vec<Value> = (0..count)
        .map(|i| serde_json::json!({"timeUnixNano": "1000000000000", "body": {"stringValue": format!("{tag} {i}")}}))
        .collect();
    let json = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]});
    let response = post(
        addr,
        "/v1/logs",
        &[("Content-Type", "application/json")],
        json.to_string().as_bytes(),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text());
}

/// Two counts of the rows of the store file, by `query` (opened after the
/// collector exited).
async fn count_rows(path: &Path, query: &str) -> (i64, i64) {
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("opening the store file");
    let counts: (i64, i64) = sqlx::query_as(query)
        .fetch_one(&mut conn)
        .await
        .expect("counting rows");
    let _ = conn.close().await;
    counts
}

/// Rows of the store file and the distinct traces in them.
async fn rows(path: &Path) -> (i64, i64) {
    count_rows(
        path,
        "SELECT count(*), count(DISTINCT trace_id) FROM records",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_and_log_records_survive_a_restart_and_keep_their_run() {
    let dir = TempDir::new("restart");
    let file = dir.path("traces.db");
    let first = start_on(&file, &[]);
    assert!(first.json("/api/runs").await["runs"][0]["current"] == true);
    // Over OTLP/HTTP (protobuf)...
    send(first.http, "http-svc", spans(1, "over http")).await;
    // ...and OTLP/gRPC.
    let body = export("grpc-svc", spans(2, "over grpc")).encode_to_vec();
    grpc_raw(format!("http://{}", first.grpc), GRPC_EXPORT_PATH, body)
        .await
        .expect("a gRPC export");
    send_logs(first.http, Some(trace_id(1)), "of trace 1").await;
    send_logs(first.http, None, "of no trace").await;
    // A record of trace 2 over gRPC.
    let record = LogRecord {
        time_unix_nano: 1_000_020_000_000,
        severity_number: 13,
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(
                "of trace 2, over gRPC".into(),
            )),
        }),
        trace_id: trace_id(2).to_vec(),
        attributes: vec![int_attr("attempt", 2)],
        ..Default::default()
    };
    let logs = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let grpc = format!("http://{}", first.grpc);
    grpc_raw(grpc, GRPC_LOGS_EXPORT_PATH, logs.encode_to_vec())
        .await
        .expect("a gRPC logs export");
    let ids = [hex(&trace_id(1)), hex(&trace_id(2))];
    let mut before = Vec::new();
    for id in &ids {
        before.push(first.json(&format!("/api/traces/{id}")).await);
    }
    let logs_before = first.json("/api/logs").await["logs"].clone();
    assert_eq!(logs_before.as_array().map(Vec::len), Some(1));
    first.stop();

    let second = start_on(&file, &[]);
    for (id, before) in ids.iter().zip(&before) {
        let after = second.json(&format!("/api/traces/{id}")).await;
        assert_eq!(&after, before, "trace {id} after the restart");
        assert_eq!(after["logs"].as_array().map(Vec::len), Some(1), "{after}");
    }
    assert_eq!(second.json("/api/logs").await["logs"], logs_before);
    let runs = second.json("/api/runs").await;
    let runs: Vec<(u64, u64, bool)> = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["run"].as_u64().expect("a number"),
                r["traces"].as_u64().expect("a count"),
                r["current"].as_bool().expect("a flag"),
            )
        })
        .collect();
    assert_eq!(runs, [(1, 2, false), (2, 0, true)]);
    let list = second.json("/api/traces").await;
    for trace in list["traces"].as_array().expect("traces") {
        assert_eq!(trace["run"], 1, "{trace}");
    }
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_store_nothing_is_written_to_disk() {
    let dir = TempDir::new("nothing");
    let started = start(&dir.0, &[]);
    send(started.http, "svc", spans(1, "root")).await;
    send_logs(started.http, None, "a record").await;
    assert_eq!(started.listed("").await.len(), 1);
    // Just run 1, this one.
    let runs = started.json("/api/runs").await["runs"].clone();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
    assert_eq!(
        (&runs[0]["run"], &runs[0]["traces"], &runs[0]["current"]),
        (&1.into(), &1.into(), &true.into())
    );
    started.stop();
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("reading the directory")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_ingest_loses_nothing_acknowledged_a_second_before() {
    let dir = TempDir::new("kill");
    let file = dir.path("traces.db");
    // Room for every trace sent: none is evicted.
    let room = ["--max-traces", "100000"];
    let first = start_on(&file, &room);
    let http = first.http;
    // A sender posting one trace a request, noting when each was answered.
    let sender = tokio::spawn(async move {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let url = format!("http://{http}/v1/traces");
        let mut acked = Vec::new();
        let started = Instant::now();
        for n in 0..20_000_u32 {
            if started.elapsed() > Duration::from_secs(4) {
                break;
            }
            let answer = client
                .post(&url)
                .header("Content-Type", "application/x-protobuf")
                .body(export("svc", spans(n, "root")).encode_to_vec())
                .send()
                .await;
            match answer {
                Ok(answer) if answer.status() == 200 => acked.push((n, Instant::now())),
                _ => break, // killed
            }
        }
        acked
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let killed = Instant::now();
    first.kill();
    let acked = sender.await.expect("the sender");
    let due: Vec<u32> = acked
        .iter()
        .filter(|(_, at)| *at + Duration::from_secs(1) < killed)
        .map(|(n, _)| *n)
        .collect();
    assert!(due.len() > 10, "only {} requests answered", due.len());
    // The file is whole (SQLite's own check)...
    let url = format!("sqlite://{}", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("opening the file after SIGKILL");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("checking the file");
    assert_eq!(check, "ok");
    let _ = conn.close().await;
    // ...and holds what was acknowledged.

    let second = start_on(&file, &room);
    let there: std::collections::HashSet<String> = second.listed("").await.into_iter().collect();
    let missing: Vec<u32> = due
        .iter()
        .copied()
        .filter(|n| !there.contains(&hex(&trace_id(*n))))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged traces missing after SIGKILL, e.g. {:?}",
        missing.len(),
        due.len(),
        &missing[..missing.len().min(5)]
    );
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_keeps_no_more_than_memory() {
    let dir = TempDir::new("bound");
    let file = dir.path("traces.db");
    let first = start_on(&file, &[]);
    for n in 0..20 {
        send(first.http, "svc", spans(n, "root")).await;
    }
    first.stop();
    assert_eq!(rows(&file).await, (20, 20));

    let second = start_on(&file, &["--max-traces", "5"]);
    let kept = second.listed("").await;
    let newest: Vec<String> = (15..20).map(|n| hex(&trace_id(n))).collect();
    assert_eq!(kept, newest);
    second.stop();
    assert_eq!(rows(&file).await, (5, 5), "rows of evicted traces left");

    // And at ingest: one more trace evicts the oldest, in the file too.
    let third = start_on(&file, &["--max-traces", "5"]);
    send(third.http, "svc", spans(20, "root")).await;
    third.stop();
    assert_eq!(rows(&file).await, (5, 5));

    // Records of no trace: a row goes when memory has evicted all of its.
    let fourth = start_on(&file, &[]);
    for n in 0..10 {
        send_trace_less(fourth.http, 3, &format!("request {n}")).await;
    }
    fourth.stop();
    assert_eq!(rows(&file).await, (15, 5));
    // Read back with room for 4: the last record of request 8, all of 9.
    let fifth = start_on(&file, &["--max-logs", "4"]);
    let bodies = |logs: Value| -> Vec<String> {
        logs["logs"]
            .as_array()
            .expect("logs")
            .iter()
            .map(|l| l["body"].as_str().expect("a body").to_owned())
            .collect()
    };
    assert_eq!(
        bodies(fifth.json("/api/logs").await),
        ["request 8 2", "request 9 0", "request 9 1", "request 9 2"]
    );
    fifth.stop();
    assert_eq!(rows(&file).await, (7, 5), "rows of evicted records left");
    // At ingest, records evicted by the request that brings them included.
    let sixth = start_on(&file, &["--max-logs", "2"]);
    send_trace_less(sixth.http, 3, "last").await;
    assert_eq!(bodies(sixth.json("/api/logs").await), ["last 1", "last 2"]);
    send_trace_less(sixth.http, 1, "more").await;
    send_trace_less(sixth.http, 1, "again").await;
    assert_eq!(bodies(sixth.json("/api/logs").await), ["more 0", "again 0"]);
    sixth.stop();
    assert_eq!(rows(&file).await, (7, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_filter_the_list_find_the_previous_run_and_export_alone() {
    let dir = TempDir::new("runs");
    let file = dir.path("traces.db");
    let first = start_on(&file, &[]);
    send(first.http, "svc", spans(1, "GET /hello")).await;
    send(first.http, "svc", spans(2, "other root")).await;
    first.stop();
    let second = start_on(&file, &[]);
    send(second.http, "svc", spans(3, "GET /hello")).await;
    send_logs(second.http, None, "in run 2").await;
    let (one, two, three) = (hex(&trace_id(1)), hex(&trace_id(2)), hex(&trace_id(3)));

    assert_eq!(second.listed("run=1").await, [one.clone(), two.clone()]);
    assert_eq!(second.listed("run=2").await, [three.as_str()]);
    let bad = get(second.ui, "/api/traces?run=x", &[]).await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.text().contains("run must be a run number"),
        "{}",
        bad.text()
    );

    let previous = second.json(&format!("/api/traces/{three}/previous")).await;
    assert_eq!(previous, serde_json::json!({"trace_id": one, "run": 1}));
    // Each trace's page says its run.
    for (id, run) in [(&one, 1), (&three, 2)] {
        let detail = second.json(&format!("/api/traces/{id}")).await;
        assert_eq!(detail["run"], run, "{id}");
    }
    let none = get(second.ui, &format!("/api/traces/{one}/previous"), &[]).await;
    assert_eq!(none.status, 404);
    assert!(none.text().contains("no earlier run"), "{}", none.text());

    // The export of run 2: its trace and its record of no trace, nothing else.
    let export = get(second.ui, "/api/export?run=2", &[]).await;
    assert_eq!(export.status, 200);
    let text = export.text();
    assert!(text.contains(&three) && !text.contains(&one) && !text.contains(&two));
    assert!(text.contains("in run 2"), "{text}");
    let saved = dir.path("run-2.jsonl");
    std::fs::write(&saved, &export.body).expect("saving the export");
    // The whole store carries the record too.
    let all = get(second.ui, "/api/export", &[]).await.text();
    assert!(all.contains(&one) && all.contains(&three) && all.contains("in run 2"));
    second.stop();

    // Read back by --load: the same trace.
    let loaded = start(
        Path::new("."),
        &["--load", saved.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(loaded.listed("").await, [three.as_str()]);
    let trace = loaded.json(&format!("/api/traces/{three}")).await;
    assert_eq!(trace["spans"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        loaded.json("/api/logs").await["logs"][0]["body"],
        "in run 2"
    );
    loaded.stop();
}

/// The binary's stderr and status for `--store path` (it does not start).
fn refused(path: &Path) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .args(COLLECTOR_FREE_PORTS)
        .arg("--store")
        .arg(path)
        .output()
        .expect("running the collector");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_used_is_one_line_and_status_2() {
    let dir = TempDir::new("errors");
    let text = dir.path("notes.txt");
    std::fs::write(
        &text,
        "not a database, just some text that is long enough".repeat(50),
    )
    .expect("writing a file");
    let (code, stderr) = refused(&text);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&*text.to_string_lossy()) && stderr.contains("not an SQLite file"),
        "{stderr}"
    );

    let file = dir.path("traces.db");
    let running = start_on(&file, &[]);
    let (code, stderr) = refused(&file);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("another collector is using this file"),
        "{stderr}"
    );
    running.stop();

    let (code, stderr) = refused(&dir.path("no/such/dir/traces.db"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("check that the directory exists"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_is_said_once_and_memory_keeps_everything() {
    let dir = TempDir::new("full");
    let file = dir.path("traces.db");
    // A file size limit (128 KiB: 256 blocks of 512 bytes) stands in for a
    // full disk.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -f 256 && exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(COLLECTOR_FREE_PORTS)
        .arg("--store")
        .arg(&file);
    let started = start_command(command);
    let padding = "x".repeat(1000);
    for n in 0..300 {
        let mut spans = spans(n, "root");
        spans[0].attributes.push(string_attr("padding", &padding));
        send(started.http, "svc", spans).await;
    }
    assert_eq!(started.listed("").await.len(), 300, "memory lost traces");
    let stderr = started.stop();
    let said: Vec<&String> = stderr
        .iter()
        .filter(|l| l.contains("cannot write to the store file"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr:#?}");
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("write(s) to the store file failed")),
        "{stderr:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_read_back_are_not_printed_again() {
    let dir = TempDir::new("print");
    let file = dir.path("traces.db");
    let (first, stdout) = start_printing(&file);
    send(first.http, "svc", spans(1, "first run root")).await;
    printed_before(&stdout, "first run root");
    first.stop();
    let (second, stdout) = start_printing(&file);
    assert_eq!(second.listed("").await.len(), 1, "the first run's trace");
    send(second.http, "svc", spans(2, "second run root")).await;
    // Printed in the order they went quiet: the trace read back, quiet
    // from the start, would come first.
    let before = printed_before(&stdout, "second run root");
    assert!(
        !before.iter().any(|l| l.contains("first run root")),
        "{before:#?}"
    );
    // Nor counted as left unprinted on the way out.
    second.stop();
    let last: Vec<String> = stdout.try_iter().collect();
    assert!(!last.iter().any(|l| l.contains("not printed")), "{last:#?}");
}

/// Rows of log records in the store file: of a trace, of no trace.
async fn log_rows(path: &Path) -> (i64, i64) {
    count_rows(
        path,
        "SELECT count(trace_id), count(*) - count(trace_id) FROM records WHERE signal = 1",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_that_stays_keeps_in_the_file_only_the_records_memory_has() {
    let dir = TempDir::new("trace-logs");
    let file = dir.path("traces.db");
    // Room for 4 records: a long-lived trace's oldest records are evicted
    // while the trace stays.
    let small = ["--max-logs", "4"];
    let first = start_on(&file, &small);
    send(first.http, "svc", spans(1, "long-lived")).await;
    for n in 0..10 {
        send_logs(first.http, Some(trace_id(1)), &format!("of trace 1, {n}")).await;
        send_trace_less(first.http, 1, &format!("of no trace, {n}")).await;
    }
    let id = hex(&trace_id(1));
    let before = first.json(&format!("/api/traces/{id}")).await;
    let bodies: Vec<&str> = before["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["body"].as_str().expect("a body"))
        .collect();
    assert_eq!(bodies, ["of trace 1, 8", "of trace 1, 9"]);
    let logs_before = first.json("/api/logs").await["logs"].clone();
    first.stop();
    // One row a request: those memory still has records of.
    assert_eq!(
        log_rows(&file).await,
        (2, 2),
        "rows of evicted records left"
    );

    let second = start_on(&file, &small);
    assert_eq!(second.json(&format!("/api/traces/{id}")).await, before);
    assert_eq!(second.json("/api/logs").await["logs"], logs_before);
    // More records after the restart evict those read back, in the file too.
    for n in 10..13 {
        send_logs(second.http, Some(trace_id(1)), &format!("of trace 1, {n}")).await;
        send_trace_less(second.http, 1, &format!("of no trace, {n}")).await;
    }
    second.stop();
    assert_eq!(log_rows(&file).await, (2, 2));
    let third = start_on(&file, &[]);
    let after = third.json(&format!("/api/traces/{id}")).await;
    assert_eq!(after["logs"].as_array().map(Vec::len), Some(2), "{after}");
    third.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_memory_keeps_nothing_of_at_read_back_is_deleted() {
    let dir = TempDir::new("read-back");
    let file = dir.path("traces.db");
    let first = start_on(&file, &[]);
    // Two records of no trace of 20 KB each, in two requests...
    let big = "x".repeat(20_000);
    send_logs(first.http, None, &big).await;
    send_logs(first.http, None, &big).await;
    // ...and three records of trace 1, in three requests.
    for n in 0..3 {
        send_logs(first.http, Some(trace_id(1)), &format!("record {n}")).await;
    }
    first.stop();
    assert_eq!(log_rows(&file).await, (3, 2));

    // Read back with memory too small for either big record, and room for
    // one record a trace.
    let second = start_on(
        &file,
        &["--max-memory", "16KiB", "--max-logs-per-trace", "1"],
    );
    assert_eq!(
        second.json("/api/logs").await["logs"],
        serde_json::json!([])
    );
    let trace = second
        .json(&format!("/api/traces/{}", hex(&trace_id(1))))
        .await;
    assert_eq!(trace["logs"].as_array().map(Vec::len), Some(1), "{trace}");
    second.stop();
    assert_eq!(log_rows(&file).await, (1, 0), "rows memory kept nothing of");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_that_fails_records_no_run() {
    let dir = TempDir::new("no-run");
    let file = dir.path("traces.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").to_string();
    let output = Command::new(BIN)
        .args([
            "--grpc",
            "127.0.0.1:0",
            "--ui",
            "127.0.0.1:0",
            "--http",
            &port,
        ])
        .arg("--store")
        .arg(&file)
        .output()
        .expect("running the collector");
    assert!(!output.status.success(), "started on a taken port");
    drop(taken);

    let started = start_on(&file, &[]);
    let runs = started.json("/api/runs").await["runs"].clone();
    let numbers: Vec<u64> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run"].as_u64().expect("a number"))
        .collect();
    assert_eq!(numbers, [1], "{runs}");
    started.stop();
}
