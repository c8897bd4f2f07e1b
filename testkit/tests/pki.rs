//! The generated certificates do what their names say, checked with real
//! rustls handshakes over an in-memory pipe.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use testkit::Pki;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .expect("a PEM file")
        .collect::<Result<_, _>>()
        .expect("certificates")
}

fn key(path: &Path) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(path).expect("a private key")
}

fn roots(ca: &Path) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in certs(ca) {
        roots.add(cert).expect("a usable CA");
    }
    Arc::new(roots)
}

/// The server and the client side of a TLS handshake.
struct Handshake<'a> {
    server_cert: &'a Path,
    server_key: &'a Path,
    /// Require client certificates signed by this CA.
    client_ca: Option<&'a Path>,
    /// What the client trusts.
    trusted_ca: &'a Path,
    name: &'a str,
    /// The client's certificate and key.
    client: Option<(&'a Path, &'a Path)>,
}

impl Handshake<'_> {
    /// Both sides finished without an error, or what each side said.
    async fn run(&self) -> Result<(), String> {
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let server = match self.client_ca {
            Some(ca) => server.with_client_cert_verifier(
                WebPkiClientVerifier::builder_with_provider(roots(ca), provider())
                    .build()
                    .expect("a client verifier"),
            ),
            None => server.with_no_client_auth(),
        }
        .with_single_cert(certs(self.server_cert), key(self.server_key))
        .expect("the server certificate and its key");

        let client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots(self.trusted_ca));
        let client = match self.client {
            Some((cert, key_path)) => client
                .with_client_auth_cert(certs(cert), key(key_path))
                .expect("the client certificate and its key"),
            None => client.with_no_client_auth(),
        };

        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let name = ServerName::try_from(self.name.to_owned()).expect("a server name");
        // One message each way: with TLS 1.3 the client only learns after
        // its handshake whether the server accepted its certificate.
        let accept = async {
            let mut tls = TlsAcceptor::from(Arc::new(server))
                .accept(server_io)
                .await
                .map_err(|e| format!("server: {e}"))?;
            let mut ping = [0u8; 4];
            tls.read_exact(&mut ping)
                .await
                .map_err(|e| format!("server: {e}"))?;
            tls.write_all(b"pong")
                .await
                .map_err(|e| format!("server: {e}"))?;
            tls.shutdown().await.map_err(|e| format!("server: {e}"))
        };
        let connect = async {
            let mut tls = TlsConnector::from(Arc::new(client))
                .connect(name, client_io)
                .await
                .map_err(|e| format!("client: {e}"))?;
            tls.write_all(b"ping")
                .await
                .map_err(|e| format!("client: {e}"))?;
            let mut pong = [0u8; 4];
            tls.read_exact(&mut pong)
                .await
                .map_err(|e| format!("client: {e}"))?;
            Ok::<_, String>(())
        };
        let (accepted, connected) = tokio::join!(accept, connect);
        match (accepted, connected) {
            (Ok(()), Ok(())) => Ok(()),
            (accepted, connected) => Err(format!("{accepted:?} / {connected:?}")),
        }
    }
}

#[tokio::test]
async fn certificates_verify_as_their_names_say() {
    let pki = Pki::generate().expect("generating certificates");
    let server = |name| Handshake {
        server_cert: pki.server_cert(),
        server_key: pki.server_key(),
        client_ca: None,
        trusted_ca: pki.ca_cert(),
        name,
        client: None,
    };
    for name in ["127.0.0.1", "::1", "localhost"] {
        server(name)
            .run()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    let untrusted = Handshake {
        trusted_ca: pki.other_ca_cert(),
        ..server("localhost")
    };
    let error = untrusted.run().await.expect_err("the other CA was trusted");
    assert!(error.contains("UnknownIssuer"), "{error}");

    let wrong_name = Handshake {
        server_cert: pki.wrong_name_cert(),
        server_key: pki.wrong_name_key(),
        ..server("localhost")
    };
    let error = wrong_name
        .run()
        .await
        .expect_err("wrong.example passed as localhost");
    assert!(error.contains("not valid for name"), "{error}");
    Handshake {
        name: "wrong.example",
        ..wrong_name
    }
    .run()
    .await
    .expect("wrong.example for its own name");

    let mutual = Handshake {
        client_ca: Some(pki.ca_cert()),
        client: Some((pki.client_cert(), pki.client_key())),
        ..server("localhost")
    };
    mutual.run().await.expect("the client certificate");
    let anonymous = Handshake {
        client: None,
        ..mutual
    };
    let error = anonymous
        .run()
        .await
        .expect_err("no client certificate passed");
    assert!(
        error.contains("server: peer sent no certificates"),
        "{error}"
    );

    let dir = pki.dir().to_owned();
    assert!(dir.is_dir());
    drop(pki);
    assert!(!dir.exists(), "{} left behind", dir.display());
}
