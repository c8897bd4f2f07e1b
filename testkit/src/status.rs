//! Scripted fake collectors, to test how exporters handle failures: each
//! request gets the next reply of a script (the last one repeats), and every
//! request is recorded with the moment it arrived, so a test can check how
//! often and when an exporter retried.
//!
//! - [`HttpStatusServer`]: OTLP/HTTP (any method, any path), answering with
//!   a [`Reply`]: a status with body and headers, an OTLP success, or never.
//! - [`GrpcStatusServer`]: OTLP/gRPC `TraceService/Export`, answering with
//!   a [`GrpcReply`]: success, a gRPC status, or never.
//!
//! Both listen on a free port of 127.0.0.1 and stop on drop, closing every
//! connection (a hanging one too).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tonic::codec::CompressionEncoding;
use tonic::metadata::KeyAndValueRef;

/// Largest request body (HTTP) or message (gRPC) accepted; a larger HTTP
/// body is answered 413 instead of the scripted reply.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One scripted answer of an [`HttpStatusServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply(HttpAnswer);

#[derive(Debug, Clone, PartialEq, Eq)]
enum HttpAnswer {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Hang,
}

impl Reply {
    /// `code` with an empty body; add one with [`Reply::body`].
    pub fn status(code: u16) -> Reply {
        Reply(HttpAnswer::Respond {
            status: code,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    /// What a collector answers to an accepted export: 200 with an empty
    /// `ExportTraceServiceResponse`, `application/x-protobuf`.
    pub fn ok() -> Reply {
        Reply::status(200)
            .header(header::CONTENT_TYPE.as_str(), "application/x-protobuf")
            .bytes(ExportTraceServiceResponse::default().encode_to_vec())
    }

    /// An OTLP partial success: 200 with an `ExportTraceServiceResponse`
    /// that rejects `rejected` spans, saying `message`.
    pub fn partial_success(rejected: i64, message: impl Into<String>) -> Reply {
        let response = ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.into(),
            }),
        };
        Reply::status(200)
            .header(header::CONTENT_TYPE.as_str(), "application/x-protobuf")
            .bytes(response.encode_to_vec())
    }

    /// What a web server on the wrong port answers: 200 with an HTML page
    /// titled `title`.
    pub fn html_page(title: &str) -> Reply {
        Reply::status(200)
            .header(header::CONTENT_TYPE.as_str(), "text/html; charset=utf-8")
            .body(format!(
                "<!DOCTYPE html>\n<html><head><title>{title}</title></head><body></body></html>\n"
            ))
    }

    /// Never answers; the connection stays open until the server is dropped.
    pub fn hang() -> Reply {
        Reply(HttpAnswer::Hang)
    }

    /// The body, as text (`text/plain` unless a content-type header is set).
    pub fn body(self, text: impl Into<String>) -> Reply {
        self.bytes(text.into().into_bytes())
    }

    /// An extra response header, e.g. `.header("retry-after", "1")`.
    /// (Ignored by [`Reply::hang`].)
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        if let HttpAnswer::Respond { headers, .. } = &mut self.0 {
            headers.push((name.into(), value.into()));
        }
        self
    }

    fn bytes(mut self, bytes: Vec<u8>) -> Reply {
        if let HttpAnswer::Respond { body, .. } = &mut self.0 {
            *body = bytes;
        }
        self
    }
}

/// A [`Reply`] checked and ready to send.
#[derive(Debug, Clone)]
enum PreparedReply {
    Respond {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    Hang,
}

impl PreparedReply {
    fn new(reply: Reply, index: usize) -> anyhow::Result<PreparedReply> {
        let (status, headers, body) = match reply.0 {
            HttpAnswer::Hang => return Ok(PreparedReply::Hang),
            HttpAnswer::Respond {
                status,
                headers,
                body,
            } => (status, headers, body),
        };
        let status = StatusCode::from_u16(status)
            .map_err(|e| anyhow!("reply {index}: status {status}: {e}"))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|e| anyhow!("reply {index}: header name {name:?}: {e}"))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|e| anyhow!("reply {index}: value of {name}: {value:?}: {e}"))?;
            map.append(name, value);
        }
        if !body.is_empty() && !map.contains_key(header::CONTENT_TYPE) {
            map.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        Ok(PreparedReply::Respond {
            status,
            headers: map,
            body: Bytes::from(body),
        })
    }
}

