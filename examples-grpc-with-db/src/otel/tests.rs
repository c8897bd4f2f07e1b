//! The two layers around a real tonic server on a loopback port, with a
//! fake `user.User` (no database), the spans in the SDK's in-memory
//! exporter. The provider and propagator are process-wide, so each test
//! opens its own root span and looks only at the spans of its trace.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use http::uri::PathAndQuery;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{FutureExt as _, SpanId, Status as SpanStatus, TraceId};
use opentelemetry::{Value, trace::SpanKind as Kind};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tower::ServiceBuilder;

use super::*;
use crate::proto::user_client::UserClient;
use crate::proto::user_server::{User, UserServer};
use crate::proto::{DeleteReq, DeleteRes, InsertReq, InsertRes, QueryReq, QueryRes};

/// The spans of every test; installed once with the W3C propagators.
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        global::set_tracer_provider(provider);
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        exporter
    })
}

/// A `user.User` with planted answers: Insert answers the baggage `uid` it
/// saw as the id (0 without) inside a child span `handler`; Query 1 is
/// found, 2 and 3 are server faults, 4 is slow, others are NOT_FOUND;
/// Delete is always the caller's error.
struct Fake;

#[tonic::async_trait]
impl User for Fake {
    async fn insert(
        &self,
        _request: tonic::Request<InsertReq>,
    ) -> Result<tonic::Response<InsertRes>, tonic::Status> {
        let uid = global::tracer("test").in_span("handler", |cx| {
            cx.baggage()
                .get("uid")
                .map_or(0, |uid| uid.as_str().parse().unwrap_or(-1))
        });
        Ok(tonic::Response::new(InsertRes { id: uid }))
    }

    async fn query(
        &self,
        request: tonic::Request<QueryReq>,
    ) -> Result<tonic::Response<QueryRes>, tonic::Status> {
        match request.into_inner().id {
            1 => Ok(tonic::Response::new(QueryRes {
                id: 1,
                name: "john".to_owned(),
            })),
            2 => Err(tonic::Status::internal("database error: disk full")),
            3 => Err(tonic::Status::unavailable(
                "the database is unavailable: connection refused",
            )),
            4 => {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Err(tonic::Status::internal("too late"))
            }
            id => Err(tonic::Status::not_found(format!("no user with id {id}"))),
        }
    }

    async fn delete(
        &self,
        _request: tonic::Request<DeleteReq>,
    ) -> Result<tonic::Response<DeleteRes>, tonic::Status> {
        Err(tonic::Status::invalid_argument(
            "User id is required for deleting.",
        ))
    }
}

/// The fake behind the server layer, on a free loopback port.
async fn serve() -> SocketAddr {
    exporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(ServerTracing::new().with_baggage(["uid"]))
        .serve_with_incoming(UserServer::new(Fake), TcpIncoming::from(listener));
    tokio::spawn(server);
    addr
}

/// A channel to `addr` behind the client layer.
fn traced_channel(addr: SocketAddr) -> TracedClient<Channel> {
    let uri: Uri = format!("http://{addr}").parse().unwrap();
    let channel = Endpoint::from(uri.clone())
        .connect_timeout(Duration::from_secs(2))
        .connect_lazy();
    ServiceBuilder::new()
        .layer(ClientTracing::new(&uri))
        .service(channel)
}

/// Runs `call` under a new root span with baggage `uid=100`; the spans of
/// its trace once `count` have ended (root included), and what it returned.
async fn traced<F: Future>(count: usize, call: F) -> (Vec<SpanData>, F::Output) {
    let root = global::tracer("test").start("root");
    let cx = Context::current_with_span(root).with_baggage([KeyValue::new("uid", "100")]);
    let output = call.with_context(cx.clone()).await;
    cx.span().end();
    let trace_id = cx.span().span_context().trace_id();
    (spans_of(trace_id, count).await, output)
}

