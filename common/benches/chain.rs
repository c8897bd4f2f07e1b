//! What `common`'s span helpers cost over the raw SDK.
//!
//! `users::get_user(100)` (four spans: `GetUser` and its `GetInfo`,
//! `GetDetail`, `GetScores` children, each with `user.id`) against the same
//! four spans and the same user made directly with the SDK through one
//! tracer taken once from the provider. Both run on one provider whose
//! processor only counts ended spans, so what is measured is making the
//! spans, not exporting them.
//!
//! ```text
//! cargo bench -p common --bench chain
//! ```
//!
//! divan times each alone; then the two are timed in alternating rounds
//! (so that a noisy neighbour hits both alike) and the ratio of their
//! medians is printed: the target is at most 1.05.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::users::{self, Detail, Info, Scores, User};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};
use opentelemetry_semantic_conventions::attribute::USER_ID;

fn main() {
    global::set_tracer_provider(provider());
    divan::main();
    alternating_ratio();
}

#[divan::bench]
fn common_get_user() -> User {
    users::get_user(divan::black_box(100))
}

#[divan::bench]
fn raw_sdk_get_user(bencher: divan::Bencher<'_, '_>) {
    let tracer = raw_tracer();
    bencher.bench_local(|| raw_get_user(&tracer, divan::black_box(100)));
}

/// Rounds of [`BATCH`] calls of each, alternating; prints both medians and
/// their ratio.
fn alternating_ratio() {
    const ROUNDS: usize = 201;
    const BATCH: u32 = 2_000;
    let tracer = raw_tracer();
    let mut ours = Vec::with_capacity(ROUNDS);
    let mut raw = Vec::with_capacity(ROUNDS);
    let mut raw_builder = Vec::with_capacity(ROUNDS);
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed() / BATCH
    };
    for _ in 0..ROUNDS {
        ours.push(time(&|| {
            divan::black_box(users::get_user(divan::black_box(100)));
        }));
        raw.push(time(&|| {
            divan::black_box(raw_get_user(&tracer, divan::black_box(100)));
        }));
        raw_builder.push(time(&|| {
            divan::black_box(raw_builder_get_user(&tracer, divan::black_box(100)));
        }));
    }
    let (ours, raw, raw_builder) = (median(ours), median(raw), median(raw_builder));
    println!(
        "users::get_user(100) {ours:?} vs raw SDK {raw:?} per call (median of {ROUNDS} \
         alternating rounds of {BATCH}): ratio {:.3} (target <= 1.05); {} spans ended",
        ours.as_secs_f64() / raw.as_secs_f64(),
        ENDED.load(Ordering::Relaxed)
    );
    println!(
        "users::get_user(100) vs raw SDK with user.id given at span start ({raw_builder:?}): \
         ratio {:.3} (what the global tracer's boxing costs)",
        ours.as_secs_f64() / raw_builder.as_secs_f64(),
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn raw_tracer() -> SdkTracer {
    PROVIDER.with(|p| p.tracer("users"))
}

/// The reference: the four spans of `users::get_user` and the same user,
/// made with the SDK's tracer as its documentation shows.
fn raw_get_user(tracer: &SdkTracer, id: u64) -> User {
    tracer.in_span("GetUser", |cx| {
        cx.span().set_attribute(KeyValue::new(USER_ID, id as i64));
        let info = tracer.in_span("GetInfo", |cx| {
            cx.span().set_attribute(KeyValue::new(USER_ID, id as i64));
            (id == 100).then(|| Info {
                id: 100,
                name: "john".to_owned(),
                gender: 1,
                site: "https://goframe.org".to_owned(),
            })
        });
        let detail = tracer.in_span("GetDetail", |cx| {
            cx.span().set_attribute(KeyValue::new(USER_ID, id as i64));
            (id == 100).then(|| Detail {
                email: "john@goframe.org".to_owned(),
            })
        });
        let scores = tracer.in_span("GetScores", |cx| {
            cx.span().set_attribute(KeyValue::new(USER_ID, id as i64));
            (id == 100).then_some(Scores {
                math: 100,
                english: 60,
                chinese: 50,
            })
        });
        let user = User {
            info,
            detail,
            scores,
        };
        if user.is_empty() {
            cx.span()
                .add_event("user not found", vec![KeyValue::new(USER_ID, id as i64)]);
        }
        user
    })
}

/// The reference with `user.id` given to the span builder, as
/// `users::get_user` does: the difference left is the global tracer's boxing.
fn raw_builder_get_user(tracer: &SdkTracer, id: u64) -> User {
    let in_span = |name: &'static str, f: &mut dyn FnMut(&Context)| {
        let span = tracer
            .span_builder(name)
            .with_attributes([KeyValue::new(USER_ID, id as i64)])
            .start(tracer);
        let cx = Context::current_with_span(span);
        let _current = cx.clone().attach();
        f(&cx);
    };
    let mut user = User::default();
    in_span("GetUser", &mut |cx| {
        in_span("GetInfo", &mut |_| {
            user.info = (id == 100).then(|| Info {
                id: 100,
                name: "john".to_owned(),
                gender: 1,
                site: "https://goframe.org".to_owned(),
            });
        });
        in_span("GetDetail", &mut |_| {
            user.detail = (id == 100).then(|| Detail {
                email: "john@goframe.org".to_owned(),
            });
        });
        in_span("GetScores", &mut |_| {
            user.scores = (id == 100).then_some(Scores {
                math: 100,
                english: 60,
                chinese: 50,
            });
        });
        if user.is_empty() {
            cx.span()
                .add_event("user not found", vec![KeyValue::new(USER_ID, id as i64)]);
        }
    });
    user
}

static ENDED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static PROVIDER: SdkTracerProvider = provider();
}

fn provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_span_processor(CountEnded)
        .build()
}

/// Counts ended spans and drops them.
#[derive(Debug)]
struct CountEnded;

impl SpanProcessor for CountEnded {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}
    fn on_end(&self, _span: SpanData) {
        ENDED.fetch_add(1, Ordering::Relaxed);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
