//! Server lifecycle: binding the three listeners, serving each in a task of
//! its own (the accept loop and the connection limits are in `serve`, the
//! `Host` check in `host`), and shutting them down within a fixed time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::CollectorConfig;
use crate::host::AllowedHosts;
use crate::serve::{self, App, Budget, SHUTDOWN_GRACE};
use crate::store::Store;
use crate::tls::TlsConfig;
use crate::{fds, grpc, http, print, ui};

/// The printer's closing line may come this long after its budget.
const PRINTER_SLACK: Duration = Duration::from_millis(100);

/// The running listeners (and the printer), and how to stop them.
#[derive(Debug)]
pub(crate) struct Servers {
    pub(crate) grpc_addr: SocketAddr,
    pub(crate) http_addr: SocketAddr,
    pub(crate) ui_addr: Option<SocketAddr>,
    pub(crate) tls: bool,
    /// Connections all listeners together may hold.
    pub(crate) max_connections: usize,
    /// What is wrong with the TLS certificate's dates, if anything.
    pub(crate) tls_warning: Option<String>,
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
        let (http_tls, grpc_tls, tls_warning) = match tls {
            Some(tls) => (Some(tls.http), Some(tls.grpc), tls.warning),
            None => (None, None, None),
        };
        let hosts = AllowedHosts::new(&config.allowed_hosts);
        let limits = config.limits;
        let budget = Budget::new(fds::connection_budget(
            limits.max_connections,
            fds::open_files(),
        ));

        let grpc = App::Grpc(grpc::GrpcServer::new(
            store.clone(),
            config.max_grpc_message_bytes,
        ));
        let http = App::Http {
            router: http::router(store.clone(), config.max_http_body_bytes),
            hosts: hosts.clone(),
        };
        let mut listeners = vec![
            tokio::spawn(serve::run(
                grpc_listener,
                grpc,
                grpc_tls,
                limits,
                budget.clone(),
                stopped.clone(),
            )),
            tokio::spawn(serve::run(
                http_listener,
                http,
                http_tls,
                limits,
                budget.clone(),
                stopped.clone(),
            )),
        ];
        if let Some(ui_listener) = ui_listener {
            let ui = App::Http {
                router: ui::router(
                    store.clone(),
                    stopped.clone(),
                    config.max_upload_bytes,
                    config.stream_stall,
                ),
                hosts,
            };
            listeners.push(tokio::spawn(serve::run(
                ui_listener,
                ui,
                None,
                limits,
                budget.clone(),
                stopped.clone(),
            )));
        }
        let printer = config
            .print_traces
            .then(|| tokio::spawn(print::run(store, stopped)));
        Ok(Servers {
            grpc_addr,
            http_addr,
            ui_addr,
            tls: config.tls.is_some(),
            tls_warning,
            max_connections: budget.size(),
            stop,
            listeners,
            printer,
        })
    }

    /// Turns true when [`Servers::shutdown`] begins.
    pub(crate) fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops accepting and gives open requests [`SHUTDOWN_GRACE`]; the
    /// printer finishes meanwhile (within a budget of its own, never waiting
    /// for a stdout nobody reads).
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let stopped = tokio::time::Instant::now();
        for mut task in std::mem::take(&mut self.listeners) {
            if tokio::time::timeout_at(stopped + SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        if let Some(mut printer) = self.printer.take() {
            let deadline = stopped + print::SHUTDOWN_BUDGET + PRINTER_SLACK;
            if tokio::time::timeout_at(deadline, &mut printer)
                .await
                .is_err()
            {
                printer.abort();
            }
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

/// `scheme://` URL for a bound address; a wildcard bind is reached via loopback.
pub(crate) fn url(scheme: &str, addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("{scheme}://{}", SocketAddr::new(ip, addr.port()))
}
