//! A flow table that one thread owns outright, closing intervals on packet time.
//!
//! # Memory
//! One open flow costs about 72 bytes if its addresses are IPv4, 96 if not
//! ([`crate::table`]). When an interval closes, its entries are handed over
//! as they are and sorted where they lie on the writer's side; the records
//! are built a chunk at a time as they are written, so a closing never
//! holds a second copy of the table. The next interval's tables are sized
//! for as many flows as the last one had, so a steady run does not grow
//! tables. At most `max_flows` flows are held (`--max-flows`, per shard
//! its share): beyond it the oldest flows of the oldest interval holding any
//! are written early as partial records.

use capture::Timestamp;
use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::{
    closing::{ClosedInterval, Closing},
    entry::{Entry, WideEntry},
    table::{FlowTables, Flows, Sizes, Slots, MAX_ENTRIES, WARM_GROUP},
    tcp::{Mark, RoundTrip, Tracker},
    AggConfig, FlowRecord, Interval, Observation, ObservationPoint, ObservationPoints,
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

/// What each of `shards` shards holds of the run's configuration: its share
/// of the flow budget (`--max-flows`), at least one flow.
pub(crate) fn shard_config(config: &AggConfig, shards: usize) -> AggConfig {
    AggConfig {
        max_flows: (config.max_flows / shards.max(1)).max(1),
        ..config.clone()
    }
}

/// Flows in a table from which loading ahead pays: smaller tables stay in cache.
const WARM_FROM: usize = 4096;

#[derive(Debug)]
struct OpenInterval {
    interval: Interval,
    /// `interval.end()`, kept: the hot path tests `start <= ts < end`
    /// instead of dividing.
    end: Timestamp,
    flows: FlowTables,
}

/// Memory that writing flows out early reuses: a run at its flow budget does
/// it every eighth of the budget, and allocates nothing for it once warm.
#[derive(Debug, Default)]
struct EvictionScratch {
    /// The last-packet times of the interval's flows, to find the oldest.
    lasts: Vec<u64>,
    /// The observation points, to resolve the records' ids.
    points: Vec<ObservationPoint>,
}

impl EvictionScratch {
    /// The time of the `count`-th oldest last packet of `flows` (which
    /// holds at least `count`).
    fn nth_oldest_last(&mut self, flows: &FlowTables, count: usize) -> u64 {
        self.lasts.clear();
        self.lasts.extend(flows.lasts());
        *self.lasts.select_nth_unstable(count - 1).1
    }
}

/// Counts of what a shard did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Packets that arrived after their interval had closed (counted in extra records).
    pub late_packets: u64,
    /// Records emitted.
    pub records: u64,
    /// Intervals closed.
    pub intervals_closed: u64,
    /// Records written early because `--max-flows` was reached.
    pub partial_records: u64,
    /// TCP connections analysed.
    pub tcp_connections: u64,
    /// TCP segments of connections the flow budget left no room to analyse.
    pub tcp_untracked_segments: u64,
}

impl std::iter::Sum for ShardStats {
    /// The counts of several shards together.
    fn sum<I: Iterator<Item = ShardStats>>(shards: I) -> ShardStats {
        shards.fold(ShardStats::default(), |a, s| ShardStats {
            late_packets: a.late_packets + s.late_packets,
            records: a.records + s.records,
            intervals_closed: a.intervals_closed + s.intervals_closed,
            partial_records: a.partial_records + s.partial_records,
            tcp_connections: a.tcp_connections + s.tcp_connections,
            tcp_untracked_segments: a.tcp_untracked_segments + s.tcp_untracked_segments,
        })
    }
}

