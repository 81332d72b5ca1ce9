//! What a flow table holds per flow: the key as the table stores it, and
//! what the flow did so far in one interval.
//!
//! Two kinds of entry, so that the common case is one cache line: a flow
//! whose addresses are IPv4 is stored as a [`V4Entry`] (the key packed in
//! 16 bytes, 64 bytes aligned to a line), any other as a [`WideEntry`] (the
//! whole 40-byte [`FlowKey`], 88 bytes, over two lines). A packet of a flow
//! table bigger than the caches costs the misses of its slot and its entry,
//! so one line instead of two is most of the table's time (a standalone
//! test of 1 M flows: 128 → 90 ns per random update).

use capture::Timestamp;

use crate::{tcp::Mark, FlowKey, FlowRecord, Interval, ObsId, Observation, ObservationPoint};

/// Packets a flow counts in one interval before its count saturates: the
/// top byte of the count word holds the OR of the TCP flags, which keeps the
/// counts at 40 bytes. 2^56 packets is 20 years at 100 Gpps.
const PACKETS_MAX: u64 = (1 << 56) - 1;
const FLAGS_SHIFT: u32 = 56;

/// What a flow did so far in one interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Counts {
    /// Packets in the low 56 bits, TCP flags in the top 8.
    packets_flags: u64,
    pub(crate) bytes: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) first: Timestamp,
    pub(crate) last: Timestamp,
    /// The interval's median round trip in microseconds ([`NO_RTT`]: none).
    pub(crate) rtt_usec: u32,
    /// Retransmitted packets, and [`Mark::ANALYSED`] once TCP analysis
    /// counted a packet of the flow.
    retransmitted: u32,
}

/// [`Counts::rtt_usec`] of a flow without a round trip.
pub(crate) const NO_RTT: u32 = u32::MAX;

impl Counts {
    fn new(ts: Timestamp) -> Self {
        Counts {
            packets_flags: 0,
            bytes: 0,
            payload_bytes: 0,
            first: ts,
            last: ts,
            rtt_usec: NO_RTT,
            retransmitted: 0,
        }
    }

    pub(crate) fn packets(&self) -> u64 {
        self.packets_flags & PACKETS_MAX
    }

    pub(crate) fn tcp_flags(&self) -> u8 {
        (self.packets_flags >> FLAGS_SHIFT) as u8
    }

    /// Counts one packet, `scale` times, with what TCP analysis said of it.
    #[inline]
    pub(crate) fn add(&mut self, obs: &Observation, scale: u64, tcp: Mark) {
        // Saturating: `--packet-sample` accepts any N, and no count may wrap.
        let packets = self.packets().saturating_add(scale).min(PACKETS_MAX);
        let flags = u64::from(self.tcp_flags() | obs.tcp_flags) << FLAGS_SHIFT;
        self.packets_flags = flags | packets;
        self.bytes = self
            .bytes
            .saturating_add(u64::from(obs.ip_len).saturating_mul(scale));
        self.payload_bytes = self
            .payload_bytes
            .saturating_add(u64::from(obs.payload_len).saturating_mul(scale));
        self.first = self.first.min(obs.ts);
        self.last = self.last.max(obs.ts);
        self.retransmitted = tcp.apply(self.retransmitted);
    }

    pub(crate) fn record(
        &self,
        key: FlowKey,
        interval: Interval,
        points: &[ObservationPoint],
    ) -> FlowRecord {
        FlowRecord {
            partial: false,
            interval,
            observation: points[usize::from(key.obs.0)],
            key,
            packets: self.packets(),
            bytes: self.bytes,
            payload_bytes: self.payload_bytes,
            first: self.first,
            last: self.last,
            tcp_flags: self.tcp_flags(),
            rtt_usec: (self.rtt_usec != NO_RTT).then_some(self.rtt_usec),
            retransmitted_packets: Mark::retransmissions(self.retransmitted),
        }
    }
}

