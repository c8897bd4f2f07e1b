//! The traced gRPC client (GoFrame's `grpc-with-db` client): opens the root
//! span `StartRequests`, puts the baggage `uid=100` in its context, and
//! calls `user.User` four times: Insert(name), Query(id), Delete(id), then
//! Delete(-1), which the server refuses (`INVALID_ARGUMENT`): the planned
//! failure, shown as an error in the trace. The client layer gives each
//! call a CLIENT span and carries the trace and the baggage to the server
//! in the gRPC metadata, so the whole run is one trace: client, server,
//! database and cache.
//!
//! Stdout gets one line per call, e.g. `insert id: 1`; logs and the
//! delivery report go to stderr. Exit code 0 when the first three calls
//! succeed and Delete(-1) is refused as planned; 1 otherwise (or when the
//! spans could not be delivered).
//!
//! Run with (start a collector, `cargo run -p collector`, and the server,
//! `cargo run -p examples-grpc-with-db --bin grpc-db-server`, first)
//!
//! ```text
//! cargo run -p examples-grpc-with-db --bin grpc-db-client
//! cargo run -p examples-grpc-with-db --bin grpc-db-client -- --name alice --url http://127.0.0.1:8001
//! ```

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use clap::Parser;
use common::config::GrpcExporterArgs;
use common::telemetry;
use examples_grpc_with_db::otel::{ClientTracing, TracedClient, code_name};
use examples_grpc_with_db::proto::user_client::UserClient;
use examples_grpc_with_db::proto::{DeleteReq, InsertReq, QueryReq};
use http::Uri;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{FutureExt as _, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};
use tower::ServiceBuilder;

const SERVICE_NAME: &str = "otlp-grpc-client";

/// How to start the server this client calls.
const START_SERVER: &str = "cargo run -p examples-grpc-with-db --bin grpc-db-server";

/// Connecting gives up after this; each call after its deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Traced gRPC client: Insert, Query, Delete and a refused Delete(-1), with baggage `uid=100`.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// The server's base URL
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8001", value_parser = server_url)]
    url: Uri,

    /// Name of the user to insert
    #[arg(long, value_name = "NAME", default_value = "john")]
    name: String,

    #[command(flatten)]
    otlp: GrpcExporterArgs,
}

// The gRPC exporter's channel lives on this runtime, which must outlive the
// provider's shutdown: it does, since shutdown is the last thing main does.
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

    // The root span, and the baggage `uid=100` in its context (GoFrame:
    // `gtrace.NewSpan(ctx, "StartRequests")`, `gtrace.SetBaggageValue`).
    let span = global::tracer(SERVICE_NAME).start("StartRequests");
    let cx = Context::current_with_span(span).with_baggage([KeyValue::new("uid", "100")]);

    // Everything awaited here runs in that context: each call's CLIENT span
    // becomes a child of StartRequests, and the log lines carry its trace id.
    let outcome = start_requests(&cli.url, &cli.name)
        .with_context(cx.clone())
        .await;
    if let Err(error) = &outcome {
        cx.span().set_status(Status::error(error.to_string()));
        eprintln!("error: {error:#}");
    }
    cx.span().end();

    // Flush the batch, print where the spans went; non-zero if either failed.
    let delivered = telemetry.shutdown().exit_code();
    if outcome.is_ok() {
        delivered
    } else {
        ExitCode::FAILURE
    }
}

/// GoFrame's four calls, each result on stdout (and in the log).
async fn start_requests(url: &Uri, name: &str) -> anyhow::Result<()> {
    let mut user = connect(url).await?;

    let request = InsertReq {
        name: name.to_owned(),
    };
    let inserted = user.insert(call(request)).await.map_err(failed("Insert"))?;
    let id = inserted.into_inner().id;
    result(format!("insert id: {id}"));

    let found = user
        .query(call(QueryReq { id }))
        .await
        .map_err(failed("Query"))?;
    let found = found.into_inner();
    // As JSON: a name is shown exactly, control characters escaped.
    let found = serde_json::json!({ "id": found.id, "name": found.name });
    result(format!("query result: {found}"));

    user.delete(call(DeleteReq { id }))
        .await
        .map_err(failed("Delete"))?;
    result(format!("delete id: {id}"));

    // The planned failure: ids start at 1, so the server's validation
    // refuses -1 (GoFrame's never did: its Delete(-1) "succeeded").
    match user.delete(call(DeleteReq { id: -1 })).await {
        Err(status) if status.code() == Code::InvalidArgument => {
            result(format!(
                "delete id: -1 refused: INVALID_ARGUMENT: {}",
                status.message()
            ));
            Ok(())
        }
        Err(status) => Err(failed("Delete(-1)")(status)),
        Ok(_) => bail!("Delete(-1) succeeded: the server did not validate the id"),
    }
}

/// The traced client: the channel (connected within the timeout) behind
/// the client layer, which opens a CLIENT span per call and injects the
/// context into its metadata.
async fn connect(url: &Uri) -> anyhow::Result<UserClient<TracedClient<Channel>>> {
    let channel = Endpoint::from(url.clone())
        .connect_timeout(CONNECT_TIMEOUT)
        .connect()
        .await
        .map_err(|error| {
            anyhow!(
                "cannot reach the server at {url}: {}. Start it with `{START_SERVER}` \
                 (in another terminal), or point --url at yours",
                root_cause(&error)
            )
        })?;
    let traced = ServiceBuilder::new()
        .layer(ClientTracing::new(url))
        .service(channel);
    Ok(UserClient::new(traced))
}

/// A request with the call's deadline (sent as `grpc-timeout`, so the
/// server gives up at the same time).
fn call<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_DEADLINE);
    request
}

/// One result: a log line (with the trace id) and a line on stdout.
fn result(line: String) {
    tracing::info!("{line}");
    println!("{line}");
}

/// What a failed call becomes: `Insert failed: NOT_FOUND: no user with id 7`.
fn failed(what: &'static str) -> impl FnOnce(tonic::Status) -> anyhow::Error {
    move |status| {
        let code = code_name(status.code());
        anyhow!("{what} failed: {code}: {}", status.message())
    }
}

/// The innermost cause, e.g. `Connection refused (os error 111)`: tonic's
/// own message only says `transport error`.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// `--url`: `http://HOST:PORT`, the server's base URL.
fn server_url(text: &str) -> Result<Uri, String> {
    let example = "write it like http://127.0.0.1:8001";
    let url: Uri = text
        .parse()
        .map_err(|error| format!("{error}: {example}"))?;
    match url.scheme_str() {
        Some("http") => {}
        Some("https") => return Err("the example server speaks plain HTTP/2: use http://".into()),
        _ => return Err(format!("no http:// scheme: {example}")),
    }
    if url.host().is_none_or(str::is_empty) {
        return Err(format!("no host: {example}"));
    }
    if url
        .path_and_query()
        .is_some_and(|path| path.as_str() != "/")
    {
        return Err(format!(
            "a gRPC server is called by its base URL, without a path: {example}"
        ));
    }
    Ok(url)
}
