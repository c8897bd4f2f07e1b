//! Server lifecycle: binding the three listeners, serving each in a task of
//! its own, and shutting them down within a fixed time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::CollectorConfig;
use crate::store::Store;
use crate::tls::{self, TlsConfig};
use crate::{grpc, http, print, ui};

/// How long `shutdown` lets open requests finish before cutting them.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The running listeners (and the printer), and how to stop them.
#[derive(Debug)]
pub(crate) struct Servers {
    pub(crate) grpc_addr: SocketAddr,
    pub(crate) http_addr: SocketAddr,
    pub(crate) ui_addr: Option<SocketAddr>,
    pub(crate) tls: bool,
    stop: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
    printer: Option<JoinHandle<()>>,
}

impl Servers {
    pub(crate) async fn start(config: &CollectorConfig, store: Store) -> anyhow::Result<Servers> {
        let tls = config.tls.as_ref().map(TlsConfig::load).transpose()?;
        let grpc_listener = bind(config.grpc_addr, "OTLP/gRPC", "--grpc").await?;
        let http_listener = bind(config.http_addr, "OTLP/HTTP", "--http").await?;
        let ui_listener = match config.ui_addr {
            Some(addr) => Some(bind(addr, "the web view", "--ui").await?),
            None => None,
        };
        let grpc_addr = local_addr(&grpc_listener, "OTLP/gRPC")?;
        let http_addr = local_addr(&http_listener, "OTLP/HTTP")?;
        let ui_addr = ui_listener
            .as_ref()
            .map(|l| local_addr(l, "the web view"))
            .transpose()?;

        let (stop, stopped) = watch::channel(false);
        let stop_signal = |mut rx: watch::Receiver<bool>| async move {
            // An error means the sender is gone: stop as well.
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let grpc_service = grpc::TraceServer::new(store.clone(), config.max_grpc_message_bytes);
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

        let router = http::router(store.clone(), config.max_http_body_bytes);
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

        let mut listeners = vec![grpc_task, http_task];
        if let (Some(ui_listener), Some(addr)) = (ui_listener, ui_addr) {
            let router = ui::router(store.clone());
            let ui_stop = stop_signal(stopped.clone());
            listeners.push(tokio::spawn(async move {
                let served = axum::serve(ui_listener, router)
                    .with_graceful_shutdown(ui_stop)
                    .await;
                if let Err(e) = served {
                    eprintln!("collector: web view on {addr} stopped: {e}");
                }
            }));
        }
        let printer = config
            .print_traces
            .then(|| tokio::spawn(print::run(store, stopped)));
        Ok(Servers {
            grpc_addr,
            http_addr,
            ui_addr,
            tls: config.tls.is_some(),
            stop,
            listeners,
            printer,
        })
    }

    /// Stops accepting, gives open requests [`SHUTDOWN_GRACE`], then lets
    /// the printer finish (it has a budget of its own).
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in std::mem::take(&mut self.listeners) {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
        if let Some(printer) = self.printer.take() {
            let _ = tokio::time::timeout(print::SHUTDOWN_BUDGET * 2, printer).await;
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        for task in self.listeners.iter().chain(&self.printer) {
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

fn local_addr(listener: &TcpListener, what: &str) -> anyhow::Result<SocketAddr> {
    listener
        .local_addr()
        .with_context(|| format!("reading the {what} listen address"))
}

/// The OTLP/HTTP receiver's socket: plain TCP, or TLS on top of it.
enum HttpListener {
    Plain(TcpListener),
    Tls(tls::TlsListener),
}

/// `scheme://` URL for a bound address; a wildcard bind is reached via loopback.
pub(crate) fn url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}
