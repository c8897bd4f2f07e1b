//! Tracer provider set-up for both OTLP exporters, and the bounded shutdown
//! that reports where the spans went.
//!
//! [`init_http`] and [`init_grpc`] are the Rust counterparts of GoFrame's
//! `otlphttp.Init` and `otlpgrpc.Init`: exporter -> batch span processor ->
//! tracer provider (with resource) -> global provider and propagators.
//! Around that chain, and apart from it: [`transport`] puts the resolved
//! headers and TLS on the wire and records each attempt, [`report`] counts
//! what was delivered, [`diagnose`] says why not.

mod diagnose;
mod report;
mod transport;

use std::time::Duration;

use anyhow::{Context as _, bail};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::{Array, KeyValue, StringValue, Value, global};
use opentelemetry_otlp::{
    Compression, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_resource_detectors::{
    HostResourceDetector, OsResourceDetector, ProcessResourceDetector,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanExporter,
};
use opentelemetry_semantic_conventions::resource::PROCESS_COMMAND_ARGS;

use crate::config::{ExporterConfig, Protocol, mask_userinfo};
pub use report::DeliveryReport;
use report::{CountingExporter, EndedSpans, Recorder};

/// Sets up tracing with the OTLP/HTTP exporter (protobuf bodies), like
/// GoFrame's `otlphttp.Init(serviceName, endpoint, path)`.
///
/// The exporter sends with a blocking client from the batch processor's own
/// thread, so no async runtime is needed.
pub fn init_http(config: &ExporterConfig) -> anyhow::Result<Telemetry> {
    ensure_protocol(config, Protocol::Http)?;
    install_crypto_provider();
    let recorder = Recorder::default();
    // reqwest's blocking client must be built (and, on failure, dropped) off
    // any async runtime: do it on a thread of its own, as the exporter does.
    let exporter = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let client = transport::ObservedHttpClient::new(config, recorder.clone())?;
                let mut builder = opentelemetry_otlp::SpanExporter::builder()
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
    })?;
    Ok(install(config, exporter, recorder))
}

/// Sets up tracing with the OTLP/gRPC exporter, like GoFrame's
/// `otlpgrpc.Init(serviceName, endpoint, traceToken)`: the token travels as
/// `authentication` metadata.
///
/// Must be called inside a multi-thread tokio runtime that stays alive until
/// [`Telemetry::shutdown`] has returned: the gRPC channel lives on it.
pub fn init_grpc(config: &ExporterConfig) -> anyhow::Result<Telemetry> {
    ensure_protocol(config, Protocol::Grpc)?;
    if tokio::runtime::Handle::try_current().is_err() {
        bail!("the OTLP/gRPC exporter needs a tokio runtime: call init_grpc inside #[tokio::main]");
    }
    install_crypto_provider();
    let recorder = Recorder::default();
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
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
    let exporter = builder.build().with_context(|| {
        format!(
            "cannot set up the OTLP/gRPC exporter for {}",
            config.endpoint
        )
    })?;
    Ok(install(config, exporter, recorder))
}

/// The resource every span of this process carries: host, OS, process and
/// SDK attributes from the detectors, then `OTEL_RESOURCE_ATTRIBUTES`, then
/// `service.name`.
fn resource(config: &ExporterConfig) -> Resource {
    Resource::builder_empty()
        .with_detectors(&[
            Box::new(HostResourceDetector::default()),
            Box::new(OsResourceDetector),
            Box::new(RedactedProcessDetector),
            Box::new(TelemetryResourceDetector),
        ])
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
        )
        .with_service_name(config.service_name.clone())
        .build()
}

/// W3C TraceContext (`traceparent`) and W3C Baggage (`baggage`), the pair
/// GoFrame uses too.
fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

fn ensure_protocol(config: &ExporterConfig, expected: Protocol) -> anyhow::Result<()> {
    if config.protocol != expected {
        bail!(
            "configuration is for {} but the {expected} exporter was asked for",
            config.protocol
        );
    }
    Ok(())
}

