//! Figures for the exporter's failure reports: for each failure case, the
//! report line and the wall time of the whole run, and the retry timeline
//! against a collector that refuses 1, 2, 3 and 5 times before accepting.
//!
//! ```text
//! cargo bench -p examples-inprocess-http --bench failures
//! FAILURES_REFERENCE_BIN=path/to/older/examples-inprocess-http cargo bench -p examples-inprocess-http --bench failures
//! ```

use std::time::Duration;

use collector::{Collector, CollectorConfig, TlsConfig};
use testkit::exporter;
use testkit::pki::Pki;
use testkit::process::{self, BlackHole};
use testkit::status::{HttpStatusServer, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-http");

async fn line(bin: &str, args: &[&str], env: &[(&str, &str)]) -> (String, Duration) {
    let out = exporter::run(bin, args, env).await;
    (exporter::report(&out).to_owned(), out.elapsed)
}

#[tokio::main]
async fn main() {
    let reference = std::env::var("FAILURES_REFERENCE_BIN").ok();
    let pki = Pki::generate().unwrap();
    let plain = Collector::start(CollectorConfig::ephemeral())
        .await
        .unwrap();
    let tls = Collector::start(CollectorConfig {
        tls: Some(TlsConfig::new(pki.server_cert(), pki.server_key())),
        ..CollectorConfig::ephemeral()
    })
    .await
    .unwrap();
    let hole = BlackHole::start().await.unwrap();
    let closed = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let s401 = HttpStatusServer::start(vec![Reply::status(401).body("invalid token")])
        .await
        .unwrap();
    let s404 = HttpStatusServer::start(vec![Reply::status(404).body("no such route")])
        .await
        .unwrap();
    let s413 = HttpStatusServer::start(vec![Reply::status(413)])
        .await
        .unwrap();
    let s503 = HttpStatusServer::start(vec![Reply::status(503).body("busy")])
        .await
        .unwrap();
    let slow = HttpStatusServer::start(vec![Reply::status(503), Reply::status(503), Reply::hang()])
        .await
        .unwrap();
    let tls_https = tls.http_endpoint();
    let tls_plain = tls_https.replace("https://", "http://");
    let plain_https = plain.http_endpoint().replace("http://", "https://");

    let cases: Vec<(&str, String)> = vec![
        ("nothing listens", closed),
        ("black hole", hole.endpoint()),
        ("401 Unauthorized", s401.endpoint()),
        ("404 Not Found", s404.endpoint()),
        ("413 Payload Too Large", s413.endpoint()),
        ("503 on every attempt", s503.endpoint()),
        ("503 twice, then slow", slow.endpoint()),
        ("the gRPC port", plain.grpc_endpoint()),
        ("https:// to a plain collector", plain_https),
        ("http:// to a TLS collector", tls_plain),
        ("TLS, CA not given", tls_https),
        ("IPv6 literal, nothing listens", "http://[::1]:1".to_owned()),
    ];
    println!("| case | wall time | report |");
    println!("|---|---|---|");
    for (name, endpoint) in &cases {
        let (report, elapsed) = line(BIN, &["--endpoint", endpoint], &[]).await;
        println!("| {name} | {:.2} s | `{report}` |", elapsed.as_secs_f64());
        if let Some(reference) = &reference {
            let (report, elapsed) = line(reference, &["--endpoint", endpoint], &[]).await;
            println!(
                "| {name} (reference) | {:.2} s | `{report}` |",
                elapsed.as_secs_f64()
            );
        }
    }

    println!();
    println!("| refusals (503) | requests at (ms after the first) | report | wall time |");
    println!("|---|---|---|---|");
    for refusals in [1, 2, 3, 5] {
        let mut script = vec![Reply::status(503); refusals];
        script.push(Reply::ok());
        let server = HttpStatusServer::start(script).await.unwrap();
        let (report, elapsed) = line(BIN, &["--endpoint", &server.endpoint()], &[]).await;
        let requests = server.requests();
        let first = requests.first().map(|r| r.received);
        let times: Vec<String> = requests
            .iter()
            .map(|r| format!("{}", (r.received - first.unwrap()).as_millis()))
            .collect();
        println!(
            "| {refusals} | {} | `{report}` | {:.2} s |",
            times.join(", "),
            elapsed.as_secs_f64()
        );
    }
}
