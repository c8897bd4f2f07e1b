//! Tracer provider set-up for both OTLP exporters, and the bounded shutdown
//! that reports where the spans went.
//!
//! [`init_http`] and [`init_grpc`] are the Rust counterparts of GoFrame's
//! `otlphttp.Init` and `otlpgrpc.Init`: exporter -> batch span processor ->
//! tracer provider (with resource) -> global provider and propagators.

use std::collections::HashMap;
use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::{Array, KeyValue, StringValue, Value, global};
use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
use opentelemetry_otlp::tonic_types::transport::ClientTlsConfig;
use opentelemetry_otlp::{
    Compression, WithExportConfig as _, WithHttpConfig as _, WithTonicConfig as _,
};
use opentelemetry_resource_detectors::{
    HostResourceDetector, OsResourceDetector, ProcessResourceDetector,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::resource::ResourceDetector;
use opentelemetry_sdk::trace::{
    SdkTracerProvider, Span as SdkSpan, SpanData, SpanExporter, SpanProcessor,
};
use opentelemetry_semantic_conventions::resource::PROCESS_COMMAND_ARGS;

use crate::config::{ExporterConfig, Protocol};

/// The header (HTTP) or metadata key (gRPC) that carries the token, as in
/// GoFrame's `otlpgrpc.Init`.
pub const TOKEN_KEY: &str = "authentication";

/// Sets up tracing with the OTLP/HTTP exporter (protobuf bodies), like
/// GoFrame's `otlphttp.Init(serviceName, endpoint, path)`.
///
/// The exporter sends with the blocking client it builds itself, from the
/// batch processor's own thread, so no async runtime is needed.
pub fn init_http(config: &ExporterConfig) -> anyhow::Result<Telemetry> {
    ensure_protocol(config, Protocol::Http)?;
    install_crypto_provider();
    let mut headers = HashMap::new();
    if let Some(token) = &config.token {
        http::HeaderValue::from_str(token.expose()).map_err(|_| {
            anyhow::anyhow!("the token contains characters not allowed in an HTTP header")
        })?;
        headers.insert(TOKEN_KEY.to_owned(), token.expose().to_owned());
    }
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(&config.url)
        .with_timeout(config.export_timeout)
        .with_headers(headers);
    if config.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    let exporter = builder
        .build()
        .with_context(|| format!("cannot set up the OTLP/HTTP exporter for {}", config.url))?;
    Ok(install(config, exporter))
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
    let mut headers = http::HeaderMap::new();
    if let Some(token) = &config.token {
        let value = http::HeaderValue::from_str(token.expose()).map_err(|_| {
            anyhow::anyhow!("the token contains characters not allowed in gRPC metadata")
        })?;
        headers.insert(TOKEN_KEY, value);
    }
    let metadata = MetadataMap::from_headers(headers);
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(&config.url)
        .with_timeout(config.export_timeout)
        .with_metadata(metadata);
    if config.url.to_ascii_lowercase().starts_with("https://") {
        builder = builder.with_tls_config(ClientTlsConfig::new().with_native_roots());
    }
    if config.gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    let exporter = builder
        .build()
        .with_context(|| format!("cannot set up the OTLP/gRPC exporter for {}", config.url))?;
    Ok(install(config, exporter))
}

/// The resource every span of this process carries: `service.name`, plus
/// host, OS, process and SDK attributes from the community detectors, plus
/// `OTEL_RESOURCE_ATTRIBUTES`.
pub fn resource(service_name: &str) -> Resource {
    Resource::builder()
        .with_detectors(&[
            Box::new(HostResourceDetector::default()),
            Box::new(OsResourceDetector),
            Box::new(RedactedProcessDetector),
        ])
        .with_service_name(service_name.to_owned())
        .build()
}

/// W3C TraceContext (`traceparent`) and W3C Baggage (`baggage`), the pair
/// GoFrame uses too.
pub fn propagator() -> TextMapCompositePropagator {
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

fn install<E: SpanExporter + 'static>(config: &ExporterConfig, exporter: E) -> Telemetry {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let exporter = CountingExporter {
        inner: exporter,
        stats: Arc::clone(&stats),
    };
    // The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG
    // (the SDK reads them; the default is parent-based always-on).
    let provider = SdkTracerProvider::builder()
        .with_resource(resource(&config.service_name))
        // Counts every ended span, so spans the batch processor drops (its
        // queue is full) show up in the report as undelivered.
        .with_span_processor(EndedSpans(Arc::clone(&stats)))
        .with_batch_exporter(exporter)
        .build();
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(propagator());
    Telemetry {
        provider: Some(provider),
        stats,
        url: config.url.clone(),
        export_timeout: config.export_timeout,
        shutdown_timeout: config.shutdown_timeout(),
    }
}

