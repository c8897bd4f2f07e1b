//! Tracer and logger provider set-up for both OTLP exporters, and the
//! bounded shutdown that reports where the spans and log records went.
//!
//! [`init`] is the Rust counterpart of GoFrame's `otlphttp.Init` and
//! `otlpgrpc.Init`, and reads as the chain it builds: exporter -> batch span
//! processor -> tracer provider (with resource) -> global provider and
//! propagators; then the same for log records (log exporter -> batch log
//! processor -> logger provider), and the `tracing` subscriber that feeds
//! both ([`crate::log`]). The protocol is the configuration's:
//! `HttpExporterArgs` resolves to OTLP/HTTP, `GrpcExporterArgs` to
//! OTLP/gRPC. Around the chain, and apart from it: [`transport`] puts the
//! resolved headers and TLS on the wire and records each attempt, [`report`]
//! counts what was delivered, [`diagnose`] says why not, [`resource`]
//! detects the resource.

mod diagnose;
mod report;
mod resource;
mod transport;

use std::time::Duration;

use anyhow::{Context as _, bail};
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{
    Compression, ExporterBuildError, LogExporter, SpanExporter, WithExportConfig, WithHttpConfig,
    WithTonicConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{self as sdk_logs, BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

use crate::config::{Endpoint, ExporterConfig, Protocol, Signal};
use diagnose::Target;
use report::{CountingExporter, EmittedLogs, EndedSpans, Recorder};
pub use report::{DeliveryReport, LogsDelivery};
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
    // An error only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let recorder = Recorder::default();

    // One way to the collector for spans and log records: over gRPC one
    // channel (connection), over HTTP one client.
    let wire = match config.protocol {
        Protocol::Grpc => Wire::Grpc(channel_to(config, &config.endpoint)?),
        Protocol::Http => Wire::Http(http_client(config)?),
    };
    let exporter = match &wire {
        Wire::Http(client) => {
            let builder = SpanExporter::builder().with_http();
            let client =
                transport::ObservedHttpClient::new(client.clone(), config, recorder.clone());
            http_exporter(config, &config.endpoint, client, builder, |b| b.build())?
        }
        Wire::Grpc(channel) => {
            let builder = SpanExporter::builder().with_tonic();
            grpc_exporter(
                config,
                &config.endpoint,
                channel.clone(),
                &recorder,
                builder,
                |b| b.build(),
            )?
        }
    };
    // Counts what the collector acknowledged, and works out why not.
    let target = Target::new(config, Signal::Traces, &config.endpoint);
    let exporter = CountingExporter::new(exporter, target, recorder.clone());
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.schedule_delay)
        .with_max_queue_size(config.batch.max_queue_size)
        .with_max_export_batch_size(config.batch.max_export_batch_size)
        .build();
    let resource = resource::resource(config);
    let provider = SdkTracerProvider::builder()
        .with_resource(resource.clone())
        .with_sampler(config.sampler.clone())
        // Counts every ended span, so spans the batch processor drops (its
        // queue is full) show up in the report as undelivered.
        .with_span_processor(EndedSpans(recorder.clone()))
        .with_span_processor(
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        )
        .build();

    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));

    // Log records: the same chain, to the logs endpoint (same settings).
    let logs = match &config.logs_endpoint {
        Some(endpoint) => Some(logs_chain(config, resource, endpoint, wire)?),
        None => None,
    };
    // `tracing` events -> stderr and the logger provider; `tracing` spans
    // -> the tracer provider.
    let subscriber = crate::log::subscriber(&provider, logs.as_ref().map(|l| &l.provider))?;
    tracing::subscriber::set_global_default(subscriber)
        .context("a tracing subscriber is already installed: call telemetry::init once")?;

    for note in &config.notes {
        eprintln!("note: {note}");
    }
    Ok(Telemetry {
        provider: Some(provider),
        recorder,
        logs,
        url: config.endpoint.to_string(),
        queue_size: config.batch.max_queue_size,
        shutdown_timeout: config.shutdown_timeout(),
    })
}

/// The log exporter of the configuration's protocol, counted, behind a batch
/// log processor with the span processor's delay and sizes; on the spans'
/// `wire` (their HTTP client, or their gRPC channel when the records go to
/// the same collector).
fn logs_chain(
    config: &ExporterConfig,
    resource: Resource,
    endpoint: &Endpoint,
    wire: Wire,
) -> anyhow::Result<LogsChain> {
    let recorder = Recorder::default();
    let exporter = match wire {
        Wire::Http(client) => {
            let builder = LogExporter::builder().with_http();
            let client = transport::ObservedHttpClient::new(client, config, recorder.clone());
            http_exporter(config, endpoint, client, builder, |b| b.build())?
        }
        Wire::Grpc(channel) => {
            let channel = if *endpoint == config.endpoint {
                channel
            } else {
                channel_to(config, endpoint)?
            };
            let builder = LogExporter::builder().with_tonic();
            grpc_exporter(config, endpoint, channel, &recorder, builder, |b| b.build())?
        }
    };
    // Failures are diagnosed at the logs' own endpoint.
    let target = Target::new(config, Signal::Logs, endpoint);
    let exporter = CountingExporter::new(exporter, target, recorder.clone());
    let batch = sdk_logs::BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.schedule_delay)
        .with_max_queue_size(config.batch.max_queue_size)
        .with_max_export_batch_size(config.batch.max_export_batch_size)
        .build();
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(EmittedLogs(recorder.clone()))
        .with_log_processor(
            BatchLogProcessor::builder(exporter)
                .with_batch_config(batch)
                .build(),
        )
        .build();
    Ok(LogsChain {
        provider,
        recorder,
        url: endpoint.to_string(),
    })
}

