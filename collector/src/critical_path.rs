//! The critical path of a trace: the stretches of spans that determine
//! when it ends, in time order. The algorithm is Jaeger UI's
//! (`getCriticalPath`), in three named steps:
//!
//! 1. [`ClippedTree::of`]: the spans under the root, each child's times
//!    clipped to its parent's (one that ends after its parent ends with it,
//!    one that starts before starts with it, one entirely outside is left
//!    out with its descendants), and each span's children sorted by end.
//! 2. [`Walk::last_finishing_child`]: of a span's children not passed over
//!    yet, the one that finishes last, strictly before a point.
//! 3. [`walk_back`]: from the root's end, into the child that finishes last
//!    before the current point, down to a span with no such child, whose
//!    time back to its start is on the path; from that start back up to the
//!    parent, and on.
//!
//! A span whose parent is not in the trace is off the path (unless it is
//! the root), and so is a stretch of no length. Linear in the spans (after
//! sorting each span's children).

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{Trace, TreeRow};

/// A stretch of a span's time on the trace's critical path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CriticalSection {
    pub span_id: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

/// The critical path of `trace`: the stretches of spans that determine
/// when it ends, in time order (empty for a trace with no root).
pub fn critical_path(trace: &Trace) -> Vec<CriticalSection> {
    critical_path_in(trace, trace.tree())
}

/// [`critical_path`] of a trace whose tree a caller has already made
/// (`rows` is `trace.tree()`): a big trace's tree is made once.
pub(crate) fn critical_path_in<'t>(
    trace: &'t Trace,
    rows: Vec<TreeRow<'t>>,
) -> Vec<CriticalSection> {
    match ClippedTree::of(trace, rows) {
        Some(tree) => walk_back(&tree),
        None => Vec::new(),
    }
}

/// Step 1: the spans reachable from the root with their clipped times.
struct ClippedTree<'t> {
    /// The trace's tree order: parents before children.
    rows: Vec<TreeRow<'t>>,
    root: usize,
    /// Each span's times clipped to its parent's; `None`: left out.
    times: Vec<Option<(u64, u64)>>,
    parent: Vec<Option<usize>>,
    /// The children kept, earliest end first.
    children: Vec<Vec<usize>>,
}

impl<'t> ClippedTree<'t> {
    fn of(trace: &'t Trace, rows: Vec<TreeRow<'t>>) -> Option<ClippedTree<'t>> {
        let root = trace.root()?;
        let index: HashMap<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (row.span.span_id.as_str(), i))
            .collect();
        let root = *index.get(root.span_id.as_str())?;
        let mut times: Vec<Option<(u64, u64)>> = Vec::with_capacity(rows.len());
        let mut parent = vec![None; rows.len()];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
        // Parents come before their children, so each parent's clipped
        // times are known when its children are clipped.
        for (i, row) in rows.iter().enumerate() {
            let span = row.span;
            let own = (
                span.start_unix_nano,
                span.end_unix_nano.max(span.start_unix_nano),
            );
            let up = span
                .parent_span_id
                .as_deref()
                .and_then(|p| index.get(p).copied())
                .filter(|_| !row.in_cycle && i != root);
            let clipped = match up {
                None => Some(own),
                Some(p) => times[p].and_then(|parent| clip(own, parent)),
            };
            times.push(clipped);
            if let (Some(p), Some(_)) = (up, clipped) {
                parent[i] = Some(p);
                children[p].push(i);
            }
        }
        let end = |k: &usize| times[*k].map_or(0, |t| t.1);
        for kids in &mut children {
            kids.sort_by_key(end);
        }
        Some(ClippedTree {
            rows,
            root,
            times,
            parent,
            children,
        })
    }

    fn end(&self, span: usize) -> u64 {
        self.times[span].map_or(0, |t| t.1)
    }
}

/// A child's times clipped to its parent's, as Jaeger does; `None` when
/// it lies entirely outside them.
fn clip((start, end): (u64, u64), (parent_start, parent_end): (u64, u64)) -> Option<(u64, u64)> {
    if start >= parent_start && end <= parent_end {
        Some((start, end))
    } else if start >= parent_end || end <= parent_start {
        None
    } else {
        Some((start.max(parent_start), end.min(parent_end)))
    }
}

/// Step 2: where the walk stands in each span's children. It only ever
/// moves to earlier children, so each child is looked at once.
struct Walk {
    /// Per span, how many of its children (from the start of the list)
    /// are still to be looked at.
    left: Vec<usize>,
}

impl Walk {
    fn new(tree: &ClippedTree<'_>) -> Walk {
        Walk {
            left: tree.children.iter().map(Vec::len).collect(),
        }
    }

