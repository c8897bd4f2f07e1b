//! TLS for the two OTLP receivers: the certificate, key and optional client
//! CA named by `--tls-cert`, `--tls-key` and `--tls-client-ca`, loaded once
//! with errors that name the file and what is wrong with it, into the
//! rustls configuration each receiver's connections are served with (the
//! handshake itself runs in each connection's task, see `serve`).
//! Everything uses rustls with the ring provider. A certificate that has
//! expired (or is not valid yet) still loads, so that the collector runs,
//! but says so at start: every client would refuse the handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use time::{Date, Month, OffsetDateTime};

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
        let warning = certs
            .first()
            .and_then(|leaf| validity(leaf))
            .and_then(|valid| out_of_date(valid, now_unix(), &self.cert));
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
            warning,
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
    /// What is wrong with the certificate's dates, if anything.
    pub(crate) warning: Option<String>,
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The warning for a certificate valid from `not_before` to `not_after`
/// (Unix seconds) at `now`; `None` while it is valid.
fn out_of_date((not_before, not_after): (i64, i64), now: i64, path: &Path) -> Option<String> {
    if now > not_after {
        Some(format!(
            "the certificate in {} (--tls-cert) expired on {}: every client will refuse the TLS \
             handshake; renew it (or check this machine's clock)",
            path.display(),
            day(not_after)
        ))
    } else if now < not_before {
        Some(format!(
            "the certificate in {} (--tls-cert) is not valid until {}: every client will refuse \
             the TLS handshake until then; check this machine's clock, or issue one valid now",
            path.display(),
            day(not_before)
        ))
    } else {
        None
    }
}

/// `YYYY-MM-DD` (UTC) of Unix seconds.
fn day(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(at) => at.date().to_string(),
        Err(_) => format!("{unix} s after 1970"),
    }
}

/// Unix seconds of a civil date and time (UTC); `None` for a date that
/// does not exist.
fn unix(y: i64, m: i64, d: i64, hh: i64, mm: i64, ss: i64) -> Option<i64> {
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?);
    let at = date.ok()?.with_hms(
        u8::try_from(hh).ok()?,
        u8::try_from(mm).ok()?,
        u8::try_from(ss).ok()?,
    );
    Some(at.ok()?.assume_utc().unix_timestamp())
}

/// The DER element at the start of `der`: its tag, its content, and what
/// follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        let len = bytes
            .iter()
            .fold(0usize, |len, b| len << 8 | usize::from(*b));
        (len, rest)
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((tag, content, rest))
}

/// A certificate's validity (`notBefore`, `notAfter`) as Unix seconds, read
/// from its DER (RFC 5280: `Certificate` > `tbsCertificate` > `validity`);
/// `None` if it cannot be read (rustls then judges the certificate).
fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, cert, _) = element(cert)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(cert)? else {
        return None;
    };
    // The version ([0], optional), serial number, signature algorithm and
    // issuer come first.
    let (tag, _, after) = element(tbs)?;
    let mut rest = if tag == 0xa0 { after } else { tbs };
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (tag, not_before, rest) = element(validity)?;
    let not_before = x509_time(tag, not_before)?;
    let (tag, not_after, _) = element(rest)?;
    Some((not_before, x509_time(tag, not_after)?))
}

/// An X.509 time: `UTCTime` (`YYMMDDHHMMSSZ`, years 1950-2049) or
/// `GeneralizedTime` (`YYYYMMDDHHMMSSZ`), as Unix seconds.
fn x509_time(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, rest) = match (tag, text.len()) {
        (0x17, 12) => {
            let yy = number(0..2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        (0x18, 14) => (number(0..4)?, 4),
        _ => return None,
    };
    let at = |i: usize| number(rest + i..rest + i + 2);
    unix(year, at(0)?, at(2)?, at(4)?, at(6)?, at(8)?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_go_both_ways() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2021, 1, 1),
            (2049, 12, 31),
            (2100, 3, 1),
        ] {
            let seconds = unix(y, m, d, 0, 0, 0).unwrap();
            assert_eq!(day(seconds), format!("{y:04}-{m:02}-{d:02}"));
        }
        assert_eq!(unix(1970, 1, 2, 0, 0, 1), Some(86_401));
        assert_eq!(unix(2021, 2, 29, 0, 0, 0), None, "no such day");
        assert_eq!(x509_time(0x17, b"210101000000Z"), unix(2021, 1, 1, 0, 0, 0));
        assert_eq!(
            x509_time(0x18, b"19991231235959Z"),
            unix(1999, 12, 31, 23, 59, 59)
        );
        assert_eq!(x509_time(0x17, b"2101010000Z"), None, "too short");
        assert_eq!(x509_time(0x04, b"210101000000Z"), None, "not a time");
    }

    #[test]
    fn the_validity_is_read_from_a_real_certificate() {
        let pki = testkit::Pki::generate().expect("certificates");
        let pem = std::fs::read(pki.expired_cert()).expect("the certificate");
        let cert = CertificateDer::from_pem_slice(&pem).expect("a certificate");
        let (from, until) = validity(&cert).expect("its validity");
        assert_eq!(
            (day(from), day(until)),
            ("2020-01-01".into(), "2021-01-01".into())
        );
        let path = Path::new("cert.pem");
        assert!(out_of_date((from, until), unix(2020, 6, 1, 0, 0, 0).unwrap(), path).is_none());
        let early =
            out_of_date((from, until), unix(2019, 6, 1, 0, 0, 0).unwrap(), path).expect("early");
        assert!(early.contains("not valid until 2020-01-01"), "{early}");
        // A valid one reads as valid today; garbage reads as nothing.
        let pem = std::fs::read(pki.server_cert()).expect("the certificate");
        let cert = CertificateDer::from_pem_slice(&pem).expect("a certificate");
        let valid = validity(&cert).expect("its validity");
        assert!(out_of_date(valid, now_unix(), path).is_none());
        assert_eq!(validity(&cert[..cert.len() / 2]), None);
        assert_eq!(validity(b"\x30\x84\xff\xff\xff\xff"), None);
    }
}
