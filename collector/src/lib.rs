//! An embedded OTLP trace backend: the local stand-in for Jaeger all-in-one.
//!
//! It receives spans over OTLP/gRPC (`TraceService/Export`) and OTLP/HTTP
//! (POST on any path, protobuf or JSON, optionally gzip), keeps the last
//! traces in memory, can print each finished trace as a tree, and serves a
//! web view of the traces (a list, and a waterfall per trace) with the JSON
//! API behind it. Tests start it on free ports and wait for spans:
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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod expect;
mod grpc;
mod http;
mod model;
mod print;
mod store;
pub mod testing;
mod tls;
mod ui;

pub use model::{Event, ReceivedRequest, Span, Trace, Transport};
pub use print::render as render_trace;
pub use store::{Store, WaitTimeout};
pub use tls::TlsConfig;

/// Where Jaeger and the OpenTelemetry Collector listen for OTLP/gRPC.
pub const DEFAULT_GRPC_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);
/// Where Jaeger and the OpenTelemetry Collector listen for OTLP/HTTP.
pub const DEFAULT_HTTP_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4318);
/// Where Jaeger serves its UI; the collector's web view listens there too.
pub const DEFAULT_UI_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 16686);
/// The gRPC path of the one method the collector serves.
pub const GRPC_EXPORT_PATH: &str = grpc::EXPORT_PATH;

/// How long `shutdown` lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// What to listen on and how much to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorConfig {
    /// OTLP/gRPC listen address; port 0 picks a free port.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address; port 0 picks a free port.
    pub http_addr: SocketAddr,
    /// Traces kept in memory; the oldest is evicted first.
    pub max_traces: usize,
    /// Requests kept in the request log ([`Collector::requests`]).
    pub max_requests: usize,
    /// Largest accepted message, for HTTP bodies (before and after gzip) and
    /// gRPC messages alike. Larger ones get 413 / RESOURCE_EXHAUSTED.
    pub max_body_bytes: usize,
    /// Print each finished trace to stdout as a tree.
    pub print_traces: bool,
    /// Web view and JSON API listen address (port 0 picks a free port);
    /// `None` serves no web view.
    pub ui_addr: Option<SocketAddr>,
    /// Serve both OTLP receivers over TLS (the web view stays plain HTTP);
    /// `None` serves plain HTTP/2 and HTTP.
    pub tls: Option<TlsConfig>,
}

impl CollectorConfig {
    /// Loopback, free ports for both receivers and the web view, printing
    /// off: for tests.
    pub fn ephemeral() -> Self {
        CollectorConfig {
            grpc_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            http_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            ui_addr: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)),
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
            max_traces: 1000,
            max_requests: 1000,
            max_body_bytes: 4 * 1024 * 1024,
            print_traces: true,
            ui_addr: Some(DEFAULT_UI_ADDR),
            tls: None,
        }
    }
}

