//! An embedded OTLP trace backend: the local stand-in for Jaeger all-in-one.
//!
//! It receives spans and log records over OTLP/gRPC (`TraceService/Export`,
//! `LogsService/Export`) and OTLP/HTTP (POST, protobuf or JSON, optionally
//! gzip; a path ending in `/v1/logs` carries logs, any other path traces),
//! keeps the last traces in memory within a byte budget and fixed counts,
//! each with its log records, can print each finished trace as a tree, and
//! serves a web view of the traces (a live, searchable list, a waterfall per
//! trace with its critical path and span links, where its time went in one
//! sentence, its statistics and flame graph, two traces compared, the
//! service map with databases and caches, the log records of no trace)
//! with the JSON API behind it; traces and log
//! records go out and back in as OTLP/JSON files. With
//! [`CollectorConfig::store`] they are also kept in an SQLite file and read
//! back at the next start (each start a new run). Tests start it on
//! free ports and wait for spans:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use collector::{Collector, CollectorConfig};
//!
//! let collector = Collector::start(CollectorConfig::ephemeral()).await?;
//! // ... point an exporter at collector.http_endpoint() or grpc_endpoint() ...
//! let trace = collector
//!     .wait_for_trace(|t| t.span_named("main").is_some(), Duration::from_secs(10))
//!     .await?;
//! assert_eq!(trace.root().map(|s| s.name.as_str()), Some("main"));
//! collector.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The modules, in the order data flows through them:
//!
//! | module | what it does |
//! |---|---|
//! | `config` | what it listens on and keeps ([`CollectorConfig`]), and the connection limits |
//! | `server` | binds the listeners, starts them and the printer, shuts down |
//! | `serve` | the accept loop of every listener: the shared connection budget, timeouts, TLS handshakes |
//! | `fds` | the file descriptor limit: raised at start, the connection budget sized from it |
//! | `tls` | the receivers' certificate, key and client CA, read and checked |
//! | `host` | the `Host` check against DNS rebinding (OTLP/HTTP and the web view) |
//! | `grpc`, `http` | the OTLP receivers: check and decode an export request |
//! | [`otlp`] | decoding request bodies (protobuf or JSON, gzip, size limit) |
//! | `wire` | a protobuf traces request read to the bytes of each span, checked, without decoding each span whole |
//! | `ingest` | the one way in, for traces and logs: convert, store, answer |
//! | `stored` | what the store keeps of a span and a record (values cut to a limit, sizes), converted from OTLP |
//! | `store` | the bounded (in bytes and counts), indexed in-memory store, and waiting for spans |
//! | `links` | span links both ways: the reverse index (linked span -> the spans that link to it) |
//! | `map` | the service map with databases and caches, call and error counts, RPC methods |
//! | `persist` | `--store PATH`: what the store keeps, also in an SQLite file, read back at start; the runs |
//! | `export` | stored spans back to OTLP (a trace's download) |
//! | `search` | what a search for traces asks ([`TraceQuery`]), read from query parameters |
//! | [`model`] | what is shown: spans, log records, traces, summaries, a trace's tree |
//! | `critical_path` | a trace's critical path (Jaeger UI's algorithm, as named steps) |
//! | [`analysis`] | where a trace's time goes: self time, statistics per service and operation, the flame graph, the sentence |
//! | `settled` | when a trace is finished, and the feed of finished traces ([`SettledTraces`]) |
//! | `print` | a finished trace printed as a tree (a reader of that feed) |
//! | `ui` | the web view and its JSON API |
//! | [`file_format`] | files of traces and log records: `--load`, the upload, `GET /api/export` |
//! | [`text`] | making outside text safe to print |

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub mod analysis;
mod config;
mod critical_path;
mod export;
mod fds;
pub mod file_format;
#[cfg(test)]
mod fixtures;
mod grpc;
mod host;
mod http;
mod ingest;
mod links;
mod map;
pub mod model;
pub mod otlp;
mod persist;
mod print;
mod search;
mod serve;
mod server;
mod settled;
mod store;
mod stored;
pub mod text;
mod tls;
mod ui;
mod wire;