/// Aggregates the observations of its share of the flows into flow records
/// per interval.
///
/// Intervals close when the run's [`crate::Clock`] says so. A packet of a
/// closed interval is counted in a separate late record for its key and
/// interval, emitted with the next closing, so sums stay exact. Records come
/// out sorted, so the output does not depend on hash order, batch sizes or
/// thread count; [`crate::closing`] joins the outputs of several shards.
#[derive(Debug)]
pub struct Shard {
    secs: u32,
    lateness_secs: u32,
    scale: u64,
    hasher: FixedState,
    /// Open intervals, oldest first; usually one or two, so a scan beats a map.
    open: Vec<OpenInterval>,
    /// Flows of the last interval closed: the size of the next tables.
    last: Sizes,
    /// Memory of closed tables, for the next ones.
    spare_entries: Vec<Flows>,
    spare_slots: Vec<Slots>,
    late: HashTable<(Interval, WideEntry)>,
    /// Flows held in open intervals (late records not included).
    held: usize,
    /// At most this many flows held: beyond, the oldest go out as partial records.
    max_flows: usize,
    /// Partial records written early, waiting to be taken.
    partial: Vec<FlowRecord>,
    /// Memory of the last eviction, for the next.
    scratch: EvictionScratch,
    /// TCP analysis, unless packet sampling is on.
    tcp: Option<Tracker>,
    points: ObservationPoints,
    stats: ShardStats,
}

impl Shard {
    /// An empty shard, resolving observation points through `points`.
    pub fn new(config: &AggConfig, points: ObservationPoints) -> Self {
        Shard {
            secs: config.interval_secs,
            lateness_secs: config.lateness_secs,
            scale: config.packet_sample,
            hasher: FixedState::with_seed(config.seed),
            open: Vec::new(),
            last: Sizes::default(),
            spare_entries: Vec::new(),
            spare_slots: Vec::new(),
            late: HashTable::new(),
            held: 0,
            max_flows: config.max_flows.clamp(1, MAX_ENTRIES),
            partial: Vec::new(),
            scratch: EvictionScratch::default(),
            tcp: config.analyses_tcp().then(|| Tracker::new(config)),
            points,
            stats: ShardStats::default(),
        }
    }

    /// Adds a batch of observations, in order, in groups through a
    /// three-stage pipeline on a big table: the slots of group k + 2 and the
    /// entries of group k + 1 are loaded while group k is counted, so one
    /// group's misses overlap the next one's and the counting.
    pub fn push_batch(&mut self, batch: &[Observation]) {
        let flows_big = self.open.last().is_some_and(|o| o.flows.is_big(WARM_FROM));
        let tcp_big = self.tcp.as_ref().is_some_and(|t| t.is_big(WARM_FROM));
        if !flows_big && !tcp_big {
            batch.iter().for_each(|obs| self.push(obs));
            return;
        }
        let group = |k: usize| batch.chunks(WARM_GROUP).nth(k);
        for first in batch.chunks(WARM_GROUP).take(2) {
            self.warm_slots(first);
        }
        if let Some(first) = group(0) {
            self.warm_entries(first);
        }
        for (k, counted) in batch.chunks(WARM_GROUP).enumerate() {
            if let Some(ahead) = group(k + 2) {
                self.warm_slots(ahead);
            }
            if let Some(next) = group(k + 1) {
                self.warm_entries(next);
            }
            for obs in counted {
                self.push(obs);
            }
        }
    }

    /// The first stage of [`Shard::push_batch`]'s pipeline: the slots of
    /// the group's flows in the newest interval and of its TCP connections.
    #[inline]
    fn warm_slots(&self, group: &[Observation]) {
        if let Some(newest) = self.open.last() {
            newest.flows.warm_slots(group);
        }
        if let Some(tcp) = &self.tcp {
            tcp.warm_slots(group);
        }
    }

    /// The second stage: the entries those slots point to.
    #[inline]
    fn warm_entries(&self, group: &[Observation]) {
        if let Some(newest) = self.open.last() {
            newest.flows.warm_entries(group);
        }
        if let Some(tcp) = &self.tcp {
            tcp.warm_entries(group);
        }
    }

