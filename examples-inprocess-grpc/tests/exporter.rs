//! The OTLP/gRPC exporter's configuration and failure reports, proven with
//! the real binary against real sockets: the embedded collector (plain and
//! TLS) and scripted gRPC status servers.

use collector::TlsConfig;
use testkit::exporter::{LIMIT, assert_delivery_failure, collector, report, run};
use testkit::pki::Pki;
use testkit::status::{GrpcReply, GrpcStatusServer};

const BIN: &str = env!("CARGO_BIN_EXE_examples-inprocess-grpc");

#[tokio::test(flavor = "multi_thread")]
async fn token_flag_replaces_the_authentication_metadata_of_the_environment() {
    let collector = collector(None).await;
    let out = run(
        BIN,
        &[
            "--endpoint",
            &collector.grpc_endpoint(),
            "--token",
            "from-flag",
        ],
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            "authentication=from-env,x-team=dev%20ops",
        )],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
    for request in collector.requests() {
        assert_eq!(
            request.headers.get("authentication").map(String::as_str),
            Some("from-flag")
        );
        assert_eq!(
            request.headers.get("x-team").map(String::as_str),
            Some("dev ops")
        );
    }
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
    let pki = Pki::generate().unwrap();
    let ca = pki.ca_cert().to_str().unwrap();
    let tls_collector = collector(Some(TlsConfig::new(pki.server_cert(), pki.server_key()))).await;
    let https = tls_collector.grpc_endpoint();
    let out = run(
        BIN,
        &["--endpoint", &https],
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", ca)],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    tls_collector.wait_for_spans(9, LIMIT).await.unwrap();

    let out = run(BIN, &["--endpoint", &https], &[]).await;
    assert_delivery_failure(
        &out,
        "is not trusted (unknown issuer): set OTEL_EXPORTER_OTLP_CERTIFICATE",
    );
    let out = run(
        BIN,
        &["--endpoint", &https.replace("https://", "http://")],
        &[],
    )
    .await;
    assert_delivery_failure(
        &out,
        "speaks TLS, but the endpoint is http://: write https://",
    );
    let plain = collector(None).await;
    let out = run(
        BIN,
        &[
            "--endpoint",
            &plain.grpc_endpoint().replace("http://", "https://"),
        ],
        &[],
    )
    .await;
    assert_delivery_failure(&out, "does not speak TLS, but the endpoint is https://");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_with_the_client_certificate_variables() {
    let pki = Pki::generate().unwrap();
    let ca = pki.ca_cert().to_str().unwrap();
    let mut tls = TlsConfig::new(pki.server_cert(), pki.server_key());
    tls.client_ca = Some(pki.ca_cert().to_owned());
    let collector = collector(Some(tls)).await;
    let out = run(
        BIN,
        &["--endpoint", &collector.grpc_endpoint()],
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", ca),
            (
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                pki.client_cert().to_str().unwrap(),
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
                pki.client_key().to_str().unwrap(),
            ),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    collector.wait_for_spans(9, LIMIT).await.unwrap();
}
