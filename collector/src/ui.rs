//! The web view: one self-contained page (`GET /`) and the JSON API it and
//! scripts use.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/traces?service=S&span=NAME&attr=KEY=VALUE&min_duration_ms=M&max_duration_ms=M&errors=true&run=N&limit=N` | summaries of the matching traces (each with its `run`), newest first; every parameter optional, all combined with AND (`attr` repeatable; see [`TraceQuery`]); a bad one is a 400 that says what is wrong |
//! | `POST /api/traces` | a file of traces or log records (see [`crate::file_format`]: one OTLP/JSON export request, or JSON Lines of `TracesData`/`LogsData`; `Content-Encoding: gzip` or gzip bytes), up to [`crate::CollectorConfig::max_upload_bytes`] (256 MiB) before and after gzip; answers `{"trace_ids": [...], "spans": N, "log_records": N}` |
//! | `GET /api/traces/{id}?offset=N&limit=N` | one trace, spans in tree order with offsets, each with its log records and a `critical_path` flag (its stretches in `critical_sections`); `offset` and `limit` (optional) ask for a page of the spans, `span_count` says how many there are; gzip-compressed when the client accepts it; 404 if unknown |
//! | `GET /api/traces/{id}/stats` | where the trace's time goes (see [`crate::analysis`]): its duration, count, total, self, min, avg and max time per service and per operation, the flame graph's frames, and the sentence that says why it took as long as it did (`summary`: parts of text, each span named with its id); 404 if unknown |
//! | `GET /api/traces/{id}/otlp` | one trace as compact OTLP/JSON (an `ExportTraceServiceRequest`: hex ids, its resources and scopes), as a download; `POST` it to any OTLP/HTTP `/v1/traces` |
//! | `GET /api/export?run=N` | everything stored as JSON Lines (a `TracesData` line per trace, `LogsData` lines for the log records), as a download that `--load` and the upload take back; with `run`, the traces of that run and the log records of no trace that came in it |
//! | `GET /api/runs` | the runs (each start of the collector on its `--store` file; just run 1 without): `[{"run", "started_unix_nano", "traces", "current"}]` |
//! | `GET /api/traces/{id}/previous` | the trace to compare with: `{"trace_id", "run"}` of the latest trace with the same root (service and span name) in the nearest earlier run that has one; 404 saying why when there is none |
//! | `GET /api/dependencies` | the calls between services: `[{"parent", "child", "calls"}]`, from parent/child spans of different services |
//! | `GET /api/map` | the service map with databases and caches: `{"nodes": [{"name", "kind", "calls", "errors"}], "edges": [{"from", "to", "calls", "errors", "methods"}]}`; `kind` is `service`, `database` or `cache` (see `map`) |
//! | `GET /api/stream` | server-sent events: `trace` with the summary of each new or updated trace, `resync` when some were skipped (reload the list); a comment every 15 s; at most 16 streams at once (503 beyond); a client that takes nothing for a minute loses its stream |
//! | `GET /api/logs?service=S&severity=WARN&q=TEXT&limit=N` | the last log records of no trace that match, newest last; `severity` is a minimum (a name or a number 1-24), `q` a substring of the body in any case; a bad or unknown parameter is a 400 |
//! | `GET /api/services` | the service names of all stored traces |
//! | `GET /favicon.svg`, `GET /favicon.ico` | the page's icon (SVG) |
//!
//! Every error answer is JSON, `{"error": "..."}`, saying what was wrong
//! and what to do; a 405 carries `Allow`.
//!
//! Span names, attributes, log bodies and service names are untrusted input: the page
//! builds its DOM with `textContent` only, and the Content-Security-Policy
//! allows no script but the page's own (named by its SHA-256 hash), so
//! injected markup could not run even if it reached the DOM.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest as _, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::get;
use axum::{Router, http::Method};
use base64::Engine as _;
use hyper::body::Frame;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use crate::model::{Attributes, LogRecord, Span, TraceSummary};
use crate::search::{LogQuery, TraceQuery};
use crate::store::Store;

