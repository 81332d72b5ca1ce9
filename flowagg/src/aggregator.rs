//! Packets, in the order they were read, to flow records: the [`Clock`] and
//! the [`Observer`] see every packet, then a [`Dispatch`] counts the
//! observations in shards — on the calling thread ([`crate::LocalShards`]),
//! or on threads of their own ([`crate::run_threaded`]) — whose records go
//! to an [`Emit`]. Both give the same records in the same order.

use capture::{decode::Decoded, RawPacket, Timestamp};

use crate::{
    AggConfig, Clock, FlowRecord, Interval, Observation, ObservationPoints, Observer, ObserverStats,
};

/// Where observations go once the clock and the observer have seen them.
pub trait Dispatch {
    /// One observation, in packet order, its `late` flag set by the clock.
    fn observation(&mut self, obs: Observation);
    /// Every shard closes the intervals closed at `watermark`.
    fn close(&mut self, watermark: Timestamp);
    /// Hands on the observations waiting for a full batch: a live capture
    /// on a quiet link, so that its packets are counted.
    fn flush(&mut self) {}
    /// The output failed (its [`Emit`] keeps why): reading can stop.
    fn stopped(&self) -> bool {
        false
    }
}

/// Where records go: any `FnMut(&[FlowRecord])`, or a writer that also
/// wants to know when a closing is complete and can fail.
pub trait Emit {
    /// Records in output order, a chunk at a time.
    fn emit(&mut self, records: &[FlowRecord]);
    /// A closing is written; `newest` is the newest interval it closed.
    fn closed(&mut self, newest: Option<Interval>) {
        let _ = newest;
    }
    /// Nothing came to write for a while (shards on threads): a live
    /// output flushes what it holds.
    fn idle(&mut self) {}
    /// A write failed: nothing more is written, and aggregation stops.
    fn failed(&self) -> bool {
        false
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
                self.counted += u64::from(obs.counted);
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
