//! The demo user data of the GoFrame examples: `GetUser` merges what
//! `GetInfo`, `GetDetail` and `GetScores` return, each call in its own span.
//!
//! Only user 100 exists; any other id gives an empty user (`{}`), which shows
//! in the trace (event `user not found`) without being an error.

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_semantic_conventions::attribute::USER_ID;
use serde::Serialize;

/// Instrumentation scope of the user spans.
const SCOPE: &str = "users";

/// A user: whichever parts were found, flattened into one JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct User {
    #[serde(flatten)]
    pub info: Option<Info>,
    #[serde(flatten)]
    pub detail: Option<Detail>,
    #[serde(flatten)]
    pub scores: Option<Scores>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Info {
    pub id: u64,
    pub name: String,
    pub gender: u8,
    pub site: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detail {
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scores {
    pub math: u32,
    pub english: u32,
    pub chinese: u32,
}

impl User {
    /// True when no part of the user was found.
    pub fn is_empty(&self) -> bool {
        self.info.is_none() && self.detail.is_none() && self.scores.is_none()
    }
}

/// Span `GetUser`, with children `GetInfo`, `GetDetail`, `GetScores`.
pub fn get_user(id: u64) -> User {
    // One tracer for the four spans: looking it up costs about as much as
    // making a span.
    let tracer = global::tracer(SCOPE);
    in_user_span(&tracer, "GetUser", id, |cx| {
        let user = User {
            info: get_info(&tracer, id),
            detail: get_detail(&tracer, id),
            scores: get_scores(&tracer, id),
        };
        if user.is_empty() {
            cx.span()
                .add_event("user not found", vec![KeyValue::new(USER_ID, id as i64)]);
        }
        user
    })
}

/// Span `GetInfo`: id, name, gender, site.
fn get_info(tracer: &BoxedTracer, id: u64) -> Option<Info> {
    in_user_span(tracer, "GetInfo", id, |_| {
        (id == 100).then(|| Info {
            id: 100,
            name: "john".to_owned(),
            gender: 1,
            site: "https://goframe.org".to_owned(),
        })
    })
}

/// Span `GetDetail`: email.
fn get_detail(tracer: &BoxedTracer, id: u64) -> Option<Detail> {
    in_user_span(tracer, "GetDetail", id, |_| {
        (id == 100).then(|| Detail {
            email: "john@goframe.org".to_owned(),
        })
    })
}

/// Span `GetScores`: math, english, chinese.
fn get_scores(tracer: &BoxedTracer, id: u64) -> Option<Scores> {
    in_user_span(tracer, "GetScores", id, |_| {
        (id == 100).then_some(Scores {
            math: 100,
            english: 60,
            chinese: 50,
        })
    })
}

/// Runs `f` in a child span of the current context named `name`, with the
/// `user.id` attribute, and makes that span current while `f` runs.
fn in_user_span<T>(
    tracer: &BoxedTracer,
    name: &'static str,
    id: u64,
    f: impl FnOnce(&Context) -> T,
) -> T {
    let span = tracer
        .span_builder(name)
        .with_attributes([KeyValue::new(USER_ID, id as i64)])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _current = cx.clone().attach();
    f(&cx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use serde_json::json;

    #[test]
    fn user_100_is_john_and_others_are_empty() {
        assert_eq!(
            serde_json::to_value(get_user(100)).unwrap(),
            json!({"id":100,"name":"john","gender":1,"site":"https://goframe.org",
                   "email":"john@goframe.org","math":100,"english":60,"chinese":50})
        );
        assert_eq!(serde_json::to_value(get_user(1)).unwrap(), json!({}));
        assert!(get_user(7).is_empty());
    }

    #[test]
    fn get_user_makes_four_spans_with_user_id() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer("test");
        // The user functions use the global tracer provider.
        global::set_tracer_provider(provider.clone());
        let trace_id = tracer.in_span("root", |cx| {
            get_user(1);
            cx.span().span_context().trace_id()
        });
        // Other tests may run user functions meanwhile: keep only this trace.
        let spans: Vec<_> = exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace_id)
            .collect();
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(
            names,
            ["GetInfo", "GetDetail", "GetScores", "GetUser", "root"]
        );
        let get_user = &spans[3];
        for child in &spans[..3] {
            assert_eq!(child.parent_span_id, get_user.span_context.span_id());
            assert!(
                child.attributes.contains(&KeyValue::new(USER_ID, 1_i64)),
                "{} lacks user.id",
                child.name
            );
        }
        assert_eq!(get_user.events.len(), 1);
        assert_eq!(get_user.events[0].name, "user not found");
    }
}
