//! How many flows each shard holds, for whoever watches the run.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Flows each shard holds now: written by the thread that owns the shard,
/// read by any (a progress bar, a metrics endpoint). Each count has a cache
/// line of its own, so shards on different cores never write the same line.
#[derive(Debug)]
pub struct OpenFlows(Box<[CachePadded<AtomicUsize>]>);

impl OpenFlows {
    /// Zeroed counts for `shards` shards.
    pub fn new(shards: usize) -> Self {
        OpenFlows((0..shards).map(|_| CachePadded::default()).collect())
    }

    /// The shards counted.
    pub fn shards(&self) -> usize {
        self.0.len()
    }

    /// Shard `shard` holds `flows` flows.
    #[inline]
    pub fn set(&self, shard: usize, flows: usize) {
        self.0[shard].store(flows, Ordering::Relaxed);
    }

    /// Flows all shards hold.
    pub fn total(&self) -> usize {
        self.0.iter().map(|o| o.load(Ordering::Relaxed)).sum()
    }
}
