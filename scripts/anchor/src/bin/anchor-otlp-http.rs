//! The OTLP/HTTP start-up anchor of `scripts/chain-cost.py`: the traces part
//! of opentelemetry-rust's `basic-otlp-http` example, nothing of this
//! project's own: the exporter as the SDK builds it (endpoint from
//! `OTEL_EXPORTER_OTLP_ENDPOINT`), the batch processor, a resource with the
//! service name only, two spans, shutdown.

use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("basic-otlp-example-http")
                .build(),
        )
        .build();
    global::set_tracer_provider(provider.clone());

    let tracer = global::tracer("basic");
    tracer.in_span("Main operation", |cx| {
        cx.span()
            .set_attribute(KeyValue::new("my-attribute", "my-value"));
        tracer.in_span("Sub operation...", |cx| {
            cx.span().add_event("Sub span event", vec![]);
        });
    });
    provider.shutdown()?;
    Ok(())
}
