//! Ingest benchmark of the `collector` *binary*: how fast it takes spans in,
//! what they cost in memory, and how it behaves with a big store and with
//! many idle or slow connections. Each figure is printed side by side for this
//! build and, optionally, a reference build (e.g. the collector of an older
//! commit).
//!
//! Run with (release build; loopback only; every wait is bounded)
//!
//! ```text
//! cargo bench -p collector --bench ingest
//! COLLECTOR_REFERENCE_BIN=/tmp/ref/collector cargo bench -p collector --bench ingest
//! ```
//!
//! The figures:
//!
//! 1. decode-only spans/s: `ExportTraceServiceRequest::decode` of a 512-span
//!    batch (10 attributes per span) in this process, one thread: the ceiling
//!    for the figures below.
//! 2. end to end over OTLP/HTTP (protobuf): the collector on one core
//!    (`TOKIO_WORKER_THREADS=1`, and `taskset -c 0` when available, this
//!    process on the other cores), 8 keep-alive connections posting 512-span
//!    batches, one new trace per batch, for 3 s; spans acknowledged per
//!    second, and the CPU both sides used (to see which side was the limit)
//!    and what other processes on the machine took meanwhile.
//! 3. the same over OTLP/gRPC, 8 tonic channels.
//! 4. resident memory per stored span: VmRSS before and after 200 traces of
//!    512 spans.
//! 5. the time to ingest one trace of 10k, 20k, 40k minimal spans (a 16-ary
//!    tree, no attributes) in one request, a fresh process per size.
//!
//! Spans are sent in the order an SDK exports them, by end time: children
//! before their parent, the root last.
//! 6. `GET /api/traces` with 100 traces of 10k minimal spans stored (the
//!    median of 3; one when a GET takes over 30 s; `>300 s` when one passes
//!    300 s).
//! 7. the shutdown time (SIGTERM to exit) with that store (`>30 s`: killed).
//! 8. idle connections: 1000, 4000, then 5000 idle TCP connections to the OTLP/HTTP
//!    port plus 20 that send a request head one line every 2 s; the largest
//!    count at which a small export still answered within 2 s, and whether the
//!    server closed the 20 slow heads within 15 s.
//!
//! Only the flags every build has are passed (`--grpc`, `--http`, `--ui`), and
//! every request stays under the 4 MiB body limit of older builds.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use support::{clock_ticks, cpu_seconds};
use testkit::process;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tonic::transport::Channel;

const THIS_BIN: &str = env!("CARGO_BIN_EXE_collector");
const REFERENCE_VAR: &str = "COLLECTOR_REFERENCE_BIN";
const TASKSET: &str = "/usr/bin/taskset";

/// Spans per batch in figures 1-4, and attributes per span.
const BATCH_SPANS: usize = 512;
const ATTRIBUTES: usize = 10;
const DECODE_TIME: Duration = Duration::from_secs(2);
const CONNECTIONS: usize = 8;
const LOAD_TIME: Duration = Duration::from_secs(3);
/// Batches each connection sends before the clock starts.
const WARM_UP_BATCHES: usize = 2;
const RSS_TRACES: usize = 200;
const BIG_TRACES: [usize; 3] = [10_000, 20_000, 40_000];
const BIG_TRACE_TIMEOUT: Duration = Duration::from_secs(120);
const STORE_TRACES: usize = 100;
const STORE_TRACE_SPANS: usize = 10_000;
/// The whole load of figure 6 must be done by then.
const STORE_LOAD_CAP: Duration = Duration::from_secs(240);
const LIST_TIMEOUT: Duration = Duration::from_secs(300);
const LIST_SAMPLES: usize = 3;
/// A GET slower than this is not repeated.
const LIST_REPEAT_BELOW: Duration = Duration::from_secs(30);
const SHUTDOWN_CAP: Duration = Duration::from_secs(30);
const IDLE_STEPS: [usize; 3] = [1000, 4000, 5000];
const SLOW_HEADS: usize = 20;
const SLOW_LINE_EVERY: Duration = Duration::from_secs(2);
const SLOW_WINDOW: Duration = Duration::from_secs(15);
const EXPORT_DEADLINE: Duration = Duration::from_secs(2);
/// File descriptors this process keeps free besides the idle connections.
const FD_RESERVE: usize = 256;
/// Older builds refuse bodies over 4 MiB.
const MAX_BODY: usize = 4 * 1024 * 1024;
const BANNER_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else is read.
    let reference = match std::env::var_os(REFERENCE_VAR) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            ensure!(
                path.is_file(),
                "{REFERENCE_VAR}={} is no file",
                path.display()
            );
            Some(path)
        }
        _ => None,
    };
    let mut builds = vec![("this build".to_owned(), PathBuf::from(THIS_BIN))];
    if let Some(path) = reference {
        builds.push(("reference".to_owned(), path));
    }
    // reqwest is built without a TLS provider of its own; this one is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cpus = CpuPlan::detect();
    let setup = describe_setup(cpus.as_ref())?;
    progress(&setup);

    progress("figure 1: decode-only, one thread");
    let decode = decode_only()?;
    progress(&format!("  {} spans/s", thousands(decode)));

    let runtime = tokio::runtime::Runtime::new().context("starting a tokio runtime")?;
    let mut columns = Vec::new();
    for (label, path) in &builds {
        progress(&format!("== {label} ({})", path.display()));
        columns.push(runtime.block_on(measure_build(path, decode, cpus.as_ref())));
    }
    print_table(&setup, decode, &builds, &columns);
    Ok(())
}

