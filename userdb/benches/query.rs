//! What the instrumentation costs a query: the same point SELECT by primary
//! key (`SELECT uid, name FROM user WHERE uid=?`, one row) through
//! `userdb::db::Db`, without its span and log line (`select_untraced`) and
//! with them (`select`), side by side in one run, on SQLite in memory and
//! on a private MariaDB (when testkit can start one).
//!
//! The spans are real: an `SdkTracerProvider` is the global provider, and
//! its batch processor hands every span to a thread whose exporter counts
//! and drops them (the count is printed at the end). The log line is
//! measured three ways, each under a `tracing` subscriber of its own:
//!
//! - `traced_span_only`: no subscriber (the line is not even formatted);
//! - `traced_log_to_sink`: the span, and the line formatted by
//!   tracing-subscriber's fmt layer (level `info`, as `RUST_LOG` defaults)
//!   into a sink: what a log line costs on any terminal-less run;
//! - `traced_log_to_sink_and_otlp`: the same, plus the line turned into an
//!   OpenTelemetry log record on the span by `opentelemetry-appender-tracing`
//!   and handed to a batch processor whose exporter drops it: what the
//!   examples' servers do.
//!
//! ```text
//! cargo bench -p userdb --bench query
//! ```
//!
//! First all variants are timed in alternating rounds (so that a noisy
//! neighbour hits them alike) and the medians and their ratios to
//! `untraced` are printed; then divan times each variant alone. Targets:
//! 1.15 on SQLite in memory, 1.05 on MariaDB.
//!
//! Read the added microseconds as much as the ratios: on a small VM the
//! untraced SQLite query itself takes either about 13 µs or about 90 µs
//! from one run to the next (sqlx hands each statement to a worker thread,
//! and waking it is fast or slow depending on where the scheduler put it),
//! which moves the ratio but hardly the cost added.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::global;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::runtime::Runtime;
use tracing::Dispatch;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{Layer as _, Registry};
use userdb::DbUrl;
use userdb::db::Db;

fn main() {
    let spans = SdkTracerProvider::builder()
        .with_batch_exporter(DiscardSpans)
        .build();
    global::set_tracer_provider(spans.clone());
    alternating("SQLite in memory", sqlite());
    match mariadb() {
        Some(target) => alternating("MariaDB", target),
        None => println!("MariaDB: SKIPPED (mariadbd is not installed; see the line above)"),
    }
    divan::main();
    let _ = spans.force_flush();
    println!(
        "spans recorded, ended and exported (then dropped): {}",
        SPANS.load(Ordering::Relaxed)
    );
    let _ = spans.shutdown();
    let _ = logs().shutdown();
}

/// Spans that reached the exporter: proof that they were recorded and ended.
static SPANS: AtomicU64 = AtomicU64::new(0);

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

fn logs() -> &'static SdkLoggerProvider {
    static LOGS: OnceLock<SdkLoggerProvider> = OnceLock::new();
    LOGS.get_or_init(|| {
        SdkLoggerProvider::builder()
            .with_batch_exporter(DiscardLogs)
            .build()
    })
}

/// The fmt layer at `info`, writing into a sink.
fn to_sink() -> impl tracing_subscriber::Layer<Registry> {
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::sink)
        .with_filter(LevelFilter::INFO)
}

/// How the log line is handled: see the module documentation.
#[derive(Clone, Copy)]
enum Logs {
    None,
    Sink,
    SinkAndOtlp,
}

impl Logs {
    fn dispatch(self) -> Dispatch {
        match self {
            Logs::None => Dispatch::none(),
            Logs::Sink => Dispatch::new(tracing_subscriber::registry().with(to_sink())),
            Logs::SinkAndOtlp => Dispatch::new(
                tracing_subscriber::registry()
                    .with(to_sink())
                    .with(OpenTelemetryTracingBridge::new(logs())),
            ),
        }
    }
}

/// A database to query: the pool, the id of its one row, and a runtime of
/// its own (a pool's connections belong to the runtime that opened them,
/// and the MySQL pool's connections and timers must not weigh on the
/// SQLite measurements).
struct Target {
    db: Db,
    id: i64,
    runtime: Runtime,
}

impl Target {
    fn new(open: impl AsyncFnOnce() -> Option<Db>) -> Option<Target> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (db, id) = runtime.block_on(async {
            let db = open().await?;
            let id = db.insert("john").await.expect("a user");
            Some((db, id))
        })?;
        Some(Target { db, id, runtime })
    }
}

fn sqlite() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        Target::new(async || {
            let url = DbUrl::parse("sqlite::memory:").unwrap();
            Some(Db::connect(&url).await.expect("SQLite in memory"))
        })
        .expect("SQLite in memory")
    })
}

