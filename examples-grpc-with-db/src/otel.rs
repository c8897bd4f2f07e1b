//! gRPC tracing as two tower layers, written once and put around the
//! transport, so that no handler and no call site repeats it:
//!
//! - [`ClientTracing`] wraps the client's `Channel`
//!   (`ServiceBuilder::new().layer(ClientTracing::new(&uri)).service(channel)`):
//!   a CLIENT span per call, and the current context (trace *and* baggage)
//!   injected into the request's metadata by the global propagator;
//! - [`ServerTracing`] goes into the server (`Server::builder().layer(..)`):
//!   the caller's context extracted from the metadata, a SERVER span per
//!   call that is the current span while the handler runs (so the handler's
//!   own spans, the database's included, are its children and see the
//!   baggage), and an access line per call.
//!
//! Both follow the RPC semantic conventions of the workspace's
//! `opentelemetry-semantic-conventions` (semconv 1.42): the span is named
//! after the method (`user.User/Insert`, from the path
//! `/user.User/Insert`), with `rpc.system.name`, `rpc.method`,
//! `rpc.response.status_code` (the code's name: `OK`, `INVALID_ARGUMENT`),
//! `server.address`/`server.port` on the client and
//! `network.peer.address`/`network.peer.port` on the server. A client span
//! is an error for any code but `OK`; a server span only for the codes that
//! mean the server failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`): a bad request is the caller's
//! error, not the server's. `error.type` is the code's name whenever the
//! span is an error, and the status message is the call's `grpc-message`.
//!
//! Where the status is: a failed call answers with the status in the
//! response headers ("trailers-only"), a successful one in the trailers
//! after the body. So the response body is wrapped ([`TracedBody`]) and the
//! span ends when the trailers go by; or when the body ends or is dropped
//! early, or the transport fails, with what that means.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use http::{HeaderMap, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, Key, KeyValue};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, NETWORK_PEER_ADDRESS, NETWORK_PEER_PORT, RPC_METHOD, RPC_METHOD_ORIGINAL,
    RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME, SERVER_ADDRESS, SERVER_PORT,
};
use tonic::Code;
use tonic::transport::server::TcpConnectInfo;
use tower::{Layer, Service};

/// The instrumentation scope of the gRPC spans.
const SCOPE: &str = "examples_grpc_with_db::otel";

/// `rpc.method` of a method that is not recognized, as the conventions
/// ask (the span is then named after the system: `grpc`).
const OTHER: &str = "_OTHER";

/// The error the traced services return: the inner service's, boxed.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The response future of both traced services.
pub type ResponseFuture<B> =
    Pin<Box<dyn Future<Output = Result<Response<TracedBody<B>>, BoxError>> + Send>>;

// ---------------------------------------------------------------- client

/// The client layer: a CLIENT span per call, context and baggage injected
/// into the request metadata. Build it after the tracer provider is
/// installed (`telemetry::init`): it takes its tracer from it.
#[derive(Clone)]
pub struct ClientTracing {
    tracer: Arc<BoxedTracer>,
    /// `server.address`, `server.port`: the channel's target.
    target: Arc<[KeyValue]>,
}

impl ClientTracing {
    /// For a channel to `target` (the URI the `Endpoint` was made from):
    /// the request paths a client sends carry no host, so the target is
    /// given here.
    pub fn new(target: &Uri) -> ClientTracing {
        let mut attributes = Vec::new();
        if let Some(host) = target.host() {
            // `[::1]` is written without its brackets.
            let host = host.trim_start_matches('[').trim_end_matches(']');
            // Shared by every call's span (no copy per call).
            attributes.push(KeyValue::new(SERVER_ADDRESS, Arc::<str>::from(host)));
            let port = target.port_u16().or(match target.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            });
            if let Some(port) = port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        ClientTracing {
            tracer: Arc::new(global::tracer(SCOPE)),
            target: attributes.into(),
        }
    }
}

impl fmt::Debug for ClientTracing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTracing")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ClientTracing {
    type Service = TracedClient<S>;

    fn layer(&self, inner: S) -> TracedClient<S> {
        TracedClient {
            inner,
            layer: self.clone(),
        }
    }
}