/// One request an [`HttpStatusServer`] received.
#[derive(Debug, Clone)]
pub struct RecordedHttpRequest {
    /// When its head had arrived.
    pub received: Instant,
    pub method: String,
    pub path: String,
    /// Lowercased names, in arrival order; values that are not text are left out.
    pub headers: Vec<(String, String)>,
    /// Empty when it was over [`MAX_BODY_BYTES`] or could not be read.
    pub body: Bytes,
}

impl RecordedHttpRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        find(&self.headers, name)
    }
}

/// A fake OTLP/HTTP collector that answers from a script.
#[derive(Debug)]
pub struct HttpStatusServer {
    addr: SocketAddr,
    log: Arc<Log<RecordedHttpRequest>>,
    _server: Server,
}

impl HttpStatusServer {
    /// Listens on 127.0.0.1 (free port) and answers request N with
    /// `script[N]`, or the last reply once the script is used up. Fails on
    /// an empty script or a reply that is not valid HTTP (a status outside
    /// 100..=999, a bad header).
    pub async fn start(script: Vec<Reply>) -> anyhow::Result<HttpStatusServer> {
        Self::serve(script, None, Versions::Both).await
    }

    /// As [`HttpStatusServer::start`], speaking HTTP/1.1 only, as most web
    /// servers and proxies do (no HTTP/2 without TLS).
    pub async fn start_http1(script: Vec<Reply>) -> anyhow::Result<HttpStatusServer> {
        Self::serve(script, None, Versions::Http1).await
    }

    /// A backend that takes traces only, as Jaeger 1.55's OTLP/HTTP
    /// receiver: 404 to a path ending in `/v1/logs`, an OTLP success to any
    /// other. Every request is recorded.
    pub async fn traces_only() -> anyhow::Result<HttpStatusServer> {
        Self::serve(vec![Reply::ok()], Some("/v1/logs"), Versions::Both).await
    }

    async fn serve(
        script: Vec<Reply>,
        not_found_suffix: Option<&'static str>,
        versions: Versions,
    ) -> anyhow::Result<HttpStatusServer> {
        let script = script
            .into_iter()
            .enumerate()
            .map(|(index, reply)| PreparedReply::new(reply, index))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if script.is_empty() {
            bail!("an HttpStatusServer needs at least one reply");
        }
        let log = Arc::new(Log::default());
        let (bound, stopped) = Bound::new().await?;
        let router = Router::new().fallback(answer).with_state(HttpState {
            script: Arc::new(script),
            not_found_suffix,
            log: log.clone(),
            stopped,
        });
        Ok(HttpStatusServer {
            addr: bound.addr,
            log,
            _server: bound.serve(router, versions),
        })
    }

    /// `http://127.0.0.1:PORT`, without a path.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedHttpRequest> {
        self.log.all()
    }

    /// Every request so far, as soon as there are at least `n`; an error
    /// saying how many came if `timeout` passes first.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<RecordedHttpRequest>> {
        self.log.wait_for(n, timeout).await
    }
}

#[derive(Debug, Clone)]
struct HttpState {
    script: Arc<Vec<PreparedReply>>,
    /// Paths that end so are answered 404 instead of from the script.
    not_found_suffix: Option<&'static str>,
    log: Arc<Log<RecordedHttpRequest>>,
    stopped: watch::Receiver<()>,
}

