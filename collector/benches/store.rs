//! What `--store PATH` costs, measured on the `collector` *binary*, both
//! sides printed in one run:
//!
//! 1. ingest per CPU-second: 4 keep-alive connections post 512-span batches
//!    (10 attributes a span, one new trace a batch) over OTLP/HTTP for 4 s,
//!    to a collector without `--store` and then to one with it; spans
//!    acknowledged per second, the CPU the collector used, and spans per
//!    CPU-second (the target: with the file, at least half of without);
//! 2. the file's size per stored span, after a checkpoint, with the
//!    default limits filled (1,000 traces of 512 spans);
//! 3. start-up time with that full store: from spawn until the receivers
//!    answer (the banner printed and a `GET /api/runs` answered), the rows
//!    read back meanwhile.
//!
//! Run with (release build; loopback only; every wait is bounded)
//!
//! ```text
//! cargo bench -p collector --bench store
//! ```

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use sqlx::Connection as _;
use support::cpu_seconds;
use testkit::process;

const BIN: &str = env!("CARGO_BIN_EXE_collector");
const BATCH_SPANS: usize = 512;
const CONNECTIONS: usize = 4;
const LOAD_TIME: Duration = Duration::from_secs(4);
/// The default `--max-traces`: what "full" means here.
const FULL_TRACES: u64 = 1000;
const BANNER: Duration = Duration::from_secs(120);

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("collector-store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).context("a temporary directory")?;
    let file = dir.join("traces.db");
    let result = measure(&file).await;
    let _ = std::fs::remove_dir_all(&dir);
    let figures = result?;
    println!();
    println!(
        "--store: {} connections, 512-span batches of 10 attributes a span, {} s each, OTLP/HTTP",
        CONNECTIONS,
        LOAD_TIME.as_secs()
    );
    println!(
        "{:<28} {:>14} {:>12} {:>16}",
        "", "spans/s", "CPU s", "spans/CPU-s"
    );
    for (label, load) in [
        ("in memory only", &figures.memory),
        ("with --store", &figures.store),
    ] {
        println!(
            "{label:<28} {:>14.0} {:>12.2} {:>16.0}",
            load.spans as f64 / load.wall,
            load.cpu,
            load.spans as f64 / load.cpu
        );
    }
    let ratio = (figures.store.spans as f64 / figures.store.cpu)
        / (figures.memory.spans as f64 / figures.memory.cpu);
    println!("spans per CPU-second with --store / without: {ratio:.2} (target >= 0.5)");
    println!(
        "file with {} traces, {} spans: {:.1} MiB after a checkpoint, {:.0} bytes a span",
        figures.traces,
        figures.spans,
        figures.file_bytes as f64 / (1024.0 * 1024.0),
        figures.file_bytes as f64 / figures.spans as f64
    );
    println!(
        "start-up with that store: {:.2} s from spawn until the receivers answer ({})",
        figures.startup.as_secs_f64(),
        figures.reloaded
    );
    Ok(())
}

struct Load {
    spans: u64,
    wall: f64,
    cpu: f64,
}

struct Figures {
    memory: Load,
    store: Load,
    traces: u64,
    spans: u64,
    file_bytes: u64,
    startup: Duration,
    reloaded: String,
}

async fn measure(file: &Path) -> anyhow::Result<Figures> {
    progress("in memory only");
    let memory = {
        let running = Running::start(&[])?;
        let load = load(&running, LOAD_TIME).await?;
        running.stop()?;
        load
    };
    progress("with --store");
    let store_arg = file.to_str().context("a UTF-8 path")?.to_owned();
    let running = Running::start(&["--store", &store_arg])?;
    let store = load(&running, LOAD_TIME).await?;
    progress("filling the store to the default limits");
    while count(&running, "traces").await? < FULL_TRACES {
        load(&running, Duration::from_secs(1)).await?;
    }
    let traces = count(&running, "traces").await?;
    let spans = count(&running, "spans").await?;
    running.stop()?;
    let file_bytes = checkpoint(file).await?;
    progress("start-up with that store");
    let started = Instant::now();
    let running = Running::start(&["--store", &store_arg])?;
    let response = testkit::http::get(running.ui, "/api/runs", &[]).await;
    if response.status != 200 {
        bail!("GET /api/runs: {}", response.status);
    }
    let startup = started.elapsed();
    let reloaded = format!(
        "{} traces, {} spans read back",
        count(&running, "traces").await?,
        count(&running, "spans").await?
    );
    running.stop()?;
    Ok(Figures {
        memory,
        store,
        traces,
        spans,
        file_bytes,
        startup,
        reloaded,
    })
}

