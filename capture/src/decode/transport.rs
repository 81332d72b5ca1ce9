//! Transport headers: ports, ICMP type/code, TCP flags (docs/record.md, "The flow key").
//!
//! A packet counts when its key can be read (docs/record.md, "Counting"): the
//! first 4 bytes of TCP, UDP, SCTP, UDP-Lite and DCCP hold the two ports, the
//! first 2 of ICMP the type and code. The rest of the header may be cut by the
//! snaplen; what was captured of it (TCP flags, data offset) is kept. The
//! fields are read by hand because etherparse's `TcpHeaderSlice` and
//! `UdpHeaderSlice` accept only a whole header, options included.

use etherparse::IpNumber;

use super::ErrorKind;

/// Byte offsets shared by the protocols with ports (RFC 793, 768, 4960, 3828, 4340).
mod field {
    /// Bytes that make the key of a protocol with ports: the source port,
    /// then the destination port, 2 bytes each.
    pub const PORTS_LEN: usize = 4;
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

/// Header minimums in 4-byte words, the unit the headers' own length fields use.
const TCP_MIN_WORDS: u8 = 5;
const UDP_WORDS: u8 = 2;
const SCTP_COMMON_HEADER_WORDS: u8 = 3;
/// DCCP's generic header is at least 12 bytes (RFC 4340 §5.1).
const DCCP_MIN_WORDS: u8 = 3;
const ICMP_HEADER_LEN: u32 = 8;
const UDP_LITE: IpNumber = IpNumber(136);
const DCCP: IpNumber = IpNumber(33);

/// What the transport header contributes to the flow key.
///
/// Eight bytes, so that it travels in a register: every packet builds one
/// (docs/design.md, "Measured choices", decoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: ports, and the flags when their byte was captured.
    Tcp {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// CWR … FIN, when the snaplen left their byte.
        flags: TcpFlags,
        /// The data offset in 4-byte words, or the 5-word minimum when it
        /// was not captured.
        header_words: u8,
    },
    /// UDP, UDP-Lite, SCTP or DCCP: ports and the header length.
    Ports {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
        /// Header length counted out of the payload, in 4-byte words.
        header_words: u8,
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

/// TCP's flag byte as captured, or the mark that the snaplen cut it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// Above every byte value: the flags were not captured.
    const NOT_CAPTURED: u16 = 0x100;

    fn from_byte(byte: Option<&u8>) -> Self {
        TcpFlags(byte.map_or(Self::NOT_CAPTURED, |&b| u16::from(b)))
    }

    /// CWR … FIN, when captured.
    #[inline]
    pub fn captured(self) -> Option<u8> {
        u8::try_from(self.0).ok()
    }
}

/// What a TCP header says of the byte stream (RFC 9293 §3.1): the sequence
/// and acknowledgement numbers and the window, read when the snaplen left
/// the first 16 bytes of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpSegment {
    /// Sequence number of the first byte (of the SYN or FIN when set).
    pub seq: u32,
    /// The next sequence number the sender expects (valid with ACK set).
    pub ack: u32,
    /// Receive window, unscaled.
    pub window: u16,
}

impl TcpSegment {
    /// Bytes of header that hold the three fields.
    const LEN: usize = 16;

    /// The segment facts of a captured TCP header, or `None` when it was cut before them.
    #[inline]
    pub fn read(header: &[u8]) -> Option<TcpSegment> {
        let head = header.first_chunk::<{ Self::LEN }>()?;
        let word =
            |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        Some(TcpSegment {
            seq: word(4),
            ack: word(8),
            window: u16::from_be_bytes([head[14], head[15]]),
        })
    }
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
            Transport::Tcp { flags, .. } => flags.captured(),
            _ => None,
        }
    }

    /// Bytes of transport header (not payload), as the header declares them.
    #[inline]
    pub fn header_len(&self) -> u32 {
        match *self {
            Transport::Tcp { header_words, .. } | Transport::Ports { header_words, .. } => {
                u32::from(header_words) * 4
            }
            Transport::Icmp { .. } => ICMP_HEADER_LEN,
            Transport::None => 0,
        }
    }
}

