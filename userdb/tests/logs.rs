//! The log line per SQL statement, through a subscriber built like
//! common's (tracing -> `opentelemetry-appender-tracing` -> log records):
//! each line lands on its statement's span, carries no value, and sqlx's
//! own statement events never reach the subscriber.
//!
//! One test in this binary: the subscriber is process-wide (sqlx's SQLite
//! driver runs statements on a worker thread of its own, which a
//! thread-local subscriber would not see).

mod support;

use std::sync::{Arc, Mutex};

use opentelemetry::logs::AnyValue;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{InMemoryLogExporter, SdkLoggerProvider};
use support::traced;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use userdb::{DbUrl, StoreArgs, Users};

/// Records the target of every event the subscriber is handed.
#[derive(Clone, Default)]
struct Targets(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Targets {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: Context<'_, S>) {
        self.0
            .lock()
            .unwrap()
            .push(event.metadata().target().to_owned());
    }
}

fn body(record: &opentelemetry_sdk::logs::SdkLogRecord) -> String {
    match record.body() {
        Some(AnyValue::String(text)) => text.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn each_statement_logs_one_line_on_its_span_and_sqlx_logs_nothing() {
    let logs = InMemoryLogExporter::default();
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(logs.clone())
        .build();
    let targets = Targets::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(targets.clone())
            .with(OpenTelemetryTracingBridge::new(&provider)),
    )
    .unwrap();

    let args = StoreArgs {
        db: DbUrl::parse("sqlite::memory:").unwrap(),
        redis: None,
    };
    let users = Users::connect(&args).await.unwrap();
    let name = "secret-name-\u{1F980}";
    let (id, insert) = traced(users.insert(name)).await;
    let id = id.unwrap();
    let (_, query) = traced(users.query(id)).await;
    let (_, delete) = traced(users.delete(id)).await;

    // (The SDK logs too, e.g. when the global provider is set.)
    let records: Vec<_> = logs
        .get_emitted_logs()
        .unwrap()
        .into_iter()
        .filter(|log| {
            log.record
                .target()
                .is_some_and(|target| target.starts_with("userdb"))
        })
        .collect();
    let bodies: Vec<String> = records.iter().map(|log| body(&log.record)).collect();
    // The schema at start, then one line per statement: `[  0 ms] [sqlite] [rows:1  ] SQL`.
    let lines: Vec<String> = bodies
        .iter()
        .map(|body| {
            body.split_once(" ms] ")
                .map_or(body.clone(), |(_, rest)| rest.to_owned())
        })
        .collect();
    assert_eq!(
        lines,
        [
            "[sqlite] [rows:0  ] CREATE TABLE IF NOT EXISTS user (uid INTEGER PRIMARY KEY \
             AUTOINCREMENT, name VARCHAR(45) NOT NULL)",
            "[sqlite] [rows:1  ] INSERT INTO user(name) VALUES(?)",
            "[sqlite] [rows:1  ] SELECT uid, name FROM user WHERE uid=?",
            "[sqlite] [rows:1  ] DELETE FROM user WHERE uid=?",
        ],
        "{bodies:#?}"
    );
    assert!(
        bodies
            .iter()
            .all(|body| body.starts_with('[') && body.contains(" ms] "))
    );
    for body in &bodies {
        assert!(!body.contains(name), "the value in a log line: {body}");
    }

    // Each statement's line is a record on that statement's span.
    let spans = [
        insert.span("INSERT user"),
        query.span("SELECT user"),
        delete.span("DELETE user"),
    ];
    for (record, span) in records[1..].iter().zip(spans) {
        let on = record
            .record
            .trace_context()
            .expect("the record has a span");
        assert_eq!(
            (on.trace_id, on.span_id),
            (span.span_context.trace_id(), span.span_context.span_id()),
            "{} is not on {}",
            body(&record.record),
            span.name
        );
    }

    // sqlx's statement log is off: no `sqlx::query` event at all.
    let targets = targets.0.lock().unwrap().clone();
    assert!(
        targets.iter().all(|target| !target.starts_with("sqlx")),
        "{targets:?}"
    );
    assert_eq!(
        targets.iter().filter(|t| *t == "userdb::db").count(),
        4,
        "{targets:?}"
    );
}