    /// Of `span`'s children not passed over yet, the one that finishes
    /// last and strictly before `before` (any, without a bound); the ones
    /// passed over on the way are not looked at again.
    fn last_finishing_child(
        &mut self,
        tree: &ClippedTree<'_>,
        span: usize,
        before: Option<u64>,
    ) -> Option<usize> {
        let kids = &tree.children[span];
        let left = &mut self.left[span];
        while *left > 0 && before.is_some_and(|b| tree.end(kids[*left - 1]) >= b) {
            *left -= 1;
        }
        *left = left.checked_sub(1)?;
        Some(kids[*left])
    }
}

/// Step 3: the walk back from the root's end, as sections in time order.
fn walk_back(tree: &ClippedTree<'_>) -> Vec<CriticalSection> {
    let mut walk = Walk::new(tree);
    let mut sections = Vec::new();
    let mut current = tree.root;
    // The point the walk came back to `current` from (a child's start);
    // `None`: it came down into `current`, whose end is the point.
    let mut bound: Option<u64> = None;
    // Each span is entered once from its parent and left once to it.
    for _ in 0..=2 * tree.rows.len() {
        let Some((start, end)) = tree.times[current] else {
            break;
        };
        let section_end = bound.unwrap_or(end);
        match walk.last_finishing_child(tree, current, bound) {
            Some(child) => {
                push_section(&mut sections, tree, current, tree.end(child), section_end);
                current = child;
                bound = None;
            }
            None => {
                push_section(&mut sections, tree, current, start, section_end);
                match tree.parent[current] {
                    Some(parent) => {
                        current = parent;
                        bound = Some(start);
                    }
                    None => break,
                }
            }
        }
    }
    sections.reverse();
    sections
}

