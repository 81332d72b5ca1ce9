//! The flow key: innermost 5-tuple (ICMP type/code instead of ports) plus the
//! observation point (docs/record.md, "The flow key", "The observation point").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use capture::decode::{Decoded, IpView};

use crate::ObsId;

/// What the port fields of a [`FlowKey`] hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PortKind {
    /// No ports: another protocol, or a fragment whose first fragment was not seen.
    None,
    /// Source and destination port.
    Ports,
    /// ICMP type and code.
    Icmp,
}

/// The address family and what the port fields hold, packed in one byte so
/// that the key stays at 40 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyShape(u8);

impl KeyShape {
    const V6: u8 = 0x80;

    pub(crate) fn new(v6: bool, kind: PortKind) -> Self {
        KeyShape(if v6 { Self::V6 } else { 0 } | kind as u8)
    }

    /// Whether the addresses are IPv6 (else IPv4, stored IPv4-mapped).
    pub fn is_v6(self) -> bool {
        self.0 & Self::V6 != 0
    }

    /// What the port fields hold.
    pub fn port_kind(self) -> PortKind {
        match self.0 & !Self::V6 {
            1 => PortKind::Ports,
            2 => PortKind::Icmp,
            _ => PortKind::None,
        }
    }
}

/// A unidirectional flow at one observation point.
///
/// `Copy + Eq + Hash`, 40 bytes. Field order is the output order of records
/// within an interval (observation point, then key), so `Ord` is derived.
/// Addresses are 16 bytes; IPv4 is stored IPv4-mapped and `shape` says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Observation point (interface and mirror tunnel), interned.
    pub obs: ObsId,
    /// Address family and port kind.
    pub shape: KeyShape,
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// IANA protocol number.
    pub proto: u8,
    /// Source port, or ICMP type.
    pub src_port: u16,
    /// Destination port, or ICMP code.
    pub dst_port: u16,
}

const _: () = assert!(std::mem::size_of::<FlowKey>() <= 40);

impl FlowKey {
    /// The key of a decoded packet, before fragment attribution.
    pub fn from_decoded(decoded: &Decoded<'_>, obs: ObsId) -> FlowKey {
        let (v6, src, dst) = match &decoded.ip {
            IpView::V4(h) => (
                false,
                Ipv4Addr::from(h.source()).to_ipv6_mapped().octets(),
                Ipv4Addr::from(h.destination()).to_ipv6_mapped().octets(),
            ),
            IpView::V6(h) => (true, h.source(), h.destination()),
        };
        let mut key = FlowKey {
            obs,
            shape: KeyShape::new(v6, PortKind::None),
            src,
            dst,
            proto: decoded.proto.0,
            src_port: 0,
            dst_port: 0,
        };
        if let Some((src_port, dst_port)) = decoded.transport.ports() {
            key.set_ports(PortKind::Ports, src_port, dst_port);
        } else if let capture::decode::Transport::Icmp { icmp_type, code } = decoded.transport {
            key.set_ports(PortKind::Icmp, u16::from(icmp_type), u16::from(code));
        }
        key
    }

    pub(crate) fn set_ports(&mut self, kind: PortKind, src: u16, dst: u16) {
        self.shape = KeyShape::new(self.shape.is_v6(), kind);
        self.src_port = src;
        self.dst_port = dst;
    }

    /// Source address in its own family.
    pub fn src_ip(&self) -> IpAddr {
        addr(self.shape.is_v6(), self.src)
    }

    /// Destination address in its own family.
    pub fn dst_ip(&self) -> IpAddr {
        addr(self.shape.is_v6(), self.dst)
    }

    /// Source and destination port, where the protocol has ports.
    pub fn ports(&self) -> Option<(u16, u16)> {
        (self.shape.port_kind() == PortKind::Ports).then_some((self.src_port, self.dst_port))
    }

    /// ICMP type and code, for ICMP and ICMPv6.
    pub fn icmp(&self) -> Option<(u8, u8)> {
        (self.shape.port_kind() == PortKind::Icmp)
            .then_some((self.src_port as u8, self.dst_port as u8))
    }

    /// The derived order for two keys of the same observation point, with
    /// the addresses compared as big-endian integers (bytewise order, without
    /// a `memcmp` call): records are sorted by the million.
    #[inline]
    pub(crate) fn cmp_at_point(&self, other: &FlowKey) -> std::cmp::Ordering {
        let fields = |k: &FlowKey| {
            (
                k.shape,
                u128::from_be_bytes(k.src),
                u128::from_be_bytes(k.dst),
                k.proto,
                k.src_port,
                k.dst_port,
            )
        };
        fields(self).cmp(&fields(other))
    }

