//! The traced client of the HTTP user service (GoFrame's `http-with-db`
//! client): opens the root span `StartRequests` (baggage `uid=100`), then
//! inserts a user, queries it and deletes it, each call a CLIENT span whose
//! context travels in the request headers, so that the server's spans and
//! its database and cache spans join the same trace. Stdout gets one line
//! per call; logs and the delivery report go to stderr.
//!
//! Run with (start a collector, `cargo run -p collector`, and the server,
//! `cargo run -p examples-http-with-db --bin http-db-server`, first)
//!
//! ```text
//! cargo run -p examples-http-with-db --bin http-db-client
//! cargo run -p examples-http-with-db --bin http-db-client -- --name "o'hara"
//! ```

use std::process::ExitCode;

use clap::Parser;
use common::client::{TracedClient, Url};
use common::config::HttpExporterArgs;
use common::telemetry;
use examples_http_with_db::{Envelope, Inserted, code};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{FutureExt as _, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};
use serde::de::DeserializeOwned;

const SERVICE_NAME: &str = "otlp-http-client-with-db";

/// What the error suggests when the server cannot be reached.
const START_SERVER: &str = "cargo run -p examples-http-with-db --bin http-db-server";

/// Traced HTTP client of the user service: insert, query, delete.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// The server's base URL (the routes /user/insert, /user/query and /user/delete are under it)
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8002")]
    url: Url,

    /// Name of the user to insert
    #[arg(long, value_name = "NAME", default_value = "john")]
    name: String,

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
    let http = match TracedClient::new() {
        Ok(http) => http.start_with(START_SERVER),
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };

    // The root span, and the baggage `uid=100` in its context (GoFrame:
    // `gtrace.NewSpan(ctx, "StartRequests")`, `gtrace.SetBaggageValue`).
    let span = global::tracer(SERVICE_NAME).start("StartRequests");
    let cx = Context::current_with_span(span).with_baggage([KeyValue::new("uid", "100")]);

    // Everything awaited here runs in that context: each request's CLIENT
    // span becomes a child of StartRequests, and each log line carries its
    // trace id. The first failure stops the run.
    let done = async {
        let id = insert(&http, &cli.url, &cli.name).await?;
        say(format!("insert id: {id}"));
        let user = query(&http, &cli.url, id).await?;
        say(format!("query result: {user}"));
        delete(&http, &cli.url, id).await?;
        say(format!("delete id: {id}"));
        anyhow::Ok(())
    }
    .with_context(cx.clone())
    .await;

    if let Err(error) = &done {
        cx.span().set_status(Status::error(error.to_string()));
        eprintln!("error: {error:#}");
    }
    cx.span().end();

    // Flush the batch, print where the spans went; non-zero if either failed.
    let delivered = telemetry.shutdown().exit_code();
    if done.is_ok() {
        delivered
    } else {
        ExitCode::FAILURE
    }
}

/// A result line: on stdout, and logged (with the trace id).
fn say(line: String) {
    tracing::info!("{line}");
    println!("{line}");
}

/// `POST /user/insert` with form `name`: the new user's id.
async fn insert(http: &TracedClient, base: &Url, name: &str) -> anyhow::Result<i64> {
    let url = route(base, "/user/insert");
    let body = http.post_form(&url, &[("name", name)]).await?;
    Ok(data::<Inserted>(&url, &body)?.id)
}

/// `GET /user/query?id=N`: the user, as the server's JSON (`{"id":1,"name":"john"}`).
async fn query(http: &TracedClient, base: &Url, id: i64) -> anyhow::Result<serde_json::Value> {
    let mut url = route(base, "/user/query");
    url.query_pairs_mut().append_pair("id", &id.to_string());
    let body = http.get(&url).await?;
    data(&url, &body)
}

/// `POST /user/delete` with form `id`.
async fn delete(http: &TracedClient, base: &Url, id: i64) -> anyhow::Result<()> {
    let url = route(base, "/user/delete");
    let body = http.post_form(&url, &[("id", &id.to_string())]).await?;
    data::<serde_json::Value>(&url, &body).map(drop)
}

/// `path` under the server's base URL (which may have a path of its own).
fn route(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url
}

/// The `data` of a successful envelope; anything else says what came back.
fn data<T: DeserializeOwned>(url: &Url, body: &str) -> anyhow::Result<T> {
    let envelope: Envelope<T> = serde_json::from_str(body).map_err(|error| {
        anyhow::anyhow!("the server at {url} did not answer GoFrame's envelope ({error}): {body}")
    })?;
    if envelope.code != code::OK {
        anyhow::bail!(
            "the server at {url} answered code {}: {}",
            envelope.code,
            envelope.message
        );
    }
    Ok(envelope.data)
}
