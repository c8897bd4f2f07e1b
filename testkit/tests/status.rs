//! The scripted servers answer in script order, repeat the last reply,
//! record what came, and a hanging reply ends when the server is dropped.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use testkit::status::{GrpcReply, GrpcStatusServer, HttpStatusServer, Reply};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;
use tonic::metadata::MetadataValue;

const WAIT: Duration = Duration::from_secs(10);

fn one_span() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    name: "main".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test]
async fn http_replies_follow_the_script() {
    let server = HttpStatusServer::start(vec![
        Reply::status(503).body("busy").header("retry-after", "1"),
        Reply::status(401).body("bad token"),
        Reply::ok(),
    ])
    .await
    .expect("starting the server");
    assert!(server.endpoint().starts_with("http://127.0.0.1:"));

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for path in ["/v1/traces", "/v1/traces", "/custom", "/again"] {
        let response = client
            .post(format!("{}{path}", server.endpoint()))
            .header("authentication", "token-1")
            .body(vec![1, 2, 3])
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = response.bytes().await.expect("the body");
        answers.push((status, retry_after, content_type, body.to_vec()));
    }
    let protobuf = Some("application/x-protobuf".to_owned());
    assert_eq!(
        answers,
        [
            (
                503,
                Some("1".to_owned()),
                Some("text/plain; charset=utf-8".to_owned()),
                b"busy".to_vec()
            ),
            (
                401,
                None,
                Some("text/plain; charset=utf-8".to_owned()),
                b"bad token".to_vec()
            ),
            (200, None, protobuf.clone(), Vec::new()),
            (200, None, protobuf, Vec::new()),
        ]
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/v1/traces", "/v1/traces", "/custom", "/again"]);
    assert!(requests.iter().all(|r| r.method == "POST"));
    assert_eq!(requests[0].header("Authentication"), Some("token-1"));
    assert_eq!(&requests[0].body[..], [1, 2, 3]);
    assert!(requests.windows(2).all(|w| w[0].received <= w[1].received));
}

#[tokio::test]
async fn http_hang_holds_the_connection_until_the_server_is_dropped() {
    let server = HttpStatusServer::start(vec![Reply::hang()])
        .await
        .expect("starting the server");
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connecting");
    stream
        .write_all(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("writing the request");
    server
        .wait_for_requests(1, WAIT)
        .await
        .expect("the request recorded");

    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
    assert!(early.is_err(), "answered: {early:?}");

    drop(server);
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("the connection closed once the server was dropped");
    // Closed (0 bytes) or reset: either way, no answer.
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn grpc_replies_follow_the_script() {
    let server = GrpcStatusServer::start(vec![
        GrpcReply::status(Code::Unavailable, "try later"),
        GrpcReply::status(Code::Unauthenticated, "bad token"),
        GrpcReply::ok(),
    ])
    .await
    .expect("starting the server");
    let mut client = TraceServiceClient::connect(server.endpoint())
        .await
        .expect("connecting");

    let mut answers = Vec::new();
    for _ in 0..4 {
        let mut request = tonic::Request::new(one_span());
        request
            .metadata_mut()
            .insert("authentication", MetadataValue::from_static("token-1"));
        answers.push(match client.export(request).await {
            Ok(_) => (Code::Ok, String::new()),
            Err(status) => (status.code(), status.message().to_owned()),
        });
    }
    assert_eq!(
        answers,
        [
            (Code::Unavailable, "try later".to_owned()),
            (Code::Unauthenticated, "bad token".to_owned()),
            (Code::Ok, String::new()),
            (Code::Ok, String::new()),
        ]
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests
            .iter()
            .all(|r| r.metadata_value("authentication") == Some("token-1") && r.span_count() == 1)
    );
    assert!(requests.windows(2).all(|w| w[0].received <= w[1].received));
}

#[tokio::test]
async fn grpc_hang_never_answers_until_the_server_is_dropped() {
    let server = GrpcStatusServer::start(vec![GrpcReply::hang()])
        .await
        .expect("starting the server");
    let mut client = TraceServiceClient::connect(server.endpoint())
        .await
        .expect("connecting");
    let call = tokio::spawn(async move { client.export(one_span()).await });
    server
        .wait_for_requests(1, WAIT)
        .await
        .expect("the call recorded");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!call.is_finished(), "the hanging call was answered");

    drop(server);
    let answer = tokio::time::timeout(WAIT, call)
        .await
        .expect("the call ended once the server was dropped")
        .expect("the call's task");
    assert!(answer.is_err(), "{answer:?}");
}

#[tokio::test]
async fn an_empty_script_or_a_bad_reply_is_an_error() {
    assert!(HttpStatusServer::start(Vec::new()).await.is_err());
    assert!(GrpcStatusServer::start(Vec::new()).await.is_err());
    let error = HttpStatusServer::start(vec![Reply::ok(), Reply::status(42)])
        .await
        .expect_err("status 42 was accepted");
    assert!(error.to_string().contains("reply 1"), "{error}");
}