fn progress(line: &str) {
    eprintln!("[ingest] {line}");
}

/// The machine and the workload, in one line.
fn describe_setup(cpus: Option<&CpuPlan>) -> anyhow::Result<String> {
    let batch = Template::new(rich_batch)?;
    let biggest = minimal_trace(&trace_id(0), BIG_TRACES[BIG_TRACES.len() - 1]).encoded_len();
    Ok(format!(
        "{} CPUs; {}; fd limit {}; 512-span batch {} bytes; {}-span trace {} bytes",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        match cpus {
            Some(plan) => format!(
                "collector pinned to CPU {} for figures 2-3, load on CPUs {}",
                plan.collector, plan.client
            ),
            None => "no taskset or a single CPU: nothing pinned".to_owned(),
        },
        fd_soft_limit().map_or_else(|e| format!("unknown ({e})"), |n| n.to_string()),
        batch.bytes.len(),
        BIG_TRACES[BIG_TRACES.len() - 1],
        biggest,
    ))
}

// ---------------------------------------------------------------------------
// Workload
// ---------------------------------------------------------------------------

/// Trace ids are this prefix and a counter; counter 0 is the placeholder of
/// the [`Template`]s.
const TRACE_PREFIX: [u8; 8] = *b"ingest\x5a\xa5";
static NEXT_TRACE: AtomicU64 = AtomicU64::new(1);

fn trace_id(counter: u64) -> [u8; 16] {
    let mut id = [0; 16];
    id[..8].copy_from_slice(&TRACE_PREFIX);
    id[8..].copy_from_slice(&counter.to_be_bytes());
    id
}

fn fresh_trace_id() -> [u8; 16] {
    trace_id(NEXT_TRACE.fetch_add(1, Ordering::Relaxed))
}

