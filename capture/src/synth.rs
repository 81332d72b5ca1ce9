//! Synthetic capture traces for benchmarks and tests (feature `synth`).
//!
//! Deterministic for a seed: `flows` distinct IPv4 TCP/UDP 5-tuples over
//! Ethernet, each packet of a random flow, written as a classic microsecond
//! pcap. Packets are cut to `snaplen` as a capture with `-s` would, with the
//! original length kept.
//!
//! Knobs mix in what mirrors deliver (docs/decoding.md): 802.1Q tags,
//! 802.1ad + 802.1Q (QinQ), MPLS label stacks, VXLAN, IPv4 datagrams sent as
//! two fragments, and timestamps that go back a little. All are off by
//! default, and an unused knob draws nothing from the random stream, so a
//! spec that leaves them off writes the bytes it wrote before they existed
//! (benchmark traces stay comparable across versions).
//!
//! `vlan_one_in` tags packets chosen at random. The other `*_one_in` knobs
//! choose by position, the last packet of every N (`n % N == N - 1`, `n`
//! counting datagrams from 0), so a test knows from the spec alone how many
//! packets each one affects: `packets / N`. Knobs with the same N choose the
//! same packets.
//!
//! Nothing is allocated per packet: every frame is built in one buffer.

use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceSpec {
    /// IP datagrams in the trace (a fragmented one is written as two packets).
    pub packets: u64,
    /// Distinct flows the packets are spread over, uniformly at random.
    pub flows: u32,
    /// IP datagram length of every packet (40..=9000; at least
    /// [`MIN_FRAGMENTED_LEN`] for a fragmented datagram).
    pub ip_len: u16,
    /// Bytes captured per frame (a plain frame is 14 + `ip_len` bytes).
    pub snaplen: u32,
    /// Datagrams per second of packet time (sets the trace's span).
    pub rate_pps: u64,
    /// One packet in this many, chosen at random, carries an 802.1Q tag (0: none).
    pub vlan_one_in: u32,
    /// One packet in this many carries an 802.1ad service tag (VLAN 200) in
    /// front of an 802.1Q tag (VLAN 100), instead of a single tag (0: none).
    pub qinq_one_in: u32,
    /// One packet in this many carries an MPLS label stack of 1 or 2 labels
    /// (by flow) between the tags and the IP header (0: none).
    pub mpls_one_in: u32,
    /// One packet in this many travels in VXLAN to UDP port 4789, VNI
    /// 100 + flow % 4, the flow's frame inside; tags and labels go on the
    /// outer frame (0: none).
    pub vxlan_one_in: u32,
    /// One datagram in this many is sent as two IPv4 fragments with the same
    /// id: the first carries the transport header, the second (MF clear) the
    /// rest. Both fragments share the datagram's timestamp and wrapping (0: none).
    pub fragment_one_in: u32,
    /// Each datagram's timestamp is moved back by a random 0..`jitter_us`
    /// microseconds, so packets reach a closed interval late (0: none).
    pub jitter_us: u32,
    /// Seed of the flow choice.
    pub seed: u64,
}

impl Default for TraceSpec {
    fn default() -> Self {
        TraceSpec {
            packets: 1_000_000,
            flows: 10_000,
            ip_len: 1500,
            snaplen: 65_535,
            rate_pps: 1_000_000,
            vlan_one_in: 0,
            qinq_one_in: 0,
            mpls_one_in: 0,
            vxlan_one_in: 0,
            fragment_one_in: 0,
            jitter_us: 0,
            seed: 1,
        }
    }
}

/// A fragmented datagram is at least this long: the first fragment carries
/// 24 bytes (the 20-byte TCP header rounded up to the 8-byte unit of fragment
/// offsets, RFC 791 §3.1), the second at least one unit.
pub const MIN_FRAGMENTED_LEN: usize = IPV4_LEN + FIRST_FRAGMENT_MIN + 8;

