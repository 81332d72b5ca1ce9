//! Joining the sorted outputs of several shards into the one order of the
//! spec (flow-record.md §5: interval start, then observation point, then key).

use crate::FlowRecord;

/// The shard a flow belongs to among `shards`: taken from bits 32–56 of the
/// key hash, which neither the flow table's slot (low bits) nor its tag (top
/// 7 bits) uses, so each shard's table still sees well-spread hashes.
#[inline]
pub fn shard_of(hash: u64, shards: usize) -> usize {
    let bits = (hash >> 32) & 0x1ff_ffff;
    ((bits * shards as u64) >> 25) as usize
}

/// Appends the records of `parts`, each sorted by [`FlowRecord::order`], to
/// `out` in that order. Shards own disjoint flows, so no two parts hold the
/// same record and the result is what one shard would have written.
pub fn merge_into(parts: &mut [Vec<FlowRecord>], out: &mut Vec<FlowRecord>) {
    out.reserve(parts.iter().map(Vec::len).sum());
    let mut heads = vec![0usize; parts.len()];
    loop {
        // Few shards (≤ cores): a scan of the heads beats a heap.
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
