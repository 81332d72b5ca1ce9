//! Issue 15, class 1: a transport header cut by the snaplen after the key
//! (docs/record.md, "Counting"). The packet counts when its addresses and
//! ports (ICMP: type and code) were captured; TCP flags only when their byte
//! was; the header length is the data offset when captured, else the minimum.
//! Expectations are worked out from the bytes written here.

use super::*;

/// Ethernet + IPv4 (Total Length 20 + 20 + 20 = 60) + TCP 443 → 51000,
/// flags PSH|ACK (0x18), no options, 20 payload bytes: 74 bytes in all.
fn tcp_frame() -> Vec<u8> {
    v4_frame(P_TCP, 40, &cat(&[&tcp(443, 51000, 5, 0x18), &[0x5a; 20]]))
}

#[test]
fn tcp_cut_after_the_ports_counts_with_its_declared_length() {
    let full = tcp_frame();
    // The ports end at 34 + 4 = 38; the flags byte is at 34 + 13 = 47.
    for len in 38..full.len() {
        let d = ok(ETHERNET, &full[..len]);
        // ip_len 60 (declared), header 20, payload 60 - 20 - 20 = 20.
        assert_eq!(
            facts(&d),
            v4_facts(P_TCP, Some((443, 51000)), 60, 20, 20),
            "{len} bytes"
        );
        let flags = (len > 47).then_some(0x18);
        assert_eq!(d.transport.tcp_flags(), flags, "{len} bytes");
    }
}

#[test]
fn tcp_options_cut_keep_the_data_offset() {
    // Data offset 8 (32 bytes), 10 payload bytes: Total Length 20 + 42 = 62.
    let full = v4_frame(P_TCP, 42, &cat(&[&tcp(443, 51000, 8, 0x02), &[0x5a; 10]]));
    // Cut 24 bytes into the TCP header: the 12 option bytes are partly missing.
    let d = ok(ETHERNET, &full[..34 + 24]);
    assert_eq!(d.transport.header_len(), 32);
    assert_eq!(d.transport.tcp_flags(), Some(0x02));
    // payload 62 - 20 - 32 = 10.
    assert_eq!(facts(&d), v4_facts(P_TCP, Some((443, 51000)), 62, 20, 10));
}

#[test]
fn tcp_data_offset_not_captured_counts_the_minimum_header() {
    // Same 32-byte header, cut at 12 bytes: before the data offset byte.
    let full = v4_frame(P_TCP, 42, &cat(&[&tcp(443, 51000, 8, 0x02), &[0x5a; 10]]));
    let d = ok(ETHERNET, &full[..34 + 12]);
    assert_eq!(d.transport.header_len(), 20);
    assert_eq!(d.transport.tcp_flags(), None);
    // payload 62 - 20 - 20 = 22: the options are not known to be options.
    assert_eq!(facts(&d), v4_facts(P_TCP, Some((443, 51000)), 62, 20, 22));
}

#[test]
fn a_header_that_does_not_fit_the_declared_length_is_malformed_even_when_cut() {
    // Total Length 20 + 16: a TCP header cannot fit, whatever was captured.
    let frame = v4_frame(P_TCP, 16, &tcp(443, 51000, 5, 0x10));
    for len in 38..frame.len() {
        assert_eq!(
            err(ETHERNET, &frame[..len]),
            error(Layer::Transport, ErrorKind::Malformed, 34),
            "{len} bytes"
        );
    }
}

#[test]
fn udp_sctp_dccp_cut_after_the_ports_count() {
    // UDP 40000 → 53, 10 payload bytes: Total Length 38; 6 of 8 header bytes captured.
    let frame = v4_frame(P_UDP, 18, &udp(SPORT, DPORT, 18));
    let d = ok(ETHERNET, &frame[..34 + 6]);
    assert_eq!(facts(&d), v4_facts(P_UDP, Some((SPORT, DPORT)), 38, 20, 10));
    // SCTP 2905 → 2905 declaring 12 + 20 bytes, 4 captured: payload 52 - 20 - 12 = 20.
    let frame = v4_frame(P_SCTP, 32, &[0x0b, 0x59, 0x0b, 0x59]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(P_SCTP, Some((2905, 2905)), 52, 20, 20));
    // DCCP 5000 → 6000 declaring 16 bytes, 4 captured (no Data Offset):
    // the 12-byte minimum header, payload 36 - 20 - 12 = 4.
    let frame = v4_frame(P_DCCP, 16, &[0x13, 0x88, 0x17, 0x70]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(P_DCCP, Some((5000, 6000)), 36, 20, 4));
}

#[test]
fn icmp_cut_after_type_and_code_counts() {
    // Echo request (8/0) declaring 12 bytes, 2 captured: payload 32 - 20 - 8 = 4.
    let frame = v4_frame(P_ICMP, 12, &[8, 0]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(
        d.transport,
        Transport::Icmp {
            icmp_type: 8,
            code: 0
        }
    );
    assert_eq!(facts(&d), v4_facts(P_ICMP, None, 32, 20, 4));
}

#[test]
fn ipv6_tcp_cut_in_its_options_counts() {
    // IPv6 Payload Length 32 (TCP with data offset 8, no payload), the SYN of
    // an IPv6 capture cut at 74 bytes (14 + 40 + 20): the 12 option bytes cut.
    let frame = cat(&[&eth(0x86dd), &ipv6(32, P_TCP), &tcp(SPORT, 25, 8, 0x02)]);
    let d = ok(ETHERNET, &frame[..74]);
    assert_eq!(facts(&d), v6_facts(P_TCP, Some((SPORT, 25)), 72, 40, 0));
    assert_eq!(d.transport.tcp_flags(), Some(0x02));
}

#[test]
fn udp_cut_inside_its_header_before_a_tunnel_is_truncated_within_the_frame() {
    // Found by the decode fuzz target (fuzz/regressions/decode-udp-header-
    // cut-before-geneve): UDP to 6081 (and 4789) with 6 of its 8 header
    // bytes captured. The tunnel header is missing: truncated, and the error
    // offset is the end of the capture (40), never past it.
    for port in [6081, 4789] {
        let frame = v4_frame(P_UDP, 20, &udp(SPORT, port, 20));
        assert_eq!(
            err(ETHERNET, &frame[..34 + 6]),
            error(Layer::Tunnel, ErrorKind::Truncated, 40),
            "port {port}"
        );
    }
}
