//! Traces and log records kept in a file (`--store PATH`), so that they
//! survive a restart; and the runs: every start of the collector on the
//! file is the next run.
//!
//! The file is SQLite, through `sqlx` (its `sqlite` feature, which the
//! with-db examples build already: nothing more to compile): embedded (no
//! server to start), one file, crash-safe with its write-ahead log (WAL,
//! `synchronous=NORMAL`: a process killed mid-write loses nothing
//! committed, and the file always opens), and readable by any SQLite tool.
//!
//! Ingest stays as it is (convert, store in memory, answer). What the
//! memory store keeps, and what it evicts, goes on to ONE writer task
//! through a [`Journal`]: a queue bounded in bytes (when it is full, the
//! receivers wait before they answer: back-pressure, nothing is dropped;
//! the batch being written is not counted, so at most twice the bound is
//! held; `--load` and the web view's upload do not wait). The writer takes
//! what came 50 ms after it came and commits it in one transaction, so a
//! process crash loses at most the last fraction of a second of
//! acknowledged data (a power cut, with `synchronous=NORMAL`, may lose the
//! last commits too, never the file). A row is the spans of one trace from one request (as
//! a protobuf `ExportTraceServiceRequest`, with their resources and
//! scopes), or log records likewise (`ExportLogsServiceRequest`):
//!
//! ```text
//! records(seq INTEGER PRIMARY KEY, run, trace_id BLOB NULL, signal, transport, path, body)
//! runs(run INTEGER PRIMARY KEY, started_unix_nano)
//! ```
//!
//! At start the rows are read back in `seq` order through the same convert
//! and insert path as ingest, so the same limits apply (`--max-traces`,
//! `--max-spans`, the memory...); each trace keeps its run. The file holds
//! no more than memory, a row at a time: when memory evicts a trace, its
//! rows are deleted in the writer's next transaction; each log record in
//! memory knows its row (the journal numbers the rows before they are
//! written, past the file's last), and log records are evicted oldest first
//! (of a trace, or of no trace), so when memory evicts the last record of a
//! row, even of a trace that stays, the row is deleted too: O(1) an
//! eviction, and nothing kept but the row number, counted in the record's
//! cost. A row read back of which memory keeps nothing (over a smaller
//! bound than when it was written) is deleted at once; one that does not
//! decode is left as it is. A row partly evicted stays whole until its
//! last record goes.
//!
//! A start is a run once the collector serves: a start that fails (a port
//! taken...) records no run and writes no row.
//!
//! The file is locked while the collector runs (`locking_mode=EXCLUSIVE`):
//! a second collector on it is refused at start.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous,
};
use sqlx::{Connection as _, Row as _};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::ingest::{self, Export};
use crate::model::{ReceivedRequest, Signal, Transport};
use crate::store::Store;
use crate::stored::{StoredLog, StoredSpan, TraceId};

/// The schema this collector writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// What the queue to the writer may hold, in the bytes memory counts for
/// it; past it, the receivers wait before they answer.
const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// The shortest time between two commits (what comes meanwhile goes into
/// the next one).
const COMMIT_EVERY: Duration = Duration::from_millis(50);

/// Rows read back at a time at start.
const READ_PAGE: i64 = 512;

/// Why the file of `--store` cannot be used: the path, the cause and what
/// to do, in one line.
#[derive(Debug, thiserror::Error)]
#[error("--store {}: {cause}", path.display())]
pub struct StoreError {
    path: PathBuf,
    cause: String,
}

impl StoreError {
    fn new(path: &Path, cause: impl Into<String>) -> StoreError {
        StoreError {
            path: path.to_owned(),
            cause: cause.into(),
        }
    }
}

