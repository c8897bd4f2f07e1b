//! Tracer and logger provider set-up for both OTLP exporters, and the
//! bounded shutdown that reports where the spans and log records went.
//!
//! [`init`] is the Rust counterpart of GoFrame's `otlphttp.Init` and
//! `otlpgrpc.Init`, and reads as the chain it builds, like
//! opentelemetry-rust's `basic-otlp` example: exporter -> batch span
//! processor -> tracer provider (with resource) -> global provider and
//! propagators; then the same for log records, and the `tracing`
//! subscriber that feeds both ([`crate::log`]). Every setting comes
//! resolved from [`crate::config`] and is handed to the SDK's builders
//! explicitly. Beside the chain, `otlp_delivery` watches each signal
//! ([`Watch`]): what reached the collector, and why not.
//!
//! The SDK's builders still read some `OTEL_*` variables themselves; each
//! is harmless here: the endpoint, protocol, timeout and batch settings
//! they read are replaced by the values given; the compression they read is
//! only consulted when gzip is off, which the configuration decided from
//! the same variables (`none`); the headers they read are overwritten on
//! each request by the transport, which sends the resolved ones; the span
//! limits (`OTEL_SPAN_*_COUNT_LIMIT`) are the SDK's alone.

mod resource;

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{
    Compression, LogExporter, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use otlp_delivery::{Watch, Wire};

use crate::config::{Endpoint, ExporterConfig, Signal};
pub use otlp_delivery::{DeliveryReport, LogsDelivery};
pub use resource::RedactedProcessDetector;

/// Sets up tracing: the OTLP exporter of the configuration's protocol,
/// batched, on a provider that is made the global one, with the W3C
/// TraceContext and Baggage propagators (the pair GoFrame uses too); then
/// the same chain for log records (unless `OTEL_LOGS_EXPORTER=none`), and
/// the `tracing` subscriber that writes log lines to stderr and to it.
///
/// For OTLP/gRPC it must be called inside a multi-thread tokio runtime that
/// stays alive until [`Telemetry::shutdown`] has returned: the gRPC channel
/// lives on it. OTLP/HTTP needs no runtime: the exporter sends with a
/// blocking client from the batch processor's own thread.
pub fn init(config: &ExporterConfig) -> anyhow::Result<Telemetry> {
    // reqwest and tonic share rustls; one crypto provider (ring) serves both.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let wire = Wire::new(config)?; // one HTTP client or gRPC channel
    let resource = resource::resource(config);

    // Spans: exporter -> batch span processor -> tracer provider -> global.
    let spans = Watch::new(config, Signal::Traces, &config.endpoint);
    let exporter = span_exporter(config, &wire, &spans)?;
    let provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(config.sampler.clone())
        .with_span_processor(spans.ended_spans()) // what the batch drops counts too
        .with_span_processor(
            BatchSpanProcessor::builder(spans.exporter(exporter))
                .with_batch_config(config.batch.for_spans())
                .build(),
        )
        .build();
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));

    // Log records: the same chain, unless OTEL_LOGS_EXPORTER=none.
    let logs = (config.logs_endpoint.as_ref())
        .map(|endpoint| logs_chain(config, endpoint, &wire, resource))
        .transpose()?;
    // `tracing` events -> stderr and the logs, `tracing` spans -> the spans.
    let subscriber = crate::log::subscriber(&provider, &spans, logs.as_ref())?;
    tracing::subscriber::set_global_default(subscriber)
        .context("a tracing subscriber is already installed: call telemetry::init once")?;
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    Ok(Telemetry::new(config, provider, spans, logs))
}

/// The span exporter of the configuration's protocol, on `wire`, watched.
fn span_exporter(
    config: &ExporterConfig,
    wire: &Wire,
    spans: &Watch,
) -> anyhow::Result<SpanExporter> {
    let endpoint = &config.endpoint;
    match wire {
        Wire::Http(client) => over_http(SpanExporter::builder().with_http(), config, endpoint)
            .with_http_client(spans.http_client(client))
            .build(),
        Wire::Grpc(channel) => over_grpc(SpanExporter::builder().with_tonic(), config)
            .with_channel(channel.to(config, endpoint)?)
            .with_interceptor(spans.interceptor())
            .build(),
    }
    .with_context(|| format!("cannot set up the span exporter for {endpoint}"))
}

