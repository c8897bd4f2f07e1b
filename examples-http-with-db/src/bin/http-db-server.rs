//! The traced user service over HTTP (GoFrame's `http-with-db` server):
//! `POST /user/insert` (form `name`), `GET /user/query?id=N` and
//! `POST /user/delete` (form `id`) on a database behind a 5 s cache,
//! answering with GoFrame's JSON envelope `{"code":0,"message":"OK","data":...}`.
//!
//! Every request gets a SERVER span from the OpenTelemetry tower layer (the
//! same as examples-http's), and the database and cache calls under it get
//! CLIENT spans of their own (from `userdb`): one trace shows which query ran,
//! how long it took and whether the cache answered.
//!
//! Run with (start a collector first: `cargo run -p collector`), then call it
//! with the client (`cargo run -p examples-http-with-db --bin http-db-client`)
//!
//! ```text
//! cargo run -p examples-http-with-db --bin http-db-server
//! cargo run -p examples-http-with-db --bin http-db-server -- \
//!     --db mysql://root:12345678@127.0.0.1:3306/test --redis redis://127.0.0.1:6379/0
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use common::config::HttpExporterArgs;
use common::server::{self, Stop};
use common::telemetry;
use examples_http_with_db::{ApiError, Envelope, Inserted, ok, user_id};
use opentelemetry_instrumentation_tower::http::server::LayerBuilder;
use serde::Deserialize;
use userdb::{StoreArgs, User, Users};

const SERVICE_NAME: &str = "otlp-http-server-with-db";

/// How long open connections may take to finish once a stop was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Traced HTTP user service: insert, query and delete users on a database behind a cache.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the real one is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8002")]
    listen: SocketAddr,

    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    otlp: HttpExporterArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match cli
        .otlp
        .resolve(SERVICE_NAME)
        .and_then(|config| telemetry::init(&config))
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };

    // The table is created if missing; an unreachable database is one line
    // that names it (password masked) and says what to do.
    let users = match Users::connect(&cli.store).await {
        Ok(users) => users,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    eprintln!("users: {}", users.describe());
    let listener = match server::listen(cli.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    // Serve until Ctrl-C or SIGTERM; then let open requests finish, within bounds.
    let stop = Stop::new();
    let served = axum::serve(listener, app(users)).with_graceful_shutdown(stop.signal());
    stop.serve(served, SHUTDOWN_GRACE).await;

    // Every request has ended, so its spans are queued: flush them, report.
    telemetry.shutdown().exit_code()
}

/// The routes, with an access line per request, wrapped in the OpenTelemetry
/// tower layer. Call it after the tracer provider is installed: the layer
/// takes its tracer from it.
fn app(users: Users) -> Router {
    // One SERVER span per request, named `POST /user/insert` (method + route
    // template), current while the handler runs: the database and cache
    // spans of `users` become its children. A 5xx sets its status to Error.
    let otel = LayerBuilder::builder()
        .with_metrics(false)
        .build()
        .expect("the layer's fixed configuration is valid");
    Router::new()
        .route("/user/insert", post(insert))
        .route("/user/query", get(query))
        .route("/user/delete", post(delete))
        // Unknown routes and methods answer in the envelope too.
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(users)
        // Inside the layer's span, so the access line carries the trace id.
        .layer(middleware::from_fn(access_log))
        // Last, so that the layer sees the matched route.
        .layer(otel)
}

/// The insert form: `name=...` (missing is empty, which the validation refuses).
#[derive(Debug, Deserialize)]
struct InsertForm {
    #[serde(default)]
    name: String,
}

/// `id`, as text: a value that is not a number gets our message, not serde's.
#[derive(Debug, Deserialize)]
struct IdForm {
    #[serde(default)]
    id: String,
}

/// `POST /user/insert` with form `name`: `{"id":N}`.
async fn insert(
    State(users): State<Users>,
    form: Result<Form<InsertForm>, FormRejection>,
) -> Result<Json<Envelope<Inserted>>, ApiError> {
    let Form(form) = form?;
    let id = users.insert(&form.name).await?;
    Ok(ok(Inserted { id }))
}

/// `GET /user/query?id=N`: `{"id":N,"name":"..."}`, from the cache when it
/// holds the user.
async fn query(
    State(users): State<Users>,
    params: Result<Query<IdForm>, QueryRejection>,
) -> Result<Json<Envelope<User>>, ApiError> {
    let Query(params) = params?;
    let user = users.query(user_id(&params.id)?).await?;
    Ok(ok(user))
}

/// `POST /user/delete` with form `id`: deletes the row, then the cache entry.
async fn delete(
    State(users): State<Users>,
    form: Result<Form<IdForm>, FormRejection>,
) -> Result<Json<Envelope<()>>, ApiError> {
    let Form(form) = form?;
    users.delete(user_id(&form.id)?).await?;
    Ok(ok(()))
}

/// Any other path: 404, in the envelope, with the list of routes.
async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::no_route(StatusCode::NOT_FOUND, &method, &uri)
}