/// Keeps the tracer provider; [`Telemetry::shutdown`] flushes it within a
/// bounded time and reports the delivery. Dropping it without calling
/// `shutdown` still flushes (bounded), but reports nothing.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    stats: Arc<Mutex<Stats>>,
    url: String,
    export_timeout: Duration,
    shutdown_timeout: Duration,
}

impl Telemetry {
    /// The URL the spans are sent to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Exports what is still queued and shuts the provider down, waiting at
    /// most the export timeout plus half a second.
    pub fn shutdown(mut self) -> DeliveryReport {
        let outcome = match self.provider.take() {
            Some(provider) => provider.shutdown_with_timeout(self.shutdown_timeout),
            None => Ok(()),
        };
        let stats = self
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        DeliveryReport::new(&self.url, &stats, outcome, self.export_timeout)
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown_with_timeout(self.shutdown_timeout);
        }
    }
}

/// What became of this process's spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub url: String,
    /// Spans the collector acknowledged.
    pub exported: usize,
    /// Spans that ended but did not reach the collector.
    pub undelivered: usize,
    /// Of those, spans dropped before export because the queue was full.
    pub dropped: usize,
    /// Why delivery failed, when it did.
    pub problem: Option<String>,
}

impl DeliveryReport {
    fn new(url: &str, stats: &Stats, outcome: OTelSdkResult, export_timeout: Duration) -> Self {
        let undelivered = stats.ended.saturating_sub(stats.exported);
        // Neither exported, failed nor in flight: never handed to the
        // exporter because the batch processor's queue was full.
        let dropped = undelivered.saturating_sub(stats.failed + stats.in_flight);
        let problem = if let Some(error) = &stats.last_error {
            Some(diagnose(
                url,
                error,
                stats.last_failed_after,
                export_timeout,
            ))
        } else {
            match outcome {
                Err(OTelSdkError::Timeout(waited)) => Some(format!(
                    "the collector did not answer within {:.1}s",
                    waited.as_secs_f64()
                )),
                Ok(()) | Err(OTelSdkError::AlreadyShutdown) => None,
                Err(other) => Some(other.to_string()),
            }
        };
        DeliveryReport {
            url: url.to_owned(),
            exported: stats.exported,
            undelivered,
            dropped,
            problem,
        }
    }

    /// True when every span handed to the exporter reached the collector.
    pub fn is_ok(&self) -> bool {
        self.problem.is_none() && self.undelivered == 0
    }

    /// Prints the report as one line on stderr; the exit code says whether
    /// the spans were delivered.
    pub fn exit_code(&self) -> ExitCode {
        eprintln!("{self}");
        if self.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

impl fmt::Display for DeliveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "exported {} spans to {}", self.exported, self.url);
        }
        let spans = match self.undelivered {
            0 => "spans".to_owned(),
            1 => "1 span".to_owned(),
            n => format!("{n} spans"),
        };
        write!(f, "error: could not deliver {spans} to {}: ", self.url)?;
        match &self.problem {
            Some(problem) => write!(
                f,
                "{problem}. Start a collector with `cargo run -p collector`, \
                 or point --endpoint at yours"
            ),
            None => write!(
                f,
                "{} were dropped because the export queue was full \
                 ({} exported); raise OTEL_BSP_MAX_QUEUE_SIZE (default 2048)",
                self.dropped, self.exported
            ),
        }
    }
}

