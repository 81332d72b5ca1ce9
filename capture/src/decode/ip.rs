//! IPv4 and IPv6, with IPv6 extension headers (RFC 791, RFC 8200).
//!
//! etherparse's header slices check version, header length and captured
//! bytes; this module adds what the flow record needs on top: the declared
//! datagram length (which may exceed the captured bytes under a snaplen),
//! fragment facts, and the walk over extension headers to the transport.
//!
//! Lengths (docs/record.md, "Counting"): a zero length field (IPv4 Total
//! Length 0, IPv6 Payload Length 0 without a Jumbo option) is what a capture
//! on a host shows for TSO/GSO and BIG TCP segments the NIC splits later; the
//! datagram is then the rest of the frame as it was on the wire (`wire_len`,
//! from the capture's original length), as tcpdump and Wireshark take it. A
//! Jumbo Payload length counts only when the frame carries it.

use etherparse::{
    err, IpAuthHeaderSlice, IpNumber, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6HeaderSlice,
    Ipv6RawExtHeaderSlice,
};

use super::{transport, DecodeError, Decoded, ErrorKind, Layer, Next};

const IPV6_HEADER_LEN: u32 = 40;
/// More extension headers than this is an attack or garbage, not a packet.
const MAX_EXT_HEADERS: usize = 16;
/// Hop-by-Hop option carrying a Jumbo Payload length (RFC 2675).
const JUMBO_OPTION: u8 = 0xc2;

/// The innermost IP header, borrowed.
#[derive(Debug, Clone)]
pub enum IpView<'a> {
    /// An IPv4 header with its options.
    V4(Ipv4HeaderSlice<'a>),
    /// The fixed IPv6 header.
    V6(Ipv6HeaderSlice<'a>),
}

impl IpView<'_> {
    /// 4 or 6.
    pub fn version(&self) -> u8 {
        match self {
            IpView::V4(_) => 4,
            IpView::V6(_) => 6,
        }
    }
}

/// What a fragment says about the datagram it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 Identification or IPv6 Fragment header Identification.
    pub id: u32,
    /// Offset in 8-byte units; 0 for the first fragment.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}

impl Fragment {
    /// The first fragment carries the transport header (and so the ports).
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }
}

/// RAW link types and MPLS payloads: IPv4 or IPv6 by the first nibble.
/// No byte at all is a header cut by the snaplen, not a non-IP payload; the
/// version being unknown, it is named after the layer that carried it.
pub fn by_version(data: &[u8]) -> Result<Next, DecodeError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Ok(Next::Ipv4),
        Some(6) => Ok(Next::Ipv6),
        Some(_) => Ok(Next::NotIp),
        None => Err(DecodeError::new(Layer::Link, ErrorKind::Truncated, 0)),
    }
}

/// An IPv4 packet and its transport header. `wire_len`: the bytes from this
/// header to the end of the frame on the wire (at least `data.len()`).
pub fn ipv4(data: &[u8], wire_len: usize) -> Result<Decoded<'_>, DecodeError> {
    let header = Ipv4HeaderSlice::from_slice(data).map_err(|e| match e {
        err::ipv4::HeaderSliceError::Len(_) => {
            DecodeError::new(Layer::Ipv4, ErrorKind::Truncated, 0)
        }
        err::ipv4::HeaderSliceError::Content(_) => {
            DecodeError::new(Layer::Ipv4, ErrorKind::Malformed, 0)
        }
    })?;
    let mut header_len = header.slice().len();
    let ip_len = match header.total_len() {
        0 => frame_len(wire_len),
        declared => u32::from(declared),
    };
    if ip_len < header_len as u32 {
        return Err(DecodeError::new(Layer::Ipv4, ErrorKind::Malformed, 0));
    }
    let offset = header.fragments_offset().value();
    let fragment = (offset != 0 || header.more_fragments()).then(|| Fragment {
        id: u32::from(header.identification()),
        offset,
        more: header.more_fragments(),
    });
    // AH is walked as in IPv6 (RFC 4302 §3.1: it sits between the IPv4
    // header and the protocol it protects); a later fragment holds payload.
    let mut proto = header.protocol();
    if proto == IpNumber::AUTHENTICATION_HEADER && fragment.is_none_or(|f| f.is_first()) {
        (proto, header_len) = ipv4_auth_headers(data, header_len)?;
        if ip_len < header_len as u32 {
            return Err(DecodeError::new(Layer::Ipv4, ErrorKind::Malformed, 0));
        }
    }
    finish(
        IpView::V4(header),
        proto,
        data,
        ip_len,
        header_len as u32,
        fragment,
    )
}