/// What a [`crate::table::FlowTable`] holds: an entry found by the key it
/// stores, placed by its key's hash.
pub(crate) trait Keyed {
    /// The key as this kind stores it.
    type Stored: Copy + Eq;
    /// The stored key.
    fn stored(&self) -> &Self::Stored;
    /// The key, as the rest of the program knows it: its hash places the entry.
    fn key(&self) -> FlowKey;
    /// A word of every cache line a lookup reads, read to load them ahead.
    fn touch(&self) -> u64;
}

/// A flow table's entry: a stored key and its counts.
pub(crate) trait Entry: Keyed + Copy + std::fmt::Debug {
    /// `key` as this kind stores it, if it can.
    fn store(key: &FlowKey) -> Option<Self::Stored>;
    /// The entry of a new flow.
    fn new(key: Self::Stored, ts: Timestamp) -> Self;
    /// The key's observation point.
    fn obs(&self) -> ObsId;
    /// [`FlowKey::cmp_at_point`] of the two keys.
    fn cmp_at_point(&self, other: &Self) -> std::cmp::Ordering;
    fn counts(&self) -> &Counts;
    fn counts_mut(&mut self) -> &mut Counts;

    fn record(&self, interval: Interval, points: &[ObservationPoint]) -> FlowRecord {
        self.counts().record(self.key(), interval, points)
    }
}

/// Any key, whole: 88 bytes. `repr(C)`: the key comes first and the
/// counts' `retransmitted` last, so [`Entry::touch`] reads both lines it can span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct WideEntry {
    pub(crate) key: FlowKey,
    pub(crate) counts: Counts,
}

const _: () = assert!(std::mem::size_of::<WideEntry>() == 88);

impl WideEntry {
    pub(crate) fn of(key: FlowKey, ts: Timestamp) -> Self {
        WideEntry {
            key,
            counts: Counts::new(ts),
        }
    }
}

impl Keyed for WideEntry {
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
        u64::from(self.key.src[0]) ^ u64::from(self.counts.retransmitted)
    }
}

impl Entry for WideEntry {
    #[inline]
    fn store(key: &FlowKey) -> Option<FlowKey> {
        Some(*key)
    }

    fn new(key: FlowKey, ts: Timestamp) -> Self {
        WideEntry::of(key, ts)
    }

    fn obs(&self) -> ObsId {
        self.key.obs
    }

    #[inline]
    fn cmp_at_point(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp_at_point(&other.key)
    }

    fn counts(&self) -> &Counts {
        &self.counts
    }

    #[inline]
    fn counts_mut(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

/// The first 12 bytes of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`),
/// which is how a [`FlowKey`] holds an IPv4 address.
const V4_MAPPED: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// The IPv4 address an IPv4-mapped IPv6 address holds: one comparison of
/// the address as an integer, no `memcmp`.
#[inline]
fn mapped_v4(addr: &[u8; 16]) -> Option<[u8; 4]> {
    let addr = u128::from_be_bytes(*addr);
    (addr >> 32 == 0xffff).then(|| (addr as u32).to_be_bytes())
}

/// A key whose addresses are IPv4, in 16 bytes. Field order is
/// [`FlowKey::cmp_at_point`]'s, so `Ord` is derived (the addresses are
/// big-endian: bytewise order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C)]
pub(crate) struct V4Key {
    shape: crate::key::KeyShape,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    src_port: u16,
    dst_port: u16,
    obs: ObsId,
}

impl V4Key {
    /// The packed key, if `key`'s addresses are IPv4 (mapped).
    #[inline]
    fn of(key: &FlowKey) -> Option<V4Key> {
        if key.shape.is_v6() {
            return None;
        }
        Some(V4Key {
            shape: key.shape,
            src: mapped_v4(&key.src)?,
            dst: mapped_v4(&key.dst)?,
            proto: key.proto,
            src_port: key.src_port,
            dst_port: key.dst_port,
            obs: key.obs,
        })
    }

    fn unpack(&self) -> FlowKey {
        let mapped = |addr: [u8; 4]| {
            let mut out = [0; 16];
            out[..12].copy_from_slice(&V4_MAPPED);
            out[12..].copy_from_slice(&addr);
            out
        };
        FlowKey {
            obs: self.obs,
            shape: self.shape,
            src: mapped(self.src),
            dst: mapped(self.dst),
            proto: self.proto,
            src_port: self.src_port,
            dst_port: self.dst_port,
        }
    }
}

/// A flow whose addresses are IPv4: 64 bytes, one aligned cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub(crate) struct V4Entry {
    key: V4Key,
    counts: Counts,
}

const _: () = assert!(std::mem::size_of::<V4Entry>() == 64);

impl Keyed for V4Entry {
    type Stored = V4Key;

