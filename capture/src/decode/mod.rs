//! Decoding a captured frame down to its innermost IP packet.
//!
//! Contract (docs/decoding.md): every layer mirrorflow knows is peeled through
//! borrowed views of the packet bytes; nothing here allocates, copies or
//! panics, whatever the bytes are. Every length read from the packet is checked
//! against the captured bytes before use. Decoding stops with a [`DecodeError`]
//! naming the layer, the reason and the offset; the caller counts it.
//!
//! Layers are handled by small modules, one per protocol family: [`link`]
//! (pcap link types, with [`radio`], [`wifi`] and [`nflog`] for 802.11 and
//! netfilter logs), [`ether`] (Ethernet, VLAN tags, LLC/SNAP), [`tags`] (the
//! data-centre tags and wrappers on mirrored frames), [`mpls`],
//! [`ppp`] (PPP and PPPoE), [`ip`] (IPv4, IPv6 and its extension headers) and
//! [`transport`] (ports, ICMP type/code, TCP flags). This module only chains
//! them: [`decode`] walks a [`Next`] state until it reaches IP.

pub mod ether;
pub mod ip;
pub mod link;
pub mod mpls;
pub mod nflog;
pub mod ppp;
pub mod radio;
pub mod tags;
pub mod transport;
pub mod tunnel;
pub mod wifi;

use etherparse::EtherType;

use crate::RawPacket;
pub use ip::{Fragment, IpView};
pub use transport::{TcpFlags, TcpSegment, Transport};
pub use tunnel::{EncapKind, Mirror, NotPeeled};

/// At most this many VLAN tags, and separately MPLS labels, in one frame
/// (docs/decoding.md, "Limits and bad packets"); more is [`ErrorKind::TooDeep`].
pub const MAX_TAGS: usize = 8;

/// The layer a decode error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Layer {
    /// The link-layer header of the capture (SLL, NULL, RAW…).
    Link,
    /// Ethernet II or 802.3 LLC/SNAP.
    Ethernet,
    /// 802.1Q / 802.1ad tags.
    Vlan,
    /// Data-centre tags and wrappers: PBB, VN-Tag, E-tag, Arista, NSH,
    /// MACsec, FabricPath.
    Tag,
    /// MPLS label stack.
    Mpls,
    /// PPP or PPPoE.
    Ppp,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header.
    Ipv6,
    /// IPv6 extension headers.
    Ipv6Ext,
    /// TCP, UDP, SCTP, DCCP, UDP-Lite, ICMP headers.
    Transport,
    /// VXLAN, Geneve, GRE, ERSPAN headers.
    Tunnel,
}

impl Layer {
    /// Every layer, in decoding order (for statistics tables).
    pub const ALL: [Layer; 11] = [
        Layer::Link,
        Layer::Ethernet,
        Layer::Vlan,
        Layer::Tag,
        Layer::Mpls,
        Layer::Ppp,
        Layer::Ipv4,
        Layer::Ipv6,
        Layer::Ipv6Ext,
        Layer::Transport,
        Layer::Tunnel,
    ];

    /// Stable lower-case name, used in statistics.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Tag => "tag",
            Layer::Mpls => "mpls",
            Layer::Ppp => "ppp",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6_ext",
            Layer::Transport => "transport",
            Layer::Tunnel => "tunnel",
        }
    }
}

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A header is cut short by the capture length (snaplen).
    Truncated,
    /// A field contradicts the packet: a bad version, a header length below
    /// the minimum, a declared length shorter than the headers it covers.
    Malformed,
    /// More VLAN tags, MPLS labels or extension headers than the limits allow.
    TooDeep,
    /// The frame carries something other than IP (ARP, LLDP, STP…).
    NotIp,
    /// The interface's link type is not one mirrorflow decodes.
    UnsupportedLink,
    /// A later fragment of a fragmented tunnel packet: its inner packet was
    /// counted with the first fragment (docs/record.md, "The flow key").
    TunnelFragment,
}

