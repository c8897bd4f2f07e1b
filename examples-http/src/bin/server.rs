//! The traced HTTP server: every request gets a SERVER span that continues
//! the caller's trace (W3C `traceparent`) and carries the caller's baggage
//! (W3C `baggage`); `GET /hello` answers `hello:<baggage name>` from a child
//! span `HelloHandler`, and `GET /error` always fails, to show an error trace.
//!
//! Run with (start a collector first: `cargo run -p collector`), then call it
//! with the client (`cargo run -p examples-http --bin client`)
//!
//! ```text
//! cargo run -p examples-http --bin server
//! cargo run -p examples-http --bin server -- --listen 0.0.0.0:8000 --endpoint http://otel-collector:4318
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use common::config::{BatchSettings, HttpExporterArgs};
use common::server::{self, Stop};
use common::telemetry;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, global};
use opentelemetry_instrumentation_tower::http::server::LayerBuilder;

const SERVICE_NAME: &str = "otlp-http-server";

/// A server ends spans as fast as requests come (about 60,000 a second under
/// `cargo bench -p examples-http --bench load` on two cores), and the batch
/// processor drops what does not fit in its queue while an export is under
/// way: the SDK's 2,048 lost 3-18% of them there. 65,536 spans (about a
/// second of that load, some 64 MB at most) in batches of 2,048 lose none;
/// the `OTEL_BSP_*` variables still override each.
const BATCH: BatchSettings = BatchSettings {
    max_queue_size: 65_536,
    max_export_batch_size: 2_048,
    ..BatchSettings::TEACHING
};

/// How long open connections may take to finish once a stop was asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Traced HTTP server: GET /hello answers `hello:<baggage name>`, GET /error fails.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// Address to listen on (port 0 picks a free port; the real one is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,

    #[command(flatten)]
    otlp: HttpExporterArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match cli
        .otlp
        .resolve_with_batch(SERVICE_NAME, BATCH)
        .and_then(|config| telemetry::init(&config))
    {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };

    let listener = match server::listen(cli.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };

    // Serve until Ctrl-C or SIGTERM; then let open requests finish, within bounds.
    let stop = Stop::new();
    let served = axum::serve(listener, app()).with_graceful_shutdown(stop.signal());
    stop.serve(served, SHUTDOWN_GRACE).await;

    // Every request has ended, so its spans are queued: flush them, report.
    telemetry.shutdown().exit_code()
}

/// The routes, wrapped in the OpenTelemetry tower layer. Call it after the
/// tracer provider is installed: the layer takes its tracer from it.
fn app() -> Router {
    // One SERVER span per request, named `GET /hello` (method + route
    // template), with the HTTP semantic-convention attributes; it continues
    // the trace and baggage extracted from the headers by the global
    // propagator, and is the current span while the handler runs. A 5xx sets
    // its status to Error. No meter provider is installed, so no metrics.
    let otel = LayerBuilder::builder()
        .with_metrics(false)
        .build()
        .expect("the layer's fixed configuration is valid");
    Router::new()
        .route("/hello", get(hello_handler))
        .route("/error", get(error_handler))
        // After the routes, so that the layer sees the matched route.
        .layer(otel)
}

/// `GET /hello`: `hello:` followed by the baggage entry `name` the caller
/// sent (GoFrame: `gtrace.GetBaggageVar(ctx, "name")`), empty if none.
async fn hello_handler() -> String {
    // A child of the current span, which is the layer's server span.
    global::tracer(SERVICE_NAME).in_span("HelloHandler", |cx| {
        let name = cx
            .baggage()
            .get("name")
            .map(|value| value.as_str().to_owned())
            .unwrap_or_default();
        tracing::info!("HelloHandler: name={name:?}");
        format!("hello:{name}")
    })
}

/// `GET /error`: always answers 500, so a workshop can show an error trace:
/// the server span has status Error and an `exception` event with the cause.
async fn error_handler() -> Result<String, AppError> {
    Err(AppError(anyhow::anyhow!(
        "the stock service did not answer (planted failure: /error always fails)"
    )))
}

/// A handler error: recorded on the current span, answered with a 500.
#[derive(Debug)]
struct AppError(anyhow::Error);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // Still inside the request's context: the current span is the server span.
        Context::current().span().record_error(self.0.as_ref());
        tracing::error!("{:#}", self.0);
        (StatusCode::INTERNAL_SERVER_ERROR, format!("{:#}", self.0)).into_response()
    }
}

#[cfg(test)]
mod tests {
    //! The router in memory: no socket, no process, no collector; the SDK's
    //! in-memory exporter holds the spans. (tests/wire.rs runs the real
    //! processes.)

    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use opentelemetry::propagation::TextMapCompositePropagator;
    use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tower::ServiceExt as _;

    use super::*;

    const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
    const CALLER_SPAN: &str = "b7ad6b7169203331";

    /// One test: the provider and propagator are process-wide.
    #[tokio::test]
    async fn the_callers_trace_and_baggage_reach_the_spans_and_the_answer() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]));

        let request = Request::get("/hello")
            .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
            .header("baggage", "name=john")
            .body(Body::empty())
            .expect("a valid request");
        let response = app().oneshot(request).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 1024)
            .await
            .expect("the body");
        assert_eq!(&body[..], b"hello:john");

        let failed = Request::get("/error")
            .body(Body::empty())
            .expect("a valid request");
        let response = app().oneshot(failed).await.expect("an answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

        provider
            .force_flush()
            .expect("flushing the in-memory exporter");
        let spans = exporter.get_finished_spans().expect("the finished spans");
        let named = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
        };
        let server = named("GET /hello");
        assert_eq!(server.span_context.trace_id().to_string(), TRACE_ID);
        assert_eq!(server.parent_span_id.to_string(), CALLER_SPAN);
        let handler = named("HelloHandler");
        assert_eq!(handler.parent_span_id, server.span_context.span_id());
        assert_eq!(
            handler.span_context.trace_id(),
            server.span_context.trace_id()
        );

        // No traceparent: a new root trace, and its server span is an error.
        let error = named("GET /error");
        assert_ne!(error.span_context.trace_id().to_string(), TRACE_ID);
        assert!(
            matches!(error.status, opentelemetry::trace::Status::Error { .. }),
            "{error:#?}"
        );
        let _ = provider.shutdown();
    }
}
