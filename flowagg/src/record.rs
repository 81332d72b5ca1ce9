//! The flow record (docs/record.md, "What one record says", "Fields").

use capture::Timestamp;

use crate::{FlowKey, Interval, ObservationPoint};

/// What one flow did in one interval, as counted (or estimated, under packet
/// sampling) by mirrorflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRecord {
    /// The interval the packets fell in.
    pub interval: Interval,
    /// Where the packets were observed.
    pub observation: ObservationPoint,
    /// The flow (its `obs` is `observation`, interned).
    pub key: FlowKey,
    /// Packets (observed × N under `--packet-sample N`).
    pub packets: u64,
    /// Sum of declared IP datagram lengths.
    pub bytes: u64,
    /// Sum of transport payload lengths.
    pub payload_bytes: u64,
    /// Time of the earliest packet.
    pub first: Timestamp,
    /// Time of the latest packet.
    pub last: Timestamp,
    /// OR of the TCP flags seen.
    pub tcp_flags: u8,
    /// TCP: the median round trip of the interval's samples, in
    /// microseconds, when it had any (docs/record.md, "TCP: round trips and retransmissions").
    pub rtt_usec: Option<u32>,
    /// TCP: packets that carried sequence numbers already sent, when the
    /// connection was analysed.
    pub retransmitted_packets: Option<u32>,
    /// Written before its interval closed, because the flow budget
    /// (`--max-flows`) was spent: more records of the same flow and interval
    /// may follow, and sums over them are exact.
    pub partial: bool,
}

impl FlowRecord {
    /// The output order: interval, then observation point, then key.
    /// Compares by reference: records are sorted by the million.
    #[inline]
    pub fn order(&self, other: &FlowRecord) -> std::cmp::Ordering {
        self.interval
            .cmp(&other.interval)
            .then_with(|| self.observation.cmp(&other.observation))
            .then_with(|| self.key.cmp(&other.key))
    }

    /// `rtt_msec`: the round trip in whole milliseconds, rounded to the
    /// nearest (GCP's unit; a LAN's 0.3 ms writes 0).
    pub fn rtt_msec(&self) -> Option<u64> {
        self.rtt_usec.map(|usec| (u64::from(usec) + 500) / 1000)
    }

    /// TCP flags, for TCP flows only.
    pub fn tcp_flags(&self) -> Option<u8> {
        (self.key.proto == 6).then_some(self.tcp_flags)
    }
}
