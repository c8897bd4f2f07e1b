//! The example as a real process against the embedded collector on free
//! ports: what arrives on the wire, what is printed, how it fails.

use std::time::Duration;

use collector::{Collector, Transport};
use testkit::exporter::{
    self, assert_logs, assert_not_delivered, assert_one_trace, assert_results, assert_token_hidden,
    collector,
};
use testkit::process::{self, BlackHole, Finished};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-http");

async fn run(args: &[&str], env: &[(&str, &str)]) -> Finished {
    exporter::run(BIN, args, env).await
}

/// One trace of the documented shape arrived, on `path`, gzip-encoded.
async fn assert_delivered(collector: &Collector, service: &str, path: &str) {
    for request in &assert_one_trace(collector, service).await {
        assert_eq!(request.transport, Transport::HttpProtobuf);
        assert_eq!(request.path, path);
        assert_eq!(
            request.headers.get("content-encoding").map(String::as_str),
            Some("gzip")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_of_nine_spans_on_the_default_path() {
    let collector = collector(None).await;
    let endpoint = collector.http_endpoint();
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_results(&out.stdout);
    assert_delivered(&collector, "inprocess", "/v1/traces").await;
    // The log lines arrive as log records on `main`, beside the traces.
    for request in &assert_logs(&collector, "inprocess", false) {
        assert_eq!(request.transport, Transport::HttpProtobuf);
        assert_eq!(request.path, "/v1/logs");
        assert_eq!(
            request.headers.get("content-encoding").map(String::as_str),
            Some("gzip")
        );
    }
    assert!(
        out.stderr.contains(&format!(
            "exported 9 spans to {endpoint}/v1/traces and 2 log records to {endpoint}/v1/logs"
        )),
        "{}",
        out.stderr
    );
    // Log lines written inside the root span carry its trace id.
    let trace_id = &collector.traces()[0].trace_id;
    assert!(
        out.stderr
            .contains(&format!("{{{trace_id}}} GetUser(100): found")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_path_and_service_name_from_flags() {
    let collector = collector(None).await;
    let out = run(
        &[
            "--endpoint",
            &collector.http_endpoint(),
            "--path",
            "/adapt_x/api/otlp/traces",
            "--service-name",
            "from-flag",
        ],
        &[("OTEL_SERVICE_NAME", "from-env")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_delivered(&collector, "from-flag", "/adapt_x/api/otlp/traces").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_path_flag_and_logs_endpoint_variable() {
    let collector = collector(None).await;
    let endpoint = collector.http_endpoint();
    let out = run(
        &[
            "--endpoint",
            &endpoint,
            "--logs-path",
            "/adapt_x/api/otlp/v1/logs",
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_one_trace(&collector, "inprocess").await;
    for request in assert_logs(&collector, "inprocess", false) {
        assert_eq!(request.path, "/adapt_x/api/otlp/v1/logs");
    }

    // The signal's variable is the full URL, used as is.
    let collector = exporter::collector(None).await;
    let endpoint = collector.http_endpoint();
    let out = run(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                &format!("{endpoint}/vendor/v1/logs"),
            ),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_one_trace(&collector, "inprocess").await;
    for request in assert_logs(&collector, "inprocess", false) {
        assert_eq!(request.path, "/vendor/v1/logs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_exporter_none_sends_spans_only() {
    exporter::assert_logs_none(BIN, exporter::Protocol::Http).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_traces_only_backend_is_a_note_not_a_failure() {
    let jaeger = testkit::status::HttpStatusServer::traces_only()
        .await
        .unwrap();
    exporter::assert_traces_only_backend_is_a_note(BIN, &jaeger.endpoint()).await;
    let paths: Vec<String> = jaeger.requests().into_iter().map(|r| r.path).collect();
    assert!(paths.contains(&"/v1/logs".to_owned()), "{paths:?}");
    assert!(paths.contains(&"/v1/traces".to_owned()), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn general_endpoint_variable_gets_the_signal_path_appended() {
    let collector = collector(None).await;
    let out = run(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.http_endpoint()),
            ("OTEL_SERVICE_NAME", "from-env"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_delivered(&collector, "from-env", "/v1/traces").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_endpoint_variable_is_used_as_is() {
    let collector = collector(None).await;
    let url = format!("{}/custom/traces", collector.http_endpoint());
    let out = run(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url),
            // The signal-specific variable wins over the general one.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_delivered(&collector, "inprocess", "/custom/traces").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn token_travels_as_header_and_is_never_shown() {
    for (args, env) in [
        (vec!["--token", "tok-from-flag-123"], vec![]),
        (vec![], vec![("TRACE_TOKEN", "tok-from-env-123")]),
    ] {
        let collector = collector(None).await;
        let endpoint = collector.http_endpoint();
        let mut all_args = vec!["--endpoint", &endpoint];
        all_args.extend(args);
        let out = run(&all_args, &env).await;
        assert!(out.status.success(), "{}", out.stderr);
        assert_delivered(&collector, "inprocess", "/v1/traces").await;
        let token = collector.requests()[0]
            .headers
            .get("authentication")
            .cloned()
            .unwrap_or_default();
        assert!(token.starts_with("tok-from-") && token.ends_with("-123"));
        assert_token_hidden(&out, &collector, &token);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compression_can_be_turned_off() {
    let collector = collector(None).await;
    let out = run(
        &["--endpoint", &collector.http_endpoint()],
        &[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector
        .wait_for_spans(9, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        collector
            .requests()
            .iter()
            .all(|r| !r.headers.contains_key("content-encoding"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collector_down_fails_fast_and_clearly() {
    let endpoint = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert_not_delivered(
        &out,
        &format!("{endpoint}/v1/traces"),
        "nothing is listening",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn black_hole_collector_does_not_hang() {
    let hole = BlackHole::start().await.unwrap();
    let out = run(&["--endpoint", &hole.endpoint()], &[]).await;
    assert_not_delivered(
        &out,
        &format!("{}/v1/traces", hole.endpoint()),
        "sent no answer",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn schemeless_endpoint_is_rejected_with_the_fix() {
    let out = run(
        &["--endpoint", "localhost:4318", "--token", "sekret-42"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("`http://localhost:4318`")
            && out.stderr.contains("`https://localhost:4318`"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("sekret-42"));
}

#[tokio::test(flavor = "multi_thread")]
async fn readme_sample_output_is_what_the_example_prints() {
    let collector = collector(None).await;
    let endpoint = collector.http_endpoint();
    let out = run(&["--endpoint", &endpoint], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    let readmes = [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ];
    process::assert_readme_samples(&readmes, &out.stdout);
}