/// The logger provider, what it delivered, and where to.
#[derive(Debug)]
struct LogsChain {
    provider: SdkLoggerProvider,
    recorder: Recorder,
    url: String,
}

/// How the exporters reach the collector.
enum Wire {
    Http(reqwest::blocking::Client),
    Grpc(tonic::transport::Channel),
}

/// The blocking HTTP client of both exporters, built on a thread of its
/// own: reqwest's blocking client must not be built on an async runtime's.
fn http_client(config: &ExporterConfig) -> anyhow::Result<reqwest::blocking::Client> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| transport::blocking_client(config))
            .join()
            .map_err(|_| anyhow::anyhow!("setting up the HTTP client panicked"))?
    })
}

/// OTLP/HTTP with protobuf bodies, like GoFrame's
/// `otlphttp.Init(serviceName, endpoint, path)`: `builder` is a span or log
/// exporter builder, `build` its `build`.
fn http_exporter<B, E>(
    config: &ExporterConfig,
    endpoint: &Endpoint,
    client: transport::ObservedHttpClient,
    builder: B,
    build: fn(B) -> Result<E, ExporterBuildError>,
) -> anyhow::Result<E>
where
    B: WithHttpConfig + WithExportConfig,
{
    let mut builder = builder
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint.as_str())
        .with_timeout(config.export_timeout)
        .with_http_client(client);
    if config.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    build(builder).with_context(|| format!("cannot set up the OTLP/HTTP exporter for {endpoint}"))
}

/// OTLP/gRPC, like GoFrame's `otlpgrpc.Init(serviceName, endpoint,
/// traceToken)`: the token travels as `authentication` metadata, over
/// `channel` (see [`transport::grpc_channel`]).
fn grpc_exporter<B, E>(
    config: &ExporterConfig,
    endpoint: &Endpoint,
    channel: tonic::transport::Channel,
    recorder: &Recorder,
    builder: B,
    build: fn(B) -> Result<E, ExporterBuildError>,
) -> anyhow::Result<E>
where
    B: WithTonicConfig + WithExportConfig,
{
    let mut builder = builder
        .with_channel(channel)
        // The channel's own timeout is the same (the SDK asks for that).
        .with_timeout(config.export_timeout)
        .with_interceptor(transport::interceptor(config, recorder.clone()));
    if config.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    build(builder).with_context(|| format!("cannot set up the OTLP/gRPC exporter for {endpoint}"))
}

/// The gRPC channel to `endpoint`; fails outside a tokio runtime.
fn channel_to(
    config: &ExporterConfig,
    endpoint: &Endpoint,
) -> anyhow::Result<tonic::transport::Channel> {
    if tokio::runtime::Handle::try_current().is_err() {
        bail!(
            "the OTLP/gRPC exporter needs a tokio runtime: call telemetry::init inside #[tokio::main]"
        );
    }
    transport::grpc_channel(config, endpoint)
}

/// Keeps the tracer and logger providers; [`Telemetry::shutdown`] flushes
/// them within a bounded time and reports the delivery. Dropping it without
/// calling `shutdown` still flushes (bounded), but reports nothing.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    recorder: Recorder,
    /// `None` with `OTEL_LOGS_EXPORTER=none`.
    logs: Option<LogsChain>,
    url: String,
    queue_size: usize,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// Exports what is still queued and shuts both providers down, waiting
    /// at most the export timeout plus half a second.
    pub fn shutdown(mut self) -> DeliveryReport {
        let (outcome, logs) = self.flush();
        let mut report =
            DeliveryReport::new(self.url.clone(), &self.recorder, outcome, self.queue_size);
        report.logs =
            logs.map(|(logs, outcome)| LogsDelivery::new(logs.url, &logs.recorder, outcome));
        report
    }

    /// Shuts the tracer and the logger provider down side by side (so the
    /// wait is one timeout, not two); their outcomes, the second with its
    /// chain. Nothing is left to flush afterwards.
    fn flush(&mut self) -> (OTelSdkResult, Option<(LogsChain, OTelSdkResult)>) {
        let timeout = self.shutdown_timeout;
        let (logs, provider) = (self.logs.take(), self.provider.take());
        std::thread::scope(|scope| {
            let logs = logs.map(|logs| {
                let provider = logs.provider.clone();
                (
                    logs,
                    scope.spawn(move || provider.shutdown_with_timeout(timeout)),
                )
            });
            let outcome = match provider {
                Some(provider) => provider.shutdown_with_timeout(timeout),
                None => Ok(()),
            };
            let logs = logs.map(|(logs, flushed)| {
                let outcome = flushed.join().unwrap_or_else(|_| {
                    Err(OTelSdkError::InternalFailure(
                        "the log flush panicked".to_owned(),
                    ))
                });
                (logs, outcome)
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
