//! Connection limits of all three listeners, with misbehaving clients on
//! raw sockets: silent connections, request heads and bodies that never
//! finish, idle keep-alive connections, more connections than allowed, and
//! (with the default limits) a thousand idle connections plus slow heads
//! that must not keep an export from being answered at once.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use collector::{Collector, CollectorConfig, ConnectionLimits, GRPC_EXPORT_PATH};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::tokio_stream;
use tonic::transport::Channel;

/// Every test gives up after this long, whatever happens.
const TEST_LIMIT: Duration = Duration::from_secs(60);
/// Slack for a timer that should have fired: a loaded two-core machine.
const SLACK: Duration = Duration::from_millis(2500);
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Runs a test's body, failing the test after [`TEST_LIMIT`] whatever
/// happens.
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_LIMIT, test)
        .await
        .expect("within the test's time limit");
}

/// Short limits; the ones a test is not about are long enough not to
/// interfere.
fn limits() -> ConnectionLimits {
    ConnectionLimits {
        head_timeout: Duration::from_secs(30),
        body_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        keepalive_interval: Duration::from_secs(60),
        keepalive_timeout: Duration::from_secs(60),
        ..ConnectionLimits::default()
    }
}

/// A collector with [`limits`], changed by `change`.
async fn start_with(change: impl FnOnce(&mut ConnectionLimits)) -> Collector {
    let mut limits = limits();
    change(&mut limits);
    start(limits).await
}

