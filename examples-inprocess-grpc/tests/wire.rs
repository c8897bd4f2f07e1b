//! The example as a real process against the embedded collector on free
//! ports: what arrives over gRPC, what is printed, how it fails.

use std::time::Duration;

use collector::{Collector, CollectorConfig, Transport};
use testkit::expect;
use testkit::process::{self, BlackHole, Finished};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-grpc");
const LIMIT: Duration = Duration::from_secs(30);
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

async fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = process::example_command(BIN);
    command.args(args).envs(env.iter().copied());
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn collector() -> Collector {
    Collector::start(CollectorConfig::ephemeral())
        .await
        .unwrap()
}

/// One trace of the documented shape arrived over gRPC, gzip-encoded, with
/// `token` as `authentication` metadata; stdout holds the two users.
async fn assert_delivered(collector: &Collector, out: &Finished, token: Option<&str>) {
    assert!(out.status.success(), "{}", out.stderr);
    if let Err(problems) = expect::inprocess_output(&out.stdout) {
        panic!("{problems:#?}\n{}", out.stdout);
    }
    collector
        .wait_for_spans(9, Duration::from_secs(10))
        .await
        .unwrap();
    let traces = collector.traces();
    assert_eq!(traces.len(), 1, "expected one trace: {traces:#?}");
    if let Err(problems) = expect::inprocess(&traces[0], "inprocess-grpc") {
        panic!("trace differs from the documented one: {problems:#?}");
    }
    let requests = collector.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.transport, Transport::Grpc);
        assert_eq!(request.path, EXPORT_PATH);
        assert_eq!(
            request.headers.get("grpc-encoding").map(String::as_str),
            Some("gzip")
        );
        assert_eq!(
            request.headers.get("authentication").map(String::as_str),
            token
        );
    }
    if let Some(token) = token {
        let shown = format!("{}{}", out.stdout, out.stderr);
        assert!(!shown.contains(token), "token printed:\n{shown}");
        for span in collector.spans() {
            assert!(!format!("{:?}", span.resource).contains(token));
        }
    }
    assert!(
        out.stderr.contains(&format!(
            "exported 9 spans to {}",
            collector.grpc_endpoint()
        )),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_from_flag_travels_as_authentication_metadata() {
    let collector = collector().await;
    let out = run(
        &[
            "--endpoint",
            &collector.grpc_endpoint(),
            "--token",
            "flag-token-0451",
        ],
        // The flag wins over the variable.
        &[("TRACE_TOKEN", "env-token-ignored")],
    )
    .await;
    assert_delivered(&collector, &out, Some("flag-token-0451")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn token_from_trace_token_variable() {
    let collector = collector().await;
    let out = run(
        &["--endpoint", &collector.grpc_endpoint()],
        &[("TRACE_TOKEN", "env-token-0452")],
    )
    .await;
    assert_delivered(&collector, &out, Some("env-token-0452")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_from_environment_without_token() {
    let collector = collector().await;
    let out = run(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.grpc_endpoint())],
    )
    .await;
    assert_delivered(&collector, &out, None).await;
}

fn assert_failed_delivery(out: &Finished, url: &str, cause: &str) {
    if let Err(problems) = expect::inprocess_output(&out.stdout) {
        panic!("results not printed: {problems:#?}");
    }
    let line = process::delivery_failure(out, url).unwrap_or_else(|problem| panic!("{problem}"));
    assert!(line.contains(cause), "{line}");
    assert!(
        out.elapsed < Duration::from_secs(5),
        "took {:?}",
        out.elapsed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collector_down_fails_fast_and_clearly() {
    let endpoint = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert_failed_delivery(&out, &endpoint, "nothing is listening");
}

#[tokio::test(flavor = "multi_thread")]
async fn black_hole_collector_does_not_hang() {
    let hole = BlackHole::start().await.unwrap();
    let out = run(&["--endpoint", &hole.endpoint()], &[]).await;
    assert_failed_delivery(&out, &hole.endpoint(), "sent no answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemeless_endpoint_is_rejected_with_the_fix() {
    let out = run(&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT")
            && out.stderr.contains("`http://collector:4317`"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_output_is_what_the_example_prints() {
    let collector = collector().await;
    let endpoint = collector.grpc_endpoint();
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    for readme in [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ] {
        let sample = process::readme_sample(readme, "<!-- sample stdout -->")
            .expect("README has a sample stdout block");
        assert_eq!(sample.trim(), out.stdout.trim());
    }
}