    /// Counts one observation in its interval, or in a late record when the
    /// [`crate::Clock`] found its interval closed.
    #[inline]
    pub fn push(&mut self, obs: &Observation) {
        let mut tcp = Mark::default();
        if obs.segment.is_some() {
            if let Some(tracker) = &mut self.tcp {
                let (verdict, done) = tracker.track_segment(obs);
                tcp = verdict.mark();
                if let Some(round_trip) = done {
                    set_round_trip(&mut self.open, round_trip);
                }
            }
        }
        if !obs.counted {
            return;
        }
        if obs.late {
            self.push_late(obs, tcp);
            return;
        }
        let at = match self.find_open(obs.ts) {
            Some(at) => at,
            None => self.open_interval(Interval::containing(obs.ts, self.secs)),
        };
        if self.open[at].flows.add(obs, self.scale, tcp) {
            return;
        }
        // A new flow: make room first if the budget is spent. The interval
        // may be the one emptied, or move when an older one is, so it is
        // looked up again.
        let at = if self.held >= self.max_flows {
            self.evict_oldest();
            match self.find_open(obs.ts) {
                Some(at) => at,
                None => self.open_interval(Interval::containing(obs.ts, self.secs)),
            }
        } else {
            at
        };
        self.open[at]
            .flows
            .insert_new(obs, self.scale, tcp, &self.hasher);
        self.held += 1;
    }

    /// Partial records written early since the last call (`--max-flows`),
    /// sorted by [`FlowRecord::order`].
    pub fn take_partial(&mut self) -> Option<Vec<FlowRecord>> {
        if self.partial.is_empty() {
            return None;
        }
        let mut partial = std::mem::take(&mut self.partial);
        partial.sort_unstable_by(FlowRecord::order);
        Some(partial)
    }

    /// Writes out early, as partial records, an eighth (at least one, more
    /// when several were last seen at the same time) of the flows of the
    /// oldest open interval that holds any, those whose last packet is oldest: their counts leave the table but stay in the
    /// output, so sums stay exact. The oldest open interval may hold none: a
    /// packet out of order has just opened it for its new flow. Finding the
    /// flows costs a pass over that interval's, paid once per eighth of the
    /// budget.
    fn evict_oldest(&mut self) {
        // Every flow held is in an open interval, so with the budget spent
        // one holds some. Were none to, there would be nothing to write out,
        // and the new flow is admitted all the same: `held` stays the count
        // of flows in the tables.
        let Some(at) = self.open.iter().position(|o| !o.flows.is_empty()) else {
            return;
        };
        let oldest = &mut self.open[at];
        let count = (oldest.flows.len() / 8).max(1);
        let threshold = self.scratch.nth_oldest_last(&oldest.flows, count);
        let interval = oldest.interval;
        self.points.snapshot_into(&mut self.scratch.points);
        let points = &self.scratch.points;
        let before = self.partial.len();
        let partial = &mut self.partial;
        // Every flow as old as the threshold goes, ties included: which of
        // two flows last seen at the same time went first would otherwise
        // depend on the order of the table, which depends on its memory's
        // history (a table handed back by the writer or a new one), so a
        // threaded run would not write what a local one does.
        oldest.flows.evict(
            |counts| counts.last.0 <= threshold,
            interval,
            points,
            |record| {
                partial.push(FlowRecord {
                    partial: true,
                    ..record
                });
            },
            &self.hasher,
        );
        let evicted = self.partial.len() - before;
        self.held -= evicted;
        self.stats.partial_records += evicted as u64;
        self.stats.records += evicted as u64;
        if oldest.flows.is_empty() {
            self.open.remove(at);
        }
    }

    /// Closes the intervals closed at `watermark` into `out` and hands over
    /// the late records held so far. Called at every closing the clock announces, so every shard
    /// flushes its late records at the same points.
    pub fn close(&mut self, watermark: Timestamp, out: &mut Closing) {
        // Two spare tables at most: one filling while one is written.
        self.spare_entries.append(&mut out.spare);
        self.spare_entries.truncate(2);
        // Round trips first, onto the records of the intervals about to close.
        if let Some(tracker) = &mut self.tcp {
            let open = &mut self.open;
            tracker.close(watermark, self.lateness_secs, |round_trip| {
                set_round_trip(open, round_trip);
            });
        }
        while self
            .open
            .first()
            .is_some_and(|o| o.interval.is_closed_at(watermark, self.lateness_secs))
        {
            self.close_oldest(out);
        }
        self.flush_late(&mut out.late);
    }

    /// Closes every interval and flushes late records (end of input, signal).
    pub fn finish(&mut self, out: &mut Closing) {
        self.close(Timestamp(u64::MAX), out);
    }

