//! The tunnels mirrors deliver copies in (encapsulations.md): VXLAN, Geneve,
//! GRE and ERSPAN types I, II and III.
//!
//! Each protocol is a view over the packet bytes in smoltcp's style: a
//! `new_checked` constructor does every length check, after which the
//! accessors cannot panic, and `payload()` returns a slice with the packet's
//! own lifetime. etherparse decodes none of these headers.

pub mod erspan;
pub mod geneve;
pub mod gre;
pub mod vxlan;

use std::fmt;

use etherparse::{EtherType, IpNumber};

use super::{Decap, DecodeConfig, DecodeError, Decoded, ErrorKind, Layer, Next};
use erspan::{Erspan, ErspanError};
use geneve::{Geneve, GeneveError};
use gre::{Gre, GreError};
use vxlan::{NotVxlan, Vxlan};

/// IANA's Geneve port (RFC 8926 §3.3).
pub const GENEVE_PORT: u16 = 6081;
const UDP_HEADER_LEN: usize = 8;
/// GRE protocol types (IEEE EtherType registry) of the mirror payloads.
const TRANSPARENT_ETHERNET: u16 = 0x6558;
const ERSPAN_I_II: u16 = 0x88be;
const ERSPAN_III: u16 = 0x22eb;
const MPLS_UNICAST: u16 = 0x8847;
const MPLS_MULTICAST: u16 = 0x8848;
const IPV4_IN_IP: IpNumber = IpNumber(4);
const IPV6_IN_IP: IpNumber = IpNumber(41);

/// The mirror encapsulations mirrorflow removes (`mirror.encap` of the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EncapKind {
    /// VXLAN (RFC 7348): AWS Traffic Mirroring, Azure vTAP.
    Vxlan,
    /// Geneve (RFC 8926): out-of-band cloud mirroring.
    Geneve,
    /// Plain GRE (RFC 2784/2890).
    Gre,
    /// ERSPAN type I (GRE 0x88BE without sequence numbers).
    Erspan1,
    /// ERSPAN type II.
    Erspan2,
    /// ERSPAN type III (GRE 0x22EB).
    Erspan3,
}

impl EncapKind {
    /// The record's spelling (flow-record.md §1).
    pub fn name(self) -> &'static str {
        match self {
            EncapKind::Vxlan => "vxlan",
            EncapKind::Geneve => "geneve",
            EncapKind::Gre => "gre",
            EncapKind::Erspan1 => "erspan1",
            EncapKind::Erspan2 => "erspan2",
            EncapKind::Erspan3 => "erspan3",
        }
    }
}

impl fmt::Display for EncapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outermost mirror encapsulation of a packet: where it was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mirror {
    /// Which tunnel.
    pub encap: EncapKind,
    /// VXLAN or Geneve VNI.
    pub vni: Option<u32>,
    /// ERSPAN session ID, or the GRE key.
    pub session_id: Option<u32>,
}

/// Reads a big-endian u16 at `at` (callers have checked the length).
#[inline]
fn be16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Reads a big-endian u24 at `at` (callers have checked the length).
#[inline]
fn be24(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, buf[at], buf[at + 1], buf[at + 2]])
}

/// Reads a big-endian u32 at `at` (callers have checked the length).
#[inline]
fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// What is inside a tunnel: the inner frame, how to read it, where it was observed.
#[derive(Debug, Clone, Copy)]
pub struct Inner<'a> {
    /// The encapsulated bytes.
    pub frame: &'a [u8],
    /// Their first layer.
    pub next: Next,
    /// The mirror tunnel removed (None for IP-in-IP).
    pub mirror: Option<Mirror>,
    /// ERSPAN type III's hardware timestamp.
    pub erspan_timestamp: Option<u32>,
}

impl<'a> Inner<'a> {
    fn new(
        frame: &'a [u8],
        next: Next,
        encap: EncapKind,
        vni: Option<u32>,
        session_id: Option<u32>,
    ) -> Self {
        Inner {
            frame,
            next,
            mirror: Some(Mirror {
                encap,
                vni,
                session_id,
            }),
            erspan_timestamp: None,
        }
    }
}

/// The layer an EtherType-style protocol field announces inside a tunnel.
/// Anything else is an unknown encapsulation (flow-record.md §2), not a
/// non-IP frame: no frame was found to be non-IP.
fn next_for(protocol: u16) -> Next {
    match protocol {
        TRANSPARENT_ETHERNET => Next::Ethernet,
        MPLS_UNICAST | MPLS_MULTICAST => Next::Mpls,
        p if p == EtherType::IPV4.0 => Next::Ipv4,
        p if p == EtherType::IPV6.0 => Next::Ipv6,
        _ => Next::Unknown,
    }
}

