//! The web view's live feed, `GET /api/stream`: server-sent events with the
//! summary of each new or updated trace, a cap on open streams, and no
//! stream that holds up the collector's shutdown.

mod support;

use std::time::{Duration, Instant};

use std::net::SocketAddr;

use collector::{Collector, CollectorConfig};
use support::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (Collector, SocketAddr) {
    let collector = Collector::start(CollectorConfig::ephemeral())
        .await
        .expect("starting the collector");
    let ui = collector.ui_addr().expect("the web view");
    (collector, ui)
}

/// An open event stream on a connection of its own, read as it comes
/// (chunked framing and all: events are found by their lines).
struct Stream {
    tcp: TcpStream,
    text: String,
}

/// `GET /api/stream` on a new connection; the status line and headers.
async fn request(ui: SocketAddr) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(ui).await.expect("connecting");
    let head =
        format!("GET /api/stream HTTP/1.1\r\nHost: {ui}\r\nAccept: text/event-stream\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("sending");
    let mut text = String::new();
    let mut buffer = [0; 4096];
    while !text.contains("\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut buffer))
            .await
            .expect("an answer in time")
            .expect("reading");
        assert!(n > 0, "closed before answering: {text}");
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    (tcp, text)
}

impl Stream {
    async fn open(ui: SocketAddr) -> Stream {
        let (tcp, text) = request(ui).await;
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(
            text.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{text}"
        );
        let mut stream = Stream { tcp, text };
        stream.until(|text| text.contains(": connected")).await;
        stream
    }

    /// Reads until `done` holds for what was read (and not taken) so far;
    /// takes and returns it.
    async fn until(&mut self, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut buffer = [0; 8192];
        while !done(&self.text) {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = tokio::time::timeout(left, self.tcp.read(&mut buffer))
                .await
                .unwrap_or_else(|_| panic!("nothing more within {WAIT:?}:\n{}", self.text))
                .expect("reading the stream");
            assert!(n > 0, "the stream ended:\n{}", self.text);
            self.text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        std::mem::take(&mut self.text)
    }

    /// The summaries of the `trace` events read so far (taking them).
    async fn summaries(&mut self, at_least: usize) -> Vec<serde_json::Value> {
        const EVENT: &str = "event: trace\ndata: ";
        let text = self
            .until(|text| text.matches(EVENT).count() >= at_least)
            .await;
        text.match_indices(EVENT)
            .map(|(at, _)| {
                let data = &text[at + EVENT.len()..];
                let line = &data[..data.find('\n').unwrap_or(data.len())];
                serde_json::from_str(line).expect("a summary as JSON")
            })
            .collect()
    }

    /// Whether the server ends the stream (and the connection) within
    /// `limit`: the last chunk, or the connection closed.
    async fn ends_within(&mut self, limit: Duration) -> bool {
        let mut buffer = [0; 8192];
        tokio::time::timeout(limit, async {
            loop {
                match self.tcp.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        self.text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                        if self.text.contains("\r\n0\r\n\r\n") {
                            return;
                        }
                    }
                }
            }
        })
        .await
        .is_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_new_or_updated_trace_is_an_event_with_its_summary() {
    let (collector, ui) = start().await;
    let mut stream = Stream::open(ui).await;
    let http = collector.http_addr();
    send(
        http,
        "svc-b",
        vec![timed(&[1; 16], 2, Some(1), "GetUser", 1, 2)],
    )
    .await;
    let summaries = stream.summaries(1).await;
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0]["trace_id"], "01".repeat(16));
    assert_eq!(summaries[0]["span_count"], 1);
    assert_eq!(summaries[0]["complete"], false);

    // The same trace again, then another one.
    send(http, "svc-a", vec![timed(&[1; 16], 1, None, "main", 0, 3)]).await;
    let summaries = stream.summaries(1).await;
    assert_eq!(summaries[0]["span_count"], 2);
    assert_eq!(summaries[0]["root_name"], "main");
    assert_eq!(summaries[0]["complete"], true);
    send(http, "svc-a", vec![timed(&[2; 16], 1, None, "other", 0, 3)]).await;
    let summaries = stream.summaries(1).await;
    assert_eq!(summaries[0]["trace_id"], "02".repeat(16));
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_are_capped_and_a_closed_one_frees_its_place() {
    let (collector, ui) = start().await;
    let mut streams = Vec::new();
    for _ in 0..16 {
        streams.push(Stream::open(ui).await);
    }
    let refused = get(ui, "/api/stream", &[]).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    let body: serde_json::Value = serde_json::from_slice(&refused.body).expect("a JSON error");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("too many event streams"), "{error}");

    drop(streams.pop());
    // Its task sees the client gone and gives its place back.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_tcp, head) = request(ui).await;
        if head.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    collector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_ends_at_once_on_shutdown() {
    let (collector, ui) = start().await;
    let mut streams = vec![Stream::open(ui).await, Stream::open(ui).await];
    let started = Instant::now();
    collector.shutdown().await;
    let took = started.elapsed();
    // A stream that held its connection open would be cut only after the
    // one-second grace for open requests.
    assert!(took < Duration::from_millis(900), "shutdown took {took:?}");
    for stream in &mut streams {
        assert!(stream.ends_within(WAIT).await, "the stream did not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_takes_nothing_loses_its_stream_after_the_stall_window() {
    const STALL: Duration = Duration::from_secs(2);
    let collector = Collector::start(CollectorConfig {
        stream_stall: STALL,
        ..CollectorConfig::ephemeral()
    })
    .await
    .expect("starting the collector");
    let (ui, http) = (
        collector.ui_addr().expect("the web view"),
        collector.http_addr(),
    );
    // 16 clients that ask for a stream and never read, with small receive
    // buffers so the event data fills them soon.
    let mut silent = Vec::new();
    for _ in 0..16 {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut tcp = socket.connect(ui).await.expect("connecting");
        let head = format!("GET /api/stream HTTP/1.1\r\nHost: {ui}\r\n\r\n");
        tcp.write_all(head.as_bytes()).await.expect("sending");
        silent.push(tcp);
    }
    // Each got a stream (seen with peek: nothing is taken from the
    // socket), so every slot is taken. With an idle store the kernel
    // buffers would take keep-alives for days: events fill them.
    for tcp in &silent {
        let mut head = [0; 12];
        loop {
            let n = tokio::time::timeout(WAIT, tcp.peek(&mut head))
                .await
                .expect("an answer in time")
                .expect("peeking");
            assert!(n > 0, "closed before answering");
            if n == head.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(&head, b"HTTP/1.1 200", "a silent client got no stream");
    }
    let (_tcp, refused) = request(ui).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");

    // New traces, 200 at a time, are events for every stream: the silent
    // ones' sockets fill, their writes stop completing, and after the
    // window their slots are free. Far less than the 60 s idle timeout
    // that would close their connections otherwise.
    let limit = Instant::now() + Duration::from_secs(30);
    let mut round = 0u32;
    loop {
        let spans = (0..200u32)
            .map(|i| {
                let mut id = [7u8; 16];
                id[..4].copy_from_slice(&round.to_be_bytes());
                id[4..8].copy_from_slice(&i.to_be_bytes());
                span(&id, &SPAN_ID, None, &"event data ".repeat(20))
            })
            .collect();
        send(http, "stall-svc", spans).await;
        round += 1;
        let (_tcp, head) = request(ui).await;
        if head.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < limit,
            "no stream admitted within 30 s: the silent clients kept every slot"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(silent);
    collector.shutdown().await;
}
