//! The bounded in-memory store, and waiting for spans to arrive.
//!
//! Every operation at ingest is O(1) per span (amortised): span ids are
//! indexed per trace, children waiting for a parent are indexed by the
//! parent's id, and each trace's summary (span and error counts, time
//! bounds, services, root, completeness) is kept up to date as spans
//! arrive, so listing traces never walks spans. Bounds that hold at all
//! times: memory (`max_memory_bytes`, what every stored span, log record,
//! resource and trace costs, added up; see `stored`), traces
//! (`max_traces`), spans of all traces (`max_spans`), spans of one trace
//! (`max_spans_per_trace`; later spans are dropped and counted). Eviction
//! is oldest first: the oldest trace, or the oldest log record of no trace
//! when that is older.
//!
//! Log records with a trace id are kept with their trace (a record may come
//! before the trace's spans, and makes the trace then: a trace of log
//! records only, listed and printed as such until spans come); an evicted
//! trace takes its records along; those without one in a list of their
//! own. Two more bounds: records of all traces and the trace-less ones
//! together (`max_logs`; the oldest record is evicted first, and counted),
//! and records of one trace (`max_logs_per_trace`; later ones are dropped
//! and counted on the trace).
//!
//! Readers never hold the lock while they convert: the spans of a trace
//! are kept in frozen chunks (one per request), so taking a trace is a few
//! reference counts under the lock ([`Snapshot`]), and turning it into what
//! the API shows, an OTLP export or a search over attributes happens after
//! the lock is released.
//!
//! Traces are also indexed by their last update, oldest first, so that a
//! [`Reader`] (the printer, [`crate::SettledTraces`]) finds the traces that
//! have gone quiet by walking only what changed since it last looked.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tokio::sync::watch;

use crate::config::CollectorConfig;
use crate::links::{self, LINK_BYTES, LinkIndex, Outgoing};
use crate::model::{Dependency, LogRecord, ReceivedRequest, Span, StatusCode, Trace, TraceSummary};
use crate::search::TraceQuery;
use crate::stored::{self, Cut, LogRun, Run, SpanId, StoredLog, StoredSpan, TraceId};

/// A cheap, cloneable handle to the collector's memory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Bumped on every change; waiters subscribe to it.
    version: watch::Sender<u64>,
    limits: Limits,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    bytes: usize,
    traces: usize,
    spans: usize,
    spans_per_trace: usize,
    logs: usize,
    logs_per_trace: usize,
    requests: usize,
    cut: Cut,
}

#[derive(Debug, Default)]
struct State {
    traces: HashMap<TraceId, Entry>,
    /// Arrival number of each trace's first span or record -> trace id:
    /// oldest first.
    order: BTreeMap<u64, TraceId>,
    /// The next arrival number, of traces and log records alike (so that
    /// the oldest trace and the oldest record of no trace compare).
    next_arrival: u64,
    /// Update number of each trace's last change -> trace id: the quietest
    /// first.
    updates: BTreeMap<u64, TraceId>,
    next_update: u64,
    next_reader: u64,
    span_count: usize,
    /// What everything stored costs, about (see `stored`).
    bytes: usize,
    evicted_traces: u64,
    requests: VecDeque<ReceivedRequest>,
    /// Log records of no trace, oldest first.
    trace_less: VecDeque<Arc<StoredLog>>,
    /// Arrival number of every stored log record -> its trace (`None`: a
    /// trace-less one): the oldest first, for the total bound.
    log_order: BTreeMap<u64, Option<TraceId>>,
    log_count: usize,
    /// Records evicted so far to stay within `max_logs` or the memory.
    evicted_logs: u64,
    /// Linked span -> the spans that link to it (see `links`).
    links: LinkIndex,
    /// The run new traces and records of no trace belong to (see
    /// `persist`; 0 counts as run 1)...
    run: u32,
    /// ...and where each run's arrivals begin: (arrival number, run),
    /// in order, for the run of a record of no trace.
    run_starts: Vec<(u64, u32)>,
    /// The runs, oldest first: (number, start in Unix nanoseconds).
    runs: Vec<(u32, u64)>,
    /// Where what is stored and evicted goes on to the file (`--store`).
    journal: Option<Arc<crate::persist::Journal>>,
    /// The first update after the file was read back: readers start there
    /// (what was read back was printed in its own run).
    first_live_update: u64,
}

/// What changed since a cursor: see [`Store::updated_since`].
#[derive(Debug)]
pub(crate) struct Updated {
    pub(crate) summaries: Vec<TraceSummary>,
    pub(crate) cursor: u64,
    /// More traces changed than were asked for.
    pub(crate) missed: bool,
}

/// The spans of one trace in frozen chunks, one per request's run: never
/// changed once added, so a reader can take them (a reference count each)
/// and read them without the lock.
#[derive(Debug, Default)]
struct Spans {
    chunks: Vec<Arc<[StoredSpan]>>,
    /// The index of each chunk's first span.
    starts: Vec<usize>,
    len: usize,
}

impl Spans {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, index: usize) -> Option<&StoredSpan> {
        let chunk = self
            .starts
            .partition_point(|&start| start <= index)
            .checked_sub(1)?;
        self.chunks.get(chunk)?.get(index - self.starts[chunk])
    }

    fn push(&mut self, chunk: Vec<StoredSpan>) {
        if chunk.is_empty() {
            return;
        }
        self.starts.push(self.len);
        self.len += chunk.len();
        self.chunks.push(Arc::from(chunk));
    }
}

/// One trace and its indexes.
#[derive(Debug)]
struct Entry {
    seq: u64,
    /// The run its first span or record arrived in.
    run: u32,
    spans: Spans,
    /// Span id -> index in `spans`.
    by_id: HashMap<SpanId, u32>,
    /// A parent id not (yet) in the trace -> the children waiting for it.
    waiting: HashMap<SpanId, Vec<u32>>,
    /// `(start, index)` of every span whose parent is not in the trace.
    orphans: BTreeSet<(u64, u32)>,
    /// The first span that arrived without a parent.
    first_root: Option<u32>,
    errors: usize,
    start: u64,
    end: u64,
    /// Service name -> spans of that service.
    services: BTreeMap<Arc<str>, usize>,
    dropped: u64,
    /// Its log records, in arrival order.
    logs: VecDeque<Arc<StoredLog>>,
    /// Records that came after the trace had `max_logs_per_trace`.
    dropped_logs: u64,
    /// The links its spans made, to take out of the index with it.
    links: Vec<Outgoing>,
    /// What its spans, records and indexes cost, about.
    bytes: usize,
    last_update: Instant,
    /// Its key in [`State::updates`].
    update: u64,
    /// What each reader was given of this trace.
    marks: Vec<Mark>,
}

/// What an empty trace costs: the entry and its places in the indexes.
const ENTRY_BYTES: usize = std::mem::size_of::<Entry>() + 256;

/// A reader was given a trace: at which update, with how many spans, up
/// to which log record (the next arrival number then), when.
#[derive(Debug, Clone, Copy)]
struct Mark {
    reader: u64,
    update: u64,
    spans: usize,
    log_seq: u64,
    at: Instant,
}

/// Returned by the `wait_for_*` methods when the deadline passes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    /// What was awaited, e.g. "9 spans".
    pub waited_for: String,
    pub timeout: Duration,
    /// Spans and traces in the store when the wait gave up.
    pub spans: usize,
    pub traces: usize,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}: the collector has {} span(s) in {} trace(s)",
            self.timeout, self.waited_for, self.spans, self.traces
        )
    }
}

impl std::error::Error for WaitTimeout {}

/// One trace taken out of the store: its chunks of spans and its records,
/// shared with the store, read without its lock.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    id: TraceId,
    chunks: Vec<Arc<[StoredSpan]>>,
    /// Spans before this index are left out (those a reader was given).
    skip: usize,
    logs: Vec<Arc<StoredLog>>,
    dropped: u64,
    dropped_logs: u64,
}

impl Snapshot {
    pub(crate) fn spans(&self) -> impl Iterator<Item = &StoredSpan> + Clone {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .skip(self.skip)
    }

    /// The trace as the API shows it; with `only`, each span with just
    /// those attributes and no events (see [`StoredSpan::to_span_with`]),
    /// and log records without attributes.
    pub(crate) fn to_trace(&self, only: Option<&[&str]>) -> Trace {
        let hex = stored::hex(&self.id);
        Trace {
            spans: self.spans().map(|s| s.to_span_with(&hex, only)).collect(),
            logs: records(self.logs.iter(), &hex, only.is_none()),
            trace_id: hex,
            dropped_spans: self.dropped,
            dropped_logs: self.dropped_logs,
        }
    }

    /// The trace as an OTLP export request (see [`crate::export::export`]).
    pub(crate) fn to_otlp(&self) -> ExportTraceServiceRequest {
        crate::export::export(&self.id, self.spans())
    }

    /// Its log records as OTLP logs export requests of at most
    /// `per_request` records each (see [`crate::export::logs`]).
    pub(crate) fn logs_to_otlp(&self, per_request: usize) -> Vec<ExportLogsServiceRequest> {
        export_logs(&self.logs, Some(&self.id), per_request)
    }
}

/// What a [`Reader`] is given.
#[derive(Debug)]
pub(crate) enum Settled {
    /// A trace given to this reader for the first time (log records only,
    /// no span, when none came).
    Whole(Trace),
    /// Spans and log records that arrived after their trace was given.
    Late {
        trace_id: String,
        spans: Vec<Span>,
        /// In time order.
        logs: Vec<LogRecord>,
        /// Since the trace was given.
        after: Duration,
    },
    /// Log records of no trace that came since the last time (oldest
    /// first), and how many more came than are given.
    TraceLess { logs: Vec<LogRecord>, missed: usize },
}

/// What a reader's pass takes under the lock, converted after it.
enum Due {
    Whole(Snapshot),
    Late(Snapshot, Duration),
}