    /// Closes every interval and returns the records in output order: a
    /// shard used on its own (tests, benches).
    pub fn finish_records(&mut self) -> Vec<FlowRecord> {
        let mut closing = Closing::default();
        self.finish(&mut closing);
        let mut records = Vec::with_capacity(closing.len());
        crate::closing::merge_closings_into(&mut [closing], &self.points.snapshot(), &mut records);
        records
    }

    /// Flows currently held (open intervals and late records).
    pub fn open_flows(&self) -> usize {
        self.open.iter().map(|o| o.flows.len()).sum::<usize>() + self.late.len()
    }

    /// What the shard did so far.
    pub fn stats(&self) -> ShardStats {
        let tcp = self.tcp.as_ref().map(Tracker::stats).unwrap_or_default();
        ShardStats {
            tcp_connections: tcp.connections,
            tcp_untracked_segments: tcp.untracked_segments,
            ..self.stats
        }
    }

    /// The open interval holding `ts`: usually the newest, so searched from there.
    #[inline]
    fn find_open(&self, ts: Timestamp) -> Option<usize> {
        self.open
            .iter()
            .rposition(|o| o.interval.start <= ts && ts < o.end)
    }

    /// Opens an interval in its place by start time; returns its index.
    fn open_interval(&mut self, interval: Interval) -> usize {
        let memory = match (self.spare_entries.pop(), self.spare_slots.pop()) {
            (Some(entries), Some(slots)) => Some((entries, slots)),
            _ => None,
        };
        let flows = FlowTables::new(memory, self.last.at_most(self.max_flows));
        let at = self
            .open
            .partition_point(|o| o.interval.start < interval.start);
        let end = interval.end();
        self.open.insert(
            at,
            OpenInterval {
                interval,
                end,
                flows,
            },
        );
        at
    }

    fn push_late(&mut self, obs: &Observation, tcp: Mark) {
        use std::hash::BuildHasher;
        let interval = Interval::containing(obs.ts, self.secs);
        self.stats.late_packets += 1;
        let hasher = &self.hasher;
        let hash = hasher.hash_one((obs.hash, interval.start));
        self.late
            .entry(
                hash,
                |(i, e)| *i == interval && e.key == obs.key,
                |(i, e)| hasher.hash_one((e.key.hash(hasher), i.start)),
            )
            .or_insert_with(|| (interval, WideEntry::of(obs.key, obs.ts)))
            .get_mut()
            .1
            .counts
            .add(obs, self.scale, tcp);
        // Late records count against the flow budget too: beyond it (and
        // at least an eighth of it late, so that this stays rare), they are
        // written at once as partial records, as evicted flows are.
        let late = self.late.len();
        if self.held + late > self.max_flows && late >= (self.max_flows / 8).max(1) {
            self.write_late_early();
        }
    }

    /// Moves every late record to the partial records written at once.
    #[cold]
    fn write_late_early(&mut self) {
        self.points.snapshot_into(&mut self.scratch.points);
        let points = &self.scratch.points;
        let before = self.partial.len();
        self.partial
            .extend(self.late.drain().map(|(interval, e)| FlowRecord {
                partial: true,
                ..e.record(interval, points)
            }));
        let written = (self.partial.len() - before) as u64;
        self.stats.partial_records += written;
        self.stats.records += written;
    }

    fn close_oldest(&mut self, out: &mut Closing) {
        let OpenInterval {
            interval, flows, ..
        } = self.open.remove(0);
        self.last = flows.sizes();
        let (flows, slots) = flows.into_parts();
        if self.spare_slots.len() < 2 {
            self.spare_slots.push(slots);
        }
        self.held -= flows.len();
        self.stats.records += flows.len() as u64;
        self.stats.intervals_closed += 1;
        if !flows.is_empty() {
            out.intervals.push(ClosedInterval { interval, flows });
        }
    }

    fn flush_late(&mut self, out: &mut Vec<FlowRecord>) {
        let start = out.len();
        let points = self.points.snapshot();
        out.extend(
            self.late
                .drain()
                .map(|(interval, e)| e.record(interval, &points)),
        );
        out[start..].sort_unstable_by(FlowRecord::order);
        self.stats.records += (out.len() - start) as u64;
    }
}