/// A client service (usually a `Channel`) whose calls are traced.
#[derive(Debug, Clone)]
pub struct TracedClient<S> {
    inner: S,
    layer: ClientTracing,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TracedClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body + Unpin + Send + 'static,
    ResBody::Error: StdError + 'static,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = BoxError;
    type Future = ResponseFuture<ResBody>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let method = Method::from_path(request.uri().path());
        let mut attributes = vec![KeyValue::new(RPC_SYSTEM_NAME, "grpc")];
        attributes.extend(method.attributes());
        attributes.extend(self.layer.target.iter().cloned());
        let tracer = &*self.layer.tracer;
        let span = tracer
            .span_builder(method.span_name())
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start(tracer);
        // The caller's context (its baggage too), with the new span in it.
        let cx = Context::current_with_span(span);
        // `traceparent` and `baggage` as gRPC metadata (HTTP/2 headers).
        global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&cx, &mut HeaderInjector(request.headers_mut()))
        });

        let call = Call::new(cx, Side::Client, method, None);
        let response = self.inner.call(request);
        Box::pin(async move {
            match response.await {
                Ok(response) => Ok(call.on_response(response)),
                Err(error) => {
                    // Which status the caller will see: tonic turns the
                    // error into a status exactly this way.
                    let error: BoxError = error.into();
                    let cause = chain(&*error);
                    let status = tonic::Status::from_error(error);
                    call.finish(status.code(), cause);
                    Err(Box::new(status) as BoxError)
                }
            }
        })
    }
}

// ---------------------------------------------------------------- server

/// The server layer: the caller's context extracted from the metadata, a
/// SERVER span per call (current while the handler runs), an access line
/// per call. Build it after the tracer provider is installed.
#[derive(Clone)]
pub struct ServerTracing {
    tracer: Arc<BoxedTracer>,
    /// Baggage entries copied onto the SERVER span: each key, and its
    /// attribute key `baggage.<key>`.
    baggage: Arc<[(String, Key)]>,
}

impl ServerTracing {
    /// Traces every call; records no baggage on the span.
    pub fn new() -> ServerTracing {
        ServerTracing {
            tracer: Arc::new(global::tracer(SCOPE)),
            baggage: Arc::new([]),
        }
    }

    /// Also copies these baggage entries, when the caller sent them, onto
    /// the SERVER span as `baggage.<key>`, so a trace shows what arrived.
    /// Only the keys named here: baggage may carry what a span must not.
    pub fn with_baggage<I, K>(self, keys: I) -> ServerTracing
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        let baggage = keys.into_iter().map(|key| {
            let key: String = key.into();
            let attribute = Key::from(Arc::<str>::from(format!("baggage.{key}")));
            (key, attribute)
        });
        ServerTracing {
            baggage: baggage.collect(),
            ..self
        }
    }
}

impl Default for ServerTracing {
    fn default() -> ServerTracing {
        ServerTracing::new()
    }
}

impl fmt::Debug for ServerTracing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTracing")
            .field("baggage", &self.baggage)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ServerTracing {
    type Service = TracedServer<S>;

    fn layer(&self, inner: S) -> TracedServer<S> {
        TracedServer {
            inner,
            layer: self.clone(),
        }
    }
}