impl ErrorKind {
    /// Every kind (for statistics tables).
    pub const ALL: [ErrorKind; 6] = [
        ErrorKind::Truncated,
        ErrorKind::Malformed,
        ErrorKind::TooDeep,
        ErrorKind::NotIp,
        ErrorKind::UnsupportedLink,
        ErrorKind::TunnelFragment,
    ];

    /// Stable lower-case name, used in statistics.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooDeep => "too_deep",
            ErrorKind::NotIp => "non_ip",
            ErrorKind::UnsupportedLink => "unsupported_link",
            ErrorKind::TunnelFragment => "tunnel_fragment",
        }
    }
}

/// A packet that could not be decoded to IP: counted, never a run failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// Where decoding stopped.
    pub layer: Layer,
    /// Why.
    pub kind: ErrorKind,
    /// Byte offset of that layer in the captured frame.
    pub offset: usize,
}

impl DecodeError {
    pub(crate) fn new(layer: Layer, kind: ErrorKind, offset: usize) -> Self {
        DecodeError {
            layer,
            kind,
            offset,
        }
    }

    /// Moves an error found by a layer decoder (offsets relative to that
    /// layer's slice) into frame coordinates.
    pub(crate) fn at(mut self, base: usize) -> Self {
        self.offset += base;
        self
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} at offset {}",
            self.layer.name(),
            self.kind.name(),
            self.offset
        )
    }
}

/// What the layer decoders hand to each other: the next protocol to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// An Ethernet II frame header follows.
    Ethernet,
    /// The payload is identified by an EtherType (after SLL, VLAN, SNAP…).
    EtherType(EtherType),
    /// A data-centre tag or wrapper announced by this EtherType ([`tags`]).
    Tag(EtherType),
    /// An MPLS label stack follows.
    Mpls,
    /// A PPP protocol field follows (possibly after FF 03).
    Ppp,
    /// A PPPoE session header follows.
    Pppoe,
    /// IPv4 or IPv6, told apart by the version nibble.
    IpByVersion,
    /// An IPv4 header follows.
    Ipv4,
    /// An IPv6 header follows.
    Ipv6,
    /// Something that is not IP.
    NotIp,
}

/// A frame decoded to its innermost IP packet, borrowing the packet bytes.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// The innermost IP header.
    pub ip: IpView<'a>,
    /// The transport protocol after any IPv6 extension headers.
    pub proto: etherparse::IpNumber,
    /// Declared length of the IP datagram (IPv4 Total Length, IPv6 Payload
    /// Length + 40): the bytes that crossed the network, whatever the snaplen.
    pub ip_len: u32,
    /// Length of the IP header including options and extension headers.
    pub ip_header_len: u32,
    /// Set when this datagram is a fragment.
    pub fragment: Option<Fragment>,
    /// Ports, ICMP type/code and TCP flags where the protocol has them.
    pub transport: Transport,
    /// The captured bytes of the IP payload, up to the declared length.
    pub ip_payload: &'a [u8],
    /// The outermost mirror tunnel removed: the observation point.
    pub mirror: Option<Mirror>,
    /// ERSPAN type III's hardware timestamp, kept aside (never the capture time).
    pub erspan_timestamp: Option<u32>,
    /// Set when a tunnel header behind this IP header did not decode: the
    /// packet is this IP header's flow (docs/decoding.md, "Limits and bad
    /// packets"), counted as "tunnel not peeled" for this reason.
    pub not_peeled: Option<NotPeeled>,
}

impl Decoded<'_> {
    /// Transport payload carried, from declared lengths (docs/record.md, "Counting").
    pub fn payload_len(&self) -> u32 {
        self.ip_len
            .saturating_sub(self.ip_header_len)
            .saturating_sub(self.transport.header_len())
    }

    /// The captured transport header bytes (empty for later fragments and
    /// protocols without a header mirrorflow reads).
    pub fn transport_header(&self) -> &[u8] {
        let len = (self.transport.header_len() as usize).min(self.ip_payload.len());
        &self.ip_payload[..len]
    }

    /// Sequence, acknowledgement and window of a TCP segment, when captured.
    #[inline]
    pub fn tcp_segment(&self) -> Option<TcpSegment> {
        match self.transport {
            Transport::Tcp { .. } => TcpSegment::read(self.ip_payload),
            _ => None,
        }
    }
}