async fn answer(State(state): State<HttpState>, request: Request) -> Response {
    let received = Instant::now();
    let (parts, body) = request.into_parts();
    let not_found = state
        .not_found_suffix
        .is_some_and(|suffix| parts.uri.path().ends_with(suffix));
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
    let too_large = body.is_err();
    let index = state.log.push(RecordedHttpRequest {
        received,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body: body.unwrap_or_default(),
    });
    if too_large {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {MAX_BODY_BYTES} bytes\n"),
        )
            .into_response();
    }
    if not_found {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    }
    match pick(&state.script, index) {
        PreparedReply::Respond {
            status,
            headers,
            body,
        } => (*status, headers.clone(), Body::from(body.clone())).into_response(),
        PreparedReply::Hang => {
            hang(state.stopped).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// One scripted answer of a [`GrpcStatusServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcReply(GrpcAnswer);

#[derive(Debug, Clone, PartialEq, Eq)]
enum GrpcAnswer {
    Ok,
    Partial(i64, String),
    Status(tonic::Code, String),
    Hang,
}

impl GrpcReply {
    /// An accepted export: an empty `ExportTraceServiceResponse`.
    pub fn ok() -> GrpcReply {
        GrpcReply(GrpcAnswer::Ok)
    }

    /// An OTLP partial success: the export is taken, `rejected` of its
    /// spans are not, for the reason `message`.
    pub fn partial_success(rejected: i64, message: impl Into<String>) -> GrpcReply {
        GrpcReply(GrpcAnswer::Partial(rejected, message.into()))
    }

    /// A failed call, e.g. `GrpcReply::status(Code::Unavailable, "try later")`.
    pub fn status(code: tonic::Code, message: impl Into<String>) -> GrpcReply {
        GrpcReply(GrpcAnswer::Status(code, message.into()))
    }

    /// Never answers; the connection stays open until the server is dropped.
    pub fn hang() -> GrpcReply {
        GrpcReply(GrpcAnswer::Hang)
    }
}

/// One export call a [`GrpcStatusServer`] received.
#[derive(Debug, Clone)]
pub struct RecordedGrpcRequest {
    /// When the whole message had arrived.
    pub received: Instant,
    /// Text metadata (lowercase keys, as gRPC sends them); binary entries
    /// are left out.
    pub metadata: Vec<(String, String)>,
    pub message: ExportTraceServiceRequest,
}

impl RecordedGrpcRequest {
    /// The first value of metadata entry `key` (any case).
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        find(&self.metadata, key)
    }

    /// Spans in the message.
    pub fn span_count(&self) -> usize {
        self.message
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    }
}

/// A fake OTLP/gRPC collector that answers from a script.
#[derive(Debug)]
pub struct GrpcStatusServer {
    addr: SocketAddr,
    log: Arc<Log<RecordedGrpcRequest>>,
    _server: Server,
}

impl GrpcStatusServer {
    /// Listens on 127.0.0.1 (free port, plain HTTP/2) and answers export
    /// call N with `script[N]`, or the last reply once the script is used
    /// up. Gzip-compressed requests are accepted. Fails on an empty script.
    pub async fn start(script: Vec<GrpcReply>) -> anyhow::Result<GrpcStatusServer> {
        if script.is_empty() {
            bail!("a GrpcStatusServer needs at least one reply");
        }
        let log = Arc::new(Log::default());
        let (bound, stopped) = Bound::new().await?;
        let service = TraceServiceServer::new(ScriptedTraceService {
            script,
            log: log.clone(),
            stopped,
        })
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(MAX_BODY_BYTES);
        Ok(GrpcStatusServer {
            addr: bound.addr,
            log,
            _server: bound.serve(Router::new().fallback_service(service), Versions::Both),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every export call so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedGrpcRequest> {
        self.log.all()
    }

    /// Every export call so far, as soon as there are at least `n`; an
    /// error saying how many came if `timeout` passes first.
    pub async fn wait_for_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<RecordedGrpcRequest>> {
        self.log.wait_for(n, timeout).await
    }
}

struct ScriptedTraceService {
    script: Vec<GrpcReply>,
    log: Arc<Log<RecordedGrpcRequest>>,
    stopped: watch::Receiver<()>,
}

#[tonic::async_trait]
impl TraceService for ScriptedTraceService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let metadata = request
            .metadata()
            .iter()
            .filter_map(|entry| match entry {
                KeyAndValueRef::Ascii(key, value) => {
                    Some((key.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                }
                KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        let index = self.log.push(RecordedGrpcRequest {
            received: Instant::now(),
            metadata,
            message: request.into_inner(),
        });
        match &pick(&self.script, index).0 {
            GrpcAnswer::Ok => Ok(tonic::Response::new(ExportTraceServiceResponse::default())),
            GrpcAnswer::Partial(rejected, message) => {
                Ok(tonic::Response::new(ExportTraceServiceResponse {
                    partial_success: Some(
                        opentelemetry_proto::tonic::collector::trace::v1::ExportTracePartialSuccess {
                            rejected_spans: *rejected,
                            error_message: message.clone(),
                        },
                    ),
                }))
            }
            GrpcAnswer::Status(code, message) => Err(tonic::Status::new(*code, message.clone())),
            GrpcAnswer::Hang => {
                hang(self.stopped.clone()).await;
                Err(tonic::Status::unavailable("server stopped"))
            }
        }
    }
}

/// The reply for request `index`: its own, or the last one.
fn pick<T>(script: &[T], index: usize) -> &T {
    &script[index.min(script.len() - 1)]
}

/// Waits until the server is dropped. By then its connection is closed, so
/// whatever the caller answers next reaches nobody; returning only frees
/// the task (an HTTP/2 request runs in a task of its own).
async fn hang(mut stopped: watch::Receiver<()>) {
    while stopped.changed().await.is_ok() {}
}

fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Recorded requests, with a way to wait for a count.
#[derive(Debug)]
struct Log<T> {
    entries: Mutex<Vec<T>>,
    count: watch::Sender<usize>,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log {
            entries: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        }
    }
}

impl<T: Clone> Log<T> {
    /// Appends `entry` and returns its index (0 for the first request).
    fn push(&self, entry: T) -> usize {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.push(entry);
        let count = entries.len();
        self.count.send_replace(count);
        count - 1
    }

    fn all(&self) -> Vec<T> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<T>> {
        let mut count = self.count.subscribe();
        let reached = tokio::time::timeout(timeout, count.wait_for(|count| *count >= n)).await;
        match reached {
            Ok(Ok(_)) => Ok(self.all()),
            _ => Err(anyhow!(
                "{} request(s) within {timeout:?}, expected at least {n}",
                self.all().len()
            )),
        }
    }
}

/// A bound listener, then the task serving it. Dropping it closes the
/// listener and every connection, and ends hanging replies.
#[derive(Debug)]
struct Server {
    task: JoinHandle<()>,
    /// Dropped with the server: wakes every hanging reply.
    _stop: watch::Sender<()>,
}

/// A listener that is not served yet.
struct Bound {
    addr: SocketAddr,
    listener: TcpListener,
    stop: watch::Sender<()>,
}

impl Bound {
    /// Binds 127.0.0.1 on a free port; the receiver ends when the server is dropped.
    async fn new() -> anyhow::Result<(Bound, watch::Receiver<()>)> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let (stop, stopped) = watch::channel(());
        Ok((
            Bound {
                addr,
                listener,
                stop,
            },
            stopped,
        ))
    }

    /// Serves HTTP/1.1 and HTTP/2 (prior knowledge, as gRPC uses it), or
    /// HTTP/1.1 alone.
    fn serve(self, router: Router, versions: Versions) -> Server {
        let Bound { listener, stop, .. } = self;
        let task = tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let builder = match versions {
                Versions::Both => builder,
                Versions::Http1 => builder.http1_only(),
            };
            // Dropped, and so aborted, with this task.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else {
                            // Out of file descriptors, most likely: breathe.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        };
                        let builder = builder.clone();
                        let service = TowerToHyperService::new(router.clone());
                        connections.spawn(async move {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Server { task, _stop: stop }
    }
}

/// The HTTP versions a scripted server speaks.
#[derive(Debug, Clone, Copy)]
enum Versions {
    Both,
    Http1,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}
