//! The `tracing` example as a real process against the embedded collector on
//! free ports: the same trace as the OpenTelemetry-API example, span for
//! span, and its log records on the span they were written in.

use collector::{Collector, Trace, Transport};
use testkit::exporter::{self, assert_logs, assert_one_trace, assert_results, collector};
use testkit::process::{self, Finished};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-tracing");

async fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    exporter::run(BIN, args, env).await
}

/// The tree as names, depths and `user.id`s: what both styles must agree on.
fn shape(trace: &Trace) -> Vec<(usize, String, Option<i64>)> {
    trace
        .tree()
        .into_iter()
        .map(|row| {
            (
                row.depth,
                row.span.name.clone(),
                row.span.attr_i64("user.id"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_of_nine_spans_and_its_log_records_on_their_spans() {
    let collector = collector(None).await;
    let endpoint = collector.http_endpoint();
    let out = run(&["--endpoint", &endpoint, "--token", "t-0461"], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_results(&out.stdout);
    for request in assert_one_trace(&collector, "inprocess-tracing").await {
        assert_eq!(request.transport, Transport::HttpProtobuf);
        assert_eq!(request.path, "/v1/traces");
    }
    for request in assert_logs(&collector, "inprocess-tracing", true) {
        assert_eq!(request.path, "/v1/logs");
        assert_eq!(
            request.headers.get("authentication").map(String::as_str),
            Some("t-0461")
        );
    }
    assert!(
        out.stderr.contains(&format!(
            "exported 9 spans to {endpoint}/v1/traces and 3 log records to {endpoint}/v1/logs"
        )),
        "{}",
        out.stderr
    );
    // Stderr's lines carry the trace id, as GoFrame's logger prints them.
    let trace_id = &collector.traces()[0].trace_id;
    assert!(
        out.stderr
            .contains(&format!("[INFO] {{{trace_id}}} GetUser(100): found")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn span_for_span_the_trace_of_the_opentelemetry_api_example() {
    let api = process::workspace_binary("examples-inprocess-http", "examples-inprocess-http")
        .expect("the OpenTelemetry-API example is built");
    let traced = collector(None).await;
    let out = run(&["--endpoint", &traced.http_endpoint()], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let reference = collector(None).await;
    let api_out = exporter::run(
        api.to_str().unwrap(),
        &["--endpoint", &reference.http_endpoint()],
        &[],
    )
    .await;
    assert!(api_out.status.success(), "{}", api_out.stderr);
    assert_eq!(out.stdout, api_out.stdout, "the same stdout");

    let trace = one_trace(&traced).await;
    let expected = one_trace(&reference).await;
    assert_eq!(shape(&trace), shape(&expected));
    assert_eq!(shape(&trace).len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_filters_the_log_lines_but_never_the_spans() {
    let collector = collector(None).await;
    let out = run(
        &["--endpoint", &collector.http_endpoint()],
        &[("RUST_LOG", "warn")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_one_trace(&collector, "inprocess-tracing").await;
    assert!(!out.stderr.contains("[INFO]"), "{}", out.stderr);
    assert!(collector.traces()[0].logs.is_empty());

    let out = run(
        &["--endpoint", &collector.http_endpoint()],
        &[("RUST_LOG", "info,[")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("invalid RUST_LOG"), "{}", out.stderr);
}

async fn one_trace(collector: &Collector) -> Trace {
    collector
        .wait_for_spans(9, exporter::LIMIT)
        .await
        .expect("9 spans");
    let mut traces = collector.traces();
    assert_eq!(traces.len(), 1, "{traces:#?}");
    traces.remove(0)
}