async fn spans_of(trace_id: TraceId, count: usize) -> Vec<SpanData> {
    for _ in 0..500 {
        let spans: Vec<SpanData> = exporter()
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|span| span.span_context.trace_id() == trace_id)
            .collect();
        if spans.len() >= count {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {count} spans ended in trace {trace_id}");
}

fn one<'s>(spans: &'s [SpanData], name: &str, kind: Kind) -> &'s SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .collect();
    match found.as_slice() {
        [span] => span,
        _ => panic!("expected one {kind:?} span {name}: {spans:#?}"),
    }
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|value| value.as_str().into_owned())
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, SpanStatus::Error { .. })
}

fn parent_of(child: &SpanData, parent: &SpanData) -> bool {
    child.parent_span_id == parent.span_context.span_id()
}

#[tokio::test]
async fn a_call_is_a_client_and_a_server_span_with_the_callers_context_and_baggage() {
    let addr = serve().await;
    let mut client = UserClient::new(traced_channel(addr));
    let (spans, answer) = traced(4, async {
        let request = InsertReq {
            name: "john".to_owned(),
        };
        client.insert(request).await
    })
    .await;
    // The handler saw the caller's baggage.
    assert_eq!(answer.unwrap().into_inner().id, 100);

    let root = one(&spans, "root", Kind::Internal);
    let client_span = one(&spans, "user.User/Insert", Kind::Client);
    let server_span = one(&spans, "user.User/Insert", Kind::Server);
    let handler = one(&spans, "handler", Kind::Internal);
    assert!(parent_of(client_span, root), "{spans:#?}");
    assert!(parent_of(server_span, client_span), "{spans:#?}");
    assert!(server_span.parent_span_is_remote);
    assert!(parent_of(handler, server_span), "{spans:#?}");
    assert_eq!(root.parent_span_id, SpanId::INVALID);

    for span in [client_span, server_span] {
        assert_eq!(text(span, RPC_SYSTEM_NAME).as_deref(), Some("grpc"));
        assert_eq!(text(span, RPC_METHOD).as_deref(), Some("user.User/Insert"));
        assert_eq!(text(span, RPC_RESPONSE_STATUS_CODE).as_deref(), Some("OK"));
        assert_eq!(attr(span, ERROR_TYPE), None);
        assert_eq!(attr(span, RPC_METHOD_ORIGINAL), None);
        assert_eq!(span.status, SpanStatus::Unset);
        assert_eq!(span.instrumentation_scope.name(), SCOPE);
        // Each key once: nothing is set twice.
        let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        keys.sort_unstable();
        let count = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), count, "{span:#?}");
    }
    let port = i64::from(addr.port());
    assert_eq!(
        text(client_span, SERVER_ADDRESS).as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(attr(client_span, SERVER_PORT), Some(Value::I64(port)));
    assert_eq!(
        text(server_span, NETWORK_PEER_ADDRESS).as_deref(),
        Some("127.0.0.1")
    );
    assert!(
        matches!(attr(server_span, NETWORK_PEER_PORT), Some(Value::I64(p)) if p > 0 && p != port),
        "{server_span:#?}"
    );
    assert_eq!(attr(server_span, SERVER_PORT), Some(Value::I64(port)));
    // The baggage the server received, on its span (only the named key).
    assert_eq!(text(server_span, "baggage.uid").as_deref(), Some("100"));
    assert_eq!(attr(client_span, "baggage.uid"), None);
    // The span ends when the call does: after the handler's span.
    assert!(server_span.end_time >= handler.end_time);
    assert!(client_span.end_time >= server_span.end_time);
}

