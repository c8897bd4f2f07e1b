//! The `Host` check against DNS rebinding: raw HTTP/1.1 requests (so the
//! test controls the `Host` header) to the web view, its JSON API and the
//! OTLP/HTTP receiver, and HTTP/2 requests whose `:authority` is set by hand.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use collector::{Collector, CollectorConfig};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message as _;
use support::*;
use tonic::transport::{Channel, Endpoint};

const WAIT: Duration = Duration::from_secs(10);

async fn start(allowed_hosts: Vec<String>) -> Collector {
    Collector::start(CollectorConfig {
        allowed_hosts,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector")
}

fn export_body() -> Vec<u8> {
    export("host-svc", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]).encode_to_vec()
}

/// One HTTP/1.1 request with exactly the given `Host` (none if `None`),
/// `Connection: close`; the whole answer.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: Option<&[u8]>,
    body: &[u8],
) -> HttpResponse {
    let mut head = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
    if let Some(host) = host {
        head.extend_from_slice(b"Host: ");
        head.extend_from_slice(host);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(
        format!(
            "Connection: close\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    head.extend_from_slice(body);
    testkit::http::send_raw(addr, &head).await
}

/// The three places that answer data: the page, the API, the receiver.
async fn answers(collector: &Collector, host: Option<&[u8]>) -> [(String, HttpResponse); 3] {
    let ui = collector.ui_addr().expect("the web view");
    let http = collector.http_addr();
    [
        (
            "web view /".to_owned(),
            request(ui, "GET", "/", host, b"").await,
        ),
        (
            "web view /api/traces".to_owned(),
            request(ui, "GET", "/api/traces", host, b"").await,
        ),
        (
            "OTLP/HTTP POST /v1/traces".to_owned(),
            request(http, "POST", "/v1/traces", host, &export_body()).await,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_host_is_forbidden_with_a_reason_that_names_it_and_the_flag() {
    let collector = start(Vec::new()).await;
    for host in ["evil.example", "evil.example:4318", "192.0.2.7:16686"] {
        for (what, response) in answers(&collector, Some(host.as_bytes())).await {
            assert_eq!(response.status, 403, "{what} with Host {host}");
            let text = if what.contains("/api/") {
                // The API's errors are JSON, this one too.
                assert_eq!(response.header("content-type"), Some("application/json"));
                let json: serde_json::Value =
                    serde_json::from_slice(&response.body).expect("a JSON error");
                json["error"].as_str().expect("an error").to_owned()
            } else {
                assert_eq!(
                    response.header("content-type"),
                    Some("text/plain; charset=utf-8")
                );
                response.text()
            };
            assert_eq!(text.trim_end().lines().count(), 1, "{what}: {text}");
            assert!(text.contains(host), "{what}: {text}");
            assert!(text.contains("--allow-host"), "{what}: {text}");
        }
    }
    assert!(
        collector.requests().is_empty(),
        "a forbidden export was stored"
    );
    assert_eq!(collector.span_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_host_is_forbidden() {
    let collector = start(Vec::new()).await;
    for (what, response) in answers(&collector, None).await {
        assert_eq!(response.status, 403, "{what} without Host");
        let text = response.text();
        assert!(text.contains("no Host header"), "{what}: {text}");
        assert!(text.contains("--allow-host"), "{what}: {text}");
    }
    assert!(collector.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reason_shows_the_host_sanitized() {
    let collector = start(Vec::new()).await;
    // A right-to-left override in the name (bytes hyper lets through).
    let host = "evil\u{202e}elpmaxe.example";
    let response = request(
        collector.ui_addr().expect("the web view"),
        "GET",
        "/api/traces",
        Some(host.as_bytes()),
        b"",
    )
    .await;
    assert_eq!(response.status, 403);
    let json: serde_json::Value = serde_json::from_slice(&response.body).expect("a JSON error");
    let text = json["error"].as_str().expect("an error");
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains(r"evil\u{202e}elpmaxe.example"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_hosts_are_answered_with_or_without_a_port() {
    let collector = start(Vec::new()).await;
    let ui_port = collector.ui_addr().expect("the web view").port();
    let http_port = collector.http_addr().port();
    for (port, name) in [(ui_port, "web view"), (http_port, "OTLP/HTTP")] {
        for host in [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
            "LocalHost".to_owned(),
            "localhost.".to_owned(),
            format!("127.3.2.1:{port}"),
            "[::1]".to_owned(),
        ] {
            let answers = answers(&collector, Some(host.as_bytes())).await;
            for (what, response) in answers.iter().filter(|(what, _)| what.starts_with(name)) {
                assert_eq!(
                    response.status,
                    200,
                    "{what} with Host {host}: {}",
                    response.text()
                );
            }
        }
    }
    assert!(!collector.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_are_answered() {
    let collector = start(vec!["collector.lan".into()]).await;
    for host in [
        "collector.lan:4318",
        "Collector.LAN",
        "collector.lan.:16686",
    ] {
        for (what, response) in answers(&collector, Some(host.as_bytes())).await {
            assert_eq!(
                response.status,
                200,
                "{what} with Host {host}: {}",
                response.text()
            );
        }
    }
    // Exactly that name: not a name under it, nor one that merely starts with it.
    for host in ["www.collector.lan", "collector.lan.evil.example"] {
        for (what, response) in answers(&collector, Some(host.as_bytes())).await {
            assert_eq!(response.status, 403, "{what} with Host {host}");
        }
    }
}

/// A gRPC client on `addr` whose requests carry `authority`.
async fn grpc_client(addr: SocketAddr, authority: &str) -> TraceServiceClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .origin(format!("http://{authority}").parse().expect("an origin"))
        .connect_timeout(WAIT)
        .timeout(WAIT)
        .connect()
        .await
        .expect("connecting");
    TraceServiceClient::new(channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_requests_are_checked_by_their_authority() {
    let collector = start(Vec::new()).await;
    let message = || export("host-svc", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]);
    // The OTLP/HTTP port over HTTP/2 (a gRPC client is the HTTP/2 client at
    // hand; it reports the HTTP status it got): a foreign authority is 403,
    // a loopback one reaches the receiver, which refuses the gRPC content
    // type with 415.
    let http = collector.http_addr();
    let status = grpc_client(http, "evil.example:4318")
        .await
        .export(message())
        .await
        .expect_err("answered");
    assert!(status.message().contains("403 Forbidden"), "{status:?}");
    let status = grpc_client(http, &format!("localhost:{}", http.port()))
        .await
        .export(message())
        .await
        .expect_err("answered");
    assert!(status.message().contains("415"), "{status:?}");

    // The gRPC port is not checked: browsers cannot make gRPC calls, and
    // exporters reach it by whatever name the network gives it.
    grpc_client(collector.grpc_addr(), "otel-collector.internal:4317")
        .await
        .export(message())
        .await
        .expect("a gRPC export naming any host");
    assert_eq!(collector.span_count(), 1);
}

const BIN: &str = env!("CARGO_BIN_EXE_collector");

/// The banner of the binary started with `args`, up to its last line.
fn banner(args: &[&str]) -> Vec<String> {
    let mut command = std::process::Command::new(BIN);
    command.args(args);
    let (_running, stderr) = Running::with_stderr(command);
    let mut banner = Vec::new();
    loop {
        let line = stderr.recv_timeout(WAIT * 3).expect("the startup banner");
        let last = line.contains("# HTTP exporters");
        banner.push(line);
        if last {
            return banner;
        }
    }
}

#[test]
fn the_banner_says_how_to_allow_a_host_when_not_on_loopback() {
    let loopback = banner(&COLLECTOR_FREE_PORTS);
    assert!(
        !loopback.iter().any(|l| l.contains("--allow-host")),
        "{loopback:#?}"
    );
    let wildcard = banner(&["--grpc", "127.0.0.1:0", "--http", "0.0.0.0:0", "--no-ui"]);
    let hints: Vec<_> = wildcard
        .iter()
        .filter(|l| l.contains("--allow-host NAME"))
        .collect();
    assert_eq!(hints.len(), 1, "{wildcard:#?}");
}
