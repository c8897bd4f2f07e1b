//! OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! Written by hand instead of using the generated `TraceServiceServer`,
//! which is the same code with one difference: the generated server decodes
//! with `tonic_prost::ProstCodec`, and that reports malformed protobuf as
//! INTERNAL. A client sending bad bytes should get INVALID_ARGUMENT.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::task::{Context, Poll};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder};
use tonic::codegen::{BoxFuture, Service, http};
use tonic::metadata::KeyAndValueRef;
use tonic::server::{Grpc, UnaryService};
use tonic::{Code, Request, Response, Status};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::model::{ReceivedRequest, Transport};
use crate::otlp;
use crate::store::Store;

pub(crate) const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// `ProstCodec`, except that undecodable messages are INVALID_ARGUMENT.
#[derive(Debug, Default)]
pub(crate) struct ExportCodec(ProstCodec<ExportTraceServiceResponse, ExportTraceServiceRequest>);

impl Codec for ExportCodec {
    type Encode = ExportTraceServiceResponse;
    type Decode = ExportTraceServiceRequest;
    type Encoder = ProstEncoder<ExportTraceServiceResponse>;
    type Decoder = InvalidArgumentDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        InvalidArgumentDecoder(self.0.decoder())
    }
}

#[derive(Debug)]
pub(crate) struct InvalidArgumentDecoder(ProstDecoder<ExportTraceServiceRequest>);

impl Decoder for InvalidArgumentDecoder {
    type Item = ExportTraceServiceRequest;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "malformed ExportTraceServiceRequest: {}",
                status.message()
            ))
        })
    }
}

/// The tower service the gRPC listener's accept loop (`serve`) runs for
/// every request (any other path gets UNIMPLEMENTED).
#[derive(Debug, Clone)]
pub(crate) struct TraceServer {
    store: Store,
    max_message_bytes: usize,
}

impl TraceServer {
    pub(crate) fn new(store: Store, max_message_bytes: usize) -> Self {
        TraceServer {
            store,
            max_message_bytes,
        }
    }
}

impl<B> Service<http::Request<B>> for TraceServer
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
        if req.uri().path() != EXPORT_PATH {
            let status = Status::unimplemented(format!(
                "{} is not served here; only {EXPORT_PATH}",
                req.uri().path()
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let export = Export {
            store: self.store.clone(),
        };
        let limit = self.max_message_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(ExportCodec::default())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit);
            let mut response = grpc.unary(export, req).await;
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
}

/// One call of Export.
struct Export {
    store: Store,
}

impl UnaryService<ExportTraceServiceRequest> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<ExportTraceServiceRequest>) -> Self::Future {
        let store = self.store.clone();
        Box::pin(async move {
            let headers: BTreeMap<String, String> = request
                .metadata()
                .iter()
                .filter_map(|entry| match entry {
                    KeyAndValueRef::Ascii(key, value) => Some((
                        key.as_str().to_ascii_lowercase(),
                        value.to_str().ok()?.to_owned(),
                    )),
                    KeyAndValueRef::Binary(..) => None,
                })
                .collect();
            let runs = otlp::convert(request.into_inner(), Transport::Grpc, EXPORT_PATH)
                .map_err(Status::invalid_argument)?;
            let received = ReceivedRequest {
                transport: Transport::Grpc,
                path: EXPORT_PATH.to_owned(),
                headers,
                span_count: runs.iter().map(|(_, run)| run.len()).sum(),
            };
            store.insert(received, runs);
            Ok(Response::new(ExportTraceServiceResponse::default()))
        })
    }
}
