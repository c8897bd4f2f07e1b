//! Where a trace's time goes: self time per span, the statistics per
//! service and per operation, the flame graph's frames, and the sentence
//! that says why the trace took as long as it did. One pass over the
//! trace's tree (plus the critical path's): linear in the spans after the
//! tree's sort, so a 100k-span trace is read in well under a second.
//!
//! **Self time** of a span: the part of its time not covered by any of its
//! children (the union of the children's intervals, each clipped to the
//! span: children that run at once are not counted twice). A span's
//! duration is its self time plus that union, so summed over the tree of
//! the root, the self times give the root's duration, plus two things a
//! trace may have: time when children of one span ran at once
//! (`parallel_nanos`: counted once per child, each did that work) and time
//! of children outside their parent (`outside_nanos`). A trace whose
//! children run one after another, inside their parents (every example's),
//! adds up to the root's duration exactly. A span whose parent is not in
//! the trace is the root of a tree of its own: its statistics count, its
//! tree is not part of that sum.

use std::collections::HashMap;

use serde::Serialize;

use crate::critical_path::critical_path_in;
use crate::model::{Span, SpanKind, Trace, TreeRow};
use crate::text;

/// A trace's statistics, flame graph and sentence (`GET /api/traces/{id}/stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceStats {
    /// Latest span end minus earliest span start.
    pub duration_nanos: u64,
    /// The root (see [`Trace::root`]); `None` for no spans.
    pub root_span_id: Option<String>,
    pub root_duration_nanos: u64,
    /// The self times of the root's tree, summed: `root_duration_nanos +
    /// parallel_nanos + outside_nanos` (see the module's documentation).
    pub tree_self_nanos: u64,
    /// In the root's tree, time when a span's children ran at once,
    /// beyond the first: the union of its children counts it once, their
    /// self times once each.
    pub parallel_nanos: u64,
    /// In the root's tree, children's time outside their parent's.
    pub outside_nanos: u64,
    /// Per service, most self time first.
    pub services: Vec<StatsRow>,
    /// Per operation (service and span name), most self time first.
    pub operations: Vec<StatsRow>,
    /// The flame graph: see [`FlameFrame`].
    pub flame: Vec<FlameFrame>,
    /// Why the trace took as long as it did, in words: see [`summary`].
    pub summary: Vec<Part>,
}

/// One line of the statistics: the spans of a service, or of an
/// operation (a service and a span name).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    pub service: String,
    /// The span name; `None` in the per-service rows.
    pub name: Option<String>,
    pub count: usize,
    /// The spans' durations, summed.
    pub total_nanos: u64,
    /// Their self times, summed.
    pub self_nanos: u64,
    pub min_nanos: u64,
    pub avg_nanos: u64,
    pub max_nanos: u64,
    /// Self time over the trace's duration (0 to 1; more with parallel spans).
    pub share: f64,
}

/// One frame of the flame graph: the spans with the same stack (the path
/// of service and span name from their root), merged. Frames come parents
/// first, siblings by their first span's start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlameFrame {
    /// The index of the parent frame; `None` for a root's frame.
    pub parent: Option<usize>,
    pub depth: usize,
    pub service: String,
    pub name: String,
    pub count: usize,
    pub total_nanos: u64,
    pub self_nanos: u64,
    /// The longest of its spans: the one a click opens.
    pub span_id: String,
}

/// A piece of the sentence: text, and the span it names, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

/// The sentence's parts as plain text.
pub fn plain(parts: &[Part]) -> String {
    parts.iter().map(|p| p.text.as_str()).collect()
}

/// Each span's times in the tree: what the statistics, the flame graph
/// and the sentence are made from.
struct Timed<'t> {
    rows: Vec<TreeRow<'t>>,
    /// The row of each row's parent (`None` for a root, or a cycle's first).
    parent: Vec<Option<usize>>,
    duration: Vec<u64>,
    self_time: Vec<u64>,
    /// Per row: its children's clipped time beyond their union.
    parallel: Vec<u64>,
    /// Per row: its time outside its parent's.
    outside: Vec<u64>,
}

