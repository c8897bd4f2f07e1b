//! What one `tracing::info!` costs the thread that writes it, with and
//! without the OTLP log appender the examples install.
//!
//! - `stderr_only`: the line formatted as the fmt layer does, written to a
//!   sink (so the terminal is not measured);
//! - `stderr_and_otlp`: the same, plus `opentelemetry-appender-tracing`
//!   turning the event into an OpenTelemetry log record (with the trace and
//!   span id of the current span) and handing it to a logger provider. The
//!   provider's processor exports at once to an exporter that drops the
//!   batch: the examples' batch processor hands records to its own thread
//!   instead, so what is measured is the appender and the SDK, never the
//!   network.
//!
//! Both run inside an OpenTelemetry span, as the examples' log lines do.
//!
//! ```text
//! cargo bench -p common --bench log_event
//! ```
//!
//! After divan's table the two are timed in alternating rounds (so that a
//! noisy neighbour hits both alike) and the medians per event and their
//! difference are printed.

use std::time::{Duration, Instant};

use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider, SimpleLogProcessor};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;

fn main() {
    divan::main();
    alternating();
}

/// Drops every batch: the cost of the export is not what is measured.
#[derive(Debug)]
struct Discard;

impl LogExporter for Discard {
    async fn export(&self, _batch: LogBatch<'_>) -> OTelSdkResult {
        Ok(())
    }
}

fn stderr_layer() -> impl tracing_subscriber::Layer<tracing_subscriber::Registry> {
    tracing_subscriber::fmt::layer().with_writer(std::io::sink)
}

fn stderr_only() -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(stderr_layer()))
}

fn stderr_and_otlp(logs: &SdkLoggerProvider) -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry()
            .with(stderr_layer())
            .with(OpenTelemetryTracingBridge::new(logs)),
    )
}

fn logger_provider() -> SdkLoggerProvider {
    SdkLoggerProvider::builder()
        .with_log_processor(SimpleLogProcessor::new(Discard))
        .build()
}

/// `f` inside an OpenTelemetry span, under `dispatch`.
fn in_span<R>(dispatch: &Dispatch, f: impl FnOnce() -> R) -> R {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("bench");
    tracing::dispatcher::with_default(dispatch, || tracer.in_span("main", |_cx| f()))
}

fn event(id: u64) {
    tracing::info!("GetUser({id}): found");
}

#[divan::bench]
fn info_stderr_only(bencher: divan::Bencher<'_, '_>) {
    let dispatch = stderr_only();
    in_span(&dispatch, || {
        bencher.bench_local(|| event(divan::black_box(100)))
    });
}

#[divan::bench]
fn info_stderr_and_otlp(bencher: divan::Bencher<'_, '_>) {
    let logs = logger_provider();
    let dispatch = stderr_and_otlp(&logs);
    in_span(&dispatch, || {
        bencher.bench_local(|| event(divan::black_box(100)))
    });
}

/// Rounds of [`BATCH`] events under each subscriber, alternating; prints
/// the medians per event and the appender's share.
fn alternating() {
    const ROUNDS: usize = 201;
    const BATCH: u32 = 5_000;
    let logs = logger_provider();
    let (plain, with_otlp) = (stderr_only(), stderr_and_otlp(&logs));
    let round = |dispatch: &Dispatch| -> Duration {
        in_span(dispatch, || {
            let start = Instant::now();
            for _ in 0..BATCH {
                event(divan::black_box(100));
            }
            start.elapsed() / BATCH
        })
    };
    let (mut a, mut b) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        a.push(round(&plain));
        b.push(round(&with_otlp));
    }
    a.sort_unstable();
    b.sort_unstable();
    let (a, b) = (a[ROUNDS / 2], b[ROUNDS / 2]);
    println!(
        "tracing::info! per event, median of {ROUNDS} alternating rounds of {BATCH}: \
         stderr only {a:?}, stderr + OTLP appender {b:?} (+{:?}, {:.2}x)",
        b.saturating_sub(a),
        b.as_secs_f64() / a.as_secs_f64()
    );
}
