//! Memory under huge values, exports while big traces are read, and
//! SIGTERM during downloads: the collector *binary* of this build beside a
//! reference build (e.g. the collector of an older commit), in one run.
//!
//! ```text
//! cargo bench -p collector --bench readers
//! COLLECTOR_REFERENCE_BIN=/tmp/ref/collector cargo bench -p collector --bench readers
//! COLLECTOR_BIN=target/debug/collector cargo bench -p collector --bench readers   # a debug build
//! ```
//!
//! 1. RSS growth after 40 traces of one span, each with a 15 MiB attribute
//!    (sent one after the other over OTLP/HTTP).
//! 2. Export latency while four clients keep fetching a 100k-span trace
//!    (`GET /api/traces/{id}`) for 10 s: an export of one span every 100 ms,
//!    its median and slowest answer, and how many took over 1.5 s (an
//!    example's timeout; counted, not waited for).
//! 3. SIGTERM while two downloads of that trace are in flight: the time to
//!    exit (`>10 s`: killed).
//!
//! Only the flags every build has are passed (`--grpc`, `--http`, `--ui`).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use testkit::http::get;
use testkit::otlp::{export, post_export, span, string_attr};
use testkit::process::{COLLECTOR_FREE_PORTS, Signal, banner_addr, lines, signal};

const THIS_BIN: &str = env!("CARGO_BIN_EXE_collector");

struct Collector {
    child: Child,
    http: SocketAddr,
    ui: SocketAddr,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &str) -> Collector {
    let mut child = Command::new(bin)
        .args(COLLECTOR_FREE_PORTS)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the collector");
    let stderr = lines(child.stderr.take().expect("piped stderr"));
    let limit = Duration::from_secs(30);
    let http = banner_addr(&stderr, "OTLP/HTTP", limit);
    let ui = banner_addr(&stderr, "web view", limit);
    Collector { child, http, ui }
}

fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

async fn huge_values(bin: &str) -> String {
    let collector = start(bin);
    let pid = collector.child.id();
    post_export(
        collector.http,
        &export("warm-up", vec![span(&[1; 16], &[1; 8], None, "w")]),
    )
    .await;
    let before = rss(pid);
    let huge = "x".repeat(15 * 1024 * 1024);
    for n in 0..40u8 {
        let mut s = span(&[n + 2; 16], &[1; 8], None, "big");
        s.attributes.push(string_attr("payload", &huge));
        post_export(collector.http, &export("attacker", vec![s])).await;
    }
    format!("{} -> {} MiB", before >> 20, rss(pid) >> 20)
}

/// A trace of `spans` spans under one missing root, in batches.
async fn big_trace(http: SocketAddr, spans: usize) -> String {
    let trace_id = [7u8; 16];
    for batch in 0..spans / 5_000 {
        let batch: Vec<_> = (0..5_000)
            .map(|i| {
                let id = ((batch * 5_000 + i) as u64 + 1).to_be_bytes();
                span(&trace_id, &id, Some(&[0xff; 8]), "work")
            })
            .collect();
        post_export(http, &export("big", batch)).await;
    }
    format!("/api/traces/{}", "07".repeat(16))
}

async fn exports_while_read(bin: &str) -> String {
    let collector = start(bin);
    let path = big_trace(collector.http, 100_000).await;
    let stop = Instant::now() + Duration::from_secs(10);
    let ui = collector.ui;
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move {
                let mut reads = 0;
                while Instant::now() < stop {
                    get(ui, &path, &[]).await;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut late = 0;
    let mut n = 0u64;
    while Instant::now() < stop {
        n += 1;
        let one = export(
            "example",
            vec![span(&[9; 16], &n.to_be_bytes(), None, "main")],
        );
        let sent = Instant::now();
        let http = collector.http;
        // Not awaited past the timeout: a late answer still counts as late.
        let answer = tokio::spawn(async move { post_export(http, &one).await });
        match tokio::time::timeout(Duration::from_millis(1500), answer).await {
            Ok(_) => times.push(sent.elapsed()),
            Err(_) => late += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap_or(0);
    }
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let slowest = times.last().copied().unwrap_or_default();
    format!(
        "{} answered: median {:.1} ms, slowest {:.1} ms; {late} over 1.5 s; {reads} reads",
        times.len(),
        median.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
    )
}

async fn sigterm_during_downloads(bin: &str) -> String {
    let mut collector = start(bin);
    let path = big_trace(collector.http, 100_000).await;
    let ui = collector.ui;
    for _ in 0..2 {
        let path = path.clone();
        // Raw: the answer is cut by the shutdown, which is the point.
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let Ok(mut stream) = tokio::net::TcpStream::connect(ui).await else {
                return;
            };
            let head = format!("GET {path} HTTP/1.1\r\nHost: {ui}\r\nConnection: close\r\n\r\n");
            if stream.write_all(head.as_bytes()).await.is_ok() {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink).await;
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    let _ = signal(collector.child.id(), Signal::TERM);
    while sent.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = collector.child.try_wait() {
            return format!("{:.2} s", sent.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ">10 s".to_owned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let this = std::env::var("COLLECTOR_BIN").unwrap_or_else(|_| THIS_BIN.to_owned());
    let mut builds = vec![("this build", this)];
    if let Ok(reference) = std::env::var("COLLECTOR_REFERENCE_BIN") {
        builds.push(("reference", reference));
    }
    for (name, bin) in &builds {
        println!("{name}: {bin}");
        println!(
            "  1. RSS, 40 spans with a 15 MiB attribute: {}",
            huge_values(bin).await
        );
        println!(
            "  2. exports while 4 clients read a 100k-span trace: {}",
            exports_while_read(bin).await
        );
        println!(
            "  3. SIGTERM during two downloads of it: exit after {}",
            sigterm_during_downloads(bin).await
        );
    }
}
