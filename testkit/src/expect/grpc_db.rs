//! The shape of examples-grpc-with-db's trace: the client's four calls, the
//! SERVER span of each, and the database and cache spans under them.

use collector::{Span, SpanKind, Trace};

use super::store::check_store;
use super::{check_service, done, names};

const CLIENT_SERVICE: &str = "otlp-grpc-client";
const SERVER_SERVICE: &str = "otlp-grpc-server";

/// One call of the client: its method, the status code it ends with, and
/// the spans the server makes under its SERVER span, in order.
struct Call {
    method: &'static str,
    code: &'static str,
    below: &'static [&'static str],
}

const CALLS: [Call; 4] = [
    Call {
        method: "user.User/Insert",
        code: "OK",
        below: &["INSERT user"],
    },
    // Cache miss (the user is new), then the database, then the cache filled.
    Call {
        method: "user.User/Query",
        code: "OK",
        below: &["GET", "SELECT user", "SET"],
    },
    Call {
        method: "user.User/Delete",
        code: "OK",
        below: &["DELETE user", "DEL"],
    },
    // Delete(-1): refused by the validation, before any database call.
    Call {
        method: "user.User/Delete",
        code: "INVALID_ARGUMENT",
        below: &[],
    },
];

/// examples-grpc-with-db's client run with its defaults (`--name john`):
///
/// ```text
/// StartRequests (otlp-grpc-client)
/// ├── user.User/Insert (client) -> user.User/Insert (server, otlp-grpc-server) -> INSERT user
/// ├── user.User/Query (client)  -> user.User/Query  -> GET (cache, miss), SELECT user, SET (cache)
/// ├── user.User/Delete (client) -> user.User/Delete -> DELETE user, DEL (cache)
/// └── user.User/Delete (client, error INVALID_ARGUMENT) -> user.User/Delete (not an error)
/// ```
///
/// 15 spans. The gRPC spans carry `rpc.system.name` `grpc`, `rpc.method`
/// (their name) and `rpc.response.status_code`; the client's also
/// `server.address`/`server.port`, the server's `network.peer.address` and
/// the baggage it received, `baggage.uid` `100`. The only error is the last
/// CLIENT span (`INVALID_ARGUMENT`, with `error.type`); its SERVER span is
/// not one (a bad request is not the server's fault). Database spans are
/// CLIENT spans with `db.system.name` (`sqlite` on the embedded defaults;
/// `mysql` or `mariadb` by URL: the same on each), `db.namespace`,
/// `db.collection.name` `user`, `db.operation.name` and a `db.query.text`
/// of that operation; cache spans are INTERNAL (in process, the default) or
/// CLIENT with `db.system.name` `redis` (all alike), and the `GET` says
/// `cache.hit` false. No span carries the name `john`.
pub fn grpc_with_db(trace: &Trace) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let expected = 1 + CALLS.iter().map(|c| 2 + c.below.len()).sum::<usize>();
    if trace.spans.len() != expected {
        problems.push(format!(
            "expected {expected} spans, found {}: {:?}",
            trace.spans.len(),
            names(&trace.spans.iter().collect::<Vec<_>>())
        ));
    }
    let Some(root) = trace.root() else {
        problems.push("no root span".to_owned());
        return Err(problems);
    };
    if root.name != "StartRequests" || root.parent_span_id.is_some() {
        problems.push(format!(
            "root span is `{}`, expected `StartRequests` with no parent",
            root.name
        ));
    }
    check_service(root, CLIENT_SERVICE, &mut problems);

    let clients = trace.children(root);
    let got: Vec<&str> = clients.iter().map(|s| s.name.as_str()).collect();
    let wanted: Vec<&str> = CALLS.iter().map(|c| c.method).collect();
    if got != wanted {
        problems.push(format!(
            "StartRequests has children {:?}, expected CLIENT spans {wanted:?}",
            names(&clients)
        ));
    }
    // The planned failure is the one error of the trace.
    let planned = clients.last().map(|s| s.span_id.as_str());
    for span in &trace.spans {
        if span.is_error() && Some(span.span_id.as_str()) != planned {
            problems.push(format!(
                "span {} ({}, {}) has status error: {}",
                span.name, span.kind, span.service_name, span.status_message
            ));
        }
    }
    let mut served = Vec::new();
    for (call, client) in CALLS.iter().zip(clients) {
        if let Some(server) = rpc(trace, call, client, &mut problems) {
            served.push((
                server,
                call.below,
                format!("{} ({})", call.method, call.code),
            ));
        }
    }
    check_store(trace, &served, SERVER_SERVICE, &mut problems);
    done(problems)
}

