//! The reader-side stage: a decoded packet becomes a small owned
//! [`Observation`], after fragment attribution and sampling.
//!
//! It runs where the packet is decoded, in packet order, before observations
//! are split between shards: a later fragment's key depends on an earlier
//! packet that another shard may own, and packet sampling must not depend on
//! how packets are spread over threads.

use capture::{
    decode::{Decoded, TcpSegment},
    RawPacket, Timestamp,
};
use foldhash::fast::FixedState;

use crate::{
    dedup::Dedup,
    fragment::FragmentTracker,
    observation::Interner,
    sampler::{FlowSampler, PacketSampler},
    AggConfig, FlowKey, ObservationPoint, ObservationPoints,
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
    /// Sequence, acknowledgement and window, for TCP segments when the run
    /// analyses TCP and they were captured.
    pub segment: Option<TcpSegment>,
    /// Its interval had closed when it was read ([`crate::Clock`]): it goes
    /// into an extra, late record.
    pub late: bool,
    /// Counted in a record. A TCP packet that flow sampling left out is
    /// still handed on, uncounted, because the other direction's round
    /// trips need its acknowledgements (docs/record.md, "TCP: round trips and retransmissions").
    pub counted: bool,
}

#[cfg(test)]
impl Observation {
    /// An observation of `key` at `ts` nanoseconds, on time, hashed as the
    /// observer hashes with seed 0: what the flowagg tests push.
    pub(crate) fn of(key: FlowKey, ts: u64, ip_len: u32, payload_len: u32) -> Observation {
        Observation {
            key,
            hash: key.hash(&FixedState::with_seed(0)),
            ts: Timestamp(ts),
            ip_len,
            payload_len,
            tcp_flags: 0,
            segment: None,
            late: false,
            counted: true,
        }
    }
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
    /// Copies of a packet dropped by `--dedup`.
    pub duplicates: u64,
    /// Packets of observation points beyond the table's 65536 (counted, in no record).
    pub observation_points_exhausted: u64,
}

/// Turns decoded packets into observations.
#[derive(Debug)]
pub struct Observer {
    hasher: FixedState,
    points: Interner,
    dedup: Option<Dedup>,
    fragments: FragmentTracker,
    flows: FlowSampler,
    packets: PacketSampler,
    /// Whether TCP segments are analysed (not under packet sampling).
    tcp_analysis: bool,
    stats: ObserverStats,
}

impl Observer {
    /// An observer for one input stream, interning observation points into `points`.
    pub fn new(config: &AggConfig, points: ObservationPoints) -> Self {
        Observer {
            hasher: FixedState::with_seed(config.seed),
            points: Interner::new(points),
            dedup: config.dedup_window_nanos.map(Dedup::new),
            fragments: FragmentTracker::new(FixedState::with_seed(config.seed)),
            flows: FlowSampler::new(config.flow_sample),
            packets: PacketSampler::new(config.packet_sample, config.seed),
            tcp_analysis: config.analyses_tcp(),
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
        if let Some(dedup) = &mut self.dedup {
            if dedup.is_duplicate(decoded, packet.ts) {
                self.stats.duplicates += 1;
                return None;
            }
        }
        let point = ObservationPoint {
            interface: packet.interface,
            encap: decoded.mirror.map(|m| m.encap),
            vni: decoded.mirror.and_then(|m| m.vni),
            session_id: decoded.mirror.and_then(|m| m.session_id),
        };
        let Some(obs) = self.points.intern(point) else {
            self.stats.observation_points_exhausted += 1;
            return None;
        };
        let mut key = FlowKey::from_decoded(decoded, obs);
        if let Some(fragment) = decoded.fragment {
            if fragment.is_first() {
                self.fragments.first(&key, fragment.id, packet.ts);
            } else if !self.fragments.later(&mut key, fragment.id, packet.ts) {
                self.stats.unmatched_fragments += 1;
            }
        }
        let hash = key.hash(&self.hasher);
        // Fragments are left out, as Wireshark leaves them out: a first
        // fragment's lengths are not the segment's.
        let segment = if self.tcp_analysis && decoded.fragment.is_none() {
            decoded.tcp_segment()
        } else {
            None
        };
        let counted = self.flows.keeps(hash);
        if !counted {
            self.stats.flow_sampled_out += 1;
            segment?;
        } else if !self.packets.keep_next() {
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
            segment,
            late: false,
            counted,
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

#[cfg(test)]
mod tests {
    use capture::{decode::decode, LinkType};

    use super::*;

    /// A hand-built IPv4 packet (LINKTYPE_RAW): 20-byte header, then `body`.
    /// Fragment fields: id 0x1234, `offset` in 8-byte units, MF as given.
    fn ipv4_fragment(offset: u16, more: bool, body: &[u8]) -> Vec<u8> {
        let total = (20 + body.len()) as u16;
        let flags_offset = offset | if more { 0x2000 } else { 0 };
        let mut p = vec![
            0x45, 0, // version 4, IHL 5; DSCP/ECN
        ];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&0x1234u16.to_be_bytes()); // identification
        p.extend_from_slice(&flags_offset.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0]); // TTL, UDP, checksum (unchecked)
        p.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 7]); // src, dst
        p.extend_from_slice(body);
        p
    }