/// What the fuzz targets (`fuzz/`, built with `--cfg fuzzing`) reach
/// beyond the public API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// The printer's tree of one trace.
    pub fn render(trace: &crate::Trace) -> String {
        crate::print::render(trace, crate::print::DEFAULT_COLUMNS)
    }
}

pub use config::{CollectorConfig, ConnectionLimits};
pub use critical_path::{CriticalSection, critical_path};
pub use fds::{OpenFiles, RESERVE as FD_RESERVE, open_files, raise_open_files_limit};
pub use map::{MapEdge, MapNode, NodeKind, ServiceMap};
pub use model::{
    Dependency, Event, Link, LinkedFrom, LogRecord, ReceivedRequest, RunSummary, Signal, Span,
    SpanKind, StatusCode, Trace, TraceSummary, Transport, TreeRow,
};
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
pub use persist::StoreError;
pub use search::{QueryError, TraceQuery};
pub use settled::SettledTraces;
pub use store::WaitTimeout;
pub use tls::TlsConfig;

/// Where Jaeger and the OpenTelemetry Collector listen for OTLP/gRPC.
pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);
/// Where Jaeger and the OpenTelemetry Collector listen for OTLP/HTTP.
pub const DEFAULT_HTTP_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4318);
/// Where Jaeger serves its UI; the collector's web view listens there too.
pub const DEFAULT_UI_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 16686);
/// The gRPC path of the traces export method (`TraceService/Export`).
pub const GRPC_EXPORT_PATH: &str = grpc::EXPORT_PATH;
/// The gRPC path of the logs export method (`LogsService/Export`).
pub const GRPC_LOGS_EXPORT_PATH: &str = grpc::LOGS_EXPORT_PATH;

/// A running collector. Dropping it stops the servers abruptly; prefer
/// [`Collector::shutdown`].
#[derive(Debug)]
pub struct Collector {
    store: store::Store,
    servers: server::Servers,
    max_body_bytes: usize,
    persist: Option<persist::Persist>,
}

impl Collector {
    /// Binds both receivers and the web view, and serves them on the
    /// current tokio runtime. With TLS on, the certificate and key files are
    /// read and checked first; a problem with them is an error that names
    /// the file. With [`CollectorConfig::store`], the file is opened (or
    /// made) and read back first; a file that cannot be used is a
    /// [`StoreError`].
    pub async fn start(config: CollectorConfig) -> anyhow::Result<Collector> {
        let store = store::Store::new(&config);
        let opened = match &config.store {
            Some(path) => Some(persist::open(path, &store).await?),
            None => None,
        };
        let servers = server::Servers::start(&config, store.clone()).await?;
        // Serving: now this start is a run of the file.
        let persist = opened.map(persist::Opened::serve);
        Ok(Collector {
            store,
            servers,
            max_body_bytes: config.max_http_body_bytes,
            persist,
        })
    }

    /// This start's run: 1 without a store file, else one more than the
    /// file's last (see [`Collector::runs`]).
    pub fn run(&self) -> u32 {
        self.persist.as_ref().map_or(1, |p| p.run)
    }

    /// The runs (every start of the collector on the store file), oldest
    /// first, with the traces of each stored now: `GET /api/runs`.
    pub fn runs(&self) -> Vec<RunSummary> {
        self.store.runs()
    }

    /// Spans and log records read back from the store file at start.
    pub fn reloaded(&self) -> (usize, usize) {
        self.persist
            .as_ref()
            .map_or((0, 0), |p| (p.reloaded_spans, p.reloaded_logs))
    }

    /// Transactions of the store file that failed (a full disk...): what
    /// they held stays in memory only.
    pub fn failed_store_writes(&self) -> u64 {
        self.store.failed_store_writes()
    }