/// Adds `start..end` of `span` to the sections (which come latest first);
/// nothing for a stretch of no length, and a stretch that meets the last
/// one of the same span (a zero-length child in between) extends it.
fn push_section(
    sections: &mut Vec<CriticalSection>,
    tree: &ClippedTree<'_>,
    span: usize,
    start: u64,
    end: u64,
) {
    if start >= end {
        return;
    }
    let span_id = &tree.rows[span].span.span_id;
    match sections.last_mut() {
        Some(last) if last.span_id == *span_id && last.start_unix_nano == end => {
            last.start_unix_nano = start;
        }
        _ => sections.push(CriticalSection {
            span_id: span_id.clone(),
            start_unix_nano: start,
            end_unix_nano: end,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{span, trace};
    use crate::model::Span;

    #[test]
    fn clipping_keeps_inside_cuts_overflow_and_drops_outside() {
        let parent = (10, 100);
        assert_eq!(clip((20, 30), parent), Some((20, 30)), "inside");
        assert_eq!(clip((50, 150), parent), Some((50, 100)), "ends after");
        assert_eq!(clip((0, 30), parent), Some((10, 30)), "starts before");
        assert_eq!(clip((0, 200), parent), Some((10, 100)), "both");
        assert_eq!(clip((100, 120), parent), None, "after");
        assert_eq!(clip((0, 10), parent), None, "before");
    }

    #[test]
    fn the_clipped_tree_leaves_out_what_lies_outside_with_its_descendants() {
        let t = trace(vec![
            span("root", None, 10, 100),
            span("after", Some("root"), 100, 120),
            span("after1", Some("after"), 105, 110),
            span("b", Some("root"), 20, 90),
            span("a", Some("root"), 15, 40),
        ]);
        let tree = ClippedTree::of(&t, t.tree()).expect("a root");
        let name = |i: usize| tree.rows[i].span.span_id.as_str();
        let kept: Vec<&str> = (0..tree.rows.len())
            .filter(|&i| tree.times[i].is_some())
            .map(name)
            .collect();
        assert_eq!(kept.len(), 3, "{kept:?}");
        assert!(!kept.contains(&"after") && !kept.contains(&"after1"));
        let kids: Vec<&str> = tree.children[tree.root].iter().map(|&k| name(k)).collect();
        assert_eq!(kids, ["a", "b"], "earliest end first");
    }

    #[test]
    fn the_last_finishing_child_is_before_the_point_and_never_looked_at_twice() {
        let t = trace(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 30),
            span("b", Some("root"), 20, 60),
            span("c", Some("root"), 50, 90),
        ]);
        let tree = ClippedTree::of(&t, t.tree()).expect("a root");
        let name = |i: Option<usize>| i.map(|i| tree.rows[i].span.span_id.clone());
        let mut walk = Walk::new(&tree);
        let root = tree.root;
        assert_eq!(
            name(walk.last_finishing_child(&tree, root, None)),
            Some("c".into())
        );
        // Back from c's start (50): b ends at 60, not before; a does.
        assert_eq!(
            name(walk.last_finishing_child(&tree, root, Some(50))),
            Some("a".into())
        );
        assert_eq!(name(walk.last_finishing_child(&tree, root, Some(10))), None);
        assert_eq!(
            name(walk.last_finishing_child(&tree, root, None)),
            None,
            "all passed"
        );
    }

    /// The path as `(span, start, end)`, in time order.
    fn path(spans: Vec<Span>) -> Vec<(String, u64, u64)> {
        critical_path(&trace(spans))
            .into_iter()
            .map(|s| (s.span_id, s.start_unix_nano, s.end_unix_nano))
            .collect()
    }

    fn sections(expected: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
        expected
            .iter()
            .map(|(id, start, end)| ((*id).to_owned(), *start, *end))
            .collect()
    }

    #[test]
    fn sequential_children_are_all_on_the_path() {
        // root 0-100: a 10-40, b 50-90 (b's child b1 60-70).
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 40),
            span("b", Some("root"), 50, 90),
            span("b1", Some("b"), 60, 70),
        ]);
        let want = sections(&[
            ("root", 0, 10),
            ("a", 10, 40),
            ("root", 40, 50),
            ("b", 50, 60),
            ("b1", 60, 70),
            ("b", 70, 90),
            ("root", 90, 100),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn a_child_must_end_before_the_point_the_walk_came_back_from() {
        // As in Jaeger: strictly before. `a` ends the instant `b` starts,
        // so the walk back from `b` passes it over to the root.
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 10, 30),
            span("b", Some("root"), 30, 100),
        ]);
        assert_eq!(got, sections(&[("root", 0, 30), ("b", 30, 100)]));
    }

    #[test]
    fn of_overlapping_children_the_last_to_finish_wins() {
        // a 10-80 and b 20-60 overlap; a ends last, and b ends after a
        // starts, so b is not on the path at all.
        let got = path(vec![
            span("root", None, 0, 100),
            span("b", Some("root"), 20, 60),
            span("a", Some("root"), 10, 80),
        ]);
        assert_eq!(
            got,
            sections(&[("root", 0, 10), ("a", 10, 80), ("root", 80, 100)])
        );
    }

    #[test]
    fn a_child_ending_after_its_parent_is_clipped_to_it() {
        // The child runs on past its parent's end (an async task): it is
        // on the path up to the parent's end only.
        let got = path(vec![
            span("root", None, 0, 100),
            span("late", Some("root"), 50, 150),
            span("late1", Some("late"), 120, 140),
        ]);
        assert_eq!(got, sections(&[("root", 0, 50), ("late", 50, 100)]));
    }

    #[test]
    fn children_outside_their_parent_or_starting_before_it() {
        let got = path(vec![
            span("root", None, 10, 100),
            // Entirely after the root: left out, with its child.
            span("after", Some("root"), 100, 120),
            span("after1", Some("after"), 105, 110),
            // Starts before the root: clipped to start with it.
            span("early", Some("root"), 0, 30),
        ]);
        assert_eq!(got, sections(&[("early", 10, 30), ("root", 30, 100)]));
    }

    #[test]
    fn spans_with_a_missing_parent_are_off_the_path_and_nothing_loops() {
        let got = path(vec![
            span("root", None, 0, 100),
            span("orphan", Some("elsewhere"), 0, 200),
            span("a", Some("root"), 20, 30),
        ]);
        assert_eq!(
            got,
            sections(&[("root", 0, 20), ("a", 20, 30), ("root", 30, 100)])
        );
        // No true root: the earliest span whose parent is missing is.
        let got = path(vec![
            span("x", Some("gone"), 5, 50),
            span("x1", Some("x"), 10, 20),
        ]);
        assert_eq!(
            got,
            sections(&[("x", 5, 10), ("x1", 10, 20), ("x", 20, 50)])
        );
        // A parent cycle (hand-made input) has no root, and no path.
        let got = path(vec![
            span("p", Some("q"), 0, 10),
            span("q", Some("p"), 0, 10),
        ]);
        assert!(got.is_empty());
        assert!(path(vec![]).is_empty());
    }

    #[test]
    fn zero_length_stretches_are_left_out() {
        // The child ends exactly at the root's end, and a zero-length
        // child leaves nothing of itself.
        let got = path(vec![
            span("root", None, 0, 100),
            span("a", Some("root"), 40, 100),
            span("blip", Some("root"), 20, 20),
        ]);
        assert_eq!(got, sections(&[("root", 0, 40), ("a", 40, 100)]));
    }
}
