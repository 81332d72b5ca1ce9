//! TCP analysis (docs/record.md, "TCP"): per connection, what each end sent
//! and acknowledged, for the round trip (`rtt_msec`) and the retransmissions
//! (`retransmitted_packets`) of each direction's records.
//!
//! Both directions of a connection reach the same shard ([`FlowKey::hash`]),
//! whose [`Tracker`] holds the connection's state across intervals: state
//! for TCP only, at most one connection per flow of the shard's budget,
//! dropped once a whole interval passed without a packet.

mod rtt;
mod sequence;

use capture::Timestamp;
use hashbrown::{hash_table::Entry, HashTable};

use crate::{key::REVERSE, FlowKey, Interval, Observation};
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

/// What one end did.
#[derive(Debug, Clone, Copy, Default)]
struct End {
    sent: Sent,
    timing: Timing,
    samples: Samples,
}

/// One connection, both directions.
#[derive(Debug, Clone)]
struct Connection {
    /// The forward direction's key ([`FlowKey::forward`]) and hash.
    key: FlowKey,
    hash: u64,
    last_seen: Timestamp,
    /// The sequence number and time of the latest SYN (without ACK).
    syn: Option<(u32, Timestamp)>,
    /// The handshake's round trip, as Wireshark's `initial_rtt`: from the
    /// latest SYN to the first segment after it with ACK and without SYN,
    /// whichever end sent it. Reordering is judged against it.
    handshake: Option<u64>,
    /// The forward direction's sender, then the reverse's.
    ends: [End; 2],
    /// A FIN seen from each end (bit per end), or an RST.
    fins: u8,
    ended: bool,
}

impl Connection {
    /// Follows the handshake: a SYN with a new initial sequence number on
    /// the same ports is a new connection (the ports were reused), and the
    /// first acknowledgement after a SYN gives the handshake's round trip.
    fn handshake_step(&mut self, seg: &Segment) {
        if seg.flags & SYN != 0 && seg.flags & ACK == 0 {
            if self.syn.is_some_and(|(isn, _)| isn != seg.seq) {
                self.ends = [End::default(); 2];
                self.handshake = None;
                self.fins = 0;
                self.ended = false;
            }
            self.syn = Some((seg.seq, seg.ts));
        } else if seg.flags & ACK != 0 && seg.flags & SYN == 0 && self.handshake.is_none() {
            if let Some((_, syn)) = self.syn {
                let round_trip = seg.ts.0.saturating_sub(syn.0);
                self.handshake = (round_trip > 0).then_some(round_trip);
            }
        }
    }

    /// Key and hash of the direction `end` sends.
    fn direction(&self, end: usize) -> (FlowKey, u64) {
        if end == 0 {
            (self.key, self.hash)
        } else {
            (self.key.reversed(), self.hash ^ REVERSE)
        }
    }
}

/// A connection that sent nothing for this long is forgotten (one that
/// ended, by RST or a FIN each way, after an interval): long enough for
/// retransmitted SYNs and FINs to find their connection, short enough that
/// the state of finished connections does not pile up to the budget.
const IDLE_NANOS: u64 = 120 * Timestamp::NANOS_PER_SEC;

/// Bytes of state per analysed connection.
pub const CONNECTION_BYTES: usize = std::mem::size_of::<Connection>();

/// The TCP connections of one shard.
#[derive(Debug)]
pub struct Tracker {
    secs: u32,
    max: usize,
    connections: HashTable<Connection>,
    stats: TcpStats,
}

impl Tracker {
    /// A tracker for intervals of `secs` seconds, holding at most `max` connections.
    pub fn new(secs: u32, max: usize) -> Self {
        Tracker {
            secs,
            max: max.max(1),
            connections: HashTable::new(),
            stats: TcpStats::default(),
        }
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
        let forward = obs.key.forward();
        let hash = if forward {
            obs.hash
        } else {
            obs.hash ^ REVERSE
        };
        let key = if forward { obs.key } else { obs.key.reversed() };
        let room = self.connections.len() < self.max;
        let conn = match self.connections.entry(hash, |c| c.key == key, |c| c.hash) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(vacant) if room => {
                self.stats.connections += 1;
                vacant
                    .insert(Connection {
                        key,
                        hash,
                        last_seen: obs.ts,
                        syn: None,
                        handshake: None,
                        ends: [End::default(); 2],
                        fins: 0,
                        ended: false,
                    })
                    .into_mut()
            }
            Entry::Vacant(_) => {
                self.stats.untracked_segments += 1;
                return (Verdict::default(), None);
            }
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
        if seg.flags & FIN != 0 {
            conn.fins |= 1 << me;
        }
        conn.ended |= seg.flags & RST != 0 || conn.fins == 0b11;
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
                    done = conn.ends[other]
                        .samples
                        .add(interval, usec)
                        .map(|(at, usec)| {
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
        match mine.sent.segment(&theirs.sent, &seg, conn.handshake) {
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
        let interval = u64::from(secs) * Timestamp::NANOS_PER_SEC;
        self.connections.retain(|conn| {
            for end in 0..2 {
                let due = conn.ends[end].samples.interval().is_some_and(|start| {
                    Interval { start, secs }.is_closed_at(watermark, lateness_secs)
                });
                if let Some((interval, usec)) = due.then(|| conn.ends[end].samples.take()).flatten()
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
                interval
            } else {
                IDLE_NANOS.max(2 * interval)
            };
            idle <= limit
        });
    }

    /// Connections held.
    pub fn len(&self) -> usize {
        self.connections.len()
    }

    /// Whether no connection is held.
    pub fn is_empty(&self) -> bool {
        self.connections.is_empty()
    }

    /// What the analysis did so far.
    pub fn stats(&self) -> TcpStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/record.md says "about 300 bytes" a connection (the entry; the
    /// table adds a control byte and its spare room).
    #[test]
    fn a_connection_costs_what_the_docs_say() {
        assert!(
            (280..=312).contains(&CONNECTION_BYTES),
            "{CONNECTION_BYTES} bytes an entry"
        );
    }
}