/// What memory stored or evicted, for the file.
#[derive(Debug)]
pub(crate) enum Change {
    /// Spans of one trace from one request, as memory keeps them, for the
    /// row `row` (see [`Journal::row`]).
    Spans {
        row: i64,
        trace: TraceId,
        run: u32,
        spans: Arc<[StoredSpan]>,
        /// What memory counts for them.
        bytes: usize,
    },
    /// Log records of one trace (`None`: of no trace) from one request,
    /// for the row `row`: those memory holds when it is queued.
    Logs {
        row: i64,
        trace: Option<TraceId>,
        run: u32,
        logs: Vec<Arc<StoredLog>>,
    },
    /// A trace evicted, with its records.
    Evicted(TraceId),
    /// The last record memory held of the row evicted (records are
    /// evicted oldest first, of a trace or of no trace, so the store sees
    /// it when the next record is of another row).
    RowGone(i64),
    /// While the file is read back, a trace evicted: its rows before
    /// `row` go (its later rows are still to be read).
    EvictedBefore { trace: TraceId, row: i64 },
    /// This start's run, once the collector serves: first in the
    /// writer's first transaction.
    Run { run: u32, started_unix_nano: u64 },
}

impl Change {
    fn bytes(&self) -> usize {
        match self {
            Change::Spans { bytes, .. } => *bytes,
            Change::Logs { logs, .. } => logs.iter().map(|l| l.charged).sum(),
            _ => 64,
        }
    }
}

/// The queue from memory to the writer, bounded in bytes.
#[derive(Debug)]
pub(crate) struct Journal {
    queue: Mutex<Queue>,
    /// The writer has something to do.
    work: Notify,
    /// The writer took a batch: there may be room (for async waiters)...
    taken: Notify,
    /// ...and for blocking ones (a file loaded: `--load`, the upload).
    taken_blocking: std::sync::Condvar,
    /// Transactions that failed (each with what it held).
    failed: AtomicU64,
}

#[derive(Debug, Default)]
struct Queue {
    changes: Vec<Change>,
    bytes: usize,
    /// Set while the rows of the file are read back: what memory stores
    /// then is that row (already in the file), and an eviction deletes
    /// only rows before it...
    reading: Option<i64>,
    /// ...and whether memory kept anything of it.
    kept: bool,
    /// The row the next spans or records go to: past every row of the
    /// file, so that memory knows the rows of its records before they
    /// are written.
    next_row: i64,
    closed: bool,
}

