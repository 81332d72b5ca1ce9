//! TCP analysis (docs/record.md, "TCP: round trips and retransmissions"):
//! per connection, what each end sent and acknowledged, for the round trip
//! (`rtt_msec`) and the retransmissions (`retransmitted_packets`) of each
//! direction's records.
//!
//! Both directions of a connection reach the same shard ([`FlowKey::hash`]),
//! whose [`Tracker`] holds the connection's state across intervals: state
//! for TCP only, at most one connection per flow of the shard's budget,
//! dropped after 120 s without a packet (an interval, once the
//! connection ended).

mod rtt;
mod sequence;

use capture::Timestamp;
use foldhash::fast::FixedState;

use crate::{
    entry::Keyed,
    key::other_direction,
    table::{FlowTable, MAX_ENTRIES},
    AggConfig, FlowKey, Interval, Observation,
};
use rtt::{Samples, Timing};
use sequence::{Kind, Segment, Sent, ACK, FIN, RST, SYN};

/// What the analysis adds to a flow's counts for one packet: whether the
/// connection is analysed, and whether the packet was a retransmission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Mark(u32);

impl Mark {
    /// Set in a flow's retransmission word once an analysed packet counted.
    pub(crate) const ANALYSED: u32 = 1 << 31;

    /// Adds this mark to a flow's retransmission word.
    #[inline]
    pub(crate) fn apply(self, word: u32) -> u32 {
        (word | (self.0 & Self::ANALYSED)).saturating_add(self.0 & 1)
    }

    /// The retransmissions a flow's word counts, if any packet of it was analysed.
    pub(crate) fn retransmissions(word: u32) -> Option<u32> {
        (word & Self::ANALYSED != 0).then_some(word & !Self::ANALYSED)
    }
}

/// What the analysis found in one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The connection is analysed: the budget had room for its state.
    pub tracked: bool,
    /// The segment carried sequence numbers its sender already sent.
    pub retransmission: bool,
    /// The half of a round trip its acknowledgement completed: from the
    /// other end's timed segment to this packet, in nanoseconds.
    pub half: Option<u64>,
    /// The round trip it completed (that half plus this end's latest), in
    /// nanoseconds; it belongs to the other direction's record, in the
    /// interval of the timed segment.
    pub round_trip: Option<u64>,
}

impl Verdict {
    pub(crate) fn mark(&self) -> Mark {
        Mark(if self.tracked { Mark::ANALYSED } else { 0 } | u32::from(self.retransmission))
    }
}

/// The median round trip of one direction in one interval, to be written
/// on its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoundTrip {
    pub(crate) key: FlowKey,
    pub(crate) hash: u64,
    pub(crate) interval: Timestamp,
    pub(crate) usec: u32,
}

/// Counts of the analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Connections analysed.
    pub connections: u64,
    /// Segments of connections not analysed: the flow budget had no room.
    pub untracked_segments: u64,
}

/// What one end did: what every one of its segments reads and moves.
#[derive(Debug, Clone, Copy, Default)]
struct End {
    sent: Sent,
    timing: Timing,
}

/// One connection, both directions: what every segment reads first, in
/// the first three cache lines ([`Keyed::touch`] loads them ahead), then
/// what only samples and handshakes touch.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Connection {
    /// The forward direction's key ([`FlowKey::forward`]).
    key: FlowKey,
    last_seen: Timestamp,
    /// The handshake's round trip in nanoseconds (0: not yet), as
    /// Wireshark's `initial_rtt`: from the latest SYN to the first segment
    /// after it with ACK and without SYN, whichever end sent it. Reordering
    /// is judged against it.
    handshake: u64,
    /// When the latest SYN (without ACK) was seen ([`NO_SYN`]: none).
    syn_time: Timestamp,
    /// The forward direction's sender, then the reverse's.
    ends: [End; 2],
    /// Each direction's round-trip samples in the interval they belong to.
    samples: [Samples; 2],
    /// The forward direction's hash.
    hash: u64,
    /// The sequence number of the latest SYN.
    syn_seq: u32,
    /// A FIN seen from each end (bit per end).
    fins: u8,
    /// An RST, or a FIN from each end.
    ended: bool,
}

impl Keyed for Connection {
    type Stored = FlowKey;

    #[inline]
    fn stored(&self) -> &FlowKey {
        &self.key
    }

    fn key(&self) -> FlowKey {
        self.key
    }

    #[inline]
    fn touch(&self) -> u64 {
        u64::from(self.key.proto) ^ self.ends[0].sent.touch() ^ self.ends[1].timing.touch()
    }
}