/// A private MariaDB with one user, kept for the whole run; `None` when
/// mariadbd is not installed.
fn mariadb() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<(testkit::servers::MariaDb, Target)>> = OnceLock::new();
    let server = TARGET.get_or_init(|| {
        let starter = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let server = starter.block_on(testkit::servers::MariaDb::start("userdb bench query"))?;
        let url = DbUrl::parse(&server.url()).unwrap();
        let target =
            Target::new(async || Some(Db::connect(&url).await.expect("the private MariaDB")))?;
        Some((server, target))
    });
    server.as_ref().map(|(_, target)| target)
}

fn untraced(target: &Target) {
    let user = target
        .runtime
        .block_on(target.db.select_untraced(divan::black_box(target.id)));
    assert!(matches!(user, Ok(Some(_))));
}

fn traced(target: &Target) {
    let user = target
        .runtime
        .block_on(target.db.select(divan::black_box(target.id)));
    assert!(matches!(user, Ok(Some(_))));
}

/// One way of running the SELECT.
struct Variant {
    name: &'static str,
    query: fn(&Target),
    logs: Logs,
}

/// The variants, as divan and the alternating rounds run them.
const VARIANTS: [Variant; 4] = [
    Variant {
        name: "untraced",
        query: untraced,
        logs: Logs::None,
    },
    Variant {
        name: "traced_span_only",
        query: traced,
        logs: Logs::None,
    },
    Variant {
        name: "traced_log_to_sink",
        query: traced,
        logs: Logs::Sink,
    },
    Variant {
        name: "traced_log_to_sink_and_otlp",
        query: traced,
        logs: Logs::SinkAndOtlp,
    },
];

fn bench(bencher: divan::Bencher<'_, '_>, target: Option<&Target>, variant: usize) {
    let Some(target) = target else { return };
    let Variant { query, logs, .. } = VARIANTS[variant];
    tracing::dispatcher::with_default(&logs.dispatch(), || {
        bencher.bench_local(|| query(target));
    });
}

#[divan::bench_group(sample_count = 200)]
mod sqlite_memory {
    use super::{Target, bench, sqlite};

    fn db() -> Option<&'static Target> {
        Some(sqlite())
    }

    #[divan::bench]
    fn untraced(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, db(), 0);
    }

    #[divan::bench]
    fn traced_span_only(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, db(), 1);
    }

    #[divan::bench]
    fn traced_log_to_sink(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, db(), 2);
    }

    #[divan::bench]
    fn traced_log_to_sink_and_otlp(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, db(), 3);
    }
}

#[divan::bench_group(sample_count = 100)]
mod mariadb {
    use super::{bench, mariadb};

    #[divan::bench]
    fn untraced(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, mariadb(), 0);
    }

    #[divan::bench]
    fn traced_span_only(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, mariadb(), 1);
    }

    #[divan::bench]
    fn traced_log_to_sink(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, mariadb(), 2);
    }

    #[divan::bench]
    fn traced_log_to_sink_and_otlp(bencher: divan::Bencher<'_, '_>) {
        bench(bencher, mariadb(), 3);
    }
}

/// Rounds of a short batch of each variant, alternating (each round starts
/// with the next variant, so that none always follows the same one); prints
/// the medians per query and their ratios to `untraced`. Short batches and
/// many rounds: a burst of load from another process hits every variant
/// alike, and the median leaves it out.
fn alternating(name: &str, target: &Target) {
    const ROUNDS: usize = 801;
    // About 1.5 ms per batch on SQLite in memory, 2.5 ms on MariaDB.
    let batch: u32 = if name.starts_with("SQLite") { 100 } else { 20 };
    let dispatches = VARIANTS.map(|variant| variant.logs.dispatch());
    let mut times = VARIANTS.map(|_| Vec::with_capacity(ROUNDS));
    for round in 0..ROUNDS {
        for offset in 0..VARIANTS.len() {
            let variant = (round + offset) % VARIANTS.len();
            let query = VARIANTS[variant].query;
            tracing::dispatcher::with_default(&dispatches[variant], || {
                let start = Instant::now();
                for _ in 0..batch {
                    query(target);
                }
                times[variant].push(start.elapsed() / batch);
            });
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|times| {
            times.sort_unstable();
            times[ROUNDS / 2]
        })
        .collect();
    println!("{name}: point SELECT, median of {ROUNDS} alternating rounds of {batch}:");
    for (Variant { name, .. }, median) in VARIANTS.iter().zip(&medians) {
        println!(
            "  {name:<28} {median:>10.3?}  +{:>9.3?}  {:.3}x",
            median.saturating_sub(medians[0]),
            median.as_secs_f64() / medians[0].as_secs_f64()
        );
    }
}