    /// The one hash of the key: picks the shard, finds the flow-table slot and
    /// decides flow sampling. The observation point is left out, so the same
    /// flow seen at two mirror sessions is sampled the same way at both.
    ///
    /// Both directions of a conversation hash their shared, ordered form, and
    /// the reverse direction's hash differs only outside the bits
    /// [`crate::shard_of`] reads (`key::REVERSE`): the two directions meet in
    /// one shard, where TCP analysis needs them both, and still take
    /// different table slots and sampling draws.
    #[inline(never)]
    pub fn hash(&self, state: &foldhash::fast::FixedState) -> u64 {
        use std::hash::BuildHasher;
        let (forward, is_forward) = self.oriented();
        let ports = u32::from(forward.src_port) << 16 | u32::from(forward.dst_port);
        // Addresses as integers: a `u128` hashes in one step where a byte
        // array hashes its length and then its bytes.
        let (a, b) = (
            u128::from_ne_bytes(forward.src),
            u128::from_ne_bytes(forward.dst),
        );
        let hash = state.hash_one((a, b, ports, self.proto, self.shape));
        other_direction(hash, !is_forward)
    }

    /// Whether this is the conversation's forward direction: its source
    /// (address, port) is not above its destination's. Addresses compare as
    /// integers in native order: any total order serves.
    #[inline]
    pub(crate) fn forward(&self) -> bool {
        let (src, dst) = (u128::from_ne_bytes(self.src), u128::from_ne_bytes(self.dst));
        // `|` and `&`, not `||` and `&&`: no branch to mispredict.
        (src < dst) | ((src == dst) & (self.src_port <= self.dst_port))
    }

    /// The conversation's forward key, and whether this key is it. Chosen by
    /// mask, not by branch: packets of the two directions come in no order a
    /// branch predictor learns.
    #[inline]
    pub(crate) fn oriented(&self) -> (FlowKey, bool) {
        let is_forward = self.forward();
        let swap = u128::from(!is_forward).wrapping_neg();
        let (src, dst) = (u128::from_ne_bytes(self.src), u128::from_ne_bytes(self.dst));
        let addresses = (src ^ dst) & swap;
        let ports = (self.src_port ^ self.dst_port) & (swap as u16);
        let key = FlowKey {
            src: (src ^ addresses).to_ne_bytes(),
            dst: (dst ^ addresses).to_ne_bytes(),
            src_port: self.src_port ^ ports,
            dst_port: self.dst_port ^ ports,
            ..*self
        };
        (key, is_forward)
    }

    /// The key of the other direction of the conversation.
    pub(crate) fn reversed(&self) -> FlowKey {
        FlowKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            ..*self
        }
    }
}

/// What the reverse direction's hash flips of the forward's: the low 32 bits
/// (the flow table's slot) and the top 7 (its tag), never bits 32–56, which
/// pick the shard.
const REVERSE: u64 = 0xfe00_0000_9e37_79b9;

/// The hash of the other direction's key, from one direction's, when `flip`
/// (by mask: no branch).
#[inline]
pub(crate) fn other_direction(hash: u64, flip: bool) -> u64 {
    hash ^ (REVERSE & u64::from(flip).wrapping_neg())
}

fn addr(v6: bool, octets: [u8; 16]) -> IpAddr {
    let v6addr = Ipv6Addr::from(octets);
    match (v6, v6addr.to_ipv4_mapped()) {
        (false, Some(v4)) => IpAddr::V4(v4),
        _ => IpAddr::V6(v6addr),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Any key, with few distinct values per field, so that many pairs tie
    /// on a prefix; addresses IPv4-mapped half of the time, at three points.
    pub(crate) fn key() -> impl Strategy<Value = FlowKey> {
        let byte = prop::sample::select(vec![0u8, 1, 255]);
        let addr = (any::<bool>(), prop::array::uniform16(byte)).prop_map(|(mapped, mut a)| {
            if mapped {
                a[..12].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
            }
            a
        });
        let ports = (0u8..3, 0u16..3, 0u16..3);
        (0u16..3, 0u8..3, any::<bool>(), addr.clone(), addr, ports).prop_map(
            |(obs, kind, v6, src, dst, (proto, src_port, dst_port))| FlowKey {
                obs: ObsId(obs),
                shape: KeyShape::new(
                    v6,
                    [PortKind::None, PortKind::Ports, PortKind::Icmp][usize::from(kind)],
                ),
                src,
                dst,
                proto,
                src_port,
                dst_port,
            },
        )
    }

    proptest! {
        /// Both directions meet in one shard, whatever the shard count,
        /// and still differ in their hash (unless they are the same key).
        #[test]
        fn both_directions_share_a_shard(a in key(), shards in 1usize..64) {
            let state = foldhash::fast::FixedState::with_seed(7);
            let (h, r) = (a.hash(&state), a.reversed().hash(&state));
            prop_assert_eq!(crate::shard_of(h, shards), crate::shard_of(r, shards));
            prop_assert_eq!(h == r, a == a.reversed());
            prop_assert_eq!(a.reversed().reversed(), a);
            let (forward, is_forward) = a.oriented();
            prop_assert_eq!(forward, if is_forward { a } else { a.reversed() });
            prop_assert_eq!(a.reversed().oriented().0, forward);
        }

        #[test]
        fn the_fast_order_is_the_derived_order(a in key(), b in key()) {
            let b = FlowKey { obs: a.obs, ..b };
            prop_assert_eq!(a.cmp_at_point(&b), a.cmp(&b));
        }
    }
}
