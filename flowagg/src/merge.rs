//! Joining the sorted outputs of several shards into the one order of the
//! spec (flow-record.md §5: interval start, then observation point, then key).

use std::cmp::Ordering;

use crate::{
    shard::{ClosedInterval, Closing},
    table::Entry,
    FlowRecord, ObservationPoint,
};

/// The shard a flow belongs to among `shards`: taken from bits 32–56 of the
/// key hash, which neither the flow table's slot (low bits) nor its tag (top
/// 7 bits) uses, so each shard's table still sees well-spread hashes.
#[inline]
pub fn shard_of(hash: u64, shards: usize) -> usize {
    let bits = (hash >> 32) & 0x1ff_ffff;
    ((bits * shards as u64) >> 25) as usize
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
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut heads: Vec<(usize, usize)> = vec![(0, 0); parts.len()];
    loop {
        // Few shards (≤ cores): a scan of the heads beats a heap.
        let mut best: Option<(usize, &ClosedInterval, &Entry)> = None;
        for (i, part) in parts.iter().enumerate() {
            let (interval, at) = heads[i];
            let Some(closed) = part.intervals.get(interval) else {
                continue;
            };
            let entry = &closed.flows[at];
            let better = match best {
                None => true,
                Some((_, best_closed, best_entry)) => {
                    order(closed, entry, best_closed, best_entry, points).is_lt()
                }
            };
            if better {
                best = Some((i, closed, entry));
            }
        }
        let Some((i, closed, entry)) = best else {
            break;
        };
        chunk.push(entry.record(closed.interval, points));
        let head = &mut heads[i];
        head.1 += 1;
        if head.1 == closed.flows.len() {
            *head = (head.0 + 1, 0);
            // Closed intervals are never empty, but skip any that are.
            while parts[i]
                .intervals
                .get(head.0)
                .is_some_and(|c| c.flows.is_empty())
            {
                head.0 += 1;
            }
        }
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

/// The spec's order between two flows of closed intervals: interval, then
/// observation point, then key.
#[inline]
fn order(
    a_closed: &ClosedInterval,
    a: &Entry,
    b_closed: &ClosedInterval,
    b: &Entry,
    points: &[ObservationPoint],
) -> Ordering {
    a_closed.interval.cmp(&b_closed.interval).then_with(|| {
        if a.key.obs == b.key.obs {
            a.key.cmp_at_point(&b.key)
        } else {
            points[usize::from(a.key.obs.0)].cmp(&points[usize::from(b.key.obs.0)])
        }
    })
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
