//! Tags and wrappers data-centre switches and packet brokers leave on the
//! frames they mirror (docs/decoding.md, "Inside a frame"), each announced by
//! an EtherType: the header is skipped and decoding goes on with the
//! EtherType, frame or protocol it names.
//!
//! | EtherType | header after it | then |
//! |---|---|---|
//! | 0x88E7 802.1ah PBB | I-tag (4) | the customer's Ethernet frame |
//! | 0x8926 VN-Tag | 4 | EtherType |
//! | 0x893F 802.1BR E-tag | 6 | EtherType |
//! | 0xD28B Arista (AVSP) | subtype (2), version (2), timestamp (8 or 6) | EtherType |
//! | 0x894F NSH (RFC 8300) | its length field, in 4-byte words | next protocol |
//! | 0x88E5 MACsec (802.1AE) | SecTAG (6, or 14 with an SCI) | EtherType, if not encrypted |
//! | 0x8903 Cisco FabricPath | FTag and TTL (2) | the original Ethernet frame |
//!
//! MACsec ends the frame with a 16-byte ICV, returned as a trailer: it is no
//! part of the packet. Every length is checked against the captured bytes;
//! nothing here panics or allocates.

use core::ops::Range;

use etherparse::EtherType;

use super::{DecodeError, ErrorKind, Layer, Next};

/// 802.1ah Provider Backbone Bridging, backbone service instance tag.
pub const PBB: EtherType = EtherType(0x88e7);
/// Cisco VN-Tag (802.1Qbh).
pub const VN_TAG: EtherType = EtherType(0x8926);
/// 802.1BR E-tag.
pub const E_TAG: EtherType = EtherType(0x893f);
/// Arista vendor-specific protocol (timestamps).
pub const ARISTA: EtherType = EtherType(0xd28b);
/// Network Service Header (RFC 8300).
pub const NSH: EtherType = EtherType(0x894f);
/// MACsec (802.1AE).
pub const MACSEC: EtherType = EtherType(0x88e5);
/// Cisco FabricPath.
pub const FABRICPATH: EtherType = EtherType(0x8903);

/// PBB I-tag: PCP, DEI, UCA, reserved, I-SID (24 bits); the customer's
/// destination and source addresses and EtherType follow (802.1ah §9.7).
const PBB_ITAG_LEN: usize = 4;
/// VN-Tag: direction, pointer, destination and source virtual interfaces.
const VN_TAG_LEN: usize = 4;
/// E-tag: PCP, DEI, ingress E-CID base, reserved, GRP, E-CID base, extensions.
const E_TAG_LEN: usize = 6;
/// Both tags are followed by the EtherType of what they carry.
const ETHER_TYPE_LEN: usize = 2;
/// FabricPath's FTag (10 bits) and TTL (6 bits), after its outer addresses.
const FABRICPATH_LEN: usize = 2;

/// Arista: subtype 1 is the timestamp header; its version gives the
/// timestamp's size (Wireshark's packet-avsp.c: 64-bit TAI 0x0010 and UTC
/// 0x0110, 48-bit TAI 0x0020 and UTC 0x0120).
mod arista {
    use core::ops::Range;
    pub const SUBTYPE: Range<usize> = 0..2;
    pub const VERSION: Range<usize> = 2..4;
    pub const HEADER_LEN: usize = VERSION.end;
    pub const SUBTYPE_TIMESTAMP: u16 = 0x0001;
    pub const TIMESTAMP_64: [u16; 2] = [0x0010, 0x0110];
    pub const TIMESTAMP_48: [u16; 2] = [0x0020, 0x0120];
}

/// NSH base header (RFC 8300 §2.2): version, O, U, TTL, length (6 bits, in
/// 4-byte words, the whole NSH), MD type, next protocol. The service path
/// header follows, so the length is at least 2 words.
mod nsh {
    pub const BASE_LEN: usize = 4;
    pub const LENGTH_BYTE: usize = 1;
    pub const LENGTH_MASK: u8 = 0x3f;
    pub const NEXT_PROTOCOL: usize = 3;
    pub const MIN_WORDS: usize = 2;
    pub const WORD: usize = 4;
    /// Next protocol values (RFC 8300 §11.6).
    pub const IPV4: u8 = 1;
    pub const IPV6: u8 = 2;
    pub const ETHERNET: u8 = 3;
    pub const NSH: u8 = 4;
    pub const MPLS: u8 = 5;
}

/// MACsec SecTAG after its EtherType (802.1AE §9.3): TCI and AN (1), short
/// length (1), packet number (4), and the 8-byte SCI when the SC bit is set.
mod macsec {
    pub const TCI: usize = 0;
    pub const SECTAG_LEN: usize = 6;
    pub const SCI_LEN: usize = 8;
    pub const TCI_VERSION: u8 = 0x80;
    pub const TCI_SC: u8 = 0x20;
    /// Encryption: the user data (with its EtherType) is ciphertext.
    pub const TCI_E: u8 = 0x08;
    /// The Integrity Check Value ending the frame (GCM-AES: 16 bytes).
    pub const ICV_LEN: usize = 16;
}