/// A running collector. Dropping it stops the servers abruptly; prefer
/// [`Collector::shutdown`].
#[derive(Debug)]
pub struct Collector {
    store: Store,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    ui_addr: Option<SocketAddr>,
    tls: bool,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Collector {
    /// Binds both receivers and the web view, and serves them on the
    /// current tokio runtime. With TLS on, the certificate and key files are
    /// read and checked first; a problem with them is an error that names
    /// the file.
    pub async fn start(config: CollectorConfig) -> anyhow::Result<Collector> {
        let tls = config.tls.as_ref().map(TlsConfig::load).transpose()?;
        let grpc_listener = bind(config.grpc_addr, "OTLP/gRPC", "--grpc").await?;
        let http_listener = bind(config.http_addr, "OTLP/HTTP", "--http").await?;
        let ui_listener = match config.ui_addr {
            Some(addr) => Some(bind(addr, "the web view", "--ui").await?),
            None => None,
        };
        let grpc_addr = grpc_listener
            .local_addr()
            .context("reading the OTLP/gRPC listen address")?;
        let http_addr = http_listener
            .local_addr()
            .context("reading the OTLP/HTTP listen address")?;

        let store = Store::new(config.max_traces, config.max_requests);
        let (stop, stopped) = watch::channel(false);
        let stop_signal = |mut rx: watch::Receiver<bool>| async move {
            // An error means the sender is gone: stop as well.
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let grpc_service = grpc::TraceServer::new(store.clone(), config.max_body_bytes);
        let grpc_stop = stop_signal(stopped.clone());
        let mut grpc_server = tonic::transport::Server::builder();
        let mut http_tls = None;
        if let Some(tls) = tls {
            grpc_server = grpc_server
                .tls_config(tls.grpc)
                .context("configuring TLS for OTLP/gRPC")?;
            http_tls = Some(tls.http);
        }
        let grpc_task = tokio::spawn(async move {
            // With TLS configured, tonic runs the handshakes on this incoming
            // stream too (each in a task of its own, under the timeout).
            let served = grpc_server
                .serve_with_incoming_shutdown(
                    grpc_service,
                    tonic::transport::server::TcpIncoming::from(grpc_listener),
                    grpc_stop,
                )
                .await;
            if let Err(e) = served {
                eprintln!("collector: OTLP/gRPC receiver on {grpc_addr} stopped: {e}");
            }
        });

        let router = http::router(store.clone(), config.max_body_bytes);
        let http_stop = stop_signal(stopped.clone());
        let http_listener = match http_tls {
            Some(config) => HttpListener::Tls(
                tls::TlsListener::new(http_listener, config)
                    .context("reading the OTLP/HTTP listen address")?,
            ),
            None => HttpListener::Plain(http_listener),
        };
        let http_task = tokio::spawn(async move {
            let served = match http_listener {
                HttpListener::Plain(listener) => {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(http_stop)
                        .await
                }
                HttpListener::Tls(listener) => {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(http_stop)
                        .await
                }
            };
            if let Err(e) = served {
                eprintln!("collector: OTLP/HTTP receiver on {http_addr} stopped: {e}");
            }
        });

        let mut tasks = vec![grpc_task, http_task];
        let mut ui_addr = None;
        if let Some(ui_listener) = ui_listener {
            let addr = ui_listener
                .local_addr()
                .context("reading the web view's listen address")?;
            ui_addr = Some(addr);
            let router = ui::router(store.clone());
            let ui_stop = stop_signal(stopped.clone());
            tasks.push(tokio::spawn(async move {
                let served = axum::serve(ui_listener, router)
                    .with_graceful_shutdown(ui_stop)
                    .await;
                if let Err(e) = served {
                    eprintln!("collector: web view on {addr} stopped: {e}");
                }
            }));
        }
        if config.print_traces {
            tasks.push(tokio::spawn(print::run(store.clone(), stopped)));
        }
        Ok(Collector {
            store,
            grpc_addr,
            http_addr,
            ui_addr,
            tls: config.tls.is_some(),
            stop,
            tasks,
        })
    }

    /// The bound OTLP/gRPC address (with the real port when 0 was asked).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound OTLP/HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Endpoint for a gRPC exporter, e.g. `http://127.0.0.1:4317`
    /// (`https://` with TLS on).
    pub fn grpc_endpoint(&self) -> String {
        endpoint(self.scheme(), self.grpc_addr)
    }

    /// Base URL for an HTTP exporter, without a path, e.g.
    /// `http://127.0.0.1:4318` (`https://` with TLS on).
    pub fn http_endpoint(&self) -> String {
        endpoint(self.scheme(), self.http_addr)
    }

    /// Whether the OTLP receivers serve TLS.
    pub fn tls(&self) -> bool {
        self.tls
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    /// The bound web view address, if the web view is on.
    pub fn ui_addr(&self) -> Option<SocketAddr> {
        self.ui_addr
    }

    /// The web view's URL, e.g. `http://127.0.0.1:16686/`, if it is on.
    pub fn ui_url(&self) -> Option<String> {
        self.ui_addr
            .map(|addr| format!("{}/", endpoint("http", addr)))
    }

    /// A handle to the stored data that outlives borrowing the collector.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// All stored traces, oldest first.
    pub fn traces(&self) -> Vec<Trace> {
        self.store.traces()
    }

    /// One trace by hex id.
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        self.store.trace(trace_id)
    }

    /// All stored spans.
    pub fn spans(&self) -> Vec<Span> {
        self.store.spans()
    }

    /// The last export requests received, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.store.requests()
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

    /// Stops accepting, lets open requests finish (at most ~2 s), prints
    /// traces still pending when printing is on, and returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn bind(addr: SocketAddr, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                " (is another collector or Jaeger running? pick another address with {flag} 127.0.0.1:PORT)"
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("cannot listen for {what} on {addr}: {e}{hint}")
    })
}

/// The OTLP/HTTP receiver's socket: plain TCP, or TLS on top of it.
enum HttpListener {
    Plain(TcpListener),
    Tls(tls::TlsListener),
}

/// `scheme://` URL for a bound address; a wildcard bind is reached via loopback.
fn endpoint(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}
