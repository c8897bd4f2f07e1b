//! The tracer provider built by hand, step by step, exported over
//! **OTLP/HTTP**: GoFrame's `provider/http` example. Each step of the
//! pipeline is here, in order: resource, sampler, span processor, span
//! limits, exporter; then the global provider and propagators.
//!
//! It calls the `/hello` of `examples-http`'s server with the baggage
//! `name=john` inside a root span `StartRequests`, `--count` times, each
//! request its own trace, and ends with what the sampler did: traces started,
//! sampled, exported, and the range the sampled count should fall in. The
//! default sampler is GoFrame's: `traceidratio` 0.1, so a single run is
//! usually *not* exported, and it says so.
//!
//! Run with (start a collector, `cargo run -p collector`, and the server,
//! `cargo run -p examples-http --bin server`, first)
//!
//! ```text
//! cargo run -p examples-provider --bin provider-http
//! cargo run -p examples-provider --bin provider-http -- --sampler always_on
//! cargo run -p examples-provider --bin provider-http -- --count 200 --sampler-arg 0.5 --processor simple
//! ```

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::telemetry::RedactedProcessDetector;
use examples_provider::{Counted, OffRuntime, Processor, RunArgs, SamplerName, count_limit};
use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_otlp::{
    Compression, Protocol, SpanExporter, WithExportConfig as _, WithHttpConfig as _,
};
use opentelemetry_resource_detectors::{HostResourceDetector, OsResourceDetector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracerProvider, SimpleSpanProcessor, SpanLimits,
};

const SERVICE_NAME: &str = "otlp-http-client";

/// The provider built by hand, exported over OTLP/HTTP; calls the server with baggage `name=john`.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
    /// Collector base URL [env: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT] [default: http://localhost:4318]
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// URL path the spans are posted to, after the endpoint (vendors have their own)
    #[arg(long, value_name = "PATH", default_value = "/v1/traces")]
    path: String,
    /// Token sent as `authentication` header; never printed
    #[arg(
        long,
        env = "TRACE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
}

// The runtime serves the requests; the exporter needs none (its blocking
// client runs on a thread of its own).
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // tonic (https://) and reqwest share rustls; one crypto provider serves
    // both. An error only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();

    // 1. Resource: who produces the spans. `Resource::builder()` starts with
    // the SDK's attributes (telemetry.sdk.*) and OTEL_RESOURCE_ATTRIBUTES;
    // the community detectors add host, OS and process; then the name.
    let service_name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| SERVICE_NAME.to_owned());
    let resource = Resource::builder()
        .with_detectors(&[
            Box::new(HostResourceDetector::default()),
            Box::new(OsResourceDetector),
            // The community process detector, with `--token` and URL
            // credentials masked in the command line it records.
            Box::new(RedactedProcessDetector),
        ])
        .with_service_name(service_name)
        .build();

    // 2. Sampler: decides, when a span starts, whether it is recorded and
    // exported. GoFrame's default is a ratio that ignores the parent.
    let (sampler_name, ratio) =
        examples_provider::sampler_choice(cli.run.sampler, cli.run.sampler_arg)?;
    let sampler = match sampler_name {
        SamplerName::AlwaysOn => Sampler::AlwaysOn,
        SamplerName::AlwaysOff => Sampler::AlwaysOff,
        SamplerName::TraceIdRatio => Sampler::TraceIdRatioBased(ratio),
        SamplerName::ParentbasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        SamplerName::ParentbasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        SamplerName::ParentbasedTraceIdRatio => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
        }
    };

    // 3. Span limits: what one span may hold, from the standard variables
    // (the SDK reads the first three itself; the other two only here).
    let defaults = SpanLimits::default();
    let limits = SpanLimits {
        max_attributes_per_span: count_limit(
            "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
            defaults.max_attributes_per_span,
        )?,
        max_events_per_span: count_limit(
            "OTEL_SPAN_EVENT_COUNT_LIMIT",
            defaults.max_events_per_span,
        )?,
        max_links_per_span: count_limit("OTEL_SPAN_LINK_COUNT_LIMIT", defaults.max_links_per_span)?,
        max_attributes_per_event: count_limit(
            "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
            defaults.max_attributes_per_event,
        )?,
        max_attributes_per_link: count_limit(
            "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
            defaults.max_attributes_per_link,
        )?,
    };
    for note in examples_provider::unsupported_limits() {
        eprintln!("{note}");
    }

    // 4. Exporter: OTLP over HTTP, protobuf bodies, gzip, posted to
    // endpoint + path, the token as `authentication` header (GoFrame's
    // otlptracehttp options). The exporter builds its own blocking HTTP client.
    // OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT are read by the builder itself.
    let endpoint = examples_provider::traces_endpoint(
        cli.endpoint.as_deref(),
        "http://localhost:4318",
        Some(&cli.path),
    )?;
    let mut headers = HashMap::new();
    if let Some(token) = cli.token.clone().filter(|t| !t.is_empty()) {
        headers.insert("authentication".to_owned(), token);
    }
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(&endpoint)
        .with_headers(headers)
        .with_compression(Compression::Gzip)
        .build()?;
    // Counts what the collector accepted, for the summary.
    let (exporter, delivered) = Counted::new(exporter);

    // 5. Span processor: `batch` queues ended spans and exports them from its
    // own thread; `simple` exports each span as it ends, in that thread.
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler)
        .with_span_limits(limits);
    let provider = match cli.run.processor {
        Processor::Batch => {
            provider.with_span_processor(BatchSpanProcessor::builder(exporter).build())
        }
        Processor::Simple => {
            provider.with_span_processor(SimpleSpanProcessor::new(OffRuntime(exporter)))
        }
    }
    .build();

    // 6. The global provider, and the W3C TraceContext + Baggage propagators
    // that put the trace and the baggage in the request's headers.
    global::set_tracer_provider(provider.clone());
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));

    // The requests: each under its own root span, so each its own trace.
    let (summary, failed) =
        examples_provider::call_hello(SERVICE_NAME, &cli.run, sampler_name, ratio).await?;

    // Export what is queued, then say what happened.
    let _ = provider.shutdown_with_timeout(Duration::from_secs(2));
    Ok(summary.finish(&delivered, &endpoint, failed))
}