/// The page, with its CSS and JavaScript inline.
mod runs;

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

/// Event streams (`/api/stream`) open at once; one more gets 503.
pub(crate) const MAX_STREAMS: usize = 16;
/// A comment on an event stream with nothing else to say for this long,
/// so that proxies and the idle timeout keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Trace summaries sent at once on a stream; when more traces changed
/// meanwhile (a slow reader), only the latest, after a `resync` event.
const MAX_EVENTS: usize = 200;
/// Traces listed by `/api/traces` when no limit is given.
const DEFAULT_LIST_LIMIT: usize = 1000;

/// What the handlers share.
#[derive(Debug, Clone)]
struct Ui {
    store: Store,
    /// Permits for open event streams.
    streams: Arc<Semaphore>,
    /// Permits for reads of whole traces: [`heavy_reads`].
    heavy: Arc<Semaphore>,
    /// Turns true when the collector shuts down: streams end.
    stopped: watch::Receiver<bool>,
    /// The largest upload, before and after gzip.
    max_upload_bytes: usize,
    /// A stream whose client takes nothing for this long ends.
    stream_stall: Duration,
}

pub(crate) fn router(
    store: Store,
    stopped: watch::Receiver<bool>,
    max_upload_bytes: usize,
    stream_stall: Duration,
) -> Router {
    let ui = Ui {
        store,
        streams: Arc::new(Semaphore::new(MAX_STREAMS)),
        heavy: Arc::new(Semaphore::new(heavy_reads())),
        stopped,
        max_upload_bytes,
        stream_stall,
    };
    let routes = Router::new()
        .route("/", get(page))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route(
            "/api/traces",
            get(list_traces)
                .post(upload)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/api/traces/{id}", get(one_trace))
        .route("/api/traces/{id}/stats", get(trace_stats))
        .route("/api/traces/{id}/otlp", get(export_trace))
        .route("/api/export", get(export_all))
        .route("/api/runs", get(runs::list))
        .route("/api/traces/{id}/previous", get(runs::previous))
        .route("/api/dependencies", get(dependencies))
        .route("/api/map", get(service_map))
        .route("/api/stream", get(stream))
        .route("/api/logs", get(list_logs))
        .route("/api/services", get(services))
        .fallback(not_found)
        .with_state(ui);
    // Around the whole router, so that a 405 has its `Allow` by then.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(security_headers))
}

/// Every error answer as `{"error": "..."}`. The handlers write their own;
/// what axum answers by itself (a 405, with its `Allow`; a bad path
/// parameter) is rewritten here, saying what to do.
async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow: Vec<&str> = parts
            .headers
            .get_all(header::ALLOW)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .collect();
        let allow = if allow.is_empty() {
            "GET".to_owned()
        } else {
            allow.join(" or ")
        };
        format!("method {method} not allowed on {path}: use {allow}")
    } else if text.is_empty() {
        format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("error")
        )
    } else {
        text
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::to_vec(&ApiError { error }).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
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

/// The page's icon: three bars of a waterfall (an SVG, also for browsers
/// that ask for `/favicon.ico` on their own).
const FAVICON: &str = concat!(
    r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">"#,
    r##"<rect x="1" y="2" width="9" height="3" rx="1" fill="#2563eb"/>"##,
    r##"<rect x="4" y="7" width="7" height="3" rx="1" fill="#0d9488"/>"##,
    r##"<rect x="7" y="12" width="8" height="3" rx="1" fill="#c9a100"/>"##,
    "</svg>"
);

async fn favicon() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON)
}

#[derive(Debug, Serialize)]
struct TraceList {
    traces: Vec<TraceSummary>,
    /// Older traces evicted so far to stay within the collector's bounds.
    evicted_traces: u64,
    /// Older log records evicted so far to stay within `--max-logs`.
    evicted_log_records: u64,
}

