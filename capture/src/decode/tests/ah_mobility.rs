//! Issue 15, class 3: AH is walked in IPv4 as in IPv6 (RFC 4302), and the
//! IPv6 Mobility header is an upper layer, protocol 135 (RFC 6275 §6.1.1).
//! Expectations are worked out from the bytes written here.

use super::*;

/// AH with Next Header `next`, Payload Len 4: (4 + 2) * 4 = 24 bytes.
fn ah(next: u8) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0] = next; // Next Header
    h[1] = 4; // Payload Len
    h[4..8].copy_from_slice(&0x100u32.to_be_bytes()); // SPI
    h[8..12].copy_from_slice(&1u32.to_be_bytes()); // sequence number
    h[12..].fill(0xa5); // ICV, 12 bytes
    h
}

#[test]
fn ipv4_ah_then_tcp_has_the_tcp_ports() {
    // Total Length 20 + 24 + 20 + 10 = 74; header 20 + 24 = 44; payload 74 - 44 - 20 = 10.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(X_AH, 74, 0, &[]),
        &ah(P_TCP),
        &tcp(1025, 80, 5, 0x02),
        &[0x5a; 10],
    ]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(P_TCP, Some((1025, 80)), 74, 44, 10));
    assert_eq!(d.transport.tcp_flags(), Some(0x02));
}

#[test]
fn ipv4_ah_cut_or_malformed() {
    // AH cut after 10 of its 24 bytes: truncated at the AH (offset 34).
    let frame = cat(&[&eth(0x0800), &ipv4(X_AH, 72, 0, &[]), &ah(P_UDP)]);
    assert_eq!(
        err(ETHERNET, &frame[..34 + 10]),
        error(Layer::Ipv4, ErrorKind::Truncated, 34)
    );
    // Payload Len 0 (8 bytes) leaves no room for the sequence number (RFC 4302 §2.2).
    let mut bad = ah(P_UDP);
    bad[1] = 0;
    let frame = cat(&[&eth(0x0800), &ipv4(X_AH, 72, 0, &[]), &bad]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 34)
    );
    // AH beyond the declared end: Total Length 40 < 20 + 24.
    let frame = cat(&[&eth(0x0800), &ipv4(X_AH, 40, 0, &[]), &ah(P_UDP)]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 14)
    );
}

#[test]
fn ipv4_later_fragment_with_protocol_51_is_not_walked() {
    // Fragment offset 8 (64 bytes): the bytes after the header are payload.
    let frame = cat(&[&eth(0x0800), &ipv4(X_AH, 20 + 24, 0x0008, &[]), &ah(P_TCP)]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(X_AH, None, 44, 20, 24));
}

#[test]
fn ipv6_ah_then_tcp_has_the_tcp_ports() {
    // Payload Length 24 + 20 + 10 = 54; ip_len 94; header 64; payload 94 - 64 - 20 = 10.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(54, X_AH),
        &ah(P_TCP),
        &tcp(1026, 443, 5, 0x02),
        &[0x5a; 10],
    ]);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(P_TCP, Some((1026, 443)), 94, 64, 10)
    );
}

#[test]
fn ipv6_mobility_header_is_protocol_135() {
    let mobility = [
        P_NO_NEXT, // Payload Proto
        0,         // Header Len: 8 bytes
        0,         // MH Type: Binding Refresh Request
        0,         // reserved
        0, 0, // checksum
        0, 0, // reserved
    ];
    let frame = cat(&[&eth(0x86dd), &ipv6(8, X_MOBILITY), &mobility]);
    // Protocol 135, no ports; header 40; payload 48 - 40 = 8.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(X_MOBILITY, None, 48, 40, 8)
    );
    // After a Destination Options header (RFC 6275 §6.1: it may follow one).
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(16, X_DEST_OPTS),
        &opts8(X_MOBILITY),
        &mobility,
    ]);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(X_MOBILITY, None, 56, 48, 8)
    );
}