const IPV4_LEN: usize = 20;
/// The part of a datagram after the IP header that the generator writes: the
/// TCP header, or the UDP header and zeros.
const TRANSPORT_LEN: usize = 20;
const FIRST_FRAGMENT_MIN: usize = 24;
const MAX_LABELS: usize = 2;
/// MAC addresses, two tags, the EtherType, the labels.
const MAX_LINK_LEN: usize = 12 + 8 + 2 + 4 * MAX_LABELS;
/// Outer IPv4, UDP, VXLAN and the inner Ethernet header.
const VXLAN_OVERHEAD: usize = IPV4_LEN + 8 + 8 + 14;
/// Bytes before the flow's IP header, at most.
const HEADROOM: usize = MAX_LINK_LEN + VXLAN_OVERHEAD;
/// Bytes any frame's headers may have written.
const HEADERS_MAX: usize = HEADROOM + IPV4_LEN + TRANSPORT_LEN;

const MACS: [u8; 12] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
const VTEP_SRC: [u8; 4] = [192, 0, 2, 1];
const VTEP_DST: [u8; 4] = [192, 0, 2, 254];
const VXLAN_PORT: u16 = 4789;

/// xorshift64*: enough randomness for choosing flows, and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Whether datagram `n` is the last of a run of `one_in` (never for 0).
fn chosen(n: u64, one_in: u32) -> bool {
    one_in != 0 && n % u64::from(one_in) == u64::from(one_in) - 1
}

/// Writes the trace as a classic pcap (link type Ethernet) to `out`; returns
/// the file's length in bytes.
pub fn write_pcap(spec: &TraceSpec, out: &mut impl Write) -> io::Result<u64> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&[0; 8]);
    header.extend_from_slice(&spec.snaplen.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes());
    out.write_all(&header)?;
    let mut written = header.len() as u64;

    let mut rng = Rng(spec.seed | 1);
    let ip_len = usize::from(spec.ip_len.clamp(40, 9000));
    let mut frame = vec![0u8; HEADROOM + ip_len.max(MIN_FRAGMENTED_LEN)];
    let start_ns: u64 = 1_700_000_000 * 1_000_000_000;
    for n in 0..spec.packets {
        // Draw only for the knobs in use, so that the others leave the
        // stream, and so the trace, as it was.
        let flow = (rng.next() % u64::from(spec.flows.max(1))) as u32;
        let tagged = spec.vlan_one_in != 0 && rng.next() % u64::from(spec.vlan_one_in) == 0;
        let jitter_ns = match spec.jitter_us {
            0 => 0,
            us => rng.next() % u64::from(us) * 1000,
        };
        let ts = start_ns + n * 1_000_000_000 / spec.rate_pps.max(1) - jitter_ns;
        let shape = Shape::of(spec, n, flow, tagged);
        if chosen(n, spec.fragment_one_in) {
            for piece in Piece::fragments(ip_len.max(MIN_FRAGMENTED_LEN), n as u16) {
                let len = build_frame(&mut frame, flow, shape, piece);
                written += write_record(out, ts, &frame[..len], spec.snaplen)?;
            }
        } else {
            let len = build_frame(&mut frame, flow, shape, Piece::whole(ip_len));
            written += write_record(out, ts, &frame[..len], spec.snaplen)?;
        }
    }
    Ok(written)
}