/// A search ([`TraceQuery`]); without a limit, the newest
/// [`DEFAULT_LIST_LIMIT`].
async fn list_traces(
    State(ui): State<Ui>,
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match pairs {
        Ok(Query(pairs)) => pairs,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let mut query = match TraceQuery::from_pairs(pairs) {
        Ok(query) => query,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    query.limit.get_or_insert(DEFAULT_LIST_LIMIT);
    Json(TraceList {
        traces: ui.store.search(&query),
        evicted_traces: ui.store.evicted_traces(),
        evicted_log_records: ui.store.evicted_logs(),
    })
    .into_response()
}

/// The media types an upload may say it is (the format is told by the
/// content: see [`crate::file_format`]).
const UPLOAD_TYPES: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "application/octet-stream",
];

#[derive(Debug, Serialize)]
struct Uploaded {
    trace_ids: Vec<String>,
    spans: usize,
    log_records: usize,
}

/// Reads of whole traces at once, at most: each converts every span of a
/// trace (off the runtime's threads, so exports keep being answered), and
/// a 100k-span trace takes a CPU for a while and memory for its answer. One
/// CPU is always left to the receivers: on two cores, one read at a time.
fn heavy_reads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |cpus| cpus.get().saturating_sub(1))
        .clamp(1, 4)
}

