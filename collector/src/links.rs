//! Span links, both ways. A span's links (to spans of its trace or of
//! others) are kept in its details as they came; what this module adds is
//! the reverse index: for each linked span, the stored spans that link to
//! it, so that a span's `linked_from` is found without walking the store.
//!
//! The index is kept by the store: a run of spans adds its links at insert
//! (O(links)), and an evicted trace takes its links out (O(its links), and
//! the lists of the spans they pointed at), so nothing dangles and the
//! index never outgrows the store. Each link is charged [`LINK_BYTES`] to
//! the trace that made it, in the store's memory accounting.

use std::collections::{HashMap, HashSet};

use crate::model::{LinkedFrom, Trace};
use crate::stored::{self, SpanId, StoredSpan, TraceId};

/// What one link costs in the index, about: its place in the linking
/// trace's list, and in the list of the span it points at (with its share
/// of the maps).
pub(crate) const LINK_BYTES: usize = 128;

/// One link a stored span made: (the linking span, the linked trace, the
/// linked span); kept on the linking trace, to take it out at eviction.
pub(crate) type Outgoing = (SpanId, TraceId, SpanId);

/// Linked span -> the spans that link to it (trace, span), by the linked
/// span's trace.
#[derive(Debug, Default)]
pub(crate) struct LinkIndex {
    to: HashMap<TraceId, HashMap<SpanId, Vec<(TraceId, SpanId)>>>,
    len: usize,
}

impl LinkIndex {
    /// Adds the links of spans of `trace`.
    pub(crate) fn add(&mut self, trace: TraceId, links: &[Outgoing]) {
        for (from, to_trace, to_span) in links {
            self.to
                .entry(*to_trace)
                .or_default()
                .entry(*to_span)
                .or_default()
                .push((trace, *from));
        }
        self.len += links.len();
    }

    /// Takes out the links that spans of `trace` made (`links`: all of
    /// them), as when the trace is evicted.
    pub(crate) fn forget(&mut self, trace: &TraceId, links: &[Outgoing]) {
        let targets: HashSet<(TraceId, SpanId)> = links.iter().map(|(_, t, s)| (*t, *s)).collect();
        for (to_trace, to_span) in targets {
            let Some(spans) = self.to.get_mut(&to_trace) else {
                continue;
            };
            if let Some(from) = spans.get_mut(&to_span) {
                let before = from.len();
                from.retain(|(t, _)| t != trace);
                self.len -= before - from.len();
                if from.is_empty() {
                    spans.remove(&to_span);
                }
            }
            if spans.is_empty() {
                self.to.remove(&to_trace);
            }
        }
    }

    /// The spans of `trace` that stored spans link to, each with the
    /// spans that link to it.
    pub(crate) fn linking_into(
        &self,
        trace: &TraceId,
    ) -> impl Iterator<Item = (&SpanId, &[(TraceId, SpanId)])> {
        self.to
            .get(trace)
            .into_iter()
            .flat_map(|spans| spans.iter().map(|(id, from)| (id, &from[..])))
    }

    /// Links in the index.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The links of a run of spans, read from their details: (index in the
/// run, linked trace, linked span). Spans without links cost a look at
/// their fields' keys; no allocation unless a link is found.
pub(crate) fn of_run(spans: &[StoredSpan]) -> Vec<(u32, TraceId, SpanId)> {
    let mut found = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        crate::wire::link_targets(span.details.get(&span.blob), index, &mut found);
    }
    found
}

/// The ids of the spans `trace` links to, with no repeats: what
/// [`resolve`] needs to know is stored.
pub(crate) fn targets(trace: &Trace) -> Vec<(TraceId, SpanId)> {
    let mut targets: Vec<(TraceId, SpanId)> = trace
        .spans
        .iter()
        .flat_map(|s| &s.links)
        .filter_map(|l| {
            Some((
                stored::parse_trace_id(&l.trace_id)?,
                parse_span_id(&l.span_id)?,
            ))
        })
        .collect();
    targets.sort_unstable();
    targets.dedup();
    targets
}

/// Fills in `links[].stored` (`stored`: the targets in the store) and
/// `linked_from` (by the hex id of the linked span) on the spans of
/// `trace`; linear in its spans and links.
pub(crate) fn resolve(
    trace: &mut Trace,
    stored: &HashSet<(TraceId, SpanId)>,
    mut linked_from: HashMap<String, Vec<LinkedFrom>>,
) {
    for span in &mut trace.spans {
        for link in &mut span.links {
            let id = stored::parse_trace_id(&link.trace_id).zip(parse_span_id(&link.span_id));
            link.stored = id.is_some_and(|id| stored.contains(&id));
        }
        if let Some(from) = linked_from.remove(&span.span_id) {
            span.linked_from = from;
        }
    }
}

/// A 16-digit hex span id (either case) as bytes.
fn parse_span_id(text: &str) -> Option<SpanId> {
    let id = stored::parse_trace_id(&format!("{text:0>32}"))?;
    (text.len() == 16)
        .then(|| id[8..].try_into().ok())
        .flatten()
}