/// The AH (one or more) after an IPv4 header of `header_len` bytes: the
/// protocol after them and the header length with them. Out of line: rare,
/// and kept off the path every other IPv4 packet takes (capture/benches/decode.rs).
#[cold]
#[inline(never)]
fn ipv4_auth_headers(data: &[u8], mut header_len: usize) -> Result<(IpNumber, usize), DecodeError> {
    let mut proto = IpNumber::AUTHENTICATION_HEADER;
    for _ in 0..MAX_EXT_HEADERS {
        if proto != IpNumber::AUTHENTICATION_HEADER {
            break;
        }
        let (next, len) = auth_header(&data[header_len..])
            .map_err(|kind| DecodeError::new(Layer::Ipv4, kind, header_len))?;
        proto = next;
        header_len += len;
    }
    Ok((proto, header_len))
}

/// An Authentication Header (RFC 4302 §2.2, its length in 4-byte units
/// minus 2): the protocol after it and its length.
fn auth_header(rest: &[u8]) -> Result<(IpNumber, usize), ErrorKind> {
    match IpAuthHeaderSlice::from_slice(rest) {
        Ok(ah) => Ok((ah.next_header(), ah.slice().len())),
        Err(err::ip_auth::HeaderSliceError::Len(_)) => Err(ErrorKind::Truncated),
        Err(err::ip_auth::HeaderSliceError::Content(_)) => Err(ErrorKind::Malformed),
    }
}

/// An IPv6 packet: the fixed header, the extension headers, the transport.
/// `wire_len` as for [`ipv4`].
pub fn ipv6(data: &[u8], wire_len: usize) -> Result<Decoded<'_>, DecodeError> {
    let header = Ipv6HeaderSlice::from_slice(data).map_err(|e| match e {
        err::ipv6::HeaderSliceError::Len(_) => {
            DecodeError::new(Layer::Ipv6, ErrorKind::Truncated, 0)
        }
        err::ipv6::HeaderSliceError::Content(_) => {
            DecodeError::new(Layer::Ipv6, ErrorKind::Malformed, 0)
        }
    })?;
    let payload_len = header.payload_length();
    let mut ip_len = match payload_len {
        0 => frame_len(wire_len),
        declared => u32::from(declared) + IPV6_HEADER_LEN,
    };
    let mut proto = header.next_header();
    let mut at = IPV6_HEADER_LEN as usize;
    let mut fragment = None;
    let ext_error = |kind, at| DecodeError::new(Layer::Ipv6Ext, kind, at);

    for index in 0..=MAX_EXT_HEADERS {
        if !is_walked_extension(proto) {
            break;
        }
        if index == MAX_EXT_HEADERS {
            return Err(ext_error(ErrorKind::TooDeep, at));
        }
        let rest = &data[at..];
        let (next, len) = if proto == IpNumber::IPV6_FRAGMENTATION_HEADER {
            let frag = Ipv6FragmentHeaderSlice::from_slice(rest)
                .map_err(|_| ext_error(ErrorKind::Truncated, at))?;
            let offset = frag.fragment_offset().value();
            if offset != 0 || frag.more_fragments() {
                fragment = Some(Fragment {
                    id: frag.identification(),
                    offset,
                    more: frag.more_fragments(),
                });
            }
            (frag.next_header(), frag.slice().len())
        } else if proto == IpNumber::AUTHENTICATION_HEADER {
            auth_header(rest).map_err(|kind| ext_error(kind, at))?
        } else {
            let ext = Ipv6RawExtHeaderSlice::from_slice(rest)
                .map_err(|_| ext_error(ErrorKind::Truncated, at))?;
            if index == 0 && proto == IpNumber::IPV6_HEADER_HOP_BY_HOP && payload_len == 0 {
                if let Some(len) = jumbo_length(ext.payload()) {
                    // RFC 2675 allows 65,536 to 2^32 - 1; a frame that does
                    // not carry that many bytes makes the claim a lie.
                    let jumbo_len = u64::from(len) + u64::from(IPV6_HEADER_LEN);
                    if jumbo_len > wire_len as u64 {
                        return Err(DecodeError::new(Layer::Ipv6, ErrorKind::Malformed, 0));
                    }
                    ip_len = u32::try_from(jumbo_len).unwrap_or(u32::MAX);
                }
            }
            (ext.next_header(), ext.slice().len())
        };
        at += len;
        proto = next;
        // A later fragment holds payload bytes, not headers: stop at its
        // Fragment header (RFC 8200 §4.5).
        if fragment.is_some_and(|f| !f.is_first()) {
            break;
        }
    }
    if ip_len < at as u32 {
        // Extension headers beyond the declared end (docs/record.md,
        // "Counting": malformed).
        return Err(DecodeError::new(Layer::Ipv6, ErrorKind::Malformed, 0));
    }
    finish(IpView::V6(header), proto, data, ip_len, at as u32, fragment)
}

