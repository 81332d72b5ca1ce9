//! Shards on the calling thread (`--threads 1`, tests and fuzzing).

use std::sync::Arc;

use capture::Timestamp;

use crate::{
    batches::Batches, closing::emit_closings, shard::shard_config, AggConfig, Closing, Dispatch,
    Emit, Observation, ObservationPoints, OpenFlows, Shard, ShardStats,
};

/// Shards on the calling thread: what closes (and what the flow budget
/// pushes out early) goes to `emit` in output order, a chunk at a time.
/// More than one shard gives the same records; tests and fuzzing use that.
#[derive(Debug)]
pub struct LocalShards<E> {
    shards: Vec<Shard>,
    /// Observations waiting, per shard: counted a batch at a time, so that
    /// the table loads of a batch overlap ([`Shard::push_batch`]).
    batches: Batches,
    closings: Vec<Closing>,
    points: ObservationPoints,
    open_flows: Arc<OpenFlows>,
    emit: E,
}

impl<E: Emit> LocalShards<E> {
    /// `shards` shards (at least one) resolving points through `points`,
    /// their records to `emit`.
    pub fn new(config: &AggConfig, points: &ObservationPoints, shards: usize, emit: E) -> Self {
        let shards = shards.max(1);
        let share = shard_config(config, shards);
        LocalShards {
            shards: (0..shards)
                .map(|_| Shard::new(&share, points.clone()))
                .collect(),
            batches: Batches::new(shards),
            closings: (0..shards).map(|_| Closing::default()).collect(),
            points: points.clone(),
            open_flows: Arc::new(OpenFlows::new(shards)),
            emit,
        }
    }

    /// Publishes the flows each shard holds in `open_flows` (sized for the
    /// shards) instead of counts of its own.
    pub fn publishing(mut self, open_flows: Arc<OpenFlows>) -> Self {
        assert_eq!(open_flows.shards(), self.shards.len(), "a count per shard");
        self.open_flows = open_flows;
        self
    }

    /// What the shards did, summed.
    pub fn stats(&self) -> ShardStats {
        self.shards.iter().map(Shard::stats).sum()
    }

    /// Where the records go.
    pub fn emitter(&self) -> &E {
        &self.emit
    }

    /// Where the records went, when the run is over.
    pub fn into_emitter(self) -> E {
        self.emit
    }

    /// Flows held now.
    pub fn open_flows(&self) -> usize {
        self.open_flows.total()
    }

    fn push_batch(&mut self, index: usize) {
        let shard = &mut self.shards[index];
        let batch = self.batches.get_mut(index);
        shard.push_batch(batch);
        batch.clear();
        self.open_flows.set(index, shard.open_flows());
        if let Some(partial) = shard.take_partial() {
            self.emit.emit(&partial);
        }
    }
}

impl<E: Emit> Dispatch for LocalShards<E> {
    #[inline]
    fn observation(&mut self, obs: Observation) {
        if let Some(full) = self.batches.push(obs) {
            self.push_batch(full);
        }
    }

    fn close(&mut self, watermark: Timestamp) {
        self.flush();
        for (index, (shard, closing)) in self.shards.iter_mut().zip(&mut self.closings).enumerate()
        {
            shard.close(watermark, closing);
            self.open_flows.set(index, shard.open_flows());
        }
        emit_closings(&mut self.closings, &self.points, &mut self.emit);
    }

    fn flush(&mut self) {
        for index in 0..self.batches.len() {
            self.push_batch(index);
        }
    }

    fn stopped(&self) -> bool {
        self.emit.failed()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::{
        key::{KeyShape, PortKind},
        observation::Interner,
        FlowKey, FlowRecord, ObservationPoint,
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
        Observation::of(key, ts, 100, 72)
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
        let mut out = Vec::new();
        let mut shards = LocalShards::new(
            &AggConfig::default(),
            &points,
            2,
            |records: &[FlowRecord]| out.extend_from_slice(records),
        );
        let mut expected = Vec::new();
        for port in 0..50u16 {
            for obs in [late_met, early] {
                shards.observation(observation(obs, port, 1_000 + u64::from(port)));
                expected.push((points.resolve(obs).interface, port));
            }
        }
        shards.close(Timestamp(u64::MAX));
        drop(shards);
        expected.sort_unstable();
        let got: Vec<_> = out
            .iter()
            .map(|r| (r.observation.interface, r.key.src_port))
            .collect();
        assert_eq!(got, expected);
    }
}
