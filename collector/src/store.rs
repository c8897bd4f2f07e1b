//! The bounded in-memory store, and waiting for spans to arrive.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::model::{ReceivedRequest, Span, Trace};

/// A cheap, cloneable handle to the collector's memory: the last
/// `max_traces` traces (oldest evicted first) and the last requests.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    /// Bumped on every change; waiters subscribe to it.
    version: watch::Sender<u64>,
    max_traces: usize,
    max_requests: usize,
}

#[derive(Debug, Default)]
struct State {
    traces: HashMap<String, Entry>,
    /// Trace ids, oldest first.
    order: VecDeque<String>,
    requests: VecDeque<ReceivedRequest>,
    span_count: usize,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) trace: Trace,
    pub(crate) last_update: Instant,
    /// Span count when the trace was last printed, if it was.
    pub(crate) printed_spans: Option<usize>,
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

impl Store {
    /// An empty store; `max_traces` and `max_requests` are raised to at least 1.
    pub fn new(max_traces: usize, max_requests: usize) -> Self {
        Store {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                version: watch::Sender::new(0),
                max_traces: max_traces.max(1),
                max_requests: max_requests.max(1),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data behind (every
        // update is a few plain assignments), so poisoning is ignored.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores the spans of one request and logs the request.
    pub(crate) fn insert(&self, request: ReceivedRequest, spans: Vec<Span>) {
        let now = Instant::now();
        {
            let mut state = self.lock();
            let state = &mut *state;
            for span in spans {
                if !state.traces.contains_key(&span.trace_id) {
                    while state.order.len() >= self.inner.max_traces {
                        let Some(oldest) = state.order.pop_front() else {
                            break;
                        };
                        if let Some(evicted) = state.traces.remove(&oldest) {
                            state.span_count -= evicted.trace.spans.len();
                        }
                    }
                    state.order.push_back(span.trace_id.clone());
                }
                let entry = state
                    .traces
                    .entry(span.trace_id.clone())
                    .or_insert_with(|| Entry {
                        trace: Trace {
                            trace_id: span.trace_id.clone(),
                            spans: Vec::new(),
                        },
                        last_update: now,
                        printed_spans: None,
                    });
                entry.last_update = now;
                // An exporter retry may send the same span again: keep one.
                match entry
                    .trace
                    .spans
                    .iter_mut()
                    .find(|s| s.span_id == span.span_id)
                {
                    Some(existing) => *existing = span,
                    None => {
                        entry.trace.spans.push(span);
                        state.span_count += 1;
                    }
                }
            }
            if state.requests.len() >= self.inner.max_requests {
                state.requests.pop_front();
            }
            state.requests.push_back(request);
        }
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// All traces, oldest first.
    pub fn traces(&self) -> Vec<Trace> {
        let state = self.lock();
        state
            .order
            .iter()
            .filter_map(|id| state.traces.get(id))
            .map(|e| e.trace.clone())
            .collect()
    }

    /// One trace by its lowercase hex id (upper case is accepted too).
    pub fn trace(&self, trace_id: &str) -> Option<Trace> {
        let id = trace_id.to_ascii_lowercase();
        self.lock().traces.get(&id).map(|e| e.trace.clone())
    }

    /// All spans of all traces, oldest trace first.
    pub fn spans(&self) -> Vec<Span> {
        self.traces().into_iter().flat_map(|t| t.spans).collect()
    }

    /// Number of stored spans.
    pub fn span_count(&self) -> usize {
        self.lock().span_count
    }

    /// The last received requests, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    /// Forgets all traces and requests.
    pub fn clear(&self) {
        *self.lock() = State::default();
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Waits until at least `n` spans are stored, then returns all spans.
    pub async fn wait_for_spans(
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
    pub async fn wait_for_trace(
        &self,
        predicate: impl Fn(&Trace) -> bool,
        timeout: Duration,
    ) -> Result<Trace, WaitTimeout> {
        self.wait_until("a matching trace".to_owned(), timeout, |store| {
            let state = store.lock();
            state
                .order
                .iter()
                .filter_map(|id| state.traces.get(id))
                .find(|e| predicate(&e.trace))
                .map(|e| e.trace.clone())
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

    /// Gives the printer the traces that are due: not printed yet (or grown
    /// since), quiet for `settle`, and complete, or quiet for `give_up` even
    /// if incomplete. Marks them printed.
    pub(crate) fn take_printable(&self, settle: Duration, give_up: Duration) -> Vec<(Trace, bool)> {
        let now = Instant::now();
        let mut state = self.lock();
        let state = &mut *state;
        let mut due = Vec::new();
        for id in &state.order {
            let Some(entry) = state.traces.get_mut(id) else {
                continue;
            };
            if entry.printed_spans == Some(entry.trace.spans.len()) {
                continue;
            }
            let quiet = now.saturating_duration_since(entry.last_update);
            if quiet >= give_up || (quiet >= settle && entry.trace.is_complete()) {
                let updated = entry.printed_spans.is_some();
                entry.printed_spans = Some(entry.trace.spans.len());
                due.push((entry.trace.clone(), updated));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Transport;

    fn span(id: &str, parent: Option<&str>) -> Span {
        Span {
            trace_id: "t1".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: id.into(),
            kind: "internal".into(),
            start_unix_nano: 0,
            end_unix_nano: 0,
            attributes: BTreeMap::new(),
            events: vec![],
            status_code: "unset".into(),
            status_message: String::new(),
            service_name: "svc".into(),
            resource: BTreeMap::new(),
            scope_name: String::new(),
            transport: Transport::Grpc,
            path: String::new(),
        }
    }

    fn insert(store: &Store, spans: Vec<Span>) {
        let request = ReceivedRequest {
            transport: Transport::Grpc,
            path: String::new(),
            headers: BTreeMap::new(),
            span_count: spans.len(),
        };
        store.insert(request, spans);
    }

    #[test]
    fn a_trace_is_printed_when_complete_and_again_when_it_grows() {
        let store = Store::new(10, 10);
        let long = Duration::from_secs(3600);
        insert(&store, vec![span("child", Some("root"))]);
        assert!(
            store.take_printable(Duration::ZERO, long).is_empty(),
            "parent missing"
        );

        insert(&store, vec![span("root", None)]);
        let due = store.take_printable(Duration::ZERO, long);
        assert_eq!(due.len(), 1);
        assert!(!due[0].1, "first print");
        assert!(
            store.take_printable(Duration::ZERO, long).is_empty(),
            "printed once"
        );

        insert(&store, vec![span("late", Some("root"))]);
        assert!(store.take_printable(long, long).is_empty(), "not quiet yet");
        let due = store.take_printable(Duration::ZERO, long);
        assert_eq!((due.len(), due[0].1), (1, true), "re-printed as updated");
    }

    #[test]
    fn an_incomplete_trace_is_printed_after_giving_up() {
        let store = Store::new(10, 10);
        insert(&store, vec![span("orphan", Some("elsewhere"))]);
        assert_eq!(
            store.take_printable(Duration::ZERO, Duration::ZERO).len(),
            1
        );
    }

    #[test]
    fn the_request_log_is_bounded() {
        let store = Store::new(10, 2);
        for _ in 0..5 {
            insert(&store, vec![]);
        }
        assert_eq!(store.requests().len(), 2);
    }
}