    /// UDP header 5000 → 53, length 16, then 8 payload bytes.
    const UDP_FIRST: [u8; 16] = [0x13, 0x88, 0, 53, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

    fn observe_all(observer: &mut Observer, packets: &[Vec<u8>]) -> Vec<Observation> {
        packets
            .iter()
            .enumerate()
            .filter_map(|(i, data)| {
                let packet = RawPacket {
                    ts: Timestamp(i as u64 * 1000),
                    link: LinkType::RAW,
                    interface: 0,
                    orig_len: data.len() as u32,
                    data,
                };
                let decoded = decode(&packet).expect("valid packet");
                observer.observe(&packet, &decoded)
            })
            .collect()
    }

    #[test]
    fn later_fragments_join_the_first_fragments_flow() {
        let mut observer = Observer::new(&AggConfig::default(), ObservationPoints::default());
        let seen = observe_all(
            &mut observer,
            &[
                ipv4_fragment(0, true, &UDP_FIRST),
                ipv4_fragment(2, true, &[0; 16]),
                ipv4_fragment(4, false, &[0; 8]),
            ],
        );
        assert!(seen.iter().all(|o| o.key.ports() == Some((5000, 53))));
        // Payload: 8 after the UDP header, then every byte of later fragments.
        let payload: Vec<_> = seen.iter().map(|o| o.payload_len).collect();
        assert_eq!(payload, vec![8, 16, 8]);
        assert_eq!(observer.stats().unmatched_fragments, 0);
    }

    #[test]
    fn a_fragment_before_its_first_fragment_is_counted_with_null_ports() {
        let mut observer = Observer::new(&AggConfig::default(), ObservationPoints::default());
        let seen = observe_all(
            &mut observer,
            &[
                ipv4_fragment(2, false, &[0; 8]),
                ipv4_fragment(0, true, &UDP_FIRST),
            ],
        );
        assert_eq!(seen.len(), 2, "never dropped");
        assert_eq!(seen[0].key.ports(), None);
        assert_eq!(seen[0].key.proto, 17);
        assert_eq!(seen[1].key.ports(), Some((5000, 53)));
        assert_eq!(observer.stats().unmatched_fragments, 1);
    }

    #[test]
    fn flow_sampling_drops_whole_flows_and_counts_their_packets() {
        let config = AggConfig {
            flow_sample: 0.5,
            ..AggConfig::default()
        };
        let mut observer = Observer::new(&config, ObservationPoints::default());
        let packets: Vec<_> = (0..400u16)
            .flat_map(|port| {
                let mut udp = UDP_FIRST;
                udp[..2].copy_from_slice(&port.to_be_bytes());
                let p = ipv4_fragment(0, false, &udp);
                [p.clone(), p]
            })
            .collect();
        let seen = observe_all(&mut observer, &packets);
        // Both packets of a flow share its fate: kept flows come in pairs.
        assert_eq!(seen.len() % 2, 0);
        assert!(seen.chunks(2).all(|pair| pair[0].key == pair[1].key));
        assert_eq!(seen.len() as u64 + observer.stats().flow_sampled_out, 800);
    }
}
