//! `gproc` and `gcmd` as real processes (each starting its own child)
//! against the embedded collector on free ports: one trace across both
//! processes, a trace given in `TRACEPARENT`, the stale context replaced,
//! baggage, a failing and a hanging child, the exporter flags handed on.

use std::time::Duration;

use collector::{Collector, Signal, Span, SpanKind, StatusCode, Trace};
use testkit::exporter::collector;
use testkit::process::{self, Finished};

const GPROC: &str = env!("CARGO_BIN_EXE_gproc");
const GCMD: &str = env!("CARGO_BIN_EXE_gcmd");
const LIMIT: Duration = Duration::from_secs(30);
const WAIT: Duration = Duration::from_secs(10);

/// A trace id and span id no run makes up.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID: &str = "00f067aa0ba902b7";

/// Runs `binary` with `args`, exporting to `collector`, with `env` added to
/// a clean environment (no OTEL_*, no inherited context).
async fn run(binary: &str, collector: &Collector, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = process::example_command(binary);
    for name in [
        "TRACEPARENT",
        "TRACESTATE",
        "BAGGAGE",
        "traceparent",
        "tracestate",
        "baggage",
    ] {
        command.env_remove(name);
    }
    command
        .args(["--endpoint", &collector.http_endpoint()])
        .args(args)
        .envs(env.iter().copied());
    process::run(&mut command, LIMIT).await.unwrap()
}

async fn trace_of(collector: &Collector, spans: usize) -> Trace {
    collector
        .wait_for_trace(|t| t.spans.len() >= spans, WAIT)
        .await
        .unwrap_or_else(|_| panic!("no trace of {spans} spans: {:#?}", collector.traces()))
}

fn span<'a>(trace: &'a Trace, name: &str) -> &'a Span {
    trace
        .span_named(name)
        .unwrap_or_else(|| panic!("no span `{name}`: {trace:#?}"))
}

fn resource_pid(span: &Span) -> i64 {
    span.resource
        .get("process.pid")
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("no process.pid in the resource: {span:#?}"))
}

