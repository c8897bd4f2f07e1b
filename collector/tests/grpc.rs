//! OTLP/gRPC receiver, driven by tonic clients over real sockets.

mod support;

use std::time::Duration;

use collector::{Collector, CollectorConfig, GRPC_EXPORT_PATH, Transport};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::bytes::BufMut as _;
use support::*;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const WAIT: Duration = Duration::from_secs(10);

async fn start(max_grpc_message_bytes: usize) -> Collector {
    Collector::start(CollectorConfig {
        max_grpc_message_bytes,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector")
}

async fn client(collector: &Collector) -> TraceServiceClient<Channel> {
    TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .expect("connecting to the collector")
}

fn authenticated(message: ExportTraceServiceRequest) -> Request<ExportTraceServiceRequest> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authentication", MetadataValue::from_static("token-123"));
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_export_with_token_is_stored() {
    let collector = start(4 * 1024 * 1024).await;
    let child_id = [7u8; 8];
    let mut child = span(&TRACE_ID, &child_id, Some(&SPAN_ID), "GetUser");
    child.attributes.push(int_attr("user.id", 100));
    child.start_time_unix_nano += 1;
    let message = export(
        "grpc-svc",
        vec![span(&TRACE_ID, &SPAN_ID, None, "main"), child],
    );

    client(&collector)
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .export(authenticated(message))
        .await
        .expect("export succeeds");

    let trace = collector
        .wait_for_trace(|t| t.spans.len() == 2, WAIT)
        .await
        .expect("the trace");
    let root = trace.root().expect("a root");
    assert_eq!(root.name, "main");
    assert_eq!(root.span_id, SPAN_ID_HEX);
    let children = trace.children(root);
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].name, "GetUser");
    assert_eq!(children[0].parent_span_id.as_deref(), Some(SPAN_ID_HEX));
    assert_eq!(children[0].attr_i64("user.id"), Some(100));
    assert_eq!(
        trace.services().into_iter().collect::<Vec<_>>(),
        ["grpc-svc"]
    );
    assert_eq!(root.transport, Transport::Grpc);
    assert_eq!(root.path, GRPC_EXPORT_PATH);
    assert!(trace.is_complete());

    let requests = collector.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.transport, Transport::Grpc);
    assert_eq!(request.path, GRPC_EXPORT_PATH);
    assert_eq!(request.span_count, 2);
    assert_eq!(
        request.headers.get("authentication").map(String::as_str),
        Some("token-123")
    );
    assert_eq!(
        request.headers.get("grpc-encoding").map(String::as_str),
        Some("gzip")
    );
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_id_lengths_are_invalid_argument() {
    let collector = start(4 * 1024 * 1024).await;
    let mut client = client(&collector).await;

    let bad_trace = export("svc", vec![span(&[1; 15], &SPAN_ID, None, "x")]);
    let status = client.export(bad_trace).await.expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("trace id must be 16 bytes"),
        "{status:?}"
    );

    let bad_span = export("svc", vec![span(&TRACE_ID, &[1; 9], None, "x")]);
    let status = client.export(bad_span).await.expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let bad_parent = export("svc", vec![span(&TRACE_ID, &SPAN_ID, Some(&[1; 3]), "x")]);
    let status = client.export(bad_parent).await.expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    assert!(collector.spans().is_empty());
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_resource_exhausted() {
    let collector = start(1024).await;
    let mut big = span(&TRACE_ID, &SPAN_ID, None, "big");
    big.attributes
        .push(string_attr("payload", &"x".repeat(8 * 1024)));
    let message = export("svc", vec![big]);

    let status = client(&collector)
        .await
        .export(message.clone())
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Compressed it fits the limit; decompressed it does not.
    let status = client(&collector)
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .export(message)
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    assert!(collector.spans().is_empty());
    collector.shutdown().await;
}

/// Sends the given bytes as the request message, unchecked.
#[derive(Debug, Default)]
struct RawCodec;

#[derive(Debug, Default)]
struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

#[derive(Debug, Default)]
struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        prost::Message::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(e.to_string()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

async fn export_raw(
    collector: &Collector,
    path: &'static str,
    bytes: Vec<u8>,
) -> Result<(), Status> {
    let channel = Channel::from_shared(collector.grpc_endpoint())
        .expect("a valid endpoint")
        .connect()
        .await
        .expect("connecting to the collector");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("the channel is ready");
    grpc.unary(
        Request::new(bytes),
        PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_invalid_argument() {
    let collector = start(4 * 1024 * 1024).await;
    // Field 1 (resource_spans), length-delimited, claiming 100 bytes that never come.
    let status = export_raw(&collector, GRPC_EXPORT_PATH, vec![0x0a, 100, 1, 2])
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("malformed"), "{status:?}");

    let status = export_raw(&collector, GRPC_EXPORT_PATH, vec![0xff; 16])
        .await
        .expect_err("rejected");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // An empty message is a valid, empty export.
    export_raw(&collector, GRPC_EXPORT_PATH, Vec::new())
        .await
        .expect("an empty export is fine");
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_methods_are_unimplemented() {
    let collector = start(4 * 1024 * 1024).await;
    let status = export_raw(
        &collector,
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
        Vec::new(),
    )
    .await
    .expect_err("rejected");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    collector.shutdown().await;
}