/// The datagram length a zero length field stands for: the rest of the frame
/// on the wire (capped at u32, which no capture record reaches).
fn frame_len(wire_len: usize) -> u32 {
    u32::try_from(wire_len).unwrap_or(u32::MAX)
}

/// Extension headers walked to reach the transport (docs/decoding.md); ESP
/// (50) ends the walk, since what follows it is encrypted. The Mobility
/// header (135) is not among them: RFC 6275 §6.1.1 makes it the last header,
/// an upper layer of its own (its Payload Proto is always 59, none), so the
/// flow's protocol is 135.
fn is_walked_extension(proto: IpNumber) -> bool {
    matches!(
        proto,
        IpNumber::IPV6_HEADER_HOP_BY_HOP
            | IpNumber::IPV6_ROUTE_HEADER
            | IpNumber::IPV6_FRAGMENTATION_HEADER
            | IpNumber::IPV6_DESTINATION_OPTIONS
            | IpNumber::AUTHENTICATION_HEADER
    )
}

/// The Jumbo Payload length in Hop-by-Hop options, if present (RFC 2675 §2).
fn jumbo_length(mut options: &[u8]) -> Option<u32> {
    while let Some((&kind, rest)) = options.split_first() {
        if kind == 0 {
            // Pad1 has no length byte.
            options = rest;
            continue;
        }
        let len = usize::from(*rest.first()?);
        let value = rest.get(1..1 + len)?;
        if kind == JUMBO_OPTION && len == 4 {
            return Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
        }
        options = &rest[1 + len..];
    }
    None
}

/// Reads the transport header inside the declared datagram and builds the result.
/// Inlined into both callers: out of line, the result it builds went through
/// memory on every packet (capture/benches/decode.rs).
#[inline(always)]
fn finish<'a>(
    ip: IpView<'a>,
    proto: IpNumber,
    data: &'a [u8],
    ip_len: u32,
    ip_header_len: u32,
    fragment: Option<Fragment>,
) -> Result<Decoded<'a>, DecodeError> {
    let header_len = ip_header_len as usize;
    // Bytes past the declared length are link padding or trailers, not
    // transport headers; bytes missing before it were cut by the snaplen.
    let captured_end = data.len().min(ip_len as usize);
    let ip_payload = &data[header_len..captured_end.max(header_len)];
    let transport = if fragment.is_some_and(|f| !f.is_first()) {
        transport::Transport::None
    } else {
        let declared = ip_len as usize - header_len;
        transport::decode(proto, ip_payload, declared)
            .map_err(|kind| DecodeError::new(Layer::Transport, kind, header_len))?
    };
    Ok(Decoded {
        ip,
        proto,
        ip_len,
        ip_header_len,
        fragment,
        transport,
        ip_payload,
        mirror: None,
        erspan_timestamp: None,
        not_peeled: None,
    })
}