    #[inline]
    fn stored(&self) -> &V4Key {
        &self.key
    }

    fn key(&self) -> FlowKey {
        self.key.unpack()
    }

    #[inline]
    fn touch(&self) -> u64 {
        self.counts.last.0
    }
}

impl Entry for V4Entry {
    #[inline]
    fn store(key: &FlowKey) -> Option<V4Key> {
        V4Key::of(key)
    }

    fn new(key: V4Key, ts: Timestamp) -> Self {
        V4Entry {
            key,
            counts: Counts::new(ts),
        }
    }

    fn obs(&self) -> ObsId {
        self.key.obs
    }

    #[inline]
    fn cmp_at_point(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }

    fn counts(&self) -> &Counts {
        &self.counts
    }

    #[inline]
    fn counts_mut(&mut self) -> &mut Counts {
        &mut self.counts
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::key::{
        tests::key,
        {KeyShape, PortKind},
    };

    #[test]
    fn counts_and_flags_share_a_word_without_mixing() {
        let mut counts = Counts::new(Timestamp(5));
        let key = FlowKey {
            obs: ObsId(0),
            shape: KeyShape::new(false, PortKind::Ports),
            src: [0; 16],
            dst: [0; 16],
            proto: 6,
            src_port: 1,
            dst_port: 2,
        };
        let mut o = Observation {
            key,
            hash: 0,
            ts: Timestamp(7),
            ip_len: 100,
            payload_len: 60,
            tcp_flags: 0xff,
            segment: None,
            late: false,
            counted: true,
        };
        counts.add(&o, PACKETS_MAX - 1, Mark::default());
        counts.add(&o, 1, Mark::default());
        assert_eq!((counts.packets(), counts.tcp_flags()), (PACKETS_MAX, 0xff));
        o.tcp_flags = 0;
        counts.add(&o, 5, Mark::default());
        assert_eq!(
            (counts.packets(), counts.tcp_flags()),
            (PACKETS_MAX, 0xff),
            "saturates, never wraps into the flags"
        );
        assert_eq!((counts.first, counts.last), (Timestamp(5), Timestamp(7)));
    }

    proptest! {
        /// A key the one-line entry takes comes back whole, and compares
        /// as the whole key does; any other key is refused.
        #[test]
        fn v4_entries_keep_the_key_and_its_order(a in key(), b in key()) {
            let ts = Timestamp(1);
            match (V4Entry::store(&a), V4Entry::store(&b)) {
                (Some(sa), Some(sb)) => {
                    let (ea, eb) = (V4Entry::new(sa, ts), V4Entry::new(sb, ts));
                    prop_assert_eq!(ea.key(), a);
                    prop_assert_eq!(sa == sb, a == b);
                    if a.obs == b.obs {
                        prop_assert_eq!(ea.cmp_at_point(&eb), a.cmp(&b));
                    }
                }
                (ea, _) => {
                    let mapped = |x: &[u8; 16]| x[..12] == V4_MAPPED;
                    let fits = !a.shape.is_v6() && mapped(&a.src) && mapped(&a.dst);
                    prop_assert_eq!(ea.is_some(), fits);
                }
            }
            let wide = WideEntry::of(a, ts);
            prop_assert_eq!(wide.cmp_at_point(&WideEntry::of(b, ts)), a.cmp_at_point(&b));
        }
    }
}