/// One reader of the traces that have gone quiet, with a place of its own
/// in the update order: each trace is given to it once, whole, and spans
/// that come later on their own (if it wants them). Made by
/// [`Store::reader`]; dropping it forgets its marks.
#[derive(Debug)]
pub(crate) struct Reader {
    store: Store,
    id: u64,
    /// The first update not yet looked at by the give-up pass...
    given_up: u64,
    /// ...and by the settle pass (which skips incomplete traces: the
    /// give-up pass takes them later).
    settled: u64,
    /// The attributes its spans carry (and no events); `None`: everything.
    shown: Option<&'static [&'static str]>,
    /// Whether it is given spans that came after their trace.
    late: bool,
    /// Where it started: traces not updated since (read back from the
    /// store file) are not its to give.
    first: u64,
}

impl Entry {
    fn new(seq: u64, run: u32, update: u64, now: Instant) -> Entry {
        Entry {
            seq,
            run,
            spans: Spans::default(),
            by_id: HashMap::new(),
            waiting: HashMap::new(),
            orphans: BTreeSet::new(),
            first_root: None,
            errors: 0,
            start: u64::MAX,
            end: 0,
            services: BTreeMap::new(),
            dropped: 0,
            logs: VecDeque::new(),
            dropped_logs: 0,
            links: Vec::new(),
            bytes: ENTRY_BYTES,
            last_update: now,
            update,
            marks: Vec::new(),
        }
    }

    /// The spans of `run` this trace will keep, indexed by id already: up
    /// to `cap` spans in the trace (the rest are counted as dropped), and
    /// not a span id the trace already has (an exporter's retry: the first
    /// copy stays). [`Entry::commit`] adds them, or [`Entry::unindex`]
    /// gives some back first.
    fn select(&mut self, run: Vec<StoredSpan>, cap: usize) -> Vec<StoredSpan> {
        let base = self.spans.len();
        let room = cap.saturating_sub(base).min(run.len());
        let mut kept = Vec::with_capacity(room);
        self.by_id.reserve(room);
        for span in run {
            if self.by_id.contains_key(&span.span_id) {
                continue;
            }
            let index = base + kept.len();
            match u32::try_from(index) {
                Ok(index) if (index as usize) < cap => {
                    self.by_id.insert(span.span_id, index);
                    kept.push(span);
                }
                _ => self.dropped += 1,
            }
        }
        // Spans skipped (retried, or past the cap) must not keep their
        // run's buffer alive: when less than half of it is used, the spans
        // kept move to a buffer of their own.
        if let Some(first) = kept.first() {
            let used: usize = kept.iter().map(StoredSpan::blob_bytes).sum();
            if used * 2 < first.blob.len() {
                let mut blob = Vec::with_capacity(used);
                for span in kept.iter_mut() {
                    span.move_to(&mut blob);
                }
                let blob: stored::Blob = Arc::from(blob);
                for span in kept.iter_mut() {
                    span.blob = blob.clone();
                }
            }
        }
        kept
    }

    /// Gives back the last spans of `kept` (no room for them): out of the
    /// index, counted as dropped.
    fn unindex(&mut self, kept: &mut Vec<StoredSpan>, keep: usize) {
        for span in kept.drain(keep.min(kept.len())..) {
            self.by_id.remove(&span.span_id);
            self.dropped += 1;
        }
    }

    /// Adds spans [`Entry::select`]ed, as one chunk, and brings the summary
    /// and the parent indexes up to date. The parent links are resolved
    /// once for the whole run, so children exported before their parent in
    /// the same request (the SDK's order) never pass through the waiting
    /// index.
    fn commit(&mut self, kept: Vec<StoredSpan>, bytes: usize) -> usize {
        let base = self.spans.len();
        let mut services: Option<(Arc<str>, usize)> = None;
        for (offset, span) in kept.iter().enumerate() {
            if span.parent.is_none() {
                self.first_root.get_or_insert((base + offset) as u32);
            }
            if span.status == StatusCode::Error {
                self.errors += 1;
            }
            self.start = self.start.min(span.start);
            self.end = self.end.max(span.end.max(span.start));
            // One map update per run of spans of the same service.
            let service = &span.source.service_name;
            match &mut services {
                Some((name, count)) if Arc::ptr_eq(name, service) => *count += 1,
                _ => {
                    if let Some((name, count)) = services.replace((service.clone(), 1)) {
                        *self.services.entry(name).or_default() += count;
                    }
                }
            }
        }
        if let Some((name, count)) = services {
            *self.services.entry(name).or_default() += count;
        }
        // Children that were waiting for one of the new spans...
        if !self.waiting.is_empty() {
            for span in &kept {
                // (Only spans stored before wait: the new ones are indexed
                // as waiting below.)
                for child in self.waiting.remove(&span.span_id).unwrap_or_default() {
                    if let Some(c) = self.spans.get(child as usize) {
                        self.orphans.remove(&(c.start, child));
                    }
                }
            }
        }
        // ...and new spans whose parent is still missing.
        for (offset, span) in kept.iter().enumerate() {
            let Some(parent) = span.parent else { continue };
            if !self.by_id.contains_key(&parent) {
                let index = (base + offset) as u32;
                self.waiting.entry(parent).or_default().push(index);
                self.orphans.insert((span.start, index));
            }
        }
        let added = kept.len();
        self.bytes += bytes;
        self.spans.push(kept);
        added
    }

    fn is_complete(&self) -> bool {
        self.first_root.is_some() && self.orphans.is_empty()
    }

    /// The first parentless span, else the earliest span whose parent is
    /// missing: [`Trace::root`], without walking the spans.
    fn root(&self) -> Option<&StoredSpan> {
        let index = self
            .first_root
            .or_else(|| self.orphans.first().map(|(_, i)| *i))?;
        self.spans.get(index as usize)
    }

    /// A trace of log records only, so far.
    fn logs_only(&self) -> bool {
        self.spans.is_empty() && !self.logs.is_empty()
    }

    /// The services of its log records (for a trace of records only).
    fn log_services(&self) -> BTreeSet<&str> {
        self.logs.iter().map(|l| &*l.source.service_name).collect()
    }

    /// Whether the trace passes the conditions of `query` that need no
    /// span (service, errors, duration); a trace of log records only passes
    /// a query that asks nothing of spans (or only their service).
    fn passes_summary(&self, query: &TraceQuery) -> bool {
        if query.run.is_some_and(|run| run != self.run) {
            return false;
        }
        if self.logs_only() {
            return !query.needs_spans()
                && !query.errors
                && query.duration_fits(0)
                && query
                    .service
                    .as_deref()
                    .is_none_or(|service| self.log_services().contains(service));
        }
        !self.spans.is_empty()
            && query
                .service
                .as_deref()
                .is_none_or(|service| self.services.contains_key(service))
            && (!query.errors || self.errors > 0)
            && query.duration_fits(self.end.saturating_sub(self.start))
    }

    fn summary(&self, trace_id: &TraceId) -> TraceSummary {
        let root = self.root();
        let (start, end, services) = if self.spans.is_empty() {
            let times = self.logs.iter().map(|l| l.time);
            (
                times.clone().min().unwrap_or(0),
                times.max().unwrap_or(0),
                self.log_services().into_iter().map(str::to_owned).collect(),
            )
        } else {
            (
                self.start,
                self.end,
                self.services.keys().map(|s| s.to_string()).collect(),
            )
        };
        TraceSummary {
            trace_id: stored::hex(trace_id),
            root_name: root.map(|s| s.name().to_owned()).unwrap_or_default(),
            root_service: root
                .map(|s| s.source.service_name.to_string())
                .unwrap_or_default(),
            services,
            span_count: self.spans.len(),
            error_count: self.errors,
            start_unix_nano: start,
            duration_nanos: end.saturating_sub(start),
            complete: self.is_complete(),
            logs_only: self.logs_only(),
            dropped_spans: self.dropped,
            log_records: self.logs.len(),
            dropped_log_records: self.dropped_logs,
            run: self.run,
        }
    }

    /// The trace to read outside the lock, spans from `skip` on and the
    /// records from `first_log` on.
    fn snapshot(&self, id: &TraceId, skip: usize, first_log: usize) -> Snapshot {
        Snapshot {
            id: *id,
            chunks: self.spans.chunks.clone(),
            skip,
            logs: self
                .logs
                .range(first_log.min(self.logs.len())..)
                .cloned()
                .collect(),
            dropped: self.dropped,
            dropped_logs: self.dropped_logs,
        }
    }
}

/// `logs` (of the trace `trace_id`, or of none) as export requests of at
/// most `per_request` records each.
pub(crate) fn export_logs(
    logs: &[Arc<StoredLog>],
    trace_id: Option<&TraceId>,
    per_request: usize,
) -> Vec<ExportLogsServiceRequest> {
    logs.chunks(per_request.max(1))
        .map(|chunk| crate::export::logs(chunk.iter().map(|l| &**l), trace_id))
        .collect()
}

/// Log records of one trace as the API shows them, in time order (arrival
/// order for the same time).
fn records<'a>(
    logs: impl Iterator<Item = &'a Arc<StoredLog>>,
    trace_id: &str,
    attributes: bool,
) -> Vec<LogRecord> {
    let mut records: Vec<LogRecord> = logs
        .map(|l| l.to_record(Some(trace_id), attributes))
        .collect();
    records.sort_by_key(|l| l.time_unix_nano);
    records
}

impl Store {
    /// An empty store with the bounds of `config` (each at least 1; the
    /// per-trace bound at most the total).
    pub(crate) fn new(config: &CollectorConfig) -> Self {
        let spans = config.max_spans.max(1);
        let logs = config.max_logs.max(1);
        Store {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    run: 1,
                    runs: vec![(1, crate::persist::now_unix_nano())],
                    ..State::default()
                }),
                version: watch::Sender::new(0),
                limits: Limits {
                    bytes: config.max_memory_bytes.max(1),
                    traces: config.max_traces.max(1),
                    spans,
                    spans_per_trace: config.max_spans_per_trace.clamp(1, spans),
                    logs,
                    logs_per_trace: config.max_logs_per_trace.clamp(1, logs),
                    requests: config.max_requests.max(1),
                    cut: Cut {
                        max_bytes: config.max_value_bytes.max(1),
                    },
                },
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the indexes consistent before anything that
        // could panic, so poisoning is ignored.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long a value may be: what conversion cuts to.
    pub(crate) fn cut(&self) -> Cut {
        self.inner.limits.cut
    }

