//! A flow table that one thread owns outright, closing intervals on packet time.
//!
//! # Memory
//! One open flow costs one `Entry` (88 bytes: the 40-byte key and the
//! counters) plus hashbrown's control byte, at a load factor between 7/16
//! and 7/8 as the table grows, so 100–200 bytes per open flow-interval.
//! Tables are kept and reused when their interval closes, so a steady run
//! stops allocating. At most `max_flows` flows are held (`--max-flows`, per
//! shard its share): beyond it the oldest flows of the oldest interval are
//! written early as partial records.

use capture::Timestamp;
use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::{
    AggConfig, FlowKey, FlowRecord, Interval, Observation, ObservationPoint, ObservationPoints,
};

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: FlowKey,
    packets: u64,
    bytes: u64,
    payload_bytes: u64,
    first: Timestamp,
    last: Timestamp,
    tcp_flags: u8,
}

impl Entry {
    fn new(key: FlowKey, ts: Timestamp) -> Self {
        Entry {
            key,
            packets: 0,
            bytes: 0,
            payload_bytes: 0,
            first: ts,
            last: ts,
            tcp_flags: 0,
        }
    }

    #[inline]
    fn add(&mut self, obs: &Observation, scale: u64) {
        // Saturating: `--packet-sample` accepts any N, and no count may wrap.
        self.packets = self.packets.saturating_add(scale);
        self.bytes = self
            .bytes
            .saturating_add(u64::from(obs.ip_len).saturating_mul(scale));
        self.payload_bytes = self
            .payload_bytes
            .saturating_add(u64::from(obs.payload_len).saturating_mul(scale));
        self.first = self.first.min(obs.ts);
        self.last = self.last.max(obs.ts);
        self.tcp_flags |= obs.tcp_flags;
    }

    fn record(&self, interval: Interval, points: &[ObservationPoint]) -> FlowRecord {
        FlowRecord {
            partial: false,
            interval,
            observation: points[usize::from(self.key.obs.0)],
            key: self.key,
            packets: self.packets,
            bytes: self.bytes,
            payload_bytes: self.payload_bytes,
            first: self.first,
            last: self.last,
            tcp_flags: self.tcp_flags,
        }
    }
}

#[derive(Debug)]
struct OpenInterval {
    interval: Interval,
    flows: HashTable<Entry>,
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
}

