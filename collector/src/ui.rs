//! The web view: one self-contained page (`GET /`) and the JSON API it and
//! scripts use.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/traces?service=S&limit=N` | summaries, newest first |
//! | `GET /api/traces/{id}` | one trace, spans in tree order with offsets, each with its log records; 404 if unknown |
//! | `GET /api/logs?limit=N` | the last log records of no trace, newest last |
//! | `GET /api/services` | the service names of all stored traces |
//!
//! Span names, attributes, log bodies and service names are untrusted input: the page
//! builds its DOM with `textContent` only, and the Content-Security-Policy
//! allows no script but the page's own (named by its SHA-256 hash), so
//! injected markup could not run even if it reached the DOM.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Router, http::Method};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::model::{Attributes, LogRecord, Span, TraceSummary};
use crate::store::Store;

/// The page, with its CSS and JavaScript inline.
const PAGE: &str = include_str!("ui/index.html");

/// `Content-Security-Policy` for the page: nothing but its own inline
/// script and style (by hash) and requests back to this server.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        csp_hash(inline_block(PAGE, "script")),
        csp_hash(inline_block(PAGE, "style")),
    )
});

/// API answers are data, never a document.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub(crate) fn router(store: Store) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/traces", get(list_traces))
        .route("/api/traces/{id}", get(one_trace))
        .route("/api/logs", get(list_logs))
        .route("/api/services", get(services))
        .fallback(not_found)
        .with_state(store)
        .layer(middleware::from_fn(security_headers))
}

/// Headers on every answer: no MIME sniffing, no framing, no referrer, a
/// strict CSP, and no caching (the data changes all the time).
async fn security_headers(request: Request, next: Next) -> Response {
    let is_page = request.method() == Method::GET && request.uri().path() == "/";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let csp = if is_page {
        HeaderValue::from_str(&PAGE_CSP).unwrap_or(HeaderValue::from_static(API_CSP))
    } else {
        HeaderValue::from_static(API_CSP)
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    service: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
struct TraceList {
    traces: Vec<TraceSummary>,
    /// Older traces evicted so far to stay within the collector's bounds.
    evicted_traces: u64,
    /// Older log records evicted so far to stay within `--max-logs`.
    evicted_log_records: u64,
}

/// From the summaries the store keeps up to date: never walks spans.
async fn list_traces(State(store): State<Store>, Query(query): Query<ListQuery>) -> Response {
    let service = query.service.filter(|s| !s.is_empty());
    let mut traces: Vec<TraceSummary> = store
        .summaries()
        .into_iter()
        .filter(|t| {
            service
                .as_ref()
                .is_none_or(|wanted| t.services.contains(wanted))
        })
        .collect();
    // Newest first; arrival order breaks ties (the store keeps oldest first).
    traces.reverse();
    traces.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nano));
    if let Some(limit) = query.limit {
        traces.truncate(limit);
    }
    Json(TraceList {
        traces,
        evicted_traces: store.evicted_traces(),
        evicted_log_records: store.evicted_logs(),
    })
    .into_response()
}

/// A span as the waterfall draws it: the stored span plus its place in the
/// tree and on the trace's time axis.
#[derive(Debug, Serialize)]
struct WaterfallSpan<'a> {
    #[serde(flatten)]
    span: &'a Span,
    /// 0 for a root (or a span whose parent is not in the trace).
    depth: usize,
    /// Start relative to the trace's earliest start.
    offset_nanos: u64,
    duration_nanos: u64,
    /// Its log records, in time order.
    logs: Vec<SpanLog<'a>>,
}

/// A log record of a span as the detail panel and the bar's marks show it.
#[derive(Debug, Serialize)]
struct SpanLog<'a> {
    time_unix_nano: u64,
    /// Time relative to the trace's earliest span start (0 if before it).
    offset_nanos: u64,
    severity: &'a str,
    severity_number: i32,
    body: &'a str,
    attributes: &'a Attributes,
}