    /// Stores the spans of one request and logs the request. A span whose
    /// id its trace already has (an exporter's retry) is kept once: the
    /// first copy stays.
    pub(crate) fn insert(&self, request: ReceivedRequest, runs: Vec<Run>) {
        let limits = self.inner.limits;
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            // Taken under the lock, so update numbers and times agree.
            let now = Instant::now();
            for (trace_id, run) in runs {
                state.insert_run(trace_id, run, now, limits);
            }
            state.log_request(request, limits);
        }
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Stores the log records of one request and logs the request.
    /// Returns how many records were not kept because their trace had
    /// reached its limit of records.
    pub(crate) fn insert_logs(&self, request: ReceivedRequest, runs: Vec<LogRun>) -> u64 {
        let limits = self.inner.limits;
        let dropped;
        {
            let mut guard = self.lock();
            let state = &mut *guard;
            let now = Instant::now();
            dropped = runs
                .into_iter()
                .map(|(trace_id, run)| state.insert_log_run(trace_id, run, now, limits))
                .sum();
            state.log_request(request, limits);
        }
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
        dropped
    }

    /// The log records of no trace, oldest first.
    pub(crate) fn logs(&self) -> Vec<LogRecord> {
        self.last_logs(usize::MAX).0
    }

    /// The last `n` log records of no trace, oldest first, and how many
    /// there are in all.
    pub(crate) fn last_logs(&self, n: usize) -> (Vec<LogRecord>, usize) {
        let (logs, total) = {
            let state = self.lock();
            let total = state.trace_less.len();
            let logs: Vec<Arc<StoredLog>> = state
                .trace_less
                .iter()
                .skip(total.saturating_sub(n))
                .cloned()
                .collect();
            (logs, total)
        };
        let records = logs.iter().map(|l| l.to_record(None, true)).collect();
        (records, total)
    }

    /// The log records of no trace that arrived since `cursor` (oldest
    /// first, at most `max`: the last ones), how many more there were, and
    /// the cursor to ask with next. Records are given without attributes
    /// (what the printer needs).
    pub(crate) fn trace_less_since(&self, cursor: u64, max: usize) -> (Vec<LogRecord>, usize, u64) {
        let (logs, missed, next) = {
            let state = self.lock();
            let from = state.trace_less.partition_point(|l| l.seq < cursor);
            let new = state.trace_less.len() - from;
            let skip = new.saturating_sub(max);
            let logs: Vec<Arc<StoredLog>> =
                state.trace_less.range(from + skip..).cloned().collect();
            (logs, skip, state.next_arrival)
        };
        let records = logs.iter().map(|l| l.to_record(None, false)).collect();
        (records, missed, next)
    }

    /// Log records stored, of traces and trace-less.
    pub(crate) fn log_count(&self) -> usize {
        self.lock().log_count
    }

    /// Log records evicted so far to stay within `max_logs` or the memory.
    pub(crate) fn evicted_logs(&self) -> u64 {
        self.lock().evicted_logs
    }

    /// What the stored traces and records cost, about, and the budget.
    pub(crate) fn memory(&self) -> (usize, usize) {
        (self.lock().bytes, self.inner.limits.bytes)
    }

    /// Every trace, oldest first, to read outside the lock.
    fn snapshots(&self) -> Vec<Snapshot> {
        let state = self.lock();
        state
            .order
            .values()
            .filter_map(|id| state.traces.get(id).map(|e| e.snapshot(id, 0, 0)))
            .collect()
    }

    /// One trace by its hex id (either case), to read outside the lock.
    pub(crate) fn snapshot(&self, trace_id: &str) -> Option<Snapshot> {
        let id = stored::parse_trace_id(trace_id)?;
        self.lock().traces.get(&id).map(|e| e.snapshot(&id, 0, 0))
    }

    /// All traces, oldest first.
    pub(crate) fn traces(&self) -> Vec<Trace> {
        self.snapshots().iter().map(|s| s.to_trace(None)).collect()
    }

    /// One trace by its hex id (either case), its links resolved: whether
    /// each linked span is stored, and the stored spans that link to its
    /// spans (see `links`; O(its spans and links), the lock taken once).
    pub(crate) fn trace(&self, trace_id: &str) -> Option<Trace> {
        let snapshot = self.snapshot(trace_id)?;
        let mut trace = snapshot.to_trace(None);
        let targets = links::targets(&trace);
        let (stored, linked_from) = {
            let state = self.lock();
            let span = |t: &TraceId, s: &SpanId| {
                let entry = state.traces.get(t)?;
                entry.spans.get(*entry.by_id.get(s)? as usize)
            };
            let stored: std::collections::HashSet<(TraceId, SpanId)> = targets
                .into_iter()
                .filter(|(t, s)| span(t, s).is_some())
                .collect();
            let mut linked_from: HashMap<String, Vec<crate::model::LinkedFrom>> = HashMap::new();
            for (target, from) in state.links.linking_into(&snapshot.id) {
                let spans = from.iter().filter_map(|(t, s)| {
                    let linking = span(t, s)?;
                    Some(crate::model::LinkedFrom {
                        trace_id: stored::hex(t),
                        span_id: stored::hex(s),
                        name: linking.name().to_owned(),
                        service_name: linking.source.service_name.to_string(),
                    })
                });
                linked_from.insert(stored::hex(target), spans.collect());
            }
            (stored, linked_from)
        };
        links::resolve(&mut trace, &stored, linked_from);
        Some(trace)
    }

    /// The summary of every trace, oldest first; O(traces).
    pub(crate) fn summaries(&self) -> Vec<TraceSummary> {
        let state = self.lock();
        state
            .order
            .values()
            .filter_map(|id| state.traces.get(id).map(|e| e.summary(id)))
            .collect()
    }

    /// The summaries of the traces that match `query`, newest first (by
    /// start; the later arrival first for the same start), at most
    /// `query.limit`. The summary-level conditions (service, errors,
    /// duration) under the lock; the spans of the traces left, when the
    /// query asks about spans, after it (each span looked at once, its
    /// attributes decoded only when its name matches).
    pub(crate) fn search(&self, query: &TraceQuery) -> Vec<TraceSummary> {
        let candidates: Vec<(TraceSummary, Option<Snapshot>)> = {
            let state = self.lock();
            state
                .order
                .values()
                .rev()
                .filter_map(|id| Some((id, state.traces.get(id)?)))
                .filter(|(_, entry)| entry.passes_summary(query))
                .map(|(id, entry)| {
                    let spans = query
                        .needs_spans()
                        .then(|| entry.snapshot(id, 0, usize::MAX));
                    (entry.summary(id), spans)
                })
                .collect()
        };
        let mut found: Vec<TraceSummary> = candidates
            .into_iter()
            .filter(|(_, spans)| {
                spans.as_ref().is_none_or(|snapshot| {
                    snapshot.spans().any(|span| {
                        query.span.as_deref().is_none_or(|name| span.name() == name)
                            && span.has_attributes(&query.attributes)
                    })
                })
            })
            .map(|(summary, _)| summary)
            .collect();
        // Stable: the later arrival stays first for the same start.
        found.sort_by_key(|t| std::cmp::Reverse(t.start_unix_nano));
        if let Some(limit) = query.limit {
            found.truncate(limit);
        }
        found
    }

    /// The calls between services: for each parent span and child span of
    /// different services in one trace, one call from the parent's
    /// service to the child's. Sorted by parent, then child; linear in the
    /// spans, outside the lock.
    pub(crate) fn dependencies(&self) -> Vec<Dependency> {
        let mut calls: BTreeMap<(Arc<str>, Arc<str>), u64> = BTreeMap::new();
        for snapshot in self.snapshots() {
            let services: HashMap<SpanId, &Arc<str>> = snapshot
                .spans()
                .map(|s| (s.span_id, &s.source.service_name))
                .collect();
            for span in snapshot.spans() {
                let Some(from) = span.parent.and_then(|p| services.get(&p)) else {
                    continue;
                };
                let to = &span.source.service_name;
                if *from != to {
                    *calls.entry(((*from).clone(), to.clone())).or_default() += 1;
                }
            }
        }
        calls
            .into_iter()
            .map(|((parent, child), calls)| Dependency {
                parent: parent.to_string(),
                child: child.to_string(),
                calls,
            })
            .collect()
    }

    /// The service map with databases and caches (see `map`); linear in
    /// the spans, outside the lock.
    pub(crate) fn map(&self) -> crate::map::ServiceMap {
        let mut map = crate::map::MapBuilder::default();
        for snapshot in self.snapshots() {
            map.add(snapshot.spans());
        }
        map.finish()
    }

    /// Sets where stored and evicted spans and records go on to (the
    /// file of `--store`), before anything is stored.
    pub(crate) fn set_journal(&self, journal: Arc<crate::persist::Journal>) {
        self.lock().journal = Some(journal);
    }

    /// Transactions of the store file that failed so far.
    pub(crate) fn failed_store_writes(&self) -> u64 {
        self.lock()
            .journal
            .as_ref()
            .map_or(0, |j| j.failed_writes())
    }

    /// Waits until the queue to the file has room (at once without
    /// `--store`): the receivers answer after it, so a writer that falls
    /// behind slows the senders down instead of growing a queue.
    pub(crate) async fn persist_room(&self) {
        let journal = self.lock().journal.clone();
        if let Some(journal) = journal {
            journal.room().await;
        }
    }

    /// [`Store::persist_room`] for a blocking thread: a file loaded
    /// (`--load`, the upload) waits as the receivers do.
    pub(crate) fn persist_room_blocking(&self) {
        let journal = self.lock().journal.clone();
        if let Some(journal) = journal {
            journal.room_blocking();
        }
    }

    /// New traces and records of no trace belong to `run` from now on
    /// (a row read back from the file, then this start's run).
    pub(crate) fn set_run(&self, run: u32) {
        let mut state = self.lock();
        if state.run != run {
            state.run = run;
            let at = state.next_arrival;
            state.run_starts.push((at, run));
        }
    }