/// [`Connection::syn_time`] before any SYN.
const NO_SYN: Timestamp = Timestamp(u64::MAX);

impl Connection {
    /// Follows the handshake: a SYN with a new initial sequence number on
    /// the same ports is a new connection (the ports were reused), and the
    /// first acknowledgement after a SYN gives the handshake's round trip.
    fn handshake_step(&mut self, seg: &Segment) {
        if seg.flags & SYN != 0 && seg.flags & ACK == 0 {
            if self.syn_time != NO_SYN && self.syn_seq != seg.seq {
                self.ends = [End::default(); 2];
                self.samples = [Samples::default(); 2];
                self.handshake = 0;
                self.fins = 0;
                self.ended = false;
            }
            self.syn_seq = seg.seq;
            self.syn_time = seg.ts;
        } else if seg.flags & ACK != 0
            && seg.flags & SYN == 0
            && self.handshake == 0
            && self.syn_time != NO_SYN
        {
            self.handshake = seg.ts.0.saturating_sub(self.syn_time.0);
        }
    }

    /// Key and hash of the direction `end` sends.
    fn direction(&self, end: usize) -> (FlowKey, u64) {
        if end == 0 {
            (self.key, self.hash)
        } else {
            (self.key.reversed(), other_direction(self.hash, true))
        }
    }
}

/// A connection that sent nothing for this long is forgotten (one that
/// ended, by RST or a FIN each way, after an interval): long enough for
/// retransmitted SYNs and FINs to find their connection, short enough that
/// the state of finished connections does not pile up to the budget.
const IDLE_NANOS: u64 = 120 * Timestamp::NANOS_PER_SEC;

/// Bytes of state per analysed connection: five cache lines, as
/// docs/record.md says.
pub const CONNECTION_BYTES: usize = std::mem::size_of::<Connection>();
const _: () = assert!(CONNECTION_BYTES == 320);

/// The TCP connections of one shard, in the flow tables' kind of table, so
/// that a batch loads its connections ahead as it loads its flows.
#[derive(Debug)]
pub struct Tracker {
    secs: u32,
    max: usize,
    hasher: FixedState,
    connections: FlowTable<Connection>,
    stats: TcpStats,
}

impl Tracker {
    /// A tracker of the run's settings: its intervals, its flow budget (as
    /// many connections at most) and its hash seed.
    pub fn new(config: &AggConfig) -> Self {
        Tracker {
            secs: config.interval_secs,
            max: config.max_flows.clamp(1, MAX_ENTRIES),
            hasher: FixedState::with_seed(config.seed),
            connections: FlowTable::default(),
            stats: TcpStats::default(),
        }
    }

    /// The key, hash and direction of the connection of `obs`, a TCP
    /// segment: the forward direction's key and hash, and whether `obs` is
    /// of the forward direction.
    #[inline]
    fn connection_of(obs: &Observation) -> (FlowKey, u64, bool) {
        let (key, forward) = obs.key.oriented();
        (key, other_direction(obs.hash, !forward), forward)
    }

    /// The hash of the connection of `obs`, without its key.
    #[inline]
    fn hash_of(obs: &Observation) -> u64 {
        other_direction(obs.hash, !obs.key.forward())
    }

    /// Loads the first slot of each TCP segment's connection: the first
    /// stage of [`crate::Shard::push_batch`]'s pipeline.
    #[inline]
    pub(crate) fn warm_slots(&self, group: &[Observation]) {
        let mut touched = 0u32;
        for obs in group.iter().filter(|o| o.segment.is_some()) {
            touched ^= self.connections.first_slot(Self::hash_of(obs));
        }
        std::hint::black_box(touched);
    }

    /// Loads the connection each TCP segment will find, as
    /// [`crate::table::FlowTables::warm_entries`] does a flow.
    #[inline]
    pub(crate) fn warm_entries(&self, group: &[Observation]) {
        let mut touched = 0u64;
        for obs in group.iter().filter(|o| o.segment.is_some()) {
            let hash = Self::hash_of(obs);
            touched ^= self.connections.tagged(hash).map_or(0, Keyed::touch);
        }
        std::hint::black_box(touched);
    }

    /// Whether loading ahead pays: a small table stays in cache.
    pub(crate) fn is_big(&self, from: usize) -> bool {
        self.connections.len() >= from
    }

    /// Analyses one observation (one with a captured TCP segment; any other
    /// gets the default verdict).
    pub fn track(&mut self, obs: &Observation) -> Verdict {
        self.track_segment(obs).0
    }

