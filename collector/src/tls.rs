//! TLS for the two OTLP receivers: the certificate, key and optional client
//! CA named by `--tls-cert`, `--tls-key` and `--tls-client-ca`, loaded once
//! with errors that name the file and what is wrong with it, into the
//! rustls configuration each receiver's connections are served with (the
//! handshake itself runs in each connection's task, see `serve`).
//! Everything uses rustls with the ring provider.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};

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
        // The OTLP/gRPC receiver speaks HTTP/2 alone; OTLP/HTTP serves both
        // versions, and a client picks.
        let mut grpc = http.clone();
        grpc.alpn_protocols = vec![b"h2".to_vec()];
        http.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(LoadedTls {
            http: Arc::new(http),
            grpc: Arc::new(grpc),
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
    pub(crate) grpc: Arc<ServerConfig>,
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
