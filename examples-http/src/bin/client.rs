//! The traced HTTP client: opens the root span `StartRequests`, puts the
//! baggage `name=GoFrame` in its context, and calls the server's `/hello`
//! inside a CLIENT span; the trace and the baggage travel in the request
//! headers, so the server answers `hello:GoFrame` and its spans join the
//! same trace. Stdout gets the answer; logs and the delivery report go to
//! stderr.
//!
//! With `--retries N` a failed call is tried again, up to N times; each
//! retry's CLIENT span carries a *link* to the first attempt's span: the
//! retry is not part of that attempt's work (not its child), but it is
//! there because of it. The collector's web view shows the link both ways.
//!
//! Run with (start a collector, `cargo run -p collector`, and the server,
//! `cargo run -p examples-http --bin server`, first)
//!
//! ```text
//! cargo run -p examples-http --bin client
//! cargo run -p examples-http --bin client -- --url http://127.0.0.1:8000/error
//! cargo run -p examples-http --bin client -- --url http://127.0.0.1:8000/error --retries 1
//! ```

use std::process::ExitCode;

use clap::Parser;
use common::client::{self, TracedClient, Url};
use common::config::HttpExporterArgs;
use common::telemetry;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{FutureExt as _, Link, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};

const SERVICE_NAME: &str = "otlp-http-client";

/// Traced HTTP client: calls the server with baggage `name=GoFrame`.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    /// URL to call
    #[arg(long, value_name = "URL", default_value = client::DEFAULT_URL)]
    url: Url,

    /// Times a failed call is tried again, each retry linked to the first attempt
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,

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
        Ok(http) => http,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };

    // The root span, and the baggage `name=GoFrame` in its context (GoFrame:
    // `gtrace.NewSpan(ctx, "StartRequests")`, `gtrace.SetBaggageValue`).
    let span = global::tracer(SERVICE_NAME).start("StartRequests");
    let cx = Context::current_with_span(span).with_baggage([KeyValue::new("name", "GoFrame")]);

    // Everything awaited here runs in that context: the request's CLIENT span
    // becomes a child of StartRequests, and the log line carries its trace id.
    let answer = async {
        let first = http.try_get(&cli.url, Vec::new()).await;
        let mut attempt = first.answer;
        // A retry is linked to the first attempt: a link, not a parent.
        for _ in 0..cli.retries {
            let Err(error) = &attempt else { break };
            tracing::warn!("{error:#}; trying again");
            let link = Link::with_context(first.span.clone());
            attempt = http.try_get(&cli.url, vec![link]).await.answer;
        }
        let answer = attempt?;
        tracing::info!("answer: {answer}");
        anyhow::Ok(answer)
    }
    .with_context(cx.clone())
    .await;

    match &answer {
        Ok(answer) => println!("{answer}"),
        Err(error) => {
            cx.span().set_status(Status::error(error.to_string()));
            eprintln!("error: {error:#}");
        }
    }
    cx.span().end();

    // Flush the batch, print where the spans went; non-zero if either failed.
    let delivered = telemetry.shutdown().exit_code();
    if answer.is_ok() {
        delivered
    } else {
        ExitCode::FAILURE
    }
}