/// Runs `read` (one trace turned into an answer: work in proportion to its
/// spans) on a blocking thread, within [`heavy_reads`]: the runtime's
/// threads stay free for the receivers.
async fn heavy(ui: &Ui, read: impl FnOnce() -> Response + Send + 'static) -> Response {
    let Ok(_permit) = ui.heavy.clone().acquire_owned().await else {
        return api_error(StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_owned());
    };
    tokio::task::spawn_blocking(read)
        .await
        .unwrap_or_else(|e| api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// A file the page was given, or a script posts: traces or log records,
/// in any shape [`crate::file_format`] reads, gzip-compressed or not, up
/// to the upload limit before and after gzip.
async fn upload(State(ui): State<Ui>, request: Request) -> Response {
    let limit = ui.max_upload_bytes;
    let headers = request.headers();
    let media = crate::http::media_type(headers);
    if !media.as_deref().is_some_and(|m| UPLOAD_TYPES.contains(&m)) {
        return api_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type {}: upload OTLP/JSON or JSON Lines as {}",
                media.as_deref().unwrap_or("(none)"),
                UPLOAD_TYPES.join(" or ")
            ),
        );
    }
    let gzip = match crate::http::gzip(headers) {
        Ok(gzip) => gzip,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e),
    };
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "file too large: an upload takes at most {limit} bytes; gzip it, or start \
                     the collector with --load FILE, which has no such limit"
                ),
            );
        }
        Err(rejection) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                format!("could not read the body: {}", rejection.body_text()),
            );
        }
    };
    if gzip && !body.starts_with(&[0x1f, 0x8b]) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid gzip body: Content-Encoding says gzip but the body is not gzip".to_owned(),
        );
    }
    let store = ui.store.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        crate::file_format::load(&store, &body[..], limit as u64, "(uploaded)")
    })
    .await;
    match loaded {
        Ok(Ok(loaded)) => Json(Uploaded {
            trace_ids: loaded.trace_ids,
            spans: loaded.spans,
            log_records: loaded.log_records,
        })
        .into_response(),
        Ok(Err(e @ crate::file_format::FileError::TooLarge { .. })) => api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("file {e}; start the collector with --load FILE, which has no such limit"),
        ),
        Ok(Err(e)) => api_error(StatusCode::BAD_REQUEST, format!("file not loaded: {e}")),
        Err(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Everything stored as JSON Lines, as a file to save. Written as it is
/// made, one line at a time, by a blocking task (a trace of 100,000 spans
/// takes a while), which stops when the reader goes.
async fn export_all(
    State(ui): State<Ui>,
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let run = match runs::export_run(pairs) {
        Ok(run) => run,
        Err(why) => return api_error(StatusCode::BAD_REQUEST, why),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(2);
    let store = ui.store.clone();
    tokio::task::spawn_blocking(move || {
        crate::file_format::export(&store, run, |line| {
            tx.blocking_send(Bytes::from(line)).is_ok()
        });
    });
    let disposition = match run {
        Some(run) => format!("attachment; filename=\"collector-export-run-{run}.jsonl\""),
        None => "attachment; filename=\"collector-export.jsonl\"".to_owned(),
    };
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::new(EventBody(rx)),
    )
        .into_response()
}

/// Where one trace's time goes: [`crate::analysis::TraceStats`].
async fn trace_stats(State(ui): State<Ui>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let gzip = accepts_gzip(&headers);
    let store = ui.store.clone();
    heavy(&ui, move || match store.trace(&id) {
        Some(trace) => json_answer(&crate::analysis::trace_stats(&trace), gzip),
        None => api_error(StatusCode::NOT_FOUND, format!("no trace with id {id:?}")),
    })
    .await
}

/// One trace as compact OTLP/JSON, as a file to save.
async fn export_trace(State(ui): State<Ui>, Path(id): Path<String>) -> Response {
    let store = ui.store.clone();
    heavy(&ui, move || trace_file(&store, &id)).await
}

fn trace_file(store: &Store, id: &str) -> Response {
    let Some(export) = store.export(id) else {
        return api_error(StatusCode::NOT_FOUND, format!("no trace with id {id:?}"));
    };
    let json = match serde_json::to_vec(&export) {
        Ok(json) => json,
        Err(e) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    // The id parsed, so it is 32 hex digits: safe in a header.
    let disposition = format!(
        "attachment; filename=\"trace-{}.json\"",
        id.to_ascii_lowercase()
    );
    let mut response = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[derive(Debug, Serialize)]
struct DependencyList {
    dependencies: Vec<crate::model::Dependency>,
}

async fn dependencies(State(ui): State<Ui>) -> Response {
    let store = ui.store.clone();
    heavy(&ui, move || {
        Json(DependencyList {
            dependencies: store.dependencies(),
        })
        .into_response()
    })
    .await
}

async fn service_map(State(ui): State<Ui>) -> Response {
    let store = ui.store.clone();
    heavy(&ui, move || Json(store.map()).into_response()).await
}

/// Server-sent events: one `trace` event (the summary as JSON) per new or
/// updated trace. The events are made by a task of the stream's own, that
/// waits for the store's change notifications (which coalesce: a slow
/// reader is sent the latest summaries of what changed meanwhile, never a
/// backlog) and hands each batch to the body through a channel of one.
/// The stream ends when the client goes, when it has taken nothing for
/// `stream_stall` (a minute: a client that stopped reading would hold its
/// slot forever), or at once when the collector shuts down, so it never
/// holds up the graceful shutdown.
async fn stream(State(ui): State<Ui>) -> Response {
    let Ok(permit) = ui.streams.clone().try_acquire_owned() else {
        return api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many event streams open (at most {MAX_STREAMS}); poll /api/traces"),
        );
    };
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(feed(ui.store, tx, ui.stopped, ui.stream_stall, permit));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            // No buffering proxy may hold the events back.
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::new(EventBody(rx)),
    )
        .into_response()
}

/// Writes the events of one stream into `tx` until the reader goes, takes
/// nothing for `stall` (the body has not taken the last batch: the socket
/// is full), or the collector stops.
async fn feed(
    store: Store,
    tx: mpsc::Sender<Bytes>,
    mut stopped: watch::Receiver<bool>,
    stall: Duration,
    _permit: OwnedSemaphorePermit,
) {
    let mut changes = store.changes();
    let mut cursor = store.update_cursor();
    let mut batch = String::from("retry: 2000\n: connected\n\n");
    loop {
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tx.closed() => return,
            sent = tokio::time::timeout(stall, tx.send(Bytes::from(std::mem::take(&mut batch)))) => {
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
            },
        }
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => return,
            _ = tx.closed() => return,
            changed = changes.changed() => if changed.is_err() {
                return;
            },
            () = tokio::time::sleep(KEEP_ALIVE) => {
                batch.push_str(": keep-alive\n\n");
                continue;
            }
        }
        let updated = store.updated_since(cursor, MAX_EVENTS);
        cursor = updated.cursor;
        if updated.missed {
            batch.push_str("event: resync\ndata: {}\n\n");
        }
        for summary in updated.summaries {
            // Compact JSON has no line break: one data line.
            if let Ok(json) = serde_json::to_string(&summary) {
                batch.push_str("event: trace\ndata: ");
                batch.push_str(&json);
                batch.push_str("\n\n");
            }
        }
        if batch.is_empty() {
            // Only log records of no span changed: wait again.
            batch.push_str(": \n\n");
        }
    }
}

