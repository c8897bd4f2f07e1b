//! Running an example binary for the exporter tests: one run with flags and
//! environment, a collector (plain or TLS) on free ports, and the checks on
//! the delivery report that every failure case shares.

use std::time::Duration;

use collector::{Collector, CollectorConfig, TlsConfig};

use crate::process::{self, Finished};

/// How long one example run may take before the test gives up.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Runs `binary` once with `args` and `env` added to its environment.
pub async fn run(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = process::example_command(binary);
    command.args(args).envs(env.iter().copied());
    process::run(&mut command, LIMIT)
        .await
        .expect("the example ran")
}

/// A collector on free loopback ports, serving TLS when `tls` is given.
pub async fn collector(tls: Option<TlsConfig>) -> Collector {
    let config = CollectorConfig {
        tls,
        ..CollectorConfig::ephemeral()
    };
    Collector::start(config)
        .await
        .expect("the collector started")
}

/// The last stderr line, which is the delivery report.
pub fn report(out: &Finished) -> &str {
    out.stderr.lines().last().unwrap_or_default()
}

/// A failed delivery of the in-process examples' 9 spans: exit status 1, a
/// report that names `cause`, no advice to start a collector (that is for
/// "nothing is listening" alone), and a bounded run.
pub fn assert_delivery_failure(out: &Finished, cause: &str) {
    let line = report(out);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        line.starts_with("error: could not deliver 9 spans to "),
        "{line}"
    );
    assert!(line.contains(cause), "expected `{cause}` in:\n{line}");
    assert!(!line.contains("Start a collector"), "{line}");
    assert!(
        out.elapsed < Duration::from_secs(6),
        "took {:?}",
        out.elapsed
    );
}