impl Journal {
    fn new() -> Journal {
        Journal {
            queue: Mutex::new(Queue::default()),
            work: Notify::new(),
            taken: Notify::new(),
            taken_blocking: std::sync::Condvar::new(),
            failed: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The row the next spans or records stored go to (under the store's
    /// lock): the row being read back, or a new one.
    pub(crate) fn row(&self) -> i64 {
        let mut queue = self.lock();
        match queue.reading {
            Some(row) => row,
            None => {
                queue.next_row += 1;
                queue.next_row - 1
            }
        }
    }

    /// What is queued, for the writer (the queue is empty then: whoever
    /// waits for room goes on), and whether the journal is closed.
    fn take(&self) -> (Vec<Change>, bool) {
        let taken = {
            let mut queue = self.lock();
            queue.bytes = 0;
            (std::mem::take(&mut queue.changes), queue.closed)
        };
        self.taken.notify_waiters();
        self.taken_blocking.notify_all();
        taken
    }

    /// No more changes: the writer commits what is queued and stops, and
    /// whoever waits for room goes on.
    fn close(&self) {
        self.lock().closed = true;
        self.work.notify_one();
        self.taken.notify_waiters();
        self.taken_blocking.notify_all();
    }

    /// Queues a change (under the store's lock, so in the store's order).
    pub(crate) fn push(&self, change: Change) {
        let mut queue = self.lock();
        let change = match (change, queue.reading) {
            (change, None) => change,
            // Read back from the file: the spans and records are there
            // already (and the row stays: memory keeps some of it)...
            (Change::Spans { .. } | Change::Logs { .. }, Some(_)) => {
                queue.kept = true;
                return;
            }
            // ...even when the records of it stored first are evicted by
            // those of it stored next.
            (Change::RowGone(row), Some(reading)) if row == reading => return,
            // An eviction deletes only rows before the one read.
            (Change::Evicted(trace), Some(row)) => Change::EvictedBefore { trace, row },
            (change, Some(_)) => change,
        };
        queue.bytes += change.bytes();
        queue.changes.push(change);
        drop(queue);
        self.work.notify_one();
    }

    /// Waits until the queue has room (the receivers, before they answer).
    pub(crate) async fn room(&self) {
        loop {
            let taken = self.taken.notified();
            {
                let queue = self.lock();
                if queue.bytes <= QUEUE_BYTES || queue.closed {
                    return;
                }
            }
            taken.await;
        }
    }

    /// [`Journal::room`] for a blocking thread (one loading a file).
    pub(crate) fn room_blocking(&self) {
        let mut queue = self.lock();
        while queue.bytes > QUEUE_BYTES && !queue.closed {
            queue = self
                .taken_blocking
                .wait(queue)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Transactions that failed so far.
    pub(crate) fn failed_writes(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// The file open and read back; its writer starts, and this start's run
/// is recorded, once the collector serves ([`Opened::serve`]): a start
/// that fails (a port taken...) leaves no run.
#[derive(Debug)]
pub(crate) struct Opened {
    conn: SqliteConnection,
    journal: Arc<Journal>,
    run: u32,
    started_unix_nano: u64,
    reloaded_spans: usize,
    reloaded_logs: usize,
}

/// The file open, its writer running.
#[derive(Debug)]
pub(crate) struct Persist {
    journal: Arc<Journal>,
    writer: JoinHandle<()>,
    /// This start's run.
    pub(crate) run: u32,
    /// Spans and log records read back at start.
    pub(crate) reloaded_spans: usize,
    pub(crate) reloaded_logs: usize,
}

/// Now in Unix nanoseconds (0 before 1970).
pub(crate) fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Opens (or makes) the file at `path`, takes its lock and reads its rows
/// back into `store`, whose run is then the next one.
pub(crate) async fn open(path: &Path, store: &Store) -> Result<Opened, StoreError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .locking_mode(SqliteLockingMode::Exclusive)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::ZERO);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| StoreError::new(path, cause(&e)))?;
    schema(&mut conn)
        .await
        .map_err(|e| StoreError::new(path, cause(&e)))?
        .map_err(|why| StoreError::new(path, why))?;
    let journal = Arc::new(Journal::new());
    store.set_journal(journal.clone());
    let back = read_back(&mut conn, store, &journal)
        .await
        .map_err(|e| StoreError::new(path, cause(&e)))?;
    journal.lock().next_row = back.last_row + 1;
    let mut runs: Vec<(u32, u64)> =
        sqlx::query("SELECT run, started_unix_nano FROM runs ORDER BY run")
            .fetch_all(&mut conn)
            .await
            .map_err(|e| StoreError::new(path, cause(&e)))?
            .iter()
            .map(|row| {
                (
                    u32::try_from(row.get::<i64, _>(0)).unwrap_or(0),
                    u64::try_from(row.get::<i64, _>(1)).unwrap_or(0),
                )
            })
            .collect();
    // Past the runs recorded and those of the rows (a run whose record
    // was lost with a failed write).
    let last = runs.last().map_or(0, |(run, _)| *run).max(back.last_run);
    let run = last.saturating_add(1);
    let started_unix_nano = now_unix_nano();
    runs.push((run, started_unix_nano));
    store.set_runs(runs);
    store.set_run(run);
    store.mark_read_back();
    Ok(Opened {
        conn,
        journal,
        run,
        started_unix_nano,
        reloaded_spans: back.spans,
        reloaded_logs: back.logs,
    })
}

impl Opened {
    /// The collector serves: records this start's run (first thing in the
    /// writer's first transaction, before what came meanwhile) and starts
    /// the writer.
    pub(crate) fn serve(self) -> Persist {
        let Opened {
            conn,
            journal,
            run,
            started_unix_nano,
            reloaded_spans,
            reloaded_logs,
        } = self;
        {
            let mut queue = journal.lock();
            let change = Change::Run {
                run,
                started_unix_nano,
            };
            queue.bytes += change.bytes();
            queue.changes.insert(0, change);
        }
        journal.work.notify_one();
        let writer = tokio::spawn(write(conn, journal.clone()));
        Persist {
            journal,
            writer,
            run,
            reloaded_spans,
            reloaded_logs,
        }
    }
}

impl Persist {
    /// Commits what is queued and closes the file, within `budget`.
    pub(crate) async fn close(mut self, budget: Duration) {
        self.journal.close();
        if tokio::time::timeout(budget, &mut self.writer)
            .await
            .is_err()
        {
            self.writer.abort();
        }
    }
}

impl Drop for Persist {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

/// A database error as a cause with what to do.
fn cause(e: &sqlx::Error) -> String {
    let text = match e.as_database_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    };
    let lower = text.to_ascii_lowercase();
    if lower.contains("locked") || lower.contains("busy") {
        format!("{text}: another collector is using this file; stop it or pick another file")
    } else if lower.contains("not a database") {
        format!("{text}: this is not an SQLite file; pick a new file name (it is made)")
    } else if lower.contains("unable to open") {
        format!("{text}: check that the directory exists and can be written")
    } else {
        text
    }
}

/// Makes the tables of a new file or checks those of an old one; why the
/// file cannot be used, if it cannot.
async fn schema(conn: &mut SqliteConnection) -> Result<Result<(), String>, sqlx::Error> {
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?;
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut *conn)
        .await?;
    if version == 0 && tables > 0 {
        return Ok(Err(
            "this SQLite file holds other tables (not a collector's store); pick a new file name"
                .to_owned(),
        ));
    }
    if version != 0 && version != SCHEMA_VERSION {
        return Ok(Err(format!(
            "the file has schema version {version}, this collector reads version \
             {SCHEMA_VERSION}; use the collector that wrote it, or pick a new file name"
        )));
    }
    if version == 0 {
        let mut tx = conn.begin().await?;
        sqlx::query(
            "CREATE TABLE runs (run INTEGER PRIMARY KEY, started_unix_nano INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "CREATE TABLE records (seq INTEGER PRIMARY KEY, run INTEGER NOT NULL, \
             trace_id BLOB, signal INTEGER NOT NULL, transport INTEGER NOT NULL, \
             path TEXT NOT NULL, body BLOB NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("CREATE INDEX records_trace ON records (trace_id)")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Ok(()))
}

const TRACES: i64 = 0;
const LOGS: i64 = 1;

fn transport_code(transport: Transport) -> i64 {
    match transport {
        Transport::Grpc => 0,
        Transport::HttpProtobuf => 1,
        Transport::HttpJson => 2,
    }
}

fn transport_of(code: i64) -> Transport {
    match code {
        0 => Transport::Grpc,
        1 => Transport::HttpProtobuf,
        _ => Transport::HttpJson,
    }
}

/// What reading the file back found.
#[derive(Debug, Default)]
struct ReadBack {
    /// Spans and records stored.
    spans: usize,
    logs: usize,
    /// The last row and the last run of the rows.
    last_row: i64,
    last_run: u32,
}

/// Reads every row back into `store`, oldest first, through ingest. A row
/// memory keeps nothing of (each record over the memory, or over a smaller
/// bound than when it was written...) is deleted.
async fn read_back(
    conn: &mut SqliteConnection,
    store: &Store,
    journal: &Journal,
) -> Result<ReadBack, sqlx::Error> {
    let mut back = ReadBack::default();
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, run, signal, transport, path, body FROM records \
             WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(READ_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        for row in rows {
            let seq: i64 = row.get(0);
            let run = u32::try_from(row.get::<i64, _>(1)).unwrap_or(1);
            let signal: i64 = row.get(2);
            let transport = transport_of(row.get(3));
            let path: String = row.get(4);
            let body: Vec<u8> = row.get(5);
            back.last_row = seq;
            back.last_run = back.last_run.max(run);
            store.set_run(run);
            {
                let mut queue = journal.lock();
                queue.reading = Some(seq);
                queue.kept = false;
            }
            let received = ReceivedRequest {
                transport,
                signal: if signal == LOGS {
                    Signal::Logs
                } else {
                    Signal::Traces
                },
                path,
                headers: Default::default(),
                span_count: 0,
                log_record_count: 0,
            };
            // A row that does not decode (written by a broken build, or
            // damaged) is skipped: the others still come back.
            let stored = if signal == LOGS {
                match ExportLogsServiceRequest::decode(body.as_slice()) {
                    Ok(request) => ingest::ingest(store, Export::Logs(request), received).ok(),
                    Err(_) => None,
                }
            } else {
                ingest::ingest(store, Export::TracesProtobuf(&body), received).ok()
            };
            let Some(stored) = stored else { continue };
            if journal.lock().kept {
                back.spans += stored.spans;
                back.logs += stored.log_records;
            } else {
                sqlx::query("DELETE FROM records WHERE seq = ?")
                    .bind(seq)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    journal.lock().reading = None;
    Ok(back)
}

/// The writer: takes what is queued, writes it in one transaction, and
/// again, until the journal closes (then once more).
async fn write(mut conn: SqliteConnection, journal: Arc<Journal>) {
    let mut failing = false;
    loop {
        let work = journal.work.notified();
        let (changes, closed) = journal.take();
        if !changes.is_empty() {
            match commit(&mut conn, changes).await {
                Ok(()) => failing = false,
                Err(e) => {
                    journal.failed.fetch_add(1, Ordering::Relaxed);
                    if !failing {
                        use std::io::Write as _;
                        let _ = writeln!(
                            std::io::stderr(),
                            "collector: cannot write to the store file ({e}); the traces stay \
                             in memory, and this is said again only after a write succeeds"
                        );
                    }
                    failing = true;
                }
            }
        }
        if closed {
            break;
        }
        work.await;
        tokio::time::sleep(COMMIT_EVERY).await;
    }
    let failed = journal.failed_writes();
    if failed > 0 {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "collector: {failed} write(s) to the store file failed; what they held was kept in \
             memory only"
        );
    }
    let _ = conn.close().await;
}

/// One transaction of changes.
async fn commit(conn: &mut SqliteConnection, changes: Vec<Change>) -> Result<(), sqlx::Error> {
    let mut tx = conn.begin().await?;
    for change in changes {
        match change {
            Change::Run {
                run,
                started_unix_nano,
            } => {
                sqlx::query("INSERT OR REPLACE INTO runs (run, started_unix_nano) VALUES (?, ?)")
                    .bind(i64::from(run))
                    .bind(i64::try_from(started_unix_nano).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
            }
            Change::EvictedBefore { trace, row } => {
                sqlx::query("DELETE FROM records WHERE trace_id = ? AND seq < ?")
                    .bind(&trace[..])
                    .bind(row)
                    .execute(&mut *tx)
                    .await?;
            }
            Change::Spans {
                row,
                trace,
                run,
                spans,
                ..
            } => {
                let Some(first) = spans.first() else { continue };
                let body = spans_body(&trace, &spans);
                let at = (row, run, Some(&trace));
                insert(&mut tx, at, TRACES, &first.source, body).await?;
            }
            Change::Logs {
                row,
                trace,
                run,
                logs,
            } => {
                let Some(first) = logs.first() else { continue };
                let body =
                    crate::export::logs(logs.iter().map(|l| &**l), trace.as_ref()).encode_to_vec();
                let at = (row, run, trace.as_ref());
                insert(&mut tx, at, LOGS, &first.source, body).await?;
            }
            Change::Evicted(trace) => {
                sqlx::query("DELETE FROM records WHERE trace_id = ?")
                    .bind(&trace[..])
                    .execute(&mut *tx)
                    .await?;
            }
            Change::RowGone(row) => {
                sqlx::query("DELETE FROM records WHERE seq = ?")
                    .bind(row)
                    .execute(&mut *tx)
                    .await?;
            }
        }
    }
    tx.commit().await
}

/// A length-delimited field: its key, its length, its bytes.
fn put(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    use prost::encoding::{WireType, encode_key, encode_varint};
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// The spans of one trace as an encoded `ExportTraceServiceRequest`, the
/// bytes of `crate::export::export(trace, spans).encode_to_vec()`, written
/// without decoding a span (see [`StoredSpan::encode_otlp`]): the writer's
/// main cost otherwise.
fn spans_body(trace: &TraceId, spans: &[StoredSpan]) -> Vec<u8> {
    use prost::encoding::message;
    let mut request = Vec::new();
    let (mut resource, mut scope, mut span) = (Vec::new(), Vec::new(), Vec::new());
    let mut at = 0;
    while let Some(first) = spans.get(at) {
        // One resource (of one request)...
        let origin = &first.source.otlp;
        resource.clear();
        if let Some(r) = &origin.resource {
            message::encode(1, r, &mut resource);
        }
        while let Some(first) = spans
            .get(at)
            .filter(|s| Arc::ptr_eq(&s.source.otlp, origin))
        {
            // ...and each scope of it.
            let source = &first.source;
            scope.clear();
            if let Some(s) = &source.scope.scope {
                message::encode(1, s, &mut scope);
            }
            while let Some(stored) = spans.get(at).filter(|s| Arc::ptr_eq(&s.source, source)) {
                span.clear();
                stored.encode_otlp(trace, &mut span);
                put(2, &span, &mut scope);
                at += 1;
            }
            if !source.scope.schema_url.is_empty() {
                put(3, source.scope.schema_url.as_bytes(), &mut scope);
            }
            put(2, &scope, &mut resource);
        }
        if !origin.schema_url.is_empty() {
            put(3, origin.schema_url.as_bytes(), &mut resource);
        }
        put(1, &resource, &mut request);
    }
    request
}

/// Inserts one row at `(seq, run, trace)`.
async fn insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    (seq, run, trace): (i64, u32, Option<&TraceId>),
    signal: i64,
    source: &crate::stored::Source,
    body: Vec<u8>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO records (seq, run, trace_id, signal, transport, path, body) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(i64::from(run))
    .bind(trace.map(|t| &t[..]))
    .bind(signal)
    .bind(transport_code(source.transport))
    .bind(&*source.path)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        AnyValue, InstrumentationScope, KeyValue, any_value,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{self as proto, ResourceSpans, ScopeSpans};
    use prost::Message as _;

    use super::*;
    use crate::stored::{self, Cut};

    /// A journal holding more than its bound: one change that memory
    /// counts at `QUEUE_BYTES + 1` bytes.
    fn full_journal() -> Arc<Journal> {
        let journal = Arc::new(Journal::new());
        journal.push(Change::Spans {
            row: 1,
            trace: [1; 16],
            run: 1,
            spans: Arc::from(Vec::new()),
            bytes: QUEUE_BYTES + 1,
        });
        journal
    }

    #[test]
    fn a_file_load_waits_for_room_until_the_writer_takes_the_queue() {
        let journal = full_journal();
        let (done, waited) = std::sync::mpsc::channel();
        let loader = {
            let journal = journal.clone();
            std::thread::spawn(move || {
                journal.room_blocking();
                let _ = done.send(());
            })
        };
        // Still waiting while the queue is over its bound...
        assert!(waited.recv_timeout(Duration::from_millis(200)).is_err());
        // ...and on its way once the writer has taken it.
        let (changes, closed) = journal.take();
        assert_eq!((changes.len(), closed), (1, false));
        waited
            .recv_timeout(Duration::from_secs(10))
            .expect("the load goes on once the queue has room");
        loader.join().expect("the loading thread");
    }

    #[tokio::test]
    async fn a_receiver_waits_for_room_until_the_writer_takes_the_queue() {
        let journal = full_journal();
        let waiting = tokio::spawn({
            let journal = journal.clone();
            async move { journal.room().await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "answered with the queue full");
        journal.take();
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the receiver goes on once the queue has room")
            .expect("the waiting task");
    }

    fn attr(key: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(value.into())),
            }),
            ..Default::default()
        }
    }

    fn span(trace: u8, id: u8, parent: Option<u8>, name: &str) -> proto::Span {
        proto::Span {
            trace_id: vec![trace; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            kind: 2,
            start_time_unix_nano: 10,
            end_time_unix_nano: 20 + u64::from(id),
            attributes: vec![attr("k", name)],
            events: vec![proto::span::Event {
                name: "ev".into(),
                time_unix_nano: 15,
                attributes: vec![attr("e", "x")],
                ..Default::default()
            }],
            status: (id == 2).then(|| proto::Status {
                code: 2,
                message: "boom".into(),
            }),
            trace_state: "a=b".into(),
            flags: 0x301,
            ..Default::default()
        }
    }

    fn scope(name: &str, spans: Vec<proto::Span>) -> ScopeSpans {
        ScopeSpans {
            scope: Some(InstrumentationScope {
                name: name.into(),
                version: "1".into(),
                ..Default::default()
            }),
            spans,
            schema_url: format!("https://schema/{name}"),
        }
    }

    /// Stores one root span `name` of trace `[n; 16]` in `run`.
    fn root_in_run(store: &Store, run: u32, n: u8, name: &str) {
        store.set_run(run);
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![attr("service.name", "svc")],
                    ..Default::default()
                }),
                scope_spans: vec![scope("s", vec![span(n, 1, None, name)])],
                schema_url: String::new(),
            }],
        };
        let runs = stored::convert(request, Transport::Grpc, "/", Cut { max_bytes: 1024 })
            .expect("valid spans");
        let received = ReceivedRequest {
            transport: Transport::Grpc,
            signal: Signal::Traces,
            path: "/".into(),
            headers: Default::default(),
            span_count: 1,
            log_record_count: 0,
        };
        store.insert(received, runs);
    }

    #[test]
    fn the_previous_run_is_the_nearest_earlier_one_with_that_root() {
        let store = Store::new(&crate::CollectorConfig::ephemeral());
        let id = |n: u8| stored::hex(&[n; 16]);
        root_in_run(&store, 1, 1, "GET /hello");
        root_in_run(&store, 1, 2, "GET /hello");
        root_in_run(&store, 1, 3, "other");
        root_in_run(&store, 3, 4, "GET /hello");
        // Run 2 has none: the latest of run 1.
        assert_eq!(store.previous(&id(4)), Ok((id(2), 1)));
        root_in_run(&store, 2, 5, "GET /hello");
        root_in_run(&store, 4, 6, "GET /hello");
        assert_eq!(store.previous(&id(4)), Ok((id(5), 2)));
        assert_eq!(store.previous(&id(6)), Ok((id(4), 3)));
        let none = store
            .previous(&id(1))
            .expect_err("run 1 has no earlier run");
        assert!(none.contains("no earlier run"), "{none}");
        root_in_run(&store, 5, 7, "new root");
        let none = store
            .previous(&id(7))
            .expect_err("no earlier trace of that root");
        assert!(none.contains("\"new root\""), "{none}");
    }

    #[test]
    fn a_row_holds_the_bytes_of_the_trace_export() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![attr("service.name", "one")],
                        ..Default::default()
                    }),
                    scope_spans: vec![
                        scope(
                            "a",
                            vec![span(1, 1, None, "root"), span(2, 9, None, "other")],
                        ),
                        scope("b", vec![span(1, 2, Some(1), "child")]),
                    ],
                    schema_url: "https://schema/r".into(),
                },
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![attr("service.name", "two")],
                        ..Default::default()
                    }),
                    scope_spans: vec![scope("c", vec![span(1, 3, Some(2), "")])],
                    schema_url: String::new(),
                },
            ],
        };
        let runs = stored::convert(
            request,
            Transport::HttpProtobuf,
            "/v1/traces",
            Cut { max_bytes: 1024 },
        )
        .expect("valid spans");
        assert_eq!(runs.len(), 3, "trace 1, trace 2, trace 1 again");
        for (trace, spans) in &runs {
            let written = ExportTraceServiceRequest::decode(&spans_body(trace, spans)[..])
                .expect("a request");
            assert_eq!(written, crate::export::export(trace, spans.iter()));
        }
    }
}
