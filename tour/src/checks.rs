//! What the tour checks beyond the documented span tree of
//! `testkit::expect`: how the spans reached the collector (transport, URL
//! path, token), and a client's output when its call is meant to fail.

use collector::{Collector, GRPC_EXPORT_PATH, Trace, Transport, text};

/// Every problem of every check, or `Ok` if there is none.
pub(crate) fn all(
    checks: impl IntoIterator<Item = Result<(), Vec<String>>>,
) -> Result<(), Vec<String>> {
    let problems: Vec<String> = checks
        .into_iter()
        .filter_map(Result::err)
        .flatten()
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Every span of `service` arrived over `transport`, on `path` (for HTTP).
pub(crate) fn arrived_via(
    trace: &Trace,
    service: &str,
    transport: Transport,
    path: &str,
) -> Result<(), Vec<String>> {
    let wrong: Vec<String> = trace
        .spans
        .iter()
        .filter(|s| s.service_name == service)
        .filter(|s| s.transport != transport || s.path != path)
        .map(|s| {
            format!(
                "span {} of {service} arrived via {} {}, expected {transport} {path}",
                s.name, s.transport, s.path
            )
        })
        .collect();
    if wrong.is_empty() { Ok(()) } else { Err(wrong) }
}

/// Spans of `service` came over OTLP/gRPC.
pub(crate) fn arrived_via_grpc(trace: &Trace, service: &str) -> Result<(), Vec<String>> {
    arrived_via(trace, service, Transport::Grpc, GRPC_EXPORT_PATH)
}

/// An export request over gRPC carried `token` as `authentication` metadata.
pub(crate) fn token_arrived(collector: &Collector, token: &str) -> Result<(), Vec<String>> {
    let carried = collector.requests().iter().any(|r| {
        r.transport == Transport::Grpc
            && r.headers.get("authentication").map(String::as_str) == Some(token)
    });
    if carried {
        Ok(())
    } else {
        Err(vec![
            "no OTLP/gRPC request carried the token as `authentication` metadata".to_owned(),
        ])
    }
}

/// A client call meant to fail: nothing on stdout.
pub(crate) fn no_output(stdout: &str) -> Result<(), Vec<String>> {
    if stdout.is_empty() {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout is `{}`, expected nothing",
            text::escape(stdout.trim_end())
        )])
    }
}
