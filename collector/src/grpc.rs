//! OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`
//! and `opentelemetry.proto.collector.logs.v1.LogsService/Export`, on one
//! port.
//!
//! Written by hand instead of using the generated `TraceServiceServer` and
//! `LogsServiceServer`, which are the same code with one difference: the
//! generated servers decode with `tonic_prost::ProstCodec`, and that
//! reports malformed protobuf as INTERNAL. A client sending bad bytes
//! should get INVALID_ARGUMENT.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::bytes::{Buf as _, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::metadata::{KeyAndValueRef, MetadataMap};
use tonic::server::{Grpc, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::ingest::{self, Export};
use crate::model::{ReceivedRequest, Signal, Transport};
use crate::store::Store;

pub(crate) const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
pub(crate) const LOGS_EXPORT_PATH: &str =
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// An export request message, and the name its errors use.
trait Named {
    const NAME: &'static str;
}

impl Named for ExportTraceServiceRequest {
    const NAME: &'static str = "ExportTraceServiceRequest";
}

impl Named for ExportLogsServiceRequest {
    const NAME: &'static str = "ExportLogsServiceRequest";
}

/// `ProstCodec`, except that undecodable messages are INVALID_ARGUMENT.
#[derive(Debug)]
struct ExportCodec<Req, Resp>(ProstCodec<Resp, Req>);

impl<Req, Resp> Default for ExportCodec<Req, Resp> {
    fn default() -> Self {
        ExportCodec(ProstCodec::default())
    }
}

impl<Req, Resp> Codec for ExportCodec<Req, Resp>
where
    Req: prost::Message + Default + Named + Send + 'static,
    Resp: prost::Message + Send + 'static,
{
    type Encode = Resp;
    type Decode = Req;
    type Encoder = ProstEncoder<Resp>;
    type Decoder = InvalidArgumentDecoder<Req>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidArgumentDecoder(self.0.decoder(), PhantomData)
    }
}

#[derive(Debug)]
struct InvalidArgumentDecoder<Req>(ProstDecoder<Req>, PhantomData<Req>);

impl<Req: prost::Message + Default + Named> Decoder for InvalidArgumentDecoder<Req> {
    type Item = Req;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!("malformed {}: {}", Req::NAME, status.message()))
        })
    }
}

/// A traces export request as its bytes: read by `wire`, without
/// decoding each span whole. The response is encoded with prost.
#[derive(Debug, Default)]
struct RawCodec<Resp>(ProstCodec<Resp, Resp>);

impl<Resp> Codec for RawCodec<Resp>
where
    Resp: prost::Message + Default + Send + 'static,
{
    type Encode = Resp;
    type Decode = Bytes;
    type Encoder = ProstEncoder<Resp>;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

#[derive(Debug)]
struct RawDecoder;

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

/// The tower service the gRPC listener's accept loop (`serve`) runs for
/// every request (any other path gets UNIMPLEMENTED).
#[derive(Debug, Clone)]
pub(crate) struct GrpcServer {
    store: Store,
    max_message_bytes: usize,
}

impl GrpcServer {
    pub(crate) fn new(store: Store, max_message_bytes: usize) -> Self {
        GrpcServer {
            store,
            max_message_bytes,
        }
    }
}

impl<B> Service<http::Request<B>> for GrpcServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let store = self.store.clone();
        let limit = self.max_message_bytes;
        match req.uri().path() {
            EXPORT_PATH => unary(ExportTraces { store }, RawCodec::default(), req, limit),
            LOGS_EXPORT_PATH => unary(
                ExportLogs { store },
                ExportCodec::<ExportLogsServiceRequest, ExportLogsServiceResponse>::default(),
                req,
                limit,
            ),
            other => {
                let status = Status::unimplemented(format!(
                    "{other} is not served here; only {EXPORT_PATH} and {LOGS_EXPORT_PATH}"
                ));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// One unary call of `service` with `codec`, gzip and the message size
/// limit.
fn unary<S, C, B>(
    service: S,
    codec: C,
    req: http::Request<B>,
    limit: usize,
) -> BoxFuture<http::Response<tonic::body::Body>, Infallible>
where
    C: Codec + Send + 'static,
    S: UnaryService<C::Decode, Response = C::Encode> + Send + 'static,
    S::Future: Send,
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<tonic::codegen::StdError> + Send + 'static,
{
    Box::pin(async move {
        let mut grpc = Grpc::new(codec)
            .accept_compressed(CompressionEncoding::Gzip)
            .send_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(limit);
        let mut response = grpc.unary(service, req).await;
        // tonic reports a frame over the limit as OUT_OF_RANGE; the gRPC
        // spec (and every OTLP client) expects RESOURCE_EXHAUSTED. Export
        // itself never answers OUT_OF_RANGE, so this is unambiguous.
        let headers = response.headers_mut();
        let out_of_range = headers
            .get(Status::GRPC_STATUS)
            .is_some_and(|v| Code::from_bytes(v.as_bytes()) == Code::OutOfRange);
        if out_of_range {
            headers.insert(Status::GRPC_STATUS, (Code::ResourceExhausted as i32).into());
        }
        Ok(response)
    })
}

/// One call of `TraceService/Export`.
struct ExportTraces {
    store: Store,
}

impl UnaryService<Bytes> for ExportTraces {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let store = self.store.clone();
        Box::pin(async move {
            let received = ReceivedRequest {
                transport: Transport::Grpc,
                signal: Signal::Traces,
                path: EXPORT_PATH.to_owned(),
                headers: headers(request.metadata()),
                span_count: 0,
                log_record_count: 0,
            };
            let body = request.into_inner();
            ingest::ingest(&store, Export::TracesProtobuf(&body), received).map_err(|e| {
                Status::invalid_argument(format!("ExportTraceServiceRequest refused: {e}"))
            })?;
            store.persist_room().await;
            Ok(Response::new(ExportTraceServiceResponse::default()))
        })
    }
}

/// One call of `LogsService/Export`.
struct ExportLogs {
    store: Store,
}

impl UnaryService<ExportLogsServiceRequest> for ExportLogs {
    type Response = ExportLogsServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<ExportLogsServiceRequest>) -> Self::Future {
        let store = self.store.clone();
        Box::pin(async move {
            let received = ReceivedRequest {
                transport: Transport::Grpc,
                signal: Signal::Logs,
                path: LOGS_EXPORT_PATH.to_owned(),
                headers: headers(request.metadata()),
                span_count: 0,
                log_record_count: 0,
            };
            let stored = ingest::ingest(&store, Export::Logs(request.into_inner()), received)
                .map_err(|e| Status::invalid_argument(e.to_string()))?;
            store.persist_room().await;
            Ok(Response::new(ingest::logs_response(stored.rejected_logs)))
        })
    }
}

/// ASCII metadata, names lowercased.
fn headers(metadata: &MetadataMap) -> BTreeMap<String, String> {
    metadata
        .iter()
        .filter_map(|entry| match entry {
            KeyAndValueRef::Ascii(key, value) => Some((
                key.as_str().to_ascii_lowercase(),
                value.to_str().ok()?.to_owned(),
            )),
            KeyAndValueRef::Binary(..) => None,
        })
        .collect()
}
