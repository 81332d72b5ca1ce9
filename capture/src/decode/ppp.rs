//! PPP (RFC 1661) and PPPoE sessions (RFC 2516); etherparse has neither.

use super::{DecodeError, ErrorKind, Layer, Next};

/// HDLC-like framing's address and control bytes (RFC 1662), optional on PPP links.
const HDLC_ADDRESS_CONTROL: [u8; 2] = [0xff, 0x03];
/// PPPoE session header: version/type, code, session id, length.
const PPPOE_LEN: usize = 6;

const PPP_IPV4: u16 = 0x0021;
const PPP_IPV6: u16 = 0x0057;
const PPP_MPLS_UNICAST: u16 = 0x0281;
const PPP_MPLS_MULTICAST: u16 = 0x0283;

/// The PPP protocol field, after optional FF 03. A protocol whose first byte
/// is odd was compressed to one byte (RFC 1661 §6.5, PFC).
pub fn protocol(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    let start = if data.starts_with(&HDLC_ADDRESS_CONTROL) {
        HDLC_ADDRESS_CONTROL.len()
    } else {
        0
    };
    let truncated = DecodeError::new(Layer::Ppp, ErrorKind::Truncated, start);
    // A lone FF is the address byte of a header the snaplen cut, not a
    // one-byte protocol field (found by tests/cut_capture.rs).
    if data.len() < HDLC_ADDRESS_CONTROL.len() && HDLC_ADDRESS_CONTROL.starts_with(data) {
        return Err(DecodeError::new(Layer::Ppp, ErrorKind::Truncated, 0));
    }
    let first = *data.get(start).ok_or(truncated)?;
    let (protocol, len) = if first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        let second = *data.get(start + 1).ok_or(truncated)?;
        (u16::from_be_bytes([first, second]), 2)
    };
    let next = match protocol {
        PPP_IPV4 => Next::Ipv4,
        PPP_IPV6 => Next::Ipv6,
        PPP_MPLS_UNICAST | PPP_MPLS_MULTICAST => Next::Mpls,
        _ => Next::NotIp,
    };
    Ok((next, start + len))
}

/// A PPPoE session header, then PPP.
pub fn pppoe_session(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    if data.len() < PPPOE_LEN {
        return Err(DecodeError::new(Layer::Ppp, ErrorKind::Truncated, 0));
    }
    Ok((Next::Ppp, PPPOE_LEN))
}
