//! What the instrumentation costs a query: the same point SELECT by primary
//! key (`SELECT uid, name FROM user WHERE uid=?`, one row) through
//! `userdb::db::Db`, with its CLIENT span and log line (`select`) and
//! without them (`select_untraced`), side by side in one run, on SQLite in
//! memory and on a private MariaDB (when testkit can start one).
//!
//! The traced variant pays for everything a server pays for: a real
//! `SdkTracerProvider` is the global provider (its batch processor hands
//! the spans to a thread whose exporter counts and drops them), and the
//! log line goes through a real `tracing` subscriber: formatted by the fmt
//! layer into a sink, and turned into an OpenTelemetry log record on the
//! span by `opentelemetry-appender-tracing` (its exporter drops it too).
//! Neither the terminal nor the network is measured.
//!
//! ```text
//! cargo bench -p userdb --bench query
//! ```
//!
//! divan times each variant alone; then the two are timed in alternating
//! rounds (so that a noisy neighbour hits both alike) and the medians and
//! their ratio are printed: targets 1.15 on SQLite in memory, 1.05 on
//! MariaDB.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::global;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt as _;
use userdb::DbUrl;
use userdb::db::Db;

/// Spans that reached the exporter: proof that they were recorded and ended.
static SPANS: AtomicU64 = AtomicU64::new(0);

fn main() {
    let (spans, logs) = telemetry();
    divan::main();
    for (name, db, id) in [("SQLite in memory", sqlite(), SQLITE_ID)]
        .into_iter()
        .chain(mariadb().map(|(db, id)| ("MariaDB", db, id)))
    {
        alternating(name, db, id);
    }
    if mariadb().is_none() {
        println!("MariaDB: SKIPPED (mariadbd is not installed; see the line above)");
    }
    let _ = spans.force_flush();
    println!("spans recorded, ended and exported: {}", SPANS.load(Ordering::Relaxed));
    let _ = spans.shutdown();
    let _ = logs.shutdown();
}

/// Counts the spans, then drops them.
#[derive(Debug)]
struct DiscardSpans;

impl SpanExporter for DiscardSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        SPANS.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Drops the log records.
#[derive(Debug)]
struct DiscardLogs;

impl LogExporter for DiscardLogs {
    async fn export(&self, _batch: LogBatch<'_>) -> OTelSdkResult {
        Ok(())
    }
}

/// The global tracer provider and a process-wide subscriber, as a server
/// of the examples has them (with the exports dropped).
fn telemetry() -> (SdkTracerProvider, SdkLoggerProvider) {
    let spans = SdkTracerProvider::builder()
        .with_batch_exporter(DiscardSpans)
        .build();
    global::set_tracer_provider(spans.clone());
    let logs = SdkLoggerProvider::builder()
        .with_batch_exporter(DiscardLogs)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink))
        .with(OpenTelemetryTracingBridge::new(&logs));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    (spans, logs)
}

/// One runtime for the whole run: a pool's connections belong to the
/// runtime that opened them.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

const SQLITE_ID: i64 = 1;

fn sqlite() -> &'static Db {
    static DB: OnceLock<Db> = OnceLock::new();
    DB.get_or_init(|| {
        runtime().block_on(async {
            let db = Db::connect(&DbUrl::parse("sqlite::memory:").unwrap())
                .await
                .expect("SQLite in memory");
            assert_eq!(db.insert("john").await, Ok(SQLITE_ID));
            db
        })
    })
}

/// A private MariaDB with one user, kept for the whole run; `None` when
/// mariadbd is not installed.
fn mariadb() -> Option<(&'static Db, i64)> {
    static DB: OnceLock<Option<(testkit::servers::MariaDb, Db, i64)>> = OnceLock::new();
    DB.get_or_init(|| {
        runtime().block_on(async {
            let server = testkit::servers::MariaDb::start("userdb bench query").await?;
            let db = Db::connect(&DbUrl::parse(&server.url()).unwrap())
                .await
                .expect("the private MariaDB");
            let id = db.insert("john").await.expect("a user");
            Some((server, db, id))
        })
    })
    .as_ref()
    .map(|(_, db, id)| (db, *id))
}

fn select(db: &Db, id: i64) {
    let user = runtime().block_on(db.select(divan::black_box(id)));
    assert!(matches!(user, Ok(Some(_))));
}

fn select_untraced(db: &Db, id: i64) {
    let user = runtime().block_on(db.select_untraced(divan::black_box(id)));
    assert!(matches!(user, Ok(Some(_))));
}

#[divan::bench_group(sample_count = 200)]
mod sqlite_memory {
    #[divan::bench]
    fn untraced() {
        super::select_untraced(super::sqlite(), super::SQLITE_ID);
    }

    #[divan::bench]
    fn traced() {
        super::select(super::sqlite(), super::SQLITE_ID);
    }
}

#[divan::bench_group(sample_count = 100)]
mod mariadb {
    #[divan::bench]
    fn untraced(bencher: divan::Bencher<'_, '_>) {
        if let Some((db, id)) = super::mariadb() {
            bencher.bench_local(|| super::select_untraced(db, id));
        }
    }

    #[divan::bench]
    fn traced(bencher: divan::Bencher<'_, '_>) {
        if let Some((db, id)) = super::mariadb() {
            bencher.bench_local(|| super::select(db, id));
        }
    }
}

/// Rounds of a batch of each variant, alternating; prints both medians and
/// their ratio.
fn alternating(name: &str, db: &Db, id: i64) {
    const ROUNDS: usize = 101;
    // About 20 ms per batch on either database.
    let batch: u32 = if name.starts_with("SQLite") { 500 } else { 100 };
    let time = |f: &dyn Fn(&Db, i64)| {
        let start = Instant::now();
        for _ in 0..batch {
            f(db, id);
        }
        start.elapsed() / batch
    };
    let (mut untraced, mut traced) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        untraced.push(time(&select_untraced));
        traced.push(time(&select));
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort_unstable();
        times[ROUNDS / 2]
    };
    let (untraced, traced) = (median(&mut untraced), median(&mut traced));
    println!(
        "{name}: point SELECT, median of {ROUNDS} alternating rounds of {batch}: untraced \
         {untraced:?}, traced (span + log line) {traced:?}: +{:?}, {:.3}x",
        traced.saturating_sub(untraced),
        traced.as_secs_f64() / untraced.as_secs_f64()
    );
}