fn progress(line: &str) {
    eprintln!("[store] {line}");
}

/// Traces, or spans, stored now.
async fn count(running: &Running, what: &str) -> anyhow::Result<u64> {
    let response = testkit::http::get(running.ui, "/api/traces?limit=100000", &[]).await;
    let list: serde_json::Value = serde_json::from_slice(&response.body).context("the list")?;
    let traces = list["traces"].as_array().context("traces")?;
    Ok(match what {
        "traces" => traces.len() as u64,
        _ => traces.iter().filter_map(|t| t["span_count"].as_u64()).sum(),
    })
}

/// Checkpoints the file's write-ahead log into it; the file's size.
async fn checkpoint(file: &Path) -> anyhow::Result<u64> {
    let url = format!("sqlite://{}", file.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(std::fs::metadata(file)?.len())
}

/// Posts batches on [`CONNECTIONS`] connections for `time`; what was
/// acknowledged and the collector's CPU meanwhile.
async fn load(running: &Running, time: Duration) -> anyhow::Result<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let url = format!("http://{}/v1/traces", running.http);
    let acked = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds(&running.child.id().to_string())?;
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, acked) = (client.clone(), url.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            while started.elapsed() < time {
                let body = batch(next_trace()).encode_to_vec();
                let answer = client
                    .post(&url)
                    .header("Content-Type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await;
                match answer {
                    Ok(answer) if answer.status() == 200 => {
                        acked.fetch_add(BATCH_SPANS as u64, Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(&running.child.id().to_string())? - cpu_before;
    Ok(Load {
        spans: acked.load(Ordering::Relaxed),
        wall,
        cpu,
    })
}

static NEXT: AtomicU64 = AtomicU64::new(1);

fn next_trace() -> [u8; 16] {
    let mut id = *b"store-bench\0\0\0\0\0";
    id[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    id
}

fn string_value(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int_value(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// A root and 511 children, ten attributes each (what the ingest bench
/// sends).
fn batch(trace: [u8; 16]) -> ExportTraceServiceRequest {
    let base = 1_700_000_000_000_000_000_u64;
    let spans = (0..BATCH_SPANS)
        .map(|i| Span {
            trace_id: trace.to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            parent_span_id: if i == 0 {
                Vec::new()
            } else {
                1_u64.to_be_bytes().to_vec()
            },
            name: ["SELECT orders", "cache.get", "GET inventory", "render"][i % 4].into(),
            kind: 1,
            start_time_unix_nano: base + i as u64 * 20_000,
            end_time_unix_nano: base + i as u64 * 20_000 + 15_000,
            attributes: vec![
                string_value("http.request.method", "GET"),
                string_value("http.route", "/api/v1/users/{id}/orders"),
                string_value("url.path", format!("/api/v1/users/{}/orders", 10_000 + i)),
                int_value("http.response.status_code", 200),
                string_value("server.address", "orders.internal.example.com"),
                int_value("server.port", 8443),
                int_value("user.id", 10_000 + i as i64),
                string_value("db.system.name", "postgresql"),
                string_value("cache.hit", if i % 3 == 0 { "true" } else { "false" }),
                string_value("feature_flag.new_checkout", "on"),
            ],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string_value("service.name", "checkout")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The collector binary on free ports, printing nothing; killed when
/// dropped.
struct Running {
    child: Child,
    http: SocketAddr,
    ui: SocketAddr,
}

impl Running {
    fn start(args: &[&str]) -> anyhow::Result<Running> {
        let mut child = Command::new(BIN)
            .args(process::COLLECTOR_FREE_PORTS)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the collector")?;
        let stderr = child.stderr.take().context("its stderr")?;
        let lines = process::lines(stderr);
        let mut running = Running {
            child,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            ui: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        running.http = process::banner_addr(&lines, "OTLP/HTTP", BANNER);
        running.ui = process::banner_addr(&lines, "web view", BANNER);
        Ok(running)
    }

    /// SIGTERM, and the exit.
    fn stop(mut self) -> anyhow::Result<()> {
        process::signal(self.child.id(), process::Signal::TERM)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("still running 30 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