/// Turns the exporter's terse error into a cause a newcomer can act on.
fn diagnose(url: &str, error: &str, failed_after: Duration, timeout: Duration) -> String {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return error.to_owned();
    };
    let host = uri.host().unwrap_or_default().to_owned();
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    let addrs = match (host.as_str(), port).to_socket_addrs() {
        Ok(addrs) => addrs.collect::<Vec<_>>(),
        Err(_) => return format!("cannot resolve host `{host}`"),
    };
    let reachable = addrs
        .iter()
        .any(|addr| TcpStream::connect_timeout(addr, Duration::from_millis(300)).is_ok());
    if !reachable {
        return format!("connection refused, nothing is listening on {host}:{port}");
    }
    if failed_after + Duration::from_millis(100) >= timeout {
        return format!(
            "{host}:{port} accepted the connection but sent no answer within {:.1}s",
            timeout.as_secs_f64()
        );
    }
    error.to_owned()
}

#[derive(Debug, Clone, Default)]
struct Stats {
    /// Spans ended (and sampled) in this process.
    ended: usize,
    exported: usize,
    failed: usize,
    in_flight: usize,
    last_error: Option<String>,
    last_failed_after: Duration,
}

/// Passes batches to the real exporter and counts what it acknowledged.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    stats: Arc<Mutex<Stats>>,
}

impl<E: SpanExporter> CountingExporter<E> {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        self.stats().in_flight += count;
        let started = Instant::now();
        let result = self.inner.export(batch).await;
        let mut stats = self.stats();
        stats.in_flight -= count;
        match &result {
            Ok(()) => stats.exported += count,
            Err(error) => {
                stats.failed += count;
                stats.last_error = Some(error.to_string());
                stats.last_failed_after = started.elapsed();
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Counts ended spans; the batch processor after it does the real work.
#[derive(Debug)]
struct EndedSpans(Arc<Mutex<Stats>>);

impl SpanProcessor for EndedSpans {
    fn on_start(&self, _span: &mut SdkSpan, _cx: &opentelemetry::Context) {}

    fn on_end(&self, _span: SpanData) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).ended += 1;
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The community process detector, with the value of `--token` masked in
/// `process.command_args`: a token on the command line must not travel to
/// the collector as a resource attribute.
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
            out.push(arg.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_masked_in_command_args() {
        let args = ["bin", "--token", "abc", "--token=def", "--path", "/x"];
        assert_eq!(
            redact_args(args.into_iter()),
            [
                "bin",
                "--token",
                "[redacted]",
                "--token=[redacted]",
                "--path",
                "/x"
            ]
        );
    }

    #[test]
    fn resource_has_service_host_process_and_sdk_attributes() {
        let resource = resource("unit-test");
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

    #[test]
    fn report_lines() {
        let ok = DeliveryReport {
            url: "http://localhost:4318/v1/traces".into(),
            exported: 9,
            undelivered: 0,
            dropped: 0,
            problem: None,
        };
        assert_eq!(
            ok.to_string(),
            "exported 9 spans to http://localhost:4318/v1/traces"
        );
        let failed = DeliveryReport {
            exported: 0,
            undelivered: 9,
            problem: Some("connection refused, nothing is listening on localhost:4318".into()),
            ..ok
        };
        let line = failed.to_string();
        assert!(!failed.is_ok());
        assert!(line.starts_with("error: could not deliver 9 spans to http://localhost:4318/v1/traces: connection refused"), "{line}");
        assert!(line.contains("cargo run -p collector"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn spans_dropped_from_a_full_queue_are_reported() {
        let stats = Stats {
            ended: 1000,
            exported: 870,
            ..Stats::default()
        };
        let report = DeliveryReport::new("http://c/v1/traces", &stats, Ok(()), Duration::ZERO);
        assert!(!report.is_ok());
        assert_eq!((report.undelivered, report.dropped), (130, 130));
        assert_eq!(
            report.to_string(),
            "error: could not deliver 130 spans to http://c/v1/traces: 130 were dropped \
             because the export queue was full (870 exported); raise OTEL_BSP_MAX_QUEUE_SIZE \
             (default 2048)"
        );
        let all = Stats {
            ended: 9,
            exported: 9,
            ..Stats::default()
        };
        assert!(DeliveryReport::new("u", &all, Ok(()), Duration::ZERO).is_ok());
    }

    #[test]
    fn diagnose_refused_port() {
        // Bind then drop to get a port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cause = diagnose(
            &format!("http://127.0.0.1:{port}/v1/traces"),
            "HTTP export failed: network error",
            Duration::from_millis(5),
            Duration::from_millis(1500),
        );
        assert_eq!(
            cause,
            format!("connection refused, nothing is listening on 127.0.0.1:{port}")
        );
    }
}