async fn start(limits: ConnectionLimits) -> Collector {
    Collector::start(CollectorConfig {
        limits,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector")
}

/// The three listeners, named.
fn listeners(collector: &Collector) -> [(&'static str, SocketAddr); 3] {
    [
        ("OTLP/gRPC", collector.grpc_addr()),
        ("OTLP/HTTP", collector.http_addr()),
        ("web view", collector.ui_addr().expect("the web view")),
    ]
}

fn export_body() -> Vec<u8> {
    export("limits-svc", vec![span(&TRACE_ID, &SPAN_ID, None, "main")]).encode_to_vec()
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connecting")
}

/// Reads until the server closes the connection (EOF or reset); returns
/// what was read and how long that took. Panics after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(started + limit, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "still open after {limit:?} (read {:?})",
                String::from_utf8_lossy(&data)
            ),
            Ok(Ok(0) | Err(_)) => return (data, started.elapsed()),
            Ok(Ok(n)) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one HTTP/1.1 response with a Content-Length; returns its status
/// and body. `None` when the connection closes first.
async fn read_response(stream: &mut TcpStream) -> Option<(u16, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let status = head.split(' ').nth(1)?.parse().ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return Some((status, data[end + 4..end + 4 + length].to_vec()));
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// The head of an OTLP/HTTP export to `addr` whose body is framed by
/// `framing` (a `Content-Length` or `Transfer-Encoding` header).
fn export_head(addr: SocketAddr, framing: &str) -> String {
    format!(
        "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\n{framing}\r\n\r\n"
    )
}

const CHUNKED: &str = "Transfer-Encoding: chunked";

/// Writes a whole OTLP/HTTP export (keep-alive) on `stream`.
async fn write_export(stream: &mut TcpStream, addr: SocketAddr) {
    let body = export_body();
    let head = export_head(addr, &format!("Content-Length: {}", body.len()));
    stream.write_all(head.as_bytes()).await.expect("writing");
    stream.write_all(&body).await.expect("writing");
}

/// A keep-alive OTLP/HTTP export on `stream`; the answer's status.
async fn keep_alive_export(stream: &mut TcpStream, addr: SocketAddr) -> u16 {
    write_export(stream, addr).await;
    read_response(stream).await.expect("an answer").0
}

fn assert_fired(what: &str, elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout.saturating_sub(Duration::from_millis(300)),
        "{what}: closed after {elapsed:?}, before the {timeout:?} limit"
    );
    assert!(
        elapsed <= timeout + SLACK,
        "{what}: closed after {elapsed:?}, long after the {timeout:?} limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_head_timeout_on_every_listener() {
    bounded(async {
        let head_timeout = Duration::from_secs(1);
        let collector = start_with(|limits| limits.head_timeout = head_timeout).await;
        let mut silent = JoinSet::new();
        for (name, addr) in listeners(&collector) {
            let mut stream = connect(addr).await;
            silent.spawn(async move {
                let (_, elapsed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
                (name, elapsed)
            });
        }
        while let Some(closed) = silent.join_next().await {
            let (name, elapsed) = closed.expect("a reader");
            assert_fired(name, elapsed, head_timeout);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_tls_client_is_closed_after_the_head_timeout() {
    bounded(async {
        let pki = testkit::Pki::generate().expect("generating certificates");
        let head_timeout = Duration::from_secs(1);
        let collector = Collector::start(CollectorConfig {
            tls: Some(collector::TlsConfig::new(
                pki.server_cert(),
                pki.server_key(),
            )),
            limits: ConnectionLimits {
                head_timeout,
                ..limits()
            },
            ..CollectorConfig::ephemeral()
        })
        .await
        .expect("starting the collector with TLS");
        for (name, addr) in [
            ("OTLP/gRPC over TLS", collector.grpc_addr()),
            ("OTLP/HTTP over TLS", collector.http_addr()),
        ] {
            let mut stream = connect(addr).await;
            // Half a ClientHello, then nothing.
            stream
                .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
                .await
                .expect("writing");
            let (_, elapsed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
            assert_fired(name, elapsed, head_timeout);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_sent_slowly_is_closed_at_the_head_timeout() {
    bounded(async {
        let head_timeout = Duration::from_secs(2);
        let collector = start_with(|limits| limits.head_timeout = head_timeout).await;
        let mut slow = JoinSet::new();
        for (name, addr, request_line) in [
            (
                "OTLP/HTTP",
                collector.http_addr(),
                "POST /v1/traces HTTP/1.1",
            ),
            (
                "web view",
                collector.ui_addr().expect("the web view"),
                "GET / HTTP/1.1",
            ),
        ] {
            let stream = connect(addr).await;
            let first = format!("{request_line}\r\nHost: {addr}\r\n");
            slow.spawn(async move {
                let (data, elapsed) = slow_client(
                    stream,
                    first.into_bytes(),
                    |i| format!("X-Slow-{i}: one header every 500 ms\r\n").into_bytes(),
                    Duration::from_millis(500),
                    Duration::from_secs(10),
                )
                .await;
                (name, data, elapsed)
            });
        }
        while let Some(closed) = slow.join_next().await {
            let (name, data, elapsed) = closed.expect("a slow client");
            let elapsed = elapsed.unwrap_or_else(|| panic!("{name}: the slow head was served"));
            assert_fired(name, elapsed, head_timeout);
            assert!(
                data.is_empty(),
                "{name}: answered {:?}",
                String::from_utf8_lossy(&data)
            );
        }
        assert!(collector.requests().is_empty());
    })
    .await;
}

/// Writes `first`, then `next(i)` every `every`, until the server closes
/// the connection; returns what the server sent and when it closed
/// (`None` if it had not after `limit`).
async fn slow_client(
    mut stream: TcpStream,
    first: Vec<u8>,
    next: impl Fn(usize) -> Vec<u8>,
    every: Duration,
    limit: Duration,
) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let mut data = Vec::new();
    if writer.write_all(&first).await.is_err() {
        return (data, Some(started.elapsed()));
    }
    let mut buf = [0u8; 4096];
    let mut ticks = tokio::time::interval_at(started + every, every);
    let mut i = 0;
    loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) | Err(_) => return (data, Some(started.elapsed())),
                Ok(n) => data.extend_from_slice(&buf[..n]),
            },
            _ = ticks.tick() => {
                if started.elapsed() >= limit {
                    return (data, None);
                }
                if writer.write_all(&next(i)).await.is_err() {
                    return (data, Some(started.elapsed()));
                }
                i += 1;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_that_never_ends_is_answered_408_after_the_body_timeout() {
    bounded(async {
        let body_timeout = Duration::from_secs(2);
        let collector = start_with(|limits| limits.body_timeout = body_timeout).await;
        let addr = collector.http_addr();
        let head = export_head(addr, CHUNKED);
        // One byte of body every 500 ms, never the last chunk.
        let (data, elapsed) = slow_client(
            connect(addr).await,
            head.into_bytes(),
            |_| b"1\r\n\x0a\r\n".to_vec(),
            Duration::from_millis(500),
            Duration::from_secs(10),
        )
        .await;
        let elapsed = elapsed.expect("the connection was closed");
        assert_fired("the endless body", elapsed, body_timeout);
        let answer = String::from_utf8_lossy(&data);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("within 2 s"), "{answer}");
        assert!(collector.requests().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_message_that_never_arrives_is_deadline_exceeded_after_the_body_timeout() {
    bounded(async {
        let body_timeout = Duration::from_secs(2);
        let collector = start_with(|limits| limits.body_timeout = body_timeout).await;
        let channel = Channel::from_shared(collector.grpc_endpoint())
            .expect("an endpoint")
            .connect()
            .await
            .expect("connecting");
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let started = Instant::now();
        // The call's request stream never yields its message.
        let answer = grpc
            .client_streaming(
                tonic::Request::new(tokio_stream::pending::<ExportTraceServiceRequest>()),
                PathAndQuery::from_static(GRPC_EXPORT_PATH),
                tonic_prost::ProstCodec::<ExportTraceServiceRequest, ExportTraceServiceResponse>::default(),
            )
            .await;
        let status = answer.expect_err("an export without its message was answered");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
        assert_fired("the missing message", started.elapsed(), body_timeout);
        assert!(collector.requests().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_slowly_within_the_body_timeout_is_not_idle() {
    bounded(async {
        // Idle is shorter than the body takes: a request in flight must
        // not count as idle.
        let collector = start_with(|limits| {
            limits.idle_timeout = Duration::from_secs(1);
            limits.body_timeout = Duration::from_secs(10);
        })
        .await;
        let addr = collector.http_addr();
        let mut stream = connect(addr).await;
        let head = export_head(addr, CHUNKED);
        stream.write_all(head.as_bytes()).await.expect("writing");
        let body = export_body();
        let chunks: Vec<&[u8]> = body.chunks(body.len().div_ceil(8)).collect();
        for chunk in chunks {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(chunk);
            framed.extend_from_slice(b"\r\n");
            stream.write_all(&framed).await.expect("writing a chunk");
        }
        stream
            .write_all(b"0\r\n\r\n")
            .await
            .expect("writing the end");
        let (status, _) = read_response(&mut stream).await.expect("an answer");
        assert_eq!(status, 200);
        assert_eq!(collector.span_count(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    bounded(async {
        let idle_timeout = Duration::from_secs(1);
        let collector = start_with(|limits| limits.idle_timeout = idle_timeout).await;

        // HTTP/1.1, after a served request: OTLP/HTTP and the web view.
        let addr = collector.http_addr();
        let mut stream = connect(addr).await;
        assert_eq!(keep_alive_export(&mut stream, addr).await, 200);
        let (_, elapsed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        assert_fired("OTLP/HTTP keep-alive", elapsed, idle_timeout);

        let ui = collector.ui_addr().expect("the web view");
        let mut stream = connect(ui).await;
        let request = format!("GET /api/services HTTP/1.1\r\nHost: {ui}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("writing");
        let (status, _) = read_response(&mut stream).await.expect("an answer");
        assert_eq!(status, 200);
        let (_, elapsed) = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        assert_fired("web view keep-alive", elapsed, idle_timeout);

        // HTTP/2 without a stream, on the gRPC port: a GOAWAY, then closed.
        let mut stream = connect(collector.grpc_addr()).await;
        let mut hello = H2_PREFACE.to_vec();
        hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS
        stream.write_all(&hello).await.expect("writing");
        let (frames, elapsed) = h2_frames_until_closed(&mut stream).await;
        assert_fired("idle HTTP/2", elapsed, idle_timeout);
        assert!(frames.contains(&GOAWAY), "frames {frames:?}");
    })
    .await;
}

const PING: u8 = 6;
const GOAWAY: u8 = 7;

/// The types of the HTTP/2 frames the server sends until it closes the
/// connection (its pings answered); and how long it took.
async fn h2_frames_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut frames = Vec::new();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while data.len() >= 9 {
            let length =
                usize::from(data[0]) << 16 | usize::from(data[1]) << 8 | usize::from(data[2]);
            if data.len() < 9 + length {
                break;
            }
            let (kind, flags) = (data[3], data[4]);
            frames.push(kind);
            if kind == PING && flags & 1 == 0 {
                let mut ack = vec![0, 0, 8, PING, 1, 0, 0, 0, 0];
                ack.extend_from_slice(&data[9..9 + length]);
                let _ = stream.write_all(&ack).await;
            }
            data.drain(..9 + length);
        }
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the connection is closed in time");
        match read {
            Ok(0) | Err(_) => return (frames, started.elapsed()),
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

/// A request whose body never comes: the connection stays busy. `path`:
/// an OTLP/HTTP path, or the web view's upload (`/api/traces`).
async fn busy_connection(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = connect(addr).await;
    let mut head = export_head(addr, "Content-Length: 100").replacen("/v1/traces", path, 1);
    if path == "/api/traces" {
        // The upload takes files: JSON.
        head = head.replacen("application/x-protobuf", "application/json", 1);
    }
    stream.write_all(head.as_bytes()).await.expect("writing");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_wait_while_none_is_idle() {
    bounded(async {
        let collector = start_with(|limits| limits.max_connections = 50).await;
        assert_eq!(collector.max_connections(), 50);
        let (http, ui) = (
            collector.http_addr(),
            collector.ui_addr().expect("web view"),
        );
        // 50 connections over two listeners (one budget), each with a
        // request in flight.
        let mut held = Vec::new();
        for i in 0..50 {
            let (addr, path) = if i % 2 == 0 {
                (http, "/v1/traces")
            } else {
                (ui, "/api/traces")
            };
            held.push(busy_connection(addr, path).await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The 51st connects (the kernel's backlog) but is not served...
        let mut waiting = connect(http).await;
        write_export(&mut waiting, http).await;
        let mut answer = Box::pin(read_response(&mut waiting));
        assert!(
            tokio::time::timeout(Duration::from_secs(1), &mut answer)
                .await
                .is_err(),
            "the 51st connection was served while 50 were busy"
        );
        assert_eq!(collector.requests().len(), 0);

        // ...until one of the 50 goes.
        drop(held.remove(0));
        let (status, _) = tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("served once a connection was freed")
            .expect("an answer");
        assert_eq!(status, 200);
        assert_eq!(collector.requests().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_connection_open_the_oldest_idle_one_makes_room() {
    bounded(async {
        let collector = start_with(|limits| limits.max_connections = 50).await;
        let addr = collector.http_addr();
        // 40 served then idle (keep-alive), 10 busy, 10 silent that never
        // send a byte, oldest first: the budget is full.
        let mut idle = Vec::new();
        for _ in 0..40 {
            let mut stream = connect(addr).await;
            assert_eq!(keep_alive_export(&mut stream, addr).await, 200);
            idle.push(stream);
        }
        let mut busy = Vec::new();
        for _ in 0..10 {
            busy.push(busy_connection(addr, "/v1/traces").await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;

        // A new export is served at once, on the gRPC listener too: each
        // closes the oldest idle connection.
        let mut stream = connect(addr).await;
        let status =
            tokio::time::timeout(Duration::from_secs(5), keep_alive_export(&mut stream, addr))
                .await
                .expect("served without waiting for a connection to go");
        assert_eq!(status, 200);
        let grpc = tokio::time::timeout(
            Duration::from_secs(5),
            grpc_raw(collector.grpc_endpoint(), GRPC_EXPORT_PATH, export_body()),
        )
        .await
        .expect("served without waiting for a connection to go");
        assert!(grpc.is_ok(), "{grpc:?}");
        for oldest in &mut idle[..2] {
            read_until_closed(oldest, Duration::from_secs(5)).await;
        }
        // The busy ones are untouched: their requests still complete.
        for stream in &mut busy {
            stream.write_all(&[0; 100]).await.expect("writing the body");
            let (status, _) = read_response(stream).await.expect("an answer");
            assert_eq!(status, 400, "a body of zeros is no export");
        }
    })
    .await;
}

/// How many file descriptors this process may open, where that is known.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1000_idle_connections_and_20_slow_heads_do_not_delay_an_export() {
    const IDLE: usize = 1000;
    const SLOW: usize = 20;
    // Both ends of every connection live in this process.
    let needed = 2 * 2 * (IDLE + SLOW) as u64 + 200;
    if let Some(limit) = open_files_limit() {
        assert!(
            limit >= needed,
            "this test needs {needed} file descriptors, the limit is {limit} (raise it with ulimit -n)"
        );
    }
    bounded(async {
        // The default limits: 10 s for a head, 60 s idle, 4096 connections.
        let collector = start(ConnectionLimits::default()).await;
        let (http, grpc) = (collector.http_addr(), collector.grpc_addr());
        let started = Instant::now();

        let mut idle = Vec::with_capacity(2 * IDLE);
        for addr in [http, grpc] {
            for _ in 0..IDLE {
                idle.push(connect(addr).await);
            }
        }
        let mut slow = JoinSet::new();
        for i in 0..SLOW {
            // An HTTP/1.1 head, one header every 2 s.
            let stream = connect(http).await;
            let first = format!("POST /v1/traces HTTP/1.1\r\nHost: {http}\r\n").into_bytes();
            slow.spawn(async move {
                let (_, closed) = slow_client(
                    stream,
                    first,
                    move |n| format!("X-Slow-{i}-{n}: 1\r\n").into_bytes(),
                    Duration::from_secs(2),
                    Duration::from_secs(20),
                )
                .await;
                ("OTLP/HTTP", closed)
            });
            // The HTTP/2 preface, one byte every 2 s.
            let stream = connect(grpc).await;
            slow.spawn(async move {
                let (_, closed) = slow_client(
                    stream,
                    H2_PREFACE[..1].to_vec(),
                    |n| H2_PREFACE[(n + 1).min(H2_PREFACE.len() - 1)..][..1].to_vec(),
                    Duration::from_secs(2),
                    Duration::from_secs(20),
                )
                .await;
                ("OTLP/gRPC", closed)
            });
        }
        let slow_started = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;

        // An OTLP/HTTP export is answered at once...
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let export_started = Instant::now();
        let response = client
            .post(format!("{}/v1/traces", collector.http_endpoint()))
            .header("content-type", "application/x-protobuf")
            .body(export_body())
            .send()
            .await
            .expect("an OTLP/HTTP export");
        let took = export_started.elapsed();
        assert_eq!(response.status(), 200);
        assert!(
            took < Duration::from_secs(1),
            "OTLP/HTTP export took {took:?}"
        );

        // ...and so is one over gRPC.
        let export_started = Instant::now();
        let mut grpc_client = TraceServiceClient::connect(collector.grpc_endpoint())
            .await
            .expect("connecting over gRPC");
        grpc_client
            .export(export(
                "limits-svc",
                vec![span(&TRACE_ID, &[2; 8], None, "grpc")],
            ))
            .await
            .expect("an OTLP/gRPC export");
        let took = export_started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "OTLP/gRPC export took {took:?}"
        );
        assert_eq!(collector.span_count(), 2);
        drop(grpc_client);

        // 15 s on, the server has closed the slow heads (at the 10 s head
        // timeout)...
        while let Some(done) = slow.join_next().await {
            let (name, closed) = done.expect("a slow client");
            let closed =
                closed.unwrap_or_else(|| panic!("a slow {name} head was still open after 20 s"));
            assert!(
                closed >= Duration::from_secs(9) && closed <= Duration::from_secs(15),
                "a slow {name} head was closed after {closed:?}"
            );
        }
        tokio::time::sleep_until(slow_started + Duration::from_secs(15)).await;
        // ...and the silent ones as well.
        // (The gRPC ones got the server's SETTINGS first.)
        for stream in &mut idle {
            read_until_closed(stream, Duration::from_secs(2)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(30));
    })
    .await;
}

#[test]
fn help_states_the_limits_and_their_defaults() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(output.status.success());
    // One line of words: clap wraps the text at the terminal's width.
    let help = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for expected in [
        "--max-connections <N>",
        "as many connections, all listeners together, as the file descriptor limit allows less 64",
        "--idle-timeout <SECS>",
        "[default: 60]",
        "--head-timeout <SECS>",
        "[default: 10]",
        "--body-timeout <SECS>",
        "[default: 30]",
        "--allow-host <NAME>",
        "close a request head unfinished after 10 s",
        "cut a request body after 30 s",
        "close an idle connection after 60 s",
    ] {
        assert!(
            help.contains(expected),
            "{expected:?} missing from:\n{help}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_open_connections_within_the_grace() {
    bounded(async {
        let collector = start(limits()).await;
        let addr = collector.http_addr();
        // A served keep-alive connection, a silent one, one on gRPC, and a
        // request whose body never ends (it holds its connection busy).
        let mut served = connect(addr).await;
        assert_eq!(keep_alive_export(&mut served, addr).await, 200);
        let mut open = vec![
            served,
            connect(addr).await,
            connect(collector.grpc_addr()).await,
        ];
        let mut busy = connect(addr).await;
        let head = export_head(addr, CHUNKED) + "1\r\n\x0a\r\n";
        busy.write_all(head.as_bytes()).await.expect("writing");
        open.push(busy);
        tokio::time::sleep(Duration::from_millis(200)).await;

        let started = Instant::now();
        collector.shutdown().await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "shutdown took {took:?}");
        for stream in &mut open {
            read_until_closed(stream, Duration::from_secs(1)).await;
        }
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "still accepting after shutdown"
        );
    })
    .await;
}

/// User plus system CPU time of process `pid` so far, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): state is the
    // 3rd field, utime the 14th, stime the 15th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_accept_loop_waits_instead_of_spinning() {
    use std::process::{Command, Stdio};
    bounded(async {
        // The binary with room for a few dozen connections only.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n 64 && exec '{}' --grpc 127.0.0.1:0 --http 127.0.0.1:0 --no-ui",
                env!("CARGO_BIN_EXE_collector")
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the collector");
        let pid = child.id();
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        let _running = Running(child);
        let http = banner_addr(&stderr, "OTLP/HTTP", Duration::from_secs(30));

        // More connections than descriptors: accepting fails with EMFILE.
        let mut held = Vec::new();
        for _ in 0..100 {
            held.push(connect(http).await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = cpu_ticks(pid).expect("the collector's CPU time");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let spent = cpu_ticks(pid).expect("the collector's CPU time") - before;
        // A spinning loop would take about 200 ticks (a whole core, 100 Hz).
        assert!(spent < 40, "the collector used {spent} ticks of CPU in 2 s");

        // Once the connections go, it serves again.
        drop(held);
        let mut stream = connect(http).await;
        let status =
            tokio::time::timeout(Duration::from_secs(5), keep_alive_export(&mut stream, http))
                .await
                .expect("answered once descriptors were free");
        assert_eq!(status, 200);
    })
    .await;
}

/// The collector binary under a file descriptor limit: `soft` and `hard`
/// (a shell's `ulimit`), its stderr line by line.
#[cfg(target_os = "linux")]
fn under_fd_limit(soft: u64, hard: u64) -> (Running, std::sync::mpsc::Receiver<String>) {
    let command = format!(
        "ulimit -Sn {soft} && ulimit -Hn {hard} && exec '{}' --grpc 127.0.0.1:0 --http 127.0.0.1:0 --no-ui",
        env!("CARGO_BIN_EXE_collector")
    );
    let mut command_line = std::process::Command::new("sh");
    command_line.arg("-c").arg(command);
    Running::with_stderr(command_line)
}

#[cfg(target_os = "linux")]
#[test]
fn the_soft_fd_limit_is_raised_to_the_hard_one() {
    let (_running, stderr) = under_fd_limit(1024, 4096);
    let line = banner_line(&stderr, "  connections up to");
    assert_eq!(
        line,
        "  connections up to 4,032 (file descriptor limit 4,096)"
    );
}

/// The first line of the banner that starts with `prefix`.
fn banner_line(stderr: &std::sync::mpsc::Receiver<String>, prefix: &str) -> String {
    let mut seen = Vec::new();
    while let Ok(line) = stderr.recv_timeout(Duration::from_secs(30)) {
        if line.starts_with(prefix) {
            return line;
        }
        seen.push(line);
    }
    panic!("no line starting with {prefix:?}: {seen:#?}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_1024_descriptors_1100_idle_connections_do_not_lock_out_exports() {
    const IDLE: usize = 1100;
    bounded(async {
        // This process holds the client ends: it needs more than 1,024.
        let limits = collector::raise_open_files_limit().expect("raising this test's fd limit");
        assert!(
            limits.soft.is_none_or(|soft| soft >= IDLE as u64 + 200),
            "this test needs {} file descriptors, the hard limit is {:?} (raise it with ulimit -Hn)",
            IDLE + 200,
            limits.hard
        );
        // Hard 1,024 too: raising does not help, the budget must.
        let (_running, stderr) = under_fd_limit(1024, 1024);
        let grpc = banner_addr(&stderr, "OTLP/gRPC", Duration::from_secs(30));
        let http = banner_addr(&stderr, "OTLP/HTTP", Duration::from_secs(30));
        let line = banner_line(&stderr, "  connections up to");
        assert_eq!(line, "  connections up to 960 (file descriptor limit 1,024)");

        // From the first idle connection, the 10 s head timeout would close
        // them anyway: everything must be done well before.
        let opened = Instant::now();
        let mut idle = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            idle.push(connect(http).await);
        }
        let answered = Duration::from_secs(4);
        let mut stream = connect(http).await;
        let status = tokio::time::timeout(answered, keep_alive_export(&mut stream, http))
            .await
            .expect("the OTLP/HTTP export answered with 1,100 idle connections open");
        assert_eq!(status, 200);
        let endpoint = format!("http://{grpc}");
        let grpc = tokio::time::timeout(
            answered,
            grpc_raw(endpoint, GRPC_EXPORT_PATH, export_body()),
        )
        .await
        .expect("the OTLP/gRPC export answered with 1,100 idle connections open");
        assert!(grpc.is_ok(), "{grpc:?}");
        // A collector that stopped accepting keeps the last connections in
        // a full backlog (their SYNs retried for seconds) until the head
        // timeout frees room.
        let took = opened.elapsed();
        assert!(
            took < Duration::from_secs(7),
            "connecting and both exports took {took:?}: only the head timeout made room"
        );
        drop(idle);
    })
    .await;
}
