//! The first header of a capture, by pcap link type (docs/decoding.md, "Link types").
//!
//! etherparse reads Ethernet and Linux SLL v1, but not SLL2, BSD NULL/LOOP or
//! PPP, so the fixed-size headers here are read by hand: each is a bounds check
//! and one or two big-endian fields. The link types whose headers have lengths
//! or trailers of their own (802.11 and its radio headers, NFLOG) are in
//! [`super::radio`], [`super::wifi`] and [`super::nflog`].

use etherparse::EtherType;

use super::{nflog, radio, wifi, DecodeError, ErrorKind, Layer, Next};
use crate::LinkType;

/// Linux cooked v1: packet type, ARPHRD, address length, 8-byte address, protocol.
const SLL_LEN: usize = 16;
const SLL_PROTOCOL: usize = 14;
/// Linux cooked v2: protocol first, then interface index, ARPHRD, …, address.
const SLL2_LEN: usize = 20;
const SLL2_PROTOCOL: usize = 0;
/// BSD loopback: a 4-byte address family.
const NULL_LEN: usize = 4;

/// BSD address families for IPv4 and IPv6 (AF_INET6 differs between BSDs:
/// NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30), as libpcap's DLT_NULL doc lists.
const AF_INET: u32 = 2;
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Cisco HDLC: address, control, then an EtherType (protocol) field.
const C_HDLC_LEN: usize = 4;
const C_HDLC_PROTOCOL: usize = 2;

/// Reads the link-layer header of a frame of `wire_len` bytes on the wire:
/// returns what follows, where, and where the packet ends on the wire (before
/// any trailer the link adds: an FCS, attributes after an NFLOG payload).
#[inline]
pub fn decode(
    link: LinkType,
    data: &[u8],
    wire_len: usize,
) -> Result<(Next, usize, usize), DecodeError> {
    // Ethernet, what nearly every capture and mirror is, answered inline;
    // the rest out of line keeps the per-packet path small.
    if link == LinkType::ETHERNET {
        return Ok((Next::Ethernet, 0, wire_len));
    }
    other(link, data, wire_len)
}

/// [`decode`] for every link type but Ethernet.
#[inline(never)]
fn other(
    link: LinkType,
    data: &[u8],
    wire_len: usize,
) -> Result<(Next, usize, usize), DecodeError> {
    let (next, offset) = match link {
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => Ok((Next::IpByVersion, 0)),
        LinkType::IPV4 => Ok((Next::Ipv4, 0)),
        LinkType::IPV6 => Ok((Next::Ipv6, 0)),
        LinkType::LINUX_SLL => Ok((
            Next::EtherType(ether_type_at(data, SLL_PROTOCOL, SLL_LEN)?),
            SLL_LEN,
        )),
        LinkType::LINUX_SLL2 => Ok((
            Next::EtherType(ether_type_at(data, SLL2_PROTOCOL, SLL2_LEN)?),
            SLL2_LEN,
        )),
        LinkType::NULL | LinkType::LOOP => {
            let af = data.get(..NULL_LEN).ok_or(error(ErrorKind::Truncated, 0))?;
            let af = [af[0], af[1], af[2], af[3]];
            // NULL is in the writer's byte order, which the file does not
            // record; families are small numbers, so a value that does not fit
            // in 16 bits was written in the other order. LOOP is always big-endian.
            let family = match (link, u32::from_le_bytes(af)) {
                (LinkType::NULL, le) if le <= 0xffff => le,
                _ => u32::from_be_bytes(af),
            };
            let next = if family == AF_INET {
                Next::Ipv4
            } else if AF_INET6.contains(&family) {
                Next::Ipv6
            } else {
                Next::NotIp
            };
            Ok((next, NULL_LEN))
        }
        LinkType::PPP | LinkType::PPP_HDLC => Ok((Next::Ppp, 0)),
        // Cisco HDLC's protocol field holds EtherType values (0x0800,
        // 0x86DD, 0x8847…), so the EtherType dispatch reads it.
        LinkType::C_HDLC => Ok((
            Next::EtherType(ether_type_at(data, C_HDLC_PROTOCOL, C_HDLC_LEN)?),
            C_HDLC_LEN,
        )),
        _ => return with_trailer(link, data, wire_len),
    }?;
    Ok((next, offset, wire_len))
}

/// The link types whose packet may end before the frame does.
fn with_trailer(
    link: LinkType,
    data: &[u8],
    wire_len: usize,
) -> Result<(Next, usize, usize), DecodeError> {
    let malformed = error(ErrorKind::Malformed, 0);
    let (next, offset, end) = match link {
        LinkType::IEEE802_11 => {
            // Whether a bare 802.11 capture keeps the FCS is not recorded in
            // the file; Wireshark assumes not by default, and so do we.
            let (next, len) = wifi::data_frame(data, false)?;
            (next, len, wire_len)
        }
        LinkType::RADIOTAP => {
            let header = radio::radiotap(data)?;
            let (next, len) = wifi::data_frame(&data[header.len..], header.data_pad)
                .map_err(|e| e.at(header.len))?;
            let end = wire_len.checked_sub(header.fcs_len).ok_or(malformed)?;
            (next, header.len + len, end)
        }
        LinkType::PPI => {
            let (len, is_wifi) = radio::ppi(data)?;
            if !is_wifi {
                return Ok((Next::NotIp, len, wire_len));
            }
            let (next, wifi_len) = wifi::data_frame(&data[len..], false).map_err(|e| e.at(len))?;
            (next, len + wifi_len, wire_len)
        }
        LinkType::NFLOG => {
            // The attributes after the payload are no part of the packet.
            let payload = nflog::payload(data, wire_len)?;
            (payload.next, payload.start, payload.end)
        }
        _ => return Err(error(ErrorKind::UnsupportedLink, 0)),
    };
    // A trailer reaching back into the headers is a length that lies.
    if end < offset {
        return Err(malformed);
    }
    Ok((next, offset, end))
}

fn ether_type_at(data: &[u8], at: usize, header_len: usize) -> Result<EtherType, DecodeError> {
    if data.len() < header_len {
        return Err(error(ErrorKind::Truncated, 0));
    }
    Ok(EtherType(u16::from_be_bytes([data[at], data[at + 1]])))
}

/// An error in the link layer, at `offset` in it: one constructor for the
/// link types' modules ([`super::radio`], [`super::wifi`], [`super::nflog`]).
pub(super) fn error(kind: ErrorKind, offset: usize) -> DecodeError {
    DecodeError::new(Layer::Link, kind, offset)
}
