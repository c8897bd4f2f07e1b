//! The shapes of examples-processes' and examples-provider's runs, as the
//! tour checks them (their own tests check more).

use collector::{Collector, SpanKind, Trace};

use super::{check_service, done, record_on};

/// `gproc`: the parent's INTERNAL span `gproc sub` (service `gproc`), which
/// records the child's pid and exit code 0, and under it the child's root
/// span `sub` (service `gproc-sub`), in another process; each logs its
/// GoFrame line on its own span.
pub fn processes(trace: &Trace) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if trace.spans.len() != 2 {
        problems.push(format!(
            "{} spans, expected 2 (parent and child)",
            trace.spans.len()
        ));
    }
    let Some(parent) = trace.root() else {
        return Err(vec!["no root span".to_owned()]);
    };
    if parent.name != "gproc sub" || parent.kind != SpanKind::Internal {
        problems.push(format!(
            "the root span is `{}` ({}), expected `gproc sub` (internal)",
            parent.name, parent.kind
        ));
    }
    check_service(parent, "gproc", &mut problems);
    if parent.attr_i64("process.exit.code") != Some(0) || parent.is_error() {
        problems.push(format!(
            "the parent's span has process.exit.code {:?} and status {}, expected 0 and no error",
            parent.attributes.get("process.exit.code"),
            parent.status_code
        ));
    }
    let pid_of = |span: &collector::Span| span.resource.get("process.pid").and_then(|v| v.as_i64());
    match trace.children(parent).as_slice() {
        [child] => {
            if child.name != "sub" {
                problems.push(format!(
                    "the child's span is `{}`, expected `sub`",
                    child.name
                ));
            }
            check_service(child, "gproc-sub", &mut problems);
            // The span's process.pid is the child's, and the child is another process.
            if parent.attr_i64("process.pid") != pid_of(child) || pid_of(child) == pid_of(parent) {
                problems.push(format!(
                    "the parent's span has process.pid {:?}; the child's resource {:?}, the \
                     parent's {:?}: expected the child's, another process",
                    parent.attributes.get("process.pid"),
                    pid_of(child),
                    pid_of(parent)
                ));
            }
            record_on(trace, "this is sub process", child, &mut problems);
        }
        children => problems.push(format!(
            "the parent's span has {} children, expected the child's span `sub`",
            children.len()
        )),
    }
    record_on(trace, "this is main process", parent, &mut problems);
    done(problems)
}

/// `gproc --baggage KEY=VALUE`: the child prints the baggage it received.
pub fn processes_output(stdout: &str, baggage: &str) -> Result<(), Vec<String>> {
    let expected = format!("baggage: {baggage}");
    if stdout.lines().any(|line| line == expected) {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout is {stdout:?}, expected the child's line {expected:?}"
        )])
    }
}

/// `provider-* --count N`: one line per request (`hello:john (trace ID,
/// sampled)` or `not sampled`), then `... N traces started, S sampled, S
/// exported ...`: every trace answered, and every sampled one exported.
pub fn provider_output(stdout: &str, count: usize) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let requests: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("hello:john (trace "))
        .collect();
    let sampled = requests
        .iter()
        .filter(|line| line.ends_with(", sampled)"))
        .count();
    if requests.len() != count {
        problems.push(format!(
            "{} requests answered hello:john, expected {count}:\n{stdout}",
            requests.len()
        ));
    }
    let summary = format!("{count} traces started, {sampled} sampled, {sampled} exported");
    if !stdout.lines().any(|line| line.contains(&summary)) {
        problems.push(format!("no line `{summary}` in stdout:\n{stdout}"));
    }
    if sampled == 0 {
        problems.push(format!(
            "none of {count} traces was sampled: nothing to draw"
        ));
    }
    done(problems)
}

/// The server follows the client's sampling decision (parent-based): no
/// span of `server` in the collector waits for a parent that never came.
pub fn no_orphans(collector: &Collector, server: &str) -> Result<(), Vec<String>> {
    let orphans: Vec<String> = collector
        .traces()
        .iter()
        .filter_map(|trace| {
            let root = trace.root()?;
            (root.service_name == server && root.parent_span_id.is_some()).then(|| {
                format!(
                    "{} `{}` of {server} has no parent",
                    trace.trace_id, root.name
                )
            })
        })
        .collect();
    done(orphans)
}