#[tokio::test]
async fn a_bad_request_is_an_error_for_the_client_only() {
    let addr = serve().await;
    let mut client = UserClient::new(traced_channel(addr));
    let (spans, answer) = traced(3, client.delete(DeleteReq { id: -1 })).await;
    let status = answer.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "User id is required for deleting.");

    let client_span = one(&spans, "user.User/Delete", Kind::Client);
    let server_span = one(&spans, "user.User/Delete", Kind::Server);
    assert_eq!(
        client_span.status,
        SpanStatus::error("User id is required for deleting.")
    );
    assert_eq!(
        text(client_span, ERROR_TYPE).as_deref(),
        Some("INVALID_ARGUMENT")
    );
    // The server did its job: refusing a bad request is not its failure.
    assert_eq!(server_span.status, SpanStatus::Unset);
    assert_eq!(attr(server_span, ERROR_TYPE), None);
    for span in [client_span, server_span] {
        assert_eq!(
            text(span, RPC_RESPONSE_STATUS_CODE).as_deref(),
            Some("INVALID_ARGUMENT")
        );
        assert_eq!(text(span, RPC_METHOD).as_deref(), Some("user.User/Delete"));
    }

    let (spans, answer) = traced(3, client.query(QueryReq { id: 9 })).await;
    assert_eq!(answer.unwrap_err().code(), Code::NotFound);
    assert!(is_error(one(&spans, "user.User/Query", Kind::Client)));
    let server_span = one(&spans, "user.User/Query", Kind::Server);
    assert!(!is_error(server_span), "{server_span:#?}");
    assert_eq!(
        text(server_span, RPC_RESPONSE_STATUS_CODE).as_deref(),
        Some("NOT_FOUND")
    );
}

#[tokio::test]
async fn a_server_fault_is_an_error_on_both_sides() {
    let addr = serve().await;
    let mut client = UserClient::new(traced_channel(addr));
    for (id, code, message) in [
        (2, "INTERNAL", "database error: disk full"),
        (
            3,
            "UNAVAILABLE",
            "the database is unavailable: connection refused",
        ),
    ] {
        let (spans, answer) = traced(3, client.query(QueryReq { id })).await;
        assert_eq!(answer.unwrap_err().message(), message);
        for kind in [Kind::Client, Kind::Server] {
            let span = one(&spans, "user.User/Query", kind);
            assert_eq!(span.status, SpanStatus::error(message), "{span:#?}");
            assert_eq!(text(span, ERROR_TYPE).as_deref(), Some(code));
            assert_eq!(text(span, RPC_RESPONSE_STATUS_CODE).as_deref(), Some(code));
        }
    }
}

