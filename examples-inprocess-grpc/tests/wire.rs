//! The example as a real process against the embedded collector on free
//! ports: what arrives over gRPC, what is printed, how it fails.

use collector::Collector;
use testkit::exporter::{
    self, assert_grpc_export, assert_logs, assert_not_delivered, assert_one_trace, assert_results,
    assert_token_hidden, collector,
};
use testkit::process::{self, BlackHole, Finished};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-grpc");

async fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    exporter::run(BIN, args, env).await
}

/// One trace of the documented shape arrived over gRPC, gzip-encoded, with
/// `token` as `authentication` metadata, and its log records on their span
/// the same way; stdout holds the two users.
async fn assert_delivered(collector: &Collector, out: &Finished, token: Option<&str>) {
    assert!(out.status.success(), "{}", out.stderr);
    assert_results(&out.stdout);
    for request in &assert_one_trace(collector, "inprocess-grpc").await {
        assert_grpc_export(request, token);
    }
    for request in &assert_logs(collector, "inprocess-grpc", false) {
        assert_grpc_export(request, token);
    }
    if let Some(token) = token {
        assert_token_hidden(out, collector, token);
    }
    assert!(
        out.stderr.contains(&format!(
            "exported 9 spans and 2 log records to {}",
            collector.grpc_endpoint()
        )),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_exporter_none_sends_spans_only() {
    exporter::assert_logs_none(BIN, exporter::Protocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_traces_only_backend_is_a_note_not_a_failure() {
    // It serves TraceService only: LogsService/Export is UNIMPLEMENTED.
    let jaeger = testkit::status::GrpcStatusServer::start(vec![testkit::status::GrpcReply::ok()])
        .await
        .unwrap();
    exporter::assert_traces_only_backend_is_a_note(BIN, &jaeger.endpoint()).await;
    assert!(!jaeger.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn token_from_flag_travels_as_authentication_metadata() {
    let collector = collector(None).await;
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
    let collector = collector(None).await;
    let out = run(
        &["--endpoint", &collector.grpc_endpoint()],
        &[("TRACE_TOKEN", "env-token-0452")],
    )
    .await;
    assert_delivered(&collector, &out, Some("env-token-0452")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_from_environment_without_token() {
    let collector = collector(None).await;
    let out = run(
        &[],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.grpc_endpoint())],
    )
    .await;
    assert_delivered(&collector, &out, None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn collector_down_fails_fast_and_clearly() {
    let endpoint = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert_not_delivered(&out, &endpoint, "nothing is listening");
}

#[tokio::test(flavor = "multi_thread")]
async fn black_hole_collector_does_not_hang() {
    let hole = BlackHole::start().await.unwrap();
    let out = run(&["--endpoint", &hole.endpoint()], &[]).await;
    assert_not_delivered(&out, &hole.endpoint(), "sent no answer");
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
    let collector = collector(None).await;
    let endpoint = collector.grpc_endpoint();
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    process::assert_readme_samples(&readmes, &out.stdout);
}
