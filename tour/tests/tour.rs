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

use testkit::process::{Signal, signal};

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
            let _ = signal(pid, Signal::KILL);
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

#[test]
fn the_readme_sample_is_what_the_tour_prints() {
    let (status, stdout, stderr) = tour(
        &[],
        Duration::from_secs(if examples_built() { 60 } else { 600 }),
    );
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    // Trace ids, ports and durations change; headings, titles and verdicts do not.
    let stable = |line: &&str| {
        line.starts_with("━━") || line.starts_with("   ✓") || line.contains("examples run,")
    };
    let printed: Vec<&str> = stdout.lines().filter(stable).collect();
    // 6 examples and 2 more headings, 6 checks and 6 summary lines, the verdict.
    assert_eq!(printed.len(), 6 + 2 + 6 + 6 + 1, "{stdout}");
    for readme in [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ] {
        let sample = &readme[readme.find("$ cargo run -p tour\n").expect("a sample run")..];
        let shown: Vec<&str> = sample.lines().filter(stable).collect();
        assert_eq!(shown, printed, "update the sample in tour/README*.md");
    }
}

#[test]
fn serve_keeps_the_collector_until_ctrl_c() {
    if !examples_built() {
        return; // the first test builds them; this one only checks --serve
    }
    let mut child = Command::new(TOUR)
        .args(["--ephemeral-ports", "--no-build", "--serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tour starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let (line_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = line_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with("   OTLP/HTTP  http://127.0.0.1:") => break,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no OTLP/HTTP address printed:\n{}", seen.join("\n"));
            }
        }
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("the collector keeps running (Ctrl-C to stop)"))
    );
    // Ctrl-C: SIGINT, as the terminal sends it.
    signal(pid, Signal::INT).expect("sending SIGINT");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the tour did not stop on Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
