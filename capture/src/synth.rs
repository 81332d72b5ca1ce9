//! Synthetic capture traces for benchmarks and tests (feature `synth`).
//!
//! Deterministic for a seed: `flows` distinct IPv4 TCP/UDP 5-tuples over
//! Ethernet (optionally behind an 802.1Q tag), each packet of a random flow,
//! written as a classic microsecond pcap. Packets are cut to `snaplen` as a
//! capture with `-s` would, with the original length kept.

use std::io::{self, Write};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceSpec {
    /// Packets in the trace.
    pub packets: u64,
    /// Distinct flows the packets are spread over, uniformly at random.
    pub flows: u32,
    /// IP datagram length of every packet (28..=9000).
    pub ip_len: u16,
    /// Bytes captured per frame (frames are 14 + `ip_len` bytes, or 18 tagged).
    pub snaplen: u32,
    /// Packets per second of packet time (sets the trace's span).
    pub rate_pps: u64,
    /// One packet in this many carries an 802.1Q tag (0: none).
    pub vlan_one_in: u32,
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
            seed: 1,
        }
    }
}

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
    let mut frame = vec![0u8; 18 + ip_len];
    let start_ns: u64 = 1_700_000_000 * 1_000_000_000;
    for n in 0..spec.packets {
        let flow = (rng.next() % u64::from(spec.flows.max(1))) as u32;
        let tagged = spec.vlan_one_in != 0 && rng.next() % u64::from(spec.vlan_one_in) == 0;
        let len = build_frame(&mut frame, flow, ip_len, tagged);
        let ts = start_ns + n * 1_000_000_000 / spec.rate_pps.max(1);
        let caplen = len.min(spec.snaplen as usize);
        let mut record = [0u8; 16];
        record[..4].copy_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        record[4..8].copy_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
        record[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        record[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        out.write_all(&record)?;
        out.write_all(&frame[..caplen])?;
        written += 16 + caplen as u64;
    }
    Ok(written)
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

fn build_frame(frame: &mut [u8], flow: u32, ip_len: usize, tagged: bool) -> usize {
    let (src, dst, sport, dport, proto) = flow_tuple(flow);
    frame[..12].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
    let mut at = 12;
    if tagged {
        frame[at..at + 4].copy_from_slice(&[0x81, 0x00, 0x00, 0x64]); // VLAN 100
        at += 4;
    }
    frame[at..at + 2].copy_from_slice(&[0x08, 0x00]);
    at += 2;
    let ip = &mut frame[at..at + 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let l4 = &mut frame[at + 20..at + 40];
    l4.fill(0);
    l4[..2].copy_from_slice(&sport.to_be_bytes());
    l4[2..4].copy_from_slice(&dport.to_be_bytes());
    if proto == 6 {
        l4[12] = 0x50; // data offset 5
        l4[13] = 0x10; // ACK
    } else {
        l4[4..6].copy_from_slice(&((ip_len - 20) as u16).to_be_bytes());
    }
    at + ip_len
}
