//! Both OTLP receivers over TLS (and mutual TLS), proved with real
//! handshakes against certificates generated for the test; clear errors for
//! bad certificate and key files; the binary's `--tls-*` flags.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use collector::{Collector, CollectorConfig, TlsConfig, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use support::*;
use testkit::Pki;
use tokio::io::AsyncWriteExt as _;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const WAIT: Duration = Duration::from_secs(10);
const BIN: &str = env!("CARGO_BIN_EXE_collector");

/// reqwest (built without a provider of its own) and tonic's client use
/// the process-wide rustls provider: ring.
fn install_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("reading a generated PEM file")
}

fn tls(pki: &Pki) -> TlsConfig {
    TlsConfig::new(pki.server_cert(), pki.server_key())
}

async fn start(tls: TlsConfig) -> Collector {
    Collector::start(CollectorConfig {
        tls: Some(tls),
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector with TLS")
}

fn message(service: &str, name: &str, span_id: u8) -> ExportTraceServiceRequest {
    export(service, vec![span(&TRACE_ID, &[span_id; 8], None, name)])
}

/// An HTTPS client that trusts only the test CA, with a client certificate
/// when `identity` is set.
fn https_client(pki: &Pki, identity: bool) -> reqwest::Client {
    install_ring();
    let ca = reqwest::Certificate::from_pem(&read(pki.ca_cert())).expect("the test CA");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(WAIT);
    if identity {
        let mut pem = read(pki.client_cert());
        pem.extend(read(pki.client_key()));
        builder = builder.identity(reqwest::Identity::from_pem(&pem).expect("the client identity"));
    }
    builder.build().expect("building the HTTPS client")
}

async fn post_protobuf(
    client: &reqwest::Client,
    url: &str,
    message: &ExportTraceServiceRequest,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(message.encode_to_vec())
        .send()
        .await
}

/// A gRPC client over TLS that trusts only the test CA, with a client
/// certificate when `identity` is set. Connecting is lazy: with mutual TLS
/// a missing certificate shows up as a failed call.
fn grpc_client(collector: &Collector, pki: &Pki, identity: bool) -> TraceServiceClient<Channel> {
    install_ring();
    let mut config =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(pki.ca_cert())));
    if identity {
        config = config.identity(Identity::from_pem(
            read(pki.client_cert()),
            read(pki.client_key()),
        ));
    }
    let channel = Channel::from_shared(collector.grpc_endpoint())
        .expect("a valid endpoint")
        .tls_config(config)
        .expect("a valid TLS config")
        .connect_timeout(WAIT)
        .timeout(WAIT)
        .connect_lazy();
    TraceServiceClient::new(channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_protobuf_export_is_stored() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki)).await;
    assert!(collector.tls());
    let endpoint = collector.http_endpoint();
    assert_eq!(endpoint, format!("https://{}", collector.http_addr()));

    let response = post_protobuf(
        &https_client(&pki, false),
        &format!("{endpoint}/v1/traces"),
        &message("https-svc", "main", 1),
    )
    .await
    .expect("an HTTPS export");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");

    let spans = collector.wait_for_spans(1, WAIT).await.expect("the span");
    assert_eq!(spans[0].name, "main");
    assert_eq!(spans[0].service_name, "https-svc");
    assert_eq!(spans[0].transport, Transport::HttpProtobuf);
    // The web view is not part of TLS.
    assert!(
        collector
            .ui_url()
            .expect("the web view")
            .starts_with("http://")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_fails() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki)).await;
    let plain_url = format!("http://{}/v1/traces", collector.http_addr());

    let answer = post_protobuf(
        &https_client(&pki, false),
        &plain_url,
        &message("plain-svc", "main", 1),
    )
    .await;
    assert!(answer.is_err(), "plain HTTP was answered: {answer:?}");
    assert!(collector.requests().is_empty());

    // The receiver still serves TLS afterwards.
    let response = post_protobuf(
        &https_client(&pki, false),
        &format!("{}/v1/traces", collector.http_endpoint()),
        &message("plain-svc", "main", 1),
    )
    .await
    .expect("an HTTPS export after the plain one");
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_over_tls_is_stored() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki)).await;
    assert_eq!(
        collector.grpc_endpoint(),
        format!("https://{}", collector.grpc_addr())
    );

    grpc_client(&collector, &pki, false)
        .export(message("grpc-tls-svc", "main", 2))
        .await
        .expect("a gRPC export over TLS");
    let spans = collector.wait_for_spans(1, WAIT).await.expect("the span");
    assert_eq!(spans[0].service_name, "grpc-tls-svc");
    assert_eq!(spans[0].transport, Transport::Grpc);

    // And a plaintext gRPC client is turned away.
    let plain = format!("http://{}", collector.grpc_addr());
    let plain_export = async {
        TraceServiceClient::connect(plain)
            .await
            .map_err(|e| e.to_string())?
            .export(message("grpc-tls-svc", "plain", 3))
            .await
            .map_err(|e| e.to_string())
    };
    let answer = tokio::time::timeout(WAIT, plain_export)
        .await
        .expect("the plaintext client gives up in time");
    assert!(answer.is_err(), "plaintext gRPC was answered: {answer:?}");
    assert_eq!(collector.spans().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_requires_a_client_certificate_signed_by_the_ca() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki).with_client_ca(pki.ca_cert())).await;
    let url = format!("{}/v1/traces", collector.http_endpoint());

    // Without a client certificate: refused by both receivers.
    let answer = post_protobuf(
        &https_client(&pki, false),
        &url,
        &message("anonymous", "main", 1),
    )
    .await;
    assert!(
        answer.is_err(),
        "HTTPS without a client certificate: {answer:?}"
    );
    let answer = grpc_client(&collector, &pki, false)
        .export(message("anonymous", "main", 2))
        .await;
    assert!(
        answer.is_err(),
        "gRPC without a client certificate: {answer:?}"
    );
    assert!(collector.requests().is_empty());

    // With one signed by the CA: accepted by both.
    let response = post_protobuf(
        &https_client(&pki, true),
        &url,
        &message("mtls-http", "main", 3),
    )
    .await
    .expect("an HTTPS export with a client certificate");
    assert_eq!(response.status(), 200);
    grpc_client(&collector, &pki, true)
        .export(message("mtls-grpc", "main", 4))
        .await
        .expect("a gRPC export with a client certificate");

    let spans = collector.wait_for_spans(2, WAIT).await.expect("both spans");
    let mut services: Vec<_> = spans.iter().map(|s| s.service_name.as_str()).collect();
    services.sort_unstable();
    assert_eq!(services, ["mtls-grpc", "mtls-http"]);
}

