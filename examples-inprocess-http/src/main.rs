//! In-process tracing, exported over OTLP/HTTP.
//!
//! One process, one trace: the root span `main` calls `GetUser(1)` and
//! `GetUser(100)`; each `GetUser` has the children `GetInfo`, `GetDetail` and
//! `GetScores`, so the collector receives one trace of 9 spans. Stdout gets
//! the two users as JSON; logs and the delivery report go to stderr.
//!
//! Run with (start a collector first: `cargo run -p collector`)
//!
//! ```text
//! cargo run -p examples-inprocess-http
//! cargo run -p examples-inprocess-http -- --endpoint https://otlp.example.com --path /v1/traces --token $TOKEN
//! ```

use std::process::ExitCode;

use clap::Parser;
use common::config::HttpExporterArgs;
use common::{telemetry, users};
use opentelemetry::global;
use opentelemetry::trace::Tracer as _;

const SERVICE_NAME: &str = "inprocess";

/// In-process tracing over OTLP/HTTP: one trace of 9 spans.
#[derive(Debug, Parser)]
#[command(version, after_help = common::config::env::help())]
struct Cli {
    #[command(flatten)]
    otlp: HttpExporterArgs,
}

fn main() -> ExitCode {
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

    // The root span; `in_span` makes it the current span, so every span
    // opened inside (GetUser and its children) becomes its descendant.
    global::tracer("inprocess").in_span("main", |_cx| {
        for id in [1, 100] {
            let user = users::get_user(id);
            let found = if user.is_empty() {
                "not found"
            } else {
                "found"
            };
            tracing::info!("GetUser({id}): {found}");
            println!(
                "{}",
                serde_json::to_string_pretty(&user).expect("a User always serializes")
            );
        }
    });

    // Flush the batch, print where the spans went; non-zero if they were lost.
    telemetry.shutdown().exit_code()
}