    /// What is stored now was read back from the store file: readers made
    /// from now on skip it (see [`Store::reader`]).
    pub(crate) fn mark_read_back(&self) {
        let mut state = self.lock();
        state.first_live_update = state.next_update;
    }

    /// The runs there are (number, start in Unix nanoseconds), oldest
    /// first; the last is this start's.
    pub(crate) fn set_runs(&self, runs: Vec<(u32, u64)>) {
        self.lock().runs = runs;
    }

    /// The runs with the traces of each stored now, oldest first.
    pub(crate) fn runs(&self) -> Vec<crate::model::RunSummary> {
        let state = self.lock();
        let mut traces: HashMap<u32, usize> = HashMap::new();
        for entry in state.traces.values() {
            *traces.entry(entry.run).or_default() += 1;
        }
        let current = state.runs.last().map_or(1, |(run, _)| *run);
        state
            .runs
            .iter()
            .map(|&(run, started_unix_nano)| crate::model::RunSummary {
                run,
                started_unix_nano,
                traces: traces.get(&run).copied().unwrap_or(0),
                current: run == current,
            })
            .collect()
    }

    /// The run `trace_id` belongs to (`None` for an unknown id).
    pub(crate) fn run_of(&self, trace_id: &str) -> Option<u32> {
        let id = stored::parse_trace_id(trace_id)?;
        self.lock().traces.get(&id).map(|entry| entry.run.max(1))
    }

    /// The trace to compare `trace_id` with: the latest trace with the
    /// same root (service and span name) in the nearest earlier run that
    /// has one; its id and run, or why there is none.
    pub(crate) fn previous(&self, trace_id: &str) -> Result<(String, u32), String> {
        let id = stored::parse_trace_id(trace_id)
            .ok_or_else(|| format!("no trace with id {trace_id:?}"))?;
        let state = self.lock();
        let entry = state
            .traces
            .get(&id)
            .ok_or_else(|| format!("no trace with id {trace_id:?}"))?;
        let root = entry
            .root()
            .ok_or_else(|| "the trace has no span yet, so no root to look for".to_owned())?;
        let (service, name) = (root.source.service_name.clone(), root.name().to_owned());
        if entry.run <= 1 {
            return Err(format!(
                "the trace is of run {}: there is no earlier run",
                entry.run
            ));
        }
        let mut best: Option<(u32, u64, TraceId)> = None;
        for (seq, other) in &state.order {
            let Some(candidate) = state.traces.get(other) else {
                continue;
            };
            if candidate.run >= entry.run || best.is_some_and(|(run, _, _)| run > candidate.run) {
                continue;
            }
            let same = candidate
                .root()
                .is_some_and(|r| r.source.service_name == service && r.name() == name);
            if same {
                best = Some((candidate.run, *seq, *other));
            }
        }
        match best {
            Some((run, _, found)) => Ok((stored::hex(&found), run)),
            None => Err(format!(
                "no trace of an earlier run (stored now) has the root {name:?} of {service:?}"
            )),
        }
    }

    /// The traces of `run` (all with `None`), oldest first, and the
    /// records of no trace that arrived in it, for an export.
    pub(crate) fn run_contents(&self, run: Option<u32>) -> (Vec<Snapshot>, Vec<Arc<StoredLog>>) {
        let state = self.lock();
        let snapshots = state
            .order
            .values()
            .filter_map(|id| Some((id, state.traces.get(id)?)))
            .filter(|(_, e)| run.is_none_or(|run| e.run == run))
            .map(|(id, e)| e.snapshot(id, 0, 0))
            .collect();
        let run_of = |seq: u64| {
            let at = state.run_starts.partition_point(|(start, _)| *start <= seq);
            at.checked_sub(1)
                .map_or(1, |i| state.run_starts[i].1.max(1))
        };
        let logs = state
            .trace_less
            .iter()
            .filter(|l| run.is_none_or(|run| run_of(l.seq) == run))
            .cloned()
            .collect();
        (snapshots, logs)
    }

    /// One trace as an OTLP export request (see [`crate::export::export`]);
    /// `None` for an unknown id.
    pub(crate) fn export(&self, trace_id: &str) -> Option<ExportTraceServiceRequest> {
        Some(self.snapshot(trace_id)?.to_otlp())
    }

    /// Where the feed of updated traces stands now: pass it to
    /// [`Store::updated_since`] to learn what changes after this.
    pub(crate) fn update_cursor(&self) -> u64 {
        self.lock().next_update
    }

    /// The summaries of the traces updated since `cursor` (oldest change
    /// first, each trace once, with spans or log records), and the cursor
    /// to ask with next. More than `max` such traces: only the last `max`,
    /// and `missed` says some were left out. O(traces updated).
    pub(crate) fn updated_since(&self, cursor: u64, max: usize) -> Updated {
        let state = self.lock();
        let changed = state.updates.range(cursor..);
        let count = changed.clone().count();
        let skip = count.saturating_sub(max);
        let summaries = changed
            .skip(skip)
            .filter_map(|(_, id)| Some((id, state.traces.get(id)?)))
            .filter(|(_, entry)| !entry.spans.is_empty() || !entry.logs.is_empty())
            .map(|(id, entry)| entry.summary(id))
            .collect();
        Updated {
            summaries,
            cursor: state.next_update,
            missed: skip > 0,
        }
    }

    /// All spans of all traces, oldest trace first.
    pub(crate) fn spans(&self) -> Vec<Span> {
        self.traces().into_iter().flat_map(|t| t.spans).collect()
    }

    /// Number of stored spans.
    pub(crate) fn span_count(&self) -> usize {
        self.lock().span_count
    }

    /// Traces evicted so far to stay within the bounds.
    pub(crate) fn evicted_traces(&self) -> u64 {
        self.lock().evicted_traces
    }

    /// The last received requests, oldest first.
    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Waits until at least `n` spans are stored, then returns all spans.
    pub(crate) async fn wait_for_spans(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Span>, WaitTimeout> {
        self.wait_until(format!("{n} span(s)"), timeout, |store| {
            (store.span_count() >= n).then(|| store.spans())
        })
        .await
    }

    /// Waits until a stored trace satisfies `predicate`, then returns it.
    pub(crate) async fn wait_for_trace(
        &self,
        predicate: impl Fn(&Trace) -> bool,
        timeout: Duration,
    ) -> Result<Trace, WaitTimeout> {
        self.wait_until("a matching trace".to_owned(), timeout, |store| {
            store.traces().into_iter().find(|t| predicate(t))
        })
        .await
    }

    /// Re-evaluates `check` on every change to the store until it yields a
    /// value or `timeout` passes.
    async fn wait_until<T>(
        &self,
        waited_for: String,
        timeout: Duration,
        check: impl Fn(&Store) -> Option<T>,
    ) -> Result<T, WaitTimeout> {
        // Subscribe before the first check so no change can slip between;
        // `changed()` then wakes for every update after the subscription.
        let mut changes = self.inner.version.subscribe();
        let wait = async {
            loop {
                if let Some(found) = check(self) {
                    return found;
                }
                // The sender lives in `self`, so this cannot fail; if it
                // did, waiting for the timeout is still right.
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(found) => Ok(found),
            Err(_) => {
                let state = self.lock();
                Err(WaitTimeout {
                    waited_for,
                    timeout,
                    spans: state.span_count,
                    traces: state.traces.len(),
                })
            }
        }
    }

    /// Change notifications: the version, bumped on every insert.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    /// A new reader of quiet traces; it starts at the oldest update, so
    /// traces that went quiet before it was made are given to it too (but
    /// not those read back from the store file, untouched since).
    pub(crate) fn reader(&self, shown: Option<&'static [&'static str]>, late: bool) -> Reader {
        let (id, first) = {
            let mut state = self.lock();
            state.next_reader += 1;
            (state.next_reader, state.first_live_update)
        };
        Reader {
            store: self.clone(),
            id,
            given_up: first,
            settled: first,
            shown,
            late,
            first,
        }
    }
}

impl Reader {
    /// What is due, at most `max_spans` spans of whole traces (the rest
    /// stays due; with `strict` off, a first trace larger than that is
    /// still given alone, or it would never be): traces not given yet that
    /// have been quiet for `settle` and are complete, or quiet for
    /// `give_up` even if not (a trace of log records only, too); and spans
    /// and records that arrived after their trace was given, once quiet for
    /// `settle`. Walks only the updates since the last call (and the traces
    /// still waiting to give up); what is due is converted after the lock
    /// is released.
    pub(crate) fn take(
        &mut self,
        settle: Duration,
        give_up: Duration,
        max_spans: usize,
        strict: bool,
    ) -> Vec<Settled> {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut budget = max_spans;
        let mut guard = self.store.lock();
        let state = &mut *guard;
        // First what has been quiet long enough to give up waiting, then
        // what has been quiet long enough if it is complete.
        let next_log_seq = state.next_arrival;
        let mut cursors = [self.given_up, self.settled.max(self.given_up)];
        'passes: for (pass, quiet) in [give_up, settle].into_iter().enumerate() {
            let any = pass == 0;
            if !any {
                cursors[1] = cursors[1].max(cursors[0]);
            }
            for (&update, id) in state.updates.range(cursors[pass]..) {
                let Some(entry) = state.traces.get_mut(id) else {
                    continue;
                };
                if now.saturating_duration_since(entry.last_update) < quiet {
                    break;
                }
                let visit = Visit {
                    reader: self.id,
                    late: self.late,
                    any,
                    strict,
                    now,
                    next_log_seq,
                };
                if !visit.trace(entry, id, &mut budget, &mut due) {
                    break 'passes;
                }
                cursors[pass] = update + 1;
            }
        }
        drop(guard);
        [self.given_up, self.settled] = cursors;
        let shown = self.shown;
        due.into_iter()
            .map(|due| match due {
                Due::Whole(snapshot) => Settled::Whole(snapshot.to_trace(shown)),
                Due::Late(snapshot, after) => {
                    let trace = snapshot.to_trace(shown);
                    Settled::Late {
                        trace_id: trace.trace_id,
                        spans: trace.spans,
                        logs: trace.logs,
                        after,
                    }
                }
            })
            .collect()
    }