    /// [`Tracker::track`], and the median round trip of an interval that a
    /// sample of a newer one completed.
    #[inline]
    pub(crate) fn track_segment(&mut self, obs: &Observation) -> (Verdict, Option<RoundTrip>) {
        let Some(tcp) = obs.segment else {
            return (Verdict::default(), None);
        };
        let (key, hash, forward) = Self::connection_of(obs);
        let room = self.connections.len() < self.max;
        let stats = &mut self.stats;
        let new = || {
            room.then(|| {
                stats.connections += 1;
                Connection {
                    key,
                    last_seen: obs.ts,
                    handshake: 0,
                    syn_time: NO_SYN,
                    ends: [End::default(); 2],
                    samples: [Samples::default(); 2],
                    hash,
                    syn_seq: 0,
                    fins: 0,
                    ended: false,
                }
            })
        };
        let Some(conn) = self
            .connections
            .find_or_insert(&key, hash, &self.hasher, new)
        else {
            self.stats.untracked_segments += 1;
            return (Verdict::default(), None);
        };
        conn.last_seen = conn.last_seen.max(obs.ts);
        let seg = Segment {
            seq: tcp.seq,
            ack: tcp.ack,
            window: tcp.window,
            flags: obs.tcp_flags,
            len: obs.payload_len,
            ts: obs.ts,
        };
        conn.handshake_step(&seg);
        let (me, other) = if forward { (0, 1) } else { (1, 0) };
        if seg.flags & (FIN | RST) != 0 {
            conn.fins |= u8::from(seg.flags & FIN != 0) << me;
            conn.ended |= seg.flags & RST != 0 || conn.fins == 0b11;
        }
        let mut verdict = Verdict {
            tracked: true,
            ..Verdict::default()
        };
        let mut done = None;
        if seg.flags & ACK != 0 {
            if let Some((half, sent)) = conn.ends[other].timing.acknowledged(seg.ack, seg.ts) {
                verdict.half = Some(half);
                if let Some(near) = conn.ends[me].timing.half() {
                    let round_trip = half + near;
                    verdict.round_trip = Some(round_trip);
                    let interval = Interval::containing(sent, self.secs).start;
                    let usec = u32::try_from((round_trip + 500) / 1000)
                        .unwrap_or(u32::MAX - 1)
                        .min(u32::MAX - 1);
                    done = conn.samples[other].add(interval, usec).map(|(at, usec)| {
                        let (key, hash) = conn.direction(other);
                        RoundTrip {
                            key,
                            hash,
                            interval: at,
                            usec,
                        }
                    });
                }
            }
        }
        let [a, b] = &mut conn.ends;
        let (mine, theirs) = if me == 0 { (a, &*b) } else { (b, &*a) };
        let handshake = (conn.handshake > 0).then_some(conn.handshake);
        match mine.sent.segment(&theirs.sent, &seg, handshake) {
            Kind::Retransmission => {
                verdict.retransmission = true;
                mine.timing.retransmitted();
            }
            Kind::New if seg.carries() => mine.timing.sent(seg.end(), seg.ts),
            _ => {}
        }
        (verdict, done)
    }

    /// Packet time reached `watermark` (intervals ending `lateness_secs`
    /// before it close): hands out the median round trip of every direction
    /// whose samples' interval closes, and drops the connections idle long
    /// enough. A pass over the connections, once per closing, as the
    /// closing itself is a pass over the flows. Every shard is told of every
    /// closing, so which connections are held does not depend on how flows
    /// are spread over shards.
    pub(crate) fn close(
        &mut self,
        watermark: Timestamp,
        lateness_secs: u32,
        mut out: impl FnMut(RoundTrip),
    ) {
        let secs = self.secs;
        let known = watermark
            .0
            .saturating_sub(u64::from(lateness_secs) * Timestamp::NANOS_PER_SEC);
        let interval_nanos = u64::from(secs) * Timestamp::NANOS_PER_SEC;
        self.connections.retain(
            |conn| {
                for end in 0..2 {
                    let due = conn.samples[end].interval().is_some_and(|start| {
                        Interval { start, secs }.is_closed_at(watermark, lateness_secs)
                    });
                    if let Some((interval, usec)) = due.then(|| conn.samples[end].take()).flatten()
                    {
                        let (key, hash) = conn.direction(end);
                        out(RoundTrip {
                            key,
                            hash,
                            interval,
                            usec,
                        });
                    }
                }
                let idle = known.saturating_sub(conn.last_seen.0);
                let limit = if conn.ended {
                    interval_nanos
                } else {
                    IDLE_NANOS.max(2 * interval_nanos)
                };
                idle <= limit
            },
            &self.hasher,
        );
    }

    /// What the analysis did so far.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }
}