/// reqwest and tonic share rustls; one crypto provider (ring) serves both.
fn install_crypto_provider() {
    // An error only means a provider is installed already, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn install<E: SpanExporter + 'static>(
    config: &ExporterConfig,
    exporter: E,
    recorder: Recorder,
) -> Telemetry {
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    let exporter = CountingExporter {
        inner: exporter,
        recorder: recorder.clone(),
        target: diagnose::Target {
            endpoint: config.endpoint.clone(),
            protocol: config.protocol,
            has_token: config.has_token(),
            export_timeout: config.export_timeout,
            max_export_batch_size: config.batch.max_export_batch_size,
        },
    };
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(config.batch.schedule_delay)
        .with_max_queue_size(config.batch.max_queue_size)
        .with_max_export_batch_size(config.batch.max_export_batch_size)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource(config))
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
    global::set_text_map_propagator(propagator());
    Telemetry {
        provider: Some(provider),
        recorder,
        url: config.endpoint.to_string(),
        queue_size: config.batch.max_queue_size,
        shutdown_timeout: config.shutdown_timeout(),
    }
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

/// The community process detector, with the value of `--token` and URL
/// credentials masked in `process.command_args`: a secret on the command
/// line must not travel to the collector as a resource attribute.
#[derive(Debug)]
struct RedactedProcessDetector;

impl ResourceDetector for RedactedProcessDetector {
    fn detect(&self) -> Resource {
        let detected = ProcessResourceDetector.detect();
        let attributes = detected.iter().map(|(key, value)| {
            if let (PROCESS_COMMAND_ARGS, Value::Array(Array::String(args))) = (key.as_str(), value)
            {
                let args = redact_args(args.iter().map(|a| a.as_str()));
                return KeyValue::new(
                    key.clone(),
                    Value::Array(Array::String(
                        args.into_iter().map(StringValue::from).collect(),
                    )),
                );
            }
            KeyValue::new(key.clone(), value.clone())
        });
        Resource::builder_empty()
            .with_attributes(attributes)
            .build()
    }
}

/// The command line with the value of `--token` and the credentials of any
/// URL masked.
fn redact_args<'a>(args: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut hide_next = false;
    for arg in args {
        if hide_next {
            out.push("[redacted]".to_owned());
            hide_next = false;
        } else if arg == "--token" {
            out.push(arg.to_owned());
            hide_next = true;
        } else if arg.starts_with("--token=") {
            out.push("--token=[redacted]".to_owned());
        } else {
            out.push(mask_userinfo(arg));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ExporterArgs, HttpExporterArgs};

    #[test]
    fn token_and_url_credentials_are_masked_in_command_args() {
        let args = [
            "bin",
            "--token",
            "abc",
            "--token=def",
            "--endpoint",
            "https://me:hunter2@h:1",
            "--path",
            "/x",
        ];
        assert_eq!(
            redact_args(args.into_iter()),
            [
                "bin",
                "--token",
                "[redacted]",
                "--token=[redacted]",
                "--endpoint",
                "https://[redacted]@h:1",
                "--path",
                "/x"
            ]
        );
    }

    #[test]
    fn resource_has_service_host_process_and_sdk_attributes() {
        let args = HttpExporterArgs {
            common: ExporterArgs {
                endpoint: None,
                token: None,
                service_name: Some("unit-test".into()),
                export_timeout: None,
            },
            path: None,
        };
        let resource = resource(&args.resolve("default").unwrap());
        let keys: Vec<String> = resource.iter().map(|(k, _)| k.to_string()).collect();
        for key in [
            "service.name",
            "host.name",
            "os.type",
            "process.pid",
            "process.command_args",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
        assert_eq!(
            resource
                .get(&opentelemetry::Key::new("service.name"))
                .map(|v| v.to_string()),
            Some("unit-test".to_owned())
        );
    }
}
