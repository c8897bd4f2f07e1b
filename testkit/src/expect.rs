//! The documented shape of each example's trace, checked by the tests and
//! the tour. Each check returns every difference it found, in words.

use collector::{LogRecord, Span, SpanKind, Trace, text};

mod docs_tree_2;
mod grpc_db;
mod http_db;
mod store;

pub use docs_tree_2::{no_orphans, processes, processes_output, provider_output};
pub use grpc_db::grpc_with_db;
pub use http_db::http_with_db;

/// Attribute every user span carries.
const USER_ID: &str = "user.id";

/// The in-process examples: root `main` with `GetUser(1)` then `GetUser(100)`,
/// each with `GetInfo`, `GetDetail`, `GetScores` (9 spans), all of
/// `service`, every user span with the right `user.id`.
pub fn inprocess(trace: &Trace, service: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if trace.spans.len() != 9 {
        problems.push(format!("expected 9 spans, found {}", trace.spans.len()));
    }
    for span in &trace.spans {
        if span.service_name != service {
            problems.push(format!(
                "span {} has service `{}`, expected `{service}`",
                span.name, span.service_name
            ));
        }
    }
    let Some(root) = trace.root() else {
        problems.push("no root span".to_owned());
        return Err(problems);
    };
    if root.name != "main" || root.parent_span_id.is_some() {
        problems.push(format!(
            "root span is `{}`, expected `main` with no parent",
            root.name
        ));
    }
    let users = trace.children(root);
    let names: Vec<&str> = users.iter().map(|s| s.name.as_str()).collect();
    if names != ["GetUser", "GetUser"] {
        problems.push(format!(
            "`main` has children {}, expected GetUser, GetUser",
            listed(&names)
        ));
    }
    for (user, id) in users.iter().zip([1, 100]) {
        check_user_id(user, id, &mut problems);
        let parts = trace.children(user);
        let mut part_names: Vec<&str> = parts.iter().map(|s| s.name.as_str()).collect();
        part_names.sort_unstable();
        if part_names != ["GetDetail", "GetInfo", "GetScores"] {
            problems.push(format!(
                "GetUser({id}) has children {}, expected GetInfo, GetDetail, GetScores",
                listed(&part_names)
            ));
        }
        for part in parts {
            check_user_id(part, id, &mut problems);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_user_id(span: &Span, id: i64, problems: &mut Vec<String>) {
    if span.attr_i64(USER_ID) != Some(id) {
        problems.push(format!(
            "span {} has {USER_ID} {}, expected {id}",
            span.name,
            shown(span.attributes.get(USER_ID))
        ));
    }
}

/// The in-process examples' log records: `GetUser(1): not found` and
/// `GetUser(100): found` at INFO, each on the root span `main` of `trace`
/// (its trace id and span id), sent by `service`; with `user_not_found`
/// (the `tracing` example) also `user not found` on `GetUser(1)`.
pub fn inprocess_logs(
    trace: &Trace,
    service: &str,
    user_not_found: bool,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let Some(root) = trace.root() else {
        return Err(vec!["no root span".to_owned()]);
    };
    let users = trace.children(root);
    let mut expected = vec![
        ("GetUser(1): not found", root),
        ("GetUser(100): found", root),
    ];
    if user_not_found {
        match users.first() {
            Some(user) => expected.push(("user not found", user)),
            None => problems.push("no GetUser span for `user not found`".to_owned()),
        }
    }
    for (body, span) in &expected {
        let Some(log) = record_on(trace, body, span, &mut problems) else {
            continue;
        };
        if log.severity != "INFO" || log.service_name != service {
            problems.push(format!(
                "`{body}` is {} from `{}`, expected INFO from `{service}`",
                log.severity, log.service_name
            ));
        }
    }
    if trace.logs.len() != expected.len() {
        let bodies: Vec<&str> = trace.logs.iter().map(|l| l.body.as_str()).collect();
        problems.push(format!(
            "expected {} log records, found {}: {}",
            expected.len(),
            bodies.len(),
            listed(&bodies)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The in-process examples' stdout: exactly the two users as JSON, `{}`
/// (user 1 does not exist) then user 100.
pub fn inprocess_output(stdout: &str) -> Result<(), Vec<String>> {
    let values: Vec<serde_json::Value> = match serde_json::Deserializer::from_str(stdout)
        .into_iter()
        .collect::<Result<_, _>>()
    {
        Ok(values) => values,
        Err(error) => {
            return Err(vec![format!(
                "stdout is not a sequence of JSON values: {error}"
            )]);
        }
    };
    let expected = [
        serde_json::json!({}),
        serde_json::json!({"id":100,"name":"john","gender":1,"site":"https://goframe.org",
                           "email":"john@goframe.org","math":100,"english":60,"chinese":50}),
    ];
    if values == expected {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout holds {}, expected {{}} then user 100",
            listed(&values.iter().map(ToString::to_string).collect::<Vec<_>>())
        )])
    }
}

/// The span names of a chain, for messages.
/// An attribute's value in plain words: `200`, `GET`, or `none`.
fn shown(value: Option<&serde_json::Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Names in plain words: `a, b` or `none`.
fn listed(names: &[impl AsRef<str>]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<&str>>()
        .join(", ")
}

fn names(spans: &[&Span]) -> Vec<String> {
    spans
        .iter()
        .map(|s| format!("{} ({}, {})", s.name, s.kind, s.service_name))
        .collect()
}

/// Walks `StartRequests -> GET (client) -> GET <route> (server)` and returns
/// the three spans, recording every difference in `problems`.
fn request_chain<'t>(
    trace: &'t Trace,
    client_service: &str,
    server_service: &str,
    route: &str,
    problems: &mut Vec<String>,
) -> Option<[&'t Span; 3]> {
    let Some(root) = trace.root() else {
        problems.push("no root span".to_owned());
        return None;
    };
    if root.name != "StartRequests" || root.parent_span_id.is_some() {
        problems.push(format!(
            "root span is `{}`, expected `StartRequests` with no parent",
            root.name
        ));
    }
    check_service(root, client_service, problems);
    let children = trace.children(root);
    let [client] = children.as_slice() else {
        problems.push(format!(
            "StartRequests has children {}, expected one CLIENT span `GET`",
            listed(&names(&children))
        ));
        return None;
    };
    if client.name != "GET" || client.kind != SpanKind::Client {
        problems.push(format!(
            "the request span is `{}` ({}), expected `GET` (client)",
            client.name, client.kind
        ));
    }
    check_service(client, client_service, problems);
    if client.attr_str("http.request.method") != Some("GET") {
        problems.push(format!(
            "client span has http.request.method {}, expected GET",
            shown(client.attributes.get("http.request.method"))
        ));
    }
    match client.attr_str("url.full") {
        Some(url) if url.ends_with(route) => {}
        other => problems.push(format!(
            "client span has url.full {}, expected a URL ending in {route}",
            other.unwrap_or("none")
        )),
    }
    let children = trace.children(client);
    let [server] = children.as_slice() else {
        problems.push(format!(
            "the client span has children {}, expected one SERVER span `GET {route}`",
            listed(&names(&children))
        ));
        return None;
    };
    let expected_name = format!("GET {route}");
    if server.name != expected_name || server.kind != SpanKind::Server {
        problems.push(format!(
            "the server span is `{}` ({}), expected `{expected_name}` (server)",
            server.name, server.kind
        ));
    }
    check_service(server, server_service, problems);
    for (key, value) in [("http.route", route), ("url.path", route)] {
        if server.attr_str(key) != Some(value) {
            problems.push(format!(
                "server span has {key} {}, expected {value}",
                shown(server.attributes.get(key))
            ));
        }
    }
    Some([root, client, server])
}

fn check_service(span: &Span, service: &str, problems: &mut Vec<String>) {
    if span.service_name != service {
        problems.push(format!(
            "span {} has service `{}`, expected `{service}`",
            span.name, span.service_name
        ));
    }
}

fn check_status_code(span: &Span, code: i64, problems: &mut Vec<String>) {
    if span.attr_i64("http.response.status_code") != Some(code) {
        problems.push(format!(
            "span {} has http.response.status_code {}, expected {code}",
            span.name,
            shown(span.attributes.get("http.response.status_code"))
        ));
    }
}

fn done(problems: Vec<String>) -> Result<(), Vec<String>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The one log record of `trace` with `body`, when it is on `span` of the
/// trace; every difference goes to `problems`.
fn record_on<'t>(
    trace: &'t Trace,
    body: &str,
    span: &Span,
    problems: &mut Vec<String>,
) -> Option<&'t LogRecord> {
    let found: Vec<&LogRecord> = trace.logs.iter().filter(|log| log.body == body).collect();
    let [log] = found.as_slice() else {
        problems.push(format!(
            "expected one log record `{body}`, found {}",
            found.len()
        ));
        return None;
    };
    if log.trace_id.as_deref() != Some(trace.trace_id.as_str())
        || log.span_id.as_deref() != Some(span.span_id.as_str())
    {
        problems.push(format!(
            "`{body}` is on span {} of trace {}, expected {} ({}) of {}",
            log.span_id.as_deref().unwrap_or("none"),
            log.trace_id.as_deref().unwrap_or("none"),
            span.name,
            span.span_id,
            trace.trace_id
        ));
        return None;
    }
    Some(log)
}

/// The log records of one `/hello` call: the client's `answer: {answer}` on
/// its root span `StartRequests`, the server's `HelloHandler: name="{name}"`
/// on `HelloHandler`, both with the trace's id.
pub fn http_logs(trace: &Trace, answer: &str, name: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let client = format!("answer: {answer}");
    let server = format!("HelloHandler: name=\"{name}\"");
    for (body, span_name) in [(&client, "StartRequests"), (&server, "HelloHandler")] {
        let Some(span) = trace.span_named(span_name) else {
            problems.push(format!("no span {span_name} for `{body}`"));
            continue;
        };
        record_on(trace, body, span, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `examples-http` and `examples-otlp`: one trace across two processes,
/// `StartRequests` -> `GET` (CLIENT) in `client_service`, then
/// `GET /hello` (SERVER) -> `HelloHandler` in `server_service`; 4 spans,
/// none an error, status code 200 on both request spans.
pub fn http_request(
    trace: &Trace,
    client_service: &str,
    server_service: &str,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if trace.spans.len() != 4 {
        problems.push(format!("expected 4 spans, found {}", trace.spans.len()));
    }
    let Some([_, client, server]) = request_chain(
        trace,
        client_service,
        server_service,
        "/hello",
        &mut problems,
    ) else {
        return Err(problems);
    };
    check_status_code(client, 200, &mut problems);
    check_status_code(server, 200, &mut problems);
    let children = trace.children(server);
    match children.as_slice() {
        [handler] if handler.name == "HelloHandler" => {
            check_service(handler, server_service, &mut problems)
        }
        _ => problems.push(format!(
            "the server span has children {}, expected `HelloHandler`",
            listed(&names(&children))
        )),
    }
    for span in &trace.spans {
        if span.is_error() {
            problems.push(format!(
                "span {} has status error: {}",
                span.name, span.status_message
            ));
        }
    }
    done(problems)
}

/// The failing route: `StartRequests` -> `GET` -> `GET /error`, 3 spans, all
/// with status Error; both request spans carry status code 500, the server
/// span records the cause as an `exception` event.
pub fn http_error(
    trace: &Trace,
    client_service: &str,
    server_service: &str,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if trace.spans.len() != 3 {
        problems.push(format!("expected 3 spans, found {}", trace.spans.len()));
    }
    let Some(chain) = request_chain(
        trace,
        client_service,
        server_service,
        "/error",
        &mut problems,
    ) else {
        return Err(problems);
    };
    for span in chain {
        if !span.is_error() {
            problems.push(format!(
                "span {} ({}) has status `{}`, expected error",
                span.name, span.service_name, span.status_code
            ));
        }
    }
    let [_, client, server] = chain;
    check_status_code(client, 500, &mut problems);
    check_status_code(server, 500, &mut problems);
    if client.attr_str("error.type") != Some("500") {
        problems.push(format!(
            "client span has error.type {}, expected 500",
            shown(client.attributes.get("error.type"))
        ));
    }
    let recorded = server.events.iter().any(|event| {
        event.name == "exception"
            && event
                .attributes
                .get("exception.message")
                .and_then(|m| m.as_str())
                .is_some_and(|m| !m.is_empty())
    });
    if !recorded {
        problems.push(format!(
            "the server span has no `exception` event with a message (its events: {})",
            server
                .events
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    done(problems)
}

/// A client's stdout: exactly the server's answer, e.g. `hello:GoFrame`.
pub fn http_output(stdout: &str, answer: &str) -> Result<(), Vec<String>> {
    if stdout.trim_end() == answer && stdout.lines().count() == 1 {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout is `{}`, expected `{answer}`",
            text::escape(stdout.trim_end())
        )])
    }
}

/// The with-db clients' stdout: one line per call, in call order, each
/// starting as `prefixes` say (`insert id: `, `query result: `, ...).
fn db_output(stdout: &str, prefixes: &[&str]) -> Result<(), Vec<String>> {
    let lines: Vec<&str> = stdout.lines().collect();
    let matches = lines.len() == prefixes.len()
        && lines
            .iter()
            .zip(prefixes)
            .all(|(line, prefix)| line.starts_with(prefix));
    if matches {
        Ok(())
    } else {
        Err(vec![format!(
            "stdout is `{}`, expected one line each starting {}",
            text::escape(stdout.trim_end()),
            listed(prefixes)
        )])
    }
}

/// examples-grpc-with-db's client: Insert, Query, Delete, and the refused
/// Delete(-1).
pub fn grpc_db_output(stdout: &str) -> Result<(), Vec<String>> {
    db_output(
        stdout,
        &[
            "insert id: ",
            "query result: ",
            "delete id: ",
            "delete id: -1",
        ],
    )
}

/// examples-http-with-db's client: insert, query, delete.
pub fn http_db_output(stdout: &str) -> Result<(), Vec<String>> {
    db_output(stdout, &["insert id: ", "query result: ", "delete id: "])
}
