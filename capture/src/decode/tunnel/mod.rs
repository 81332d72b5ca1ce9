//! The tunnels mirrors deliver copies in (docs/decoding.md, "Tunnels"): VXLAN, Geneve,
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
    /// The record's spelling (docs/record.md, "The observation point").
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

/// Why a tunnel header was not peeled: the packet counts as the flow of the
/// IP header carrying it (docs/decoding.md, "Limits and bad packets"), and
/// the statistics count it as "tunnel not peeled" by this reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NotPeeled {
    /// UDP to a VXLAN port without the I flag (RFC 7348 §5).
    VxlanFlag,
    /// UDP to 6081 whose header is not Geneve: another version, or options
    /// overrunning the header.
    GeneveHeader,
    /// Geneve carrying a protocol type other than Ethernet, IPv4 or IPv6.
    GeneveProtocol,
    /// GRE version 0 carrying a protocol type mirrorflow does not decode
    /// (keepalives, NHRP, WCCP, Cisco MetaData, Aruba's…).
    GreProtocol,
    /// An ERSPAN header that fails its checks (version against GRE type).
    ErspanHeader,
    /// ERSPAN type III with a frame type other than Ethernet or IP.
    ErspanFrameType,
}

impl NotPeeled {
    /// Every reason (for statistics tables).
    pub const ALL: [NotPeeled; 6] = [
        NotPeeled::VxlanFlag,
        NotPeeled::GeneveHeader,
        NotPeeled::GeneveProtocol,
        NotPeeled::GreProtocol,
        NotPeeled::ErspanHeader,
        NotPeeled::ErspanFrameType,
    ];

    /// Stable lower-case name, used in statistics.
    pub fn name(self) -> &'static str {
        match self {
            NotPeeled::VxlanFlag => "vxlan_no_i_flag",
            NotPeeled::GeneveHeader => "geneve_header",
            NotPeeled::GeneveProtocol => "geneve_protocol",
            NotPeeled::GreProtocol => "gre_protocol",
            NotPeeled::ErspanHeader => "erspan_header",
            NotPeeled::ErspanFrameType => "erspan_frame_type",
        }
    }
}

/// What [`peel`] found behind an IP header.
#[derive(Debug, Clone, Copy)]
pub enum Peel<'a> {
    /// A tunnel that decodes: go on with what it carries.
    Inner(Inner<'a>),
    /// No tunnel: this IP header is the innermost.
    Outer,
    /// A tunnel header that does not decode: this IP header is the flow.
    NotPeeled(NotPeeled),
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

/// The layer an EtherType-style protocol field announces inside a tunnel;
/// `None` for anything else, which leaves the tunnel unpeeled
/// (docs/decoding.md, "Limits and bad packets").
fn next_for(protocol: u16) -> Option<Next> {
    match protocol {
        TRANSPARENT_ETHERNET => Some(Next::Ethernet),
        MPLS_UNICAST | MPLS_MULTICAST => Some(Next::Mpls),
        p if p == EtherType::IPV4.0 => Some(Next::Ipv4),
        p if p == EtherType::IPV6.0 => Some(Next::Ipv6),
        _ => None,
    }
}

fn error(kind: ErrorKind, offset: usize) -> DecodeError {
    DecodeError::new(Layer::Tunnel, kind, offset)
}

/// If the decoded packet is a tunnel `config` peels, what is inside it.
/// Only what decodes is peeled. Errors are for a tunnel header cut by the
/// snaplen (its inner key is lost) and later fragments of a tunnel packet;
/// their offsets are relative to the start of the IP payload.
pub fn peel<'a>(outer: &Decoded<'a>, config: &DecodeConfig) -> Result<Peel<'a>, DecodeError> {
    if config.decap == Decap::None {
        return Ok(Peel::Outer);
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
            Ok(Peel::Outer)
        };
    }
    match outer.proto {
        IpNumber::UDP => {
            let Some((_, dst_port)) = outer.transport.ports() else {
                return Ok(Peel::Outer);
            };
            // The UDP header itself may be cut after its ports (issue 15):
            // the tunnel header then starts, missing, at the end of the capture.
            let tunnel_at = UDP_HEADER_LEN.min(payload.len());
            let udp_payload = &payload[tunnel_at..];
            if config.is_vxlan_port(dst_port) {
                match Vxlan::new_checked(udp_payload) {
                    Ok(v) => Ok(Peel::Inner(Inner::new(
                        v.payload(),
                        Next::Ethernet,
                        EncapKind::Vxlan,
                        Some(v.vni()),
                        None,
                    ))),
                    Err(NotVxlan::NoIFlag) => Ok(Peel::NotPeeled(NotPeeled::VxlanFlag)),
                    Err(NotVxlan::Truncated) => Err(error(ErrorKind::Truncated, tunnel_at)),
                }
            } else if dst_port == GENEVE_PORT {
                let g = match Geneve::new_checked(udp_payload) {
                    Ok(g) => g,
                    Err(GeneveError::Truncated) => {
                        return Err(error(ErrorKind::Truncated, tunnel_at))
                    }
                    Err(GeneveError::Malformed) => {
                        return Ok(Peel::NotPeeled(NotPeeled::GeneveHeader))
                    }
                };
                // RFC 8926 carries Ethernet or IP; MPLS in Geneve is not a mirror's.
                Ok(match next_for(g.protocol()) {
                    Some(Next::Mpls) | None => Peel::NotPeeled(NotPeeled::GeneveProtocol),
                    Some(next) => Peel::Inner(Inner::new(
                        g.payload(),
                        next,
                        EncapKind::Geneve,
                        Some(g.vni()),
                        None,
                    )),
                })
            } else {
                Ok(Peel::Outer)
            }
        }
        IpNumber::GRE => gre(payload),
        IPV4_IN_IP if deep => Ok(Peel::Inner(Inner {
            frame: payload,
            next: Next::Ipv4,
            mirror: None,
            erspan_timestamp: None,
        })),
        IPV6_IN_IP if deep => Ok(Peel::Inner(Inner {
            frame: payload,
            next: Next::Ipv6,
            mirror: None,
            erspan_timestamp: None,
        })),
        _ => Ok(Peel::Outer),
    }
}