/// Writes a direction's median round trip on its record, if its interval
/// is still open and holds the flow (an interval closed before the
/// acknowledgement came, or a flow written out early, loses it).
fn set_round_trip(open: &mut [OpenInterval], round_trip: RoundTrip) {
    let interval = open
        .iter_mut()
        .find(|o| o.interval.start == round_trip.interval);
    if let Some(counts) =
        interval.and_then(|o| o.flows.counts_mut(&round_trip.key, round_trip.hash))
    {
        counts.rtt_usec = round_trip.usec;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::{KeyShape, PortKind};
    use crate::{FlowKey, ObsId, ObservationPoint};

    /// A table holding the points the tests use: id 0 the default point,
    /// then interfaces 7, 2 and 5 (ids 1, 2, 3: not the points' order).
    fn points() -> ObservationPoints {
        let points = ObservationPoints::default();
        let mut interner = crate::observation::Interner::new(points.clone());
        for interface in [0, 7, 2, 5] {
            interner.intern(ObservationPoint {
                interface,
                ..ObservationPoint::default()
            });
        }
        points
    }

    const S: u64 = Timestamp::NANOS_PER_SEC;

    fn key(port: u16) -> FlowKey {
        FlowKey {
            obs: ObsId(0),
            shape: KeyShape::new(false, PortKind::Ports),
            src: [0; 16],
            dst: [1; 16],
            proto: 17,
            src_port: port,
            dst_port: 53,
        }
    }

    fn obs(port: u16, ts: u64, ip_len: u32) -> Observation {
        Observation::of(key(port), ts, ip_len, ip_len.saturating_sub(28))
    }

    /// Drives `shards` shards as the pipeline does: a clock in packet
    /// order, observations split by hash, partial records written as the
    /// budget makes them, closings announced to all, the outputs merged.
    fn run_sharded(
        config: &AggConfig,
        batches: &[&[Observation]],
        shards: usize,
    ) -> Vec<FlowRecord> {
        let table = points();
        let mut shard: Vec<_> = (0..shards)
            .map(|_| Shard::new(config, table.clone()))
            .collect();
        let mut clock = crate::Clock::new(config.interval_secs, config.lateness_secs);
        let mut closings: Vec<Closing> = (0..shards).map(|_| Closing::default()).collect();
        let mut out = Vec::new();
        let mut close_all = |shard: &mut [Shard], watermark, out: &mut Vec<FlowRecord>| {
            for (s, closing) in shard.iter_mut().zip(&mut closings) {
                s.close(watermark, closing);
            }
            crate::closing::merge_closings_into(&mut closings, &table.snapshot(), out);
        };
        for batch in batches {
            for obs in *batch {
                let tick = clock.tick(obs.ts);
                let obs = Observation {
                    late: tick.late,
                    ..*obs
                };
                let s = &mut shard[shard_of(obs.hash, shards)];
                s.push(&obs);
                if let Some(mut partial) = s.take_partial() {
                    out.append(&mut partial);
                }
                if tick.closes {
                    close_all(&mut shard, clock.watermark(), &mut out);
                }
            }
        }
        close_all(&mut shard, Timestamp(u64::MAX), &mut out);
        out
    }

    fn run(config: &AggConfig, batches: &[&[Observation]]) -> Vec<FlowRecord> {
        run_sharded(config, batches, 1)
    }

    #[test]
    fn closed_interval_comes_out_sorted_by_key() {
        let config = AggConfig::default();
        let mut shard = Shard::new(&config, points());
        for port in [9, 3, 7] {
            shard.push(&obs(port, S, 100));
        }
        shard.push(&obs(1, 6 * S, 100));
        let mut closing = Closing::default();
        shard.close(Timestamp(6 * S), &mut closing);
        assert!(closing.late.is_empty());
        let mut closed = Vec::new();
        crate::closing::merge_closings_into(&mut [closing], &shard.points.snapshot(), &mut closed);
        let ports: Vec<_> = closed.iter().map(|r| r.key.src_port).collect();
        assert_eq!(ports, vec![3, 7, 9]);
        assert_eq!(shard.open_flows(), 1);
    }

    #[test]
    fn beyond_the_flow_budget_the_oldest_flows_go_out_as_partial_records() {
        let config = AggConfig {
            max_flows: 16,
            ..AggConfig::default()
        };
        let mut shard = Shard::new(&config, points());
        let mut partial = Vec::new();
        // 1000 flows, one packet each, 1 ms apart, in one interval; then
        // flow 0 again, which was written out early and starts a new record.
        for port in 0..1000u16 {
            shard.push(&obs(port, S + u64::from(port) * 1_000_000, 100));
            assert!(shard.held <= 16, "the budget holds");
            partial.extend(shard.take_partial().unwrap_or_default());
        }
        shard.push(&obs(0, 2 * S, 100));
        partial.extend(shard.take_partial().unwrap_or_default());
        let closed = shard.finish_records();
        assert!(partial.iter().all(|r| r.partial) && closed.iter().all(|r| !r.partial));
        assert_eq!(partial.len() + closed.len(), 1001);
        let packets: u64 = partial.iter().chain(&closed).map(|r| r.packets).sum();
        assert_eq!(packets, 1001, "every packet in some record");
        // Eviction takes the flows whose last packet is oldest: the first
        // eviction (an eighth of 16) writes out the first two flows seen.
        let mut first: Vec<_> = partial[..2].iter().map(|r| r.key.src_port).collect();
        first.sort_unstable();
        assert_eq!(first, vec![0, 1]);
        assert_eq!(shard.stats().partial_records, partial.len() as u64);
    }

    #[test]
    fn late_records_beyond_the_flow_budget_go_out_as_partial_records() {
        let config = AggConfig {
            max_flows: 16,
            ..AggConfig::default()
        };
        let mut shard = Shard::new(&config, points());
        let mut partial = Vec::new();
        // 1000 late packets of distinct flows: without the budget, a late
        // table of 1000 entries until the next closing.
        for port in 0..1000u16 {
            let mut o = obs(port, S + u64::from(port), 100);
            o.late = true;
            shard.push(&o);
            assert!(shard.late.len() <= 17, "the budget holds");
            partial.extend(shard.take_partial().unwrap_or_default());
        }
        let rest = shard.finish_records();
        assert!(partial.len() >= 1000 - 17 && partial.iter().all(|r| r.partial));
        let packets: u64 = partial.iter().chain(&rest).map(|r| r.packets).sum();
        assert_eq!(packets, 1000, "every packet in some record");
        assert_eq!(shard.stats().late_packets, 1000);
        assert_eq!(shard.stats().partial_records, partial.len() as u64);
    }

    #[test]
    fn packet_sample_scale_multiplies_counts() {
        let config = AggConfig {
            packet_sample: 10,
            ..AggConfig::default()
        };
        let records = run(&config, &[&[obs(1, S, 100), obs(1, 2 * S, 60)]]);
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].packets, records[0].bytes), (20, 1600));
        assert_eq!(records[0].payload_bytes, 10 * (72 + 32));
    }

    fn stream() -> impl Strategy<Value = Vec<Observation>> {
        // Mostly increasing time with steps back of up to 0.75 s, which add
        // up: some packets are on time out of order (some opening an older
        // interval), some are late.
        prop::collection::vec((0u16..20, -3000i64..4000, 40u32..1500), 1..300).prop_map(|steps| {
            let mut t: i64 = 100_000;
            steps
                .into_iter()
                .map(|(port, dt_ms, len)| {
                    t = (t + dt_ms / 4).max(0);
                    obs(port, t as u64 * 1_000_000, len)
                })
                .collect()
        })
    }

    /// A flow budget: 1 to 8 flows, which `stream`'s 20 flows spend, or
    /// the default one.
    fn budget() -> impl Strategy<Value = usize> {
        prop_oneof![1usize..=8, Just(crate::DEFAULT_MAX_FLOWS)]
    }

    /// Keys of both kinds of entry: IPv4 (mapped), IPv6, and an IPv4
    /// shape whose addresses are not mapped; at four points.
    fn mixed(n: u16) -> FlowKey {
        let mut src = [0; 16];
        src[15] = (n % 5) as u8;
        let mut dst = [2; 16];
        match n % 3 {
            0 => {
                src[10..12].copy_from_slice(&[0xff; 2]);
                dst[..12].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
            }
            1 => src[0] = 0x20,
            _ => {}
        }
        FlowKey {
            obs: ObsId(n % 4),
            shape: KeyShape::new(n % 3 == 1, PortKind::Ports),
            src,
            dst,
            proto: 17,
            src_port: n % 7,
            dst_port: 53,
        }
    }

    proptest! {
        /// Against a model (a sorted map of interval, point and key): with
        /// time never going back, the records are exactly the model's, in
        /// its order, whatever the kinds of entry and the shard count.
        #[test]
        fn mixed_kinds_and_points_come_out_in_the_specs_order(
            steps in prop::collection::vec((0u16..200, 0u64..300, 40u32..1500), 1..400),
            shards in 1usize..4,
        ) {
            let hasher = FixedState::with_seed(0);
            let table = points().snapshot();
            let mut t = 100 * S;
            let mut model = std::collections::BTreeMap::new();
            let stream: Vec<_> = steps
                .into_iter()
                .map(|(n, dt_ms, len)| {
                    t += dt_ms * 1_000_000;
                    let key = mixed(n);
                    let interval = Interval::containing(Timestamp(t), 5);
                    let point = table[usize::from(key.obs.0)];
                    let e = model.entry((interval, point, key)).or_insert((0u64, 0u64));
                    *e = (e.0 + 1, e.1 + u64::from(len));
                    Observation {
                        key,
                        hash: key.hash(&hasher),
                        ts: Timestamp(t),
                        ip_len: len,
                        payload_len: 0,
                        tcp_flags: 0,
                        segment: None,
                        late: false,
                        counted: true,
                    }
                })
                .collect();
            let records = run_sharded(&AggConfig::default(), &[&stream], shards);
            let got: Vec<_> = records
                .iter()
                .map(|r| ((r.interval, r.observation, r.key), (r.packets, r.bytes)))
                .collect();
            prop_assert_eq!(got, model.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn any_shard_count_gives_the_same_records(
            packets in stream(),
            shards in 2usize..6,
            secs in prop::sample::select(vec![1u32, 5, 60]),
        ) {
            let config = AggConfig { interval_secs: secs, ..AggConfig::default() };
            prop_assert_eq!(run_sharded(&config, &[&packets], shards), run(&config, &[&packets]));
        }

        #[test]
        fn any_batch_split_gives_the_same_records(
            packets in stream(),
            cuts in prop::collection::vec(0usize..300, 0..10),
            secs in prop::sample::select(vec![1u32, 5, 60]),
        ) {
            let config = AggConfig { interval_secs: secs, ..AggConfig::default() };
            let whole = run(&config, &[&packets]);
            let mut cuts: Vec<_> = cuts.into_iter().map(|c| c.min(packets.len())).collect();
            cuts.sort_unstable();
            let mut batches = Vec::new();
            let mut from = 0;
            for c in cuts {
                batches.push(&packets[from..c]);
                from = c;
            }
            batches.push(&packets[from..]);
            prop_assert_eq!(run(&config, &batches), whole);
        }

        /// Every packet in exactly one record, whatever the flow budget:
        /// per interval and flow, the records sum to the packets'.
        #[test]
        fn records_hold_every_packet_and_byte_within_their_interval(
            packets in stream(),
            max_flows in budget(),
            shards in 1usize..4,
            secs in prop::sample::select(vec![1u32, 5, 60]),
        ) {
            let config = AggConfig { interval_secs: secs, max_flows, ..AggConfig::default() };
            let records = run_sharded(&config, &[&packets], shards);
            let mut model = std::collections::BTreeMap::new();
            for o in &packets {
                let e = model.entry((Interval::containing(o.ts, secs), o.key)).or_insert((0, 0));
                *e = (e.0 + 1, e.1 + u64::from(o.ip_len));
            }
            let mut got = std::collections::BTreeMap::new();
            for r in &records {
                prop_assert!(r.interval.start <= r.first && r.first <= r.last && r.last < r.interval.end());
                prop_assert_eq!(r.interval, Interval::containing(r.first, secs));
                prop_assert!(!r.partial || max_flows < crate::DEFAULT_MAX_FLOWS, "partial within the budget");
                let e = got.entry((r.interval, r.key)).or_insert((0, 0));
                *e = (e.0 + r.packets, e.1 + r.bytes);
            }
            prop_assert_eq!(got, model);
        }
    }
}