/// The body of an event stream or an export: what its task sends, until
/// it stops.
struct EventBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|bytes| bytes.map(|bytes| Ok(Frame::data(bytes))))
    }
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
    /// On the critical path (see [`crate::critical_path`]).
    critical_path: bool,
    /// Its stretches on the critical path, `[start, end]` relative to the
    /// trace's earliest start (absent when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    critical_sections: Vec<[u64; 2]>,
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
    /// The run the trace belongs to (see `GET /api/runs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<u32>,
    start_unix_nano: u64,
    duration_nanos: u64,
    services: BTreeSet<String>,
    complete: bool,
    /// Spans not kept: the trace reached the per-trace limit.
    dropped_spans: u64,
    /// Spans of the trace, all of them (`spans` may be a page of them).
    span_count: usize,
    /// The place of `spans[0]` in the waterfall (0 unless a page was asked).
    offset: usize,
    /// Depth first, children by start time: the order of the waterfall;
    /// all of them, or the page asked for (`offset`, `limit`).
    spans: Vec<WaterfallSpan<'a>>,
    /// Log records of the trace, all of them (each span lists its own).
    log_records: usize,
    /// Log records not kept: the trace reached the per-trace limit.
    dropped_log_records: u64,
    /// The records that belong to none of the spans (no span id, or one
    /// the trace does not have), in time order.
    logs: Vec<TraceLog<'a>>,
}

/// Which spans of a trace one answer carries: `offset` and `limit` count
/// rows of the waterfall (tree order), so that a page can draw the first
/// rows of a big trace before the rest has come.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpanPage {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

async fn one_trace(
    State(ui): State<Ui>,
    Path(id): Path<String>,
    page: Result<Query<SpanPage>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let page = match page {
        Ok(Query(page)) => page,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}: the parameters are offset and limit (numbers of spans)",
                    e.body_text()
                ),
            );
        }
    };
    let gzip = accepts_gzip(&headers);
    let store = ui.store.clone();
    heavy(&ui, move || trace_detail(&store, &id, page, gzip)).await
}

/// Answers smaller than this go uncompressed: gzip would save nothing.
const GZIP_FROM: usize = 1024;