fn error(kind: ErrorKind, offset: usize) -> DecodeError {
    DecodeError::new(Layer::Tunnel, kind, offset)
}

/// If the decoded packet is a tunnel `config` peels, what is inside it.
/// Error offsets are relative to the start of the IP payload.
pub fn peel<'a>(
    outer: &Decoded<'a>,
    config: &DecodeConfig,
) -> Result<Option<Inner<'a>>, DecodeError> {
    if config.decap == Decap::None {
        return Ok(None);
    }
    let deep = config.decap == Decap::Deep;
    let payload = outer.ip_payload;
    if outer.fragment.is_some_and(|f| !f.is_first()) {
        // A later fragment of a tunnel packet carries the rest of an inner
        // packet already counted with the first fragment.
        let tunnel = outer.proto == IpNumber::GRE
            || (deep && matches!(outer.proto, IPV4_IN_IP | IPV6_IN_IP));
        return if tunnel {
            Err(error(ErrorKind::TunnelFragment, 0))
        } else {
            Ok(None)
        };
    }
    match outer.proto {
        IpNumber::UDP => {
            let Some((_, dst_port)) = outer.transport.ports() else {
                return Ok(None);
            };
            let udp_payload = &payload[UDP_HEADER_LEN.min(payload.len())..];
            if config.is_vxlan_port(dst_port) {
                match Vxlan::new_checked(udp_payload) {
                    Ok(v) => Ok(Some(Inner::new(
                        v.payload(),
                        Next::Ethernet,
                        EncapKind::Vxlan,
                        Some(v.vni()),
                        None,
                    ))),
                    Err(NotVxlan::NoIFlag) => Ok(None),
                    Err(NotVxlan::Truncated) => Err(error(ErrorKind::Truncated, UDP_HEADER_LEN)),
                }
            } else if dst_port == GENEVE_PORT {
                let g = Geneve::new_checked(udp_payload).map_err(|e| match e {
                    GeneveError::Truncated => error(ErrorKind::Truncated, UDP_HEADER_LEN),
                    GeneveError::Malformed => error(ErrorKind::Malformed, UDP_HEADER_LEN),
                })?;
                // RFC 8926 carries Ethernet or IP; MPLS in Geneve is not a mirror's.
                let next = match next_for(g.protocol()) {
                    Next::Mpls => Next::Unknown,
                    next => next,
                };
                Ok(Some(Inner::new(
                    g.payload(),
                    next,
                    EncapKind::Geneve,
                    Some(g.vni()),
                    None,
                )))
            } else {
                Ok(None)
            }
        }
        IpNumber::GRE => gre(payload),
        IPV4_IN_IP if deep => Ok(Some(Inner {
            frame: payload,
            next: Next::Ipv4,
            mirror: None,
            erspan_timestamp: None,
        })),
        IPV6_IN_IP if deep => Ok(Some(Inner {
            frame: payload,
            next: Next::Ipv6,
            mirror: None,
            erspan_timestamp: None,
        })),
        _ => Ok(None),
    }
}

/// GRE and the ERSPAN types it carries.
fn gre(payload: &[u8]) -> Result<Option<Inner<'_>>, DecodeError> {
    let g = match Gre::new_checked(payload) {
        Ok(g) => g,
        Err(GreError::NotMirrorGre) => return Ok(None),
        Err(GreError::Truncated) => return Err(error(ErrorKind::Truncated, 0)),
    };
    let rest = g.payload();
    let at = g.header_len();
    let erspan_error = |e| match e {
        ErspanError::Truncated => error(ErrorKind::Truncated, at),
        ErspanError::Malformed => error(ErrorKind::Malformed, at),
    };
    let inner = match g.protocol() {
        // Type II has a sequence number in GRE and its own header; type I neither.
        ERSPAN_I_II if g.has_sequence() => {
            let e = Erspan::new_type2(rest).map_err(erspan_error)?;
            Inner::new(
                e.payload(),
                Next::Ethernet,
                EncapKind::Erspan2,
                None,
                Some(e.session_id()),
            )
        }
        ERSPAN_I_II => Inner::new(rest, Next::Ethernet, EncapKind::Erspan1, None, g.key()),
        ERSPAN_III => {
            let e = Erspan::new_type3(rest).map_err(erspan_error)?;
            let next = match e.frame_type() {
                erspan::FRAME_ETHERNET => Next::Ethernet,
                erspan::FRAME_IP => Next::IpByVersion,
                _ => Next::Unknown,
            };
            let mut inner = Inner::new(
                e.payload(),
                next,
                EncapKind::Erspan3,
                None,
                Some(e.session_id()),
            );
            inner.erspan_timestamp = Some(e.hardware_timestamp());
            inner
        }
        protocol => Inner::new(rest, next_for(protocol), EncapKind::Gre, None, g.key()),
    };
    Ok(Some(inner))
}