/// Which tunnels to peel (`--decap`, docs/decoding.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decap {
    /// Keep every tunnel as an ordinary outer flow.
    None,
    /// Peel the mirror tunnels of docs/decoding.md, "Tunnels" (the default).
    #[default]
    Mirror,
    /// Peel mirror tunnels and IP-in-IP (protocols 4 and 41) too.
    Deep,
}

/// Decoding settings: which tunnels to peel, and on which UDP ports VXLAN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeConfig {
    /// Which tunnels to peel.
    pub decap: Decap,
    vxlan_ports: [u16; MAX_VXLAN_PORTS],
    vxlan_port_count: usize,
}

/// `--vxlan-port` may be given this many times (besides 4789).
pub const MAX_VXLAN_PORTS: usize = 8;
/// IANA's VXLAN port (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;

impl Default for DecodeConfig {
    fn default() -> Self {
        let mut vxlan_ports = [0; MAX_VXLAN_PORTS];
        vxlan_ports[0] = VXLAN_PORT;
        DecodeConfig {
            decap: Decap::Mirror,
            vxlan_ports,
            vxlan_port_count: 1,
        }
    }
}

impl DecodeConfig {
    /// Settings peeling `decap` tunnels, with VXLAN on 4789 and `extra_vxlan_ports`.
    /// Returns `None` when more than [`MAX_VXLAN_PORTS`] ports in all are asked for.
    pub fn new(decap: Decap, extra_vxlan_ports: &[u16]) -> Option<Self> {
        let mut config = DecodeConfig {
            decap,
            ..DecodeConfig::default()
        };
        for &port in extra_vxlan_ports {
            if !config.is_vxlan_port(port) {
                *config.vxlan_ports.get_mut(config.vxlan_port_count)? = port;
                config.vxlan_port_count += 1;
            }
        }
        Some(config)
    }

    /// Whether UDP datagrams to `port` are read as VXLAN.
    #[inline]
    pub fn is_vxlan_port(&self, port: u16) -> bool {
        self.vxlan_ports[..self.vxlan_port_count].contains(&port)
    }
}

/// Decodes one captured packet with the default settings (mirror tunnels peeled).
pub fn decode<'a>(packet: &RawPacket<'a>) -> Result<Decoded<'a>, DecodeError> {
    decode_with(packet, &DecodeConfig::default())
}

/// Decodes one captured packet down to its innermost IP packet, peeling the
/// tunnels `config` asks for, at most [`MAX_ENCAPS`] deep.
pub fn decode_with<'a>(
    packet: &RawPacket<'a>,
    config: &DecodeConfig,
) -> Result<Decoded<'a>, DecodeError> {
    let data = packet.data;
    // Bytes the frame had on the wire: what a zero IP length stands for is
    // taken from it (docs/record.md, "Counting"). Never less than captured.
    let wire_len = (packet.orig_len as usize).max(data.len());
    let (mut next, mut offset, end) = link::decode(packet.link, data, wire_len)?;
    // A link trailer (an 802.11 FCS, attributes after an NFLOG payload) is
    // no part of the packet: the frame ends before it.
    let (data, wire_len) = if end == wire_len {
        (data, wire_len)
    } else {
        (&data[..data.len().min(end)], end)
    };
    let mut frame = data;
    let mut tags = TagCount::default();
    let mut mirror = None;
    let mut erspan_timestamp = None;
    let mut depth = 0;
    loop {
        // Errors carry offsets in the captured frame, wherever the layer is.
        let base = frame.as_ptr() as usize - data.as_ptr() as usize;
        let mut decoded = to_ip(
            frame,
            wire_len.saturating_sub(base),
            next,
            offset,
            &mut tags,
        )
        .map_err(|e| e.at(base))?;
        let ip_at = decoded.ip_payload.as_ptr() as usize - data.as_ptr() as usize;
        let inner = match tunnel::peel(&decoded, config).map_err(|e| e.at(ip_at))? {
            tunnel::Peel::Inner(inner) => inner,
            outer => {
                if let tunnel::Peel::NotPeeled(why) = outer {
                    decoded.not_peeled = Some(why);
                }
                decoded.mirror = mirror;
                decoded.erspan_timestamp = erspan_timestamp;
                return Ok(decoded);
            }
        };
        depth += 1;
        if depth > MAX_ENCAPS {
            return Err(DecodeError::new(Layer::Tunnel, ErrorKind::TooDeep, ip_at));
        }
        // The outermost mirror tunnel is the observation point.
        if mirror.is_none() {
            mirror = inner.mirror;
        }
        erspan_timestamp = erspan_timestamp.or(inner.erspan_timestamp);
        frame = inner.frame;
        next = inner.next;
        offset = 0;
    }
}

