//! The reader-side stage: a decoded packet becomes a small owned
//! [`Observation`], after fragment attribution and sampling.
//!
//! It runs where the packet is decoded, in packet order, before observations
//! are split between shards: a later fragment's key depends on an earlier
//! packet that another shard may own, and packet sampling must not depend on
//! how packets are spread over threads.

use capture::{decode::Decoded, RawPacket, Timestamp};
use foldhash::fast::FixedState;

use crate::{
    fragment::FragmentTracker,
    sampler::{FlowSampler, PacketSampler},
    AggConfig, FlowKey,
};

/// One counted packet, as it crosses to a shard: plain `Copy` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The flow.
    pub key: FlowKey,
    /// `key.hash()`, computed once.
    pub hash: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Declared IP datagram length.
    pub ip_len: u32,
    /// Transport payload length.
    pub payload_len: u32,
    /// TCP flags (0 for other protocols).
    pub tcp_flags: u8,
}

/// Packets the observer did not pass on, or passed on with missing facts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObserverStats {
    /// Later fragments whose first fragment was not seen (counted, null ports).
    pub unmatched_fragments: u64,
    /// Packets of flows left out by `--flow-sample`.
    pub flow_sampled_out: u64,
    /// Packets left out by `--packet-sample`.
    pub packet_sampled_out: u64,
}

/// Turns decoded packets into observations.
#[derive(Debug)]
pub struct Observer {
    hasher: FixedState,
    fragments: FragmentTracker,
    flows: FlowSampler,
    packets: PacketSampler,
    stats: ObserverStats,
}

impl Observer {
    /// An observer for one input stream.
    pub fn new(config: &AggConfig) -> Self {
        Observer {
            hasher: FixedState::with_seed(config.seed),
            fragments: FragmentTracker::default(),
            flows: FlowSampler::new(config.flow_sample),
            packets: PacketSampler::new(config.packet_sample, config.seed),
            stats: ObserverStats::default(),
        }
    }

    /// The observation of one decoded packet, or `None` if sampling left it out.
    #[inline]
    pub fn observe(
        &mut self,
        packet: &RawPacket<'_>,
        decoded: &Decoded<'_>,
    ) -> Option<Observation> {
        // pcapng interface ids are 32-bit; 65536 interfaces in one file is
        // not a capture, and saturating keeps such ids distinct from real ones.
        let interface = u16::try_from(packet.interface).unwrap_or(u16::MAX);
        let mut key = FlowKey::from_decoded(decoded, interface);
        if let Some(fragment) = decoded.fragment {
            if fragment.is_first() {
                self.fragments.first(&key, fragment.id, packet.ts);
            } else if !self.fragments.later(&mut key, fragment.id, packet.ts) {
                self.stats.unmatched_fragments += 1;
            }
        }
        let hash = key.hash(&self.hasher);
        if !self.flows.keeps(hash) {
            self.stats.flow_sampled_out += 1;
            return None;
        }
        if !self.packets.keep_next() {
            self.stats.packet_sampled_out += 1;
            return None;
        }
        Some(Observation {
            key,
            hash,
            ts: packet.ts,
            ip_len: decoded.ip_len,
            payload_len: decoded.payload_len(),
            tcp_flags: decoded.transport.tcp_flags().unwrap_or(0),
        })
    }

    /// N of `--packet-sample N`: shards scale counts by it.
    pub fn packet_scale(&self) -> u64 {
        self.packets.scale()
    }

    /// What was left out so far.
    pub fn stats(&self) -> ObserverStats {
        self.stats
    }
}