impl<'a> SpanLog<'a> {
    fn new(log: &'a LogRecord, start: u64) -> Self {
        SpanLog {
            time_unix_nano: log.time_unix_nano,
            offset_nanos: log.time_unix_nano.saturating_sub(start),
            severity: &log.severity,
            severity_number: log.severity_number,
            body: &log.body,
            attributes: &log.attributes,
        }
    }
}

/// A log record of the trace that belongs to none of its spans.
#[derive(Debug, Serialize)]
struct TraceLog<'a> {
    #[serde(flatten)]
    log: SpanLog<'a>,
    span_id: Option<&'a str>,
    service_name: &'a str,
    scope_name: &'a str,
}

#[derive(Debug, Serialize)]
struct TraceDetail<'a> {
    trace_id: &'a str,
    start_unix_nano: u64,
    duration_nanos: u64,
    services: BTreeSet<String>,
    complete: bool,
    /// Spans not kept: the trace reached the per-trace limit.
    dropped_spans: u64,
    /// Depth first, children by start time: the order of the waterfall.
    spans: Vec<WaterfallSpan<'a>>,
    /// Log records of the trace, all of them (each span lists its own).
    log_records: usize,
    /// Log records not kept: the trace reached the per-trace limit.
    dropped_log_records: u64,
    /// The records that belong to none of the spans (no span id, or one
    /// the trace does not have), in time order.
    logs: Vec<TraceLog<'a>>,
}

async fn one_trace(State(store): State<Store>, Path(id): Path<String>) -> Response {
    let Some(trace) = store.trace(&id) else {
        return api_error(StatusCode::NOT_FOUND, format!("no trace with id {id:?}"));
    };
    let (start, end) = trace.bounds();
    let (by_span, unattached) = trace.logs_by_span();
    let spans = trace
        .tree()
        .into_iter()
        .map(|row| WaterfallSpan {
            span: row.span,
            depth: row.depth,
            offset_nanos: row.span.start_unix_nano.saturating_sub(start),
            duration_nanos: row
                .span
                .duration()
                .as_nanos()
                .try_into()
                .unwrap_or(u64::MAX),
            logs: by_span
                .get(row.span.span_id.as_str())
                .map(|logs| logs.iter().map(|l| SpanLog::new(l, start)).collect())
                .unwrap_or_default(),
        })
        .collect();
    let logs = unattached
        .into_iter()
        .map(|l| TraceLog {
            log: SpanLog::new(l, start),
            span_id: l.span_id.as_deref(),
            service_name: &l.service_name,
            scope_name: &l.scope_name,
        })
        .collect();
    Json(TraceDetail {
        trace_id: &trace.trace_id,
        start_unix_nano: start,
        duration_nanos: end.saturating_sub(start),
        services: trace.services(),
        complete: trace.is_complete(),
        dropped_spans: trace.dropped_spans,
        spans,
        log_records: trace.logs.len(),
        dropped_log_records: trace.dropped_logs,
        logs,
    })
    .into_response()
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    limit: Option<usize>,
}

/// Records listed by `/api/logs` when no limit is given.
const DEFAULT_LOGS_LIMIT: usize = 1000;

#[derive(Debug, Serialize)]
struct LogList {
    /// The last records of no trace, oldest first.
    logs: Vec<LogRecord>,
    /// Records of no trace stored (the list may show fewer: `limit`).
    total: usize,
    /// Older records (of traces or not) evicted so far to stay within
    /// `--max-logs`.
    evicted_log_records: u64,
}

