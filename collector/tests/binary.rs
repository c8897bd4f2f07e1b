//! The `collector` binary: flags, a clear error when a port is taken, and
//! the printed trace tree.

mod support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_collector");

#[test]
fn help_lists_the_flags() {
    let output = Command::new(BIN)
        .arg("--help")
        .output()
        .expect("running --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--grpc <ADDR>",
        "--http <ADDR>",
        "--max-traces <N>",
        "--max-spans <N>",
        "--max-spans-per-trace <N>",
        "--max-memory <SIZE>",
        "--max-value-length <SIZE>",
        "[default: 512MiB]",
        "20 MiB",
        "--ui <ADDR>",
        "--no-ui",
        "--tls-cert <FILE>",
        "--tls-key <FILE>",
        "--tls-client-ca <FILE>",
        "--load <FILE>",
        "--store <PATH>",
        "127.0.0.1:4317",
        "127.0.0.1:4318",
        "127.0.0.1:16686",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_size_is_read_with_its_unit_and_a_bad_one_says_which_units() {
    for (value, says) in [
        (
            "12XB",
            "unknown unit \"xb\": use B, KB, MB, GB, KiB, MiB or GiB",
        ),
        ("lots", "expected a size such as 512MiB or 2GiB"),
        ("100", "too small: at least 1KiB"),
    ] {
        let output = Command::new(BIN)
            .args(["--max-memory", value])
            .output()
            .expect("running the collector");
        assert_eq!(output.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
}

/// The binary's stderr when the port given to `flag` is taken (the other
/// listeners on free ports): it fails with one line that names the address,
/// and no panic.
fn taken_port_error(flag: &str) -> String {
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let addr = taken.local_addr().expect("the bound address").to_string();
    let mut args = COLLECTOR_FREE_PORTS;
    let at = args
        .iter()
        .position(|a| *a == flag)
        .expect("a listener flag");
    args[at + 1] = &addr;
    let output = Command::new(BIN)
        .args(args)
        .output()
        .expect("running the collector");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn address_in_use_is_one_clear_error() {
    let stderr = taken_port_error("--grpc");
    assert!(stderr.contains("--grpc"), "{stderr}");
}

#[test]
fn web_view_address_in_use_is_one_clear_error() {
    let stderr = taken_port_error("--ui");
    assert!(
        stderr.contains("web view") && stderr.contains("--ui"),
        "{stderr}"
    );
}

#[test]
fn prints_a_finished_trace_as_a_tree() {
    let mut child = Command::new(BIN)
        .args(COLLECTOR_FREE_PORTS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the collector");
    let stdout = lines(child.stdout.take().expect("piped stdout"));
    let stderr = lines(child.stderr.take().expect("piped stderr"));
    let _running = Running(child);

    let timeout = Duration::from_secs(30);
    let addr = banner_addr(&stderr, "OTLP/HTTP", timeout);
    let ui_addr = banner_addr(&stderr, "web view", timeout);

    let mut child_span = span(&TRACE_ID, &[2; 8], Some(&SPAN_ID), "GetUser");
    child_span.attributes.push(int_attr("user.id", 1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(send(
        addr,
        "printed-svc",
        vec![child_span, span(&TRACE_ID, &SPAN_ID, None, "main")],
    ));

    let header = stdout.recv_timeout(timeout).expect("the trace header");
    assert!(
        header.starts_with(&format!("trace {TRACE_ID_HEX}  2 spans")),
        "{header}"
    );
    let root = stdout.recv_timeout(timeout).expect("the root line");
    assert_eq!(
        root,
        "  main [printed-svc] 500.00 ms internal  via http/protobuf /v1/traces"
    );
    let child = stdout.recv_timeout(timeout).expect("the child line");
    assert_eq!(
        child,
        "    GetUser [printed-svc] 500.00 ms internal  via http/protobuf /v1/traces  user.id=1"
    );

    // The same trace in the web view's API.
    let list = runtime.block_on(get(ui_addr, "/api/traces", &[]));
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.text().contains(TRACE_ID_HEX), "{}", list.text());
}

#[test]
fn a_closed_stderr_does_not_kill_the_collector() {
    let mut child = Command::new(BIN)
        .args(["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the collector");
    let pid = child.id();
    let mut banner = std::io::BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    while !line.contains("# HTTP exporters") {
        line.clear();
        let read = std::io::BufRead::read_line(&mut banner, &mut line).expect("the banner");
        assert!(read > 0, "the banner ended early");
    }
    // Nobody reads stderr any more: the next line ("shutting down") fails.
    drop(banner);
    let mut running = Running(child);
    signal(pid, Signal::TERM).expect("sending SIGTERM");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = running.0.try_wait().expect("waiting") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn printed_lines_fit_the_columns() {
    let mut command = Command::new(BIN);
    command.args(COLLECTOR_FREE_PORTS).env("COLUMNS", "80");
    let (_running, stdout, stderr) = Running::printing(command);
    let timeout = Duration::from_secs(30);
    let addr = banner_addr(&stderr, "OTLP/HTTP", timeout);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    // A root with a long name and attributes, and 40 children of as many
    // services: each its own export, so each has its own service.
    let mut root = span(&TRACE_ID, &SPAN_ID, None, &"GetUserProfile".repeat(4));
    root.attributes.push(string_attr(
        "db.query.text",
        &"SELECT * FROM user ".repeat(8),
    ));
    runtime.block_on(send(addr, "frontend-service", vec![root]));
    for i in 0..40u8 {
        let kid = span(&TRACE_ID, &[i + 2; 8], Some(&SPAN_ID), "GetInfo");
        runtime.block_on(send(addr, &format!("backend-service-{i:02}"), vec![kid]));
    }
    let mut printed = Vec::new();
    loop {
        let line = stdout.recv_timeout(timeout).expect("the printed tree");
        if line.is_empty() {
            break;
        }
        printed.push(line);
    }
    // The header, the services on a line of their own (not one fits
    // beside the trace id whole), 41 spans.
    assert_eq!(printed.len(), 43, "{printed:#?}");
    assert_eq!(
        printed[1], "  services: backend-service-00, backend-service-01, and 39 more",
        "{printed:#?}"
    );
    assert!(
        printed[2].starts_with("  GetUserProfileGetUserProfile"),
        "{}",
        printed[2]
    );
    // A span after the trace was printed: one late line.
    let late = span(&TRACE_ID, &[99; 8], Some(&SPAN_ID), &"Late".repeat(30));
    runtime.block_on(send(addr, "late-service", vec![late]));
    let late = stdout.recv_timeout(timeout).expect("the late line");
    assert!(late.contains("after it was printed"), "{late}");
    printed.push(late);
    for line in &printed {
        let width = collector::text::width(line);
        assert!(width <= 80, "{width} columns: {line}");
    }
}

/// In a terminal 80 columns wide, with `COLUMNS` unset as a shell leaves
/// it: the startup banner and the printed tree fit the terminal, and no
/// span or service name is cut (attributes are, after them).
#[test]
fn in_an_80_column_terminal_every_line_fits_and_names_are_whole() {
    let mut command = testkit::process::in_terminal(
        std::path::Path::new(BIN),
        &["--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--no-ui"],
        80,
    );
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the collector in a terminal (util-linux's `script`)");
    let terminal = lines(child.stdout.take().expect("piped stdout"));
    let _running = Running(child);
    let timeout = Duration::from_secs(30);
    let mut printed = Vec::new();
    let mut next = || {
        let line = terminal
            .recv_timeout(timeout)
            .unwrap_or_else(|_| panic!("the terminal went quiet:\n{}", printed.join("\n")));
        let line = line.trim_end_matches('\r').to_owned();
        printed.push(line.clone());
        line
    };
    let addr = loop {
        let line = next();
        if let Some(rest) = line.trim_start().strip_prefix("OTLP/HTTP  http://") {
            let addr = rest.split_whitespace().next().unwrap_or_default();
            break addr
                .parse::<std::net::SocketAddr>()
                .expect("the OTLP/HTTP address");
        }
    };
    while !next().contains("# HTTP exporters") {}

    let mut root = span(&TRACE_ID, &SPAN_ID, None, "StartRequests");
    root.attributes
        .push(string_attr("http.route", &"/segment".repeat(20)));
    let mut child = span(&TRACE_ID, &[2; 8], Some(&SPAN_ID), "POST /user/insert");
    child.attributes.push(string_attr(
        "db.query.text",
        "INSERT INTO user(name) VALUES(?) RETURNING uid, name, created_at",
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(send(addr, "otlp-http-client-with-db", vec![root]));
    runtime.block_on(send(addr, "otlp-http-server-with-db", vec![child]));
    let header = loop {
        let line = next();
        if line.starts_with("trace ") {
            break line;
        }
    };
    let tree = [next(), next(), next()];
    assert!(
        header.starts_with(&format!("trace {TRACE_ID_HEX}  2 spans")),
        "{header}"
    );
    assert_eq!(
        tree[0],
        "  services: otlp-http-client-with-db, otlp-http-server-with-db"
    );
    assert!(
        tree[1].starts_with("  StartRequests [otlp-http-client-with-db] 500.00 ms internal"),
        "{}",
        tree[1]
    );
    assert!(
        tree[2].starts_with("    POST /user/insert [otlp-http-server-with-db] 500.00 ms"),
        "{}",
        tree[2]
    );
    for line in &printed {
        let width = collector::text::width(line);
        assert!(
            width <= 80,
            "{width} columns: {line}\n{}",
            printed.join("\n")
        );
    }
}
