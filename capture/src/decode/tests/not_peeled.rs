//! Issue 15, class 4: a tunnel header that does not decode is not a tunnel.
//! The packet counts as the flow of the IP header carrying it, and says why
//! in `not_peeled` (docs/decoding.md, "Limits and bad packets").
//! Expectations are worked out from the bytes written here.

use super::*;
use crate::decode::NotPeeled;

/// Ethernet + IPv4 (protocol 47) + `gre` (header and payload).
fn gre_frame(gre: &[u8]) -> Vec<u8> {
    cat(&[
        &eth(0x0800),
        &ipv4(47, (20 + gre.len()) as u16, 0, &[]),
        gre,
    ])
}

/// Ethernet + IPv4 + UDP from SPORT to `port` carrying `payload`.
fn udp_frame(port: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = (8 + payload.len()) as u16;
    cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 20 + udp_len, 0, &[]),
        &udp(SPORT, port, udp_len),
        payload,
    ])
}

fn outer(d: &Decoded<'_>) -> (Facts, Option<NotPeeled>, bool) {
    (facts(d), d.not_peeled, d.mirror.is_some())
}

#[test]
fn gre_with_a_protocol_not_decoded_is_its_outer_flow() {
    // Keepalive (protocol 0, nothing after), Cisco MetaData 0x8909, WCCP
    // 0x883E, NHRP 0x2001, Aruba 0x8200: protocol 47, no ports.
    for (protocol, body) in [
        (0x0000u16, &[][..]),
        (0x8909, &[0u8; 16][..]),
        (0x883e, &[0u8; 24][..]),
        (0x2001, &[0u8; 20][..]),
        (0x8200, &[0u8; 30][..]),
    ] {
        let gre = cat(&[&[0, 0], &protocol.to_be_bytes(), body]);
        let frame = gre_frame(&gre);
        let d = ok(ETHERNET, &frame);
        // ip_len 20 + 4 + body; the IP payload is all payload.
        let ip_len = 24 + body.len() as u32;
        assert_eq!(
            outer(&d),
            (
                v4_facts(47, None, ip_len, 20, ip_len - 20),
                Some(NotPeeled::GreProtocol),
                false
            ),
            "protocol {protocol:#06x}"
        );
    }
}

#[test]
fn udp_to_6081_that_is_not_geneve_is_its_udp_flow() {
    // "hello, not geneve": version bits 01 (0x68 >> 6) → not Geneve.
    let frame = udp_frame(6081, b"hello, not geneve");
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        outer(&d),
        (
            v4_facts(P_UDP, Some((SPORT, 6081)), 20 + 8 + 17, 20, 17),
            Some(NotPeeled::GeneveHeader),
            false
        )
    );
    // Version 0, protocol type 0x88B5 (not Ethernet or IP), VNI 9.
    let geneve = [0x00, 0x00, 0x88, 0xb5, 0x00, 0x00, 0x09, 0x00, 1, 2, 3, 4];
    let frame = udp_frame(6081, &geneve);
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        outer(&d),
        (
            v4_facts(P_UDP, Some((SPORT, 6081)), 20 + 8 + 12, 20, 12),
            Some(NotPeeled::GeneveProtocol),
            false
        )
    );
}

#[test]
fn vxlan_without_the_i_flag_says_why() {
    let vxlan = [0x00, 0, 0, 0, 0, 0, 5, 0, 0xaa, 0xbb];
    let frame = udp_frame(4789, &vxlan);
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        outer(&d),
        (
            v4_facts(P_UDP, Some((SPORT, 4789)), 20 + 8 + 10, 20, 10),
            Some(NotPeeled::VxlanFlag),
            false
        )
    );
}

#[test]
fn erspan_that_fails_its_checks_is_its_outer_gre_flow() {
    // Type II (sequence flag) whose header says version 2, not 1.
    let gre = cat(&[
        &[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1],
        &[0x20, 0x00, 0x00, 0x01, 0, 0, 0, 0],
        &[0u8; 14],
    ]);
    let frame = gre_frame(&gre);
    let d = ok(ETHERNET, &frame);
    assert_eq!(d.not_peeled, Some(NotPeeled::ErspanHeader));
    assert_eq!(d.proto, etherparse::IpNumber(47));
    // Type III with frame type 5 (neither Ethernet 0 nor IP 2).
    let gre = cat(&[
        &[0x10, 0, 0x22, 0xeb, 0, 0, 0, 2],
        &[0x20, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0, 0, 5 << 2, 0x00],
        &[0u8; 14],
    ]);
    let frame = gre_frame(&gre);
    let d = ok(ETHERNET, &frame);
    assert_eq!(d.not_peeled, Some(NotPeeled::ErspanFrameType));
}

#[test]
fn a_tunnel_cut_in_its_header_is_still_truncated() {
    // GRE cut after 2 of its 4 bytes: whether it is a tunnel is unknown.
    let frame = gre_frame(&[0, 0, 0x89, 0x09, 0, 0, 0, 0]);
    assert_eq!(
        err(ETHERNET, &frame[..34 + 2]),
        error(Layer::Tunnel, ErrorKind::Truncated, 34)
    );
}

#[test]
fn an_unpeeled_tunnel_inside_a_peeled_one_keeps_the_mirror() {
    // VXLAN VNI 7 carrying Ethernet + IPv4 + GRE keepalive: the flow is the
    // GRE-carrying IPv4 inside the VXLAN, observed on the VXLAN.
    let inner = gre_frame(&[0, 0, 0, 0]);
    let vxlan = cat(&[&[0x08, 0, 0, 0, 0, 0, 7, 0], &inner]);
    let frame = udp_frame(4789, &vxlan);
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        outer(&d),
        (
            v4_facts(47, None, 24, 20, 4),
            Some(NotPeeled::GreProtocol),
            true
        )
    );
}