/// A TLS handshake with the HTTP receiver offering `protocols` by ALPN;
/// returns the protocol it chose.
async fn negotiate(addr: SocketAddr, pki: &Pki, protocols: &[&[u8]]) -> Option<Vec<u8>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.ca_cert()).expect("the CA file") {
        roots
            .add(cert.expect("a CA certificate"))
            .expect("a usable CA");
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connecting");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("a name"), tcp)
        .await
        .expect("the TLS handshake");
    tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_receiver_offers_h2_and_http1_by_alpn() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki)).await;
    let addr = collector.http_addr();
    assert_eq!(
        negotiate(addr, &pki, &[b"h2", b"http/1.1"])
            .await
            .as_deref(),
        Some(&b"h2"[..])
    );
    assert_eq!(
        negotiate(addr, &pki, &[b"http/1.1"]).await.as_deref(),
        Some(&b"http/1.1"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_does_not_hold_up_the_others() {
    let pki = Pki::generate().expect("generating certificates");
    let collector = start(tls(&pki)).await;
    // Connected, and never says a word: its handshake waits in a task of
    // its own (until the 10 s limit).
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(
            tokio::net::TcpStream::connect(collector.http_addr())
                .await
                .expect("connecting"),
        );
    }
    // Half a ClientHello is no better.
    silent[0]
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("writing");

    let response = tokio::time::timeout(
        Duration::from_secs(5),
        post_protobuf(
            &https_client(&pki, false),
            &format!("{}/v1/traces", collector.http_endpoint()),
            &message("patient", "main", 1),
        ),
    )
    .await
    .expect("answered while the silent clients wait")
    .expect("an HTTPS export");
    assert_eq!(response.status(), 200);
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tls_files_are_clear_errors() {
    let pki = Pki::generate().expect("generating certificates");
    let dir = pki.dir();
    let garbage = dir.join("garbage-key.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nnot base64 at all!\n-----END PRIVATE KEY-----\n",
    )
    .expect("writing a bad key");
    let missing = dir.join("missing.pem");
    let server_cert = pki.server_cert();
    let server_key = pki.server_key();

    // (config, what the error must say)
    let cases: Vec<(TlsConfig, Vec<String>)> = vec![
        (
            TlsConfig::new(&missing, server_key),
            vec![
                "cannot read the TLS certificate".into(),
                missing.display().to_string(),
            ],
        ),
        (
            TlsConfig::new(server_cert, &missing),
            vec![
                "cannot read the TLS private key".into(),
                missing.display().to_string(),
            ],
        ),
        (
            // A key where the certificate should be.
            TlsConfig::new(server_key, server_key),
            vec!["no certificate in".into(), server_key.display().to_string()],
        ),
        (
            // A certificate where the key should be.
            TlsConfig::new(server_cert, server_cert),
            vec![
                "no private key in".into(),
                server_cert.display().to_string(),
            ],
        ),
        (
            TlsConfig::new(server_cert, &garbage),
            vec![
                "cannot parse the private key".into(),
                garbage.display().to_string(),
            ],
        ),
        (
            TlsConfig::new(server_cert, pki.wrong_name_key()),
            vec![
                "does not match".into(),
                pki.wrong_name_key().display().to_string(),
                server_cert.display().to_string(),
            ],
        ),
        (
            tls(&pki).with_client_ca(server_key),
            vec![
                "no certificate in".into(),
                server_key.display().to_string(),
                "--tls-client-ca".into(),
            ],
        ),
    ];
    for (config, expected) in cases {
        let error = Collector::start(CollectorConfig {
            tls: Some(config.clone()),
            ..CollectorConfig::ephemeral()
        })
        .await
        .expect_err(&format!("{config:?} was accepted"));
        let message = format!("{error:#}");
        for part in expected {
            assert!(message.contains(&part), "{part:?} missing from: {message}");
        }
    }
}

#[test]
fn binary_serves_tls_and_prints_https_endpoints() {
    let pki = Pki::generate().expect("generating certificates");
    let mut command = Command::new(BIN);
    command
        .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"])
        .arg("--tls-cert")
        .arg(pki.server_cert())
        .arg("--tls-key")
        .arg(pki.server_key());
    let (_running, stderr) = Running::with_stderr(command);

    let mut endpoints = Vec::new();
    let mut banner = Vec::new();
    while endpoints.len() < 2 {
        let line = stderr
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the startup lines, after:\n{}", banner.join("\n")));
        let trimmed = line.trim();
        for receiver in ["OTLP/gRPC", "OTLP/HTTP"] {
            if let Some(rest) = trimmed.strip_prefix(receiver) {
                let endpoint = rest.split_whitespace().next().unwrap_or_default();
                endpoints.push((receiver, endpoint.to_owned()));
            }
        }
        banner.push(line);
    }
    for (receiver, endpoint) in &endpoints {
        assert!(
            endpoint.starts_with("https://127.0.0.1:"),
            "{receiver} endpoint {endpoint:?} in:\n{}",
            banner.join("\n")
        );
    }

    // The printed HTTP endpoint really serves TLS.
    let http = &endpoints
        .iter()
        .find(|(receiver, _)| *receiver == "OTLP/HTTP")
        .expect("the OTLP/HTTP line")
        .1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let response = runtime
        .block_on(post_protobuf(
            &https_client(&pki, false),
            &format!("{http}/v1/traces"),
            &message("binary-tls", "main", 1),
        ))
        .expect("an HTTPS export to the binary");
    assert_eq!(response.status(), 200);
}

#[test]
fn tls_flags_come_together() {
    for args in [
        &["--tls-cert", "cert.pem"][..],
        &["--tls-key", "key.pem"],
        &["--tls-client-ca", "ca.pem"],
        &["--tls-client-ca", "ca.pem", "--tls-key", "key.pem"],
    ] {
        // Free ports, and a time limit: a collector that accepted the
        // flags would run until killed.
        let mut child = Command::new(BIN)
            .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the collector");
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        let mut running = Running(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            match running.0.try_wait().expect("the collector's status") {
                Some(status) => break Some(status),
                None if Instant::now() > deadline => break None,
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        drop(running);
        let message: Vec<String> = stderr.iter().collect();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "{args:?} did not exit 2 within 10 s: {message:?}"
        );
        let stderr = message.join("\n");
        assert!(
            stderr.contains("required arguments were not provided"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_expired_certificate_is_served_with_a_warning_that_says_what_to_do() {
    let pki = Pki::generate().expect("certificates");
    let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
    command
        .args(COLLECTOR_FREE_PORTS)
        .arg("--tls-cert")
        .arg(pki.expired_cert())
        .arg("--tls-key")
        .arg(pki.expired_key());
    let (_running, _stdout, stderr) = Running::printing(command);
    let timeout = Duration::from_secs(30);
    let mut banner = Vec::new();
    while let Ok(line) = stderr.recv_timeout(timeout) {
        let listening = line.starts_with("collector listening");
        banner.push(line);
        if listening {
            break;
        }
    }
    let warning = banner
        .iter()
        .find(|line| line.starts_with("warning: "))
        .unwrap_or_else(|| panic!("no warning before the banner: {banner:#?}"));
    assert!(
        warning.contains(&format!(
            "the certificate in {} (--tls-cert) expired on 2021-01-01",
            pki.expired_cert().display()
        )) && warning.contains("renew it"),
        "{warning}"
    );
    // It still serves (a client that accepts expired certificates could
    // connect): the banner follows.
    assert!(
        banner
            .last()
            .is_some_and(|l| l.starts_with("collector listening"))
    );
}