impl<'t> Timed<'t> {
    fn of(rows: Vec<TreeRow<'t>>) -> Timed<'t> {
        let n = rows.len();
        let mut parent = vec![None; n];
        // The rows come depth first, siblings by start: the stack holds the
        // current row's ancestors.
        let mut stack: Vec<usize> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            stack.truncate(row.depth);
            parent[i] = stack.last().copied().filter(|_| row.depth > 0);
            stack.push(i);
        }
        let duration: Vec<u64> = rows.iter().map(|r| span_duration(r.span)).collect();
        let mut covered = vec![0u64; n];
        let mut clipped_sum = vec![0u64; n];
        let mut outside = vec![0u64; n];
        // Per parent, the end of the union so far: children come by start,
        // so the union grows from the left (clipped starts keep the order).
        let mut reach: Vec<u64> = rows.iter().map(|r| r.span.start_unix_nano).collect();
        for i in 0..n {
            let Some(p) = parent[i] else { continue };
            let (p_start, p_end) = bounds(rows[p].span);
            let (start, end) = bounds(rows[i].span);
            let (start, end) = (start.max(p_start), end.min(p_end));
            let length = end.saturating_sub(start);
            outside[i] = duration[i] - length;
            if length == 0 {
                continue;
            }
            clipped_sum[p] += length;
            let from = start.max(reach[p]);
            if end > from {
                covered[p] += end - from;
                reach[p] = end;
            }
        }
        let self_time = (0..n).map(|i| duration[i] - covered[i]).collect();
        let parallel = (0..n).map(|i| clipped_sum[i] - covered[i]).collect();
        Timed {
            rows,
            parent,
            duration,
            self_time,
            parallel,
            outside,
        }
    }
}

fn bounds(span: &Span) -> (u64, u64) {
    (
        span.start_unix_nano,
        span.end_unix_nano.max(span.start_unix_nano),
    )
}

fn span_duration(span: &Span) -> u64 {
    span.end_unix_nano.saturating_sub(span.start_unix_nano)
}

/// The statistics, flame graph and sentence of `trace`.
pub fn trace_stats(trace: &Trace) -> TraceStats {
    let rows = trace.tree();
    let (start, end) = trace.bounds();
    let duration_nanos = end - start;
    let root = trace.root();
    let timed = Timed::of(rows);
    let root_row = root.and_then(|r| {
        timed
            .rows
            .iter()
            .position(|row| row.span.span_id == r.span_id)
    });
    let (mut tree_self_nanos, mut parallel_nanos, mut outside_nanos) = (0, 0, 0);
    if let Some(r) = root_row {
        // The root's tree: its row and the deeper rows after it.
        let last = timed.rows[r + 1..]
            .iter()
            .position(|row| row.depth == 0)
            .map_or(timed.rows.len(), |k| r + 1 + k);
        for i in r..last {
            tree_self_nanos += timed.self_time[i];
            parallel_nanos += timed.parallel[i];
            if i != r {
                outside_nanos += timed.outside[i];
            }
        }
    }
    let services = group(&timed, duration_nanos, |span| {
        (span.service_name.as_str(), None)
    });
    let operations = group(&timed, duration_nanos, |span| {
        (span.service_name.as_str(), Some(span.name.as_str()))
    });
    let flame = flame(&timed);
    let summary = summary_of(trace, &timed, root_row, duration_nanos);
    TraceStats {
        duration_nanos,
        root_span_id: root.map(|r| r.span_id.clone()),
        root_duration_nanos: root.map_or(0, span_duration),
        tree_self_nanos,
        parallel_nanos,
        outside_nanos,
        services,
        operations,
        flame,
        summary,
    }
}