/// Both lines of GoFrame's example, with the trace's id.
fn assert_goframe_lines(out: &Finished, trace_id: &str) {
    for line in ["this is main process", "this is sub process"] {
        assert!(
            out.stderr.contains(&format!("{{{trace_id}}} {line}")),
            "`{line}` with {trace_id}:\n{}",
            out.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gproc_one_trace_across_two_processes() {
    let collector = collector(None).await;
    let out = run(
        GPROC,
        &collector,
        &["--baggage", "user=john", "--baggage", "job=42"],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    // The child reports the baggage it received (its stdout is the parent's),
    // as the READMEs show it.
    assert_eq!(out.stdout, "baggage: job=42\nbaggage: user=john\n");
    process::assert_readme_samples(
        &[
            include_str!("../README.md"),
            include_str!("../README.zh.md"),
        ],
        &out.stdout,
    );

    let trace = trace_of(&collector, 2).await;
    assert_eq!(trace.spans.len(), 2, "{trace:#?}");
    let parent = span(&trace, "gproc sub");
    let child = span(&trace, "sub");
    assert_eq!(trace.root(), Some(parent), "{trace:#?}");
    assert_eq!(parent.parent_span_id, None);
    assert_eq!(trace.parent(child), Some(parent), "{trace:#?}");
    assert_eq!(parent.kind, SpanKind::Internal);
    assert_eq!(
        (parent.service_name.as_str(), child.service_name.as_str()),
        ("gproc", "gproc-sub")
    );
    // The parent's span records the child process: its pid is the pid in
    // the child's resource, and it exited with 0.
    assert_eq!(parent.attr_i64("process.pid"), Some(resource_pid(child)));
    assert_ne!(resource_pid(parent), resource_pid(child));
    assert_eq!(parent.attr_i64("process.exit.code"), Some(0));
    // Each resource says which process it is: the same executable, the
    // child with `sub`.
    let args = |span: &Span| -> Vec<String> {
        let args = span
            .resource
            .get("process.command_args")
            .and_then(|v| v.as_array());
        let args = args.unwrap_or_else(|| panic!("no process.command_args: {span:#?}"));
        args.iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect()
    };
    for span in [parent, child] {
        assert_eq!(
            span.resource
                .get("process.executable.name")
                .and_then(|v| v.as_str()),
            Some("gproc"),
            "{span:#?}"
        );
    }
    let (parent_args, child_args) = (args(parent), args(child));
    assert!(parent_args[0].ends_with("/gproc"), "{parent_args:?}");
    assert_eq!(child_args, [parent_args[0].as_str(), "sub"]);
    assert_eq!(
        parent.attr_str("process.command"),
        Some(parent_args[0].as_str())
    );
    assert_eq!(parent.status_code, StatusCode::Unset);
    // The child ran inside the parent's span.
    assert!(parent.start_unix_nano <= child.start_unix_nano);
    assert!(child.end_unix_nano <= parent.end_unix_nano);
    assert_goframe_lines(&out, &trace.trace_id);
    // Both processes exported, each its own report.
    assert_eq!(
        out.stderr.matches("exported 1 span to").count(),
        2,
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gproc_continues_the_trace_in_its_traceparent() {
    let collector = collector(None).await;
    let traceparent = format!("00-{TRACE_ID}-{SPAN_ID}-01");
    let env = [
        ("TRACEPARENT", traceparent.as_str()),
        ("BAGGAGE", "from=script"),
    ];
    let out = run(GPROC, &collector, &["--baggage", "user=john"], &env).await;
    assert!(out.status.success(), "{}", out.stderr);
    // The baggage it was started with travels on, with its own.
    assert_eq!(out.stdout, "baggage: from=script\nbaggage: user=john\n");

    let trace = trace_of(&collector, 2).await;
    assert_eq!(trace.trace_id, TRACE_ID);
    assert_eq!(collector.traces().len(), 1, "{:#?}", collector.traces());
    let parent = span(&trace, "gproc sub");
    let child = span(&trace, "sub");
    assert_eq!(parent.parent_span_id.as_deref(), Some(SPAN_ID));
    // The child got the parent's span, not the stale TRACEPARENT.
    assert_eq!(child.parent_span_id.as_ref(), Some(&parent.span_id));
    assert_goframe_lines(&out, TRACE_ID);
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_context_variables_are_replaced_for_the_child() {
    let collector = collector(None).await;
    let stale = format!("00-{TRACE_ID}-{SPAN_ID}-01");
    let show = r#"echo "TRACEPARENT=$TRACEPARENT"; echo "TRACESTATE=${TRACESTATE-unset}"; echo "BAGGAGE=${BAGGAGE-unset}"; echo "traceparent=${traceparent-unset}""#;
    let env = [
        (
            "TRACEPARENT",
            "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-zz",
        ),
        ("TRACESTATE", "stale=1"),
        ("BAGGAGE", "bad baggage"),
        ("traceparent", stale.as_str()),
    ];
    let out = run(GPROC, &collector, &["--shell", show], &env).await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector, 1).await;
    let parent = span(&trace, show);
    // A malformed context is no context: a new trace, and the child gets
    // this one; what it cannot use is gone, and GoFrame's lowercase name is
    // left alone without --goframe-env.
    assert_eq!(parent.parent_span_id, None);
    let expected = format!(
        "TRACEPARENT=00-{}-{}-01\nTRACESTATE=unset\nBAGGAGE=unset\ntraceparent={stale}\n",
        trace.trace_id, parent.span_id
    );
    assert_eq!(out.stdout, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn goframe_env_writes_and_reads_the_lowercase_names() {
    let collector = collector(None).await;
    let goframe = format!("00-{TRACE_ID}-{SPAN_ID}-01");
    let show = r#"echo "$TRACEPARENT"; echo "$traceparent""#;
    let env = [("traceparent", goframe.as_str())];
    let out = run(GPROC, &collector, &["--goframe-env", "--shell", show], &env).await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector, 1).await;
    // Read: the trace GoFrame's parent started continues.
    assert_eq!(trace.trace_id, TRACE_ID);
    let parent = span(&trace, show);
    assert_eq!(parent.parent_span_id.as_deref(), Some(SPAN_ID));
    // Written: both names, the same value.
    let now = format!("00-{TRACE_ID}-{}-01", parent.span_id);
    assert_eq!(out.stdout, format!("{now}\n{now}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_child_is_an_error_with_its_exit_code() {
    let collector = collector(None).await;
    let out = run(GPROC, &collector, &["--shell", "exit 3"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("`exit 3` exited with code 3"),
        "{}",
        out.stderr
    );
    let trace = trace_of(&collector, 1).await;
    let parent = span(&trace, "exit 3");
    assert_eq!(parent.attr_i64("process.exit.code"), Some(3));
    assert_eq!(parent.attr_str("process.command"), Some("sh"));
    assert!(parent.attr_i64("process.pid").is_some_and(|pid| pid > 0));
    assert_eq!(parent.status_code, StatusCode::Error);
    assert!(
        parent.status_message.contains("exited with code 3"),
        "{parent:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_child_is_killed_after_the_timeout() {
    let collector = collector(None).await;
    // Two commands, so the shell cannot exec `sleep` in its own place: the
    // whole process group must go.
    let hang = "sleep 30; echo never";
    let out = run(GPROC, &collector, &["--shell", hang, "--timeout", "1"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    // Well under the child's 30 s (its output pipe closed: nothing is left).
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
    assert!(
        out.stderr
            .contains("was still running after 1 s (--timeout) and was killed"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("never"));
    let trace = trace_of(&collector, 1).await;
    let parent = span(&trace, hang);
    assert_eq!(parent.status_code, StatusCode::Error);
    assert!(parent.status_message.contains("--timeout"), "{parent:#?}");
    assert_eq!(parent.attr_i64("process.exit.code"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_parent_ends_its_child() {
    let collector = collector(None).await;
    // The child asks its parent to stop (SIGTERM), as `kill` or a job
    // scheduler would, then hangs.
    let child = "kill -TERM $PPID; sleep 30; echo never";
    let out = run(GPROC, &collector, &["--shell", child], &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(out.elapsed < Duration::from_secs(15), "{:?}", out.elapsed);
    assert!(
        out.stderr
            .contains("was killed: this program was interrupted"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("never"));
    // It still exported its span, marked as an error.
    let trace = trace_of(&collector, 1).await;
    assert_eq!(span(&trace, child).status_code, StatusCode::Error);
}

#[tokio::test(flavor = "multi_thread")]
async fn exporter_flags_reach_the_child() {
    let collector = collector(None).await;
    let args = [
        "--path",
        "/custom/traces",
        "--token",
        "s3cr3t",
        "--export-timeout",
        "2000",
    ];
    let out = run(
        GPROC,
        &collector,
        &args,
        &[("OTEL_SERVICE_NAME", "parent-name")],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector, 2).await;
    // The service name is the parent's own; the child keeps its name.
    assert_eq!(span(&trace, "gproc sub").service_name, "parent-name");
    assert_eq!(span(&trace, "sub").service_name, "gproc-sub");
    let requests: Vec<_> = collector
        .requests()
        .into_iter()
        .filter(|r| r.signal == Signal::Traces)
        .collect();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for request in &requests {
        assert_eq!(request.path, "/custom/traces");
        assert_eq!(
            request.headers.get("authentication").map(String::as_str),
            Some("s3cr3t")
        );
    }
    assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_flags_exit_2_with_the_fix() {
    let collector = collector(None).await;
    let out = run(GPROC, &collector, &["--baggage", "user"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("write key=value"), "{}", out.stderr);
    let out = run(GPROC, &collector, &["--timeout", "0"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr);
    assert!(collector.spans().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn gcmd_one_trace_of_two_server_spans() {
    let collector = collector(None).await;
    let out = run(GCMD, &collector, &["--baggage", "user=john"], &[]).await;
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(out.stdout, "baggage: user=john\n");
    let trace = trace_of(&collector, 2).await;
    assert_eq!(trace.spans.len(), 2, "{trace:#?}");
    let main = span(&trace, "gcmd main");
    let sub = span(&trace, "gcmd sub");
    assert_eq!(trace.root(), Some(main));
    assert_eq!(trace.parent(sub), Some(main));
    assert_eq!((main.kind, sub.kind), (SpanKind::Server, SpanKind::Server));
    assert_eq!(
        (main.service_name.as_str(), sub.service_name.as_str()),
        ("gcmd", "gcmd-sub")
    );
    assert_ne!(resource_pid(main), resource_pid(sub));
    assert_goframe_lines(&out, &trace.trace_id);

    // Given a TRACEPARENT, `gcmd` continues it: both spans under it.
    let collector = self::collector(None).await;
    let traceparent = format!("00-{TRACE_ID}-{SPAN_ID}-01");
    let out = run(
        GCMD,
        &collector,
        &[],
        &[("TRACEPARENT", traceparent.as_str())],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector, 2).await;
    assert_eq!(trace.trace_id, TRACE_ID);
    let main = span(&trace, "gcmd main");
    assert_eq!(main.parent_span_id.as_deref(), Some(SPAN_ID));
    assert_eq!(trace.parent(span(&trace, "gcmd sub")), Some(main));

    // So does `gcmd sub` alone, as a child would.
    let collector = self::collector(None).await;
    let traceparent = format!("00-{TRACE_ID}-{SPAN_ID}-01");
    let out = run(
        GCMD,
        &collector,
        &["sub"],
        &[("TRACEPARENT", traceparent.as_str())],
    )
    .await;
    assert!(out.status.success(), "{}", out.stderr);
    let trace = trace_of(&collector, 1).await;
    assert_eq!(trace.trace_id, TRACE_ID);
    assert_eq!(
        span(&trace, "gcmd sub").parent_span_id.as_deref(),
        Some(SPAN_ID)
    );
}
