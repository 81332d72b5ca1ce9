//! Joining the sorted outputs of several shards into the one order of the
//! record contract (docs/record.md, "Files and runs": interval start, then
//! observation point, then key).

use std::cmp::Ordering;

use capture::Timestamp;

use crate::{
    entry::{Entry, WideEntry},
    shard::Closing,
    FlowRecord, ObservationPoint,
};

/// The shard a flow belongs to among `shards`: taken from bits 32–56 of the
/// key hash, which the flow table's slot (low bits) does not use, so each
/// shard's table still sees well-spread slots. The table's tag (the top of
/// the upper half) shares at most log2(`shards`) constant bits with it.
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

#[cfg(test)]
mod tests {
    use capture::Timestamp;
    use foldhash::fast::FixedState;

    use super::*;
    use crate::{
        key::{KeyShape, PortKind},
        observation::Interner,
        AggConfig, FlowKey, Observation, ObservationPoints, Shard,
    };

    fn observation(obs: crate::ObsId, port: u16, ts: u64) -> Observation {
        let key = FlowKey {
            obs,
            shape: KeyShape::new(false, PortKind::Ports),
            src: [9; 16],
            dst: [1; 16],
            proto: 17,
            src_port: port,
            dst_port: 53,
        };
        Observation {
            key,
            hash: key.hash(&FixedState::with_seed(0)),
            ts: Timestamp(ts),
            ip_len: 100,
            payload_len: 72,
            tcp_flags: 0,
            late: false,
        }
    }

    #[test]
    fn shards_merge_by_observation_point_not_by_interned_id() {
        // Interface 7 is met first (id 0), interface 2 second (id 1): the
        // output puts interface 2 first, as the spec orders by the point.
        let points = ObservationPoints::default();
        let mut interner = Interner::new(points.clone());
        let point = |interface| ObservationPoint {
            interface,
            ..ObservationPoint::default()
        };
        let late_met = interner.intern(point(7)).unwrap();
        let early = interner.intern(point(2)).unwrap();
        let config = AggConfig::default();
        let mut shards = [
            Shard::new(&config, points.clone()),
            Shard::new(&config, points.clone()),
        ];
        let mut expected = Vec::new();
        for port in 0..50u16 {
            for obs in [late_met, early] {
                let o = observation(obs, port, 1_000 + u64::from(port));
                shards[shard_of(o.hash, 2)].push(&o);
                expected.push((points.resolve(obs).interface, port));
            }
        }
        let mut closings = [Closing::default(), Closing::default()];
        for (shard, closing) in shards.iter_mut().zip(&mut closings) {
            shard.finish(closing);
        }
        assert!(
            closings.iter().all(|c| !c.is_empty()),
            "both shards hold flows"
        );
        let mut out = Vec::new();
        merge_closings_into(&mut closings, &points.snapshot(), &mut out);
        expected.sort_unstable();
        let got: Vec<_> = out
            .iter()
            .map(|r| (r.observation.interface, r.key.src_port))
            .collect();
        assert_eq!(got, expected);
    }
}
