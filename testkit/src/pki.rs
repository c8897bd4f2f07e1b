//! Throw-away certificates for TLS tests: a CA, a server certificate for
//! loopback signed by it, a client certificate signed by it (mutual TLS), an
//! unrelated second CA (a server nobody should trust) and a server
//! certificate for another host name (a name mismatch). All are PEM files in
//! a fresh temporary directory that is removed when the [`Pki`] is dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["127.0.0.1", "::1", "localhost"];
/// The only name the mismatched server certificate is valid for.
pub const WRONG_NAME: &str = "wrong.example";

/// A generated set of certificates and keys, as PEM files.
#[derive(Debug)]
pub struct Pki {
    dir: TempDir,
    ca_cert: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_ca_cert: PathBuf,
    wrong_name_cert: PathBuf,
    wrong_name_key: PathBuf,
    expired_cert: PathBuf,
    expired_key: PathBuf,
}

impl Pki {
    /// Generates every certificate (ECDSA P-256) and writes them out.
    pub fn generate() -> anyhow::Result<Pki> {
        let dir = TempDir::new("testkit-pki")?;
        let write = |name: &str, pem: String| -> anyhow::Result<PathBuf> {
            let path = dir.path().join(name);
            std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        };

        let ca = self_signed_ca("testkit CA")?;
        let server = leaf(&SERVER_NAMES, ExtendedKeyUsagePurpose::ServerAuth, &ca)?;
        let client = leaf(
            &["testkit-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
            &ca,
        )?;
        let other_ca = self_signed_ca("testkit other CA")?;
        let wrong_name = leaf(&[WRONG_NAME], ExtendedKeyUsagePurpose::ServerAuth, &ca)?;
        let expired = leaf_valid(
            &SERVER_NAMES,
            ExtendedKeyUsagePurpose::ServerAuth,
            &ca,
            Some((EXPIRED_FROM, EXPIRED_UNTIL)),
        )?;

        Ok(Pki {
            ca_cert: write("ca.pem", ca.pem())?,
            server_cert: write("server.pem", server.cert)?,
            server_key: write("server-key.pem", server.key)?,
            client_cert: write("client.pem", client.cert)?,
            client_key: write("client-key.pem", client.key)?,
            other_ca_cert: write("other-ca.pem", other_ca.pem())?,
            wrong_name_cert: write("wrong-name.pem", wrong_name.cert)?,
            wrong_name_key: write("wrong-name-key.pem", wrong_name.key)?,
            expired_cert: write("expired.pem", expired.cert)?,
            expired_key: write("expired-key.pem", expired.key)?,
            dir,
        })
    }

    /// The directory holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA that signed the server, client and wrong-name certificates.
    pub fn ca_cert(&self) -> &Path {
        &self.ca_cert
    }

    /// Server certificate for `127.0.0.1`, `::1` and `localhost`.
    pub fn server_cert(&self) -> &Path {
        &self.server_cert
    }

    /// The key of [`Pki::server_cert`].
    pub fn server_key(&self) -> &Path {
        &self.server_key
    }

    /// Client certificate (for mutual TLS), signed by the CA.
    pub fn client_cert(&self) -> &Path {
        &self.client_cert
    }

    /// The key of [`Pki::client_cert`].
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// A CA that signed none of these certificates.
    pub fn other_ca_cert(&self) -> &Path {
        &self.other_ca_cert
    }

    /// Server certificate for `wrong.example` only, signed by the CA.
    pub fn wrong_name_cert(&self) -> &Path {
        &self.wrong_name_cert
    }

    /// The key of [`Pki::wrong_name_cert`].
    pub fn wrong_name_key(&self) -> &Path {
        &self.wrong_name_key
    }

    /// A server certificate for loopback, signed by the CA, that was valid
    /// from [`EXPIRED_FROM`] until [`EXPIRED_UNTIL`] only.
    pub fn expired_cert(&self) -> &Path {
        &self.expired_cert
    }

    /// The key of [`Pki::expired_cert`].
    pub fn expired_key(&self) -> &Path {
        &self.expired_key
    }
}

/// A day: (year, month, day), UTC midnight.
pub type Day = (i32, u8, u8);

/// When the expired certificate became valid, and when it stopped being
/// valid.
pub const EXPIRED_FROM: Day = (2020, 1, 1);
pub const EXPIRED_UNTIL: Day = (2021, 1, 1);

/// A self-signed CA.
fn self_signed_ca(name: &str) -> anyhow::Result<CertifiedIssuer<'static, KeyPair>> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().context("generating a CA key")?;
    CertifiedIssuer::self_signed(params, key).with_context(|| format!("self-signing {name}"))
}

/// A certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> anyhow::Result<Leaf> {
    leaf_valid(names, usage, ca, None)
}

/// [`leaf`], valid between two days when given (else rcgen's default).
fn leaf_valid(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    ca: &CertifiedIssuer<'static, KeyPair>,
    valid: Option<(Day, Day)>,
) -> anyhow::Result<Leaf> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names.clone())
        .with_context(|| format!("certificate parameters for {names:?}"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    if let Some(((y1, m1, d1), (y2, m2, d2))) = valid {
        params.not_before = rcgen::date_time_ymd(y1, m1, d1);
        params.not_after = rcgen::date_time_ymd(y2, m2, d2);
    }
    let key = KeyPair::generate().context("generating a key")?;
    let cert = params
        .signed_by(&key, ca)
        .with_context(|| format!("signing the certificate for {names:?}"))?;
    Ok(Leaf {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A directory of its own under the system's temporary directory, removed
/// with everything in it on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> anyhow::Result<TempDir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