#[tokio::test]
async fn an_unreachable_server_ends_the_client_span_with_the_cause() {
    exporter();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let mut client = UserClient::new(traced_channel(closed));
    let (spans, answer) = traced(2, client.query(QueryReq { id: 1 })).await;
    // The caller sees what tonic makes of it: UNAVAILABLE.
    assert_eq!(answer.unwrap_err().code(), Code::Unavailable);
    let span = one(&spans, "user.User/Query", Kind::Client);
    assert_eq!(text(span, ERROR_TYPE).as_deref(), Some("UNAVAILABLE"));
    assert_eq!(
        text(span, RPC_RESPONSE_STATUS_CODE).as_deref(),
        Some("UNAVAILABLE")
    );
    // The status says why, down to the socket.
    match &span.status {
        SpanStatus::Error { description } => {
            assert!(description.contains("refused"), "{description}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unknown_method_is_other_on_the_server() {
    let addr = serve().await;
    let mut grpc = tonic::client::Grpc::new(traced_channel(addr));
    let (spans, answer) = traced(3, async {
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<QueryReq, QueryRes>::default();
        let path = PathAndQuery::from_static("/user.User/Rename");
        grpc.unary(tonic::Request::new(QueryReq { id: 1 }), path, codec)
            .await
    })
    .await;
    assert_eq!(answer.unwrap_err().code(), Code::Unimplemented);
    // The client asked for it by name.
    let client_span = one(&spans, "user.User/Rename", Kind::Client);
    assert_eq!(
        text(client_span, RPC_METHOD).as_deref(),
        Some("user.User/Rename")
    );
    // The server does not know it: `_OTHER`, the span named after the system.
    let server_span = one(&spans, "grpc", Kind::Server);
    assert_eq!(text(server_span, RPC_METHOD).as_deref(), Some("_OTHER"));
    assert_eq!(
        text(server_span, RPC_METHOD_ORIGINAL).as_deref(),
        Some("/user.User/Rename")
    );
    assert_eq!(
        text(server_span, ERROR_TYPE).as_deref(),
        Some("UNIMPLEMENTED")
    );
}

#[tokio::test]
async fn a_missed_deadline_ends_both_spans() {
    let addr = serve().await;
    let mut client = UserClient::new(traced_channel(addr));
    let (spans, answer) = traced(3, async {
        let mut request = tonic::Request::new(QueryReq { id: 4 });
        request.set_timeout(Duration::from_millis(200));
        client.query(request).await
    })
    .await;
    // tonic reports its own deadline as CANCELLED ("Timeout expired").
    assert_eq!(answer.unwrap_err().code(), Code::Cancelled);
    let client_span = one(&spans, "user.User/Query", Kind::Client);
    assert_eq!(text(client_span, ERROR_TYPE).as_deref(), Some("CANCELLED"));
    // The server's handler was dropped at the deadline: its span says so.
    let server_span = one(&spans, "user.User/Query", Kind::Server);
    assert_eq!(
        text(server_span, RPC_RESPONSE_STATUS_CODE).as_deref(),
        Some("DEADLINE_EXCEEDED"),
        "{server_span:#?}"
    );
    assert!(is_error(server_span));
}

#[test]
fn method_names_come_only_from_well_formed_paths() {
    assert_eq!(
        Method::from_path("/user.User/Insert").name.as_deref(),
        Some("user.User/Insert")
    );
    assert_eq!(Method::from_path("/user.User/Insert").malformed, "");
    for path in [
        "",
        "/",
        "user.User/Insert",
        "/user.User/",
        "//Insert",
        "/a/b/c",
        "/user.User/In sert",
        "/user.User/Insert\n",
    ] {
        let method = Method::from_path(path);
        assert_eq!(method.name, None, "{path:?}");
        assert_eq!(method.span_name(), "grpc");
    }
    let long = format!("/s/{}", "m".repeat(500));
    assert_eq!(Method::from_path(&long).name, None);
    assert_eq!(Method::from_path(&long).malformed.len(), 128);
}

#[test]
fn grpc_messages_are_percent_decoded() {
    assert_eq!(percent_decoded(b"plain"), "plain");
    assert_eq!(percent_decoded(b"caf%C3%A9%20%25 100%"), "caf\u{e9} % 100%");
    assert_eq!(percent_decoded(b"%zz%4"), "%zz%4");
    assert_eq!(percent_decoded(b"%+1"), "%+1");
}

#[test]
fn grpc_timeouts_are_parsed() {
    let timeout = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().unwrap());
        grpc_timeout(&headers)
    };
    assert_eq!(timeout("200m"), Some(Duration::from_millis(200)));
    assert_eq!(timeout("3S"), Some(Duration::from_secs(3)));
    assert_eq!(timeout("1H"), Some(Duration::from_secs(3600)));
    assert_eq!(timeout("5u"), Some(Duration::from_micros(5)));
    for bad in ["", "m", "123456789m", "10x", "-1m", "1.5S"] {
        assert_eq!(timeout(bad), None, "{bad:?}");
    }
}

#[test]
fn server_faults_are_the_six_codes() {
    let faults: Vec<&str> = (0..17)
        .map(Code::from_i32)
        .filter(|code| server_fault(*code))
        .map(code_name)
        .collect();
    assert_eq!(
        faults,
        [
            "UNKNOWN",
            "DEADLINE_EXCEEDED",
            "UNIMPLEMENTED",
            "INTERNAL",
            "UNAVAILABLE",
            "DATA_LOSS"
        ]
    );
}