/// A route with another method (`GET /user/insert`): 405, likewise.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::no_route(StatusCode::METHOD_NOT_ALLOWED, &method, &uri)
}

/// One access line per request, as GoFrame's server logs it: status, method,
/// path, duration; written in the server span, so it carries the trace id.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let millis = started.elapsed().as_secs_f64() * 1e3;
    tracing::info!(
        "{} {method} {path} {millis:.3} ms",
        response.status().as_u16()
    );
    response
}

#[cfg(test)]
mod tests {
    //! The router in memory on the embedded defaults (SQLite in memory, the
    //! cache in process): no socket, no process, no collector; the SDK's
    //! in-memory exporter holds the spans. (tests/wire.rs runs the real
    //! processes, and MariaDB and Redis.)

    use axum::body::{Body, to_bytes};
    use axum::http::{Request, header};
    use examples_http_with_db::code;
    use opentelemetry::global;
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry::trace::SpanKind;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
    use serde_json::{Value, json};
    use tower::ServiceExt as _;
    use userdb::DbUrl;

    use super::*;

    async fn embedded() -> Users {
        let store = StoreArgs {
            db: DbUrl::parse("sqlite::memory:").expect("the default --db"),
            redis: None,
        };
        Users::connect(&store).await.expect("SQLite in memory")
    }

    fn form(uri: &str, body: &str) -> Request<Body> {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .expect("a valid request")
    }

    fn get(uri: &str) -> Request<Body> {
        Request::get(uri)
            .body(Body::empty())
            .expect("a valid request")
    }

