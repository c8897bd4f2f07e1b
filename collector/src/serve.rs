//! The one accept loop behind every listener (OTLP/gRPC, OTLP/HTTP, the web
//! view), and what bounds a connection: how many there are, how long a
//! request head, a request body and an idle connection may take.
//!
//! - **Connections**: the three listeners share one [`Budget`], sized from
//!   the file descriptor limit (`fds`) and at most `max_connections`. Each
//!   connection is served in a task of its own that holds a permit of it.
//!   When the budget is full, the oldest idle connection (no request in
//!   flight: silent, or a keep-alive waiting) is closed to admit the new
//!   one, so idle clients cannot lock out an export or the web view; when
//!   none is idle the new one waits for a permit and the listener stops
//!   accepting meanwhile (more wait in the kernel's backlog). A failed
//!   accept for want of descriptors (EMFILE) closes an idle one too.
//! - **TLS**: the handshake runs in the connection's task, within
//!   `head_timeout`, so a silent client holds up nobody but itself.
//! - **Request head** (HTTP/1.1): hyper's `header_read_timeout`. In hyper
//!   1.x (`proto/h1/conn.rs`, `poll_read_head`) the timer is armed the first
//!   time the connection polls for a head, that is as soon as hyper serves
//!   the connection (after the protocol was detected from its first bytes),
//!   not at the first byte of the head; it is disarmed when a head is
//!   complete, and re-armed when a response is done and the connection
//!   goes back to waiting (`State::idle` sets `notify_read` for exactly
//!   this). So it also covers a keep-alive connection waiting for its next
//!   request: an HTTP/1.1 connection is closed (no answer) `head_timeout`
//!   after its last response, or `idle_timeout` if that is shorter.
//! - **Silent connections**: until its first request, a connection must
//!   send at least the 24 bytes of an HTTP/2 preface (or as much of an
//!   HTTP/1.1 head: by then hyper's head timer runs) within `head_timeout`,
//!   or it is closed; this is what closes a connection that never sends a
//!   byte, on every listener.
//! - **Idle connections**: a connection is idle while no request is in
//!   flight (counted from the head's arrival until the response body is
//!   sent or dropped, so for HTTP/2 while no stream is open). It is closed
//!   gracefully (HTTP/2 GOAWAY) after `idle_timeout` of that. Activity on
//!   the socket does not count: HTTP/2 keep-alive pings answered by the
//!   client would keep every connection alive. A request in flight with no
//!   byte read or written for `idle_timeout` (a client that stopped reading
//!   its answer) is closed too.
//! - **Request body**: each body gets a deadline, `body_timeout` after its
//!   head arrived; a body not complete by then ends in an error. The
//!   OTLP/HTTP receiver then answers 408 (with `Connection: close`, so the
//!   connection is closed after it); an OTLP/gRPC call ends with
//!   DEADLINE_EXCEEDED.
//! - **Shutdown**: the loop stops accepting; every connection is asked to
//!   close gracefully and is cut after [`SHUTDOWN_GRACE`].
//!
//! Nothing is logged per connection. An accept that fails for want of
//! resources (EMFILE) is retried after [`ACCEPT_RETRY`].

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::config::ConnectionLimits;
use crate::grpc::GrpcServer;
use crate::host::AllowedHosts;

/// How long a shutdown lets open requests finish before cutting them.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How long the loop waits before accepting again after a failed accept
/// (out of file descriptors, say), instead of spinning.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// HTTP/1.1 read buffer, and so the largest request head.
const HTTP1_MAX_BUF: usize = 64 * 1024;
/// HTTP/1.1 header fields per request.
const HTTP1_MAX_HEADERS: usize = 100;
/// HTTP/2 header list (decoded, all fields of a request).
const HTTP2_MAX_HEADER_LIST: u32 = 16 * 1024;
/// How often a listener waiting for room looks again for an idle
/// connection to close (none was idle, or the one asked became busy).
const EVICT_RETRY: Duration = Duration::from_millis(100);
/// What a new connection must send within `head_timeout` unless a request
/// starts earlier: the length of the HTTP/2 connection preface.
const PREAMBLE_BYTES: usize = 24;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a listener serves.
#[derive(Debug, Clone)]
pub(crate) enum App {
    /// An axum router (OTLP/HTTP, the web view) over HTTP/1.1 and HTTP/2,
    /// behind the `Host` check.
    Http { router: Router, hosts: AllowedHosts },
    /// The OTLP/gRPC service, over HTTP/2 only.
    Grpc(GrpcServer),
}

