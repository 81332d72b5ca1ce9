//! What shards hand over when intervals close ([`Closing`]), and how the
//! closings of several shards become records in the one order of the record
//! contract (docs/record.md, "Files and runs": interval start, then
//! observation point, then key).

use std::cmp::Ordering;

use capture::Timestamp;

use crate::{
    entry::{Entry, Keyed, WideEntry},
    table::Flows,
    Emit, FlowRecord, Interval, ObservationPoint, ObservationPoints,
};

/// The flows of one closed interval, in arrival order: [`merge_closings`]
/// sorts them on the writer's side, so that a shard goes back to counting
/// at once instead of stalling the reader for the length of a sort.
#[derive(Debug)]
pub struct ClosedInterval {
    pub(crate) interval: Interval,
    pub(crate) flows: Flows,
}

/// What a shard hands over when intervals close: [`merge_closings`] turns the
/// closings of all shards into records in the spec's order.
#[derive(Debug, Default)]
pub struct Closing {
    /// Closed intervals, oldest first, none empty ([`merge_closings`]
    /// reads the first flow of each).
    pub(crate) intervals: Vec<ClosedInterval>,
    /// Late records, sorted by [`FlowRecord::order`].
    pub(crate) late: Vec<FlowRecord>,
    /// Memory of tables already written, back for reuse: a closing handed
    /// to the same shard again returns it.
    pub(crate) spare: Vec<Flows>,
}

impl Closing {
    /// Records it holds.
    pub fn len(&self) -> usize {
        self.intervals.iter().map(|i| i.flows.len()).sum::<usize>() + self.late.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest interval closed (not counting late records).
    pub fn newest(&self) -> Option<Interval> {
        self.intervals.last().map(|i| i.interval)
    }
}

/// Records handed to the writer at a time: a closing's records are built
/// and written a chunk at a time, never all at once.
pub const CHUNK: usize = 4096;

/// Turns the closings of all shards (each from the same
/// [`crate::Shard::close`] call) into records in the spec's order and hands
/// them to `emit` a chunk at a time: first the closed intervals, then the
/// late records. Shards own disjoint flows, so no two shards hold the same
/// record and the result is what one shard would have written. `points`
/// must be a snapshot taken after the closings were made. Leaves the
/// closings empty but for the tables' memory, which the next
/// [`crate::Shard::close`] given the same closing takes back.
pub fn merge_closings<E>(
    parts: &mut [Closing],
    points: &[ObservationPoint],
    mut emit: impl FnMut(&[FlowRecord]) -> Result<(), E>,
) -> Result<(), E> {
    for part in parts.iter_mut() {
        for closed in &mut part.intervals {
            sort_flows(&mut closed.flows.v4, points);
            sort_flows(&mut closed.flows.wide, points);
        }
    }
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut cursors = vec![Cursor::default(); parts.len()];
    let mut heads: Vec<Option<FlowRecord>> = parts
        .iter()
        .zip(&mut cursors)
        .map(|(part, cursor)| cursor.next(part, points))
        .collect();
    loop {
        // Few shards (≤ cores): a scan of the heads beats a heap.
        let best = heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| head.as_ref().map(|r| (i, r)))
            .min_by(|a, b| a.1.order(b.1));
        let Some((i, &record)) = best else {
            break;
        };
        chunk.push(record);
        heads[i] = cursors[i].next(&parts[i], points);
        if chunk.len() == CHUNK {
            emit(&chunk)?;
            chunk.clear();
        }
    }
    let mut lates: Vec<Vec<FlowRecord>> = parts
        .iter_mut()
        .map(|p| std::mem::take(&mut p.late))
        .collect();
    for part in parts.iter_mut() {
        for closed in part.intervals.drain(..) {
            part.spare.push(closed.flows);
        }
    }
    merge_into(&mut lates, &mut chunk);
    if !chunk.is_empty() {
        emit(&chunk)?;
    }
    Ok(())
}