/// The layer an EtherType that is none of the common ones announces: one of
/// these tags, or not IP.
pub fn announced(ether_type: EtherType) -> Next {
    match ether_type {
        PBB | VN_TAG | E_TAG | ARISTA | NSH | MACSEC | FABRICPATH => Next::Tag(ether_type),
        _ => Next::NotIp,
    }
}

/// Reads the tag `ether_type` announced at the start of `data`: what follows,
/// the tag's length, and the length of the trailer it puts at the end of the
/// frame (MACsec's ICV; 0 for the others).
pub fn tag(ether_type: EtherType, data: &[u8]) -> Result<(Next, usize, usize), DecodeError> {
    let (next, len) = match ether_type {
        PBB => (Next::Ethernet, fixed(data, PBB_ITAG_LEN)?),
        FABRICPATH => (Next::Ethernet, fixed(data, FABRICPATH_LEN)?),
        VN_TAG => then_ether_type(data, VN_TAG_LEN)?,
        E_TAG => then_ether_type(data, E_TAG_LEN)?,
        ARISTA => arista(data)?,
        NSH => nsh(data)?,
        MACSEC => return macsec(data),
        _ => (Next::NotIp, 0),
    };
    Ok((next, len, 0))
}

/// A header of `len` bytes, captured whole.
fn fixed(data: &[u8], len: usize) -> Result<usize, DecodeError> {
    if data.len() < len {
        return Err(truncated());
    }
    Ok(len)
}

/// A header of `len` bytes, then the EtherType of what it carries.
fn then_ether_type(data: &[u8], len: usize) -> Result<(Next, usize), DecodeError> {
    let field = data.get(len..len + ETHER_TYPE_LEN).ok_or(truncated())?;
    let ether_type = EtherType(u16::from_be_bytes([field[0], field[1]]));
    Ok((Next::EtherType(ether_type), len + ETHER_TYPE_LEN))
}

fn be16(data: &[u8], field: Range<usize>) -> Result<u16, DecodeError> {
    let bytes = data.get(field).ok_or(truncated())?;
    Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Arista's timestamp header; another subtype or version has a layout
/// mirrorflow does not know, so what follows cannot be found: not IP.
fn arista(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    let subtype = be16(data, arista::SUBTYPE)?;
    let version = be16(data, arista::VERSION)?;
    let timestamp_len = match version {
        v if arista::TIMESTAMP_64.contains(&v) => 8,
        v if arista::TIMESTAMP_48.contains(&v) => 6,
        _ => 0,
    };
    if subtype != arista::SUBTYPE_TIMESTAMP || timestamp_len == 0 {
        return Ok((Next::NotIp, 0));
    }
    then_ether_type(data, arista::HEADER_LEN + timestamp_len)
}

/// NSH: skipped by its length field; the next protocol says what follows.
fn nsh(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    let base = data.get(..nsh::BASE_LEN).ok_or(truncated())?;
    let words = usize::from(base[nsh::LENGTH_BYTE] & nsh::LENGTH_MASK);
    if words < nsh::MIN_WORDS {
        return Err(DecodeError::new(Layer::Tag, ErrorKind::Malformed, 0));
    }
    let len = fixed(data, words * nsh::WORD)?;
    let next = match base[nsh::NEXT_PROTOCOL] {
        nsh::IPV4 => Next::Ipv4,
        nsh::IPV6 => Next::Ipv6,
        nsh::ETHERNET => Next::Ethernet,
        nsh::NSH => Next::Tag(NSH),
        nsh::MPLS => Next::Mpls,
        _ => Next::NotIp,
    };
    Ok((next, len))
}

/// MACsec: the SecTAG, then (unless encrypted) the protected frame's
/// EtherType; the ICV is a trailer.
fn macsec(data: &[u8]) -> Result<(Next, usize, usize), DecodeError> {
    let tci = *data.get(macsec::TCI).ok_or(truncated())?;
    if tci & macsec::TCI_VERSION != 0 {
        // 802.1AE §9.5: version 0 is the only one.
        return Err(DecodeError::new(Layer::Tag, ErrorKind::Malformed, 0));
    }
    let sectag_len = macsec::SECTAG_LEN
        + if tci & macsec::TCI_SC != 0 {
            macsec::SCI_LEN
        } else {
            0
        };
    if tci & macsec::TCI_E != 0 {
        return Ok((Next::NotIp, fixed(data, sectag_len)?, 0));
    }
    let (next, len) = then_ether_type(data, sectag_len)?;
    Ok((next, len, macsec::ICV_LEN))
}

fn truncated() -> DecodeError {
    DecodeError::new(Layer::Tag, ErrorKind::Truncated, 0)
}
