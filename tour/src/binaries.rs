//! The example binaries: built with cargo (same profile as the tour) and
//! found next to the tour's own executable, in `target/<profile>/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// The packages whose binaries the tour runs.
const PACKAGES: &[&str] = &[
    "examples-inprocess-http",
    "examples-inprocess-grpc",
    "examples-http",
    "examples-otlp",
];

/// Paths of every binary the tour runs.
#[derive(Debug)]
pub(crate) struct Binaries {
    pub(crate) inprocess_http: PathBuf,
    pub(crate) inprocess_grpc: PathBuf,
    pub(crate) server: PathBuf,
    pub(crate) client: PathBuf,
    pub(crate) otlp_grpc: PathBuf,
    pub(crate) otlp_http: PathBuf,
}

/// `cargo build --bins -p ...` for the example packages, quietly; on
/// failure, cargo's own output goes into the error.
pub(crate) fn build() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The workspace this tour was compiled from.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--quiet", "--bins", "--manifest-path"])
        .arg(&manifest);
    for package in PACKAGES {
        command.args(["-p", package]);
    }
    if cfg!(not(debug_assertions)) {
        command.arg("--release");
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {command:?}: is cargo installed?"))?;
    if !output.status.success() {
        bail!(
            "building the examples failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

impl Binaries {
    /// The binaries in the directory of the tour's own executable.
    pub(crate) fn locate() -> anyhow::Result<Binaries> {
        let tour = std::env::current_exe().context("cannot locate the tour's executable")?;
        let dir = tour
            .parent()
            .context("the tour's executable has no directory")?;
        let find = |name: &str| -> anyhow::Result<PathBuf> {
            let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            if !path.is_file() {
                bail!(
                    "{} is missing: run the tour without --no-build, or build the examples \
                     first (cargo build --bins -p {})",
                    path.display(),
                    PACKAGES.join(" -p ")
                );
            }
            Ok(path)
        };
        Ok(Binaries {
            inprocess_http: find("examples-inprocess-http")?,
            inprocess_grpc: find("examples-inprocess-grpc")?,
            server: find("server")?,
            client: find("client")?,
            otlp_grpc: find("grpc")?,
            otlp_http: find("http")?,
        })
    }
}
