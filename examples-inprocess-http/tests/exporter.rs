//! The OTLP/HTTP exporter's configuration and failure reports, proven with
//! the real binary against real sockets: the embedded collector (plain and
//! TLS), scripted status servers, and closed ports.

use std::time::Duration;

use collector::TlsConfig;
use testkit::exporter::{
    LIMIT, Protocol, assert_delivery_failure, assert_expired_certificate_advice,
    assert_lost_logs_counted, assert_mutual_tls, assert_partial_success, assert_tls_faults_named,
    assert_token_flag_replaces_header, collector, report, run,
};
use testkit::process;
use testkit::status::{HttpStatusServer, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-http");

#[tokio::test(flavor = "multi_thread")]
async fn token_flag_replaces_the_authentication_header_of_the_environment() {
    assert_token_flag_replaces_header(
        BIN,
        Protocol::Http,
        &[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authentication=from-env,x-team=dev%20ops",
            ),
            // Empty means unset, not an error.
            ("OTEL_EXPORTER_OTLP_TIMEOUT", ""),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_values_exit_2_with_one_line_naming_the_variable() {
    for (env, expected) in [
        (
            ("OTEL_TRACES_SAMPLER", "garbage"),
            "invalid OTEL_TRACES_SAMPLER `garbage`",
        ),
        (
            ("OTEL_TRACES_SAMPLER_ARG", "abc"),
            "invalid OTEL_TRACES_SAMPLER_ARG `abc`",
        ),
        (
            ("OTEL_EXPORTER_OTLP_HEADERS", "k=v,broken"),
            "invalid OTEL_EXPORTER_OTLP_HEADERS: entry 2 of 2 has no `=`",
        ),
        (
            ("OTEL_BSP_MAX_QUEUE_SIZE", "abc"),
            "invalid OTEL_BSP_MAX_QUEUE_SIZE `abc`",
        ),
        (
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "1.5s"),
            "invalid OTEL_EXPORTER_OTLP_TRACES_TIMEOUT `1.5s`",
        ),
        (
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem"),
            "invalid OTEL_EXPORTER_OTLP_CERTIFICATE: cannot read",
        ),
        (
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:99999"),
            "port must be a number from 1 to 65535",
        ),
        (
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/?q=1"),
            "query (`?…`) or fragment",
        ),
        (
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            "exports over OTLP/HTTP",
        ),
    ] {
        let out = run(BIN, &[], &[env, ("TRACE_TOKEN", "tok-secret-1")]).await;
        assert_eq!(out.status.code(), Some(2), "{env:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{env:?}: {}", out.stdout);
        assert_eq!(out.stderr.lines().count(), 1, "{env:?}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{env:?}: {}", out.stderr);
        assert!(!out.stderr.contains("tok-secret"), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn traces_timeout_variable_bounds_an_export() {
    let hole = process::BlackHole::start().await.unwrap();
    let out = run(
        BIN,
        &["--endpoint", &hole.endpoint()],
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "400"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
        ],
    )
    .await;
    assert_delivery_failure(
        &out,
        "accepted the connection but sent no answer within 0.4s",
    );
    assert!(
        out.elapsed < Duration::from_secs(3),
        "took {:?}",
        out.elapsed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn url_credentials_are_sent_as_basic_auth_and_never_shown() {
    let collector = collector(None).await;
    let endpoint = collector
        .http_endpoint()
        .replace("http://", "http://learner:pa55word@");
    let out = run(BIN, &["--endpoint", &endpoint], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        report(&out).contains("to http://[redacted]@127.0.0.1:"),
        "{}",
        out.stderr
    );
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    assert_eq!(
        collector.requests()[0]
            .headers
            .get("authorization")
            .map(String::as_str),
        Some("Basic bGVhcm5lcjpwYTU1d29yZA==")
    );
    let everything = format!("{}{}{:?}", out.stdout, out.stderr, collector.spans());
    assert!(
        !everything.contains("pa55word"),
        "password shown or sent as an attribute"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn statuses_are_reported_with_the_collectors_message_and_the_fix() {
    for (reply, cause) in [
        (
            Reply::status(401).body("invalid token \x1b[31mXYZ"),
            "the collector answered 401 Unauthorized (\"invalid token [31mXYZ\"): it wants a token: pass --token or set TRACE_TOKEN",
        ),
        (
            Reply::status(404).body("no route"),
            "404 Not Found (\"no route\"): nothing is served at /v1/traces; check --path",
        ),
        (
            Reply::status(413),
            "413 Payload Too Large: the request is too large for it; lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE (now 512)",
        ),
        (
            Reply::status(503).body("busy"),
            "503 Service Unavailable (\"busy\") 4 times: it is overloaded",
        ),
    ] {
        let server = HttpStatusServer::start(vec![reply]).await.unwrap();
        let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
        assert_delivery_failure(&out, cause);
        assert!(!out.stderr.contains('\x1b'), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_are_counted_in_the_report() {
    let server = HttpStatusServer::start(vec![Reply::status(503), Reply::status(503), Reply::ok()])
        .await
        .unwrap();
    // The script is for the span exports alone: no log records in between.
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint()],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        report(&out).ends_with("/v1/traces (after 2 retries: 503 Service Unavailable)"),
        "{}",
        out.stderr
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_then_silence_is_not_called_no_answer() {
    let server =
        HttpStatusServer::start(vec![Reply::status(503), Reply::status(503), Reply::hang()])
            .await
            .unwrap();
    // The script is for the span exports alone: no log records in between.
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint()],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    assert_delivery_failure(
        &out,
        "the collector answered 503 Service Unavailable twice, then sent no answer within 1.5s",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_success_that_is_not_otlp_is_a_failure_naming_what_answered() {
    // A web server on the wrong port, over HTTP/1.1 as most of them speak.
    let server = HttpStatusServer::start_http1(vec![Reply::html_page("Welcome to nginx!")])
        .await
        .unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        &format!(
            "{} answered 200 with text/html (\"Welcome to nginx!\"), not OTLP: is this the \
             collector's OTLP port?",
            server.addr()
        ),
    );
    // Not retried: the same page would come again.
    let traces = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/traces")
        .count();
    assert_eq!(traces, 1);
    // A protobuf answer that is no export response.
    let server = HttpStatusServer::start(vec![
        Reply::status(200)
            .header("content-type", "application/x-protobuf")
            .body("\u{ff}\u{ff}"),
    ])
    .await
    .unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        "answered 200 with an undecodable application/x-protobuf body, not OTLP",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_success_is_reported_with_the_counts_and_message() {
    // The server's message is sanitized, and the token masked should it
    // echo it.
    let server = HttpStatusServer::start(vec![Reply::partial_success(
        3,
        "3 spans older than 2h \x1b[31mdropped (token tok-secret-1)",
    )])
    .await
    .unwrap();
    // The script answers span exports: no log records in between.
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint(), "--token", "tok-secret-1"],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    assert_partial_success(&out, "3 spans older than 2h [31mdropped (token [redacted])");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_connection_is_named_with_what_to_check() {
    let server = process::ResetServer::start().await.unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        &format!(
            "the connection to {} was reset before it answered: check that it is the \
             collector's OTLP/HTTP port (usually 4318), and the collector's log",
            server.endpoint().trim_start_matches("http://")
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_port_is_named_as_a_protocol_mismatch() {
    let collector = collector(None).await;
    let out = run(BIN, &["--endpoint", &collector.grpc_endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        "speaks HTTP/2 only, as an OTLP/gRPC port does; the HTTP exporter needs an OTLP/HTTP \
         endpoint, usually port 4318",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_the_ca_variable_and_every_tls_fault_named() {
    let (pki, tls_collector) = assert_tls_faults_named(BIN, Protocol::Http).await;
    let https = tls_collector.http_endpoint();
    // The signal-specific variable works as well, and beats a wrong general one.
    let ca = pki.ca_cert().to_str().unwrap();
    let out = run(
        BIN,
        &["--endpoint", &https],
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                pki.other_ca_cert().to_str().unwrap(),
            ),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);

    let wrong = collector(Some(TlsConfig::new(
        pki.wrong_name_cert(),
        pki.wrong_name_key(),
    )))
    .await;
    let out = run(
        BIN,
        &["--endpoint", &wrong.http_endpoint()],
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", ca)],
    )
    .await;
    assert_delivery_failure(&out, "is not valid for the name `127.0.0.1`");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_with_the_client_certificate_variables() {
    let (pki, collector) = assert_mutual_tls(BIN, Protocol::Http, "OTEL_EXPORTER_OTLP_").await;
    let out = run(
        BIN,
        &["--endpoint", &collector.http_endpoint()],
        &[(
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            pki.ca_cert().to_str().unwrap(),
        )],
    )
    .await;
    assert_delivery_failure(
        &out,
        "asks for a client certificate: set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_base_endpoint_with_a_signal_path_is_refused_with_the_exact_fix() {
    let collector = collector(None).await;
    let base = collector.http_endpoint();
    for (args, env, fix) in [
        (
            vec!["--endpoint".to_owned(), format!("{base}/v1/traces")],
            vec![],
            format!(
                "write `--endpoint {base}`, or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={base}/v1/traces instead"
            ),
        ),
        (
            vec![],
            vec![("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{base}/v1/logs/"))],
            format!(
                "write `OTEL_EXPORTER_OTLP_ENDPOINT={base}`, or set OTEL_EXPORTER_OTLP_LOGS_ENDPOINT={base}/v1/logs instead"
            ),
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = run(BIN, &args, &env).await;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {env:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&fix),
            "expected `{fix}` in:\n{}",
            out.stderr
        );
    }
    assert!(
        collector.requests().is_empty(),
        "{:?}",
        collector.requests()
    );

    // The signal's own variable is taken as is: nothing is appended to it.
    let out = run(
        BIN,
        &[],
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{base}/v1/traces"),
        )],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    let paths: Vec<String> = collector.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.iter().all(|p| p == "/v1/traces" || p == "/v1/logs"),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_scheme_gets_a_fix_that_delivers() {
    let collector = collector(None).await;
    let base = collector.http_endpoint();
    let misspelt = base.replace("http://", "http//");
    let out = run(BIN, &["--endpoint", &misspelt], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    let fix = format!("the scheme is misspelt; write `{base}`");
    assert!(
        out.stderr.contains(&fix),
        "expected `{fix}` in:\n{}",
        out.stderr
    );
    let out = run(BIN, &["--endpoint", &base], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_names_the_base_endpoint_and_following_it_delivers() {
    let collector = collector(None).await;
    let base = collector.http_endpoint();
    let moved = HttpStatusServer::start(vec![
        Reply::status(308).header("location", format!("{base}/v1/traces")),
    ])
    .await
    .unwrap();
    // The script is for the span exports alone: no log records in between.
    let out = run(
        BIN,
        &["--endpoint", &moved.endpoint()],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    let advice = format!("it redirects to {base}/v1/traces; point --endpoint at {base}");
    assert_delivery_failure(&out, &advice);
    let advised = report(&out).rsplit("point --endpoint at ").next().unwrap();
    let out = run(BIN, &["--endpoint", advised], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        assert_one_trace_at(&collector).await,
        vec!["/v1/traces".to_owned()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_signal_is_diagnosed_at_its_own_endpoint() {
    // The logs go to the collector's gRPC port, the spans to its HTTP port.
    let collector = collector(None).await;
    let traces = collector.http_endpoint();
    let logs = format!("{}/v1/logs", collector.grpc_endpoint());
    let out = run(
        BIN,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &traces),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &logs),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let logs_authority = collector.grpc_endpoint().replace("http://", "");
    let traces_authority = traces.replace("http://", "");
    let warning = out
        .stderr
        .lines()
        .find(|line| line.starts_with("warning: could not deliver 2 log records"))
        .unwrap_or_else(|| panic!("no warning about the log records:\n{}", out.stderr));
    assert!(
        warning.starts_with(&format!(
            "warning: could not deliver 2 log records to {logs}: {logs_authority} speaks HTTP/2 \
             only, as an OTLP/gRPC port does"
        )),
        "{warning}"
    );
    assert!(!warning.contains(&traces_authority), "{warning}");
}

/// The paths the collector's requests went to, once the trace is in.
async fn assert_one_trace_at(collector: &collector::Collector) -> Vec<String> {
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    let mut paths: Vec<String> = collector
        .requests()
        .into_iter()
        .filter(|r| r.signal == collector::Signal::Traces)
        .map(|r| r.path)
        .collect();
    paths.dedup();
    paths
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_log_records_are_counted_beside_the_spans() {
    assert_lost_logs_counted(
        BIN,
        "9 spans to BASE/v1/traces and 2 log records to BASE/v1/logs",
    )
    .await;
    // Records lost for another reason than the spans: each with its cause.
    let closed = format!("http://127.0.0.1:{}", process::closed_port().unwrap());
    let busy = HttpStatusServer::start(vec![Reply::status(503).body("busy")])
        .await
        .unwrap();
    let logs = format!("{}/v1/logs", busy.endpoint());
    let out = run(
        BIN,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &closed),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", &logs),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    let line = report(&out);
    assert!(
        line.starts_with(&format!(
            "error: could not deliver 9 spans to {closed}/v1/traces: connection refused, \
             nothing is listening on "
        )),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "; and 2 log records to {logs}: the collector answered 503 Service Unavailable \
             (\"busy\")"
        )),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_says_to_renew_it_or_check_the_clock() {
    assert_expired_certificate_advice(BIN, Protocol::Http).await;
}