async fn list_logs(State(store): State<Store>, Query(query): Query<LogsQuery>) -> Response {
    let (logs, total) = store.last_logs(query.limit.unwrap_or(DEFAULT_LOGS_LIMIT));
    Json(LogList {
        logs,
        total,
        evicted_log_records: store.evicted_logs(),
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct ServiceList {
    services: BTreeSet<String>,
}

async fn services(State(store): State<Store>) -> Json<ServiceList> {
    Json(ServiceList {
        services: store
            .summaries()
            .into_iter()
            .flat_map(|summary| summary.services)
            .collect(),
    })
}

async fn not_found(request: Request) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        format!(
            "no such page: {}; try /, /api/traces or /api/logs",
            request.uri().path()
        ),
    )
}

#[derive(Debug, Serialize)]
struct ApiError {
    error: String,
}

fn api_error(status: StatusCode, error: String) -> Response {
    (status, Json(ApiError { error })).into_response()
}

/// The text between `<tag>` and `</tag>` in the page (empty if absent).
fn inline_block<'a>(page: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    page.find(&open)
        .map(|at| &page[at + open.len()..])
        .and_then(|rest| rest.find(&close).map(|end| &rest[..end]))
        .unwrap_or_default()
}

/// A CSP source that allows exactly this inline block: `sha256-BASE64`.
fn csp_hash(block: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, block.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{SpanKind, StatusCode, Trace, Transport};

    fn span(id: &str, parent: Option<&str>, start: u64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: id.into(),
            kind: SpanKind::Internal,
            start_unix_nano: start,
            end_unix_nano: start + 10,
            attributes: BTreeMap::new(),
            events: vec![],
            status_code: StatusCode::Unset,
            status_message: String::new(),
            service_name: "svc".into(),
            resource: Default::default(),
            scope_name: String::new(),
            transport: Transport::Grpc,
            path: String::new(),
        }
    }

    fn names(trace: &Trace) -> Vec<(String, usize)> {
        trace
            .tree()
            .into_iter()
            .map(|row| (row.span.name.clone(), row.depth))
            .collect()
    }

    #[test]
    fn spans_are_ordered_depth_first_by_start() {
        let trace = Trace {
            trace_id: "t".into(),
            spans: vec![
                span("b2", Some("b"), 5),
                span("b", Some("root"), 4),
                span("a", Some("root"), 2),
                span("root", None, 1),
                span("a1", Some("a"), 3),
                span("orphan", Some("elsewhere"), 0),
            ],
            dropped_spans: 0,
            logs: vec![],
            dropped_logs: 0,
        };
        let expected = [
            ("orphan", 0),
            ("root", 0),
            ("a", 1),
            ("a1", 2),
            ("b", 1),
            ("b2", 2),
        ];
        let expected: Vec<(String, usize)> = expected
            .iter()
            .map(|(n, d)| ((*n).to_owned(), *d))
            .collect();
        assert_eq!(names(&trace), expected);
    }

    #[test]
    fn a_parent_cycle_still_lists_every_span_once() {
        let trace = Trace {
            trace_id: "t".into(),
            spans: vec![span("x", Some("y"), 1), span("y", Some("x"), 2)],
            dropped_spans: 0,
            logs: vec![],
            dropped_logs: 0,
        };
        assert_eq!(
            names(&trace),
            vec![("x".to_owned(), 0), ("y".to_owned(), 1)]
        );
    }

    #[test]
    fn the_page_has_one_inline_script_and_style_and_no_outside_resource() {
        assert_eq!(PAGE.matches("<script>").count(), 1);
        assert_eq!(PAGE.matches("<style>").count(), 1);
        assert!(!inline_block(PAGE, "script").is_empty());
        assert!(!inline_block(PAGE, "style").is_empty());
        for outside in [
            "http://",
            "https://",
            "//cdn",
            "src=",
            "innerHTML",
            "outerHTML",
        ] {
            assert!(!PAGE.contains(outside), "the page contains {outside:?}");
        }
        assert!(PAGE_CSP.contains("script-src 'sha256-"));
        assert!(!PAGE_CSP.contains("unsafe"));
    }

    #[test]
    fn csp_hash_matches_a_known_digest() {
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        assert_eq!(
            csp_hash("alert(1)"),
            "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI="
        );
    }
}
