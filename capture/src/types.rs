//! Wire numbers and the packet a source lends.

use std::fmt;

/// A capture timestamp: nanoseconds since the Unix epoch.
///
/// Sources convert every resolution (pcap µs/ns, pcapng `if_tsresol`) to this
/// once; only the exporters convert it back (micros for Parquet, RFC 3339 text
/// for NDJSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SEC: u64 = 1_000_000_000;

    /// A timestamp from whole seconds and nanoseconds within the second.
    pub const fn from_parts(secs: u64, nanos: u64) -> Self {
        Timestamp(
            secs.saturating_mul(Self::NANOS_PER_SEC)
                .saturating_add(nanos),
        )
    }

    /// Nanoseconds since the epoch.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.0 / Self::NANOS_PER_SEC
    }
}

/// A pcap `LINKTYPE_*` value (open newtype: unknown values pass through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (and 802.3 + LLC/SNAP).
    pub const ETHERNET: LinkType = LinkType(1);
    /// PPP, protocol field first (optionally after FF 03).
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP on some BSDs.
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP on OpenBSD.
    pub const RAW_14: LinkType = LinkType(14);
    /// PPP in HDLC-like framing.
    pub const PPP_HDLC: LinkType = LinkType(50);
    /// Raw IP, version by the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Cisco HDLC: address, control, then an EtherType (router captures).
    pub const C_HDLC: LinkType = LinkType(104);
    /// 802.11 frames without a radio header.
    pub const IEEE802_11: LinkType = LinkType(105);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// 802.11 frames after a radiotap header.
    pub const RADIOTAP: LinkType = LinkType(127);
    /// Frames after a Per-Packet Information header.
    pub const PPI: LinkType = LinkType(192);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux netfilter log (`tcpdump -i nflog:N`): attributes, one the IP packet.
    pub const NFLOG: LinkType = LinkType(239);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Whether [`crate::decode::decode`] knows this link type.
    pub fn is_supported(self) -> bool {
        matches!(
            self,
            Self::NULL
                | Self::ETHERNET
                | Self::PPP
                | Self::RAW_12
                | Self::RAW_14
                | Self::PPP_HDLC
                | Self::RAW
                | Self::LOOP
                | Self::C_HDLC
                | Self::IEEE802_11
                | Self::LINUX_SLL
                | Self::RADIOTAP
                | Self::PPI
                | Self::IPV4
                | Self::IPV6
                | Self::NFLOG
                | Self::LINUX_SLL2
        )
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One packet as a source lends it: borrowed bytes, valid until the next read.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// Link type of the interface the packet was captured on.
    pub link: LinkType,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    /// Length of the packet on the wire (may exceed `data.len()` under a snaplen).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
}
