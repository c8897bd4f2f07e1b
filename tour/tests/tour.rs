//! The real tour binary, end to end: every example runs against the tour's
//! collector, and the tour says all held. One run, with `--step` and stdin
//! closed, covers both modes: what `--step` adds (what to read, how to run
//! an example alone) and what every run prints (the README's sample).
//!
//! It runs with `--no-build` when the example binaries are already next to
//! it (`cargo test --workspace` builds them for their own tests), so that no
//! second cargo runs inside the test; with `cargo test -p tour` alone it
//! lets the tour build them. `--ephemeral-ports` keeps it off 4317/4318.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use collector::text;
use testkit::process::{Signal, signal};

const TOUR: &str = env!("CARGO_BIN_EXE_tour");
/// The width the tour is run at, as the README's sample was.
const COLUMNS: usize = 100;

/// An example binary, next to the tour's executable.
fn example_binary(name: &str) -> PathBuf {
    let dir = Path::new(TOUR).parent().expect("target/<profile>");
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// The example binaries the tour runs.
fn examples_built() -> bool {
    [
        "examples-inprocess-http",
        "examples-inprocess-grpc",
        "examples-inprocess-tracing",
        "server",
        "client",
        "grpc",
        "http",
        "grpc-db-server",
        "grpc-db-client",
        "http-db-server",
        "http-db-client",
        "gproc",
        "provider-grpc",
    ]
    .iter()
    .all(|name| example_binary(name).is_file())
}

/// The tour with `args`, on free ports, `COLUMNS` wide.
fn tour_command(args: &[&str]) -> Command {
    let mut command = Command::new(TOUR);
    command
        .arg("--ephemeral-ports")
        .args(args)
        .env("COLUMNS", COLUMNS.to_string());
    if examples_built() {
        command.arg("--no-build");
    }
    command
}

/// Runs the tour with `args`, stdin closed, killing it after `limit`.
fn tour(args: &[&str], limit: Duration) -> (std::process::ExitStatus, String, String) {
    let child = tour_command(args)
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

/// The lines that are the same in every run: headings, checks, the
/// verdict (trace ids, ports and durations change).
fn stable(line: &&str) -> bool {
    line.starts_with("━━") || line.starts_with("   ✓") || line.contains("examples run,")
}

#[test]
fn the_tour_runs_every_example_as_documented_and_as_the_readme_shows() {
    let limit = if examples_built() { 60 } else { 600 };
    let (status, stdout, stderr) = tour(&["--step"], Duration::from_secs(limit));
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&"11 examples run, 11 traces, 76 spans: all as expected"),
        "{stdout}"
    );

    // Every example in the documentation's order, each with its waterfall.
    let order = [
        "1/11 · In-process spans, exported over OTLP/HTTP",
        "2/11 · In-process spans, exported over OTLP/gRPC",
        "3/11 · The same spans with `tracing` and #[instrument]",
        "4/11 · HTTP server and client",
        "5/11 · The same call, exported over OTLP/gRPC",
        "6/11 · The same call, exported over OTLP/HTTP",
        "7/11 · A failing call",
        "8/11 · A gRPC service on a database and a cache",
        "9/11 · An HTTP service on a database and a cache",
        "10/11 · A trace across child processes",
        "11/11 · The provider built by hand",
    ];
    let mut at = 0;
    for title in order {
        at += stdout[at..]
            .find(title)
            .unwrap_or_else(|| panic!("`{title}` missing or out of order:\n{stdout}"));
    }
    assert_eq!(stdout.matches("\n   trace ").count(), 11, "{stdout}");
    assert_eq!(stdout.matches("✓ as documented").count(), 11, "{stdout}");
    // Under each waterfall, why it took as long as it did, in words: the
    // span that holds the critical path, or the root's largest children.
    let sentences: Vec<&&str> = lines.iter().filter(|l| l.contains(" in all; ")).collect();
    assert_eq!(sentences.len(), 11, "{stdout}");
    let joined = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for shown in [
        "3 spans failed, the deepest GET /error on otlp-http-server: ",
        "user.User/Delete on otlp-grpc-client failed: ",
    ] {
        assert!(joined.contains(shown), "`{shown}` missing:\n{stdout}");
    }
    assert!(
        stdout.contains("collector (inside the tour, free ports)"),
        "{stdout}"
    );

    // Every line fits the terminal, whatever the traces hold.
    for line in &lines {
        assert!(
            text::width(line) <= COLUMNS,
            "{} columns: {line}\n{stdout}",
            text::width(line)
        );
    }

    // Commands as a user types them: the cargo command that does the same.
    let commands: Vec<&&str> = lines.iter().filter(|l| l.starts_with("$ ")).collect();
    assert_eq!(
        commands.len(),
        11 + 3,
        "eleven examples and three servers:\n{stdout}"
    );
    for command in commands {
        assert!(
            command.starts_with("$ cargo run -p "),
            "{command}\n{stdout}"
        );
    }
    for shown in [
        "$ cargo run -p examples-inprocess-http -- --endpoint http://127.0.0.1:",
        "$ cargo run -p examples-http --bin server -- --listen 127.0.0.1:0",
        "$ cargo run -p examples-otlp --bin http -- --url http://127.0.0.1:",
        "$ cargo run -p examples-grpc-with-db --bin grpc-db-server -- --listen 127.0.0.1:0",
        "$ cargo run -p examples-http-with-db --bin http-db-client -- --url http://127.0.0.1:",
    ] {
        assert!(stdout.contains(shown), "`{shown}` missing:\n{stdout}");
    }

    // Stdout as the example printed it: the in-process examples' users as
    // pretty JSON, `id` first, once per example.
    let ids = lines
        .iter()
        .filter(|l| l.ends_with("│   \"id\": 100,"))
        .count();
    assert_eq!(ids, 3, "{stdout}");
    assert_eq!(stdout.matches("   stdout │ {}\n          │ {\n").count(), 3);
    assert!(
        !stdout.contains("{\"chinese\""),
        "re-serialized JSON:\n{stdout}"
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
        "stdout │ baggage: tour=child",
        "20 traces started, ",
        "cache.hit=false",
        "error.type=INVALID_ARGUMENT",
        "SELECT uid, name FROM",
    ] {
        assert!(stdout.contains(shown), "`{shown}` missing:\n{stdout}");
    }
    // Log records under their span: the in-process examples' two on `main`
    // (three examples) and the `tracing` one's `user not found`; each
    // client's answer and the server's handler line; the server's error.
    let records = lines
        .iter()
        .filter(|l| (l.contains("· INFO") || l.contains("· ERROR")) && l.contains('•'))
        .count();
    // The with-db examples: each client's lines, the server's access line
    // per call and SQL line per statement.
    // The processes example: both processes' lines and the child's exit;
    // the provider's first sampled trace: the server's handler line.
    assert_eq!(records, 3 * 2 + 1 + 3 * 2 + 1 + 11 + 9 + 3 + 1, "{stdout}");
    for shown in [
        "GetUser(100): found",
        "user not found",
        "answer: hello:GoFrame",
        "HelloHandler: name=\"GoFrame\"",
        "/user.User/Insert",
        "200 POST /user/insert",
        "[sqlite] [rows:1  ]",
        "this is sub process",
    ] {
        assert!(stdout.contains(shown), "`{shown}` missing:\n{stdout}");
    }

    // Its log lines are counted where its stderr is shown: the trace has them.
    assert!(
        stdout.contains("│ (2 log lines not shown here: the trace below has each under its span)"),
        "{stdout}"
    );

    // A delivery report longer than the screen is wrapped, not cut: where
    // the log records went is read to its end.
    assert!(lines.iter().any(|l| l.ends_with("/v1/logs")), "{stdout}");

    // The server's stop: the time from SIGTERM to its exit.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("   exit status 0, ") && l.ends_with(" after SIGTERM")),
        "{stdout}"
    );
    // Times in their own unit (ms under a second), never `after 0.0 s`.
    let runs: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("   exit status ") && l.contains(" after "))
        .collect();
    assert_eq!(runs.len(), 11 + 3, "{stdout}");
    assert!(
        runs.iter()
            .all(|l| !l.contains(" 0.0") && !l.contains(" 0.00 s")),
        "{runs:#?}"
    );
    // A plain run ends saying how to keep the collector.
    assert!(
        stdout.contains("run with --serve to keep the collector and web view running"),
        "{stdout}"
    );

    // --step with stdin closed: it says what to read and how to run each
    // example alone, with the tokens and paths the run used, and does not
    // wait for an Enter that never comes.
    assert_eq!(stdout.matches("   read:").count(), 11, "{stdout}");
    assert_eq!(
        stdout.matches("(no input: not pausing any more)").count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.matches("   try it:").count(), 11, "{stdout}");
    // While the tour runs, its collector holds the ports: try each example
    // against it (and the tour's server); the collector of your own after.
    for hint in [
        "   try it:     cargo run -p examples-inprocess-http -- --endpoint http://127.0.0.1:",
        "   try it:     cargo run -p examples-http --bin client -- --url http://127.0.0.1:",
        "alone:      cargo run -p collector   # in another terminal, once the tour has ended",
        "   cargo run -p examples-http --bin server   # in another terminal",
        "   cargo run -p examples-inprocess-grpc -- --token demo-token-inprocess",
        "   cargo run -p examples-otlp --bin grpc -- --token demo-token-otlp",
        "   cargo run -p examples-otlp --bin http -- --path /adapt_x/api/otlp/traces",
        "   cargo run -p examples-http --bin client -- --url http://127.0.0.1:8000/error",
        "   cargo run -p examples-grpc-with-db --bin grpc-db-server   # in another terminal",
        "   cargo run -p examples-http-with-db --bin http-db-client",
    ] {
        assert!(stdout.contains(hint), "`{hint}` missing:\n{stdout}");
    }

    // The lines every run prints the same equal the README's sample (a
    // plain run: --step adds none of them).
    let printed: Vec<&str> = lines.iter().copied().filter(stable).collect();
    // 11 examples and 4 more headings (three servers stopped, the summary),
    // 11 checks and 11 summary lines, the verdict.
    assert_eq!(printed.len(), 11 + 4 + 11 + 11 + 1, "{stdout}");
    for readme in [
        include_str!("../README.md"),
        include_str!("../README.zh.md"),
    ] {
        let sample = &readme[readme.find("$ cargo run -p tour\n").expect("a sample run")..];
        let shown: Vec<&str> = sample.lines().filter(stable).collect();
        assert_eq!(shown, printed, "update the sample in tour/README*.md");
    }
}

