//! The shape of examples-http-with-db's trace: the client's three calls,
//! the server span of each, and the database and cache spans under them.

use collector::{Span, SpanKind, Trace};

use super::store::check_store;
use super::{check_service, check_status_code, done, names};

const CLIENT_SERVICE: &str = "otlp-http-client-with-db";
const SERVER_SERVICE: &str = "otlp-http-server-with-db";

/// One call of the client: its method and route, and the spans the server
/// makes under its server span, in order.
struct Call {
    method: &'static str,
    route: &'static str,
    below: &'static [&'static str],
}

const CALLS: [Call; 3] = [
    Call {
        method: "POST",
        route: "/user/insert",
        below: &["INSERT user"],
    },
    // Cache miss (the user is new), then the database, then the cache filled.
    Call {
        method: "GET",
        route: "/user/query",
        below: &["GET", "SELECT user", "SET"],
    },
    Call {
        method: "POST",
        route: "/user/delete",
        below: &["DELETE user", "DEL"],
    },
];

/// examples-http-with-db's client run with its defaults (`--name john`):
///
/// ```text
/// StartRequests (otlp-http-client-with-db)
/// ├── POST (client) -> POST /user/insert (server, otlp-http-server-with-db) -> INSERT user
/// ├── GET (client)  -> GET /user/query   -> GET (cache, miss), SELECT user, SET (cache)
/// └── POST (client) -> POST /user/delete -> DELETE user, DEL (cache)
/// ```
///
/// 13 spans, none an error, status 200 on every request span. Database
/// spans are CLIENT spans with `db.system.name` (`sqlite` on the embedded
/// defaults; `mysql` or `mariadb` by URL: the same on each), `db.namespace`,
/// `db.collection.name` `user`, `db.operation.name` and `db.query.text`;
/// cache spans are INTERNAL (in process, the default) or CLIENT with
/// `db.system.name` `redis` (all alike), and the `GET` says `cache.hit`
/// false. No span (database, cache or any other) carries the name `john`.
pub fn http_with_db(trace: &Trace) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let expected = 1 + CALLS.iter().map(|c| 2 + c.below.len()).sum::<usize>();
    if trace.spans.len() != expected {
        problems.push(format!(
            "expected {expected} spans, found {}: {:?}",
            trace.spans.len(),
            names(&trace.spans.iter().collect::<Vec<_>>())
        ));
    }
    for span in &trace.spans {
        if span.is_error() {
            problems.push(format!(
                "span {} ({}) has status error: {}",
                span.name, span.service_name, span.status_message
            ));
        }
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
    let got: Vec<String> = clients.iter().map(|s| s.name.clone()).collect();
    let wanted: Vec<&str> = CALLS.iter().map(|c| c.method).collect();
    if got != wanted {
        problems.push(format!(
            "StartRequests has children {:?}, expected CLIENT spans {wanted:?}",
            names(&clients)
        ));
    }
    let mut served = Vec::new();
    for (call, client) in CALLS.iter().zip(clients) {
        if let Some(server) = request(trace, call, client, &mut problems) {
            served.push((
                server,
                call.below,
                format!("{} {}", call.method, call.route),
            ));
        }
    }
    check_store(trace, &served, SERVER_SERVICE, &mut problems);
    done(problems)
}

/// The CLIENT span of `call` and the one SERVER span under it, which it returns.
fn request<'t>(
    trace: &'t Trace,
    call: &Call,
    client: &Span,
    problems: &mut Vec<String>,
) -> Option<&'t Span> {
    if client.kind != SpanKind::Client {
        problems.push(format!(
            "the {} request span is {}, expected client",
            call.route, client.kind
        ));
    }
    check_service(client, CLIENT_SERVICE, problems);
    if client.attr_str("http.request.method") != Some(call.method) {
        problems.push(format!(
            "client span of {} has http.request.method {:?}, expected {}",
            call.route,
            client.attributes.get("http.request.method"),
            call.method
        ));
    }
    let path = client
        .attr_str("url.full")
        .and_then(|url| url.split_once("://"))
        .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]));
    let path_ok = path.is_some_and(|path| {
        path.split('?').next() == Some(call.route)
            && (call.method == "POST" || path.contains("?id="))
    });
    if !path_ok {
        problems.push(format!(
            "client span has url.full {:?}, expected a URL with path {}",
            client.attributes.get("url.full"),
            call.route
        ));
    }
    check_status_code(client, 200, problems);

    let children = trace.children(client);
    let expected = format!("{} {}", call.method, call.route);
    let [server] = children.as_slice() else {
        problems.push(format!(
            "the {} client span has children {:?}, expected one SERVER span `{expected}`",
            call.route,
            names(&children)
        ));
        return None;
    };
    if server.name != expected || server.kind != SpanKind::Server {
        problems.push(format!(
            "the server span is `{}` ({}), expected `{expected}` (server)",
            server.name, server.kind
        ));
    }
    check_service(server, SERVER_SERVICE, problems);
    if server.attr_str("http.route") != Some(call.route) {
        problems.push(format!(
            "server span {} has http.route {:?}, expected {}",
            server.name,
            server.attributes.get("http.route"),
            call.route
        ));
    }
    check_status_code(server, 200, problems);
    Some(server)
}
