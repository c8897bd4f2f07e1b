//! The collector binary under the two loads a long-running collector
//! meets: spans far bigger than anything useful (memory stays within the
//! budget, values come back cut and marked), and big traces being read
//! while exports keep coming (every export is answered in time).

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_collector");

/// What an example waits for an answer to its export before it calls the
/// collector unresponsive.
const EXAMPLE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The collector's resident memory, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

/// The binary with `args` on free ports: it, its OTLP/HTTP and web view
/// addresses.
fn start(args: &[&str]) -> (Running, SocketAddr, SocketAddr) {
    let mut command = Command::new(BIN);
    command.args(COLLECTOR_FREE_PORTS).args(args);
    let (running, stderr) = Running::with_stderr(command);
    let limit = Duration::from_secs(30);
    let http = banner_addr(&stderr, "OTLP/HTTP", limit);
    let ui = banner_addr(&stderr, "web view", limit);
    (running, http, ui)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_attributes_stay_within_the_memory_budget_and_come_back_cut() {
    const BUDGET_MIB: u64 = 32;
    let (collector, http, ui) = start(&["--max-memory", "32MiB"]);
    let pid = collector.0.id();
    send(http, "warm-up", vec![span(&[1; 16], &[1; 8], None, "warm")]).await;
    let before = rss(pid);

    // 40 traces of one span, each with a 15 MiB attribute: 600 MiB sent.
    let huge = "x".repeat(15 * 1024 * 1024);
    for n in 0..40u8 {
        let mut s = span(&[n + 2; 16], &[1; 8], None, "big");
        s.attributes.push(string_attr("payload", &huge));
        let answer = post_export(http, &export("attacker", vec![s])).await;
        assert_eq!(answer.status, 200, "export {n}: {}", answer.text());
    }
    let grown = rss(pid).saturating_sub(before);
    // The budget, plus what the decoding of one 15 MiB request at a time
    // and the allocator keep: far below the 600 MiB a collector that kept
    // the values would hold.
    let allowed = (BUDGET_MIB + 160) * 1024 * 1024;
    assert!(
        grown < allowed,
        "RSS grew by {} MiB (allowed {} MiB)",
        grown >> 20,
        allowed >> 20
    );

    let trace = get(ui, &format!("/api/traces/{}", hex_id(41)), &[]).await;
    assert_eq!(trace.status, 200, "{}", trace.text());
    let json: serde_json::Value = serde_json::from_slice(&trace.body).expect("JSON");
    let value = json["spans"][0]["attributes"]["payload"]
        .as_str()
        .expect("the payload attribute");
    assert!(
        value.ends_with("…[cut by the collector: 15728640 bytes in all]"),
        "{}",
        &value[value.len().saturating_sub(80)..]
    );
    assert!(value.len() < 65 * 1024, "cut to the 64 KiB default");
}

fn hex_id(byte: u8) -> String {
    format!("{byte:02x}").repeat(16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exports_are_answered_while_big_traces_are_read() {
    const SPANS: usize = 100_000;
    const BATCH: usize = 5_000;
    let (_collector, http, ui) = start(&[]);
    let trace_id = [7u8; 16];
    let root = [0xff; 8];
    for batch in 0..SPANS / BATCH {
        let spans = (0..BATCH)
            .map(|i| {
                let id = ((batch * BATCH + i) as u64 + 1).to_be_bytes();
                span(&trace_id, &id, Some(&root), "work")
            })
            .collect();
        let answer = post_export(http, &export("big", spans)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let path = format!("/api/traces/{}", hex_id(7));

    // Four readers fetch the 100k-span trace over and over...
    let stop = Instant::now() + Duration::from_secs(8);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move {
                let mut reads = 0;
                while Instant::now() < stop {
                    let answer = get(ui, &path, &[]).await;
                    assert_eq!(answer.status, 200);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    // ...while an example's exports keep coming, each answered in time.
    let mut slowest = Duration::ZERO;
    let mut exports = 0;
    while Instant::now() < stop {
        let n = exports as u64;
        let small = export(
            "example",
            vec![span(&[9; 16], &(n + 1).to_be_bytes(), None, "main")],
        );
        let sent = Instant::now();
        let answer = tokio::time::timeout(EXAMPLE_TIMEOUT, post_export(http, &small))
            .await
            .unwrap_or_else(|_| panic!("export {exports} not answered within {EXAMPLE_TIMEOUT:?}"));
        assert_eq!(answer.status, 200);
        slowest = slowest.max(sent.elapsed());
        exports += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.expect("a reader");
    }
    assert!(reads >= 4, "the readers read: {reads}");
    eprintln!(
        "{exports} exports answered, the slowest in {slowest:?}, while {reads} reads of {SPANS} spans"
    );
}
