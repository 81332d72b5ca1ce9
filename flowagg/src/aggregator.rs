//! Packets, in the order they were read, to flow records: the [`Clock`] and
//! the [`Observer`] see every packet, then a [`Dispatch`] counts the
//! observations — shards on the calling thread ([`LocalShards`]), or
//! channels to shard threads (the binary's `--threads N`).

use capture::{decode::Decoded, RawPacket, Timestamp};

use crate::{
    merge::{merge_closings, shard_of},
    AggConfig, Clock, Closing, FlowRecord, Interval, Observation, ObservationPoints, Observer,
    ObserverStats, Shard, ShardStats,
};

/// Observations per batch: large enough to amortise a hand-off between
/// threads (~100 ns) to well under a nanosecond a packet, small enough to
/// stay in L2.
pub const BATCH: usize = 1024;

/// Where observations go once the clock and the observer have seen them.
pub trait Dispatch {
    /// One observation, in packet order, its `late` flag set by the clock.
    fn observation(&mut self, obs: Observation);
    /// Every shard closes the intervals closed at `watermark`.
    fn close(&mut self, watermark: Timestamp);
}

/// Where [`LocalShards`] write records: any `FnMut(&[FlowRecord])`, or a
/// writer that also wants to know when a closing is complete.
pub trait Emit {
    /// Records in output order, a chunk at a time.
    fn emit(&mut self, records: &[FlowRecord]);
    /// A closing is written; `newest` is the newest interval it closed.
    fn closed(&mut self, newest: Option<Interval>) {
        let _ = newest;
    }
}

impl<F: FnMut(&[FlowRecord])> Emit for F {
    fn emit(&mut self, records: &[FlowRecord]) {
        self(records);
    }
}

/// The packet-order half of aggregation, feeding a [`Dispatch`].
#[derive(Debug)]
pub struct Aggregator<D> {
    observer: Observer,
    clock: Clock,
    dispatch: D,
    counted: u64,
}

impl<D: Dispatch> Aggregator<D> {
    /// An aggregator interning observation points into `points`.
    pub fn new(config: &AggConfig, points: ObservationPoints, dispatch: D) -> Self {
        Aggregator {
            observer: Observer::new(config, points),
            clock: Clock::new(config.interval_secs, config.lateness_secs),
            dispatch,
            counted: 0,
        }
    }

    /// One packet read, decoded or not: packet time advances with every
    /// packet read, IP or not (docs/design.md, "Choices the contract leaves
    /// open").
    #[inline]
    pub fn packet(&mut self, packet: &RawPacket<'_>, decoded: Option<&Decoded<'_>>) {
        let tick = self.clock.tick(packet.ts);
        if let Some(decoded) = decoded {
            if let Some(mut obs) = self.observer.observe(packet, decoded) {
                obs.late = tick.late;
                self.counted += 1;
                self.dispatch.observation(obs);
            }
        }
        if tick.closes {
            self.dispatch.close(self.clock.watermark());
        }
    }

    /// Moves packet time on to `now` without a packet (a live capture on a
    /// quiet link); whether intervals closed.
    pub fn advance_to(&mut self, now: Timestamp) -> bool {
        let closes = self.clock.advance_to(now);
        if closes {
            self.dispatch.close(self.clock.watermark());
        }
        closes
    }

    /// Closes every interval: the end of input, or a stop.
    pub fn finish(&mut self) {
        self.clock.advance_to(Timestamp(u64::MAX));
        self.dispatch.close(Timestamp(u64::MAX));
    }

    /// Packets counted (passed on to the dispatch).
    pub fn counted(&self) -> u64 {
        self.counted
    }

    /// What the observer left out or changed.
    pub fn observer_stats(&self) -> ObserverStats {
        self.observer.stats()
    }

    /// Intervals closed by packet time so far.
    pub fn intervals_closed(&self) -> u64 {
        self.clock.intervals_closed()
    }

    /// The dispatch.
    pub fn dispatch(&self) -> &D {
        &self.dispatch
    }

    /// The dispatch, when the run is over.
    pub fn into_dispatch(self) -> D {
        self.dispatch
    }

    /// The dispatch, to act on it between packets.
    pub fn dispatch_mut(&mut self) -> &mut D {
        &mut self.dispatch
    }
}

/// Shards on the calling thread: what closes (and what the flow budget
/// pushes out early) goes to `emit` in output order, a chunk at a time.
/// More than one shard gives the same records; tests and fuzzing use that.
#[derive(Debug)]
pub struct LocalShards<E> {
    shards: Vec<Shard>,
    /// Observations waiting, per shard: counted a batch at a time, so that
    /// the table loads of a batch overlap ([`Shard::push_batch`]).
    batches: Vec<Vec<Observation>>,
    closings: Vec<Closing>,
    points: ObservationPoints,
    emit: E,
}

impl<E: Emit> LocalShards<E> {
    /// `shards` shards (at least one) resolving points through `points`.
    pub fn new(config: &AggConfig, points: &ObservationPoints, shards: usize, emit: E) -> Self {
        let shards = shards.max(1);
        let share = AggConfig {
            max_flows: (config.max_flows / shards).max(1),
            ..config.clone()
        };
        LocalShards {
            shards: (0..shards)
                .map(|_| Shard::new(&share, points.clone()))
                .collect(),
            batches: (0..shards).map(|_| Vec::with_capacity(BATCH)).collect(),
            closings: (0..shards).map(|_| Closing::default()).collect(),
            points: points.clone(),
            emit,
        }
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
        self.shards.iter().map(Shard::open_flows).sum()
    }

    fn push_batch(&mut self, index: usize) {
        let shard = &mut self.shards[index];
        shard.push_batch(&self.batches[index]);
        self.batches[index].clear();
        if let Some(mut partial) = shard.take_partial() {
            partial.sort_unstable_by(FlowRecord::order);
            self.emit.emit(&partial);
        }
    }
}

impl<E: Emit> Dispatch for LocalShards<E> {
    #[inline]
    fn observation(&mut self, obs: Observation) {
        let index = shard_of(obs.hash, self.shards.len());
        self.batches[index].push(obs);
        if self.batches[index].len() == BATCH {
            self.push_batch(index);
        }
    }

    fn close(&mut self, watermark: Timestamp) {
        for index in 0..self.shards.len() {
            self.push_batch(index);
        }
        for (shard, closing) in self.shards.iter_mut().zip(&mut self.closings) {
            shard.close(watermark, closing);
        }
        let newest = self.closings.iter().filter_map(Closing::newest).max();
        let emit = &mut self.emit;
        let written: Result<(), std::convert::Infallible> =
            merge_closings(&mut self.closings, &self.points.snapshot(), |chunk| {
                emit.emit(chunk);
                Ok(())
            });
        let Ok(()) = written;
        self.emit.closed(newest);
    }
}
