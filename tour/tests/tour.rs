//! The real tour binary, end to end: every example runs against the tour's
//! collector, and the tour says all held.
//!
//! It runs with `--no-build` when the example binaries are already next to
//! it (`cargo test --workspace` builds them for their own tests), so that no
//! second cargo runs inside the test; with `cargo test -p tour` alone it
//! lets the tour build them. `--ephemeral-ports` keeps it off 4317/4318.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TOUR: &str = env!("CARGO_BIN_EXE_tour");

/// The example binaries the tour runs, next to its executable.
fn examples_built() -> bool {
    let dir = Path::new(TOUR).parent().expect("target/<profile>");
    [
        "examples-inprocess-http",
        "examples-inprocess-grpc",
        "server",
        "client",
        "grpc",
        "http",
    ]
    .iter()
    .all(|name| {
        dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
            .is_file()
    })
}

/// Runs the tour with `args`, stdin closed, killing it after `limit`.
fn tour(args: &[&str], limit: Duration) -> (std::process::ExitStatus, String, String) {
    let mut command = Command::new(TOUR);
    command.arg("--ephemeral-ports").args(args);
    if examples_built() {
        command.arg("--no-build");
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tour starts");
    let pid = child.id();
    // Read the pipes on another thread so a large output cannot block the tour.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let out = match finished.recv_timeout(limit) {
        Ok(out) => out.expect("the tour's output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("the tour still ran after {limit:?}; killed");
        }
    };
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_tour_runs_every_example_and_all_hold() {
    let limit = if examples_built() { 60 } else { 600 };
    let (status, stdout, stderr) = tour(&["--step"], Duration::from_secs(limit));
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last, "6 examples run, 6 traces, 33 spans: all as expected",
        "{stdout}"
    );
    // Every example in the documentation's order, each with its waterfall.
    let order = [
        "1/6 · In-process spans, exported over OTLP/HTTP",
        "2/6 · In-process spans, exported over OTLP/gRPC",
        "3/6 · HTTP server and client",
        "4/6 · The same call, exported over OTLP/gRPC",
        "5/6 · The same call, exported over OTLP/HTTP",
        "6/6 · A failing call",
    ];
    let mut at = 0;
    for title in order {
        at += stdout[at..]
            .find(title)
            .unwrap_or_else(|| panic!("`{title}` missing or out of order:\n{stdout}"));
    }
    assert_eq!(stdout.matches("\n   trace ").count(), 6, "{stdout}");
    assert_eq!(stdout.matches("✓ as documented").count(), 6, "{stdout}");
    // --step with stdin closed: it says what to read and how to run each
    // example alone, and does not wait for an Enter that never comes.
    assert_eq!(stdout.matches("   read:").count(), 6, "{stdout}");
    assert!(
        stdout.contains("(no input: not pausing any more)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("run alone:  cargo run -p collector")
            && stdout.contains("cargo run -p examples-otlp --bin grpc"),
        "{stdout}"
    );
    // The key attributes, and the error, are on the waterfall lines.
    for shown in [
        "user.id=100",
        "http.route=/hello",
        "http.response.status_code=200",
        "http.response.status_code=500",
        "✗ error",
        "stdout │ hello:GoFrame",
        "stdout │ hello:john",
    ] {
        assert!(stdout.contains(shown), "`{shown}` missing:\n{stdout}");
    }
    assert!(
        stdout.contains("collector (inside the tour, free ports)"),
        "{stdout}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