/// Everything a connection task needs, shared by the listener's connections.
struct Shared {
    app: App,
    tls: Option<TlsAcceptor>,
    limits: ConnectionLimits,
    builder: auto::Builder<TokioExecutor>,
}

/// The connections all listeners together may hold, and the open ones,
/// oldest first, to find an idle one to close when there is no room.
#[derive(Debug)]
pub(crate) struct Budget {
    permits: Arc<Semaphore>,
    size: usize,
    open: Mutex<BTreeMap<u64, Arc<Activity>>>,
    next: AtomicU64,
}

impl Budget {
    pub(crate) fn new(size: usize) -> Arc<Budget> {
        let size = size.clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Budget {
            permits: Arc::new(Semaphore::new(size)),
            size,
            open: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// Connections at most.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// A permit, at once if there is room; else the oldest idle connection
    /// is asked to close, and again every [`EVICT_RETRY`] until a permit is
    /// free. `None` once `stop` says true.
    async fn admit(&self, stop: &mut watch::Receiver<bool>) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Some(permit);
        }
        loop {
            self.close_oldest_idle();
            tokio::select! {
                biased;
                permit = self.permits.clone().acquire_owned() => return permit.ok(),
                () = stopped(stop) => return None,
                () = tokio::time::sleep(EVICT_RETRY) => {}
            }
        }
    }

    /// Asks the oldest connection with no request in flight (and not asked
    /// yet) to close.
    fn close_oldest_idle(&self) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let idle = open.values().find(|a| {
            a.in_flight.load(Ordering::Acquire) == 0 && !a.evicted.load(Ordering::Acquire)
        });
        if let Some(activity) = idle {
            activity.evicted.store(true, Ordering::Release);
            activity.evict.notify_one();
        }
    }

    /// Counts `activity` as open until the returned guard is dropped.
    fn open(self: &Arc<Self>, activity: Arc<Activity>, permit: OwnedSemaphorePermit) -> Open {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, activity);
        Open {
            budget: self.clone(),
            id,
            _permit: permit,
        }
    }
}

/// An open connection in the budget: its permit, and its place in the
/// list of open ones.
struct Open {
    budget: Arc<Budget>,
    id: u64,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.budget
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// Serves `listener` until `stop` says true (or its sender is gone), then
/// gives open connections [`SHUTDOWN_GRACE`] and cuts them. With `tls`, every
/// connection is TLS; its ALPN protocols are the ones in `tls`.
pub(crate) async fn run(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<ServerConfig>>,
    limits: ConnectionLimits,
    budget: Arc<Budget>,
    mut stop: watch::Receiver<bool>,
) {
    let http2_only = matches!(app, App::Grpc(_));
    let shared = Arc::new(Shared {
        builder: builder(&limits, http2_only),
        app,
        tls: tls.map(TlsAcceptor::from),
        limits,
    });
    // Dropped with this task: aborting it cuts every connection.
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => tcp,
            Err(e) => {
                if !failed_before_accept(&e) {
                    // Out of descriptors, maybe: an idle connection goes.
                    budget.close_oldest_idle();
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
                continue;
            }
        };
        let Some(permit) = budget.admit(&mut stop).await else {
            break;
        };
        // Finished connections, reaped so the set only holds open ones.
        while connections.try_join_next().is_some() {}
        // Small gRPC and HTTP/2 frames should not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let open = budget.open(activity.clone(), permit);
        connections.spawn(connection(
            tcp,
            shared.clone(),
            stop.clone(),
            activity,
            open,
        ));
    }
    drop(listener);
    // Each connection saw the stop as well and is closing gracefully.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// Resolves once a stop was asked for (or can no longer be).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A connection that failed between the kernel's accept and ours: skip it.
/// Anything else (EMFILE, ENFILE, ENOBUFS) waits a moment.
fn failed_before_accept(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

fn builder(limits: &ConnectionLimits, http2_only: bool) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(HTTP1_MAX_BUF)
        .max_headers(HTTP1_MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout)
        .max_header_list_size(HTTP2_MAX_HEADER_LIST);
    if http2_only {
        builder.http2_only()
    } else {
        builder
    }
}

/// One connection, from its TLS handshake (if any) to its end, or until
/// the budget needs its place while it is idle.
async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
    _open: Open,
) {
    tokio::select! {
        () = handshake_and_serve(tcp, &shared, stop, activity.clone()) => {}
        () = activity.evicted() => {}
    }
}

