//! When a trace is finished: the one definition of "settled", and the feed
//! of settled traces that the printer and library users read.
//!
//! Spans of one trace come from several processes, each exporting in
//! batches, so no request says a trace is over. A trace has settled once
//! it is complete (a root, and every parent present) and has been quiet
//! for [`SETTLE`], or has been quiet for [`GIVE_UP`], complete or not.
//! Every reader has a place of its own in the store's update order (see
//! `store::Reader`), so each is given each trace once, and waiting costs
//! nothing between traces: a reader sleeps until the next trace can be
//! due, which a change to the store brings forward to a settle time after
//! it at the earliest; the store is only looked at when something is due.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::model::Trace;
use crate::store::{Reader, Settled, Store};

/// A trace has settled once it has been quiet this long and is complete...
pub(crate) const SETTLE: Duration = Duration::from_secs(1);
/// ...or once it has been quiet this long, complete or not.
pub(crate) const GIVE_UP: Duration = Duration::from_secs(5);
/// Spans of whole traces taken from the store at a time, at most (a bigger
/// trace is taken alone).
pub(crate) const SPANS_PER_TAKE: usize = 20_000;

/// A reader of settled traces and the store's change notifications.
#[derive(Debug)]
pub(crate) struct Feed {
    store: Store,
    reader: Reader,
    changes: watch::Receiver<u64>,
    /// With `late`: where the records of no trace given so far end.
    trace_less: Option<u64>,
}

/// Records of no trace given at once, at most (more are counted).
const TRACE_LESS_PER_TAKE: usize = 1_000;

impl Feed {
    /// Spans given carry only the `shown` attributes and no events (`None`:
    /// everything); with `late`, spans that come after their trace was given
    /// are given on their own, and so are the log records of no trace.
    pub(crate) fn new(store: &Store, shown: Option<&'static [&'static str]>, late: bool) -> Feed {
        Feed {
            store: store.clone(),
            changes: store.changes(),
            reader: store.reader(shown, late),
            trace_less: late.then_some(0),
        }
    }

    /// The records of no trace that came since the last call, if this feed
    /// wants them.
    fn take_trace_less(&mut self, due: &mut Vec<Settled>) {
        let Some(cursor) = self.trace_less else {
            return;
        };
        let (logs, missed, next) = self.store.trace_less_since(cursor, TRACE_LESS_PER_TAKE);
        self.trace_less = Some(next);
        if !logs.is_empty() || missed > 0 {
            due.push(Settled::TraceLess { logs, missed });
        }
    }

    /// Waits until a trace may have settled; `false` as soon as `stop` is
    /// true (or its sender is gone). Cancel-safe.
    pub(crate) async fn wait(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut due = self.reader.next_due(SETTLE, GIVE_UP);
        loop {
            let sleep = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.wait_for(|stop| *stop) => return false,
                () = sleep => return true,
                changed = self.changes.changed() => {
                    // The sender lives as long as the store; without it
                    // nothing can change any more.
                    if changed.is_err() {
                        return false;
                    }
                }
            }
            // What changed is due a settle time from now at the earliest
            // (sooner, maybe, than a trace waiting to give up): no need to
            // look at the store before then.
            let soonest = Instant::now() + SETTLE;
            due = Some(due.map_or(soonest, |at| at.min(soonest)));
        }
    }

    /// What has settled since the last call, up to [`SPANS_PER_TAKE`].
    pub(crate) fn take(&mut self) -> Vec<Settled> {
        // Changes from here on wake the next `wait`.
        self.changes.mark_unchanged();
        let mut due = self.reader.take(SETTLE, GIVE_UP, SPANS_PER_TAKE, false);
        self.take_trace_less(&mut due);
        due
    }

    /// Everything not given yet, settled or not, up to `max_spans` (strictly:
    /// for a shutdown with a budget).
    pub(crate) fn take_all(&mut self, max_spans: usize) -> Vec<Settled> {
        let mut due = self
            .reader
            .take(Duration::ZERO, Duration::ZERO, max_spans, true);
        self.take_trace_less(&mut due);
        due
    }

    /// Traces never given, and their spans.
    pub(crate) fn ungiven(&self) -> (usize, usize) {
        self.reader.ungiven()
    }
}

/// The traces the collector receives, each once it has settled: complete
/// and quiet for a second (the printer's wait), or quiet for five seconds
/// even if incomplete. Every feed has its own place: it starts with the
/// traces already stored, and what one feed (or the printer) was given
/// does not affect another. Spans and log records that arrive after their
/// trace was given are not given again; a trace is given once it has a
/// span (log records alone, which may come first, are not a trace yet). Made by [`crate::Collector::settled_traces`].
#[derive(Debug)]
pub struct SettledTraces {
    feed: Feed,
    stop: watch::Receiver<bool>,
    ready: VecDeque<Trace>,
}

impl SettledTraces {
    pub(crate) fn new(store: &Store, stop: watch::Receiver<bool>) -> SettledTraces {
        SettledTraces {
            feed: Feed::new(store, None, false),
            stop,
            ready: VecDeque::new(),
        }
    }

    /// The next settled trace, waiting for it; `None` once the collector
    /// shuts down. Cancel-safe: usable in `tokio::select!`.
    pub async fn next(&mut self) -> Option<Trace> {
        loop {
            if *self.stop.borrow() {
                return None;
            }
            if let Some(trace) = self.ready.pop_front() {
                return Some(trace);
            }
            self.ready
                .extend(self.feed.take().into_iter().filter_map(|s| match s {
                    Settled::Whole(trace) => Some(trace),
                    Settled::Late { .. } | Settled::TraceLess { .. } => None,
                }));
            if self.ready.is_empty() && !self.feed.wait(&mut self.stop).await {
                return None;
            }
        }
    }
}
