//! A long-running server whose collector is down says so while it runs:
//! one warning when exports start failing (cause, count, what to do), a
//! line at most every 10 s while the outage lasts, one line when delivery
//! recovers, and a final report that counts the spans and the log records
//! lost. Real processes, real sockets, and the real 10 s.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use collector::{Collector, CollectorConfig};
use testkit::http;
use testkit::process::{self, RunningServer};

const SERVER: &str = env!("CARGO_BIN_EXE_server");
const LIMIT: Duration = Duration::from_secs(30);

/// The server's stderr lines that start with `prefix` and name `url`.
fn lines_about(server: &RunningServer, prefix: &str, url: &str) -> Vec<String> {
    server
        .stderr()
        .lines()
        .filter(|line| line.starts_with(prefix) && line.contains(url))
        .map(str::to_owned)
        .collect()
}

/// Serves `/hello` every 200 ms (so every export has spans and records to
/// send) until `done` holds or `limit` passes; the moment it held.
async fn serve_until(
    server: &RunningServer,
    limit: Duration,
    done: impl Fn() -> bool,
) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let answer = http::get(server.addr(), "/hello", &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        if done() {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_told_as_it_happens_and_its_end_too() {
    let port = process::closed_port().unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let traces = format!("{endpoint}/v1/traces");
    let logs = format!("{endpoint}/v1/logs");
    let server = process::example_server(SERVER, &endpoint, &[("OTEL_BSP_SCHEDULE_DELAY", "100")])
        .await
        .unwrap();

    // The first failed export is told at once, with its cause and count.
    let warned = serve_until(&server, Duration::from_secs(12), || {
        !lines_about(&server, "warning: could not deliver", &traces).is_empty()
    })
    .await
    .unwrap_or_else(|| panic!("no warning within 12 s:\n{}", server.stderr()));
    let first = lines_about(&server, "warning: could not deliver", &traces).remove(0);
    assert!(
        first.contains(&format!(
            " spans to {traces}: connection refused, nothing is listening on 127.0.0.1:{port}. \
             Start a collector with `cargo run -p collector`"
        )),
        "{first}"
    );
    assert!(first.ends_with("(still trying; a line will say when delivery recovers)"));

    // Failures go on: counted, and said again once 10 s have passed, not before.
    let again = serve_until(&server, Duration::from_secs(14), || {
        !lines_about(&server, "warning: spans to", &traces).is_empty()
    })
    .await
    .unwrap_or_else(|| panic!("no second line within 14 s:\n{}", server.stderr()));
    assert!(
        again - warned >= Duration::from_millis(9_500),
        "said again after {:?}:\n{}",
        again - warned,
        server.stderr()
    );
    let stderr = server.stderr();
    let warnings = lines_about(&server, "warning:", &traces);
    assert_eq!(warnings.len(), 2, "{stderr}");
    assert!(
        warnings[1].contains(" still fail after 1") && warnings[1].contains(" spans lost so far"),
        "{stderr}"
    );
    // The log records have their own streak, told as sparingly.
    let records = lines_about(&server, "warning:", &logs);
    assert!((1..=2).contains(&records.len()), "{stderr}");
    assert!(records[0].contains(" log record"), "{stderr}");

    // The collector comes up on that port: the recovery is told.
    let collector = Collector::start(CollectorConfig {
        http_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("the collector started on the port that was closed");
    serve_until(&server, Duration::from_secs(10), || {
        !lines_about(&server, "note: delivery of spans", &traces).is_empty()
    })
    .await
    .unwrap_or_else(|| panic!("no recovery line within 10 s:\n{}", server.stderr()));
    let recovered = lines_about(&server, "note: delivery of spans", &traces).remove(0);
    assert!(
        recovered.starts_with(&format!(
            "note: delivery of spans to {traces} recovered after "
        )),
        "{recovered}"
    );
    assert!(recovered.contains(" delivered since; "), "{recovered}");
    assert!(
        recovered.ends_with(" lost during the outage"),
        "{recovered}"
    );
    collector
        .wait_for_spans(1, Duration::from_secs(10))
        .await
        .unwrap();

    // SIGTERM: the final report counts what was lost, spans and records.
    server.terminate().unwrap();
    let out = server.wait(LIMIT).await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let report = out.stderr.lines().last().unwrap_or_default();
    assert!(
        report.starts_with("error: could not deliver ") && report.contains(" log records to "),
        "{report}"
    );
    assert!(
        report.ends_with("; delivery has recovered since)"),
        "{report}"
    );
    // The outage was told once, and a line every 10 s at most.
    let told = out
        .stderr
        .lines()
        .filter(|line| line.starts_with("warning:") && line.contains(&traces))
        .count();
    assert!(told <= 3, "{}", out.stderr);
}
