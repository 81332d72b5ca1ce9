//! Transport headers: ports, ICMP type/code, TCP flags (docs/record.md, "The flow key").

use etherparse::{IpNumber, TcpHeaderSlice};

use super::{DecodeError, ErrorKind, Layer};

const UDP_HEADER_LEN: u32 = 8;
const SCTP_COMMON_HEADER_LEN: u32 = 12;
const ICMP_HEADER_LEN: u32 = 8;
/// DCCP's generic header is at least 12 bytes, with Data Offset in 4-byte words (RFC 4340 §5.1).
const DCCP_MIN_HEADER_LEN: u32 = 12;
const UDP_LITE: IpNumber = IpNumber(136);
const DCCP: IpNumber = IpNumber(33);

/// What the transport header contributes to the flow key.
#[derive(Debug, Clone)]
pub enum Transport<'a> {
    /// A TCP header (ports, flags, data offset).
    Tcp(TcpHeaderSlice<'a>),
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

impl Transport<'_> {
    /// Source and destination port, for protocols that have them.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self {
            Transport::Tcp(tcp) => Some((tcp.source_port(), tcp.destination_port())),
            Transport::Ports { src, dst, .. } => Some((*src, *dst)),
            _ => None,
        }
    }

    /// The 8 TCP flag bits (CWR … FIN), for TCP.
    pub fn tcp_flags(&self) -> Option<u8> {
        match self {
            Transport::Tcp(tcp) => Some(tcp.slice()[13]),
            _ => None,
        }
    }

    /// Bytes of transport header (not payload).
    pub fn header_len(&self) -> u32 {
        match self {
            Transport::Tcp(tcp) => tcp.slice().len() as u32,
            Transport::Ports { header_len, .. } => *header_len,
            Transport::Icmp { .. } => ICMP_HEADER_LEN,
            Transport::None => 0,
        }
    }
}

/// Decodes the transport header from the captured bytes of the IP payload.
/// `declared` is the payload length the IP header declares: a header that
/// does not fit in it is malformed, one that fits but was not captured is
/// truncated.
pub fn decode(
    proto: IpNumber,
    captured: &[u8],
    declared: usize,
) -> Result<Transport<'_>, DecodeError> {
    let need = |len: u32| -> Result<(), DecodeError> {
        let len = len as usize;
        if declared < len {
            Err(DecodeError::new(Layer::Transport, ErrorKind::Malformed, 0))
        } else if captured.len() < len {
            Err(DecodeError::new(Layer::Transport, ErrorKind::Truncated, 0))
        } else {
            Ok(())
        }
    };
    let ports = |header_len| {
        need(header_len)?;
        Ok(Transport::Ports {
            src: u16::from_be_bytes([captured[0], captured[1]]),
            dst: u16::from_be_bytes([captured[2], captured[3]]),
            header_len,
        })
    };
    match proto {
        IpNumber::TCP => {
            // The fixed part first, so that a short capture is "truncated"
            // whatever the data offset says.
            need(20)?;
            let data_offset = u32::from(captured[12] >> 4) * 4;
            if data_offset < 20 {
                return Err(DecodeError::new(Layer::Transport, ErrorKind::Malformed, 0));
            }
            need(data_offset)?;
            let tcp = TcpHeaderSlice::from_slice(captured)
                .map_err(|_| DecodeError::new(Layer::Transport, ErrorKind::Malformed, 0))?;
            Ok(Transport::Tcp(tcp))
        }
        IpNumber::UDP | UDP_LITE => ports(UDP_HEADER_LEN),
        IpNumber::SCTP => ports(SCTP_COMMON_HEADER_LEN),
        DCCP => {
            need(DCCP_MIN_HEADER_LEN)?;
            let header_len = u32::from(captured[4]) * 4;
            if header_len < DCCP_MIN_HEADER_LEN {
                return Err(DecodeError::new(Layer::Transport, ErrorKind::Malformed, 0));
            }
            ports(header_len)
        }
        IpNumber::ICMP | IpNumber::IPV6_ICMP => {
            need(ICMP_HEADER_LEN)?;
            Ok(Transport::Icmp {
                icmp_type: captured[0],
                code: captured[1],
            })
        }
        _ => Ok(Transport::None),
    }
}