/// The tour in a terminal 80 columns wide, `COLUMNS` unset as a shell
/// leaves it: it asks the terminal, every line fits, and every span and
/// service name in the waterfalls is whole (attributes go under the span).
#[test]
fn in_an_80_column_terminal_every_line_fits_and_names_are_whole() {
    let built = examples_built();
    let mut args = vec!["--ephemeral-ports"];
    if built {
        args.push("--no-build");
    }
    let child = testkit::process::in_terminal(Path::new(TOUR), &args, 80)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tour starts in a terminal (util-linux's `script`)");
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let limit = Duration::from_secs(if built { 60 } else { 600 });
    let out = match finished.recv_timeout(limit) {
        Ok(out) => out.expect("the terminal's output"),
        Err(_) => {
            let _ = signal(pid, Signal::KILL);
            panic!("the tour still ran after {limit:?}; killed");
        }
    };
    let terminal = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{}\n{terminal}", out.status);
    // From the tour's first line on (a build before it is cargo's).
    let from = terminal
        .find("collector (inside the tour")
        .unwrap_or_else(|| panic!("no collector line:\n{terminal}"));
    let lines: Vec<&str> = terminal[from..].lines().collect();
    assert!(
        lines.contains(&"11 examples run, 11 traces, 76 spans: all as expected"),
        "{terminal}"
    );
    for line in &lines {
        let width = text::width(line);
        assert!(width <= 80, "{width} columns: {line}\n{terminal}");
    }
    // A waterfall row: `   name  service  │bar│ ...`; its name and service
    // come before the bar, whole.
    let rows: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("   ") && l.matches('│').count() == 2)
        .collect();
    assert!(rows.len() > 76, "{terminal}");
    for row in &rows {
        let before_bar = &row[..row.find('│').expect("a bar")];
        assert!(!before_bar.contains('…'), "a name cut: {row}\n{terminal}");
    }
    for name in [
        "GetScores",
        "HelloHandler",
        "GET /error",
        "POST /user/insert",
        "user.User/Delete",
        "SELECT user",
        "gproc sub",
        "otlp-http-client-with-db",
        "otlp-http-server-with-db",
    ] {
        assert!(
            rows.iter().any(|row| row.contains(&format!(" {name}  "))),
            "`{name}` is not whole on any row:\n{terminal}"
        );
    }
}

