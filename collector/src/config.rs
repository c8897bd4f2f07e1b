//! What the collector listens on, how much it keeps, and how long it waits
//! for a client. The defaults are sized for a laptop and anchored on the
//! OpenTelemetry Collector's own receivers where it has one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::tls::TlsConfig;
use crate::{DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR, DEFAULT_UI_ADDR};

/// What to listen on and how much to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// OTLP/gRPC listen address; port 0 picks a free port.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address; port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// Web view and JSON API listen address (port 0 picks a free port);
    /// `None` serves no web view.
    pub ui_addr: Option<SocketAddr>,
    /// What the stored traces and log records may cost in memory, all
    /// together (spans with their names, attributes and events, log records
    /// with their bodies, resources, indexes); the oldest are evicted first.
    pub max_memory_bytes: usize,
    /// The longest text or bytes value kept whole (an attribute value, a
    /// span or event name, a status message, a log body); longer ones are
    /// cut and marked.
    pub max_value_bytes: usize,
    /// Traces kept in memory; the oldest is evicted first.
    pub max_traces: usize,
    /// Spans kept in memory, all traces together; the oldest traces are
    /// evicted first to make room.
    pub max_spans: usize,
    /// Spans kept of one trace; later ones are dropped and counted, and the
    /// trace says so (API, web view, print). At most `max_spans`.
    pub max_spans_per_trace: usize,
    /// Log records kept in memory, of all traces and those of no trace
    /// together; the oldest record is evicted first (and counted).
    pub max_logs: usize,
    /// Log records kept of one trace; later ones are dropped and counted,
    /// and the trace says so. At most `max_logs`.
    pub max_logs_per_trace: usize,
    /// Requests kept in the request log ([`crate::Collector::requests`]).
    pub max_requests: usize,
    /// Largest OTLP/HTTP body, before and after gzip (413 beyond). The
    /// OpenTelemetry Collector's `confighttp` default: 20 MiB.
    pub max_http_body_bytes: usize,
    /// Largest file the web view's upload (`POST /api/traces`) takes,
    /// before and after gzip (413 beyond): larger than an OTLP/HTTP body,
    /// so that a trace of the per-trace limit, downloaded, goes back in.
    pub max_upload_bytes: usize,
    /// Largest OTLP/gRPC message (RESOURCE_EXHAUSTED beyond). The
    /// OpenTelemetry Collector's `configgrpc` default: 4 MiB.
    pub max_grpc_message_bytes: usize,
    /// Print each finished trace to stdout as a tree.
    pub print_traces: bool,
    /// Keep the traces and log records in this SQLite file too (`--store`),
    /// read back at start, within the same limits; every start on the file
    /// is a new run. `None`: nothing is written to disk.
    pub store: Option<PathBuf>,
    /// Serve both OTLP receivers over TLS (the web view stays plain HTTP);
    /// `None` serves plain HTTP/2 and HTTP.
    pub tls: Option<TlsConfig>,
    /// Host names accepted in the `Host` header besides loopback names and
    /// the bound address (`--allow-host`); anything else gets 403, so a
    /// web page cannot reach the collector through DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Time and connection limits of every listener.
    pub limits: ConnectionLimits,
    /// An event stream (`/api/stream`) whose client has taken nothing for
    /// this long (a write that has not completed) ends and frees its slot.
    /// A minute; tests shorten it.
    #[doc(hidden)]
    pub stream_stall: Duration,
}

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// For a request head (HTTP/1.1), timed by hyper from when it starts
    /// waiting for one: after a connection's first bytes, and again after
    /// each response, so it also closes an idle HTTP/1.1 keep-alive
    /// connection; for a new connection's first bytes and TLS handshake.
    pub head_timeout: Duration,
    /// For a whole request body to arrive.
    pub body_timeout: Duration,
    /// An open connection with no request in flight is closed after this.
    pub idle_timeout: Duration,
    /// Open connections of all listeners together, at most; the file
    /// descriptor limit may allow fewer (`usize::MAX`: only that limit).
    /// When they are all open, the oldest idle one is closed for a new one;
    /// when none is idle, new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Concurrent HTTP/2 streams (gRPC calls) per connection.
    pub max_concurrent_streams: u32,
    /// HTTP/2 keep-alive: a ping after this long without frames...
    pub keepalive_interval: Duration,
    /// ...and the connection is closed when the ping is unanswered this long.
    pub keepalive_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: usize::MAX,
            max_concurrent_streams: 100,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
        }
    }
}

impl CollectorConfig {
    /// Loopback, free ports for both receivers and the web view, printing
    /// off: for tests.
    pub fn ephemeral() -> Self {
        let any_port = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        CollectorConfig {
            grpc_addr: any_port,
            http_addr: any_port,
            ui_addr: Some(any_port),
            print_traces: false,
            ..CollectorConfig::default()
        }
    }
}

impl Default for CollectorConfig {
    /// The standard OTLP and web view ports on loopback, printing on.
    fn default() -> Self {
        CollectorConfig {
            grpc_addr: DEFAULT_GRPC_ADDR,
            http_addr: DEFAULT_HTTP_ADDR,
            ui_addr: Some(DEFAULT_UI_ADDR),
            max_memory_bytes: 512 * 1024 * 1024,
            max_value_bytes: 64 * 1024,
            max_traces: 1000,
            max_spans: 1_000_000,
            max_spans_per_trace: 100_000,
            max_logs: 100_000,
            max_logs_per_trace: 10_000,
            max_requests: 1000,
            max_http_body_bytes: 20 * 1024 * 1024,
            max_upload_bytes: 256 * 1024 * 1024,
            max_grpc_message_bytes: 4 * 1024 * 1024,
            print_traces: true,
            store: None,
            tls: None,
            allowed_hosts: Vec::new(),
            limits: ConnectionLimits::default(),
            stream_stall: Duration::from_secs(60),
        }
    }
}