    /// The bound OTLP/gRPC address (with the real port when 0 was asked).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.servers.grpc_addr
    }

    /// The bound OTLP/HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.servers.http_addr
    }

    /// The bound web view address, if the web view is on.
    pub fn ui_addr(&self) -> Option<SocketAddr> {
        self.servers.ui_addr
    }

    /// Endpoint for a gRPC exporter, e.g. `http://127.0.0.1:4317`
    /// (`https://` with TLS on).
    pub fn grpc_endpoint(&self) -> String {
        server::url(self.scheme(), self.servers.grpc_addr)
    }

    /// Base URL for an HTTP exporter, without a path, e.g.
    /// `http://127.0.0.1:4318` (`https://` with TLS on).
    pub fn http_endpoint(&self) -> String {
        server::url(self.scheme(), self.servers.http_addr)
    }

    /// The web view's URL, e.g. `http://127.0.0.1:16686/`, if it is on.
    pub fn ui_url(&self) -> Option<String> {
        self.servers
            .ui_addr
            .map(|addr| format!("{}/", server::url("http", addr)))
    }

    /// Connections all listeners together may hold: the file descriptor
    /// limit less a reserve, at most [`ConnectionLimits::max_connections`].
    pub fn max_connections(&self) -> usize {
        self.servers.max_connections
    }

    /// What is wrong with the TLS certificate's dates (expired, or not valid
    /// yet), if anything: the collector serves, but clients will refuse the
    /// handshake.
    pub fn tls_warning(&self) -> Option<&str> {
        self.servers.tls_warning.as_deref()
    }

    /// Whether the OTLP receivers serve TLS.
    pub fn tls(&self) -> bool {
        self.servers.tls
    }

    fn scheme(&self) -> &'static str {
        if self.servers.tls { "https" } else { "http" }
    }

    /// All stored traces, oldest first. A trace whose log records came
    /// before any of its spans is there already, with no span yet.
    pub fn traces(&self) -> Vec<Trace> {
        self.store.traces()
    }

    /// One trace by hex id (either case).
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        self.store.trace(trace_id)
    }

    /// The summaries of all stored traces, oldest first: what the trace
    /// list of the web view shows. Kept up to date at ingest, so this never
    /// walks the spans.
    pub fn summaries(&self) -> Vec<TraceSummary> {
        self.store.summaries()
    }

    /// The summaries of the traces that match `query`, newest first: what
    /// `GET /api/traces?...` lists. Linear in the traces, and in the spans
    /// of those that pass the summary-level conditions.
    pub fn search(&self, query: &TraceQuery) -> Vec<TraceSummary> {
        self.store.search(query)
    }

    /// The calls between services seen in the stored traces (parent and
    /// child spans of different services), as `GET /api/dependencies`.
    pub fn dependencies(&self) -> Vec<Dependency> {
        self.store.dependencies()
    }

    /// The service map, as `GET /api/map`: services, databases and caches
    /// as nodes, the calls between them as edges, with counts of calls and
    /// errors and the RPC methods called.
    pub fn map(&self) -> ServiceMap {
        self.store.map()
    }

    /// One trace as an OTLP export request, its spans under the resources
    /// and scopes they came with; serialized with `serde_json` it is the
    /// OTLP/JSON that `GET /api/traces/{id}/otlp` returns and any OTLP/HTTP
    /// receiver takes back. `None` for an unknown id.
    pub fn export_otlp(&self, trace_id: &str) -> Option<ExportTraceServiceRequest> {
        self.store.export(trace_id)
    }

    /// Stores the spans of an OTLP traces export body, encoded as over
    /// `transport` (OTLP/JSON for `HttpJson`, else protobuf), gzip-compressed
    /// or not (detected from its first bytes), within the limits of an
    /// OTLP/HTTP body: what `collector --load FILE` does. Returns the ids of
    /// its traces.
    pub fn import(
        &self,
        body: &[u8],
        transport: Transport,
    ) -> Result<Vec<String>, otlp::DecodeError> {
        let gzip = body.starts_with(&[0x1f, 0x8b]);
        let inflated;
        let export = match transport {
            Transport::HttpJson => {
                ingest::Export::Traces(otlp::decode(body, transport, gzip, self.max_body_bytes)?)
            }
            Transport::Grpc | Transport::HttpProtobuf => {
                inflated = otlp::inflate(body, gzip, self.max_body_bytes)?;
                ingest::Export::TracesProtobuf(&inflated)
            }
        };
        let received = ReceivedRequest {
            transport,
            signal: Signal::Traces,
            path: "(imported)".to_owned(),
            headers: Default::default(),
            span_count: 0,
            log_record_count: 0,
        };
        ingest::ingest(&self.store, export, received).map(|stored| stored.trace_ids())
    }

    /// Stores the traces and log records of a file read from `input`: one
    /// OTLP/JSON export request (traces or logs) or JSON Lines of
    /// `TracesData`/`LogsData`, gzip-compressed or not (see
    /// [`file_format`]); what `collector --load FILE` does. Read as a
    /// stream, with no size limit but the store's. `origin` is the path the
    /// request log shows. It blocks (reading, and with `--store` waiting for
    /// the file's writer when its queue is full): call it from a blocking
    /// thread (`tokio::task::spawn_blocking`, `block_in_place`).
    pub fn load(
        &self,
        input: impl std::io::Read,
        origin: &str,
    ) -> Result<file_format::Loaded, file_format::FileError> {
        file_format::load(&self.store, input, u64::MAX, origin)
    }

    /// The largest body [`Collector::import`] and the OTLP/HTTP receiver
    /// take, before and after gzip.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// All stored spans, oldest trace first.
    pub fn spans(&self) -> Vec<Span> {
        self.store.spans()
    }

    /// What the stored traces and log records cost in memory now, about,
    /// and the budget they are kept within (`max_memory_bytes`).
    pub fn memory(&self) -> (usize, usize) {
        self.store.memory()
    }

    /// The number of stored spans.
    pub fn span_count(&self) -> usize {
        self.store.span_count()
    }

    /// The last export requests received (traces and logs), oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.store.requests()
    }

    /// The stored log records that belong to no trace (no trace id, or an
    /// invalid one), oldest first. A record with a trace id is in its
    /// trace: [`Trace::logs`].
    pub fn logs(&self) -> Vec<LogRecord> {
        self.store.logs()
    }

    /// The number of stored log records, of traces and of none.
    pub fn log_count(&self) -> usize {
        self.store.log_count()
    }

    /// Returns all spans as soon as at least `n` are stored.
    pub async fn wait_for_spans(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Span>, WaitTimeout> {
        self.store.wait_for_spans(n, timeout).await
    }

    /// Returns the first stored trace that satisfies `predicate`, as soon as
    /// there is one.
    pub async fn wait_for_trace(
        &self,
        predicate: impl Fn(&Trace) -> bool,
        timeout: Duration,
    ) -> Result<Trace, WaitTimeout> {
        self.store.wait_for_trace(predicate, timeout).await
    }

    /// Every trace once it has finished: complete and quiet for a second,
    /// or quiet for five seconds (when the printer prints it). Each feed
    /// starts with the traces already stored (not those read back from
    /// the store file at start, untouched since) and keeps its own place; its
    /// `next` returns `None` once the collector shuts down.
    ///
    /// ```no_run
    /// # async fn demo(collector: collector::Collector) {
    /// let mut finished = collector.settled_traces();
    /// while let Some(trace) = finished.next().await {
    ///     println!("{}: {} spans", trace.trace_id, trace.spans.len());
    /// }
    /// # }
    /// ```
    pub fn settled_traces(&self) -> SettledTraces {
        SettledTraces::new(&self.store, self.servers.stopped())
    }

    /// Stops accepting, lets open requests finish (at most one second),
    /// prints what is still pending when printing is on (within a fixed
    /// budget), writes what is queued for the store file and closes it,
    /// and returns: always within two seconds.
    pub async fn shutdown(self) {
        let started = tokio::time::Instant::now();
        self.servers.shutdown().await;
        if let Some(persist) = self.persist {
            let left = Duration::from_millis(1900).saturating_sub(started.elapsed());
            persist.close(left.max(Duration::from_millis(100))).await;
        }
    }
}
