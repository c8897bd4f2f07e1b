//! The example binaries: built with cargo (same profile as the tour), its
//! progress on the terminal, and found next to the tour's own executable,
//! in `target/<profile>/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::examples::{EXAMPLES, Program, SERVERS};

/// Every program the tour runs.
fn programs() -> impl Iterator<Item = Program> {
    EXAMPLES
        .iter()
        .map(|e| e.program)
        .chain(SERVERS.iter().map(|server| server.program))
}

/// The packages of those programs, each once, in the table's order.
fn packages() -> Vec<&'static str> {
    let mut packages: Vec<&str> = Vec::new();
    for program in programs() {
        if !packages.contains(&program.package) {
            packages.push(program.package);
        }
    }
    packages
}

/// `cargo build --bins -p ...` for the example packages. Cargo's progress
/// and errors go straight to the terminal (stderr): a cold build takes a
/// while, and the user sees it advance. Blocking: call it off the runtime.
pub(crate) fn build() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The workspace this tour was compiled from.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--bins", "--manifest-path"])
        .arg(&manifest);
    for package in packages() {
        command.args(["-p", package]);
    }
    if cfg!(not(debug_assertions)) {
        command.arg("--release");
    }
    // `cargo run -p tour` describes the tour's package in these; a build
    // that saw them would differ from the user's own `cargo run -p
    // <example>` and make it compile everything again (ring included).
    for (name, _) in std::env::vars_os() {
        let is_run_package = name.to_str().is_some_and(|n| {
            n.starts_with("CARGO_PKG_")
                || matches!(
                    n,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                )
        });
        if is_run_package {
            command.env_remove(name);
        }
    }
    let status = command
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {command:?}: is cargo installed?"))?;
    if !status.success() {
        bail!("building the examples failed: cargo exited with {status} (its messages are above)");
    }
    Ok(())
}

/// Where the binaries are: the directory of the tour's own executable.
#[derive(Debug)]
pub(crate) struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// The binaries next to the tour; an error names the first one missing.
    pub(crate) fn locate() -> anyhow::Result<Binaries> {
        let tour = std::env::current_exe().context("cannot locate the tour's executable")?;
        let dir = tour
            .parent()
            .context("the tour's executable has no directory")?
            .to_owned();
        let binaries = Binaries { dir };
        for program in programs() {
            let path = binaries.path(&program);
            if !path.is_file() {
                bail!(
                    "{} is missing: run the tour without --no-build, or build the examples \
                     first (cargo build --bins -p {})",
                    path.display(),
                    packages().join(" -p ")
                );
            }
        }
        Ok(binaries)
    }

    /// The executable of `program`.
    pub(crate) fn path(&self, program: &Program) -> PathBuf {
        self.dir.join(format!(
            "{}{}",
            program.binary(),
            std::env::consts::EXE_SUFFIX
        ))
    }
}
