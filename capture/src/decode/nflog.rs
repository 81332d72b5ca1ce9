//! Linux netfilter log records (LINKTYPE_NFLOG 239, `tcpdump -i nflog:N`).
//!
//! A 4-byte header (address family, version, resource id) and then
//! attributes (TLVs): a 16-bit length that counts the 4-byte TLV header, a
//! 16-bit type, the value, padding to a multiple of 4. Length and type are in
//! the byte order of the host that logged the packet, which the capture does
//! not record (libpcap's LINKTYPE_NFLOG description). The payload attribute
//! (type 9, NFULA_PAYLOAD) is the IP packet; the attributes after it are a
//! trailer, no part of it.
//!
//! Every TLV length is checked before it is used, and one shorter than its
//! own header is malformed: the walk always moves forward, so it ends.
//! Nothing here panics or allocates.

use super::{link::error, DecodeError, ErrorKind, Next};

/// Family (1), version (1), resource id (2, big-endian).
const HEADER_LEN: usize = 4;
const TLV_HEADER_LEN: usize = 4;
/// TLVs start on 4-byte boundaries.
const TLV_ALIGN: usize = 4;
/// The attribute holding the logged packet.
const NFULA_PAYLOAD: u16 = 9;
/// The type's top bit marks a nested attribute (NLA_F_NESTED); the type is the rest.
const TYPE_MASK: u16 = 0x7fff;
/// Linux's AF_INET and AF_INET6.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Where the logged packet is in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// IPv4 or IPv6 by the header's family; anything else is not IP.
    pub next: Next,
    /// Offset of the packet.
    pub start: usize,
    /// Where the packet ends, as the attribute's length says (may be past
    /// the captured bytes when the record was cut by the snaplen, never past
    /// the record).
    pub end: usize,
}

/// Finds the payload attribute of an NFLOG record of `wire_len` bytes (at
/// least those captured).
pub fn payload(data: &[u8], wire_len: usize) -> Result<Payload, DecodeError> {
    let header = data
        .get(..HEADER_LEN)
        .ok_or(error(ErrorKind::Truncated, 0))?;
    let next = match header[0] {
        AF_INET => Next::Ipv4,
        AF_INET6 => Next::Ipv6,
        _ => Next::NotIp,
    };
    // Attribute types are small numbers: a type whose first byte is 0 and
    // second is not was written big-endian; little-endian otherwise (x86
    // and ARM hosts, nearly every capture).
    let big_endian = data
        .get(HEADER_LEN + 2..HEADER_LEN + 4)
        .is_some_and(|t| t[0] == 0 && t[1] != 0);
    let u16_at = |b: &[u8]| {
        if big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    };
    let mut at = HEADER_LEN;
    while let Some(tlv) = data.get(at..at + TLV_HEADER_LEN) {
        let len = usize::from(u16_at(&tlv[..2]));
        if len < TLV_HEADER_LEN {
            return Err(error(ErrorKind::Malformed, at));
        }
        if u16_at(&tlv[2..]) & TYPE_MASK == NFULA_PAYLOAD {
            if at + len > wire_len {
                // An attribute longer than the record is a length that lies.
                return Err(error(ErrorKind::Malformed, 0));
            }
            return Ok(Payload {
                next,
                start: at + TLV_HEADER_LEN,
                end: at + len,
            });
        }
        at += len.next_multiple_of(TLV_ALIGN);
    }
    // Out of attributes without a payload: the snaplen cut it off (inside an
    // attribute, or between two), or the record logged none (a rule copying
    // metadata only).
    if at != data.len() || data.len() < wire_len {
        Err(error(ErrorKind::Truncated, at.min(data.len())))
    } else {
        Ok(Payload {
            next: Next::NotIp,
            start: at,
            end: at,
        })
    }
}