/// The rows grouped by `key`, most self time first (then by name).
fn group<'t>(
    timed: &Timed<'t>,
    trace_nanos: u64,
    key: impl Fn(&'t Span) -> (&'t str, Option<&'t str>),
) -> Vec<StatsRow> {
    let mut rows: Vec<StatsRow> = Vec::new();
    let mut index: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, row) in timed.rows.iter().enumerate() {
        let k = key(row.span);
        let at = *index.entry(k).or_insert_with(|| {
            rows.push(StatsRow {
                service: k.0.to_owned(),
                name: k.1.map(str::to_owned),
                count: 0,
                total_nanos: 0,
                self_nanos: 0,
                min_nanos: u64::MAX,
                avg_nanos: 0,
                max_nanos: 0,
                share: 0.0,
            });
            rows.len() - 1
        });
        let stats = &mut rows[at];
        let d = timed.duration[i];
        stats.count += 1;
        stats.total_nanos = stats.total_nanos.saturating_add(d);
        stats.self_nanos = stats.self_nanos.saturating_add(timed.self_time[i]);
        stats.min_nanos = stats.min_nanos.min(d);
        stats.max_nanos = stats.max_nanos.max(d);
    }
    for stats in &mut rows {
        stats.avg_nanos = stats.total_nanos / stats.count.max(1) as u64;
        stats.share = stats.self_nanos as f64 / trace_nanos.max(1) as f64;
    }
    rows.sort_by(|a, b| {
        b.self_nanos
            .cmp(&a.self_nanos)
            .then_with(|| (&a.service, &a.name).cmp(&(&b.service, &b.name)))
    });
    rows
}

/// The frames of the flame graph: spans merged by stack.
fn flame(timed: &Timed<'_>) -> Vec<FlameFrame> {
    let mut frames: Vec<FlameFrame> = Vec::new();
    // (parent frame, service, name) -> frame
    let mut index: HashMap<(Option<usize>, &str, &str), usize> = HashMap::new();
    let mut frame_of = vec![0usize; timed.rows.len()];
    let mut longest = Vec::new();
    for (i, row) in timed.rows.iter().enumerate() {
        let span = row.span;
        let parent = timed.parent[i].map(|p| frame_of[p]);
        let key = (parent, span.service_name.as_str(), span.name.as_str());
        let f = *index.entry(key).or_insert_with(|| {
            frames.push(FlameFrame {
                parent,
                depth: row.depth,
                service: span.service_name.clone(),
                name: span.name.clone(),
                count: 0,
                total_nanos: 0,
                self_nanos: 0,
                span_id: span.span_id.clone(),
            });
            longest.push(0);
            frames.len() - 1
        });
        frame_of[i] = f;
        let frame = &mut frames[f];
        frame.count += 1;
        frame.total_nanos = frame.total_nanos.saturating_add(timed.duration[i]);
        frame.self_nanos = frame.self_nanos.saturating_add(timed.self_time[i]);
        if timed.duration[i] > longest[f] {
            longest[f] = timed.duration[i];
            frame.span_id = span.span_id.clone();
        }
    }
    frames
}

/// Critical-path time per row: its own stretches, and its tree's.
struct OnPath {
    own: Vec<u64>,
    tree: Vec<u64>,
}

impl OnPath {
    fn of(trace: &Trace, timed: &Timed<'_>) -> OnPath {
        let n = timed.rows.len();
        let index: HashMap<&str, usize> = timed
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.span.span_id.as_str(), i))
            .collect();
        let mut own = vec![0u64; n];
        for section in critical_path_in(trace, timed.rows.clone()) {
            if let Some(&i) = index.get(section.span_id.as_str()) {
                own[i] += section.end_unix_nano - section.start_unix_nano;
            }
        }
        let mut tree = own.clone();
        // Children come after their parents: add up from the last row.
        for i in (0..n).rev() {
            if let Some(p) = timed.parent[i] {
                tree[p] += tree[i];
            }
        }
        OnPath { own, tree }
    }
}