async fn handshake_and_serve(
    tcp: TcpStream,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
) {
    let Ok(local) = tcp.local_addr() else { return };
    let Some(acceptor) = &shared.tls else {
        return serve(tcp, local, shared, stop, activity).await;
    };
    let handshake = tokio::time::timeout(shared.limits.head_timeout, acceptor.accept(tcp));
    let tls = tokio::select! {
        () = stopped(&mut stop) => return,
        tls = handshake => match tls {
            Ok(Ok(tls)) => tls,
            // Too slow, or not TLS, or not a certificate we trust: closed.
            _ => return,
        },
    };
    serve(tls, local, shared, stop, activity).await;
}

/// HTTP on an established connection (`io` is plain TCP or TLS).
async fn serve<IO>(
    io: IO,
    local: SocketAddr,
    shared: &Shared,
    stop: watch::Receiver<bool>,
    activity: Arc<Activity>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Tracked {
        io,
        activity: activity.clone(),
    });
    let body_timeout = shared.limits.body_timeout;
    match &shared.app {
        App::Http { router, hosts } => {
            let service = HttpService {
                router: TowerToHyperService::new(router.clone()),
                hosts: hosts.clone(),
                local,
                activity: activity.clone(),
                body_timeout,
            };
            let conn = shared.builder.serve_connection(io, service);
            drive(conn, &activity, &shared.limits, stop).await;
        }
        App::Grpc(server) => {
            let service = GrpcService {
                server: TowerToHyperService::new(server.clone()),
                activity: activity.clone(),
                body_timeout,
            };
            let conn = shared.builder.serve_connection(io, service);
            drive(conn, &activity, &shared.limits, stop).await;
        }
    }
}

/// Polls `conn` to its end; closes it gracefully when it has been idle too
/// long or the server stops, and cuts it [`SHUTDOWN_GRACE`] after that.
async fn drive<C: GracefulConnection>(
    conn: C,
    activity: &Activity,
    limits: &ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn = std::pin::pin!(conn);
    loop {
        let idle_at = activity.deadline(limits);
        let close = tokio::select! {
            // Errors (a reset, a timeout, bad HTTP) only end this connection.
            _ = conn.as_mut() => return,
            // Requests may have come and gone while this slept.
            () = tokio::time::sleep_until(idle_at) => activity.deadline(limits) <= Instant::now(),
            () = stopped(&mut stop) => true,
        };
        if close {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
            return;
        }
    }
}

