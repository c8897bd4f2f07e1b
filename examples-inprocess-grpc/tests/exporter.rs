//! The OTLP/gRPC exporter's configuration and failure reports, proven with
//! the real binary against real sockets: the embedded collector (plain and
//! TLS) and scripted gRPC status servers.

use testkit::exporter::{
    Protocol, assert_delivery_failure, assert_mutual_tls, assert_tls_faults_named,
    assert_token_flag_replaces_header, collector, report, run,
};
use testkit::status::{GrpcReply, GrpcStatusServer};

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
        "the collector answered gRPC UNAUTHENTICATED: check the token (--token or TRACE_TOKEN",
    );
    let server = GrpcStatusServer::start(vec![GrpcReply::status(
        tonic::Code::ResourceExhausted,
        "too big",
    )])
    .await
    .unwrap();
    let out = run(BIN, &["--endpoint", &server.endpoint()], &[]).await;
    assert_delivery_failure(
        &out,
        "RESOURCE_EXHAUSTED: the request is too large for it; lower OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
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
