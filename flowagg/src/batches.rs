//! Observations waiting for their shard, a batch per shard.

use crate::{shard::shard_of, Observation};

/// Observations per batch: large enough to amortise a hand-off between
/// threads (~100 ns) to well under a nanosecond a packet, and for a shard to
/// overlap the table loads of a batch ([`crate::Shard::push_batch`]); small
/// enough to stay in L2.
pub const BATCH: usize = 1024;

/// One batch per shard, each flow's observations in the batch of the shard
/// its key hash names.
#[derive(Debug)]
pub(crate) struct Batches(Vec<Vec<Observation>>);

impl Batches {
    /// Empty batches for `shards` shards.
    pub(crate) fn new(shards: usize) -> Self {
        Batches((0..shards).map(|_| Vec::with_capacity(BATCH)).collect())
    }

    /// Adds `obs` to its shard's batch; returns the shard when that batch
    /// is full.
    #[inline]
    pub(crate) fn push(&mut self, obs: Observation) -> Option<usize> {
        let shard = shard_of(obs.hash, self.0.len());
        let batch = &mut self.0[shard];
        batch.push(obs);
        (batch.len() == BATCH).then_some(shard)
    }

    /// Shard `shard`'s batch.
    pub(crate) fn get_mut(&mut self, shard: usize) -> &mut Vec<Observation> {
        &mut self.0[shard]
    }

    /// The shards.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