/// GRE and the ERSPAN types it carries.
fn gre(payload: &[u8]) -> Result<Peel<'_>, DecodeError> {
    let g = match Gre::new_checked(payload) {
        Ok(g) => g,
        Err(GreError::NotMirrorGre) => return Ok(Peel::Outer),
        Err(GreError::Truncated) => return Err(error(ErrorKind::Truncated, 0)),
    };
    let rest = g.payload();
    let at = g.header_len();
    let not_erspan = Peel::NotPeeled(NotPeeled::ErspanHeader);
    let inner = match g.protocol() {
        // Type II has a sequence number in GRE and its own header; type I neither.
        ERSPAN_I_II if g.has_sequence() => {
            let e = match Erspan::new_type2(rest) {
                Ok(e) => e,
                Err(ErspanError::Truncated) => return Err(error(ErrorKind::Truncated, at)),
                Err(ErspanError::Malformed) => return Ok(not_erspan),
            };
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
            let e = match Erspan::new_type3(rest) {
                Ok(e) => e,
                Err(ErspanError::Truncated) => return Err(error(ErrorKind::Truncated, at)),
                Err(ErspanError::Malformed) => return Ok(not_erspan),
            };
            let next = match e.frame_type() {
                erspan::FRAME_ETHERNET => Next::Ethernet,
                erspan::FRAME_IP => Next::IpByVersion,
                _ => return Ok(Peel::NotPeeled(NotPeeled::ErspanFrameType)),
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
        protocol => match next_for(protocol) {
            Some(next) => Inner::new(rest, next, EncapKind::Gre, None, g.key()),
            None => return Ok(Peel::NotPeeled(NotPeeled::GreProtocol)),
        },
    };
    Ok(Peel::Inner(inner))
}

#[cfg(test)]
mod tests {
    use etherparse::PacketBuilder;

    use super::*;
    use crate::{
        decode::{decode, decode_with, Transport},
        LinkType, RawPacket, Timestamp,
    };

    /// Inner frame: Ethernet, IPv4 10.1.1.1 → 10.2.2.2, UDP 1111 → 2222, 10 bytes.
    fn inner_ethernet() -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 1, 1, 1], [10, 2, 2, 2], 64)
            .udp(1111, 2222)
            .write(&mut out, &[0; 10])
            .unwrap();
        out
    }

    /// The same packet without Ethernet.
    fn inner_ip() -> Vec<u8> {
        inner_ethernet()[14..].to_vec()
    }

    /// Outer Ethernet + IPv4 192.0.2.1 → 192.0.2.2 + UDP to `port`, carrying `payload`.
    fn udp_outer(port: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2([3; 6], [4; 6])
            .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(49152, port)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    /// Outer Ethernet + IPv4 (protocol 47) carrying `gre_and_payload`.
    fn gre_outer(gre_and_payload: &[u8]) -> Vec<u8> {
        let mut out = vec![4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 0x08, 0x00];
        out.extend_from_slice(&gre_ip(gre_and_payload));
        out
    }

    /// An IPv4 header (protocol 47, 198.51.100.1 → 198.51.100.2) and `payload`.
    fn gre_ip(payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0, 0, 64, 47, 0, 0, 198, 51, 100, 1, 198, 51, 100, 2]);
        ip.extend_from_slice(payload);
        ip
    }

    fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
        let mut v = vec![0x08, 0, 0, 0];
        v.extend_from_slice(&vni.to_be_bytes()[1..]);
        v.push(0);
        v.extend_from_slice(inner);
        v
    }

    fn packet(data: &[u8]) -> RawPacket<'_> {
        RawPacket {
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            interface: 0,
            orig_len: data.len() as u32,
            data,
        }
    }

    fn assert_inner(decoded: &crate::decode::Decoded<'_>) {
        match &decoded.ip {
            crate::decode::IpView::V4(h) => assert_eq!(
                (h.source(), h.destination()),
                ([10, 1, 1, 1], [10, 2, 2, 2])
            ),
            other => panic!("not the inner IPv4: {other:?}"),
        }
        assert_eq!(decoded.transport.ports(), Some((1111, 2222)));
        assert_eq!(decoded.ip_len, 38);
    }

    #[test]
    fn vxlan_is_peeled_to_the_inner_flow_with_its_vni() {
        let frame = udp_outer(4789, &vxlan(1111, &inner_ethernet()));
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(
            d.mirror,
            Some(Mirror {
                encap: EncapKind::Vxlan,
                vni: Some(1111),
                session_id: None
            })
        );
    }

    #[test]
    fn vxlan_without_i_flag_is_an_ordinary_udp_flow() {
        let mut payload = vxlan(5, &inner_ethernet());
        payload[0] = 0;
        let frame = udp_outer(4789, &payload);
        let d = decode(&packet(&frame)).unwrap();
        assert_eq!(d.transport.ports(), Some((49152, 4789)));
        assert_eq!(d.mirror, None);
    }

    #[test]
    fn vxlan_on_an_extra_port_only_when_configured() {
        let frame = udp_outer(8472, &vxlan(7, &inner_ethernet()));
        assert_eq!(
            decode(&packet(&frame)).unwrap().transport.ports(),
            Some((49152, 8472))
        );
        let config = DecodeConfig::new(Decap::Mirror, &[8472]).unwrap();
        assert_inner(&decode_with(&packet(&frame), &config).unwrap());
    }

    #[test]
    fn decap_none_keeps_the_outer_flow() {
        let frame = udp_outer(4789, &vxlan(1111, &inner_ethernet()));
        let config = DecodeConfig::new(Decap::None, &[]).unwrap();
        let d = decode_with(&packet(&frame), &config).unwrap();
        assert_eq!(d.transport.ports(), Some((49152, 4789)));
        assert_eq!(d.mirror, None);
    }

    #[test]
    fn geneve_with_options_carrying_bare_ip() {
        let mut g = vec![
            0x02, 0x00, 0x08, 0x00, // 2 words of options; protocol IPv4
            0x00, 0x01, 0x00, 0x00, // VNI 256
            0x01, 0x32, 0x01, 0x01, 9, 9, 9, 9, // class 0x0132 type 1, 1 word
        ];
        g.extend_from_slice(&inner_ip());
        let frame = udp_outer(6081, &g);
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(
            d.mirror,
            Some(Mirror {
                encap: EncapKind::Geneve,
                vni: Some(256),
                session_id: None
            })
        );
    }

    #[test]
    fn gre_key_becomes_the_session_id_whatever_the_other_flags() {
        for (flags, words) in [
            (0x20u8, vec![[0, 0, 0, 42]]),
            (0xb0, vec![[0xff; 4], [0, 0, 0, 42], [0, 0, 0, 1]]),
        ] {
            let mut gre = vec![flags, 0, 0x65, 0x58];
            for w in words {
                gre.extend_from_slice(&w);
            }
            gre.extend_from_slice(&inner_ethernet());
            let frame = gre_outer(&gre);
            let d = decode(&packet(&frame)).unwrap();
            assert_inner(&d);
            assert_eq!(
                d.mirror,
                Some(Mirror {
                    encap: EncapKind::Gre,
                    vni: None,
                    session_id: Some(42)
                }),
                "flags {flags:#x}"
            );
        }
    }

    #[test]
    fn erspan_types_one_two_three() {
        // Type I: GRE 0x88BE, no sequence number, Ethernet right after.
        let mut e1 = vec![0x00, 0, 0x88, 0xbe];
        e1.extend_from_slice(&inner_ethernet());
        let frame = gre_outer(&e1);
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(d.mirror.unwrap().encap, EncapKind::Erspan1);

        // Type II: sequence number, 8-byte header with session 0x155 (341).
        let mut e2 = vec![
            0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x00, 0x01, 0x55, 0, 0, 0, 0,
        ];
        e2.extend_from_slice(&inner_ethernet());
        let frame = gre_outer(&e2);
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(
            d.mirror,
            Some(Mirror {
                encap: EncapKind::Erspan2,
                vni: None,
                session_id: Some(341)
            })
        );

        // Type III, frame type IP (2), with the 8-byte platform sub-header.
        let mut e3 = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 2];
        e3.extend_from_slice(&[
            0x20,
            0x00,
            0x00,
            0x09,
            0xca,
            0xfe,
            0xba,
            0xbe,
            0,
            0,
            2 << 2,
            0x01,
        ]);
        e3.extend_from_slice(&[0; 8]);
        e3.extend_from_slice(&inner_ip());
        let frame = gre_outer(&e3);
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(
            d.mirror,
            Some(Mirror {
                encap: EncapKind::Erspan3,
                vni: None,
                session_id: Some(9)
            })
        );
        assert_eq!(d.erspan_timestamp, Some(0xcafe_babe));
    }

    #[test]
    fn a_tunnel_inside_a_tunnel_reports_the_outermost() {
        // Ethernet / IPv4 / GRE(key 5) / Ethernet / IPv4 / UDP 4789 / VXLAN 77 / inner.
        let vxlan_frame = udp_outer(4789, &vxlan(77, &inner_ethernet()));
        let mut gre = vec![0x20, 0, 0x65, 0x58, 0, 0, 0, 5];
        gre.extend_from_slice(&vxlan_frame);
        let frame = gre_outer(&gre);
        let d = decode(&packet(&frame)).unwrap();
        assert_inner(&d);
        assert_eq!(
            d.mirror,
            Some(Mirror {
                encap: EncapKind::Gre,
                vni: None,
                session_id: Some(5)
            })
        );
    }

    #[test]
    fn a_tunnel_cut_by_the_snaplen_is_truncated_in_the_tunnel_layer() {
        let frame = udp_outer(4789, &vxlan(1, &inner_ethernet()));
        // 14 Ethernet + 20 IP + 8 UDP + 4 of the 8 VXLAN bytes.
        let err = decode(&packet(&frame[..46])).unwrap_err();
        assert_eq!(
            (err.layer, err.kind, err.offset),
            (Layer::Tunnel, ErrorKind::Truncated, 42)
        );
        // Cut inside the inner IPv4 header: truncated there, at its offset.
        let err = decode(&packet(&frame[..14 + 20 + 8 + 8 + 14 + 10])).unwrap_err();
        assert_eq!(
            (err.layer, err.kind, err.offset),
            (Layer::Ipv4, ErrorKind::Truncated, 64)
        );
    }

    #[test]
    fn nesting_past_the_depth_limit_is_too_deep_not_a_loop() {
        // GRE carrying IPv4 carrying GRE …: 8 levels are fine, 9 are too deep.
        let nest = |levels: usize| {
            let mut ip = inner_ip();
            for _ in 0..levels {
                let mut gre = vec![0, 0, 0x08, 0x00];
                gre.extend_from_slice(&ip);
                ip = gre_ip(&gre);
            }
            let mut frame = vec![4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 0x08, 0x00];
            frame.extend_from_slice(&ip);
            frame
        };
        assert_inner(&decode(&packet(&nest(MAX_ENCAPS_FOR_TEST))).unwrap());
        let err = decode(&packet(&nest(MAX_ENCAPS_FOR_TEST + 1))).unwrap_err();
        assert_eq!((err.layer, err.kind), (Layer::Tunnel, ErrorKind::TooDeep));
        // Far deeper still returns promptly.
        assert!(decode(&packet(&nest(2000))).is_err());
    }

    const MAX_ENCAPS_FOR_TEST: usize = crate::decode::MAX_ENCAPS;

    #[test]
    fn later_fragments_of_a_gre_packet_are_continuations() {
        let mut gre = vec![0, 0, 0x65, 0x58];
        gre.extend_from_slice(&inner_ethernet());
        let mut frame = gre_outer(&gre);
        frame[14 + 6] = 0x00;
        frame[14 + 7] = 0x10; // fragment offset 16 (128 bytes), last fragment
        let err = decode(&packet(&frame)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TunnelFragment);
        let config = DecodeConfig::new(Decap::None, &[]).unwrap();
        let d = decode_with(&packet(&frame), &config).unwrap();
        assert!(matches!(d.transport, Transport::None));
    }

    // GRE with a protocol type not decoded: tests in decode/tests/not_peeled.rs.

    #[test]
    fn ip_in_ip_is_peeled_only_when_deep() {
        let mut frame = vec![4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 0x08, 0x00];
        let mut outer = gre_ip(&inner_ip());
        outer[9] = 4; // protocol 4: IPv4 in IPv4
        frame.extend_from_slice(&outer);
        assert_eq!(decode(&packet(&frame)).unwrap().proto, IpNumber(4));
        let deep = DecodeConfig::new(Decap::Deep, &[]).unwrap();
        let d = decode_with(&packet(&frame), &deep).unwrap();
        assert_inner(&d);
        assert_eq!(d.mirror, None);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use crate::{
        decode::{decode_with, Decap, DecodeConfig},
        LinkType, RawPacket, Timestamp,
    };

    /// Ethernet + IPv4 (protocol `proto`, Total Length as declared by the
    /// caller's bytes) carrying `payload`; for UDP, a UDP header to `port`.
    fn outer(proto: u8, port: u16, payload: &[u8]) -> Vec<u8> {
        let mut l4 = Vec::new();
        if proto == 17 {
            l4.extend_from_slice(&[0xc0, 0x00]);
            l4.extend_from_slice(&port.to_be_bytes());
            l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        l4.extend_from_slice(payload);
        let mut f = vec![4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 0x08, 0x00, 0x45, 0];
        f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        f.extend_from_slice(&l4);
        f
    }

    /// A tunnel header prefix of each kind, to put random bytes behind.
    fn tunnel() -> impl Strategy<Value = (u8, u16, Vec<u8>)> {
        prop_oneof![
            Just((17u8, 4789u16, vec![0x08, 0, 0, 0, 0, 0, 1, 0])),
            (0u8..64).prop_map(|words| (17, 6081, vec![words, 0, 0x65, 0x58, 0, 0, 1, 0])),
            (0u8..64).prop_map(|words| (17, 6081, vec![words, 0, 0x08, 0x00, 0, 0, 1, 0])),
            any::<u8>().prop_map(|flags| (47, 0, vec![flags & 0xb0, 0, 0x65, 0x58])),
            any::<u8>().prop_map(|flags| (47, 0, vec![flags & 0xb0, 0, 0x88, 0xbe])),
            any::<u8>().prop_map(|flags| (47, 0, vec![flags & 0xb0, 0, 0x22, 0xeb])),
            any::<u8>().prop_map(|flags| (47, 0, vec![flags & 0xb0, 0, 0x08, 0x00])),
            Just((4, 0, vec![])),
        ]
    }

    proptest! {
        #[test]
        fn any_bytes_inside_any_tunnel_decode_without_panic(
            (proto, port, header) in tunnel(),
            body in prop::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..500,
            deep in any::<bool>(),
        ) {
            let mut payload = header;
            payload.extend_from_slice(&body);
            let frame = outer(proto, port, &payload);
            let data = &frame[..cut.min(frame.len())];
            let packet = RawPacket { ts: Timestamp(0), link: LinkType::ETHERNET, interface: 0, orig_len: frame.len() as u32, data };
            let config = DecodeConfig::new(if deep { Decap::Deep } else { Decap::Mirror }, &[]).unwrap();
            if let Ok(d) = decode_with(&packet, &config) {
                prop_assert!(d.ip_header_len <= d.ip_len);
                prop_assert!(d.payload_len() <= d.ip_len);
                prop_assert!(d.ip_payload.len() <= d.ip_len as usize);
            }
        }
    }
}
