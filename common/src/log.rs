//! Log lines through `tracing`: every example writes `tracing::info!(...)`,
//! and [`subscriber`] sends each event two ways:
//!
//! - to stderr, as GoFrame's logger prints it, with the trace id of the span
//!   it was written in:
//!   `2026-12-01T23:00:00.000000Z [INFO] {0f6749b644f4a50c61233b72a482f518} GetUser(100): found`;
//! - over OTLP, as a log record that carries that trace id and span id
//!   (`opentelemetry-appender-tracing`), unless `OTEL_LOGS_EXPORTER=none`.
//!
//! `RUST_LOG` chooses which events are logged, as in any Rust program
//! (default `info`). The same subscriber turns `tracing` spans
//! (`#[tracing::instrument]`) into OpenTelemetry spans
//! (`tracing-opentelemetry`), whatever `RUST_LOG` says: which spans are
//! recorded is the sampler's choice (`OTEL_TRACES_SAMPLER`).

use std::fmt;

use anyhow::Context as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_delivery::{GrpcAnswers, Watch};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt as _, LevelFilter, Targets};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::time::{FormatTime as _, SystemTime};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer as _, Registry};

/// The crates that carry the export itself. Their events and spans never
/// become OpenTelemetry data: exporting them would make more of them, and
/// so on. (They still reach stderr when `RUST_LOG` asks for them.)
const EXPORT_STACK: [&str; 8] = [
    "h2",
    "hyper",
    "hyper_util",
    "reqwest",
    "tonic",
    "tower",
    "rustls",
    "opentelemetry",
];

/// The `tracing` subscriber of an example: stderr lines, OpenTelemetry
/// spans for `tracing` spans (on `tracer_provider`), and, when `logs` is
/// given, OTLP log records; and the layer that gives the delivery report
/// the gRPC exporters' answers. Fails on a malformed `RUST_LOG`.
pub(crate) fn subscriber(
    tracer_provider: &SdkTracerProvider,
    spans_watch: &Watch,
    logs: Option<&(SdkLoggerProvider, Watch)>,
) -> anyhow::Result<impl Subscriber + Send + Sync + 'static> {
    let rust_log = rust_log()?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(GoFrameFormat)
        .with_filter(env_filter(&rust_log)?);
    // Without `busy_ns`/`idle_ns` on every span: the span's duration is
    // what a learner reads.
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer_provider.tracer("tracing"))
        .with_tracked_inactivity(false)
        .with_filter(not_export_stack());
    // The gRPC server's own words, from the gRPC exporter's log.
    let grpc_answers = GrpcAnswers::new(spans_watch, logs.map(|(_, watch)| watch));
    let records = match logs {
        Some((provider, _)) => Some(
            OpenTelemetryTracingBridge::new(provider)
                .with_filter(not_export_stack().and(env_filter(&rust_log)?)),
        ),
        None => None,
    };
    Ok(Registry::default()
        .with(stderr)
        .with(spans)
        .with(records)
        .with(grpc_answers.filtered()))
}

/// The value of `RUST_LOG`, empty when unset; one that is not UTF-8 is an
/// error (tracing-subscriber's own reading would take it for unset).
fn rust_log() -> anyhow::Result<String> {
    match std::env::var("RUST_LOG") {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Ok(String::new()),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("invalid RUST_LOG: the value is not valid UTF-8")
        }
    }
}

/// The filter `RUST_LOG`'s `directives` describe, `info` when there are
/// none. Each layer needs a filter of its own, so this is built per layer.
/// The SDK's own log (its failed exports, said better by the delivery
/// report) is off unless the directives name `opentelemetry`.
fn env_filter(directives: &str) -> anyhow::Result<EnvFilter> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(directives)
        .context("invalid RUST_LOG: write directives like `info`, `debug` or `examples_http=debug,h2=warn`")?;
    Ok(match directives.contains("opentelemetry") {
        true => filter,
        false => filter.add_directive("opentelemetry=off".parse().context("the SDK log filter")?),
    })
}

/// Every level, except from the export stack.
fn not_export_stack() -> Targets {
    EXPORT_STACK.iter().fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, krate| targets.with_target(*krate, LevelFilter::OFF),
    )
}

/// `2026-12-01T23:00:00.000000Z [INFO] {trace id} message key=value`: the
/// trace id is that of the current OpenTelemetry context, which both an
/// OpenTelemetry span (`tracer.in_span`) and an entered `tracing` span set.
struct GoFrameFormat;

impl<S, N> FormatEvent<S, N> for GoFrameFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        write!(writer, " [{}] ", level_name(*event.metadata().level()))?;
        let context = opentelemetry::Context::current();
        let span_context = context.span().span_context().clone();
        if span_context.is_valid() {
            write!(writer, "{{{}}} ", span_context.trace_id())?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}