    /// The status and the JSON body of `request`'s answer.
    async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
        let response = app.clone().oneshot(request).await.expect("an answer");
        let status = response.status();
        let body = to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("the body");
        let value = serde_json::from_slice(&body).unwrap_or_else(|error| {
            panic!("not JSON ({error}): {:?}", String::from_utf8_lossy(&body))
        });
        (status, value)
    }

    /// GoFrame's envelope of an error: `data` null.
    fn failed(code: i32, message: &str) -> Value {
        json!({"code": code, "message": message, "data": null})
    }

    #[tokio::test]
    async fn insert_query_delete_answer_in_goframes_envelope() {
        let app = app(embedded().await);
        let (status, body) = call(&app, form("/user/insert", "name=john")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = body["data"]["id"].as_i64().expect("an id");
        assert!(id >= 1, "{body}");
        assert_eq!(body, json!({"code":0,"message":"OK","data":{"id":id}}));

        let user = json!({"code":0,"message":"OK","data":{"id":id,"name":"john"}});
        let query = format!("/user/query?id={id}");
        // The second answer comes from the cache: the same.
        for _ in 0..2 {
            assert_eq!(
                call(&app, get(&query)).await,
                (StatusCode::OK, user.clone())
            );
        }

        let deleted = call(&app, form("/user/delete", &format!("id={id}"))).await;
        assert_eq!(
            deleted,
            (StatusCode::OK, json!({"code":0,"message":"OK","data":null}))
        );
        // Gone from the table and from the cache.
        let missing = failed(code::NOT_FOUND, &format!("no user with id {id}"));
        assert_eq!(
            call(&app, get(&query)).await,
            (StatusCode::NOT_FOUND, missing.clone())
        );
        assert_eq!(
            call(&app, form("/user/delete", &format!("id={id}"))).await,
            (StatusCode::NOT_FOUND, missing)
        );
    }

    #[tokio::test]
    async fn a_hostile_or_long_name_is_stored_verbatim_up_to_45_characters() {
        let app = app(embedded().await);
        let names = [
            // `o'hara"); DROP TABLE user;--`, form-encoded.
            (
                "o%27hara%22%29%3B+DROP+TABLE+user%3B--",
                "o'hara\"); DROP TABLE user;--",
            ),
            (&"x".repeat(45), &"x".repeat(45)),
            // 45 characters of 3 bytes each: the limit counts characters.
            (&"%E5%90%8D".repeat(45), &"名".repeat(45)),
        ];
        for (encoded, name) in names {
            let (status, body) = call(&app, form("/user/insert", &format!("name={encoded}"))).await;
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            let id = &body["data"]["id"];
            let (status, body) = call(&app, get(&format!("/user/query?id={id}"))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["data"]["name"], name);
        }
        // The table survived the hostile name.
        let (status, body) = call(&app, form("/user/insert", "name=after")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    #[tokio::test]
    async fn bad_input_is_a_400_with_goframes_code_and_message() {
        let app = app(embedded().await);
        let too_long = format!("name={}", "x".repeat(46));
        let cases = [
            (form("/user/insert", ""), "Please input user name."),
            (form("/user/insert", "name="), "Please input user name."),
            (
                form("/user/insert", &too_long),
                "The name may be at most 45 characters, got 46.",
            ),
            (get("/user/query"), "User id is required for querying."),
            (get("/user/query?id=0"), "User id is required for querying."),
            (
                get("/user/query?id=-1"),
                "User id is required for querying.",
            ),
            (
                form("/user/delete", ""),
                "User id is required for deleting.",
            ),
            (
                form("/user/delete", "id=-1"),
                "User id is required for deleting.",
            ),
            (
                get("/user/query?id=abc"),
                "The user id must be a whole number, got \"abc\".",
            ),
            (
                form("/user/delete", "id=99999999999999999999"),
                "The user id must be a whole number, got \"99999999999999999999\".",
            ),
        ];
        for (request, message) in cases {
            let what = format!("{} {}", request.method(), request.uri());
            let answer = call(&app, request).await;
            assert_eq!(
                answer,
                (
                    StatusCode::BAD_REQUEST,
                    failed(code::VALIDATION_FAILED, message)
                ),
                "{what}"
            );
        }
    }

    #[tokio::test]
    async fn unreadable_requests_and_unknown_routes_answer_in_the_envelope() {
        let app = app(embedded().await);
        let plain = Request::post("/user/insert")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("name=john"))
            .expect("a valid request");
        let cases = [
            (
                plain,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                code::INVALID_REQUEST,
            ),
            (
                get("/user/query?id=1&id=2"),
                StatusCode::BAD_REQUEST,
                code::INVALID_REQUEST,
            ),
            (
                get("/user/insert"),
                StatusCode::METHOD_NOT_ALLOWED,
                code::INVALID_REQUEST,
            ),
            (
                form("/user/query", "id=1"),
                StatusCode::METHOD_NOT_ALLOWED,
                code::INVALID_REQUEST,
            ),
            (get("/insert"), StatusCode::NOT_FOUND, code::NOT_FOUND),
        ];
        for (request, status, code) in cases {
            let what = format!("{} {}", request.method(), request.uri());
            let (got, body) = call(&app, request).await;
            assert_eq!(
                (got, body["code"].as_i64()),
                (status, Some(i64::from(code))),
                "{what}: {body}"
            );
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                !message.is_empty() && body["data"].is_null(),
                "{what}: {body}"
            );
        }
        let (_, body) = call(&app, get("/ping")).await;
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("POST /user/insert")),
            "an unknown route lists the routes: {body}"
        );
    }

    const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
    const CALLER_SPAN: &str = "b7ad6b7169203331";

    /// The only test that installs a tracer provider (it is process-wide);
    /// it keeps the spans of its own trace.
    #[tokio::test]
    async fn the_server_span_continues_the_trace_and_parents_the_database_spans() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));
        // After the provider: the layer takes its tracer when it is built.
        let app = app(embedded().await);
        let traced = |mut request: Request<Body>| {
            let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
            request.headers_mut().insert(
                "traceparent",
                traceparent.parse().expect("a valid header value"),
            );
            request
        };
        let name = "span-test-name";
        let (status, body) =
            call(&app, traced(form("/user/insert", &format!("name={name}")))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let id = &body["data"]["id"];
        let query = call(&app, traced(get(&format!("/user/query?id={id}")))).await;
        assert_eq!(query.0, StatusCode::OK, "{query:?}");

        provider
            .force_flush()
            .expect("flushing the in-memory exporter");
        let spans: Vec<SpanData> = exporter
            .get_finished_spans()
            .expect("the finished spans")
            .into_iter()
            .filter(|s| s.span_context.trace_id().to_string() == TRACE_ID)
            .collect();
        let named = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
        };
        let children = |parent: &SpanData| {
            let mut below: Vec<&SpanData> = spans
                .iter()
                .filter(|s| s.parent_span_id == parent.span_context.span_id())
                .collect();
            below.sort_by_key(|s| s.start_time);
            below.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
        };
        let insert = named("POST /user/insert");
        assert_eq!(insert.span_kind, SpanKind::Server);
        assert_eq!(insert.parent_span_id.to_string(), CALLER_SPAN);
        assert_eq!(children(insert), ["INSERT user"]);
        let query = named("GET /user/query");
        assert_eq!(query.parent_span_id.to_string(), CALLER_SPAN);
        assert_eq!(children(query), ["GET", "SELECT user", "SET"]);
        assert_eq!(named("INSERT user").span_kind, SpanKind::Client);
        // The name travelled in the form and the answer, never into a span.
        for span in &spans {
            for attribute in &span.attributes {
                assert!(
                    !attribute.value.as_str().contains(name),
                    "{} carries the name in {}",
                    span.name,
                    attribute.key
                );
            }
        }
        let _ = provider.shutdown();
    }
}