    /// When the next trace may be due under `settle` and `give_up`, if any
    /// trace is left to look at.
    pub(crate) fn next_due(&self, settle: Duration, give_up: Duration) -> Option<Instant> {
        let state = self.store.lock();
        let first = |from: u64, quiet: Duration| {
            let (_, id) = state.updates.range(from..).next()?;
            Some(state.traces.get(id)?.last_update + quiet)
        };
        [
            first(self.given_up, give_up),
            first(self.settled.max(self.given_up), settle),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Traces never given to this reader (but that could be: they have
    /// spans or records, and were not read back from the store file
    /// untouched since), and their spans; O(traces).
    pub(crate) fn ungiven(&self) -> (usize, usize) {
        let state = self.store.lock();
        state
            .traces
            .values()
            .filter(|e| {
                (!e.spans.is_empty() || !e.logs.is_empty())
                    && e.update >= self.first
                    && !e.marks.iter().any(|m| m.reader == self.id)
            })
            .fold((0, 0), |(t, s), e| (t + 1, s + e.spans.len()))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        for entry in self.store.lock().traces.values_mut() {
            entry.marks.retain(|m| m.reader != self.id);
        }
    }
}

/// One trace as a reader's pass meets it.
struct Visit {
    reader: u64,
    late: bool,
    /// The give-up pass: due complete or not.
    any: bool,
    strict: bool,
    now: Instant,
    /// The arrival number the next log record will get.
    next_log_seq: u64,
}

impl Visit {
    /// Adds what `entry` owes the reader to `due`; false if it does not
    /// fit the span budget (the pass stops before it).
    fn trace(
        &self,
        entry: &mut Entry,
        id: &TraceId,
        budget: &mut usize,
        due: &mut Vec<Due>,
    ) -> bool {
        let spans = entry.spans.len();
        // Log records alone wait for their spans until the give-up pass:
        // then they are a trace of records only.
        if spans == 0 && (entry.logs.is_empty() || !self.any) {
            return true;
        }
        let complete = entry.is_complete();
        let given = entry.marks.iter().position(|m| m.reader == self.reader);
        match given.map(|i| (i, entry.marks[i])) {
            // Given as it is now (this pass or the other one).
            Some((_, mark)) if mark.update == entry.update => {}
            Some((i, mark)) => {
                let late_logs = entry.logs.partition_point(|l| l.seq < mark.log_seq);
                if self.late && (spans > mark.spans || late_logs < entry.logs.len()) {
                    due.push(Due::Late(
                        entry.snapshot(id, mark.spans, late_logs),
                        self.now.saturating_duration_since(mark.at),
                    ));
                }
                let mark = &mut entry.marks[i];
                mark.update = entry.update;
                mark.spans = spans;
                mark.log_seq = self.next_log_seq;
            }
            None if self.any || complete => {
                let alone = !self.strict && due.is_empty();
                if spans > *budget && !alone {
                    return false;
                }
                *budget = budget.saturating_sub(spans);
                entry.marks.push(Mark {
                    reader: self.reader,
                    update: entry.update,
                    spans,
                    log_seq: self.next_log_seq,
                    at: self.now,
                });
                due.push(Due::Whole(entry.snapshot(id, 0, 0)));
            }
            // Incomplete: the give-up pass comes back for it.
            None => {}
        }
        true
    }
}

impl State {
    /// What everything stored costs, added up again from scratch.
    #[cfg(test)]
    fn recount(&self) -> usize {
        let traces: usize = self
            .traces
            .values()
            .map(|e| {
                let spans: usize = e.spans.chunks.iter().map(|c| run_bytes(c)).sum();
                let logs: usize = e.logs.iter().map(|l| l.charged).sum();
                ENTRY_BYTES + spans + logs + e.links.len() * LINK_BYTES
            })
            .sum();
        traces + self.trace_less.iter().map(|l| l.charged).sum::<usize>()
    }

    fn log_request(&mut self, request: ReceivedRequest, limits: Limits) {
        if self.requests.len() >= limits.requests {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    /// Stores spans of one trace, evicting the oldest other traces (and
    /// records) first as far as the bounds require; what still does not
    /// fit the memory is dropped and counted on the trace.
    fn insert_run(
        &mut self,
        trace_id: TraceId,
        run: Vec<StoredSpan>,
        now: Instant,
        limits: Limits,
    ) {
        self.touch(trace_id, now, limits);
        let Some(entry) = self.traces.get_mut(&trace_id) else {
            return;
        };
        let mut kept = entry.select(run, limits.spans_per_trace);
        let mut found = links::of_run(&kept);
        let mut bytes = run_bytes(&kept) + found.len() * LINK_BYTES;
        // Room for the new spans within the span bound...
        while self.span_count + kept.len() > limits.spans {
            if !self.evict_oldest(Some(trace_id)) {
                break;
            }
        }
        // ...and within the memory.
        while self.bytes + bytes > limits.bytes {
            if !self.evict_oldest(Some(trace_id)) {
                break;
            }
        }
        let Some(entry) = self.traces.get_mut(&trace_id) else {
            return;
        };
        let span_room = limits.spans.saturating_sub(self.span_count);
        if kept.len() > span_room || self.bytes + bytes > limits.bytes {
            // Alone over a bound: keep what fits.
            let links_within = |fits: usize| found.iter().filter(|l| (l.0 as usize) < fits).count();
            let mut fits = kept.len().min(span_room);
            while fits > 0
                && self.bytes + run_bytes(&kept[..fits]) + links_within(fits) * LINK_BYTES
                    > limits.bytes
            {
                fits /= 2;
            }
            entry.unindex(&mut kept, fits);
            found.retain(|l| (l.0 as usize) < kept.len());
            bytes = run_bytes(&kept) + found.len() * LINK_BYTES;
        }
        let outgoing: Vec<Outgoing> = found
            .into_iter()
            .map(|(index, trace, span)| (kept[index as usize].span_id, trace, span))
            .collect();
        self.bytes += bytes;
        let added = entry.commit(kept, bytes);
        self.span_count += added;
        if !outgoing.is_empty() {
            self.links.add(trace_id, &outgoing);
            entry.links.extend(outgoing);
        }
        if let Some(journal) = &self.journal
            && added > 0
            && let Some(spans) = entry.spans.chunks.last()
        {
            journal.push(crate::persist::Change::Spans {
                row: journal.row(),
                trace: trace_id,
                run: entry.run,
                spans: spans.clone(),
                bytes,
            });
        }
    }

    /// Stores log records of one trace (`None`: of no trace), evicting the
    /// oldest records (or traces) as far as the bounds require; returns how
    /// many were dropped for the trace's own bound.
    fn insert_log_run(
        &mut self,
        trace_id: Option<TraceId>,
        run: Vec<StoredLog>,
        now: Instant,
        limits: Limits,
    ) -> u64 {
        let mut dropped = 0;
        if let Some(id) = trace_id {
            self.touch(id, now, limits);
        }
        let mut source: Option<*const stored::Source> = None;
        let mut journaled = Vec::new();
        // The row of the store file these records go to.
        let row = self.journal.as_ref().map_or(0, |j| j.row());
        for mut log in run {
            if let Some(id) = &trace_id {
                let Some(entry) = self.traces.get_mut(id) else {
                    break;
                };
                if entry.logs.len() >= limits.logs_per_trace {
                    entry.dropped_logs += 1;
                    dropped += 1;
                    continue;
                }
            }
            // The record, and its source once per run of records that
            // share it.
            let ptr = Arc::as_ptr(&log.source);
            log.charged = log.bytes()
                + if source == Some(ptr) {
                    0
                } else {
                    log.source.bytes()
                };
            source = Some(ptr);
            while self.log_count >= limits.logs {
                if !self.evict_oldest_log() {
                    break;
                }
            }
            while self.bytes + log.charged > limits.bytes {
                if !self.evict_oldest(trace_id) {
                    break;
                }
            }
            if self.bytes + log.charged > limits.bytes {
                // Alone over the memory: not kept.
                self.evicted_logs += 1;
                continue;
            }
            log.seq = self.next_arrival;
            self.next_arrival += 1;
            log.row = row;
            let charged = log.charged;
            let log = Arc::new(log);
            let stored = match &trace_id {
                Some(id) => self.traces.get_mut(id).map(|e| {
                    e.bytes += charged;
                    e.logs.push_back(log.clone());
                }),
                None => {
                    self.trace_less.push_back(log.clone());
                    Some(())
                }
            };
            if stored.is_some() {
                self.log_order.insert(self.next_arrival - 1, trace_id);
                self.log_count += 1;
                self.bytes += charged;
                if self.journal.is_some() {
                    journaled.push(log);
                }
            }
        }
        // What memory still holds of them goes to the file: the records
        // this request evicted again (the oldest) do not.
        let held = match &trace_id {
            Some(id) => self.traces.get(id).and_then(|e| e.logs.front()),
            None => self.trace_less.front(),
        };
        let oldest = held.map_or(u64::MAX, |l| l.seq);
        let evicted = journaled.partition_point(|l| l.seq < oldest);
        journaled.drain(..evicted);
        if let (Some(journal), false) = (&self.journal, journaled.is_empty()) {
            let run = match trace_id.and_then(|id| self.traces.get(&id)) {
                Some(entry) => entry.run,
                None => self.run.max(1),
            };
            journal.push(crate::persist::Change::Logs {
                row,
                trace: trace_id,
                run,
                logs: journaled,
            });
        }
        dropped
    }

    /// Evicts the oldest log record; false if there is none.
    fn evict_oldest_log(&mut self) -> bool {
        let Some((seq, trace_id)) = self.log_order.pop_first() else {
            return false;
        };
        // The record, and the row of the next record of its trace (or of
        // no trace): the next oldest.
        let evicted = match trace_id {
            Some(id) => self.traces.get_mut(&id).and_then(|e| {
                let log = e.logs.pop_front()?;
                e.bytes -= log.charged;
                Some((log, e.logs.front().map(|l| l.row)))
            }),
            None => {
                let log = self.trace_less.pop_front();
                log.map(|log| (log, self.trace_less.front().map(|l| l.row)))
            }
        };
        debug_assert_eq!(evicted.as_ref().map(|(l, _)| l.seq), Some(seq));
        if let Some((log, next)) = evicted {
            self.bytes -= log.charged;
            self.row_left(&log, next);
        }
        self.log_count -= 1;
        self.evicted_logs += 1;
        true
    }

    /// Marks `trace_id` as just updated, making its entry (evicting the
    /// oldest traces as far as the trace bound and the memory require) if
    /// it has none.
    fn touch(&mut self, trace_id: TraceId, now: Instant, limits: Limits) {
        let update = self.next_update;
        self.next_update += 1;
        match self.traces.get_mut(&trace_id) {
            Some(entry) => {
                self.updates.remove(&entry.update);
                entry.update = update;
                entry.last_update = now;
            }
            None => {
                while self.traces.len() >= limits.traces || self.bytes + ENTRY_BYTES > limits.bytes
                {
                    if !self.evict_oldest(None) {
                        break;
                    }
                }
                let seq = self.next_arrival;
                self.next_arrival += 1;
                self.order.insert(seq, trace_id);
                let run = self.run.max(1);
                self.traces
                    .insert(trace_id, Entry::new(seq, run, update, now));
                self.bytes += ENTRY_BYTES;
            }
        }
        self.updates.insert(update, trace_id);
    }

    /// Evicts the oldest trace other than `keep`, or the oldest record of
    /// no trace when that is older; false if there is neither.
    fn evict_oldest(&mut self, keep: Option<TraceId>) -> bool {
        let victim = self
            .order
            .iter()
            .find(|(_, id)| Some(**id) != keep)
            .map(|(seq, id)| (*seq, *id));
        let oldest_record = self.trace_less.front().map(|l| l.seq);
        if oldest_record.is_some_and(|record| victim.is_none_or(|(seq, _)| record < seq)) {
            return self.evict_oldest_trace_less();
        }
        let Some((seq, id)) = victim else {
            return false;
        };
        self.order.remove(&seq);
        if let Some(evicted) = self.traces.remove(&id) {
            debug_assert_eq!(evicted.seq, seq);
            self.updates.remove(&evicted.update);
            self.span_count -= evicted.spans.len();
            self.bytes -= evicted.bytes;
            // Its log records go with it.
            for log in &evicted.logs {
                self.log_order.remove(&log.seq);
            }
            self.log_count -= evicted.logs.len();
            self.links.forget(&id, &evicted.links);
            self.evicted_traces += 1;
            if let Some(journal) = &self.journal {
                journal.push(crate::persist::Change::Evicted(id));
            }
        }
        true
    }

    /// Evicts the oldest record of no trace; false if there is none.
    fn evict_oldest_trace_less(&mut self) -> bool {
        let Some(log) = self.trace_less.pop_front() else {
            return false;
        };
        self.log_order.remove(&log.seq);
        self.bytes -= log.charged;
        self.log_count -= 1;
        self.evicted_logs += 1;
        let next = self.trace_less.front().map(|l| l.row);
        self.row_left(&log, next);
        true
    }

    /// `log` was evicted, the oldest of its trace (or of no trace), and
    /// `next` is the row of the next record there: when that is another
    /// row, memory holds nothing of `log`'s any more and the row goes.
    fn row_left(&self, log: &StoredLog, next: Option<i64>) {
        if let Some(journal) = &self.journal
            && log.row != 0
            && next != Some(log.row)
        {
            journal.push(crate::persist::Change::RowGone(log.row));
        }
    }
}

/// What a run of spans costs: each span, its buffer, and each source it
/// points at (once per change of source along the run).
fn run_bytes(spans: &[StoredSpan]) -> usize {
    let mut bytes = spans.first().map_or(0, |s| s.blob.len());
    let mut last: Option<*const stored::Source> = None;
    for span in spans {
        bytes += StoredSpan::BYTES;
        let source = Arc::as_ptr(&span.source);
        if last != Some(source) {
            bytes += span.source.bytes();
            last = Some(source);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Signal, SpanKind, Transport};
    use crate::stored::{self as otlp, Source};

    fn source() -> Arc<Source> {
        Arc::new(Source::plain("svc", BTreeMap::new(), Transport::Grpc, ""))
    }

    fn id(n: u64) -> SpanId {
        n.to_be_bytes()
    }

    fn trace_id(n: u8) -> TraceId {
        [n; 16]
    }

    fn span(n: u64, parent: Option<u64>) -> StoredSpan {
        let name = format!("s{n}");
        let blob: otlp::Blob = Arc::from(name.as_bytes());
        StoredSpan {
            span_id: id(n),
            parent: parent.map(id),
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            start: n,
            end: n + 1,
            source: source(),
            name: otlp::Slice::whole(&blob),
            blob,
            status_message: otlp::Slice::default(),
            details: otlp::Slice::default(),
        }
    }

    /// One request; consecutive spans of a trace form a run, as `convert`
    /// makes them.
    fn insert(store: &Store, spans: Vec<(TraceId, StoredSpan)>) {
        let request = ReceivedRequest {
            transport: Transport::Grpc,
            signal: Signal::Traces,
            path: String::new(),
            headers: BTreeMap::new(),
            span_count: spans.len(),
            log_record_count: 0,
        };
        let mut runs: Vec<otlp::Run> = Vec::new();
        for (trace_id, span) in spans {
            match runs.last_mut() {
                Some((id, run)) if *id == trace_id => run.push(span),
                _ => runs.push((trace_id, vec![span])),
            }
        }
        store.insert(request, runs);
    }

    fn log(span: Option<u64>, time: u64) -> StoredLog {
        StoredLog {
            seq: 0,
            charged: 0,
            row: 0,
            time,
            severity_number: 9,
            severity_text: None,
            body: format!("log{time}").into(),
            details: Box::default(),
            span_id: span.map(id),
            source: source(),
        }
    }

    /// One logs request; consecutive records of a trace form a run.
    fn insert_logs(store: &Store, logs: Vec<(Option<TraceId>, StoredLog)>) -> u64 {
        let request = ReceivedRequest {
            transport: Transport::Grpc,
            signal: Signal::Logs,
            path: String::new(),
            headers: BTreeMap::new(),
            span_count: 0,
            log_record_count: logs.len(),
        };
        let mut runs: Vec<LogRun> = Vec::new();
        for (trace_id, log) in logs {
            match runs.last_mut() {
                Some((id, run)) if *id == trace_id => run.push(log),
                _ => runs.push((trace_id, vec![log])),
            }
        }
        store.insert_logs(request, runs)
    }

    fn log_store(traces: usize, logs: usize, per_trace: usize) -> Store {
        Store::new(&CollectorConfig {
            max_traces: traces,
            max_logs: logs,
            max_logs_per_trace: per_trace,
            ..CollectorConfig::ephemeral()
        })
    }

    fn bodies(logs: &[LogRecord]) -> Vec<&str> {
        logs.iter().map(|l| l.body.as_str()).collect()
    }

    fn store(traces: usize, spans: usize, per_trace: usize) -> Store {
        Store::new(&CollectorConfig {
            max_traces: traces,
            max_spans: spans,
            max_spans_per_trace: per_trace,
            max_requests: 2,
            ..CollectorConfig::ephemeral()
        })
    }

    #[test]
    fn log_records_join_their_trace_before_or_after_its_spans() {
        let store = log_store(10, 100, 100);
        let t = trace_id(1);
        insert_logs(
            &store,
            vec![(Some(t), log(Some(1), 5)), (None, log(None, 6))],
        );
        assert_eq!(
            store.summaries()[0].log_records,
            1,
            "the trace exists already"
        );
        insert(&store, vec![(t, span(1, None))]);
        insert_logs(&store, vec![(Some(t), log(Some(1), 3))]);
        let trace = store.trace(&otlp::hex(&t)).expect("the trace");
        assert_eq!(bodies(&trace.logs), ["log3", "log5"], "in time order");
        let span = &trace.spans[0];
        assert_eq!(trace.logs_of(span).len(), 2);
        assert_eq!(
            trace.logs[0].trace_id.as_deref(),
            Some(span.trace_id.as_str())
        );
        assert_eq!(bodies(&store.logs()), ["log6"]);
        assert_eq!(store.log_count(), 3);
    }

    #[test]
    fn the_oldest_log_records_make_room_and_are_counted() {
        let store = log_store(10, 3, 3);
        let (a, b) = (trace_id(1), trace_id(2));
        insert_logs(&store, vec![(Some(a), log(None, 1)), (None, log(None, 2))]);
        insert_logs(
            &store,
            vec![(Some(b), log(None, 3)), (Some(a), log(None, 4))],
        );
        insert_logs(&store, vec![(None, log(None, 5))]);
        assert_eq!(store.log_count(), 3);
        assert_eq!(store.evicted_logs(), 2);
        let trace = |t: &TraceId| store.trace(&otlp::hex(t)).expect("a trace");
        assert_eq!(bodies(&trace(&a).logs), ["log4"]);
        assert_eq!(bodies(&trace(&b).logs), ["log3"]);
        assert_eq!(bodies(&store.logs()), ["log5"]);
    }

    #[test]
    fn a_trace_past_its_log_limit_counts_what_it_dropped() {
        let store = log_store(10, 100, 2);
        let t = trace_id(1);
        let dropped = insert_logs(&store, (1..=5).map(|n| (Some(t), log(None, n))).collect());
        assert_eq!(dropped, 3);
        let summary = &store.summaries()[0];
        assert_eq!((summary.log_records, summary.dropped_log_records), (2, 3));
        assert_eq!(store.traces()[0].dropped_logs, 3);
        assert_eq!(
            insert_logs(&store, vec![(None, log(None, 9))]),
            0,
            "no trace, no cap"
        );
    }

    #[test]
    fn an_evicted_trace_takes_its_log_records() {
        let store = log_store(1, 100, 100);
        insert_logs(&store, vec![(Some(trace_id(1)), log(None, 1))]);
        insert_logs(&store, vec![(Some(trace_id(2)), log(None, 2))]);
        assert_eq!(store.log_count(), 1);
        assert_eq!(store.lock().log_order.len(), 1);
        assert_eq!(store.evicted_logs(), 0, "went with their trace");
    }

    #[test]
    fn late_log_records_are_given_on_their_own_and_lone_records_wait() {
        let store = log_store(10, 100, 100);
        let mut reader = store.reader(Some(&[]), true);
        let zero = Duration::ZERO;
        let t = trace_id(1);
        let long = Duration::from_secs(3600);
        insert_logs(&store, vec![(Some(t), log(Some(1), 1))]);
        assert!(
            reader.take(zero, long, 100, true).is_empty(),
            "no span yet: the records wait for the give-up time"
        );
        assert_eq!(reader.ungiven(), (1, 0), "a trace of records only");
        insert(&store, vec![(t, span(1, None))]);
        let due = reader.take(zero, zero, 100, true);
        assert!(
            matches!(&due[..], [Settled::Whole(t)] if t.logs.len() == 1),
            "{due:?}"
        );
        insert_logs(&store, vec![(Some(t), log(Some(1), 2))]);
        let due = reader.take(zero, zero, 100, true);
        assert!(
            matches!(&due[..], [Settled::Late { spans, logs, .. }] if spans.is_empty() && bodies(logs) == ["log2"]),
            "{due:?}"
        );
        assert!(reader.take(zero, zero, 100, true).is_empty());
    }

    #[test]
    fn a_trace_of_log_records_only_is_listed_found_and_given_after_the_give_up_time() {
        let store = log_store(10, 100, 100);
        let mut reader = store.reader(Some(&[]), true);
        let t = trace_id(1);
        insert_logs(
            &store,
            vec![(Some(t), log(None, 7)), (Some(t), log(None, 9))],
        );
        let summary = &store.summaries()[0];
        assert!(summary.logs_only && summary.span_count == 0);
        assert_eq!(
            (
                summary.log_records,
                summary.start_unix_nano,
                summary.duration_nanos
            ),
            (2, 7, 2)
        );
        assert_eq!(summary.services.iter().collect::<Vec<_>>(), ["svc"]);
        let all = TraceQuery::default();
        assert_eq!(store.search(&all).len(), 1, "listed");
        let by_service = TraceQuery {
            service: Some("svc".into()),
            ..TraceQuery::default()
        };
        assert_eq!(store.search(&by_service).len(), 1);
        let by_span = TraceQuery {
            span: Some("s1".into()),
            ..TraceQuery::default()
        };
        assert!(store.search(&by_span).is_empty(), "no span to match");
        let updated = store.updated_since(0, 10);
        assert_eq!(updated.summaries.len(), 1, "on the event stream");
        let zero = Duration::ZERO;
        let due = reader.take(zero, zero, 100, true);
        assert!(
            matches!(&due[..], [Settled::Whole(t)] if t.spans.is_empty() && bodies(&t.logs) == ["log7", "log9"]),
            "{due:?}"
        );
        // Its spans come after all: late spans, not a second trace.
        insert(&store, vec![(t, span(1, None))]);
        let due = reader.take(zero, zero, 100, true);
        assert!(
            matches!(&due[..], [Settled::Late { spans, logs, .. }] if spans.len() == 1 && logs.is_empty()),
            "{due:?}"
        );
        assert!(!store.summaries()[0].logs_only);
    }

    #[test]
    fn log_records_of_no_trace_are_given_to_the_printer_once() {
        let store = log_store(10, 100, 100);
        insert_logs(&store, vec![(None, log(None, 1)), (None, log(None, 2))]);
        let (logs, missed, cursor) = store.trace_less_since(0, 10);
        assert_eq!((bodies(&logs), missed), (vec!["log1", "log2"], 0));
        insert_logs(&store, (3..=6).map(|n| (None, log(None, n))).collect());
        let (logs, missed, cursor) = store.trace_less_since(cursor, 2);
        assert_eq!(
            (bodies(&logs), missed),
            (vec!["log5", "log6"], 2),
            "the last, and a count"
        );
        assert!(store.trace_less_since(cursor, 2).0.is_empty());
    }

    /// A store of `bytes`, other bounds far away.
    fn memory_store(bytes: usize) -> Store {
        Store::new(&CollectorConfig {
            max_memory_bytes: bytes,
            ..CollectorConfig::ephemeral()
        })
    }

    /// A span whose buffer holds `size` bytes.
    fn big_span(n: u64, size: usize) -> StoredSpan {
        let mut s = span(n, None);
        let blob: otlp::Blob = Arc::from(vec![b'x'; size]);
        s.name = otlp::Slice::at(0, 1);
        s.details = otlp::Slice::at(1, size - 1);
        s.blob = blob;
        s
    }

    #[test]
    fn the_memory_bound_evicts_the_oldest_traces_and_holds() {
        let store = memory_store(100_000);
        for n in 1..=20u8 {
            insert(&store, vec![(trace_id(n), big_span(1, 20_000))]);
            let (used, budget) = store.memory();
            assert!(used <= budget, "{used} > {budget} after trace {n}");
        }
        let ids: Vec<String> = store.summaries().into_iter().map(|s| s.trace_id).collect();
        assert!(ids.len() >= 3 && ids.len() < 5, "{ids:?}");
        assert_eq!(
            ids.last(),
            Some(&otlp::hex(&trace_id(20))),
            "the newest stays"
        );
        assert_eq!(store.evicted_traces(), 20 - ids.len() as u64);
        // What is counted is what is held: evictions give back exactly
        // what inserts took, for spans, records and traces alike.
        let store = memory_store(60_000);
        for n in 1..=30u8 {
            insert(
                &store,
                vec![(trace_id(n), big_span(1, 1_000 * usize::from(n)))],
            );
            insert_logs(&store, vec![(None, log(None, u64::from(n)))]);
            insert_logs(&store, vec![(Some(trace_id(n)), log(None, u64::from(n)))]);
            let state = store.lock();
            assert_eq!(state.bytes, state.recount(), "after trace {n}");
        }
    }

    #[test]
    fn a_trace_alone_over_the_memory_keeps_what_fits_and_counts_the_rest() {
        let store = memory_store(100_000);
        let t = trace_id(1);
        let run: Vec<(TraceId, StoredSpan)> = (1..=10).map(|n| (t, big_span(n, 15_000))).collect();
        for (_, span) in run {
            insert(&store, vec![(t, span)]);
        }
        let summary = &store.summaries()[0];
        assert!(summary.span_count < 10 && summary.span_count > 0);
        assert_eq!(summary.span_count as u64 + summary.dropped_spans, 10);
        let (used, budget) = store.memory();
        assert!(used <= budget);
        // A record that cannot fit at all is not kept, and counted.
        insert_logs(&store, vec![(Some(t), log(None, 1))]);
        assert!(store.memory().0 <= budget);
    }

    #[test]
    fn a_reader_converts_outside_the_lock() {
        let store = store(10, 100, 100);
        let t = trace_id(1);
        insert(&store, vec![(t, span(1, None))]);
        let snapshot = store.snapshot(&otlp::hex(&t)).expect("the trace");
        // Changes after the snapshot do not reach it, and it holds no lock.
        insert(&store, vec![(t, span(2, Some(1)))]);
        assert_eq!(snapshot.to_trace(None).spans.len(), 1);
        assert_eq!(store.trace(&otlp::hex(&t)).unwrap().spans.len(), 2);
    }

    #[test]
    fn completeness_follows_parents_in_any_order() {
        let store = store(10, 100, 100);
        let t = trace_id(1);
        insert(&store, vec![(t, span(3, Some(2))), (t, span(2, Some(1)))]);
        let summary = &store.summaries()[0];
        assert!(!summary.complete);
        assert_eq!(
            summary.root_name, "s2",
            "earliest span whose parent is missing"
        );
        insert(&store, vec![(t, span(1, None))]);
        let summary = &store.summaries()[0];
        assert!(summary.complete);
        assert_eq!((summary.root_name.as_str(), summary.span_count), ("s1", 3));
        assert_eq!((summary.start_unix_nano, summary.duration_nanos), (1, 3));
        assert_eq!(
            summary.complete,
            store.trace(&summary.trace_id).unwrap().is_complete()
        );
    }

    #[test]
    fn a_mostly_retried_run_does_not_keep_its_whole_buffer() {
        let store = store(10, 100, 100);
        let t = trace_id(1);
        // One buffer for a run of 11 spans, 10 of them already stored.
        let names: Vec<String> = (1..=11).map(|n| format!("s{n}")).collect();
        let blob: otlp::Blob = Arc::from(names.concat().as_bytes());
        insert(&store, (1..=10).map(|n| (t, span(n, None))).collect());
        let mut at = 0;
        let run: Vec<StoredSpan> = (1..=11u64)
            .map(|n| {
                let mut s = span(n, None);
                s.blob = blob.clone();
                s.name = otlp::Slice::at(at, names[n as usize - 1].len());
                at += names[n as usize - 1].len();
                s
            })
            .collect();
        store.insert(
            ReceivedRequest {
                transport: Transport::Grpc,
                signal: Signal::Traces,
                path: String::new(),
                headers: BTreeMap::new(),
                span_count: 11,
                log_record_count: 0,
            },
            vec![(t, run)],
        );
        let state = store.lock();
        let entry = &state.traces[&t];
        let last = entry.spans.get(10).expect("the new span");
        assert_eq!((last.name(), last.blob.len()), ("s11", 3), "compacted");
        assert_eq!(entry.spans.len(), 11);
    }

    #[test]
    fn a_retried_span_is_kept_once() {
        let store = store(10, 100, 100);
        let t = trace_id(1);
        insert(&store, vec![(t, span(1, None))]);
        insert(&store, vec![(t, span(1, None))]);
        assert_eq!(store.span_count(), 1);
    }

    #[test]
    fn the_oldest_traces_make_room_for_new_spans() {
        let store = store(10, 5, 3);
        for n in 1..=3u8 {
            let spans = (0..2).map(|i| (trace_id(n), span(i, None))).collect();
            insert(&store, spans);
        }
        // 6 spans asked, 5 allowed: trace 1 went.
        let ids: Vec<String> = store.summaries().into_iter().map(|s| s.trace_id).collect();
        assert_eq!(ids, [otlp::hex(&trace_id(2)), otlp::hex(&trace_id(3))]);
        assert_eq!(store.span_count(), 4);
        assert_eq!(store.evicted_traces(), 1);
    }

    #[test]
    fn a_trace_past_its_limit_counts_what_it_dropped() {
        let store = store(10, 100, 3);
        let spans = (0..5).map(|i| (trace_id(1), span(i, None))).collect();
        insert(&store, spans);
        let summary = &store.summaries()[0];
        assert_eq!((summary.span_count, summary.dropped_spans), (3, 2));
        assert_eq!(store.traces()[0].dropped_spans, 2);
    }

    #[test]
    fn the_trace_count_is_bounded() {
        let store = store(2, 100, 100);
        for n in 1..=3u8 {
            insert(&store, vec![(trace_id(n), span(1, None))]);
        }
        assert_eq!(store.summaries().len(), 2);
        assert_eq!(store.requests().len(), 2, "the request log is bounded too");
    }

    #[test]
    fn a_trace_is_given_when_complete_and_late_spans_on_their_own() {
        let store = store(10, 100, 100);
        let mut reader = store.reader(Some(&[]), true);
        let long = Duration::from_secs(3600);
        let t = trace_id(1);
        insert(&store, vec![(t, span(2, Some(1)))]);
        assert!(
            reader.take(Duration::ZERO, long, 100, true).is_empty(),
            "parent missing"
        );

        insert(&store, vec![(t, span(1, None))]);
        let due = reader.take(Duration::ZERO, long, 100, true);
        assert!(matches!(&due[..], [Settled::Whole(t)] if t.spans.len() == 2));
        assert!(
            reader.take(Duration::ZERO, long, 100, true).is_empty(),
            "given once"
        );

        insert(&store, vec![(t, span(3, Some(1)))]);
        assert!(
            reader.take(long, long, 100, true).is_empty(),
            "not quiet yet"
        );
        let due = reader.take(Duration::ZERO, long, 100, true);
        assert!(
            matches!(&due[..], [Settled::Late { spans, .. }] if spans.len() == 1 && spans[0].name == "s3"),
            "{due:?}"
        );
        assert!(
            reader
                .take(Duration::ZERO, Duration::ZERO, 100, true)
                .is_empty()
        );
    }

    #[test]
    fn an_incomplete_trace_is_given_after_giving_up_and_the_budget_holds() {
        let store = store(10, 100, 100);
        let mut reader = store.reader(Some(&[]), true);
        insert(&store, vec![(trace_id(1), span(1, Some(9)))]);
        insert(
            &store,
            vec![
                (trace_id(2), span(1, Some(9))),
                (trace_id(2), span(2, Some(9))),
            ],
        );
        let long = Duration::from_secs(3600);
        assert!(reader.take(Duration::ZERO, long, 100, true).is_empty());
        let due = reader.take(Duration::ZERO, Duration::ZERO, 2, true);
        assert_eq!(due.len(), 1, "the second trace does not fit the budget");
        assert_eq!(reader.ungiven(), (1, 2));
        let due = reader.take(Duration::ZERO, Duration::ZERO, 2, true);
        assert!(matches!(&due[..], [Settled::Whole(t)] if t.spans.len() == 2));
        assert_eq!(reader.ungiven(), (0, 0));
    }

    #[test]
    fn an_incomplete_trace_does_not_hold_back_a_complete_one() {
        let store = store(10, 100, 100);
        let mut reader = store.reader(None, true);
        insert(&store, vec![(trace_id(1), span(1, Some(9)))]);
        insert(&store, vec![(trace_id(2), span(1, None))]);
        let long = Duration::from_secs(3600);
        let due = reader.take(Duration::ZERO, long, 100, false);
        assert!(
            matches!(&due[..], [Settled::Whole(t)] if t.trace_id == otlp::hex(&trace_id(2))),
            "{due:?}"
        );
        // The incomplete one still waits for the give-up time, then comes.
        assert!(reader.next_due(Duration::ZERO, long).is_some());
        assert!(reader.take(Duration::ZERO, long, 100, false).is_empty());
        let due = reader.take(Duration::ZERO, Duration::ZERO, 100, false);
        assert!(
            matches!(&due[..], [Settled::Whole(t)] if t.trace_id == otlp::hex(&trace_id(1))),
            "{due:?}"
        );
        assert_eq!(reader.next_due(Duration::ZERO, Duration::ZERO), None);
    }

    #[test]
    fn every_reader_is_given_each_trace_once() {
        let store = store(10, 100, 100);
        let mut printer = store.reader(Some(&[]), true);
        let mut feed = store.reader(None, false);
        let t = trace_id(1);
        insert(&store, vec![(t, span(1, None))]);
        let zero = Duration::ZERO;
        assert_eq!(printer.take(zero, zero, 100, false).len(), 1);
        // Made later, it is still given what settled before it.
        let mut late_comer = store.reader(None, false);
        assert_eq!(feed.take(zero, zero, 100, false).len(), 1);
        assert_eq!(late_comer.take(zero, zero, 100, false).len(), 1);

        // A late span: the printer is told, the others do not want it.
        insert(&store, vec![(t, span(2, Some(1)))]);
        assert_eq!(printer.take(zero, zero, 100, false).len(), 1);
        assert!(feed.take(zero, zero, 100, false).is_empty());
        assert!(late_comer.take(zero, zero, 100, false).is_empty());
        assert_eq!(store.lock().traces[&t].marks.len(), 3);
        drop(late_comer);
        assert_eq!(
            store.lock().traces[&t].marks.len(),
            2,
            "a dropped reader's marks go"
        );
    }

    #[test]
    fn a_slow_reader_of_updates_gets_the_latest_summaries_not_a_backlog() {
        let store = store(10, 100, 100);
        let cursor = store.update_cursor();
        for n in 1..=5u8 {
            insert(&store, vec![(trace_id(n), span(1, None))]);
        }
        // Trace 2 again: it changed once more, and counts once.
        insert(&store, vec![(trace_id(2), span(2, Some(1)))]);
        let updated = store.updated_since(cursor, 3);
        let ids: Vec<String> = updated
            .summaries
            .iter()
            .map(|s| s.trace_id.clone())
            .collect();
        let hex = |n| otlp::hex(&trace_id(n));
        assert_eq!(ids, [hex(4), hex(5), hex(2)], "the last changed, each once");
        assert!(updated.missed);
        assert_eq!(updated.summaries[2].span_count, 2);
        let later = store.updated_since(updated.cursor, 3);
        assert!(later.summaries.is_empty() && !later.missed);
        insert(&store, vec![(trace_id(1), span(3, Some(1)))]);
        let updated = store.updated_since(updated.cursor, 3);
        assert_eq!(updated.summaries.len(), 1);
        assert!(!updated.missed);
    }

    #[test]
    fn evicted_traces_leave_the_update_index() {
        let store = store(2, 100, 100);
        let mut reader = store.reader(None, false);
        for n in 1..=5u8 {
            insert(&store, vec![(trace_id(n), span(1, None))]);
            insert(&store, vec![(trace_id(n), span(2, Some(1)))]);
        }
        assert_eq!(store.lock().updates.len(), 2);
        let zero = Duration::ZERO;
        let given: Vec<String> = reader
            .take(zero, zero, 100, false)
            .into_iter()
            .map(|s| match s {
                Settled::Whole(t) => t.trace_id,
                Settled::Late { trace_id, .. } => trace_id,
                Settled::TraceLess { .. } => String::new(),
            })
            .collect();
        assert_eq!(given, [otlp::hex(&trace_id(4)), otlp::hex(&trace_id(5))]);
    }

    /// Span `n` with links to `(trace, span)`s, in its details.
    fn linking(n: u64, to: &[(TraceId, u64)]) -> StoredSpan {
        use opentelemetry_proto::tonic::trace::v1 as proto;
        use prost::Message as _;
        let details = proto::Span {
            links: to
                .iter()
                .map(|(t, s)| proto::span::Link {
                    trace_id: t.to_vec(),
                    span_id: id(*s).to_vec(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
        .encode_to_vec();
        let mut s = span(n, None);
        let mut blob = s.name().as_bytes().to_vec();
        s.details = otlp::Slice::at(blob.len(), details.len());
        blob.extend_from_slice(&details);
        s.blob = Arc::from(blob);
        s
    }

    #[test]
    fn links_are_indexed_both_ways_and_leave_with_the_linking_trace() {
        let store = store(2, 100, 100);
        let (a, b) = (trace_id(1), trace_id(2));
        insert(&store, vec![(a, span(1, None))]);
        insert(&store, vec![(b, linking(1, &[(a, 1), (a, 9), (b, 1)]))]);
        assert_eq!(store.lock().links.len(), 3);
        let linked = store.trace(&otlp::hex(&a)).expect("trace a");
        let from = &linked.spans[0].linked_from;
        assert_eq!(from.len(), 1, "{from:?}");
        assert_eq!(
            (from[0].trace_id.as_str(), from[0].name.as_str()),
            (otlp::hex(&b).as_str(), "s1")
        );
        let linking_trace = store.trace(&otlp::hex(&b)).expect("trace b");
        let stored: Vec<bool> = linking_trace.spans[0]
            .links
            .iter()
            .map(|l| l.stored)
            .collect();
        assert_eq!(stored, [true, false, true], "span 9 of a is not stored");
        {
            let state = store.lock();
            assert_eq!(state.bytes, state.recount(), "links are counted");
        }
        // Two more traces: a and b go, and b's links with it.
        insert(&store, vec![(trace_id(3), span(1, None))]);
        insert(&store, vec![(trace_id(4), span(1, None))]);
        let state = store.lock();
        assert_eq!((state.links.len(), state.bytes), (0, state.recount()));
    }
}
