//! In-process tracing with the `tracing` crate, exported over OTLP/HTTP.
//!
//! The same trace as `examples-inprocess-http` (root `main`, `GetUser(1)`
//! and `GetUser(100)`, each with `GetInfo`, `GetDetail` and `GetScores`, 9
//! spans with `user.id`, the same stdout), written the way most Rust
//! services are: `#[tracing::instrument]` on the functions, `tracing::info!`
//! for log lines. `common::telemetry::init` installs tracing-opentelemetry,
//! which turns each `tracing` span into an OpenTelemetry span, and the OTLP
//! log appender, which sends each log line as a log record on its span.
//!
//! Which style to pick (the README has the whole table):
//!
//! - `#[tracing::instrument]`: for a Rust service or library; spans and logs
//!   come from one API, every `tracing` user (tokio, hyper, your crates)
//!   joins the same trace, and a span costs nothing when no subscriber wants
//!   it;
//! - the OpenTelemetry API (`tracer.in_span`, `examples-inprocess-http`):
//!   when you want the OpenTelemetry model first-hand (span kind, status and
//!   links, which `tracing` reaches only through tracing-opentelemetry's
//!   `otel.*` fields and `OpenTelemetrySpanExt`), or code that mirrors
//!   GoFrame's `gtrace.NewSpan` line for line.
//!
//! Run with (start a collector first: `cargo run -p collector`)
//!
//! ```text
//! cargo run -p examples-inprocess-tracing
//! RUST_LOG=debug cargo run -p examples-inprocess-tracing
//! ```

use std::process::ExitCode;

use clap::Parser;
use common::config::HttpExporterArgs;
use common::telemetry;
use common::users::{Detail, Info, Scores, User};
use tracing::instrument;

const SERVICE_NAME: &str = "inprocess-tracing";

/// In-process tracing with `#[tracing::instrument]`, over OTLP/HTTP: one trace of 9 spans.
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

    run();

    // Flush spans and log records, print where they went; non-zero if lost.
    telemetry.shutdown().exit_code()
}

/// The root span `main`: every span opened while it is entered (the
/// instrumented calls below) becomes its descendant.
#[instrument(name = "main")]
fn run() {
    for id in [1, 100] {
        let user = get_user(id);
        let found = if user.is_empty() {
            "not found"
        } else {
            "found"
        };
        // A log line: on stderr with the trace id, and a log record on `main`.
        tracing::info!("GetUser({id}): {found}");
        println!(
            "{}",
            serde_json::to_string_pretty(&user).expect("a User always serializes")
        );
    }
}

/// Span `GetUser` with `user.id`; an empty user is an event, not an error.
///
/// `id as i64`: OpenTelemetry has no unsigned integers, and
/// tracing-opentelemetry records a `u64` field as text.
#[instrument(name = "GetUser", skip_all, fields(user.id = id as i64))]
fn get_user(id: u64) -> User {
    let user = User {
        info: get_info(id),
        detail: get_detail(id),
        scores: get_scores(id),
    };
    if user.is_empty() {
        // Inside a span, an event is a span event (and a log record).
        tracing::info!(user.id = id as i64, "user not found");
    }
    user
}

/// Span `GetInfo`: id, name, gender, site.
#[instrument(name = "GetInfo", skip_all, fields(user.id = id as i64))]
fn get_info(id: u64) -> Option<Info> {
    (id == 100).then(|| Info {
        id: 100,
        name: "john".to_owned(),
        gender: 1,
        site: "https://goframe.org".to_owned(),
    })
}

/// Span `GetDetail`: email.
#[instrument(name = "GetDetail", skip_all, fields(user.id = id as i64))]
fn get_detail(id: u64) -> Option<Detail> {
    (id == 100).then(|| Detail {
        email: "john@goframe.org".to_owned(),
    })
}

/// Span `GetScores`: math, english, chinese.
#[instrument(name = "GetScores", skip_all, fields(user.id = id as i64))]
fn get_scores(id: u64) -> Option<Scores> {
    (id == 100).then_some(Scores {
        math: 100,
        english: 60,
        chinese: 50,
    })
}
