//! TLS for the two OTLP receivers: the certificate, key and optional client
//! CA named by `--tls-cert`, `--tls-key` and `--tls-client-ca`, loaded once
//! with errors that name the file and what is wrong with it, and the TLS
//! listener the OTLP/HTTP receiver is served on. The gRPC receiver gets the
//! same files through tonic's own TLS support. Everything uses rustls with
//! the ring provider.
//!
//! The listener accepts TCP connections in one task and runs each handshake
//! in a task of its own, under a time limit, so a slow or silent client
//! cannot hold up the others; finished handshakes reach `accept` through a
//! bounded channel. A failed handshake only closes that connection.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the kernel's
/// backlog until one finishes or times out.
const MAX_PENDING_HANDSHAKES: usize = 256;
/// Finished handshakes waiting for the HTTP server to take them.
const ACCEPTED_QUEUE: usize = 64;

/// Serve the OTLP receivers over TLS with these PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server's certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by one of the
    /// CAs in this file (PEM): mutual TLS.
    pub client_ca: Option<PathBuf>,
}

impl TlsConfig {
    /// TLS with this certificate chain and key, no client certificates.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
        }
    }

    /// Requires client certificates signed by a CA in `ca` (mutual TLS).
    pub fn with_client_ca(self, ca: impl Into<PathBuf>) -> Self {
        TlsConfig {
            client_ca: Some(ca.into()),
            ..self
        }
    }

    /// Reads and checks every file: each holds what it should, and the key
    /// belongs to the certificate.
    pub(crate) fn load(&self) -> anyhow::Result<LoadedTls> {
        let cert_pem = read(&self.cert, "TLS certificate (--tls-cert)")?;
        let key_pem = read(&self.key, "TLS private key (--tls-key)")?;
        let certs = certificates(&cert_pem, &self.cert, "--tls-cert")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => anyhow!(
                "no private key in {} (--tls-key; expected a PEM block such as -----BEGIN PRIVATE KEY-----)",
                self.key.display()
            ),
            e => anyhow!("cannot parse the private key in {}: {e}", self.key.display()),
        })?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client_ca_pem = match &self.client_ca {
            Some(path) => Some((path, read(path, "client CA (--tls-client-ca)")?)),
            None => None,
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS: the ring provider supports no safe protocol version")?;
        let builder = match &client_ca_pem {
            None => builder.with_no_client_auth(),
            Some((path, pem)) => {
                builder.with_client_cert_verifier(client_verifier(pem, path, provider.clone())?)
            }
        };
        let mut http = builder
            .with_single_cert(certs, key)
            .map_err(|e| self.key_error(e))?;
        // axum serves both; a client picks.
        http.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];

        let mut grpc = tonic::transport::ServerTlsConfig::new()
            .identity(tonic::transport::Identity::from_pem(&cert_pem, &key_pem))
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some((_, pem)) = client_ca_pem {
            grpc = grpc.client_ca_root(tonic::transport::Certificate::from_pem(pem));
        }
        Ok(LoadedTls {
            http: Arc::new(http),
            grpc,
        })
    }

    fn key_error(&self, e: rustls::Error) -> anyhow::Error {
        match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => anyhow!(
                "the private key in {} does not match the certificate in {}",
                self.key.display(),
                self.cert.display()
            ),
            rustls::Error::InvalidCertificate(e) => {
                anyhow!(
                    "the certificate in {} is not usable: {e}",
                    self.cert.display()
                )
            }
            e => anyhow!(
                "the private key in {} is not usable with the certificate in {}: {e}",
                self.key.display(),
                self.cert.display()
            ),
        }
    }
}

/// The TLS settings of both receivers, checked.
#[derive(Debug)]
pub(crate) struct LoadedTls {
    pub(crate) http: Arc<ServerConfig>,
    pub(crate) grpc: tonic::transport::ServerTlsConfig,
}

fn read(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| anyhow!("cannot read the {what} {}: {e}", path.display()))
}

/// Every certificate in a PEM file; at least one.
fn certificates(
    pem: &[u8],
    path: &Path,
    flag: &str,
) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("cannot parse the certificates in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(anyhow!(
            "no certificate in {} ({flag}; expected a PEM block -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

/// Accepts only client certificates signed by a CA in `pem`.
fn client_verifier(
    pem: &[u8],
    path: &Path,
    provider: Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn rustls::server::danger::ClientCertVerifier>> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem, path, "--tls-client-ca")? {
        roots.add(cert).map_err(|e| {
            anyhow!(
                "a certificate in {} is not a usable CA: {e}",
                path.display()
            )
        })?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| anyhow!("cannot verify clients against {}: {e}", path.display()))
}

/// A listener for `axum::serve` that hands out TLS streams whose handshake
/// has completed.
#[derive(Debug)]
pub(crate) struct TlsListener {
    local_addr: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener` (within a tokio runtime).
    pub(crate) fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener {
            local_addr,
            accepted,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    /// Closes the listening socket and every handshake in progress.
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    accepted: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Dropped (and so aborted) with this task.
    let mut handshakes = JoinSet::new();
    loop {
        if handshakes.len() >= MAX_PENDING_HANDSHAKES {
            handshakes.join_next().await;
            continue;
        }
        tokio::select! {
            connection = listener.accept() => {
                let (stream, peer) = match connection {
                    Ok(connection) => connection,
                    Err(e) => {
                        accept_error(e).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let accepted = accepted.clone();
                handshakes.spawn(async move {
                    // A timeout or a failed handshake drops the connection.
                    if let Ok(Ok(tls)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = accepted.send((tls, peer)).await;
                    }
                });
            }
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => {}
        }
    }
}

/// As axum's own listener does: a connection that failed before it was
/// accepted is skipped; anything else (out of file descriptors) waits a
/// moment before accepting again.
async fn accept_error(e: io::Error) {
    let per_connection = matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !per_connection {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