/// The CLIENT span of `call`, and the one SERVER span under it, which it
/// returns; both with the RPC attributes and the status rules.
fn rpc<'t>(
    trace: &'t Trace,
    call: &Call,
    client: &Span,
    problems: &mut Vec<String>,
) -> Option<&'t Span> {
    let ok = call.code == "OK";
    if client.kind != SpanKind::Client {
        problems.push(format!(
            "the {} call span is {}, expected client",
            call.method, client.kind
        ));
    }
    check_service(client, CLIENT_SERVICE, problems);
    check_rpc(client, call, problems);
    for key in ["server.address", "server.port"] {
        if !client.attributes.contains_key(key) {
            problems.push(format!("client span {} has no {key}", call.method));
        }
    }
    // A client span is an error for any code but OK.
    check_error(client, !ok, call, problems);

    let children = trace.children(client);
    let [server] = children.as_slice() else {
        problems.push(format!(
            "the {} ({}) client span has children {:?}, expected one SERVER span",
            call.method,
            call.code,
            names(&children)
        ));
        return None;
    };
    if server.name != call.method || server.kind != SpanKind::Server {
        problems.push(format!(
            "the server span is `{}` ({}), expected `{}` (server)",
            server.name, server.kind, call.method
        ));
    }
    check_service(server, SERVER_SERVICE, problems);
    check_rpc(server, call, problems);
    if !server.attributes.contains_key("network.peer.address") {
        problems.push(format!(
            "server span {} has no network.peer.address",
            call.method
        ));
    }
    // The client's baggage arrived.
    if server.attr_str("baggage.uid") != Some("100") {
        problems.push(format!(
            "server span {} has baggage.uid {:?}, expected \"100\" (the client's baggage)",
            call.method,
            server.attributes.get("baggage.uid")
        ));
    }
    // A refused request is not the server's failure.
    check_error(server, false, call, problems);
    Some(server)
}

fn check_rpc(span: &Span, call: &Call, problems: &mut Vec<String>) {
    for (key, value) in [
        ("rpc.system.name", "grpc"),
        ("rpc.method", call.method),
        ("rpc.response.status_code", call.code),
    ] {
        if span.attr_str(key) != Some(value) {
            problems.push(format!(
                "{} span {} has {key} {:?}, expected {value}",
                span.kind,
                span.name,
                span.attributes.get(key)
            ));
        }
    }
}

/// `error` or not, with `error.type` the code's name when it is.
fn check_error(span: &Span, error: bool, call: &Call, problems: &mut Vec<String>) {
    let error_type = span.attr_str("error.type");
    if error {
        if !span.is_error() || error_type != Some(call.code) || span.status_message.is_empty() {
            problems.push(format!(
                "{} span {} ({}) is {} with error.type {error_type:?} and message {:?}, \
                 expected error, {} and the server's message",
                span.kind, span.name, call.code, span.status_code, span.status_message, call.code
            ));
        }
    } else if span.is_error() || error_type.is_some() {
        problems.push(format!(
            "{} span {} ({}) is {} with error.type {error_type:?}, expected no error",
            span.kind, span.name, call.code, span.status_code
        ));
    }
}