fn span_id(index: usize) -> [u8; 8] {
    (index as u64 + 1).to_be_bytes()
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn string_value(key: &str, value: impl Into<String>) -> KeyValue {
    attribute(key, any_value::Value::StringValue(value.into()))
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Ten attributes of an HTTP request and what it touched: strings, ints and
/// bools.
fn rich_attributes(index: usize) -> Vec<KeyValue> {
    use any_value::Value::{BoolValue, IntValue};
    let user = 10_000 + (index as i64 * 7919) % 90_000;
    let attributes = vec![
        string_value(
            "http.request.method",
            if index.is_multiple_of(4) {
                "POST"
            } else {
                "GET"
            },
        ),
        string_value("http.route", "/api/v1/users/{id}/orders"),
        string_value("url.path", format!("/api/v1/users/{user}/orders")),
        attribute(
            "http.response.status_code",
            IntValue(if index.is_multiple_of(50) { 503 } else { 200 }),
        ),
        string_value("server.address", "orders.internal.example.com"),
        attribute("server.port", IntValue(8443)),
        attribute("user.id", IntValue(user)),
        string_value("db.system.name", "postgresql"),
        attribute("cache.hit", BoolValue(index.is_multiple_of(3))),
        attribute(
            "feature_flag.new_checkout",
            BoolValue(index.is_multiple_of(2)),
        ),
    ];
    debug_assert_eq!(attributes.len(), ATTRIBUTES);
    attributes
}

/// One resource (service.name and a few more) and one scope holding `spans`.
fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string_value("service.name", "checkout"),
                    string_value("service.version", "2.14.1"),
                    string_value("deployment.environment.name", "bench"),
                    string_value("host.name", "bench-host-01"),
                    string_value("telemetry.sdk.language", "rust"),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "ingest-bench".into(),
                    version: "0.1.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// The batch of figures 1-4: one trace, a root span and 511 children of it,
/// ten attributes each; in the order an SDK exports them (by end time), so
/// the root comes last.
fn rich_batch(trace: &[u8; 16]) -> ExportTraceServiceRequest {
    const NAMES: [&str; 4] = ["SELECT orders", "cache.get", "GET inventory", "render"];
    let base = now_nanos().saturating_sub(60_000_000_000);
    let spans = (1..BATCH_SPANS)
        .chain([0])
        .map(|i| {
            let start = base + i as u64 * 20_000;
            let (name, kind, parent, end) = if i == 0 {
                let end = base + BATCH_SPANS as u64 * 20_000 + 10_000;
                (
                    "GET /api/v1/users/{id}/orders",
                    SpanKind::Server,
                    vec![],
                    end,
                )
            } else {
                let kind = if i % 4 == 2 {
                    SpanKind::Client
                } else {
                    SpanKind::Internal
                };
                (NAMES[i % 4], kind, span_id(0).to_vec(), start + 15_000)
            };
            Span {
                trace_id: trace.to_vec(),
                span_id: span_id(i).to_vec(),
                parent_span_id: parent,
                name: name.into(),
                kind: kind as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes: rich_attributes(i),
                ..Default::default()
            }
        })
        .collect();
    request(spans)
}

/// Figures 5-7: `count` spans with ids, name, kind and times only, as a
/// 16-ary tree (span k's parent is span (k - 1) / 16; 40k spans are 4 levels
/// below the root), each span nested in its parent's time; in the order an
/// SDK exports them (by end time): every span after its children, the root
/// last.
fn minimal_trace(trace: &[u8; 16], count: usize) -> ExportTraceServiceRequest {
    const FAN_OUT: usize = 16;
    let base = now_nanos().saturating_sub(60_000_000_000);
    let mut spans = Vec::with_capacity(count);
    let mut starts = vec![0; count];
    // A tick per entry and per exit of a node: children nest in the parent.
    let mut clock = base;
    // (span, its children are done)
    let mut stack = vec![(0, false)];
    while let Some((i, children_done)) = stack.pop() {
        clock += 1_000;
        if !children_done {
            starts[i] = clock;
            stack.push((i, true));
            let children = (FAN_OUT * i + 1..=FAN_OUT * i + FAN_OUT).filter(|&c| c < count);
            stack.extend(children.rev().map(|c| (c, false)));
            continue;
        }
        spans.push(Span {
            trace_id: trace.to_vec(),
            span_id: span_id(i).to_vec(),
            parent_span_id: if i == 0 {
                Vec::new()
            } else {
                span_id((i - 1) / FAN_OUT).to_vec()
            },
            name: "work".into(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: starts[i],
            end_time_unix_nano: clock,
            ..Default::default()
        });
    }
    request(spans)
}

fn span_count(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum()
}

/// An encoded request whose trace id is replaced in place, so that the load
/// generator sends a new trace per request without encoding one.
struct Template {
    bytes: Vec<u8>,
    /// Where the counter half of each span's trace id sits.
    counter_offsets: Vec<usize>,
    spans: usize,
}

impl Template {
    fn new(build: impl Fn(&[u8; 16]) -> ExportTraceServiceRequest) -> anyhow::Result<Template> {
        let placeholder = trace_id(0);
        let request = build(&placeholder);
        let spans = span_count(&request);
        let bytes = request.encode_to_vec();
        ensure!(
            bytes.len() < MAX_BODY,
            "a body of {} bytes is over the 4 MiB limit",
            bytes.len()
        );
        let counter_offsets: Vec<usize> = bytes
            .windows(placeholder.len())
            .enumerate()
            .filter(|(_, window)| *window == placeholder)
            .map(|(offset, _)| offset + 8)
            .collect();
        ensure!(
            counter_offsets.len() == spans,
            "found the trace id {} times in the encoding of {spans} spans",
            counter_offsets.len()
        );
        Ok(Template {
            bytes,
            counter_offsets,
            spans,
        })
    }

    fn body(&self, trace: &[u8; 16]) -> Vec<u8> {
        let mut body = self.bytes.clone();
        for &offset in &self.counter_offsets {
            body[offset..offset + 8].copy_from_slice(&trace[8..]);
        }
        body
    }

    fn fresh_body(&self) -> Vec<u8> {
        self.body(&fresh_trace_id())
    }
}

// ---------------------------------------------------------------------------
// The collector as a child process
// ---------------------------------------------------------------------------

/// Where the collector runs.
#[derive(Clone, Copy)]
enum Cores<'a> {
    /// Wherever the scheduler puts it, its default worker threads.
    All,
    /// One tokio worker thread, on the plan's collector CPU if there is one.
    One(Option<&'a CpuPlan>),
}

/// A running collector; killed when dropped (also on error and panic paths).
struct Running {
    child: Child,
    grpc_url: String,
    http: SocketAddr,
    ui: SocketAddr,
}

impl Running {
    /// Starts `bin` on free ports.
    fn start(bin: &Path, cores: Cores<'_>) -> anyhow::Result<Running> {
        let mut command = match cores {
            Cores::One(Some(plan)) => {
                let mut command = Command::new(TASKSET);
                command.args(["-c", &plan.collector.to_string()]).arg(bin);
                command
            }
            Cores::One(None) | Cores::All => Command::new(bin),
        };
        if let Cores::One(_) = cores {
            command.env("TOKIO_WORKER_THREADS", "1");
        }
        command
            .args(process::COLLECTOR_FREE_PORTS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stderr = child.stderr.take().context("the child's stderr")?;
        // Guard first: a bad banner (a panic) still ends the process.
        let mut running = Running {
            child,
            grpc_url: String::new(),
            http: SocketAddr::from(([0, 0, 0, 0], 0)),
            ui: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        let lines = process::lines(stderr);
        let grpc = process::banner_addr(&lines, "OTLP/gRPC", BANNER_TIMEOUT);
        running.grpc_url = format!("http://{grpc}");
        running.http = process::banner_addr(&lines, "OTLP/HTTP", BANNER_TIMEOUT);
        running.ui = process::banner_addr(&lines, "web view", BANNER_TIMEOUT);
        Ok(running)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    fn ui_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.ui)
    }

    /// SIGTERM, then the time until the process exits; `None` when `cap`
    /// passed first (it is then killed).
    fn terminate(&mut self, cap: Duration) -> anyhow::Result<Option<Duration>> {
        let started = Instant::now();
        process::signal(self.pid(), process::Signal::TERM)?;
        loop {
            if self
                .child
                .try_wait()
                .context("waiting for the collector")?
                .is_some()
            {
                return Ok(Some(started.elapsed()));
            }
            if started.elapsed() > cap {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// /proc and CPUs
// ---------------------------------------------------------------------------

fn vm_rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))?;
    Ok(kib * 1024)
}

/// CPU time the whole machine spent busy (not idle, not waiting for I/O),
/// from the first line of `/proc/stat`.
fn machine_busy_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    ensure!(ticks.len() >= 5, "no cpu line in /proc/stat");
    // user nice system idle iowait irq softirq steal ...: guest time is
    // already part of user; steal (the hypervisor serving other guests)
    // counts as busy, it is lost to us all the same.
    let busy: u64 = ticks.iter().take(8).sum::<u64>() - ticks[3] - ticks[4];
    Ok(busy as f64 / clock_ticks())
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// The soft `ulimit -n` of this process.
fn fd_soft_limit() -> anyhow::Result<usize> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .context("no `Max open files` in /proc/self/limits")
}

/// Which CPU the collector gets in figures 2-3, and which this process.
struct CpuPlan {
    collector: usize,
    /// taskset list, e.g. `1` or `1,2,3`.
    client: String,
    client_cpus: usize,
    /// What this process had at the start.
    all: String,
}

impl CpuPlan {
    /// `None` without taskset or with one CPU.
    fn detect() -> Option<CpuPlan> {
        if !Path::new(TASKSET).exists() {
            return None;
        }
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let list = status
            .lines()
            .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?
            .trim()
            .to_owned();
        let cpus = parse_cpu_list(&list)?;
        let (&collector, rest) = cpus.split_first()?;
        if rest.is_empty() {
            return None;
        }
        let client: Vec<String> = rest.iter().map(usize::to_string).collect();
        Some(CpuPlan {
            collector,
            client: client.join(","),
            client_cpus: rest.len(),
            all: list,
        })
    }
}

/// `0-3,6` → [0, 1, 2, 3, 6].
fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((from, to)) => cpus.extend(from.parse::<usize>().ok()?..=to.parse().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    Some(cpus)
}

/// Every thread of this process on `cpus` (a taskset list) while it lives;
/// back on `all` when dropped.
struct PinnedSelf<'a>(&'a CpuPlan);

impl PinnedSelf<'_> {
    fn new(plan: &CpuPlan) -> anyhow::Result<PinnedSelf<'_>> {
        set_own_cpus(&plan.client)?;
        Ok(PinnedSelf(plan))
    }
}

impl Drop for PinnedSelf<'_> {
    fn drop(&mut self) {
        if let Err(e) = set_own_cpus(&self.0.all) {
            progress(&format!("could not unpin this process: {e:#}"));
        }
    }
}

