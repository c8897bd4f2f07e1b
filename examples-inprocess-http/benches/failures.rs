//! Figures for the exporter's failure reports: for each failure case, the
//! report line and the wall time of the whole run (the gRPC example's too,
//! when it is built beside this one: `cargo build --release -p
//! examples-inprocess-grpc`), and the retry timeline
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
use testkit::process::{self, BlackHole, ResetServer};
use testkit::status::{GrpcReply, GrpcStatusServer, HttpStatusServer, Reply};

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
    let html = HttpStatusServer::start_http1(vec![Reply::html_page("Welcome to nginx!")])
        .await
        .unwrap();
    let partial = HttpStatusServer::start(vec![Reply::partial_success(3, "3 spans older than 2h")])
        .await
        .unwrap();
    let reset = ResetServer::start().await.unwrap();
    let exhausted = GrpcStatusServer::start(vec![GrpcReply::status(
        tonic::Code::ResourceExhausted,
        "rate limited: 100 spans/s quota",
    )])
    .await
    .unwrap();
    let unavailable = GrpcStatusServer::start(vec![GrpcReply::status(
        tonic::Code::Unavailable,
        "draining: restart in progress",
    )])
    .await
    .unwrap();
    let grpc_partial =
        GrpcStatusServer::start(vec![GrpcReply::partial_success(3, "3 spans older than 2h")])
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
        ("200 with a web page", html.endpoint()),
        ("partial success (3 of 9 rejected)", partial.endpoint()),
        ("connection reset", reset.endpoint()),
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

    // The gRPC example, when it is built beside this one.
    let grpc_cases: Vec<(&str, String)> = vec![
        (
            "gRPC: RESOURCE_EXHAUSTED with a message",
            exhausted.endpoint(),
        ),
        ("gRPC: UNAVAILABLE with a message", unavailable.endpoint()),
        (
            "gRPC: partial success (3 of 9 rejected)",
            grpc_partial.endpoint(),
        ),
        ("gRPC: connection reset", reset.endpoint()),
        ("gRPC: a web server (HTTP/1.1)", html.endpoint()),
        ("gRPC: the OTLP/HTTP port", plain.http_endpoint()),
    ];
    let grpc = |bin: &str| {
        let path = std::path::Path::new(bin).with_file_name("examples-inprocess-grpc");
        path.exists().then(|| path.to_string_lossy().into_owned())
    };
    match grpc(BIN) {
        None => {
            println!("\n(no gRPC rows: build examples-inprocess-grpc in this profile beside {BIN})")
        }
        Some(bin) => {
            for (name, endpoint) in &grpc_cases {
                let (report, elapsed) = line(&bin, &["--endpoint", endpoint], &[]).await;
                println!("| {name} | {:.2} s | `{report}` |", elapsed.as_secs_f64());
                if let Some(reference) = reference.as_deref().and_then(grpc) {
                    let (report, elapsed) = line(&reference, &["--endpoint", endpoint], &[]).await;
                    println!(
                        "| {name} (reference) | {:.2} s | `{report}` |",
                        elapsed.as_secs_f64()
                    );
                }
            }
        }
    }

    streak_rows().await;

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

/// A running server (`examples-http`'s, when it is built beside this one)
/// with nothing listening at its endpoint: how long after its first request
/// the streak's first warning comes, with the example's own batch delay.
async fn streak_rows() {
    println!();
    let Ok(server) = process::workspace_binary("examples-http", "server") else {
        println!("(no streak row: build examples-http's server in this profile beside {BIN})");
        return;
    };
    let closed = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let server = process::example_server(&server.to_string_lossy(), &closed, &[])
        .await
        .unwrap();
    let asked = std::time::Instant::now();
    let answer = testkit::http::get(server.addr(), "/hello", &[]).await;
    assert_eq!(answer.status, 200);
    let warning = loop {
        let stderr = server.stderr();
        if let Some(line) = stderr
            .lines()
            .find(|l| l.starts_with("warning: could not deliver"))
        {
            break Some(line.to_owned());
        }
        if asked.elapsed() > Duration::from_secs(15) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let elapsed = asked.elapsed();
    println!("| running server, nothing listens | first warning after its first request | line |");
    println!("|---|---|---|");
    match warning {
        Some(line) => println!("| streak | {:.2} s | `{line}` |", elapsed.as_secs_f64()),
        None => println!("| streak | none within 15 s | |"),
    }
    let _ = server.stop(Duration::from_secs(30)).await;
}
