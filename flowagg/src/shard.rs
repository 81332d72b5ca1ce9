//! A flow table that one thread owns outright, closing intervals on packet time.
//!
//! # Memory
//! One open flow costs one [`Entry`] (88 bytes: the 40-byte key and the
//! counters) plus hashbrown's control byte, at a load factor of at most 7/8,
//! so about 100–115 bytes per open flow-interval. Tables are kept and reused
//! when their interval closes, so a steady run stops allocating.

use capture::Timestamp;
use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::{AggConfig, FlowKey, FlowRecord, Interval, Observation};

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
        self.packets += scale;
        self.bytes += u64::from(obs.ip_len) * scale;
        self.payload_bytes += u64::from(obs.payload_len) * scale;
        self.first = self.first.min(obs.ts);
        self.last = self.last.max(obs.ts);
        self.tcp_flags |= obs.tcp_flags;
    }

    fn record(&self, interval: Interval) -> FlowRecord {
        FlowRecord {
            interval,
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
}

/// Aggregates observations into flow records per interval.
///
/// Intervals close when packet time (the latest timestamp seen, the
/// watermark) reaches their end plus the lateness. A packet of a closed
/// interval is counted in a separate late record for its key and interval,
/// emitted with the next closing, so sums stay exact. Closed intervals come
/// out sorted by key, so the output does not depend on hash order, batch
/// sizes or thread count.
#[derive(Debug)]
pub struct Shard {
    secs: u32,
    lateness_secs: u32,
    scale: u64,
    hasher: FixedState,
    watermark: Timestamp,
    /// Open intervals, oldest first; usually one or two, so a scan beats a map.
    open: Vec<OpenInterval>,
    /// Emptied tables kept for reuse.
    spare: Vec<HashTable<Entry>>,
    late: HashTable<(Interval, Entry)>,
    stats: ShardStats,
}

impl Shard {
    /// An empty shard.
    pub fn new(config: &AggConfig) -> Self {
        Shard {
            secs: config.interval_secs,
            lateness_secs: config.lateness_secs,
            scale: config.packet_sample,
            hasher: FixedState::with_seed(config.seed),
            watermark: Timestamp(0),
            open: Vec::new(),
            spare: Vec::new(),
            late: HashTable::new(),
            stats: ShardStats::default(),
        }
    }

    /// Adds a batch of observations, in order; records of intervals that
    /// close meanwhile are appended to `out`.
    pub fn push_batch(&mut self, batch: &[Observation], out: &mut Vec<FlowRecord>) {
        for obs in batch {
            self.push(obs, out);
        }
    }

    /// Adds one observation; records of intervals that close are appended to `out`.
    #[inline]
    pub fn push(&mut self, obs: &Observation, out: &mut Vec<FlowRecord>) {
        let interval = Interval::containing(obs.ts, self.secs);
        if interval.is_closed_at(self.watermark, self.lateness_secs) {
            self.push_late(interval, obs);
        } else {
            let at = match self.open.iter().position(|o| o.interval == interval) {
                Some(at) => at,
                None => self.open_interval(interval),
            };
            let hasher = &self.hasher;
            self.open[at]
                .flows
                .entry(obs.hash, |e| e.key == obs.key, |e| e.key.hash(hasher))
                .or_insert_with(|| Entry::new(obs.key, obs.ts))
                .get_mut()
                .add(obs, self.scale);
        }
        if obs.ts > self.watermark {
            self.watermark = obs.ts;
            self.close_until_watermark(out);
        }
    }

    /// Closes every interval and flushes late records (end of input, signal).
    pub fn finish(&mut self, out: &mut Vec<FlowRecord>) {
        while !self.open.is_empty() {
            self.close_oldest(out);
        }
        self.flush_late(out);
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

    fn close_until_watermark(&mut self, out: &mut Vec<FlowRecord>) {
        let mut closed_any = false;
        while self
            .open
            .first()
            .is_some_and(|o| o.interval.is_closed_at(self.watermark, self.lateness_secs))
        {
            self.close_oldest(out);
            closed_any = true;
        }
        if closed_any {
            self.flush_late(out);
        }
    }

    fn close_oldest(&mut self, out: &mut Vec<FlowRecord>) {
        let OpenInterval {
            interval,
            mut flows,
        } = self.open.remove(0);
        let start = out.len();
        out.extend(flows.drain().map(|e| e.record(interval)));
        out[start..].sort_unstable_by_key(|r| r.key);
        self.stats.records += (out.len() - start) as u64;
        self.stats.intervals_closed += 1;
        self.spare.push(flows);
    }

    fn flush_late(&mut self, out: &mut Vec<FlowRecord>) {
        let start = out.len();
        out.extend(self.late.drain().map(|(interval, e)| e.record(interval)));
        out[start..].sort_unstable_by_key(|r| (r.interval, r.key));
        self.stats.records += (out.len() - start) as u64;
    }
}