/// `--step` as a presenter uses it: during the pause before example 6, a
/// run of their own, with the command the tour's hint gives (against the
/// tour's collector and server). The tour draws that trace as another
/// trace, never as the step's, and still ends with all as expected.
#[test]
fn a_run_of_your_own_during_a_pause_is_another_trace_not_the_steps() {
    use std::io::Write as _;
    let limit = Duration::from_secs(if examples_built() { 60 } else { 600 });
    let mut child = tour_command(&["--step"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the tour starts");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let lines = testkit::process::lines(child.stdout.take().expect("stdout"));
    let mut seen: Vec<String> = Vec::new();
    let mut next_line = |what: &str| -> Option<String> {
        match lines.recv_timeout(limit) {
            Ok(line) => {
                seen.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = signal(pid, Signal::KILL);
                panic!("no {what}:\n{}", seen.join("\n"));
            }
        }
    };
    // Enter for examples 1 to 5 (read when the tour asks).
    stdin.write_all(b"\n\n\n\n\n").expect("writing to the tour");
    while !next_line("example 6")
        .expect("example 6")
        .starts_with("━━ 6/11")
    {}
    let mut hint = loop {
        let line = next_line("the try-it hint").expect("the hint");
        if let Some(rest) = line.strip_prefix("   try it:") {
            break rest.to_owned();
        }
    };
    while hint.ends_with(" \\") {
        hint.truncate(hint.len() - 2);
        hint.push(' ');
        hint.push_str(&next_line("the hint's next line").expect("the hint"));
    }
    let hint = hint.split("   #").next().unwrap_or_default();
    let words: Vec<&str> = hint.split_whitespace().collect();
    let dashes = words
        .iter()
        .position(|w| *w == "--")
        .expect("`--` in the hint");
    assert_eq!(
        words[..dashes].join(" "),
        "cargo run -p examples-otlp --bin http",
        "{hint}"
    );
    let mut yours = Command::new(example_binary("http"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            yours.env_remove(name);
        }
    }
    let yours = yours
        .args(&words[dashes + 1..])
        .output()
        .expect("your run of the example");
    let stderr = String::from_utf8_lossy(&yours.stderr);
    assert!(yours.status.success(), "{hint}\n{stderr}");
    // `... [INFO] {trace id} answer: hello:john`
    let your_trace = stderr
        .split('{')
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .unwrap_or_else(|| panic!("no trace id in your run's log:\n{stderr}"))
        .to_owned();
    // The server's spans follow within its export delay (100 ms).
    std::thread::sleep(Duration::from_secs(1));
    // Enter for examples 6 to 11, then the end of input.
    stdin
        .write_all(b"\n\n\n\n\n\n")
        .expect("writing to the tour");
    drop(stdin);
    while next_line("the end of the tour").is_some() {}
    let status = child.wait().expect("the tour's exit");
    let stdout = seen.join("\n");
    assert!(status.success(), "{status}\n{stdout}");
    assert!(
        stdout.contains("11 examples run, 11 traces, 76 spans: all as expected"),
        "{stdout}"
    );
    // Your trace: drawn once, after the pause, as another trace.
    let trace_line = format!("   trace {your_trace} ");
    assert_eq!(stdout.matches(&trace_line).count(), 1, "{stdout}");
    let other = stdout
        .find("another trace arrived")
        .unwrap_or_else(|| panic!("no other trace:\n{stdout}"));
    let drawn = stdout.find(&trace_line).expect("your trace");
    assert!(other < drawn, "{stdout}");
    assert_eq!(
        stdout.matches("another trace arrived").count(),
        1,
        "{stdout}"
    );
    // Example 6's own trace is a different one, drawn after its command.
    let step6 = &stdout[stdout.find("━━ 6/11").expect("example 6")..];
    let step6 = &step6[..step6.find("━━ 7/11").expect("example 7")];
    let own = step6
        .lines()
        .filter_map(|l| l.strip_prefix("   trace "))
        .map(|rest| rest.split(' ').next().unwrap_or_default())
        .collect::<Vec<&str>>();
    assert_eq!(own.len(), 2, "yours and its own:\n{step6}");
    assert_eq!(own[0], your_trace, "{step6}");
    assert_ne!(own[1], your_trace, "{step6}");
}

#[test]
fn serve_draws_new_traces_until_ctrl_c() {
    // Without the examples built, the tour builds them first (or waits for
    // the other test's build): give it the time a cold build takes.
    let limit = Duration::from_secs(if examples_built() { 60 } else { 600 });
    let mut child = tour_command(&["--serve"])
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
    let mut next_line = |what: &str| -> String {
        match lines.recv_timeout(limit) {
            Ok(line) => {
                seen.push(line.clone());
                line
            }
            Err(_) => {
                let _ = child.kill();
                panic!("no {what}:\n{}", seen.join("\n"));
            }
        }
    };
    // The tour's own traces, drawn during the walkthrough.
    let trace_id = |line: &str| -> Option<String> {
        let rest = line.strip_prefix("   trace ")?;
        Some(rest.split(' ').next()?.to_owned())
    };
    let mut walkthrough = std::collections::HashSet::new();
    loop {
        let line = next_line("--serve heading");
        if line.contains("the collector keeps running (Ctrl-C to stop)") {
            break;
        }
        walkthrough.extend(trace_id(&line));
    }
    assert_eq!(walkthrough.len(), 11, "{walkthrough:?}");
    let endpoint = loop {
        let line = next_line("OTLP/HTTP address");
        if let Some(url) = line.strip_prefix("   OTLP/HTTP  ") {
            break url.to_owned();
        }
    };

    // A trace of our own: drawn once it has settled. The tour's own eleven
    // settle before it (their last spans came before the heading), and
    // are not drawn again.
    let example = Command::new(example_binary("examples-inprocess-http"))
        .args(["--endpoint", &endpoint])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the example runs");
    assert!(example.success(), "{example}");
    loop {
        let line = next_line("drawn trace");
        if let Some(id) = trace_id(&line) {
            assert!(!walkthrough.contains(&id), "drawn again: {line}");
            break;
        }
    }
    let drawn = next_line("waterfall");
    assert!(drawn.starts_with("   span "), "{drawn}");

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
    // The rest of its output, to the end (the reader stops at end of file).
    let rest: Vec<String> =
        std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(10)).ok()).collect();
    assert!(
        rest.iter()
            .any(|l| l == "the collector and its web view have stopped with the tour"),
        "{rest:?}"
    );
    assert!(
        !rest.iter().any(|l| l.contains("run with --serve")),
        "{rest:?}"
    );
}
