//! The OTLP/gRPC exporter's configuration and failure reports, proven with
//! the real binary against real sockets: the embedded collector (plain and
//! TLS) and scripted gRPC status servers.

use testkit::exporter::{
    Protocol, assert_delivery_failure, assert_expired_certificate_advice, assert_lost_logs_counted,
    assert_mutual_tls, assert_partial_success, assert_tls_faults_named,
    assert_token_flag_replaces_header, collector, report, run,
};
use testkit::process;
use testkit::status::{GrpcReply, GrpcStatusServer, HttpStatusServer, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-grpc");

#[tokio::test(flavor = "multi_thread")]
async fn token_flag_replaces_the_authentication_metadata_of_the_environment() {
    assert_token_flag_replaces_header(
        BIN,
        Protocol::Grpc,
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authentication=from-env,x-team=dev%20ops",
        )],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthenticated_points_at_the_token() {
    let server = GrpcStatusServer::start(vec![GrpcReply::status(
        tonic::Code::Unauthenticated,
        "bad token",
    )])
    .await
    .unwrap();
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint(), "--token", "t"],
        &[],
    )
    .await;
    assert_delivery_failure(
        &out,
        "the collector answered gRPC UNAUTHENTICATED (\"bad token\"): check the token (--token \
         or TRACE_TOKEN",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_message_is_sanitized_and_the_token_masked() {
    let server = GrpcStatusServer::start(vec![GrpcReply::status(
        tonic::Code::PermissionDenied,
        "token tok-secret-1 \x1b[31mrevoked\nforged line",
    )])
    .await
    .unwrap();
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint(), "--token", "tok-secret-1"],
        &[],
    )
    .await;
    assert_delivery_failure(
        &out,
        "the collector answered gRPC PERMISSION_DENIED (\"token [redacted] [31mrevoked forged \
         line\"): check the token",
    );
    assert!(!out.stderr.contains("tok-secret-1"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_success_is_reported_with_the_counts_and_message() {
    let server = GrpcStatusServer::start(vec![GrpcReply::partial_success(
        3,
        "3 spans older than 2h (token tok-secret-1)",
    )])
    .await
    .unwrap();
    let out = run(
        BIN,
        &["--endpoint", &server.endpoint(), "--token", "tok-secret-1"],
        &[("OTEL_LOGS_EXPORTER", "none")],
    )
    .await;
    assert_partial_success(&out, "3 spans older than 2h (token [redacted])");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_status_the_collector_sends_is_named_as_its_answer() {
    // GrpcStatusServer answers HTTP/1.1 too: a status is the answer, not a
    // reason to probe for another protocol.
    for (code, cause) in [
        (
            tonic::Code::ResourceExhausted,
            "the collector answered gRPC RESOURCE_EXHAUSTED (\"rate limited: 100 spans/s \
             quota\"): rejected (quota or size); if it is the size, lower \
             OTEL_BSP_MAX_EXPORT_BATCH_SIZE (now 512)",
        ),
        (
            tonic::Code::Unavailable,
            "the collector answered gRPC UNAVAILABLE (\"rate limited: 100 spans/s quota\"): it \
             is overloaded or not ready; try again later",
        ),
        (
            tonic::Code::Internal,
            "the collector answered gRPC INTERNAL (\"rate limited: 100 spans/s quota\"): see the \
             collector's log for why",
        ),
        (
            tonic::Code::PermissionDenied,
            "the collector answered gRPC PERMISSION_DENIED (\"rate limited: 100 spans/s \
             quota\"): it wants a token",
        ),
    ] {
        let server = GrpcStatusServer::start(vec![GrpcReply::status(
            code,
            "rate limited: 100 spans/s quota",
        )])
        .await
        .unwrap();
        let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
        assert_delivery_failure(&out, cause);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_connection_is_named_with_what_to_check() {
    let server = process::ResetServer::start().await.unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        &format!(
            "the connection to {} was reset before it answered: check that it is the \
             collector's OTLP/gRPC port (usually 4317), and the collector's log",
            server.endpoint().trim_start_matches("http://")
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http1_server_that_is_not_otlp_is_not_called_otlp() {
    let server = HttpStatusServer::start_http1(vec![Reply::html_page("Welcome to nginx!")])
        .await
        .unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        &format!(
            "{} speaks HTTP/1.1, not gRPC; the gRPC exporter needs an OTLP/gRPC endpoint",
            server.addr()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_are_counted_in_the_report() {
    let server = GrpcStatusServer::start(vec![
        GrpcReply::status(tonic::Code::Unavailable, "starting"),
        GrpcReply::status(tonic::Code::Unavailable, "starting"),
        GrpcReply::ok(),
    ])
    .await
    .unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        report(&out).ends_with(" (after 2 retries)"),
        "{}",
        out.stderr
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_port_is_named_as_a_protocol_mismatch() {
    let collector = collector(None).await;
    let out = run(BIN, &["--endpoint", &collector.http_endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        "speaks OTLP/HTTP, not gRPC; the gRPC exporter needs an OTLP/gRPC endpoint, usually port 4317",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_the_ca_variable_and_faults_named() {
    assert_tls_faults_named(BIN, Protocol::Grpc).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_with_the_client_certificate_variables() {
    assert_mutual_tls(BIN, Protocol::Grpc, "OTEL_EXPORTER_OTLP_TRACES_").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lost_log_records_are_counted_beside_the_spans() {
    // One channel, one URL: named once.
    assert_lost_logs_counted(BIN, "9 spans and 2 log records to BASE").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_says_to_renew_it_or_check_the_clock() {
    assert_expired_certificate_advice(BIN, Protocol::Grpc).await;
}