/// The log exporter of the configuration's protocol, behind a batch log
/// processor with the spans' settings, on the spans' `wire` (their HTTP
/// client, or their gRPC channel when the records go to the same place).
fn logs_chain(
    config: &ExporterConfig,
    endpoint: &Endpoint,
    wire: &Wire,
    resource: Resource,
) -> anyhow::Result<(SdkLoggerProvider, Watch)> {
    let logs = Watch::new(config, Signal::Logs, endpoint);
    let exporter = match wire {
        Wire::Http(client) => over_http(LogExporter::builder().with_http(), config, endpoint)
            .with_http_client(logs.http_client(client))
            .build(),
        Wire::Grpc(channel) => over_grpc(LogExporter::builder().with_tonic(), config)
            .with_channel(channel.to(config, endpoint)?)
            .with_interceptor(logs.interceptor())
            .build(),
    }
    .with_context(|| format!("cannot set up the log exporter for {endpoint}"))?;
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(logs.emitted_logs())
        .with_log_processor(
            BatchLogProcessor::builder(logs.exporter(exporter))
                .with_batch_config(config.batch.for_logs())
                .build(),
        )
        .build();
    Ok((provider, logs))
}

/// OTLP/HTTP with protobuf bodies to `endpoint` (the signal's full URL),
/// like GoFrame's `otlphttp.Init(serviceName, endpoint, path)`.
fn over_http<B: WithHttpConfig + WithExportConfig>(
    builder: B,
    config: &ExporterConfig,
    endpoint: &Endpoint,
) -> B {
    let builder = builder
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .with_timeout(config.export_timeout);
    match config.gzip {
        true => builder.with_compression(Compression::Gzip),
        false => builder,
    }
}

/// OTLP/gRPC, like GoFrame's `otlpgrpc.Init(serviceName, endpoint,
/// traceToken)`: the token travels as `authentication` metadata, put on
/// by the signal's interceptor; the channel's own timeout is the same (the
/// SDK asks for that).
fn over_grpc<B: WithTonicConfig + WithExportConfig>(builder: B, config: &ExporterConfig) -> B {
    let builder = builder.with_timeout(config.export_timeout);
    match config.gzip {
        true => builder.with_compression(Compression::Gzip),
        false => builder,
    }
}

/// Keeps the tracer and logger providers; [`Telemetry::shutdown`] flushes
/// them within a bounded time and reports the delivery. Dropping it without
/// calling `shutdown` still flushes (bounded), but reports nothing.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    spans: Watch,
    /// `None` with `OTEL_LOGS_EXPORTER=none`.
    logs: Option<(SdkLoggerProvider, Watch)>,
    queue_size: usize,
    shutdown_timeout: Duration,
}

impl Telemetry {
    fn new(
        config: &ExporterConfig,
        provider: SdkTracerProvider,
        spans: Watch,
        logs: Option<(SdkLoggerProvider, Watch)>,
    ) -> Telemetry {
        Telemetry {
            provider: Some(provider),
            spans,
            logs,
            queue_size: config.batch.max_queue_size,
            shutdown_timeout: config.shutdown_timeout(),
        }
    }

    /// Exports what is still queued and shuts both providers down, waiting
    /// at most the export timeout plus half a second.
    pub fn shutdown(mut self) -> DeliveryReport {
        let (outcome, logs) = self.flush();
        let mut report = self.spans.spans_report(outcome, self.queue_size);
        report.logs = logs.map(|(logs, outcome)| logs.logs_report(outcome));
        report
    }

    /// Shuts the tracer and the logger provider down side by side (so the
    /// wait is one timeout, not two); their outcomes, the second with its
    /// watch. Nothing is left to flush afterwards.
    fn flush(&mut self) -> (OTelSdkResult, Option<(Watch, OTelSdkResult)>) {
        let timeout = self.shutdown_timeout;
        let (logs, provider) = (self.logs.take(), self.provider.take());
        // What fails now is the final report's to say, not a warning's.
        self.spans.closing();
        logs.iter().for_each(|(_, watch)| watch.closing());
        std::thread::scope(|scope| {
            let logs = logs.map(|(provider, watch)| {
                (
                    watch,
                    scope.spawn(move || provider.shutdown_with_timeout(timeout)),
                )
            });
            let outcome = match provider {
                Some(provider) => provider.shutdown_with_timeout(timeout),
                None => Ok(()),
            };
            let logs = logs.map(|(watch, flushed)| {
                let outcome = flushed.join().unwrap_or_else(|_| {
                    Err(OTelSdkError::InternalFailure(
                        "the log flush panicked".to_owned(),
                    ))
                });
                (watch, outcome)
            });
            (outcome, logs)
        })
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
