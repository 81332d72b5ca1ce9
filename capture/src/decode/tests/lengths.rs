//! Issue 15, classes 2 and 3 (lengths): a zero IP length (TSO/GSO, BIG TCP)
//! is the frame's; a Jumbo Payload length counts only when the frame carries
//! it (docs/record.md, "Counting"). Expectations are worked out from the
//! bytes and the original lengths written here.

use super::*;

/// Decodes `data` captured from a frame of `orig_len` bytes on the wire.
fn ok_wire(link: u16, data: &[u8], orig_len: u32) -> Decoded<'_> {
    let raw = RawPacket {
        orig_len,
        ..packet(link, data)
    };
    match decode(&raw) {
        Ok(decoded) => decoded,
        Err(e) => panic!("expected a decoded packet, got {e} ({e:?})"),
    }
}

fn err_wire(link: u16, data: &[u8], orig_len: u32) -> DecodeError {
    let raw = RawPacket {
        orig_len,
        ..packet(link, data)
    };
    decode(&raw).expect_err("expected an error")
}

#[test]
fn ipv4_total_length_0_is_the_frame_length() {
    // A TSO segment as a host capture shows it: Total Length 0, TCP (20 bytes)
    // and 1448 payload bytes, all captured. ip_len = 1502 - 14 = 1488;
    // payload 1488 - 20 - 20 = 1448.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_TCP, 0, 0, &[]),
        &tcp(443, 51000, 5, 0x18),
        &[0x5a; 1448],
    ]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        facts(&d),
        v4_facts(P_TCP, Some((443, 51000)), 1488, 20, 1448)
    );
}

#[test]
fn ipv4_total_length_0_counts_the_original_length_under_a_snaplen() {
    // A 64 KB GSO segment (BIG TCP: 70,000 bytes on the wire) captured with
    // -s 96 on a Linux cooked v1 interface (16-byte header): ip_len is
    // 70000 - 16 = 69984, more than a Total Length can say; payload 69944.
    let sll = [0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    let frame = cat(&[
        &sll,
        &ipv4(P_TCP, 0, 0, &[]),
        &tcp(443, 51000, 5, 0x10),
        &[0; 40],
    ]);
    let d = ok_wire(LINUX_SLL, &frame, 70_000);
    assert_eq!(
        facts(&d),
        v4_facts(P_TCP, Some((443, 51000)), 69_984, 20, 69_944)
    );
}

#[test]
fn ipv6_payload_length_0_without_jumbo_is_the_frame_length() {
    // Payload Length 0, no Hop-by-Hop: UDP with 100 payload bytes.
    // ip_len = 162 - 14 = 148; payload 148 - 40 - 8 = 100.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, P_UDP),
        &udp(SPORT, DPORT, 0),
        &[0x5a; 100],
    ]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(100));
    // With a Hop-by-Hop header that has no Jumbo option: the same, header 48.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, X_HOP_BY_HOP),
        &opts8(P_UDP),
        &udp(SPORT, DPORT, 0),
        &[0x5a; 100],
    ]);
    // ip_len = 170 - 14 = 156; payload 156 - 48 - 8 = 100.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(P_UDP, Some((SPORT, DPORT)), 156, 48, 100)
    );
    // Whatever the next header: no ports, the payload is the rest.
    for next in [P_NO_NEXT, P_ESP, P_OSPF] {
        let frame = cat(&[&eth(0x86dd), &ipv6(0, next), &[0u8; 16]]);
        assert_eq!(
            facts(&ok(ETHERNET, &frame)),
            v6_facts(next, None, 56, 40, 16)
        );
    }
}

/// Hop-by-Hop header with a Jumbo Payload option of `len` (RFC 2675), then `next`.
fn jumbo_hop_by_hop(next: u8, len: u32) -> Vec<u8> {
    let len = len.to_be_bytes();
    vec![
        next, 0, // Next Header, Hdr Ext Len 0: 8 bytes
        0xc2, 4, // option Jumbo Payload, 4 bytes
        len[0], len[1], len[2], len[3],
    ]
}