/// Aggregates the observations of its share of the flows into flow records
/// per interval.
///
/// Intervals close when the run's [`crate::Clock`] says so. A packet of a
/// closed interval is counted in a separate late record for its key and
/// interval, emitted with the next closing, so sums stay exact. Records come
/// out sorted, so the output does not depend on hash order, batch sizes or
/// thread count; [`crate::merge`] joins the outputs of several shards.
#[derive(Debug)]
pub struct Shard {
    secs: u32,
    lateness_secs: u32,
    scale: u64,
    hasher: FixedState,
    /// Open intervals, oldest first; usually one or two, so a scan beats a map.
    open: Vec<OpenInterval>,
    /// Emptied tables kept for reuse.
    spare: Vec<HashTable<Entry>>,
    late: HashTable<(Interval, Entry)>,
    /// Flows held in open intervals (late records not included).
    held: usize,
    /// At most this many flows held: beyond, the oldest go out as partial records.
    max_flows: usize,
    /// Partial records written early, waiting to be taken.
    partial: Vec<FlowRecord>,
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
            spare: Vec::new(),
            late: HashTable::new(),
            held: 0,
            max_flows: config.max_flows.max(1),
            partial: Vec::new(),
            points,
            stats: ShardStats::default(),
        }
    }

    /// Adds a batch of observations, in order.
    pub fn push_batch(&mut self, batch: &[Observation]) {
        for obs in batch {
            self.push(obs);
        }
    }

    /// Counts one observation in its interval, or in a late record when the
    /// [`crate::Clock`] found its interval closed.
    #[inline]
    pub fn push(&mut self, obs: &Observation) {
        let interval = Interval::containing(obs.ts, self.secs);
        if obs.late {
            self.push_late(interval, obs);
            return;
        }
        let at = match self.open.iter().position(|o| o.interval == interval) {
            Some(at) => at,
            None => self.open_interval(interval),
        };
        let eq = |e: &Entry| e.key == obs.key;
        if let Some(entry) = self.open[at].flows.find_mut(obs.hash, eq) {
            entry.add(obs, self.scale);
            return;
        }
        // A new flow: make room first if the budget is spent. The interval
        // may be the one emptied, so it is looked up again.
        let at = if self.held >= self.max_flows {
            self.evict_oldest();
            match self.open.iter().position(|o| o.interval == interval) {
                Some(at) => at,
                None => self.open_interval(interval),
            }
        } else {
            at
        };
        let hasher = &self.hasher;
        let mut entry = Entry::new(obs.key, obs.ts);
        entry.add(obs, self.scale);
        self.open[at]
            .flows
            .insert_unique(obs.hash, entry, |e| e.key.hash(hasher));
        self.held += 1;
    }

    /// Partial records written early since the last call (`--max-flows`).
    pub fn take_partial(&mut self) -> Option<Vec<FlowRecord>> {
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }

    /// Writes out early, as partial records, the eighth of the oldest open
    /// interval's flows whose last packet is oldest (at least one): their
    /// counts leave the table but stay in the output, so sums stay exact.
    /// Finding them costs a pass over that interval's flows, paid once per
    /// eighth of the budget.
    fn evict_oldest(&mut self) {
        let Some(oldest) = self.open.first_mut() else {
            return;
        };
        let count = (oldest.flows.len() / 8).max(1);
        let mut lasts: Vec<u64> = oldest.flows.iter().map(|e| e.last.0).collect();
        let (_, threshold, _) = lasts.select_nth_unstable(count - 1);
        let threshold = *threshold;
        let interval = oldest.interval;
        let points = self.points.snapshot();
        let before = self.partial.len();
        self.partial.extend(
            oldest
                .flows
                .extract_if(|e| e.last.0 <= threshold)
                .take(count)
                .map(|e| FlowRecord {
                    partial: true,
                    ..e.record(interval, &points)
                }),
        );
        let evicted = self.partial.len() - before;
        self.held -= evicted;
        self.stats.partial_records += evicted as u64;
        self.stats.records += evicted as u64;
        if oldest.flows.is_empty() {
            let emptied = self.open.remove(0);
            self.spare.push(emptied.flows);
        }
    }

    /// Closes the intervals closed at `watermark`: their records go to
    /// `closed`, interval by interval, each sorted by (observation point,
    /// key); the late records held so far go to `late`, sorted by (interval,
    /// observation point, key). Called at every closing the clock announces,
    /// so every shard flushes its late records at the same points.
    pub fn close(
        &mut self,
        watermark: Timestamp,
        closed: &mut Vec<FlowRecord>,
        late: &mut Vec<FlowRecord>,
    ) {
        while self
            .open
            .first()
            .is_some_and(|o| o.interval.is_closed_at(watermark, self.lateness_secs))
        {
            self.close_oldest(closed);
        }
        self.flush_late(late);
    }

    /// Closes every interval and flushes late records (end of input, signal).
    pub fn finish(&mut self, closed: &mut Vec<FlowRecord>, late: &mut Vec<FlowRecord>) {
        self.close(Timestamp(u64::MAX), closed, late);
    }

    /// Flows currently held (open intervals and late records).
    pub fn open_flows(&self) -> usize {
        self.open.iter().map(|o| o.flows.len()).sum::<usize>() + self.late.len()
    }

    /// What the shard did so far.
    pub fn stats(&self) -> ShardStats {
        self.stats
    }

    /// Opens an interval in its place by start time; returns its index.
    fn open_interval(&mut self, interval: Interval) -> usize {
        let flows = self.spare.pop().unwrap_or_default();
        let at = self
            .open
            .partition_point(|o| o.interval.start < interval.start);
        self.open.insert(at, OpenInterval { interval, flows });
        at
    }

    fn push_late(&mut self, interval: Interval, obs: &Observation) {
        use std::hash::BuildHasher;
        self.stats.late_packets += 1;
        let hasher = &self.hasher;
        let hash = hasher.hash_one((obs.hash, interval.start));
        self.late
            .entry(
                hash,
                |(i, e)| *i == interval && e.key == obs.key,
                |(i, e)| hasher.hash_one((e.key.hash(hasher), i.start)),
            )
            .or_insert_with(|| (interval, Entry::new(obs.key, obs.ts)))
            .get_mut()
            .1
            .add(obs, self.scale);
    }

    fn close_oldest(&mut self, out: &mut Vec<FlowRecord>) {
        let OpenInterval {
            interval,
            mut flows,
        } = self.open.remove(0);
        let start = out.len();
        let points = self.points.snapshot();
        self.held -= flows.len();
        out.extend(flows.drain().map(|e| e.record(interval, &points)));
        out[start..].sort_unstable_by(FlowRecord::order);
        self.stats.records += (out.len() - start) as u64;
        self.stats.intervals_closed += 1;
        self.spare.push(flows);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::{KeyShape, PortKind};
    use crate::ObsId;

    /// A table holding the one point the tests use, id 0.
    fn points() -> ObservationPoints {
        let points = ObservationPoints::default();
        let mut interner = crate::observation::Interner::new(points.clone());
        interner.intern(ObservationPoint::default());
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
        let key = key(port);
        Observation {
            key,
            hash: key.hash(&FixedState::with_seed(0)),
            ts: Timestamp(ts),
            ip_len,
            payload_len: ip_len.saturating_sub(28),
            tcp_flags: 0,
            late: false,
        }
    }

    /// Drives `shards` shards as the pipeline does: a clock in packet
    /// order, observations split by hash, closings announced to all, the
    /// outputs merged.
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
        let (mut closed, mut late) = (vec![Vec::new(); shards], vec![Vec::new(); shards]);
        let mut out = Vec::new();
        let mut close_all = |shard: &mut [Shard], watermark, out: &mut Vec<FlowRecord>| {
            for (i, s) in shard.iter_mut().enumerate() {
                s.close(watermark, &mut closed[i], &mut late[i]);
            }
            crate::merge::merge_into(&mut closed, out);
            crate::merge::merge_into(&mut late, out);
        };
        for batch in batches {
            for obs in *batch {
                let tick = clock.tick(obs.ts);
                let obs = Observation {
                    late: tick.late,
                    ..*obs
                };
                let s = &mut shard[crate::merge::shard_of(obs.hash, shards)];
                s.push(&obs);
                assert!(
                    s.take_partial().is_none(),
                    "the default budget is not reached"
                );
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
        let (mut closed, mut late) = (Vec::new(), Vec::new());
        shard.close(Timestamp(6 * S), &mut closed, &mut late);
        let ports: Vec<_> = closed.iter().map(|r| r.key.src_port).collect();
        assert_eq!(ports, vec![3, 7, 9]);
        assert!(late.is_empty());
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
        let (mut closed, mut late) = (Vec::new(), Vec::new());
        shard.finish(&mut closed, &mut late);
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
        // Mostly increasing time with jumps back of up to 3 s, so some
        // packets are on time out of order and some are late.
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

    proptest! {
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

        #[test]
        fn records_hold_every_packet_and_byte_within_their_interval(packets in stream()) {
            let config = AggConfig::default();
            let records = run(&config, &[&packets]);
            let sum = |f: fn(&FlowRecord) -> u64| records.iter().map(f).sum::<u64>();
            prop_assert_eq!(sum(|r| r.packets), packets.len() as u64);
            prop_assert_eq!(sum(|r| r.bytes), packets.iter().map(|o| u64::from(o.ip_len)).sum::<u64>());
            for r in &records {
                prop_assert!(r.interval.start <= r.first && r.first <= r.last && r.last < r.interval.end());
                prop_assert_eq!(r.interval, Interval::containing(r.first, config.interval_secs));
            }
        }
    }
}
