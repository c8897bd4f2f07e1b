//! What the userdb tests share: the spans of one call, collected from the
//! SDK's in-memory exporter behind the global tracer provider (which the
//! crate's spans use), and checks on them.
//!
//! Tests of one binary run in parallel against one global provider: each
//! call runs under a root span of its own, and only the spans of that
//! trace are looked at.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::OnceLock;

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, Value, global};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

/// The exporter behind the global provider, installed on first use.
pub fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        global::set_tracer_provider(provider);
        exporter
    })
}

/// Runs `call` under a fresh root span `test` (as a server handler's span
/// would be); its result and the spans it started, in the order they ended.
pub async fn traced<T>(call: impl Future<Output = T>) -> (T, Trace) {
    let exporter = exporter();
    let tracer = global::tracer("test");
    let root = tracer.start("test");
    let cx = Context::current_with_span(root);
    let root_id = cx.span().span_context().span_id();
    let trace_id = cx.span().span_context().trace_id();
    let output = call.with_context(cx.clone()).await;
    cx.span().end();
    let spans = exporter
        .get_finished_spans()
        .expect("the in-memory exporter answers")
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace_id && span.name != "test")
        .collect::<Vec<_>>();
    for span in &spans {
        assert_eq!(
            span.parent_span_id, root_id,
            "{} is not a child of the caller's span",
            span.name
        );
        assert_eq!(span.instrumentation_scope.name(), "userdb", "{}", span.name);
    }
    (output, Trace(spans))
}

/// The spans of one call.
#[derive(Debug)]
pub struct Trace(pub Vec<SpanData>);

impl Trace {
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|span| span.name.as_ref()).collect()
    }

    /// The only span named `name`.
    pub fn span(&self, name: &str) -> &SpanData {
        let found: Vec<_> = self.0.iter().filter(|span| span.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "one span {name} expected in {:?}",
            self.names()
        );
        found[0]
    }

    /// Fails if `value` appears anywhere in a span: name, attribute,
    /// event, status message.
    pub fn assert_nowhere(&self, value: &str) {
        for span in &self.0 {
            assert!(!span.name.contains(value), "value in a span name: {span:?}");
            for kv in &span.attributes {
                assert!(
                    !kv.value.as_str().contains(value),
                    "value in {} of {}: {:?}",
                    kv.key,
                    span.name,
                    kv.value
                );
            }
            for event in span.events.iter() {
                assert!(
                    !event.name.contains(value),
                    "value in an event of {}",
                    span.name
                );
                for kv in &event.attributes {
                    assert!(
                        !kv.value.as_str().contains(value),
                        "value in an event of {}",
                        span.name
                    );
                }
            }
            if let Status::Error { description } = &span.status {
                assert!(
                    !description.contains(value),
                    "value in the status of {}",
                    span.name
                );
            }
        }
    }
}

/// The attribute `key` of `span`.
pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The attribute `key` as text (`None` if missing).
pub fn text(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|value| value.as_str().into_owned())
}

/// Checks the attributes every database span has.
pub fn assert_db_span(span: &SpanData, system: &str, namespace: &str, operation: &str, sql: &str) {
    let name = span.name.as_ref();
    assert_eq!(span.span_kind, SpanKind::Client, "{name}");
    assert_eq!(name, format!("{operation} user"));
    assert_eq!(
        text(span, "db.system.name").as_deref(),
        Some(system),
        "{name}"
    );
    assert_eq!(
        text(span, "db.namespace").as_deref(),
        Some(namespace),
        "{name}"
    );
    assert_eq!(
        text(span, "db.collection.name").as_deref(),
        Some("user"),
        "{name}"
    );
    assert_eq!(
        text(span, "db.operation.name").as_deref(),
        Some(operation),
        "{name}"
    );
    assert_eq!(
        text(span, "db.query.summary").as_deref(),
        Some(name),
        "{name}"
    );
    assert_eq!(text(span, "db.query.text").as_deref(), Some(sql), "{name}");
}
