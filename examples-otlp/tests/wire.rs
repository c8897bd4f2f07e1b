//! Both clients as real processes, with the real `examples-http` server,
//! against the embedded collector on free ports: one trace across both
//! processes, exported over gRPC (token metadata) or HTTP (custom path).

use std::time::Duration;

use collector::{Collector, Trace, Transport};
use testkit::expect;
use testkit::exporter::{assert_grpc_export, collector};
use testkit::process::{self, Finished, RunningServer};

const GRPC: &str = env!("CARGO_BIN_EXE_grpc");
const HTTP: &str = env!("CARGO_BIN_EXE_http");
const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// `examples-http`'s server, exporting every 100 ms to `collector`.
async fn server(collector: &Collector) -> RunningServer {
    let binary =
        process::workspace_binary("examples-http", "server").unwrap_or_else(|e| panic!("{e:#}"));
    let env = [("OTEL_BSP_SCHEDULE_DELAY", "100")];
    process::example_server(binary.to_str().unwrap(), &collector.http_endpoint(), &env)
        .await
        .unwrap()
}

async fn run(binary: &str, args: &[&str]) -> Finished {
    let mut command = process::example_command(binary);
    command.args(args);
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn one_trace(collector: &Collector, client_service: &str) -> Trace {
    let trace = collector
        .wait_for_trace(|t| t.spans.len() >= 4, WAIT)
        .await
        .unwrap_or_else(|_| panic!("no trace of 4 spans: {:#?}", collector.traces()));
    if let Err(problems) = expect::http_request(&trace, client_service, "otlp-http-server") {
        panic!("{problems:#?}\n{trace:#?}");
    }
    trace
}

async fn stop(server: RunningServer) {
    server.stop(LIMIT).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_client_joins_the_server_trace_with_token_and_gzip() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let out = run(
        GRPC,
        &[
            "--url",
            &server.url("/hello"),
            "--endpoint",
            &collector.grpc_endpoint(),
            "--token",
            "tok-grpc-123",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    expect::http_output(&out.stdout, "hello:john").unwrap();
    assert!(!out.stderr.contains("tok-grpc-123"), "{}", out.stderr);

    let trace = one_trace(&collector, "otlp-grpc-client").await;
    for span in &trace.spans {
        let expected = if span.service_name == "otlp-grpc-client" {
            Transport::Grpc
        } else {
            Transport::HttpProtobuf
        };
        assert_eq!(span.transport, expected, "{}", span.name);
    }
    let grpc: Vec<_> = collector
        .requests()
        .into_iter()
        .filter(|r| r.transport == Transport::Grpc)
        .collect();
    assert!(!grpc.is_empty());
    for request in &grpc {
        assert_grpc_export(request, Some("tok-grpc-123"));
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn http_client_joins_the_server_trace_on_a_custom_path() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let path = "/adapt_x/api/otlp/traces";
    let out = run(
        HTTP,
        &[
            "--url",
            &server.url("/hello"),
            "--endpoint",
            &collector.http_endpoint(),
            "--path",
            path,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    expect::http_output(&out.stdout, "hello:john").unwrap();
    assert!(
        out.stderr.contains(&format!(
            "exported 2 spans to {}{path}",
            collector.http_endpoint()
        )),
        "{}",
        out.stderr
    );

    let trace = one_trace(&collector, "otlp-http-client").await;
    for span in &trace.spans {
        let expected = if span.service_name == "otlp-http-client" {
            path
        } else {
            "/v1/traces"
        };
        assert_eq!(span.path, expected, "{}", span.name);
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_server_says_how_to_start_it() {
    let collector = collector(None).await;
    let url = format!("http://127.0.0.1:{}/hello", process::closed_port().unwrap());
    for (binary, endpoint) in [
        (GRPC, collector.grpc_endpoint()),
        (HTTP, collector.http_endpoint()),
    ] {
        let out = run(binary, &["--url", &url, "--endpoint", &endpoint]).await;
        assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
        assert!(
            out.stderr.contains("error: cannot reach the server at")
                && out
                    .stderr
                    .contains("cargo run -p examples-http --bin server"),
            "{}",
            out.stderr
        );
    }
    let spans = collector.wait_for_spans(4, WAIT).await.unwrap();
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "StartRequests").collect();
    assert_eq!(roots.len(), 2);
    assert!(roots.iter().all(|s| s.is_error()));
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_output_is_what_the_clients_print() {
    let collector = collector(None).await;
    let server = server(&collector).await;
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    for (binary, endpoint) in [
        (GRPC, collector.grpc_endpoint()),
        (HTTP, collector.http_endpoint()),
    ] {
        let out = run(
            binary,
            &["--url", &server.url("/hello"), "--endpoint", &endpoint],
        )
        .await;
        assert!(out.status.success(), "{}", out.stderr);
        process::assert_readme_samples(&readmes, &out.stdout);
    }
    stop(server).await;
}