/// A server service (the generated `UserServer`) whose calls are traced.
#[derive(Debug, Clone)]
pub struct TracedServer<S> {
    inner: S,
    layer: ServerTracing,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TracedServer<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body + Unpin + Send + 'static,
    ResBody::Error: StdError + 'static,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = BoxError;
    type Future = ResponseFuture<ResBody>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The caller's trace and baggage; nothing of this thread's context.
        let parent = global::get_text_map_propagator(|propagator| {
            propagator.extract_with_context(&Context::new(), &HeaderExtractor(request.headers()))
        });
        let method = Method::from_path(request.uri().path());
        let mut attributes = vec![KeyValue::new(RPC_SYSTEM_NAME, "grpc")];
        // The `:authority` the client called.
        if let Some(host) = request.uri().host() {
            attributes.push(KeyValue::new(SERVER_ADDRESS, host.to_owned()));
            if let Some(port) = request.uri().port_u16() {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        // tonic puts the connection's addresses in the request extensions.
        if let Some(peer) = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
        {
            attributes.push(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
            attributes.push(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
        }
        let baggage = parent.baggage();
        for (key, attribute) in self.layer.baggage.iter() {
            if let Some(value) = baggage.get(key.as_str()) {
                attributes.push(KeyValue::new(attribute.clone(), value.as_str().to_owned()));
            }
        }
        let tracer = &*self.layer.tracer;
        // `rpc.method` is set when the call ends: only then is it known
        // whether the server recognized the method.
        let span = tracer
            .span_builder(method.span_name())
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);

        let deadline = grpc_timeout(request.headers());
        let call = Call::new(cx.clone(), Side::Server, method, deadline);
        let response = {
            let _current = cx.clone().attach();
            self.inner.call(request)
        };
        Box::pin(async move {
            // The handler runs with the SERVER span (and the baggage) current.
            match response.with_context(cx).await {
                Ok(response) => Ok(call.on_response(response)),
                Err(error) => {
                    let error: BoxError = error.into();
                    call.finish(code_of(&*error), chain(&*error));
                    Err(error)
                }
            }
        })
    }
}

// ------------------------------------------------------------- one call

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// The method of a call, from its request path.
#[derive(Debug)]
struct Method {
    /// `user.User/Insert`; `None` when the path is not `/service/method`.
    /// Shared: the span name, `rpc.method` and the access line use it.
    name: Option<Arc<str>>,
    /// A malformed path as sent (bounded), for `rpc.method_original`.
    malformed: String,
}

impl Method {
    fn from_path(path: &str) -> Method {
        match path.strip_prefix('/').filter(|name| well_formed(name)) {
            Some(name) => Method {
                name: Some(name.into()),
                malformed: String::new(),
            },
            None => Method {
                name: None,
                malformed: path.chars().take(128).collect(),
            },
        }
    }

    /// `{rpc.method}`, or `{rpc.system.name}` when it is `_OTHER`.
    fn span_name(&self) -> Cow<'static, str> {
        match &self.name {
            Some(name) => Cow::Owned(name.to_string()),
            None => Cow::Borrowed("grpc"),
        }
    }

    /// `rpc.method`, and `rpc.method_original` when the method is not
    /// recognized (`recognized` false, or a malformed path).
    fn attributes_if(&self, recognized: bool) -> Vec<KeyValue> {
        match &self.name {
            Some(name) if recognized => vec![KeyValue::new(RPC_METHOD, name.clone())],
            Some(name) => vec![
                KeyValue::new(RPC_METHOD, OTHER),
                KeyValue::new(RPC_METHOD_ORIGINAL, format!("/{name}")),
            ],
            None => vec![
                KeyValue::new(RPC_METHOD, OTHER),
                KeyValue::new(RPC_METHOD_ORIGINAL, self.malformed.clone()),
            ],
        }
    }

    fn attributes(&self) -> Vec<KeyValue> {
        self.attributes_if(true)
    }
}

/// `package.Service/Method`: one slash, two non-empty parts of
/// identifier characters, bounded, so a span name never carries arbitrary
/// text from a request.
fn well_formed(name: &str) -> bool {
    let Some((service, method)) = name.split_once('/') else {
        return false;
    };
    let identifier = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    };
    name.len() <= 128 && identifier(service) && identifier(method)
}

/// One call's span, from the request until its status is known. Ended
/// exactly once: by [`Call::finish`], or on drop (the caller went away).
struct Call {
    cx: Context,
    side: Side,
    method: Method,
    started: Instant,
    /// The server's `grpc-timeout`, to tell a deadline from a cancellation.
    deadline: Option<Duration>,
    ended: bool,
}

impl Call {
    fn new(cx: Context, side: Side, method: Method, deadline: Option<Duration>) -> Call {
        Call {
            cx,
            side,
            method,
            started: Instant::now(),
            deadline,
            ended: false,
        }
    }

    /// A failed call carries its status in the headers (trailers-only):
    /// the call ends now. Otherwise it ends with the trailers.
    fn on_response<B>(self, response: Response<B>) -> Response<TracedBody<B>> {
        let call = match status_in(response.headers()) {
            Some((code, message)) => {
                self.finish(code, message);
                None
            }
            None => Some(self),
        };
        response.map(|inner| TracedBody { inner, call })
    }

    /// Records the outcome on the span and ends it.
    fn finish(mut self, code: Code, message: String) {
        self.end(code, &message);
    }

