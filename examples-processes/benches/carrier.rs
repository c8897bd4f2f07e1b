//! The carrier's cost per child: copy the environment, drop the stale
//! context variables, inject a span context and two baggage entries with
//! the W3C propagators (the parent's side), then read that environment and
//! extract the context (the child's side); the same without the copy of
//! a shell-sized environment; and, to compare, starting and waiting for
//! `true`, the least a child process costs.
//!
//! ```text
//! cargo bench -p examples-processes --bench carrier
//! ```

use std::ffi::OsString;

use divan::Bencher;
use examples_processes::{ChildEnv, EnvExtractor, Names};
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

fn main() {
    divan::main();
}

/// A shell-sized environment: 40 variables of some 30 bytes, plus a stale
/// context from whoever started the parent.
fn parent_env() -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = (0..40)
        .map(|i| {
            (
                format!("VARIABLE_{i}").into(),
                format!("/usr/local/share/value/{i}").into(),
            )
        })
        .collect();
    vars.push((
        "TRACEPARENT".into(),
        "00-11111111111111111111111111111111-2222222222222222-01".into(),
    ));
    vars.push(("BAGGAGE".into(), "stale=1".into()));
    vars
}

fn context() -> Context {
    let span = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    Context::new().with_remote_span_context(span).with_baggage([
        KeyValue::new("user", "john"),
        KeyValue::new("job", "nightly-42"),
    ])
}

#[divan::bench]
fn inject_and_extract_per_child(bencher: Bencher<'_, '_>) {
    let propagator = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let vars = parent_env();
    let cx = context();
    bencher.bench_local(|| {
        let mut child = ChildEnv::from_vars(vars.iter().cloned(), Names::Standard);
        child.inject_with(&propagator, &cx);
        let extracted = propagator.extract(&EnvExtractor::from_vars(child.vars(), Names::Standard));
        assert!(extracted.span().span_context().is_valid());
        extracted
    });
}

#[divan::bench]
fn inject_and_extract_only(bencher: Bencher<'_, '_>) {
    let propagator = TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]);
    let cx = context();
    bencher.bench_local(|| {
        let mut child = ChildEnv::from_vars([], Names::Standard);
        child.inject_with(&propagator, &cx);
        propagator.extract(&EnvExtractor::from_vars(child.vars(), Names::Standard))
    });
}

#[divan::bench(sample_count = 20)]
fn spawn_true_for_comparison() -> std::process::ExitStatus {
    std::process::Command::new("true")
        .status()
        .expect("`true` runs")
}