#[test]
fn ipv6_jumbo_counts_when_the_frame_carries_it() {
    // Jumbo Payload Length 70000; the frame on the wire is 14 + 40 + 70000
    // bytes, 32 payload bytes captured. ip_len 70040; header 48;
    // payload 70040 - 48 - 8 = 69984.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, X_HOP_BY_HOP),
        &jumbo_hop_by_hop(P_UDP, 70_000),
        &udp(SPORT, DPORT, 0), // UDP length 0 in a jumbogram (RFC 2675 §4)
        &[0x5a; 32],
    ]);
    let d = ok_wire(ETHERNET, &frame, 14 + 40 + 70_000);
    assert_eq!(
        facts(&d),
        v6_facts(P_UDP, Some((SPORT, DPORT)), 70_040, 48, 69_984)
    );
}

#[test]
fn ipv6_jumbo_after_padding_options() {
    let hop_by_hop = [
        P_TCP, // Next Header
        1,     // Hdr Ext Len: 16 bytes
        0x01, 0x02, 0x00, 0x00, // PadN, 2 bytes
        0xc2, 0x04, 0x00, 0x02, 0x00, 0x00, // Jumbo Payload Length 0x20000 = 131072
        0x01, 0x00, // PadN, 0 bytes
        0x00, 0x00, // Pad1, Pad1
    ];
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, X_HOP_BY_HOP),
        &hop_by_hop,
        &tcp(443, 51000, 5, 0x10),
    ]);
    // ip_len 131072 + 40 = 131112; header 40 + 16 = 56; payload 131112 - 56 - 20 = 131036.
    let d = ok_wire(ETHERNET, &frame, 14 + 131_112);
    assert_eq!(
        facts(&d),
        v6_facts(P_TCP, Some((443, 51000)), 131_112, 56, 131_036)
    );
}

#[test]
fn ipv6_jumbo_the_frame_does_not_carry_is_malformed() {
    // The case: a 490-byte frame whose Jumbo option claims
    // 3,858,694,250 bytes.
    let claim = 3_858_694_250u32;
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, X_HOP_BY_HOP),
        &jumbo_hop_by_hop(P_UDP, claim),
        &udp(SPORT, DPORT, 0),
    ]);
    let mut frame = frame;
    frame.resize(490, 0x5a);
    assert_eq!(
        err_wire(ETHERNET, &frame, 490),
        error(Layer::Ipv6, ErrorKind::Malformed, 14)
    );
    // One byte short of 70000 + 40 on the wire: malformed too.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(0, X_HOP_BY_HOP),
        &jumbo_hop_by_hop(P_UDP, 70_000),
        &udp(SPORT, DPORT, 0),
    ]);
    assert_eq!(
        err_wire(ETHERNET, &frame, 14 + 70_040 - 1),
        error(Layer::Ipv6, ErrorKind::Malformed, 14)
    );
}

#[test]
fn a_zero_length_inside_a_tunnel_is_the_rest_of_the_outer_frame() {
    // Ethernet / IPv4 (Total Length 0) / UDP to 4789 (length 0) / VXLAN VNI 7
    // / Ethernet / IPv4 (Total Length 0) / TCP: BIG TCP through a VXLAN device,
    // as tcpdump's bigtcp-ipv4-vxlan-ipv4 test capture shows it. The inner
    // datagram: 80000 on the wire - (14 + 20 + 8 + 8 + 14) = 79936 bytes;
    // payload 79936 - 20 - 20 = 79896.
    let inner = cat(&[
        &eth(0x0800),
        &ipv4(P_TCP, 0, 0, &[]),
        &tcp(443, 51000, 5, 0x10),
    ]);
    let vxlan = cat(&[&[0x08, 0, 0, 0, 0, 0, 7, 0], &inner]);
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 0, 0, &[]),
        &udp(SPORT, 4789, 0),
        &vxlan,
    ]);
    let d = ok_wire(ETHERNET, &frame, 80_000);
    assert_eq!(
        facts(&d),
        v4_facts(P_TCP, Some((443, 51000)), 79_936, 20, 79_896)
    );
    assert_eq!(d.mirror.map(|m| m.vni), Some(Some(7)));
}