/// [`merge_closings`] to `emit`, then [`Emit::closed`]; stops at the
/// first failed write. Whether everything was written.
pub(crate) fn emit_closings<E: Emit>(
    parts: &mut [Closing],
    points: &ObservationPoints,
    emit: &mut E,
) -> bool {
    let newest = parts.iter().filter_map(Closing::newest).max();
    let written = merge_closings(parts, &points.snapshot(), |chunk| {
        emit.emit(chunk);
        if emit.failed() {
            Err(())
        } else {
            Ok(())
        }
    });
    if written.is_ok() {
        emit.closed(newest);
    }
    written.is_ok()
}

/// [`merge_closings`] into a vector (tests, fuzzing, small runs).
pub fn merge_closings_into(
    parts: &mut [Closing],
    points: &[ObservationPoint],
    out: &mut Vec<FlowRecord>,
) {
    let appended: Result<(), std::convert::Infallible> = merge_closings(parts, points, |chunk| {
        out.extend_from_slice(chunk);
        Ok(())
    });
    let Ok(()) = appended;
}

/// Where one shard's sorted closing is read.
#[derive(Debug, Default, Clone, Copy)]
struct Cursor {
    interval: usize,
    v4: usize,
    wide: usize,
}

impl Cursor {
    /// The shard's next record in the spec's order: its closed intervals
    /// oldest first, each the merge of its sorted IPv4 and wide entries.
    fn next(&mut self, part: &Closing, points: &[ObservationPoint]) -> Option<FlowRecord> {
        loop {
            let closed = part.intervals.get(self.interval)?;
            let flows = &closed.flows;
            let take_wide = match (flows.v4.get(self.v4), flows.wide.get(self.wide)) {
                (None, None) => {
                    *self = Cursor {
                        interval: self.interval + 1,
                        ..Cursor::default()
                    };
                    continue;
                }
                (Some(_), None) => false,
                (None, Some(_)) => true,
                // Both kinds in one interval (IPv6 next to IPv4): the IPv4
                // key is unpacked to compare, as the kinds share no packed form.
                (Some(v4), Some(wide)) => {
                    order(wide, &WideEntry::of(v4.key(), Timestamp(0)), points).is_lt()
                }
            };
            return Some(if take_wide {
                self.wide += 1;
                flows.wide[self.wide - 1].record(closed.interval, points)
            } else {
                self.v4 += 1;
                flows.v4[self.v4 - 1].record(closed.interval, points)
            });
        }
    }
}

/// Sorts one interval's flows of one kind by (observation point, key), the
/// spec's order within an interval.
fn sort_flows<F: Entry>(flows: &mut [F], points: &[ObservationPoint]) {
    flows.sort_unstable_by(|a, b| order(a, b, points));
}

/// The spec's order between two flows of one interval: observation point,
/// then key. Ids are interned in arrival order, so flows at two points
/// compare by the points themselves.
#[inline]
fn order<F: Entry>(a: &F, b: &F, points: &[ObservationPoint]) -> Ordering {
    if a.obs() == b.obs() {
        a.cmp_at_point(b)
    } else {
        points[usize::from(a.obs().0)].cmp(&points[usize::from(b.obs().0)])
    }
}

/// Appends the records of `parts`, each sorted by [`FlowRecord::order`], to
/// `out` in that order.
pub fn merge_into(parts: &mut [Vec<FlowRecord>], out: &mut Vec<FlowRecord>) {
    out.reserve(parts.iter().map(Vec::len).sum());
    let mut heads = vec![0usize; parts.len()];
    loop {
        let next = parts
            .iter()
            .zip(&heads)
            .enumerate()
            .filter_map(|(i, (part, &at))| part.get(at).map(|r| (i, r)))
            .min_by(|a, b| a.1.order(b.1));
        let Some((i, _)) = next else { break };
        out.push(parts[i][heads[i]]);
        heads[i] += 1;
    }
    for part in parts {
        part.clear();
    }
}