/// Writes one pcap record of `frame` cut to `snaplen`; returns its length.
fn write_record(out: &mut impl Write, ts: u64, frame: &[u8], snaplen: u32) -> io::Result<u64> {
    let caplen = frame.len().min(snaplen as usize);
    let mut record = [0u8; 16];
    record[..4].copy_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
    record[4..8].copy_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
    record[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
    record[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    out.write_all(&record)?;
    out.write_all(&frame[..caplen])?;
    Ok(16 + caplen as u64)
}

/// The flow's 5-tuple: 10.x.y.z → 172.16.0.1, ports from the flow number,
/// TCP for even flows and UDP for odd ones.
pub fn flow_tuple(flow: u32) -> ([u8; 4], [u8; 4], u16, u16, u8) {
    let [_, a, b, c] = flow.to_be_bytes();
    let proto = if flow % 2 == 0 { 6 } else { 17 };
    (
        [10, a, b, c],
        [172, 16, 0, 1],
        1024 + (flow % 60_000) as u16,
        443,
        proto,
    )
}

/// VLAN tags in front of the EtherType.
#[derive(Debug, Clone, Copy)]
enum Tags {
    None,
    /// 802.1Q, VLAN 100.
    Vlan,
    /// 802.1ad service tag, VLAN 200, then 802.1Q, VLAN 100.
    QinQ,
}

/// How a datagram is carried: the wrapping of its frame.
#[derive(Debug, Clone, Copy)]
struct Shape {
    tags: Tags,
    labels: usize,
    vxlan: bool,
}

impl Shape {
    fn of(spec: &TraceSpec, n: u64, flow: u32, tagged: bool) -> Shape {
        let tags = if chosen(n, spec.qinq_one_in) {
            Tags::QinQ
        } else if tagged {
            Tags::Vlan
        } else {
            Tags::None
        };
        // Bit 1, not bit 0: the parity of the flow already picks TCP or UDP.
        let labels = if chosen(n, spec.mpls_one_in) {
            1 + ((flow >> 1) & 1) as usize
        } else {
            0
        };
        let vxlan = chosen(n, spec.vxlan_one_in);
        Shape {
            tags,
            labels,
            vxlan,
        }
    }
}

/// One IPv4 packet on the wire: a whole datagram or one of its fragments.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Length of the whole datagram, which the transport header describes.
    datagram_len: usize,
    /// This packet's Total Length.
    len: usize,
    /// Where this packet's payload sits in the datagram's, in bytes.
    offset: usize,
    /// More fragments follow.
    more: bool,
    id: u16,
}

impl Piece {
    fn whole(len: usize) -> Piece {
        Piece {
            datagram_len: len,
            len,
            offset: 0,
            more: false,
            id: 0,
        }
    }

    /// The two fragments of a datagram of `len` (at least [`MIN_FRAGMENTED_LEN`]).
    fn fragments(len: usize, id: u16) -> [Piece; 2] {
        let payload = len - IPV4_LEN;
        // RFC 791: every fragment but the last carries a multiple of 8 bytes.
        let first = (payload / 2 / 8 * 8).max(FIRST_FRAGMENT_MIN);
        [
            Piece {
                datagram_len: len,
                len: IPV4_LEN + first,
                offset: 0,
                more: true,
                id,
            },
            Piece {
                datagram_len: len,
                len: IPV4_LEN + payload - first,
                offset: first,
                more: false,
                id,
            },
        ]
    }
}

/// Builds the frame carrying `piece` of the flow's datagram at the start of
/// `frame`; returns its length.
fn build_frame(frame: &mut [u8], flow: u32, shape: Shape, piece: Piece) -> usize {
    // Headers of the previous frame may sit where this one has payload.
    frame[..HEADERS_MAX].fill(0);
    let link_len = write_link(frame, shape);
    let ip_at = link_len + if shape.vxlan { VXLAN_OVERHEAD } else { 0 };
    write_datagram(&mut frame[ip_at..], flow, piece);
    if shape.vxlan {
        write_vxlan(&mut frame[link_len..ip_at], flow, piece.len);
    }
    ip_at + piece.len
}

/// Ethernet, tags and MPLS labels up to the IPv4 header; returns their length.
fn write_link(frame: &mut [u8], shape: Shape) -> usize {
    frame[..12].copy_from_slice(&MACS);
    let mut at = 12;
    let tags: &[u8] = match shape.tags {
        Tags::None => &[],
        Tags::Vlan => &[0x81, 0x00, 0x00, 100],
        Tags::QinQ => &[0x88, 0xa8, 0x00, 200, 0x81, 0x00, 0x00, 100],
    };
    frame[at..at + tags.len()].copy_from_slice(tags);
    at += tags.len();
    if shape.labels == 0 {
        frame[at..at + 2].copy_from_slice(&[0x08, 0x00]);
        return at + 2;
    }
    frame[at..at + 2].copy_from_slice(&[0x88, 0x47]);
    at += 2;
    for i in 0..shape.labels {
        // RFC 3032 §2.1: label (20 bits; 0-15 reserved), TC, bottom of stack, TTL.
        let bottom = u32::from(i + 1 == shape.labels);
        let entry = ((16 + i as u32) << 12) | (bottom << 8) | 64;
        frame[at..at + 4].copy_from_slice(&entry.to_be_bytes());
        at += 4;
    }
    at
}

/// Outer IPv4, UDP, VXLAN and inner Ethernet headers in front of an inner IP
/// packet of `inner_ip_len` bytes.
fn write_vxlan(buf: &mut [u8], flow: u32, inner_ip_len: usize) {
    let outer_len = VXLAN_OVERHEAD + inner_ip_len;
    write_ipv4(buf, outer_len, 0, 0, 17, VTEP_SRC, VTEP_DST);
    let udp = &mut buf[IPV4_LEN..IPV4_LEN + 8];
    // RFC 7348 §5: the source port spreads flows over ECMP paths; a zero UDP
    // checksum is allowed over IPv4.
    udp[..2].copy_from_slice(&(49_152 + (flow % 16_384) as u16).to_be_bytes());
    udp[2..4].copy_from_slice(&VXLAN_PORT.to_be_bytes());
    udp[4..6].copy_from_slice(&((outer_len - IPV4_LEN) as u16).to_be_bytes());
    let vxlan = &mut buf[IPV4_LEN + 8..IPV4_LEN + 16];
    vxlan[0] = 0x08; // I flag: the VNI is valid
    vxlan[4..7].copy_from_slice(&(100 + flow % 4).to_be_bytes()[1..]);
    let inner = &mut buf[IPV4_LEN + 16..];
    inner[..12].copy_from_slice(&MACS);
    inner[12..14].copy_from_slice(&[0x08, 0x00]);
}

/// The flow's IPv4 header and, in the first or only fragment, its transport header.
fn write_datagram(buf: &mut [u8], flow: u32, piece: Piece) {
    let (src, dst, sport, dport, proto) = flow_tuple(flow);
    let more = if piece.more { 0x2000 } else { 0 };
    let frag = more | (piece.offset / 8) as u16;
    write_ipv4(buf, piece.len, piece.id, frag, proto, src, dst);
    if piece.offset != 0 {
        return;
    }
    let l4 = &mut buf[IPV4_LEN..IPV4_LEN + TRANSPORT_LEN];
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    if proto == 6 {
        l4[12] = 0x50; // data offset 5
        l4[13] = 0x10; // ACK
    } else {
        l4[4..6].copy_from_slice(&((piece.datagram_len - IPV4_LEN) as u16).to_be_bytes());
    }
}

/// A 20-byte IPv4 header. The checksum stays zero: the decoder does not check
/// it (captures on a host with checksum offload hold unfilled ones).
fn write_ipv4(
    buf: &mut [u8],
    len: usize,
    id: u16,
    frag: u16,
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
) {
    let ip = &mut buf[..IPV4_LEN];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{decode, Decoded, EncapKind, IpView};
    use crate::{LinkType, RawPacket, Timestamp};

    fn trace(spec: TraceSpec) -> Vec<u8> {
        let mut out = Vec::new();
        write_pcap(&spec, &mut out).unwrap();
        out
    }

    /// The records of a little-endian µs pcap, read by hand here so that the
    /// tests do not lean on the capture reader.
    fn packets(trace: &[u8]) -> Vec<RawPacket<'_>> {
        let mut out = Vec::new();
        let mut at = 24;
        while at < trace.len() {
            let word = |i: usize| u32::from_le_bytes(trace[at + i..at + i + 4].try_into().unwrap());
            let caplen = word(8) as usize;
            out.push(RawPacket {
                ts: Timestamp::from_parts(u64::from(word(0)), u64::from(word(4)) * 1000),
                link: LinkType::ETHERNET,
                interface: 0,
                orig_len: word(12),
                data: &trace[at + 16..at + 16 + caplen],
            });
            at += 16 + caplen;
        }
        out
    }

    /// FNV-1a: a fingerprint of a trace.
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Decodes `packet`, reads its flow number back from the source address
    /// and checks the rest of the key against `flow_tuple`.
    fn decode_flow<'a>(packet: &RawPacket<'a>) -> (u32, Decoded<'a>) {
        let decoded = decode(packet).unwrap_or_else(|e| panic!("{e}: {:02x?}", packet.data));
        let IpView::V4(ip) = &decoded.ip else {
            panic!("not IPv4")
        };
        let [ten, a, b, c] = ip.source();
        assert_eq!(ten, 10);
        let flow = u32::from_be_bytes([0, a, b, c]);
        let (_, dst, sport, dport, proto) = flow_tuple(flow);
        assert_eq!(ip.destination(), dst);
        assert_eq!(decoded.proto.0, proto);
        if decoded.fragment.is_none_or(|f| f.is_first()) {
            assert_eq!(decoded.transport.ports(), Some((sport, dport)));
        }
        (flow, decoded)
    }

    #[test]
    fn default_knobs_write_the_bytes_written_before_the_knobs_existed() {
        // Fingerprints of the generator as it was before tunnels, fragments,
        // QinQ, MPLS and jitter were added (commit 31501a5).
        let full = trace(TraceSpec {
            packets: 1000,
            ..TraceSpec::default()
        });
        assert_eq!((fnv(&full), full.len()), (0x0202_c872_f691_9620, 1_530_024));
        let cut = trace(TraceSpec {
            packets: 1000,
            flows: 1_000_000,
            ip_len: 64,
            snaplen: 128,
            rate_pps: 10_000,
            seed: 7,
            ..TraceSpec::default()
        });
        assert_eq!((fnv(&cut), cut.len()), (0xaf13_2c60_84ea_f14c, 94_024));
    }

    #[test]
    fn without_knobs_every_packet_is_plain_ethernet_ipv4() {
        let trace = trace(TraceSpec {
            packets: 500,
            ip_len: 100,
            ..TraceSpec::default()
        });
        let packets = packets(&trace);
        assert_eq!(packets.len(), 500);
        for packet in &packets {
            assert_eq!(packet.data[12..14], [0x08, 0x00]);
            let (_, decoded) = decode_flow(packet);
            assert_eq!(decoded.mirror, None);
            assert_eq!(decoded.fragment, None);
            assert_eq!(decoded.ip_len, 100);
        }
    }

    #[test]
    fn vxlan_one_in_1_wraps_every_packet_on_the_flows_vni() {
        let trace = trace(TraceSpec {
            packets: 500,
            ip_len: 100,
            vxlan_one_in: 1,
            ..TraceSpec::default()
        });
        let packets = packets(&trace);
        assert_eq!(packets.len(), 500);
        for packet in &packets {
            let (flow, decoded) = decode_flow(packet);
            let mirror = decoded.mirror.unwrap();
            assert_eq!(mirror.encap, EncapKind::Vxlan);
            assert_eq!(mirror.vni, Some(100 + flow % 4));
            assert_eq!(decoded.ip_len, 100);
        }
    }

    #[test]
    fn vxlan_one_in_7_wraps_a_seventh_of_the_packets() {
        let trace = trace(TraceSpec {
            packets: 1000,
            ip_len: 100,
            vxlan_one_in: 7,
            ..TraceSpec::default()
        });
        let wrapped = packets(&trace)
            .iter()
            .filter(|p| decode_flow(p).1.mirror.is_some())
            .count();
        assert_eq!(wrapped, 1000 / 7);
    }

    #[test]
    fn a_fragmented_datagram_is_a_first_fragment_then_a_last_one() {
        for ip_len in [40, 100, 1500] {
            // Some fragmented datagrams travel in VXLAN (n % 6 == 5).
            let trace = trace(TraceSpec {
                packets: 300,
                ip_len,
                fragment_one_in: 3,
                vxlan_one_in: 2,
                ..TraceSpec::default()
            });
            let packets = packets(&trace);
            assert_eq!(packets.len(), 300 + 100);
            let mut pairs = 0;
            let mut i = 0;
            while i < packets.len() {
                let (flow, first) = decode_flow(&packets[i]);
                i += 1;
                let Some(head) = first.fragment else {
                    assert_eq!(first.ip_len, u32::from(ip_len));
                    continue;
                };
                assert!(head.is_first() && head.more, "{head:?}");
                let (later_flow, later) = decode_flow(&packets[i]);
                i += 1;
                let tail = later.fragment.unwrap();
                assert!(!tail.is_first() && !tail.more, "{tail:?}");
                assert_eq!(tail.id, head.id);
                assert_eq!(later_flow, flow);
                assert_eq!(later.transport.ports(), None);
                assert_eq!(later.mirror, first.mirror);
                assert_eq!(packets[i - 1].ts, packets[i - 2].ts);
                // Two IP headers carry the datagram's payload.
                let datagram = usize::from(ip_len).max(MIN_FRAGMENTED_LEN) as u32;
                assert_eq!(first.ip_len + later.ip_len, datagram + 20);
                assert_eq!(u32::from(tail.offset) * 8, first.ip_len - 20);
                pairs += 1;
            }
            assert_eq!(pairs, 100);
        }
    }

    #[test]
    fn qinq_and_mpls_wrap_the_chosen_packets_and_decode_to_their_flow() {
        let trace = trace(TraceSpec {
            packets: 600,
            ip_len: 100,
            vlan_one_in: 4,
            qinq_one_in: 2,
            mpls_one_in: 3,
            vxlan_one_in: 5,
            ..TraceSpec::default()
        });
        let packets = packets(&trace);
        let (mut qinq, mut mpls) = (0, 0);
        for packet in &packets {
            let data = packet.data;
            let mut at = 12;
            if data[at..at + 2] == [0x88, 0xa8] {
                assert_eq!(data[at + 4..at + 6], [0x81, 0x00]);
                qinq += 1;
                at += 8;
            } else if data[at..at + 2] == [0x81, 0x00] {
                at += 4;
            }
            if data[at..at + 2] == [0x88, 0x47] {
                mpls += 1;
            }
            let (_, decoded) = decode_flow(packet);
            assert_eq!((decoded.fragment, decoded.ip_len), (None, 100));
        }
        assert_eq!((qinq, mpls), (600 / 2, 600 / 3));
    }

    #[test]
    fn snaplen_cuts_every_frame_to_a_prefix_and_keeps_its_length() {
        let spec = TraceSpec {
            packets: 300,
            ip_len: 200,
            vlan_one_in: 3,
            qinq_one_in: 5,
            mpls_one_in: 4,
            vxlan_one_in: 2,
            fragment_one_in: 7,
            ..TraceSpec::default()
        };
        let whole = trace(spec);
        let cut = trace(TraceSpec {
            snaplen: 60,
            ..spec
        });
        let (whole, cut) = (packets(&whole), packets(&cut));
        assert_eq!(whole.len(), cut.len());
        for (w, c) in whole.iter().zip(&cut) {
            assert_eq!(w.data.len(), w.orig_len as usize);
            assert_eq!(c.orig_len, w.orig_len);
            assert_eq!(c.data, &w.data[..w.data.len().min(60)]);
        }
    }

    #[test]
    fn jitter_moves_timestamps_back_by_less_than_it() {
        // 100 µs between datagrams, up to 500 µs back: some go backwards.
        let trace = trace(TraceSpec {
            packets: 1000,
            rate_pps: 10_000,
            jitter_us: 500,
            ip_len: 100,
            ..TraceSpec::default()
        });
        let packets = packets(&trace);
        let start = 1_700_000_000 * Timestamp::NANOS_PER_SEC;
        let mut backwards = 0;
        for (n, packet) in packets.iter().enumerate() {
            let base = start + n as u64 * 100_000;
            assert!(packet.ts.nanos() <= base && packet.ts.nanos() > base - 500_000);
            if n > 0 && packet.ts < packets[n - 1].ts {
                backwards += 1;
            }
        }
        assert!(backwards > 0);
    }
}