/// Decodes the transport header from the captured bytes of the IP payload.
/// `declared` is the payload length the IP header declares: a header that
/// does not fit in it is malformed; a key (ports, ICMP type and code) that
/// was not captured is truncated. The caller places the error in the frame.
#[inline]
pub fn decode(proto: IpNumber, captured: &[u8], declared: usize) -> Result<Transport, ErrorKind> {
    // The common cases first: TCP with its flags captured, and UDP, each
    // read through one bounds check.
    if proto == IpNumber::TCP {
        if let Some(head) = captured.first_chunk::<{ field::TCP_FLAGS + 1 }>() {
            let header_words = head[field::TCP_DATA_OFFSET] >> 4;
            if header_words < TCP_MIN_WORDS || declared < usize::from(header_words) * 4 {
                return Err(ErrorKind::Malformed);
            }
            let [s0, s1, d0, d1, ..] = *head;
            let (src, dst) = ports_of(&[s0, s1, d0, d1]);
            return Ok(Transport::Tcp {
                src,
                dst,
                flags: TcpFlags(u16::from(head[field::TCP_FLAGS])),
                header_words,
            });
        }
    } else if proto == IpNumber::UDP && declared >= usize::from(UDP_WORDS) * 4 {
        if let Some(head) = captured.first_chunk::<{ field::PORTS_LEN }>() {
            let (src, dst) = ports_of(head);
            return Ok(Transport::Ports {
                src,
                dst,
                header_words: UDP_WORDS,
            });
        }
    }
    decode_cut(proto, captured, declared)
}

/// Source and destination port, the first 4 bytes of every header with ports.
#[inline(always)]
fn ports_of(head: &[u8; field::PORTS_LEN]) -> (u16, u16) {
    let [s0, s1, d0, d1] = *head;
    (u16::from_be_bytes([s0, s1]), u16::from_be_bytes([d0, d1]))
}

/// [`decode`] for every other protocol and for TCP headers cut before their
/// flags. Out of line, so that the TCP path stays small enough to inline.
#[inline(never)]
fn decode_cut(proto: IpNumber, captured: &[u8], declared: usize) -> Result<Transport, ErrorKind> {
    // The header must fit in what the IP header declares, whatever was captured.
    let fits = |words: u8| {
        if declared < usize::from(words) * 4 {
            Err(ErrorKind::Malformed)
        } else {
            Ok(())
        }
    };
    let key_ports = |header_words: u8| -> Result<(u16, u16), ErrorKind> {
        fits(header_words)?;
        let head = captured
            .first_chunk::<{ field::PORTS_LEN }>()
            .ok_or(ErrorKind::Truncated)?;
        Ok(ports_of(head))
    };
    let ports = |header_words: u8| {
        let (src, dst) = key_ports(header_words)?;
        Ok(Transport::Ports {
            src,
            dst,
            header_words,
        })
    };
    // A length field read only when captured; 0 words is below every minimum.
    let words = |at: usize, shift: u8| captured.get(at).map(|&b| b >> shift);
    match proto {
        IpNumber::TCP => {
            let header_words = match words(field::TCP_DATA_OFFSET, 4) {
                Some(w) if w < TCP_MIN_WORDS => return Err(ErrorKind::Malformed),
                Some(w) => w,
                None => TCP_MIN_WORDS,
            };
            let (src, dst) = key_ports(header_words)?;
            Ok(Transport::Tcp {
                src,
                dst,
                flags: TcpFlags::from_byte(captured.get(field::TCP_FLAGS)),
                header_words,
            })
        }
        IpNumber::UDP | UDP_LITE => ports(UDP_WORDS),
        IpNumber::SCTP => ports(SCTP_COMMON_HEADER_WORDS),
        DCCP => match words(field::DCCP_DATA_OFFSET, 0) {
            Some(w) if w < DCCP_MIN_WORDS => Err(ErrorKind::Malformed),
            Some(w) => ports(w),
            None => ports(DCCP_MIN_WORDS),
        },
        IpNumber::ICMP | IpNumber::IPV6_ICMP => {
            if declared < ICMP_HEADER_LEN as usize {
                return Err(ErrorKind::Malformed);
            }
            let key = captured
                .first_chunk::<{ field::ICMP_KEY_LEN }>()
                .ok_or(ErrorKind::Truncated)?;
            Ok(Transport::Icmp {
                icmp_type: key[field::ICMP_TYPE],
                code: key[field::ICMP_CODE],
            })
        }
        _ => Ok(Transport::None),
    }
}
