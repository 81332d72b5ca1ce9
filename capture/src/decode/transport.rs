//! Transport headers: ports, ICMP type/code, TCP flags (docs/record.md, "The flow key").
//!
//! A packet counts when its key can be read (docs/record.md, "Counting"): the
//! first 4 bytes of TCP, UDP, SCTP, UDP-Lite and DCCP hold the two ports, the
//! first 2 of ICMP the type and code. The rest of the header may be cut by the
//! snaplen; what was captured of it (TCP flags, data offset) is kept. The
//! fields are read by hand because etherparse's `TcpHeaderSlice` and
//! `UdpHeaderSlice` accept only a whole header, options included.

use etherparse::IpNumber;

use super::{DecodeError, ErrorKind, Layer};

/// Byte offsets shared by the protocols with ports (RFC 793, 768, 4960, 3828, 4340).
mod field {
    use std::ops::Range;

    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    /// Bytes that make the key of a protocol with ports.
    pub const PORTS_LEN: usize = DST_PORT.end;
    /// TCP: data offset in the high nibble, in 4-byte words.
    pub const TCP_DATA_OFFSET: usize = 12;
    /// TCP: CWR … FIN.
    pub const TCP_FLAGS: usize = 13;
    /// DCCP: Data Offset in 4-byte words (RFC 4340 §5.1).
    pub const DCCP_DATA_OFFSET: usize = 4;
    pub const ICMP_TYPE: usize = 0;
    pub const ICMP_CODE: usize = 1;
    /// Bytes that make the key of ICMP and ICMPv6.
    pub const ICMP_KEY_LEN: usize = ICMP_CODE + 1;
}

const TCP_MIN_HEADER_LEN: u32 = 20;
const UDP_HEADER_LEN: u32 = 8;
const SCTP_COMMON_HEADER_LEN: u32 = 12;
const ICMP_HEADER_LEN: u32 = 8;
/// DCCP's generic header is at least 12 bytes (RFC 4340 §5.1).
const DCCP_MIN_HEADER_LEN: u32 = 12;
const UDP_LITE: IpNumber = IpNumber(136);
const DCCP: IpNumber = IpNumber(33);

/// What the transport header contributes to the flow key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: ports, and the flags when their byte was captured.
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// CWR … FIN; `None` when the snaplen cut the header before them.
        flags: Option<u8>,
        /// The data offset in bytes, or the 20-byte minimum when it was not
        /// captured.
        header_len: u32,
    },
    /// UDP, UDP-Lite, SCTP or DCCP: ports and the header length.
    Ports {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Header length counted out of the payload.
        header_len: u32,
    },
    /// ICMP or ICMPv6 message type and code.
    Icmp {
        /// Message type.
        icmp_type: u8,
        /// Message code.
        code: u8,
    },
    /// No transport facts: another protocol, ESP, or a later fragment.
    None,
}

impl Transport {
    /// Source and destination port, for protocols that have them.
    #[inline]
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            Transport::Tcp { src, dst, .. } | Transport::Ports { src, dst, .. } => Some((src, dst)),
            _ => None,
        }
    }

    /// The 8 TCP flag bits (CWR … FIN), for TCP when they were captured.
    #[inline]
    pub fn tcp_flags(&self) -> Option<u8> {
        match *self {
            Transport::Tcp { flags, .. } => flags,
            _ => None,
        }
    }

    /// Bytes of transport header (not payload), as the header declares them.
    #[inline]
    pub fn header_len(&self) -> u32 {
        match *self {
            Transport::Tcp { header_len, .. } | Transport::Ports { header_len, .. } => header_len,
            Transport::Icmp { .. } => ICMP_HEADER_LEN,
            Transport::None => 0,
        }
    }
}

/// Decodes the transport header from the captured bytes of the IP payload.
/// `declared` is the payload length the IP header declares: a header that
/// does not fit in it is malformed; a key (ports, ICMP type and code) that
/// was not captured is truncated.
pub fn decode(proto: IpNumber, captured: &[u8], declared: usize) -> Result<Transport, DecodeError> {
    let malformed = DecodeError::new(Layer::Transport, ErrorKind::Malformed, 0);
    let truncated = DecodeError::new(Layer::Transport, ErrorKind::Truncated, 0);
    // The header must fit in what the IP header declares, whatever was captured.
    let fits = |len: u32| {
        if declared < len as usize {
            Err(malformed)
        } else {
            Ok(())
        }
    };
    let key_ports = |header_len: u32| -> Result<(u16, u16), DecodeError> {
        fits(header_len)?;
        let be16 = |at: usize| u16::from_be_bytes([captured[at], captured[at + 1]]);
        if captured.len() < field::PORTS_LEN {
            return Err(truncated);
        }
        Ok((be16(field::SRC_PORT.start), be16(field::DST_PORT.start)))
    };
    let ports = |header_len: u32| {
        let (src, dst) = key_ports(header_len)?;
        Ok(Transport::Ports {
            src,
            dst,
            header_len,
        })
    };
    // A length field read only when captured; 0 words is below every minimum.
    let words = |at: usize, shift: u8| captured.get(at).map(|&b| u32::from(b >> shift) * 4);
    match proto {
        IpNumber::TCP => {
            let header_len = match words(field::TCP_DATA_OFFSET, 4) {
                Some(len) if len < TCP_MIN_HEADER_LEN => return Err(malformed),
                Some(len) => len,
                None => TCP_MIN_HEADER_LEN,
            };
            let (src, dst) = key_ports(header_len)?;
            Ok(Transport::Tcp {
                src,
                dst,
                flags: captured.get(field::TCP_FLAGS).copied(),
                header_len,
            })
        }
        IpNumber::UDP | UDP_LITE => ports(UDP_HEADER_LEN),
        IpNumber::SCTP => ports(SCTP_COMMON_HEADER_LEN),
        DCCP => match words(field::DCCP_DATA_OFFSET, 0) {
            Some(len) if len < DCCP_MIN_HEADER_LEN => Err(malformed),
            Some(len) => ports(len),
            None => ports(DCCP_MIN_HEADER_LEN),
        },
        IpNumber::ICMP | IpNumber::IPV6_ICMP => {
            fits(ICMP_HEADER_LEN)?;
            if captured.len() < field::ICMP_KEY_LEN {
                return Err(truncated);
            }
            Ok(Transport::Icmp {
                icmp_type: captured[field::ICMP_TYPE],
                code: captured[field::ICMP_CODE],
            })
        }
        _ => Ok(Transport::None),
    }
}
