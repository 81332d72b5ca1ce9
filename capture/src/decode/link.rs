//! The first header of a capture, by pcap link type (docs/decoding.md, "Link types").
//!
//! etherparse reads Ethernet and Linux SLL v1, but not SLL2, BSD NULL/LOOP or
//! PPP, so the fixed-size headers here are read by hand: each is a bounds check
//! and one or two big-endian fields.

use etherparse::EtherType;

use super::{DecodeError, ErrorKind, Layer, Next};
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

/// Reads the link-layer header: returns what follows and where.
#[inline]
pub fn decode(link: LinkType, data: &[u8]) -> Result<(Next, usize), DecodeError> {
    // Ethernet, what nearly every capture and mirror is, answered inline;
    // the rest out of line keeps the per-packet path small.
    if link == LinkType::ETHERNET {
        return Ok((Next::Ethernet, 0));
    }
    other(link, data)
}

/// [`decode`] for every link type but Ethernet.
#[inline(never)]
fn other(link: LinkType, data: &[u8]) -> Result<(Next, usize), DecodeError> {
    match link {
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
            let af = data.get(..NULL_LEN).ok_or(truncated())?;
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
        _ => Err(DecodeError::new(Layer::Link, ErrorKind::UnsupportedLink, 0)),
    }
}

fn ether_type_at(data: &[u8], at: usize, header_len: usize) -> Result<EtherType, DecodeError> {
    if data.len() < header_len {
        return Err(truncated());
    }
    Ok(EtherType(u16::from_be_bytes([data[at], data[at + 1]])))
}

fn truncated() -> DecodeError {
    DecodeError::new(Layer::Link, ErrorKind::Truncated, 0)
}