/// At most this many tunnels in one packet (docs/decoding.md, "Limits and bad packets").
pub const MAX_ENCAPS: usize = 8;

/// VLAN tags and MPLS labels seen so far in the packet, across tunnels.
#[derive(Debug, Default)]
struct TagCount {
    vlan: usize,
    /// Data-centre tags and wrappers ([`tags`]), limited as VLAN tags are.
    wrappers: usize,
}

/// Walks link-level layers from `offset` in `frame` to the IP packet.
/// `wire_len` is the length `frame` had on the wire (at least its captured length).
fn to_ip<'a>(
    mut frame: &'a [u8],
    mut wire_len: usize,
    mut next: Next,
    mut offset: usize,
    tags: &mut TagCount,
) -> Result<Decoded<'a>, DecodeError> {
    loop {
        let rest = &frame[offset..];
        let (step, len) = match next {
            Next::Ethernet => ether::ethernet(rest),
            Next::EtherType(ether_type) => match ether_type {
                EtherType::VLAN_TAGGED_FRAME
                | EtherType::PROVIDER_BRIDGING
                | EtherType::VLAN_DOUBLE_TAGGED_FRAME => {
                    tags.vlan += 1;
                    if tags.vlan > MAX_TAGS {
                        return Err(DecodeError::new(Layer::Vlan, ErrorKind::TooDeep, offset));
                    }
                    ether::vlan(rest)
                }
                other => Ok((ether::next_for(other), 0)),
            },
            Next::Tag(ether_type) => {
                tags.wrappers += 1;
                if tags.wrappers > MAX_TAGS {
                    return Err(DecodeError::new(Layer::Tag, ErrorKind::TooDeep, offset));
                }
                let (step, len, trailer) = tags::tag(ether_type, rest).map_err(|e| e.at(offset))?;
                if trailer > 0 {
                    // MACsec's ICV ends the frame and is no part of the
                    // packet; a frame too short to hold it is malformed.
                    wire_len = wire_len
                        .checked_sub(trailer)
                        .filter(|&end| end >= offset + len)
                        .ok_or(DecodeError::new(Layer::Tag, ErrorKind::Malformed, offset))?;
                    frame = &frame[..frame.len().min(wire_len)];
                }
                Ok((step, len))
            }
            Next::Mpls => mpls::label_stack(rest),
            Next::Ppp => ppp::protocol(rest),
            Next::Pppoe => ppp::pppoe_session(rest),
            Next::IpByVersion => ip::by_version(rest).map(|next| (next, 0)),
            Next::Ipv4 => {
                return ip::ipv4(rest, wire_len.saturating_sub(offset)).map_err(|e| e.at(offset))
            }
            Next::Ipv6 => {
                return ip::ipv6(rest, wire_len.saturating_sub(offset)).map_err(|e| e.at(offset))
            }
            Next::NotIp => return Err(DecodeError::new(Layer::Link, ErrorKind::NotIp, offset)),
        }
        .map_err(|e: DecodeError| e.at(offset))?;
        next = step;
        offset += len;
    }
}

#[cfg(test)]
mod tests;