/// Why the trace took as long as it did, as parts of one sentence: its
/// duration; from the root, down the critical path while one child holds
/// more than half of it, the span where that stops and where its time
/// went (its own work, waiting with no child running, or its largest
/// children); then the spans that failed. Each span named is a part with
/// its id.
fn summary_of(
    trace: &Trace,
    timed: &Timed<'_>,
    root: Option<usize>,
    duration_nanos: u64,
) -> Vec<Part> {
    let mut s = Sentence::default();
    let Some(root) = root else {
        s.text("No spans.");
        return s.parts;
    };
    let path = OnPath::of(trace, timed);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); timed.rows.len()];
    for (i, p) in timed.parent.iter().enumerate() {
        if let Some(p) = *p
            && path.tree[i] > 0
        {
            children[p].push(i);
        }
    }
    for kids in &mut children {
        kids.sort_by(|a, b| path.tree[*b].cmp(&path.tree[*a]));
    }
    let total = path.tree[root].max(1);
    s.text(&format!("{} in all", text::duration(duration_nanos)));
    let mut focus = root;
    while let Some(&child) = children[focus].first() {
        if path.tree[child] * 2 <= total {
            break;
        }
        focus = child;
    }
    let own = path.own[focus];
    let kids = &children[focus];
    if focus != root {
        s.text(&format!("; {} of it is ", text::duration(path.tree[focus])));
        s.span(timed.rows[focus].span);
        if own * 2 >= path.tree[focus] || kids.is_empty() {
            s.text(&format!(", of which {} is ", text::duration(own)));
            s.own_time(timed.rows[focus].span, !kids.is_empty());
            if let Some(&kid) = kids.first() {
                s.text(&format!(", and {} is ", text::duration(path.tree[kid])));
                s.span(timed.rows[kid].span);
            }
        } else {
            s.text(", most of it in ");
            s.biggest(timed, &path, kids);
            if own * 10 >= path.tree[focus] {
                s.text(&format!("; {} is ", text::duration(own)));
                s.own_time(timed.rows[focus].span, true);
            }
        }
    } else if kids.is_empty() || own * 2 >= total {
        s.text(&format!("; {} of it ", text::duration(own)));
        s.owner(timed.rows[root].span, !kids.is_empty());
        if let Some(&kid) = kids.first() {
            s.text(&format!(", and {} is ", text::duration(path.tree[kid])));
            s.span(timed.rows[kid].span);
        }
    } else {
        s.text("; spread over ");
        s.biggest(timed, &path, kids);
        if own * 10 >= total {
            s.text(&format!("; {} ", text::duration(own)));
            s.owner(timed.rows[root].span, true);
        }
    }
    s.text(".");
    // Of the spans that failed, the deepest (the first of them in the
    // tree's order): where the failure began, usually.
    let failed = timed.rows.iter().filter(|r| r.span.is_error());
    let count = failed.clone().count();
    if let Some(first) =
        failed.max_by(|a, b| a.depth.cmp(&b.depth).then(std::cmp::Ordering::Greater))
    {
        let first = first.span;
        s.text(" ");
        if count == 1 {
            s.span(first);
            s.text(" failed");
        } else {
            s.text(&format!("{count} spans failed, the deepest "));
            s.span(first);
        }
        let message = text::one_line(&first.status_message, 100);
        if !message.is_empty() {
            s.text(&format!(": {message}"));
        }
        if !message.ends_with(['.', '…']) {
            s.text(".");
        }
    }
    s.parts
}

#[derive(Default)]
struct Sentence {
    parts: Vec<Part>,
}

impl Sentence {
    fn text(&mut self, text: &str) {
        match self.parts.last_mut() {
            Some(last) if last.span_id.is_none() => last.text.push_str(text),
            _ => self.parts.push(Part {
                text: text.to_owned(),
                span_id: None,
            }),
        }
    }

    /// `name` (a link to the span) `on service`.
    fn span(&mut self, span: &Span) {
        self.parts.push(Part {
            text: span.name.clone(),
            span_id: Some(span.span_id.clone()),
        });
        if !span.service_name.is_empty() {
            self.text(&format!(" on {}", span.service_name));
        }
    }

    /// What a span's own time on the path is: a client's is waiting for the
    /// answer; another's, its own work.
    fn own_time(&mut self, span: &Span, has_children: bool) {
        let what = match span.kind {
            SpanKind::Client | SpanKind::Producer => {
                "waiting with no child span running (the connection, the network, the other side \
                 before its span began)"
            }
            _ if has_children => "its own work, not its children's",
            _ => "its own work",
        };
        self.text(what);
    }

    /// `is the own work of span` (or `is waiting in span`, a client).
    fn owner(&mut self, span: &Span, has_children: bool) {
        match span.kind {
            SpanKind::Client | SpanKind::Producer => {
                self.text("is waiting in ");
                self.span(span);
                self.text(" with no child span running");
            }
            _ => {
                self.text("is the own work of ");
                self.span(span);
                if has_children {
                    self.text(", not its children's");
                }
            }
        }
    }