fn set_own_cpus(list: &str) -> anyhow::Result<()> {
    let output = Command::new(TASKSET)
        .args(["-a", "-p", "-c", list, &std::process::id().to_string()])
        .output()
        .context("running taskset")?;
    ensure!(
        output.status.success(),
        "taskset -a -p -c {list} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// One keep-alive connection per client (the pool keeps one idle).
fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(timeout)
        .build()
        .context("building an HTTP client")
}

/// POSTs one OTLP/HTTP protobuf body: `Some(rejected spans)` on 200, `None`
/// when the client's timeout passed first, an error otherwise.
async fn post_export(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
) -> anyhow::Result<Option<u64>> {
    let sent = client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("POST {url}"))),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) if e.is_timeout() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading the answer of {url}"))),
    };
    ensure!(
        status == reqwest::StatusCode::OK,
        "POST {url}: {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(200)])
    );
    let answer = ExportTraceServiceResponse::decode(body)
        .with_context(|| format!("POST {url}: the 200 answer is no ExportTraceServiceResponse"))?;
    Ok(Some(rejected(&answer)))
}

fn rejected(answer: &ExportTraceServiceResponse) -> u64 {
    answer
        .partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_spans.max(0) as u64)
}

/// `GET /api/traces`: (traces, spans) stored; `None` when the client's
/// timeout passed first.
async fn stored(
    client: &reqwest::Client,
    running: &Running,
) -> anyhow::Result<Option<(usize, usize)>> {
    let url = running.ui_url("/api/traces");
    let response = match client.get(&url).send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("GET {url}"))),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) if e.is_timeout() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {url}"))),
    };
    ensure!(status == reqwest::StatusCode::OK, "GET {url}: {status}");
    let list: serde_json::Value =
        serde_json::from_slice(&body).with_context(|| format!("GET {url}: no JSON"))?;
    let traces = list["traces"]
        .as_array()
        .with_context(|| format!("GET {url}: no `traces` array"))?;
    let spans = traces
        .iter()
        .map(|t| t["span_count"].as_u64().map(|n| n as usize))
        .sum::<Option<usize>>()
        .with_context(|| format!("GET {url}: a trace without span_count"))?;
    Ok(Some((traces.len(), spans)))
}