/// What a connection has been doing, for the idle and silence rules. Times
/// are milliseconds since the connection was established.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// When a byte was last read or written.
    last_io: AtomicU64,
    /// Bytes read so far, counted up to [`PREAMBLE_BYTES`].
    read: AtomicUsize,
    /// Whether a request has arrived yet.
    started: AtomicBool,
    /// Requests whose response has not been sent (or dropped) yet.
    in_flight: AtomicUsize,
    /// When the last request in flight finished.
    last_done: AtomicU64,
    /// Asked to close by the budget, for a new connection.
    evicted: AtomicBool,
    evict: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_io: AtomicU64::new(0),
            read: AtomicUsize::new(0),
            started: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            last_done: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        }
    }

    /// Resolves once the budget asked this connection to close while no
    /// request is in flight (one that started since is served first: the
    /// budget asks another).
    async fn evicted(&self) {
        loop {
            self.evict.notified().await;
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            self.evicted.store(false, Ordering::Release);
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, millis: &AtomicU64) -> Instant {
        self.start + Duration::from_millis(millis.load(Ordering::Relaxed))
    }

    fn io(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    fn read(&self, n: usize) {
        if self.read.load(Ordering::Relaxed) < PREAMBLE_BYTES {
            self.read.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// A request has arrived; it is in flight until the guard is dropped.
    fn request(self: &Arc<Self>) -> InFlight {
        self.started.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// When the connection is to be closed if nothing changes until then.
    fn deadline(&self, limits: &ConnectionLimits) -> Instant {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return self.at(&self.last_io) + limits.idle_timeout;
        }
        let idle = self.at(&self.last_done) + limits.idle_timeout;
        let silent = !self.started.load(Ordering::Relaxed)
            && self.read.load(Ordering::Relaxed) < PREAMBLE_BYTES;
        if silent {
            idle.min(self.start + limits.head_timeout)
        } else {
            idle
        }
    }
}

/// A request in flight on a connection (see [`Activity::request`]).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_done.store(self.0.now(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection's socket (or TLS stream), noting every byte that moves.
struct Tracked<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Tracked<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.io).poll_read(cx, buf))?;
        let read = buf.filled().len() - before;
        if read > 0 {
            self.activity.io();
            self.activity.read(read);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Tracked<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.io).poll_write(cx, buf))?;
        if written > 0 {
            self.activity.io();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, bufs))?;
        if written > 0 {
            self.activity.io();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A request body with a deadline: an error once it passes before the
/// body is complete.
struct TimedBody {
    inner: Incoming,
    deadline: Instant,
    /// Armed at the first poll that waits.
    timer: Option<Pin<Box<Sleep>>>,
    limit: Duration,
    /// Set when the deadline cut the body.
    timed_out: Arc<AtomicBool>,
    error: fn(Duration) -> BoxError,
    done: bool,
}

impl TimedBody {
    fn new(
        inner: Incoming,
        limit: Duration,
        timed_out: Arc<AtomicBool>,
        error: fn(Duration) -> BoxError,
    ) -> Self {
        TimedBody {
            inner,
            deadline: Instant::now() + limit,
            timer: None,
            limit,
            timed_out,
            error,
            done: false,
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.inner.is_end_stream() {
            this.done = true;
            return Poll::Ready(None);
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        // The deadline first: a client trickling bytes is cut as well.
        if timer.as_mut().poll(cx).is_ready() {
            this.done = true;
            this.timed_out.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err((this.error)(this.limit))));
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            None => {
                this.done = true;
                Poll::Ready(None)
            }
            Some(frame) => Poll::Ready(Some(frame.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn body_timeout_message(limit: Duration) -> String {
    format!(
        "the request body did not arrive within {} s of its head",
        limit.as_secs_f64()
    )
}

/// A response body that keeps its request in flight until it is sent (or
/// dropped).
struct Answer<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B: Body + Unpin> Body for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

/// OTLP/HTTP and the web view: the `Host` check, the body deadline (a
/// body cut by it is answered 408), and the request counted in flight.
#[derive(Clone)]
struct HttpService {
    router: TowerToHyperService<Router>,
    hosts: AllowedHosts,
    local: SocketAddr,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl Service<Request<Incoming>> for HttpService {
    type Response = Response<Answer<axum::body::Body>>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request();
        if let Some(forbidden) = self.hosts.check(&request, self.local) {
            return Box::pin(std::future::ready(Ok(answer(forbidden, in_flight))));
        }
        let timed_out = Arc::new(AtomicBool::new(false));
        let limit = self.body_timeout;
        let request = request.map(|body| {
            TimedBody::new(body, limit, timed_out.clone(), |limit| {
                body_timeout_message(limit).into()
            })
        });
        let served = self.router.call(request);
        Box::pin(async move {
            let Ok(response) = served.await;
            let response = if timed_out.load(Ordering::Relaxed) {
                request_timeout(limit)
            } else {
                response
            };
            Ok(answer(response, in_flight))
        })
    }
}

fn answer<B>(response: Response<B>, in_flight: InFlight) -> Response<Answer<B>> {
    response.map(|inner| Answer {
        inner,
        _in_flight: in_flight,
    })
}

/// 408, and the connection closed after it (the rest of the body will not
/// be read).
fn request_timeout(limit: Duration) -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(format!(
        "{}\n",
        body_timeout_message(limit)
    )));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// OTLP/gRPC: the body deadline (DEADLINE_EXCEEDED), and the call counted
/// in flight.
#[derive(Clone)]
struct GrpcService {
    server: TowerToHyperService<GrpcServer>,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl Service<Request<Incoming>> for GrpcService {
    type Response = Response<Answer<tonic::body::Body>>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request();
        let limit = self.body_timeout;
        let request = request.map(|body| {
            TimedBody::new(body, limit, Arc::default(), |limit| {
                Box::new(tonic::Status::deadline_exceeded(body_timeout_message(
                    limit,
                )))
            })
        });
        let served = self.server.call(request);
        Box::pin(async move {
            let Ok(response) = served.await;
            Ok(answer(response, in_flight))
        })
    }
}