    /// The one or two largest of `kids`, with their time on the path.
    fn biggest(&mut self, timed: &Timed<'_>, path: &OnPath, kids: &[usize]) {
        for (n, &kid) in kids.iter().take(2).enumerate() {
            let span = timed.rows[kid].span;
            if n == 1 {
                if path.tree[kid] * 5 < path.tree[kids[0]] {
                    break;
                }
                let first = timed.rows[kids[0]].span;
                if (&first.name, &first.service_name) == (&span.name, &span.service_name) {
                    // Not the same words twice: "GetUser on svc (554 µs)
                    // and another GetUser (145 µs)".
                    self.text(" and another ");
                    self.parts.push(Part {
                        text: span.name.clone(),
                        span_id: Some(span.span_id.clone()),
                    });
                    self.text(&format!(" ({})", text::duration(path.tree[kid])));
                    break;
                }
                self.text(" and ");
            }
            self.span(span);
            self.text(&format!(" ({})", text::duration(path.tree[kid])));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{span, trace};

    fn op<'s>(stats: &'s TraceStats, name: &str) -> &'s StatsRow {
        stats
            .operations
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .unwrap()
    }

    #[test]
    fn self_time_is_what_no_child_covers_and_overlaps_count_once() {
        // root 0..100; a 10..40 and b 30..60 overlap (10..60 covered once).
        let t = trace(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 40),
            span("b", Some("root"), 30, 60),
        ]);
        let stats = trace_stats(&t);
        assert_eq!(op(&stats, "root").self_nanos, 50);
        assert_eq!(op(&stats, "a").self_nanos, 30);
        assert_eq!(stats.parallel_nanos, 10);
        assert_eq!(stats.tree_self_nanos, 100 + 10);
        assert_eq!(stats.outside_nanos, 0);
    }

    #[test]
    fn sequential_children_add_up_to_the_roots_duration() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 40),
            span("b", Some("root"), 40, 90),
            span("c", Some("b"), 50, 60),
            span("c2", Some("b"), 55, 60),
        ]);
        let stats = trace_stats(&t);
        let sum: u64 = stats.operations.iter().map(|r| r.self_nanos).sum();
        assert_eq!(
            sum - stats.parallel_nanos,
            stats.root_duration_nanos,
            "{stats:#?}"
        );
        assert_eq!(op(&stats, "b").self_nanos, 40);
        assert_eq!(stats.services[0].count, 5);
        assert_eq!(stats.services[0].total_nanos, 100 + 30 + 50 + 10 + 5);
    }

    #[test]
    fn a_child_outside_its_parent_covers_only_what_it_shares() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("late", Some("root"), 80, 130),
            span("away", Some("root"), 200, 210),
        ]);
        let stats = trace_stats(&t);
        assert_eq!(op(&stats, "root").self_nanos, 80);
        assert_eq!(op(&stats, "late").self_nanos, 50);
        assert_eq!(stats.outside_nanos, 30 + 10);
        assert_eq!(
            stats.tree_self_nanos,
            stats.root_duration_nanos + stats.parallel_nanos + stats.outside_nanos
        );
        assert_eq!(stats.duration_nanos, 210);
    }

    #[test]
    fn a_span_whose_parent_is_missing_is_a_root_of_its_own_outside_the_sum() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 0, 100),
            span("orphan", Some("gone"), 20, 50),
            span("kid", Some("orphan"), 20, 30),
        ]);
        let stats = trace_stats(&t);
        assert_eq!(op(&stats, "orphan").self_nanos, 20);
        assert_eq!(op(&stats, "root").self_nanos, 0);
        assert_eq!(stats.tree_self_nanos, 100);
        assert_eq!(stats.root_span_id.as_deref(), Some("root"));
        // Its frame is a root frame of its own.
        let orphan = stats.flame.iter().find(|f| f.name == "orphan").unwrap();
        assert_eq!((orphan.parent, orphan.depth), (None, 0));
    }

    #[test]
    fn zero_length_spans_count_and_take_no_time() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("z", Some("root"), 50, 50),
            span("z2", Some("root"), 60, 60),
            span("backwards", Some("root"), 70, 65),
        ]);
        let mut t = t;
        t.spans[2].name = "z".into();
        let stats = trace_stats(&t);
        let z = op(&stats, "z");
        assert_eq!(
            (z.count, z.total_nanos, z.self_nanos, z.min_nanos),
            (2, 0, 0, 0)
        );
        assert_eq!(op(&stats, "root").self_nanos, 100);
        assert_eq!(stats.tree_self_nanos, 100);
    }

    #[test]
    fn the_flame_graph_merges_spans_of_one_stack() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("get", Some("root"), 0, 30),
            span("info", Some("get"), 0, 10),
            span("get2", Some("root"), 40, 90),
            span("info2", Some("get2"), 40, 80),
        ]);
        let mut t = t;
        t.spans[3].name = "get".into();
        t.spans[4].name = "info".into();
        let stats = trace_stats(&t);
        let names: Vec<(&str, usize, usize)> = stats
            .flame
            .iter()
            .map(|f| (f.name.as_str(), f.depth, f.count))
            .collect();
        assert_eq!(names, [("root", 0, 1), ("get", 1, 2), ("info", 2, 2)]);
        assert_eq!(stats.flame[1].total_nanos, 80);
        assert_eq!(stats.flame[1].self_nanos, 30);
        assert_eq!(stats.flame[1].span_id, "get2", "the longest span");
        assert_eq!(stats.flame[2].parent, Some(1));
    }

    #[test]
    fn the_sentence_names_the_span_that_holds_the_critical_path() {
        // client 10..90 under root; server 20..85 in it; handler 30..40.
        let mut t = trace(vec![
            span("root", None, 0, 100),
            span("client", Some("root"), 10, 90),
            span("server", Some("client"), 20, 85),
            span("handler", Some("server"), 30, 40),
        ]);
        t.spans[1].kind = SpanKind::Client;
        t.spans[3].status_code = crate::model::StatusCode::Error;
        t.spans[3].status_message = "boom\x1b[2J".into();
        let stats = trace_stats(&t);
        assert_eq!(
            plain(&stats.summary),
            "100 ns in all; 65 ns of it is server on svc, of which 55 ns is its own work, \
             not its children's, and 10 ns is handler on svc. handler on svc failed: boom\\u{1b}[2J."
        );
        let linked: Vec<&str> = stats
            .summary
            .iter()
            .filter_map(|p| p.span_id.as_deref())
            .collect();
        assert_eq!(linked, ["server", "handler", "handler"]);
    }

    #[test]
    fn the_sentence_of_an_even_spread_names_the_two_largest() {
        let t = trace(vec![
            span("main", None, 0, 100),
            span("a", Some("main"), 5, 45),
            span("b", Some("main"), 50, 95),
        ]);
        let stats = trace_stats(&t);
        assert_eq!(
            plain(&stats.summary),
            "100 ns in all; spread over b on svc (45 ns) and a on svc (40 ns); \
             15 ns is the own work of main on svc, not its children's."
        );
    }

    #[test]
    fn two_spans_of_one_name_are_not_named_the_same_way_twice() {
        let renamed = |mut s: Span| {
            s.name = "GetUser".into();
            s
        };
        let t = trace(vec![
            span("main", None, 0, 100),
            renamed(span("a", Some("main"), 5, 45)),
            renamed(span("b", Some("main"), 50, 95)),
        ]);
        let stats = trace_stats(&t);
        assert_eq!(
            plain(&stats.summary),
            "100 ns in all; spread over GetUser on svc (45 ns) and another GetUser (40 ns); \
             15 ns is the own work of main on svc, not its children's."
        );
        let linked: Vec<_> = stats
            .summary
            .iter()
            .filter_map(|p| p.span_id.as_deref())
            .collect();
        assert_eq!(linked, ["b", "a", "main"]);
    }

    #[test]
    fn a_large_trace_is_read_in_one_pass() {
        let mut spans = vec![span("root", None, 0, 1_000_000)];
        for i in 0..100_000u64 {
            let parent = if i % 10 == 0 {
                "root".to_owned()
            } else {
                format!("s{}", i - i % 10)
            };
            spans.push(span(&format!("s{i}"), Some(&parent), i * 10, i * 10 + 5));
        }
        let stats = trace_stats(&trace(spans));
        assert_eq!(stats.services[0].count, 100_001);
    }
}