/// Polls `/api/traces` until it lists `spans` spans.
async fn wait_until_stored(running: &Running, spans: usize, cap: Duration) -> anyhow::Result<()> {
    let client = http_client(cap)?;
    let deadline = Instant::now() + cap;
    loop {
        let seen = stored(&client, running).await?;
        if seen.is_some_and(|(_, n)| n == spans) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the store lists {seen:?} (traces, spans) after {cap:?}, not {spans} spans");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One load-generating connection.
enum Sender {
    Http {
        client: reqwest::Client,
        url: String,
        template: Arc<Template>,
    },
    Grpc {
        client: TraceServiceClient<Channel>,
        request: Arc<ExportTraceServiceRequest>,
    },
}

impl Sender {
    /// One batch of a new trace; the spans acknowledged.
    async fn send(&mut self) -> anyhow::Result<u64> {
        match self {
            Sender::Http {
                client,
                url,
                template,
            } => match post_export(client, url, template.fresh_body()).await? {
                Some(rejected) => Ok((template.spans as u64).saturating_sub(rejected)),
                None => bail!("POST {url} timed out"),
            },
            Sender::Grpc { client, request } => {
                let mut request = ExportTraceServiceRequest::clone(request);
                let id = fresh_trace_id();
                let spans = request
                    .resource_spans
                    .iter_mut()
                    .flat_map(|r| &mut r.scope_spans)
                    .flat_map(|s| &mut s.spans);
                let mut count = 0_u64;
                for span in spans {
                    span.trace_id.copy_from_slice(&id);
                    count += 1;
                }
                let answer = client
                    .export(request)
                    .await
                    .context("TraceService/Export")?;
                Ok(count.saturating_sub(rejected(answer.get_ref())))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The figures
// ---------------------------------------------------------------------------

/// Figure 1: spans/s decoded by one thread.
fn decode_only() -> anyhow::Result<f64> {
    let template = Template::new(rich_batch)?;
    let body = template.bytes.as_slice();
    let started = Instant::now();
    let mut batches = 0_u64;
    while started.elapsed() < DECODE_TIME {
        let request = ExportTraceServiceRequest::decode(std::hint::black_box(body))
            .context("decoding our own batch")?;
        std::hint::black_box(request);
        batches += 1;
    }
    Ok((batches * template.spans as u64) as f64 / started.elapsed().as_secs_f64())
}

struct Throughput {
    spans_per_second: f64,
    batches: u64,
    failed: u64,
    first_failure: Option<String>,
    /// Cores' worth of CPU over the measured time.
    collector_cpu: f64,
    client_cpu: f64,
    client_cpus: usize,
    /// What every other process on the machine used meanwhile (a compiler,
    /// say): it shares the collector's core too.
    others_cpu: f64,
}

/// Figures 2 and 3: 8 connections for 3 s against a collector on one core.
async fn throughput(bin: &Path, cpus: Option<&CpuPlan>, grpc: bool) -> anyhow::Result<Throughput> {
    let running = Running::start(bin, Cores::One(cpus))?;
    let _pinned = cpus.map(PinnedSelf::new).transpose()?;
    let template = Arc::new(Template::new(rich_batch)?);
    let request = Arc::new(rich_batch(&trace_id(0)));
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        senders.push(if grpc {
            let channel = Channel::from_shared(running.grpc_url.clone())
                .context("the gRPC URL")?
                .timeout(Duration::from_secs(30))
                .connect()
                .await
                .with_context(|| format!("connecting to {}", running.grpc_url))?;
            Sender::Grpc {
                client: TraceServiceClient::new(channel),
                request: request.clone(),
            }
        } else {
            Sender::Http {
                client: http_client(Duration::from_secs(30))?,
                url: running.http_url("/v1/traces"),
                template: template.clone(),
            }
        });
    }
    let warm_ups = senders.into_iter().map(|mut sender| {
        tokio::spawn(async move {
            for _ in 0..WARM_UP_BATCHES {
                sender.send().await?;
            }
            anyhow::Ok(sender)
        })
    });
    let mut senders = Vec::new();
    for warm_up in warm_ups.collect::<Vec<_>>() {
        senders.push(warm_up.await.context("a warm-up task")??);
    }

    let pid = running.pid().to_string();
    let (collector_before, client_before) = (cpu_seconds(&pid)?, cpu_seconds("self")?);
    let machine_before = machine_busy_seconds()?;
    let started = Instant::now();
    let deadline = started + LOAD_TIME;
    let workers: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            tokio::spawn(async move {
                let (mut acked, mut batches, mut failed, mut first_failure) = (0, 0, 0, None);
                while Instant::now() < deadline {
                    match sender.send().await {
                        Ok(spans) => {
                            acked += spans;
                            batches += 1;
                        }
                        Err(e) => {
                            failed += 1;
                            first_failure.get_or_insert_with(|| format!("{e:#}"));
                        }
                    }
                }
                (acked, batches, failed, first_failure)
            })
        })
        .collect();
    let mut result = Throughput {
        spans_per_second: 0.0,
        batches: 0,
        failed: 0,
        first_failure: None,
        collector_cpu: 0.0,
        client_cpu: 0.0,
        others_cpu: 0.0,
        client_cpus: cpus.map_or(
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            |plan| plan.client_cpus,
        ),
    };
    let mut acked = 0;
    for worker in workers {
        let (spans, batches, failed, first_failure) = worker.await.context("a load task")?;
        acked += spans;
        result.batches += batches;
        result.failed += failed;
        if result.first_failure.is_none() {
            result.first_failure = first_failure;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let collector = cpu_seconds(&pid)? - collector_before;
    let client = cpu_seconds("self")? - client_before;
    let machine = machine_busy_seconds()? - machine_before;
    result.collector_cpu = collector / elapsed;
    result.client_cpu = client / elapsed;
    result.others_cpu = (machine - collector - client).max(0.0) / elapsed;
    result.spans_per_second = acked as f64 / elapsed;
    Ok(result)
}

/// Figure 4: resident bytes per stored span.
async fn rss_per_span(bin: &Path) -> anyhow::Result<f64> {
    let running = Running::start(bin, Cores::All)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = vm_rss_bytes(running.pid())?;
    let template = Template::new(rich_batch)?;
    let client = http_client(Duration::from_secs(60))?;
    let url = running.http_url("/v1/traces");
    for _ in 0..RSS_TRACES {
        match post_export(&client, &url, template.fresh_body()).await? {
            Some(0) => {}
            Some(rejected) => bail!("{rejected} spans rejected"),
            None => bail!("an export timed out"),
        }
    }
    let spans = RSS_TRACES * BATCH_SPANS;
    wait_until_stored(&running, spans, Duration::from_secs(60)).await?;
    let after = vm_rss_bytes(running.pid())?;
    Ok(after.saturating_sub(before) as f64 / spans as f64)
}

/// Figure 5: one request holding a whole trace of `spans` spans; `None`
/// when it took longer than [`BIG_TRACE_TIMEOUT`].
async fn big_trace(bin: &Path, spans: usize) -> anyhow::Result<Option<Duration>> {
    let running = Running::start(bin, Cores::All)?;
    let body = minimal_trace(&fresh_trace_id(), spans).encode_to_vec();
    ensure!(
        body.len() < MAX_BODY,
        "{spans} spans take {} bytes",
        body.len()
    );
    let client = http_client(BIG_TRACE_TIMEOUT)?;
    let started = Instant::now();
    match post_export(&client, &running.http_url("/v1/traces"), body).await? {
        Some(0) => Ok(Some(started.elapsed())),
        Some(rejected) => bail!("{rejected} of {spans} spans rejected"),
        None => Ok(None),
    }
}

struct FullStore {
    load: Duration,
    /// GETs that listed the whole store.
    lists: Vec<Duration>,
    list_timed_out: bool,
    /// `None`: not within [`SHUTDOWN_CAP`].
    shutdown: Option<Duration>,
}

/// Figures 6 and 7: a store of 100 traces of 10k spans, listed, then stopped.
async fn full_store(bin: &Path) -> anyhow::Result<FullStore> {
    let mut running = Running::start(bin, Cores::All)?;
    let template = Template::new(|id| minimal_trace(id, STORE_TRACE_SPANS))?;
    let client = http_client(STORE_LOAD_CAP)?;
    let url = running.http_url("/v1/traces");
    let started = Instant::now();
    for i in 0..STORE_TRACES {
        ensure!(
            started.elapsed() < STORE_LOAD_CAP,
            "only {i} of {STORE_TRACES} traces loaded in {STORE_LOAD_CAP:?}"
        );
        match post_export(&client, &url, template.fresh_body()).await? {
            Some(0) => {}
            Some(rejected) => bail!("{rejected} spans rejected"),
            None => bail!("loading trace {i} took over {STORE_LOAD_CAP:?}"),
        }
    }
    let load = started.elapsed();
    progress(&format!("  loaded in {:.1} s; listing", load.as_secs_f64()));

    let expected = STORE_TRACES * STORE_TRACE_SPANS;
    let client = http_client(LIST_TIMEOUT)?;
    let wait_deadline = Instant::now() + Duration::from_secs(60);
    let (mut lists, mut list_timed_out) = (Vec::new(), false);
    while lists.len() < LIST_SAMPLES {
        let sent = Instant::now();
        match stored(&client, &running).await? {
            None => {
                list_timed_out = true;
                break;
            }
            Some((_, spans)) if spans == expected => {
                let took = sent.elapsed();
                progress(&format!("  GET /api/traces: {:.3} s", took.as_secs_f64()));
                lists.push(took);
                if took > LIST_REPEAT_BELOW {
                    break;
                }
            }
            Some((traces, spans)) => {
                ensure!(
                    lists.is_empty() && Instant::now() < wait_deadline,
                    "the store lists {spans} spans in {traces} traces, not {expected}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    drop(client);
    progress("  shutting down with the store full");
    let shutdown = running.terminate(SHUTDOWN_CAP)?;
    Ok(FullStore {
        load,
        lists,
        list_timed_out,
        shutdown,
    })
}

struct Idle {
    /// The largest count at which the export answered, the file
    /// descriptors the server had opened since its start (idle and slow
    /// connections it accepted), and the export's latency.
    survived: Option<(usize, usize, Duration)>,
    /// Why the next step did not count, if one did not.
    stopped: Option<String>,
    /// Set when the fd limit lowered a step.
    capped: Option<usize>,
    /// Close times of the slow heads the server closed within the window.
    slow_closed: Vec<Duration>,
    slow_failed: Option<String>,
}

/// Figure 8: idle and slow connections, and one export through them.
async fn idle_connections(bin: &Path) -> anyhow::Result<Idle> {
    let running = Running::start(bin, Cores::All)?;
    let addr = running.http;
    let baseline_fds = open_fds(running.pid());
    let slow: Vec<_> = (0..SLOW_HEADS)
        .map(|i| tokio::spawn(slow_head(addr, i)))
        .collect();

    let limit = fd_soft_limit()?
        .saturating_sub(FD_RESERVE + SLOW_HEADS)
        .max(1);
    let mut idle = Vec::new();
    let mut result = Idle {
        survived: None,
        stopped: None,
        capped: None,
        slow_closed: Vec::new(),
        slow_failed: None,
    };
    let small = Template::new(|id| minimal_trace(id, 8))?;
    for step in IDLE_STEPS {
        let target = step.min(limit);
        if target < step {
            result.capped = Some(target);
        }
        progress(&format!("  {target} idle connections"));
        // A refused or unanswered connect ends the steps, but the export is
        // still tried: does the server answer with its limit reached?
        let connect_failure = open_idle(addr, target, &mut idle).await.err();
        // Give the server time to accept them all (its open fds tell).
        let accept_deadline = Instant::now() + Duration::from_secs(5);
        while open_fds(running.pid()) < baseline_fds + idle.len()
            && Instant::now() < accept_deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let held = open_fds(running.pid()).saturating_sub(baseline_fds);
        let client = http_client(EXPORT_DEADLINE)?;
        let sent = Instant::now();
        let export = post_export(&client, &running.http_url("/v1/traces"), small.fresh_body())
            .await
            .map(|answered| answered.map(|_| sent.elapsed()));
        match (connect_failure, export) {
            (None, Ok(Some(took))) => result.survived = Some((target, held, took)),
            (connect_failure, export) => {
                let export = match export {
                    Ok(Some(took)) => format!("export answered in {}", seconds(took)),
                    Ok(None) => format!("export: no answer within {EXPORT_DEADLINE:?}"),
                    Err(e) => format!("export failed: {e:#}"),
                };
                let connected = match connect_failure {
                    Some(e) => format!("{} connected ({e:#})", idle.len()),
                    None => format!("{} connected", idle.len()),
                };
                result.stopped = Some(format!(
                    "at {target}: {connected}, server +{held} fds; {export}"
                ));
                break;
            }
        }
        if target < step {
            break;
        }
    }
    for task in slow {
        match task.await.context("a slow-head task")? {
            Ok(Some(closed)) => result.slow_closed.push(closed),
            Ok(None) => {}
            Err(e) => {
                result.slow_failed.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    drop(idle);
    Ok(result)
}

/// Opens idle connections until `idle` holds `target`.
async fn open_idle(
    addr: SocketAddr,
    target: usize,
    idle: &mut Vec<TcpStream>,
) -> anyhow::Result<()> {
    while idle.len() < target {
        let connect = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr));
        let stream = connect
            .await
            .map_err(|_| anyhow::anyhow!("connect {} timed out after 2 s", idle.len() + 1))?
            .with_context(|| format!("connect {}", idle.len() + 1))?;
        idle.push(stream);
    }
    Ok(())
}

/// A request head sent one header line every 2 s; when (after connecting)
/// the server closed the connection, `None` if it did not within 15 s.
async fn slow_head(addr: SocketAddr, index: usize) -> anyhow::Result<Option<Duration>> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr)
        .await
        .context("connecting a slow head")?;
    let (mut reader, mut writer) = stream.into_split();
    let window_end = tokio::time::Instant::from_std(started + SLOW_WINDOW);
    let mut next_line = tokio::time::Instant::from_std(started);
    let mut lines = 0;
    let mut buffer = [0; 1024];
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                // EOF or reset: closed.
                Ok(0) | Err(_) => return Ok(Some(started.elapsed())),
                // An answer (e.g. 408) before the close; keep reading.
                Ok(_) => {}
            },
            () = tokio::time::sleep_until(next_line.min(window_end)) => {
                if tokio::time::Instant::now() >= window_end {
                    return Ok(None);
                }
                let line = if lines == 0 {
                    "POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1\r\n".to_owned()
                } else {
                    format!("x-slow-{index}: {lines}\r\n")
                };
                if writer.write_all(line.as_bytes()).await.is_err() {
                    return Ok(Some(started.elapsed()));
                }
                lines += 1;
                next_line += SLOW_LINE_EVERY;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// One build's column, and the table
// ---------------------------------------------------------------------------

const ROWS: [&str; 15] = [
    "2. OTLP/HTTP protobuf, 8 conns, 1 core",
    "   CPU: collector / load gen / others",
    "3. OTLP/gRPC, 8 channels, 1 core",
    "   CPU: collector / load gen / others",
    "4. RSS per stored span (200 x 512)",
    "5. ingest 1 trace of 10k spans",
    "   20k spans",
    "   40k spans",
    "6. load 100 x 10k spans (setup)",
    "6. GET /api/traces, 100 x 10k stored",
    "7. shutdown, 100 x 10k stored",
    "8. idle conns survived (+20 slow)",
    "   export latency at that count",
    "   the step that failed",
    "8. slow heads closed within 15 s",
];

async fn measure_build(bin: &Path, decode: f64, cpus: Option<&CpuPlan>) -> Vec<String> {
    let mut column = Vec::new();
    for grpc in [false, true] {
        progress(&format!(
            "figure {}: {} load, {CONNECTIONS} connections, {LOAD_TIME:?}",
            if grpc { 3 } else { 2 },
            if grpc { "OTLP/gRPC" } else { "OTLP/HTTP" }
        ));
        column.extend(cells(throughput(bin, cpus, grpc).await, 2, |t| {
            throughput_cells(&t, decode)
        }));
    }
    progress("figure 4: RSS per stored span");
    column.extend(cells(rss_per_span(bin).await, 1, |bytes| {
        vec![format!("{bytes:.0} B/span")]
    }));
    for spans in BIG_TRACES {
        progress(&format!("figure 5: one trace of {spans} spans"));
        column.extend(cells(big_trace(bin, spans).await, 1, |took| {
            vec![match took {
                Some(took) => seconds(took),
                None => format!(">{} s", BIG_TRACE_TIMEOUT.as_secs()),
            }]
        }));
    }
    progress("figures 6-7: 100 traces of 10k spans, list, shutdown");
    column.extend(cells(full_store(bin).await, 3, |store| {
        full_store_cells(&store)
    }));
    progress("figure 8: idle and slow connections");
    column.extend(cells(idle_connections(bin).await, 4, |idle| {
        idle_cells(&idle)
    }));
    debug_assert_eq!(column.len(), ROWS.len());
    column
}

/// A figure's cells, or `failed` in each (the error goes to stderr).
fn cells<T>(
    result: anyhow::Result<T>,
    rows: usize,
    format: impl FnOnce(T) -> Vec<String>,
) -> Vec<String> {
    let cells = match result {
        Ok(value) => format(value),
        Err(e) => {
            progress(&format!("  failed: {e:#}"));
            vec!["failed (see above)".to_owned(); rows]
        }
    };
    for cell in &cells {
        progress(&format!("  -> {cell}"));
    }
    cells
}

fn throughput_cells(t: &Throughput, decode: f64) -> Vec<String> {
    let mut rate = format!(
        "{} spans/s ({:.2}x decode-only)",
        thousands(t.spans_per_second),
        t.spans_per_second / decode
    );
    if t.failed > 0 {
        rate.push_str(&format!(
            "; {} of {} failed",
            t.failed,
            t.failed + t.batches
        ));
        if let Some(first) = &t.first_failure {
            progress(&format!("  first failure: {first}"));
        }
    }
    let mut cpu = format!(
        "{:.0}% / {:.0}% (of {} core{}) / {:.0}%",
        t.collector_cpu * 100.0,
        t.client_cpu * 100.0,
        t.client_cpus,
        if t.client_cpus == 1 { "" } else { "s" },
        t.others_cpu * 100.0,
    );
    // The load generator is the limit when it used (nearly) all it had.
    if t.client_cpu > 0.9 * t.client_cpus as f64 {
        cpu.push_str(" (client-bound!)");
    }
    // Other processes took CPU the collector could have had.
    if t.others_cpu > 0.25 {
        cpu.push_str(" (busy machine!)");
    }
    vec![rate, cpu]
}

fn full_store_cells(store: &FullStore) -> Vec<String> {
    let list = if store.list_timed_out {
        format!(">{} s", LIST_TIMEOUT.as_secs())
    } else {
        let mut sorted = store.lists.clone();
        sorted.sort();
        match sorted.get(sorted.len() / 2) {
            Some(median) if sorted.len() == 1 => format!("{} (1 GET)", seconds(*median)),
            Some(median) => format!("{} (median of {})", seconds(*median), sorted.len()),
            None => "no GET listed the whole store".to_owned(),
        }
    };
    let shutdown = match store.shutdown {
        Some(took) => seconds(took),
        None => format!(">{} s", SHUTDOWN_CAP.as_secs()),
    };
    vec![seconds(store.load), list, shutdown]
}

fn idle_cells(idle: &Idle) -> Vec<String> {
    let mut survived = match idle.survived {
        Some((count, held, _)) => format!("{count} (server holds +{held} fds)"),
        None => "none".to_owned(),
    };
    if let Some(cap) = idle.capped {
        survived.push_str(&format!(" (capped at {cap} by ulimit -n)"));
    }
    let latency = idle
        .survived
        .map_or_else(|| "-".to_owned(), |(_, _, took)| seconds(took));
    let next = idle.stopped.clone().unwrap_or_else(|| "-".to_owned());
    let mut slow = format!("{}/{SLOW_HEADS} closed", idle.slow_closed.len());
    if let (Some(first), Some(last)) =
        (idle.slow_closed.iter().min(), idle.slow_closed.iter().max())
    {
        slow.push_str(&format!(
            " (after {:.1}-{:.1} s)",
            first.as_secs_f64(),
            last.as_secs_f64()
        ));
    }
    if let Some(e) = &idle.slow_failed {
        progress(&format!("  a slow head failed: {e}"));
        slow.push_str(" (some failed to connect)");
    }
    vec![survived, latency, next, slow]
}

fn print_table(setup: &str, decode: f64, builds: &[(String, PathBuf)], columns: &[Vec<String>]) {
    println!();
    println!("{setup}");
    for (label, path) in builds {
        println!("{label}: {}", path.display());
    }
    println!(
        "1. decode-only (in-process, 1 thread, 512 spans x 10 attributes): {} spans/s",
        thousands(decode)
    );
    println!();
    let label_width = ROWS.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = builds
        .iter()
        .zip(columns)
        .map(|((label, _), column)| {
            column
                .iter()
                .map(String::len)
                .chain([label.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut header = format!("{:label_width$}", "figure");
    for ((label, _), width) in builds.iter().zip(&widths) {
        header.push_str(&format!(" | {label:width$}"));
    }
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for (row, label) in ROWS.iter().enumerate() {
        let mut line = format!("{label:label_width$}");
        for (column, width) in columns.iter().zip(&widths) {
            let cell = column.get(row).map_or("", String::as_str);
            line.push_str(&format!(" | {cell:width$}"));
        }
        println!("{}", line.trim_end());
    }
    println!();
    for note in NOTES {
        println!("{note}");
    }
}

const NOTES: [&str; 5] = [
    "2-3: a new trace per 512-span batch; CPU = cores' worth used during the run by the collector \
     (1 tokio worker) / this process (the load) / all other processes (they share the cores)",
    "4: VmRSS after minus before, over the 102 400 spans /api/traces lists",
    "5-7: minimal spans (ids, name, kind, times), a 16-ary tree; 5 and 6: send to answer",
    "7: SIGTERM to exit; 8: export = a new connection, a 8-span batch, 2 s deadline",
    "all spans in SDK export order (children before their parent, the root last)",
];

fn seconds(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

/// 1234567.8 → `1 234 568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}