    /// The outcome on the span, which ends; the server also writes the
    /// access line, with the span current (so with its trace id).
    fn end(&mut self, code: Code, message: &str) {
        self.ended = true;
        let span = self.cx.span();
        let name = code_name(code);
        if self.side == Side::Server {
            // The generated server answers an unknown method with a bare
            // UNIMPLEMENTED; a handler's own status always says why.
            let recognized = !(code == Code::Unimplemented && message.is_empty());
            if !recognized || self.method.name.is_none() {
                span.update_name("grpc");
            }
            span.set_attributes(self.method.attributes_if(recognized));
        }
        span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, name));
        let error = match self.side {
            Side::Client => code != Code::Ok,
            Side::Server => server_fault(code),
        };
        if error {
            span.set_attribute(KeyValue::new(ERROR_TYPE, name));
            let description = if message.is_empty() { name } else { message };
            span.set_status(Status::error(description.to_owned()));
        }
        if self.side == Side::Server {
            let _current = self.cx.clone().attach();
            let (slash, method) = match &self.method.name {
                Some(name) => ("/", &**name),
                None => ("", OTHER),
            };
            let ms = self.started.elapsed().as_secs_f64() * 1e3;
            let separator = if message.is_empty() { "" } else { ": " };
            if error {
                tracing::error!("{slash}{method} {ms:.2} ms {name}{separator}{message}");
            } else {
                tracing::info!("{slash}{method} {ms:.2} ms {name}{separator}{message}");
            }
        }
        span.end();
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        // Dropped before the status was seen: the caller gave up (or, on
        // the server, tonic dropped the handler at the deadline).
        // tonic's deadline timer starts a little before this span does, and
        // a client that gave up at its deadline is the same case: a drop
        // within a few milliseconds of it is the deadline.
        let late =
            |deadline: Duration| self.started.elapsed() + Duration::from_millis(5) >= deadline;
        let (code, message) = match (self.side, self.deadline) {
            (Side::Server, Some(deadline)) if late(deadline) => (
                Code::DeadlineExceeded,
                format!("deadline of {} ms exceeded", deadline.as_millis()),
            ),
            (Side::Server, _) => (Code::Cancelled, "the client cancelled the call".to_owned()),
            (Side::Client, _) => (
                Code::Cancelled,
                "the call was dropped before it ended".to_owned(),
            ),
        };
        self.end(code, &message);
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("side", &self.side)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------------ the body

/// A response body that ends its call's span when the status goes by (the
/// trailers), when it ends without one, fails, or is dropped early.
#[derive(Debug)]
pub struct TracedBody<B> {
    inner: B,
    call: Option<Call>,
}

impl<B> Body for TracedBody<B>
where
    B: Body + Unpin,
    B::Error: StdError + 'static,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let outcome = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame
                .trailers_ref()
                .map(|trailers| status_in(trailers).unwrap_or_else(no_status)),
            Poll::Ready(Some(Err(error))) => Some((code_of(error), chain(error))),
            Poll::Ready(None) => Some(no_status()),
            Poll::Pending => None,
        };
        if let Some((code, message)) = outcome
            && let Some(call) = this.call.take()
        {
            call.finish(code, message);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A body that ended without a `grpc-status`: gRPC treats it as UNKNOWN.
fn no_status() -> (Code, String) {
    (
        Code::Unknown,
        "the response ended without a grpc-status".to_owned(),
    )
}

// ------------------------------------------------------------- helpers

/// The codes that mean the server failed (semconv: gRPC server spans).
fn server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The status code's name, as `rpc.response.status_code` wants it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `grpc-status` and the decoded `grpc-message`, if the map has a status.
/// (tonic's `Status::from_header_map` would do, but it panics on a
/// malformed `grpc-status-details-bin` and copies the whole map.)
fn status_in(headers: &HeaderMap) -> Option<(Code, String)> {
    let code = Code::from_bytes(headers.get("grpc-status")?.as_bytes());
    let message = headers
        .get("grpc-message")
        .map(|value| percent_decoded(value.as_bytes()))
        .unwrap_or_default();
    Some((code, message))
}

/// `grpc-message` is percent-encoded UTF-8; a malformed escape stays as is.
fn percent_decoded(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        let escaped = match tail {
            [high, low, ..]
                if byte == b'%' && high.is_ascii_hexdigit() && low.is_ascii_hexdigit() =>
            {
                std::str::from_utf8(&tail[..2])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            }
            _ => None,
        };
        match escaped {
            Some(value) => {
                out.push(value);
                rest = &tail[2..];
            }
            None => {
                out.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `grpc-timeout`: up to 8 digits and a unit (`H M S m u n`).
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The code an error stands for, as tonic maps it: a status in the chain,
/// a timeout (CANCELLED, tonic's choice), a failed connect (UNAVAILABLE).
fn code_of(error: &(dyn StdError + 'static)) -> Code {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(status) = error.downcast_ref::<tonic::Status>() {
            return status.code();
        }
        if error.is::<tonic::TimeoutExpired>() {
            return Code::Cancelled;
        }
        if error.is::<tonic::ConnectError>() {
            return Code::Unavailable;
        }
        cause = error.source();
    }
    Code::Unknown
}

/// The error and its causes, `a: b: c` (tonic's own messages stop at
/// `transport error`, which says nothing of why).
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let next = error.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = error.source();
    }
    text
}

#[cfg(test)]
mod tests;
