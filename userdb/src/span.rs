//! What the database and cache spans share: the instrumentation scope, and
//! a span started as a child of whatever span is current (the server's
//! handler span), so that it lands in the caller's trace.

use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue, global};

/// The instrumentation scope of every span this crate starts.
pub(crate) const SCOPE: &str = "userdb";

/// A span named `name` under the current context; the returned context
/// holds it (and the parent's baggage).
pub(crate) fn start(name: &'static str, kind: SpanKind, attributes: Vec<KeyValue>) -> Context {
    // The global tracer, fetched per span: the provider is whatever the
    // program installed, even if it did so after `Users::connect`.
    let tracer = global::tracer(SCOPE);
    let parent = Context::current();
    let span = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(attributes)
        .start_with_context(&tracer, &parent);
    parent.with_span(span)
}