/// Whether the client takes gzip (`Accept-Encoding: gzip`, or `*`, with a
/// quality above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `value` as JSON, gzip-compressed (fast level: the answer is made while
/// the page waits) when the client takes it and it is worth it.
fn json_answer<T: Serialize>(value: &T, gzip: bool) -> Response {
    let json = match serde_json::to_vec(value) {
        Ok(json) => json,
        Err(e) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if !gzip || json.len() < GZIP_FROM {
        return ([content_type, vary], json).into_response();
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 8),
        flate2::Compression::fast(),
    );
    match std::io::Write::write_all(&mut encoder, &json).and_then(|()| encoder.finish()) {
        Ok(compressed) => (
            [
                content_type,
                vary,
                (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            compressed,
        )
            .into_response(),
        Err(_) => ([content_type, vary], json).into_response(),
    }
}

fn trace_detail(store: &Store, id: &str, page: SpanPage, gzip: bool) -> Response {
    let Some(trace) = store.trace(id) else {
        return api_error(StatusCode::NOT_FOUND, format!("no trace with id {id:?}"));
    };
    let (start, end) = trace.bounds();
    let (by_span, unattached) = trace.logs_by_span();
    let tree = trace.tree();
    let mut critical: HashMap<String, Vec<[u64; 2]>> = HashMap::new();
    for section in crate::critical_path::critical_path_in(&trace, tree.clone()) {
        critical.entry(section.span_id).or_default().push([
            section.start_unix_nano.saturating_sub(start),
            section.end_unix_nano.saturating_sub(start),
        ]);
    }
    let span_count = tree.len();
    let spans = tree
        .into_iter()
        .skip(page.offset)
        .take(page.limit.unwrap_or(usize::MAX))
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
            critical_path: critical.contains_key(&row.span.span_id),
            critical_sections: critical.remove(&row.span.span_id).unwrap_or_default(),
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
    let detail = TraceDetail {
        trace_id: &trace.trace_id,
        run: store.run_of(id),
        start_unix_nano: start,
        duration_nanos: end.saturating_sub(start),
        services: trace.services(),
        complete: trace.is_complete(),
        dropped_spans: trace.dropped_spans,
        span_count,
        offset: page.offset,
        spans,
        log_records: trace.logs.len(),
        dropped_log_records: trace.dropped_logs,
        logs,
    };
    json_answer(&detail, gzip)
}

/// Records listed by `/api/logs` when no limit is given.
const DEFAULT_LOGS_LIMIT: usize = 1000;

#[derive(Debug, Serialize)]
struct LogList {
    /// The last records of no trace that match, oldest first.
    logs: Vec<LogRecord>,
    /// Records of no trace stored (the list may show fewer: the filters
    /// and `limit`).
    total: usize,
    /// Records that match the filters (the list may show fewer: `limit`).
    matched: usize,
    /// Older records (of traces or not) evicted so far to stay within
    /// `--max-logs`.
    evicted_log_records: u64,
}

/// The records of no trace that match a [`LogQuery`]; without a limit,
/// the newest [`DEFAULT_LOGS_LIMIT`].
async fn list_logs(
    State(ui): State<Ui>,
    pairs: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let pairs = match pairs {
        Ok(Query(pairs)) => pairs,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let query = match LogQuery::from_pairs(pairs) {
        Ok(query) => query,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let limit = query.limit.unwrap_or(DEFAULT_LOGS_LIMIT);
    let (logs, total, matched) = if query.filters() {
        let all = ui.store.logs();
        let total = all.len();
        let mut logs: Vec<LogRecord> = all.into_iter().filter(|l| query.matches(l)).collect();
        let matched = logs.len();
        logs.drain(..matched.saturating_sub(limit));
        (logs, total, matched)
    } else {
        let (logs, total) = ui.store.last_logs(limit);
        (logs, total, total)
    };
    Json(LogList {
        logs,
        total,
        matched,
        evicted_log_records: ui.store.evicted_logs(),
    })
    .into_response()
}

#[derive(Debug, Serialize)]
struct ServiceList {
    services: BTreeSet<String>,
}

async fn services(State(ui): State<Ui>) -> Json<ServiceList> {
    Json(ServiceList {
        services: ui
            .store
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
            "no such page: {}; try /, /api/traces, /api/dependencies, /api/map, /api/stream, /api/logs, /api/runs or /api/export",
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
    use super::*;
    use crate::fixtures;
    use crate::model::Trace;

    fn span(id: &str, parent: Option<&str>, start: u64) -> Span {
        fixtures::span(id, parent, start, start + 10)
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
