//! Tracer provider set-up for both OTLP exporters, and the bounded shutdown
//! that reports where the spans went.
//!
//! [`init`] is the Rust counterpart of GoFrame's `otlphttp.Init` and
//! `otlpgrpc.Init`, and reads as the chain it builds: exporter -> batch span
//! processor -> tracer provider (with resource) -> global provider and
//! propagators. The protocol is the configuration's: `HttpExporterArgs`
//! resolves to OTLP/HTTP, `GrpcExporterArgs` to OTLP/gRPC. Around the chain,
//! and apart from it: [`transport`] puts the resolved headers and TLS on the
//! wire and records each attempt, [`report`] counts what was delivered,
//! [`diagnose`] says why not, [`resource`] detects the resource.

mod diagnose;
mod report;
mod resource;
mod transport;

use std::time::Duration;

use anyhow::{Context as _, bail};
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{
    Compression, SpanExporter, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};

use crate::config::{ExporterConfig, Protocol};
pub use report::DeliveryReport;
use report::{CountingExporter, EndedSpans, Recorder};

/// Sets up tracing: the OTLP exporter of the configuration's protocol,
/// batched, on a provider that is made the global one, with the W3C
/// TraceContext and Baggage propagators (the pair GoFrame uses too).
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

    let exporter = match config.protocol {
        Protocol::Http => http_exporter(config, &recorder)?,
        Protocol::Grpc => grpc_exporter(config, &recorder)?,
    };
    // Counts what the collector acknowledged, and works out why not.
    let exporter = CountingExporter::new(exporter, config, recorder.clone());
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.schedule_delay)
        .with_max_queue_size(config.batch.max_queue_size)
        .with_max_export_batch_size(config.batch.max_export_batch_size)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource::resource(config))
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
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    Ok(Telemetry {
        provider: Some(provider),
        recorder,
        url: config.endpoint.to_string(),
        queue_size: config.batch.max_queue_size,
        shutdown_timeout: config.shutdown_timeout(),
    })
}

/// OTLP/HTTP with protobuf bodies, like GoFrame's
/// `otlphttp.Init(serviceName, endpoint, path)`.
fn http_exporter(config: &ExporterConfig, recorder: &Recorder) -> anyhow::Result<SpanExporter> {
    // reqwest's blocking client must be built (and, on failure, dropped) off
    // any async runtime: do it on a thread of its own, as the exporter does.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let client = transport::ObservedHttpClient::new(config, recorder.clone())?;
                let mut builder = SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(config.endpoint.as_str())
                    .with_timeout(config.export_timeout)
                    .with_http_client(client);
                if config.gzip {
                    builder = builder.with_compression(Compression::Gzip);
                }
                builder.build().with_context(|| {
                    format!(
                        "cannot set up the OTLP/HTTP exporter for {}",
                        config.endpoint
                    )
                })
            })
            .join()
            .map_err(|_| anyhow::anyhow!("setting up the OTLP/HTTP exporter panicked"))?
    })
}

/// OTLP/gRPC, like GoFrame's `otlpgrpc.Init(serviceName, endpoint,
/// traceToken)`: the token travels as `authentication` metadata.
fn grpc_exporter(config: &ExporterConfig, recorder: &Recorder) -> anyhow::Result<SpanExporter> {
    if tokio::runtime::Handle::try_current().is_err() {
        bail!(
            "the OTLP/gRPC exporter needs a tokio runtime: call telemetry::init inside #[tokio::main]"
        );
    }
    let mut builder = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(config.endpoint.as_str())
        .with_timeout(config.export_timeout)
        .with_interceptor(transport::interceptor(config, recorder.clone()));
    if config.endpoint.is_https() {
        builder = builder.with_tls_config(transport::grpc_tls(config));
    }
    if config.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    builder.build().with_context(|| {
        format!(
            "cannot set up the OTLP/gRPC exporter for {}",
            config.endpoint
        )
    })
}

/// Keeps the tracer provider; [`Telemetry::shutdown`] flushes it within a
/// bounded time and reports the delivery. Dropping it without calling
/// `shutdown` still flushes (bounded), but reports nothing.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    recorder: Recorder,
    url: String,
    queue_size: usize,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// Exports what is still queued and shuts the provider down, waiting at
    /// most the export timeout plus half a second.
    pub fn shutdown(mut self) -> DeliveryReport {
        let outcome = match self.provider.take() {
            Some(provider) => provider.shutdown_with_timeout(self.shutdown_timeout),
            None => Ok(()),
        };
        DeliveryReport::new(self.url.clone(), &self.recorder, outcome, self.queue_size)
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(self.shutdown_timeout);
        }
    }
}
