//! What both with-db examples' traces share: the database and cache spans
//! under a server span, and the user's name kept out of every span.

use collector::{Span, SpanKind, Trace};

use super::{check_service, names};

/// The clients' default `--name`: no span may carry it.
const NAME: &str = "john";

/// What `db.system.name` may say on a database span.
const DB_SYSTEMS: [&str; 3] = ["sqlite", "mysql", "mariadb"];

/// Under each server span of `served` (with a label for the messages),
/// exactly the spans named, in order, all of `service`; over all of them the
/// database and cache checks; and no span of `trace` carrying [`NAME`]:
/// neither a database or cache span nor any other (the name travels in a
/// request body and an answer, never in a URL, a header or an attribute).
pub(super) fn check_store(
    trace: &Trace,
    served: &[(&Span, &[&str], String)],
    service: &str,
    problems: &mut Vec<String>,
) {
    let mut store_spans = Vec::new();
    for (server, expected, label) in served {
        let below = trace.children(server);
        let got: Vec<&str> = below.iter().map(|s| s.name.as_str()).collect();
        if got != *expected {
            problems.push(format!(
                "{label} has children {:?}, expected {expected:?}",
                names(&below)
            ));
        }
        for span in below {
            check_service(span, service, problems);
            store_spans.push(span);
        }
    }
    check_database(&store_spans, problems);
    check_cache(&store_spans, problems);
    for span in &trace.spans {
        if let Some(carrier) = carries(span, NAME) {
            problems.push(format!(
                "span {} ({}) carries the user's name `{NAME}` in {carrier}",
                span.name, span.service_name
            ));
        }
    }
}

/// The database spans (named `INSERT user` etc.): CLIENT, the semantic
/// conventions' attributes, one `db.system.name` for all.
fn check_database(spans: &[&Span], problems: &mut Vec<String>) {
    let mut systems: Vec<&str> = Vec::new();
    for span in spans.iter().filter(|s| s.name.ends_with(" user")) {
        let operation = span.name.split(' ').next().unwrap_or_default();
        if span.kind != SpanKind::Client {
            problems.push(format!(
                "span {} is {}, expected client",
                span.name, span.kind
            ));
        }
        match span.attr_str("db.system.name") {
            Some(system) if DB_SYSTEMS.contains(&system) => systems.push(system),
            other => problems.push(format!(
                "span {} has db.system.name {other:?}, expected one of {DB_SYSTEMS:?}",
                span.name
            )),
        }
        for (key, value) in [
            ("db.collection.name", "user"),
            ("db.operation.name", operation),
        ] {
            if span.attr_str(key) != Some(value) {
                problems.push(format!(
                    "span {} has {key} {:?}, expected {value}",
                    span.name,
                    span.attributes.get(key)
                ));
            }
        }
        for key in ["db.namespace", "db.query.text"] {
            if span.attr_str(key).is_none_or(str::is_empty) {
                problems.push(format!("span {} has no {key}", span.name));
            }
        }
        let text = span.attr_str("db.query.text").unwrap_or_default();
        if !text.to_ascii_uppercase().starts_with(operation) {
            problems.push(format!(
                "span {} has db.query.text {text:?}, expected a {operation} statement",
                span.name
            ));
        }
    }
    systems.dedup();
    if systems.len() > 1 {
        problems.push(format!(
            "the database spans name different systems: {systems:?}"
        ));
    }
}

/// The cache spans (`GET`, `SET`, `DEL`): all in process (INTERNAL) or all
/// on Redis (CLIENT, `db.system.name` `redis`); the `GET` was a miss.
fn check_cache(spans: &[&Span], problems: &mut Vec<String>) {
    let cache: Vec<&Span> = spans
        .iter()
        .copied()
        .filter(|s| ["GET", "SET", "DEL"].contains(&s.name.as_str()))
        .collect();
    let on_redis = cache
        .first()
        .is_some_and(|s| s.attr_str("db.system.name") == Some("redis"));
    let (kind, system) = if on_redis {
        (SpanKind::Client, Some("redis"))
    } else {
        (SpanKind::Internal, None)
    };
    for span in &cache {
        if span.kind != kind || span.attr_str("db.system.name") != system {
            problems.push(format!(
                "cache span {} is {} with db.system.name {:?}, expected {kind} with {system:?} \
                 (like the first cache span)",
                span.name,
                span.kind,
                span.attributes.get("db.system.name")
            ));
        }
    }
    if let Some(get) = cache.iter().find(|s| s.name == "GET")
        && get.attr_bool("cache.hit") != Some(false)
    {
        problems.push(format!(
            "the cache GET has cache.hit {:?}, expected false (a miss: the user is new)",
            get.attributes.get("cache.hit")
        ));
    }
}

/// Where `span` carries `value`: its status message, or the name of an
/// attribute or event that holds it, if any.
fn carries(span: &Span, value: &str) -> Option<String> {
    let holds = |v: &serde_json::Value| v.to_string().contains(value);
    if span.status_message.contains(value) {
        return Some("its status message".to_owned());
    }
    if let Some((key, _)) = span.attributes.iter().find(|(_, v)| holds(v)) {
        return Some(format!("attribute {key}"));
    }
    span.events
        .iter()
        .find(|e| e.name.contains(value) || e.attributes.values().any(holds))
        .map(|e| format!("event {}", e.name))
}
