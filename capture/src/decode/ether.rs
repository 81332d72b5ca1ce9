//! Ethernet II, 802.3 with LLC/SNAP, and 802.1Q/802.1ad tags.

use etherparse::{EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use super::{tags, DecodeError, ErrorKind, Layer, Next};

/// Below this an Ethernet type field is an 802.3 length (IEEE 802.3 §3.2.6).
const MIN_ETHER_TYPE: u16 = 0x0600;
/// LLC header announcing SNAP (DSAP 0xAA, SSAP 0xAA, UI control 0x03),
/// followed by a 3-byte OUI and the EtherType (RFC 1042).
const LLC_SNAP: [u8; 3] = [0xaa, 0xaa, 0x03];
const LLC_SNAP_LEN: usize = 8;

const MPLS_UNICAST: EtherType = EtherType(0x8847);
const MPLS_MULTICAST: EtherType = EtherType(0x8848);
const PPPOE_SESSION: EtherType = EtherType(0x8864);

/// The Ethernet header: 14 bytes, then either an EtherType or an 802.3 length.
pub fn ethernet(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    let header = Ethernet2HeaderSlice::from_slice(data)
        .map_err(|_| DecodeError::new(Layer::Ethernet, ErrorKind::Truncated, 0))?;
    let len = header.slice().len();
    let ether_type = header.ether_type();
    if ether_type.0 >= MIN_ETHER_TYPE {
        return Ok((Next::EtherType(ether_type), len));
    }
    // 802.3 frame: an LLC header follows the length.
    let (next, llc_len) = llc(&data[len..], Layer::Ethernet).map_err(|e| e.at(len))?;
    Ok((next, len + llc_len))
}

/// An 802.2 LLC header (after an 802.3 length, or as an 802.11 frame body):
/// only LLC/SNAP carries an EtherType; plain LLC (STP, CDP without SNAP…) is
/// not IP. `layer` is the layer that carries it, for errors.
pub fn llc(data: &[u8], layer: Layer) -> Result<(Next, usize), DecodeError> {
    if data.len() < LLC_SNAP_LEN {
        return Err(DecodeError::new(layer, ErrorKind::Truncated, 0));
    }
    if data[..3] != LLC_SNAP {
        return Ok((Next::NotIp, 0));
    }
    let snap_type = EtherType(u16::from_be_bytes([data[6], data[7]]));
    Ok((Next::EtherType(snap_type), LLC_SNAP_LEN))
}

/// One VLAN tag: 4 bytes, the last two the inner EtherType.
pub fn vlan(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    let tag = SingleVlanHeaderSlice::from_slice(data)
        .map_err(|_| DecodeError::new(Layer::Vlan, ErrorKind::Truncated, 0))?;
    Ok((Next::EtherType(tag.ether_type()), tag.slice().len()))
}

/// The layer an EtherType announces (VLAN tags are handled by the caller,
/// which counts them; the data-centre tags of [`tags`] too).
pub fn next_for(ether_type: EtherType) -> Next {
    match ether_type {
        EtherType::IPV4 => Next::Ipv4,
        EtherType::IPV6 => Next::Ipv6,
        MPLS_UNICAST | MPLS_MULTICAST => Next::Mpls,
        PPPOE_SESSION => Next::Pppoe,
        other => tags::announced(other),
    }
}
