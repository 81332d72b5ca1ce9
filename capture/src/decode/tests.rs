//! Tests of [`decode`] against docs/decoding.md and docs/record.md ("The flow
//! key", "Counting").
//!
//! Every frame below is written out by hand, field by field, and every
//! expected value is worked out from those bytes (the arithmetic is in the
//! comments), never copied from what the decoder printed. etherparse's
//! `PacketBuilder` is only used by the property tests, where the expectation
//! is the builder's own input (addresses, ports, payload size).
//!

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6Header, LinuxSllPacketType, PacketBuilder, VlanId,
};
use proptest::prelude::*;

use super::{decode, DecodeError, Decoded, ErrorKind, Fragment, IpView, Layer, Transport};
use crate::{LinkType, RawPacket, Timestamp};

// Issue 15's classes, one topic a file, with the helpers below.
mod ah_mobility;
mod lengths;
mod link_types;
mod not_peeled;
mod tags;
mod truncated;

// ---------------------------------------------------------------------------
// Link types, by the number a capture file states.

const NULL: u16 = 0;
const ETHERNET: u16 = 1;
const PPP: u16 = 9;
const RAW_12: u16 = 12;
const RAW_14: u16 = 14;
const PPP_HDLC: u16 = 50;
const RAW: u16 = 101;
const C_HDLC: u16 = 104;
const IEEE802_11: u16 = 105;
const LOOP: u16 = 108;
const LINUX_SLL: u16 = 113;
const RADIOTAP: u16 = 127;
const PPI: u16 = 192;
const IPV4: u16 = 228;
const IPV6: u16 = 229;
const NFLOG: u16 = 239;
const LINUX_SLL2: u16 = 276;

// ---------------------------------------------------------------------------
// Addresses and ports used by the hand-built frames.

const MAC_DST: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const MAC_SRC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// 192.0.2.1 (TEST-NET-1).
const SRC4: [u8; 4] = [192, 0, 2, 1];
/// 198.51.100.2 (TEST-NET-2).
const DST4: [u8; 4] = [198, 51, 100, 2];
/// 2001:db8::1.
const SRC6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
];
/// 2001:db8::2.
const DST6: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
];
const SPORT: u16 = 40000;
const DPORT: u16 = 53;
/// IPv4 Identification written by [`ipv4`].
const IPV4_ID: u16 = 0x1c46;

// IP protocol numbers.
const P_ICMP: u8 = 1;
const P_TCP: u8 = 6;
const P_UDP: u8 = 17;
const P_DCCP: u8 = 33;
const P_ESP: u8 = 50;
const P_ICMPV6: u8 = 58;
const P_NO_NEXT: u8 = 59;
const P_OSPF: u8 = 89;
const P_SCTP: u8 = 132;
const P_UDPLITE: u8 = 136;
// IPv6 extension headers.
const X_HOP_BY_HOP: u8 = 0;
const X_ROUTING: u8 = 43;
const X_FRAGMENT: u8 = 44;
const X_AH: u8 = 51;
const X_DEST_OPTS: u8 = 60;
const X_MOBILITY: u8 = 135;

// ---------------------------------------------------------------------------
// Running the decoder.

fn packet(link: u16, data: &[u8]) -> RawPacket<'_> {
    RawPacket {
        ts: Timestamp(0),
        link: LinkType(link),
        interface: 0,
        orig_len: data.len() as u32,
        data,
    }
}

fn ok(link: u16, data: &[u8]) -> Decoded<'_> {
    match decode(&packet(link, data)) {
        Ok(decoded) => decoded,
        Err(e) => panic!("expected a decoded packet, got {e} ({e:?}) from {data:02x?}"),
    }
}

fn err(link: u16, data: &[u8]) -> DecodeError {
    match decode(&packet(link, data)) {
        Ok(decoded) => panic!("expected an error, got {decoded:?} from {data:02x?}"),
        Err(e) => e,
    }
}

fn error(layer: Layer, kind: ErrorKind, offset: usize) -> DecodeError {
    DecodeError {
        layer,
        kind,
        offset,
    }
}

/// What a decoded packet contributes to a flow record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Facts {
    version: u8,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
    ip_len: u32,
    ip_header_len: u32,
    payload_len: u32,
}

fn facts(d: &Decoded<'_>) -> Facts {
    let (src, dst) = match &d.ip {
        IpView::V4(h) => (
            IpAddr::V4(h.source_addr()),
            IpAddr::V4(h.destination_addr()),
        ),
        IpView::V6(h) => (
            IpAddr::V6(h.source_addr()),
            IpAddr::V6(h.destination_addr()),
        ),
    };
    Facts {
        version: d.ip.version(),
        src,
        dst,
        proto: d.proto.0,
        ports: d.transport.ports(),
        ip_len: d.ip_len,
        ip_header_len: d.ip_header_len,
        payload_len: d.payload_len(),
    }
}

/// Facts of an IPv4 packet between [`SRC4`] and [`DST4`].
fn v4_facts(proto: u8, ports: Option<(u16, u16)>, ip_len: u32, hdr: u32, payload: u32) -> Facts {
    Facts {
        version: 4,
        src: IpAddr::V4(Ipv4Addr::from(SRC4)),
        dst: IpAddr::V4(Ipv4Addr::from(DST4)),
        proto,
        ports,
        ip_len,
        ip_header_len: hdr,
        payload_len: payload,
    }
}

/// Facts of an IPv6 packet between [`SRC6`] and [`DST6`].
fn v6_facts(proto: u8, ports: Option<(u16, u16)>, ip_len: u32, hdr: u32, payload: u32) -> Facts {
    Facts {
        version: 6,
        src: IpAddr::V6(Ipv6Addr::from(SRC6)),
        dst: IpAddr::V6(Ipv6Addr::from(DST6)),
        proto,
        ports,
        ip_len,
        ip_header_len: hdr,
        payload_len: payload,
    }
}

/// [`v4_udp`] with `payload` bytes: Total Length 20 + 8 + payload, UDP payload `payload`.
fn v4_udp_facts(payload: u32) -> Facts {
    v4_facts(P_UDP, Some((SPORT, DPORT)), 28 + payload, 20, payload)
}

/// [`v6_udp`] with `payload` bytes: Payload Length 8 + payload, so 48 + payload.
fn v6_udp_facts(payload: u32) -> Facts {
    v6_facts(P_UDP, Some((SPORT, DPORT)), 48 + payload, 40, payload)
}

// ---------------------------------------------------------------------------
// Writing headers by hand.

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Ethernet II header (14 bytes); `ether_type` below 0x0600 is an 802.3 length.
fn eth(ether_type: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(14);
    h.extend(MAC_DST); // destination MAC
    h.extend(MAC_SRC); // source MAC
    h.extend(ether_type.to_be_bytes()); // EtherType / length
    h
}

/// The 4 bytes of a VLAN tag that follow its TPID: TCI (PCP 0, DEI 0, VID),
/// then the EtherType of what the tag carries.
fn tag(vid: u16, inner: u16) -> [u8; 4] {
    let [t0, t1] = (vid & 0x0fff).to_be_bytes();
    let [e0, e1] = inner.to_be_bytes();
    [t0, t1, e0, e1]
}

/// One MPLS label stack entry (RFC 3032): label (20 bits), TC 0 (3), S (1), TTL 64 (8).
fn label(value: u32, bottom: bool) -> [u8; 4] {
    ((value << 12) | (u32::from(bottom) << 8) | 64).to_be_bytes()
}

/// RFC 1071 Internet checksum of an IPv4 header whose checksum field is 0.
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 header from [`SRC4`] to [`DST4`]; IHL = 5 + options/4.
fn ipv4(proto: u8, total_len: u16, flags_fragment: u16, options: &[u8]) -> Vec<u8> {
    assert!(options.len() % 4 == 0 && options.len() <= 40);
    let ihl = 5 + options.len() / 4;
    let mut h = vec![
        0x40 | ihl as u8, // version 4, IHL in 32-bit words
        0x00,             // DSCP / ECN
    ];
    h.extend(total_len.to_be_bytes()); // Total Length
    h.extend(IPV4_ID.to_be_bytes()); // Identification
    h.extend(flags_fragment.to_be_bytes()); // flags (DF 0x4000, MF 0x2000) | offset in 8-byte units
    h.push(64); // TTL
    h.push(proto); // Protocol
    h.extend([0, 0]); // header checksum, computed below
    h.extend(SRC4); // source
    h.extend(DST4); // destination
    h.extend(options); // options
    let sum = ipv4_checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h
}

/// Fixed IPv6 header (40 bytes) from [`SRC6`] to [`DST6`].
fn ipv6(payload_len: u16, next_header: u8) -> Vec<u8> {
    let mut h = vec![0x60, 0x00, 0x00, 0x00]; // version 6, traffic class 0, flow label 0
    h.extend(payload_len.to_be_bytes()); // Payload Length
    h.push(next_header); // Next Header
    h.push(64); // Hop Limit
    h.extend(SRC6); // source
    h.extend(DST6); // destination
    h
}

/// An 8-byte IPv6 option header (Hop-by-Hop or Destination Options) holding
/// one PadN option with 4 bytes of padding.
fn opts8(next: u8) -> [u8; 8] {
    [
        next, // Next Header
        0,    // Hdr Ext Len: (0 + 1) * 8 = 8 bytes
        0x01, // option type PadN
        4,    // option length
        0, 0, 0, 0, // padding
    ]
}

/// IPv6 Fragment header (8 bytes): offset in 8-byte units, M flag, identification.
fn frag6(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut h = vec![next, 0]; // Next Header, reserved
    h.extend(((offset << 3) | u16::from(more)).to_be_bytes()); // offset (13 bits) | res (2) | M
    h.extend(id.to_be_bytes()); // Identification
    h
}

/// UDP header (also the layout of UDP-Lite's: coverage in place of length).
fn udp(sport: u16, dport: u16, length: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(8);
    h.extend(sport.to_be_bytes()); // source port
    h.extend(dport.to_be_bytes()); // destination port
    h.extend(length.to_be_bytes()); // length (UDP-Lite: checksum coverage)
    h.extend([0, 0]); // checksum (not verified)
    h
}

/// TCP header: 20 bytes with `data_offset` (in 32-bit words) in the high
/// nibble of byte 12, and, when `data_offset` > 5, NOP options up to it.
fn tcp(sport: u16, dport: u16, data_offset: u8, flags: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(60);
    h.extend(sport.to_be_bytes()); // source port
    h.extend(dport.to_be_bytes()); // destination port
    h.extend(1000u32.to_be_bytes()); // sequence number
    h.extend(0u32.to_be_bytes()); // acknowledgment number
    h.push(data_offset << 4); // data offset | reserved
    h.push(flags); // CWR ECE URG ACK PSH RST SYN FIN
    h.extend(65535u16.to_be_bytes()); // window
    h.extend([0, 0]); // checksum (not verified)
    h.extend([0, 0]); // urgent pointer
                      // NOP options up to the data offset (none when it is 5 or less).
    h.resize(h.len().max(usize::from(data_offset) * 4), 0x01);
    h
}

/// IPv4 + UDP from SPORT to DPORT with `payload` bytes of 0x5a.
fn v4_udp(payload: usize) -> Vec<u8> {
    cat(&[
        &ipv4(P_UDP, (20 + 8 + payload) as u16, 0, &[]),
        &udp(SPORT, DPORT, (8 + payload) as u16),
        &vec![0x5a; payload],
    ])
}

/// IPv6 + UDP from SPORT to DPORT with `payload` bytes of 0x5a.
fn v6_udp(payload: usize) -> Vec<u8> {
    cat(&[
        &ipv6((8 + payload) as u16, P_UDP),
        &udp(SPORT, DPORT, (8 + payload) as u16),
        &vec![0x5a; payload],
    ])
}

// ---------------------------------------------------------------------------
// Ethernet

#[test]
fn ethernet2_ipv4_udp() {
    let frame = cat(&[&eth(0x0800), &v4_udp(4)]);
    let d = ok(ETHERNET, &frame);
    // Total Length 32 = 20 IP + 8 UDP + 4 payload.
    assert_eq!(facts(&d), v4_udp_facts(4));
    assert_eq!(d.fragment, None);
    assert_eq!(d.transport.tcp_flags(), None);
}

#[test]
fn ethernet2_ipv6_udp() {
    let frame = cat(&[&eth(0x86dd), &v6_udp(4)]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(4));
}

#[test]
fn ieee802_3_llc_snap_carries_ipv4() {
    let ip = v4_udp(4); // 32 bytes
    let frame = cat(&[
        &eth(8 + 32),        // 802.3 length: LLC/SNAP 8 + IP 32 = 40 (< 0x0600)
        &[0xaa, 0xaa, 0x03], // LLC: DSAP SNAP, SSAP SNAP, UI
        &[0x00, 0x00, 0x00], // SNAP OUI 00-00-00 (RFC 1042)
        &[0x08, 0x00],       // SNAP protocol id = EtherType IPv4
        &ip,
    ]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn plain_llc_stp_is_not_ip() {
    let mut bpdu = vec![
        0x00, 0x00, // protocol identifier
        0x00, // version
        0x00, // BPDU type: configuration
        0x00, // flags
    ];
    bpdu.extend([0u8; 30]); // root id 8, path cost 4, bridge id 8, port id 2, 4 timers 8
    assert_eq!(bpdu.len(), 35);
    let mut frame = vec![0x01, 0x80, 0xc2, 0x00, 0x00, 0x00]; // STP multicast
    frame.extend(MAC_SRC);
    frame.extend(38u16.to_be_bytes()); // 802.3 length: LLC 3 + BPDU 35
    frame.extend([0x42, 0x42, 0x03]); // LLC: DSAP STP, SSAP STP, UI (no SNAP)
    frame.extend(bpdu);
    frame.resize(60, 0); // minimum frame
    let e = err(ETHERNET, &frame);
    assert_eq!((e.kind, e.offset), (ErrorKind::NotIp, 14));
}

#[test]
fn ieee802_3_llc_snap_cut_is_truncated() {
    // 802.3 length, then only 5 of the 8 LLC/SNAP bytes.
    let frame = cat(&[&eth(40), &[0xaa, 0xaa, 0x03, 0x00, 0x00]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ethernet, ErrorKind::Truncated, 14)
    );
}

#[test]
fn arp_is_not_ip() {
    let arp = [
        0x00, 0x01, // hardware type Ethernet
        0x08, 0x00, // protocol type IPv4
        6, 4, // address lengths
        0x00, 0x01, // operation: request
        0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1, // sender MAC, IP
        0, 0, 0, 0, 0, 0, 198, 51, 100, 2, // target MAC, IP
    ];
    let frame = cat(&[&eth(0x0806), &arp]);
    let e = err(ETHERNET, &frame);
    assert_eq!((e.kind, e.offset), (ErrorKind::NotIp, 14));
}

#[test]
fn runt_ethernet_is_truncated() {
    let frame = eth(0x0800);
    for len in 0..14 {
        assert_eq!(
            err(ETHERNET, &frame[..len]),
            error(Layer::Ethernet, ErrorKind::Truncated, 0),
            "{len} bytes"
        );
    }
}

// ---------------------------------------------------------------------------
// VLAN tags

#[test]
fn vlan_8100_single_tag() {
    let frame = cat(&[&eth(0x8100), &tag(100, 0x0800), &v4_udp(4)]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn vlan_88a8_then_8100_qinq() {
    let frame = cat(&[
        &eth(0x88a8),      // 802.1ad S-tag TPID
        &tag(100, 0x8100), // S-tag, carries a C-tag
        &tag(200, 0x86dd), // C-tag, carries IPv6
        &v6_udp(4),
    ]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(4));
}

#[test]
fn vlan_9100_tag() {
    let frame = cat(&[&eth(0x9100), &tag(7, 0x0800), &v4_udp(0)]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(0));
}

/// Ethernet with `n` tags (0x8100 each), the last carrying IPv4.
fn tagged(n: usize) -> Vec<u8> {
    let mut frame = eth(0x8100);
    for i in 0..n {
        let inner = if i + 1 == n { 0x0800 } else { 0x8100 };
        frame.extend(tag(i as u16 + 1, inner));
    }
    frame.extend(v4_udp(4));
    frame
}

#[test]
fn eight_vlan_tags_decode() {
    assert_eq!(facts(&ok(ETHERNET, &tagged(8))), v4_udp_facts(4));
}

#[test]
fn nine_vlan_tags_are_too_deep() {
    // The ninth tag starts at 14 + 8 * 4 = 46.
    assert_eq!(
        err(ETHERNET, &tagged(9)),
        error(Layer::Vlan, ErrorKind::TooDeep, 46)
    );
}

#[test]
fn vlan_tag_cut_short_is_truncated() {
    let frame = cat(&[&eth(0x8100), &tag(100, 0x0800)]);
    for len in 14..18 {
        assert_eq!(
            err(ETHERNET, &frame[..len]),
            error(Layer::Vlan, ErrorKind::Truncated, 14),
            "{len} bytes"
        );
    }
    // A second tag cut: it starts at 18.
    let frame = cat(&[&eth(0x8100), &tag(100, 0x8100), &[0x00]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Vlan, ErrorKind::Truncated, 18)
    );
}

#[test]
fn ipv4_malformed_after_one_vlan_reports_offset_18() {
    let mut ip = v4_udp(4);
    ip[0] = 0x44; // version 4, IHL 4
    let frame = cat(&[&eth(0x8100), &tag(100, 0x0800), &ip]);
    // Ethernet 14 + tag 4 = 18.
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 18)
    );
}

// ---------------------------------------------------------------------------
// MPLS

fn mpls(ether_type: u16, labels: usize, ip: &[u8]) -> Vec<u8> {
    let mut frame = eth(ether_type);
    for i in 0..labels {
        frame.extend(label(16 + i as u32, i + 1 == labels));
    }
    frame.extend(ip);
    frame
}

#[test]
fn mpls_one_label_then_ipv4() {
    let frame = mpls(0x8847, 1, &v4_udp(4));
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn mpls_one_label_then_ipv6() {
    let frame = mpls(0x8847, 1, &v6_udp(4));
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(4));
}

#[test]
fn mpls_three_labels_then_ipv4() {
    let frame = mpls(0x8847, 3, &v4_udp(4));
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn mpls_three_labels_then_ipv6_multicast_ethertype() {
    let frame = mpls(0x8848, 3, &v6_udp(4));
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(4));
}

#[test]
fn mpls_eight_labels_decode() {
    let frame = mpls(0x8847, 8, &v4_udp(4));
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn mpls_no_bottom_of_stack_within_8_is_too_deep() {
    // Bottom of stack on the 9th label: the stack has no end within the limit.
    let frame = mpls(0x8847, 9, &v4_udp(4));
    // As for VLAN tags, the entry beyond the limit: 14 + 8 * 4 = 46.
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Mpls, ErrorKind::TooDeep, 46)
    );
}

#[test]
fn mpls_label_stack_cut_is_truncated() {
    // Two labels, neither bottom of stack, then the capture ends.
    let frame = cat(&[&eth(0x8847), &label(16, false), &label(17, false)]);
    let e = err(ETHERNET, &frame);
    assert_eq!((e.layer, e.kind), (Layer::Mpls, ErrorKind::Truncated));
    // The missing third entry would start at 14 + 8 = 22.
    assert_eq!(e.offset, 22);
    // A label cut inside its 4 bytes.
    let frame = cat(&[&eth(0x8847), &[0x00, 0x01, 0x01]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Mpls, ErrorKind::Truncated, 14)
    );
}

#[test]
fn mpls_stack_cut_right_after_bottom_label_is_truncated() {
    // eth(0x8847) + one bottom-of-stack label, nothing after it: the IP header
    // that follows was cut by the snaplen, we cannot know it is not IP.
    let frame = cat(&[&eth(0x8847), &label(16, true)]);
    let e = err(ETHERNET, &frame);
    assert_eq!((e.kind, e.offset), (ErrorKind::Truncated, 18));
}

#[test]
fn mpls_pseudowire_control_word_is_not_ip() {
    // RFC 4385 control word: first nibble 0, then an Ethernet frame.
    let control_word = [0x00, 0x00, 0x00, 0x01];
    let inner = cat(&[&eth(0x0800), &v4_udp(4)]);
    let frame = mpls(0x8847, 1, &cat(&[&control_word, &inner]));
    let e = err(ETHERNET, &frame);
    // The payload after the label: 14 + 4 = 18.
    assert_eq!((e.kind, e.offset), (ErrorKind::NotIp, 18));
}

// ---------------------------------------------------------------------------
// PPP and PPPoE

/// PPPoE session header (RFC 2516): ver/type 0x11, code 0, session id, length.
fn pppoe(ppp_len: u16) -> [u8; 6] {
    let [l0, l1] = ppp_len.to_be_bytes();
    [0x11, 0x00, 0x12, 0x34, l0, l1]
}

#[test]
fn pppoe_session_ppp_ipv4() {
    let ip = v4_udp(4);
    let frame = cat(&[
        &eth(0x8864),
        &pppoe(2 + ip.len() as u16),
        &[0x00, 0x21], // PPP protocol IPv4
        &ip,
    ]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(4));
}

#[test]
fn pppoe_session_ppp_ipv6() {
    let ip = v6_udp(4);
    let frame = cat(&[
        &eth(0x8864),
        &pppoe(2 + ip.len() as u16),
        &[0x00, 0x57], // PPP protocol IPv6
        &ip,
    ]);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v6_udp_facts(4));
}

#[test]
fn pppoe_ipv4_error_offset_is_22() {
    let mut ip = v4_udp(4);
    ip[0] = 0x55; // version 5
    let frame = cat(&[&eth(0x8864), &pppoe(34), &[0x00, 0x21], &ip]);
    // Ethernet 14 + PPPoE 6 + PPP protocol 2 = 22.
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 22)
    );
}

#[test]
fn pppoe_header_cut_is_truncated() {
    let frame = cat(&[&eth(0x8864), &[0x11, 0x00, 0x12]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ppp, ErrorKind::Truncated, 14)
    );
}

#[test]
fn ppp_link_with_address_and_control() {
    let frame = cat(&[&[0xff, 0x03], &[0x00, 0x21], &v4_udp(4)]);
    assert_eq!(facts(&ok(PPP, &frame)), v4_udp_facts(4));
}

#[test]
fn ppp_link_without_address_and_control() {
    let frame = cat(&[&[0x00, 0x21], &v4_udp(4)]);
    assert_eq!(facts(&ok(PPP, &frame)), v4_udp_facts(4));
}

#[test]
fn ppp_protocol_field_compression() {
    // RFC 1661 §6.5: 0x0021 sent as the single odd byte 0x21.
    let frame = cat(&[&[0x21], &v4_udp(4)]);
    assert_eq!(facts(&ok(PPP, &frame)), v4_udp_facts(4));
    let frame = cat(&[&[0xff, 0x03, 0x57], &v6_udp(4)]);
    assert_eq!(facts(&ok(PPP, &frame)), v6_udp_facts(4));
}

#[test]
fn ppp_hdlc_link_50_ipv6() {
    let frame = cat(&[&[0xff, 0x03, 0x00, 0x57], &v6_udp(4)]);
    assert_eq!(facts(&ok(PPP_HDLC, &frame)), v6_udp_facts(4));
}

#[test]
fn ppp_protocol_cut_is_truncated() {
    // Nothing; FF 03 alone; FF 03 and the first byte of a 2-byte protocol; a lone even byte.
    for frame in [&[][..], &[0xff, 0x03], &[0xff, 0x03, 0x00], &[0x00]] {
        let e = err(PPP, frame);
        assert_eq!(
            (e.layer, e.kind),
            (Layer::Ppp, ErrorKind::Truncated),
            "{frame:02x?}"
        );
    }
    // After PPPoE: the PPP protocol is cut after its first byte.
    let frame = cat(&[&eth(0x8864), &pppoe(2), &[0x00]]);
    let e = err(ETHERNET, &frame);
    assert_eq!((e.layer, e.kind), (Layer::Ppp, ErrorKind::Truncated));
}

#[test]
fn ppp_lcp_is_not_ip() {
    let lcp = [
        0x01, // Configure-Request
        0x01, // identifier
        0x00, 0x0a, // length 10
        0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic-Number option
    ];
    let frame = cat(&[&[0xff, 0x03, 0xc0, 0x21], &lcp]);
    let e = err(PPP, &frame);
    assert_eq!((e.kind, e.offset), (ErrorKind::NotIp, 4));
}

#[test]
fn ppp_mpls_ipv4() {
    let frame = cat(&[
        &[0xff, 0x03, 0x02, 0x81], // PPP protocol 0x0281 MPLS unicast
        &label(16, true),
        &v4_udp(4),
    ]);
    assert_eq!(facts(&ok(PPP, &frame)), v4_udp_facts(4));
}

// ---------------------------------------------------------------------------
// Link types

/// Linux cooked v1 header (16 bytes).
fn sll(protocol: u16) -> Vec<u8> {
    let mut h = vec![
        0x00, 0x00, // packet type: to us
        0x00, 0x01, // ARPHRD_ETHER
        0x00, 0x06, // link-layer address length
    ];
    h.extend(MAC_SRC); // address
    h.extend([0, 0]); // address padding to 8
    h.extend(protocol.to_be_bytes()); // protocol (EtherType)
    h
}

/// Linux cooked v2 header (20 bytes).
fn sll2(protocol: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    h.extend(protocol.to_be_bytes()); // protocol (EtherType)
    h.extend([0x00, 0x00]); // reserved
    h.extend(2u32.to_be_bytes()); // interface index
    h.extend([0x00, 0x01]); // ARPHRD_ETHER
    h.push(0x00); // packet type: to us
    h.push(0x06); // link-layer address length
    h.extend(MAC_SRC); // address
    h.extend([0, 0]); // address padding to 8
    h
}

#[test]
fn sll_ipv4() {
    let frame = cat(&[&sll(0x0800), &v4_udp(4)]);
    assert_eq!(facts(&ok(LINUX_SLL, &frame)), v4_udp_facts(4));
}

#[test]
fn sll_vlan_ipv4() {
    let frame = cat(&[&sll(0x8100), &tag(5, 0x0800), &v4_udp(4)]);
    assert_eq!(facts(&ok(LINUX_SLL, &frame)), v4_udp_facts(4));
}

#[test]
fn sll2_ipv6() {
    let frame = cat(&[&sll2(0x86dd), &v6_udp(4)]);
    assert_eq!(facts(&ok(LINUX_SLL2, &frame)), v6_udp_facts(4));
}

#[test]
fn sll_shorter_than_16_is_truncated() {
    let header = sll(0x0800);
    for len in 0..16 {
        assert_eq!(
            err(LINUX_SLL, &header[..len]),
            error(Layer::Link, ErrorKind::Truncated, 0),
            "{len} bytes"
        );
    }
}

#[test]
fn sll2_shorter_than_20_is_truncated() {
    let header = sll2(0x86dd);
    for len in 0..20 {
        assert_eq!(
            err(LINUX_SLL2, &header[..len]),
            error(Layer::Link, ErrorKind::Truncated, 0),
            "{len} bytes"
        );
    }
}

#[test]
fn null_af_inet_little_endian() {
    let frame = cat(&[&2u32.to_le_bytes(), &v4_udp(4)]); // 02 00 00 00
    assert_eq!(facts(&ok(NULL, &frame)), v4_udp_facts(4));
}

#[test]
fn null_af_inet_big_endian() {
    let frame = cat(&[&2u32.to_be_bytes(), &v4_udp(4)]); // 00 00 00 02
    assert_eq!(facts(&ok(NULL, &frame)), v4_udp_facts(4));
}

#[test]
fn null_af_inet6_24_28_30_both_byte_orders() {
    for af in [24u32, 28, 30] {
        for family in [af.to_le_bytes(), af.to_be_bytes()] {
            let frame = cat(&[&family, &v6_udp(4)]);
            assert_eq!(
                facts(&ok(NULL, &frame)),
                v6_udp_facts(4),
                "AF {family:02x?}"
            );
        }
    }
}

#[test]
fn null_af_7_is_not_ip() {
    for family in [7u32.to_le_bytes(), 7u32.to_be_bytes()] {
        let frame = cat(&[&family, &v4_udp(4)]);
        let e = err(NULL, &frame);
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::NotIp, 4),
            "AF {family:02x?}"
        );
    }
}

#[test]
fn null_shorter_than_4_is_truncated() {
    assert_eq!(
        err(NULL, &[0x02, 0x00, 0x00]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
}

#[test]
fn loop_af_inet_big_endian() {
    let frame = cat(&[&[0x00, 0x00, 0x00, 0x02], &v4_udp(4)]);
    assert_eq!(facts(&ok(LOOP, &frame)), v4_udp_facts(4));
    let frame = cat(&[&[0x00, 0x00, 0x00, 0x18], &v6_udp(4)]); // AF 24
    assert_eq!(facts(&ok(LOOP, &frame)), v6_udp_facts(4));
}

#[test]
fn raw_101_12_14_by_version_nibble() {
    for link in [RAW, RAW_12, RAW_14] {
        assert_eq!(facts(&ok(link, &v4_udp(4))), v4_udp_facts(4), "link {link}");
        assert_eq!(facts(&ok(link, &v6_udp(4))), v6_udp_facts(4), "link {link}");
    }
}

#[test]
fn raw_with_version_nibble_5_is_not_ip() {
    let mut ip = v4_udp(4);
    ip[0] = 0x55;
    let e = err(RAW, &ip);
    assert_eq!((e.kind, e.offset), (ErrorKind::NotIp, 0));
}

#[test]
fn raw_empty_packet_is_truncated() {
    // Link types 228/229 say Truncated for the same empty capture; the
    // by-version link types say NotIp.
    for link in [RAW, RAW_12, RAW_14] {
        assert_eq!(err(link, &[]).kind, ErrorKind::Truncated, "link {link}");
    }
}

#[test]
fn link_228_ipv4_and_229_ipv6() {
    assert_eq!(facts(&ok(IPV4, &v4_udp(4))), v4_udp_facts(4));
    assert_eq!(facts(&ok(IPV6, &v6_udp(4))), v6_udp_facts(4));
    assert_eq!(err(IPV4, &[]), error(Layer::Ipv4, ErrorKind::Truncated, 0));
    assert_eq!(err(IPV6, &[]), error(Layer::Ipv6, ErrorKind::Truncated, 0));
}

#[test]
fn unsupported_link_type_147() {
    let frame = cat(&[&eth(0x0800), &v4_udp(4)]);
    for link in [147, 2, 106, 65535] {
        assert_eq!(
            err(link, &frame),
            error(Layer::Link, ErrorKind::UnsupportedLink, 0),
            "link {link}"
        );
    }
}

// ---------------------------------------------------------------------------
// IPv4

#[test]
fn ipv4_options_shift_the_ports() {
    // IHL 6: Router Alert (RFC 2113) 94 04 00 00.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 24 + 8 + 4, 0, &[0x94, 0x04, 0x00, 0x00]),
        &udp(SPORT, DPORT, 12),
        &[0x5a; 4],
    ]);
    // Total Length 36; header 6 * 4 = 24; payload 36 - 24 - 8 = 4.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_UDP, Some((SPORT, DPORT)), 36, 24, 4)
    );
}

#[test]
fn ipv4_ihl_15_tcp() {
    let mut options = [0x01u8; 40]; // NOPs…
    options[39] = 0x00; // …then End of Option List
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_TCP, 60 + 20 + 3, 0, &options),
        &tcp(443, 51000, 5, 0x18),
        &[1, 2, 3],
    ]);
    // Header 15 * 4 = 60; Total Length 83; payload 83 - 60 - 20 = 3.
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(P_TCP, Some((443, 51000)), 83, 60, 3));
    assert_eq!(d.transport.tcp_flags(), Some(0x18));
}

#[test]
fn ipv4_ihl_below_5_is_malformed() {
    for ihl in 0..5u8 {
        let mut ip = v4_udp(4);
        ip[0] = 0x40 | ihl;
        let frame = cat(&[&eth(0x0800), &ip]);
        assert_eq!(
            err(ETHERNET, &frame),
            error(Layer::Ipv4, ErrorKind::Malformed, 14),
            "IHL {ihl}"
        );
    }
}

#[test]
fn ipv4_version_5_is_malformed() {
    let mut ip = v4_udp(4);
    ip[0] = 0x55; // version 5, IHL 5
    let frame = cat(&[&eth(0x0800), &ip]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 14)
    );
}

#[test]
fn ipv6_in_an_ipv4_ethertype_is_malformed() {
    let frame = cat(&[&eth(0x0800), &v6_udp(4)]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 14)
    );
}

#[test]
fn ipv4_total_length_below_header_is_malformed() {
    // IHL 5, Total Length 19 < 20.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 19, 0, &[]),
        &udp(SPORT, DPORT, 12),
    ]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 14)
    );
    // IHL 6, Total Length 20 < 24.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 20, 0, &[0x94, 0x04, 0, 0]),
        &udp(SPORT, DPORT, 12),
    ]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Malformed, 14)
    );
    // (Total Length 0 is TSO's: tests/lengths.rs.)
}

#[test]
fn ipv4_snaplen_cut_payload_counts_declared_length() {
    // Total Length 1500: 20 IP + 8 UDP + 1472 payload; only 10 payload bytes captured.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 1500, 0x4000, &[]),
        &udp(SPORT, DPORT, 1480),
        &[0x5a; 10],
    ]);
    assert_eq!(frame.len(), 14 + 20 + 8 + 10);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_UDP, Some((SPORT, DPORT)), 1500, 20, 1472)
    );
}

#[test]
fn ipv4_ethernet_padding_is_ignored() {
    // UDP with 1 byte: Total Length 29, frame padded to the 60-byte minimum.
    let mut frame = cat(&[&eth(0x0800), &v4_udp(1)]);
    frame.resize(60, 0xaa);
    assert_eq!(facts(&ok(ETHERNET, &frame)), v4_udp_facts(1));
    // A bare ACK: Total Length 40, 6 bytes of padding that are no payload.
    let mut frame = cat(&[
        &eth(0x0800),
        &ipv4(P_TCP, 40, 0x4000, &[]),
        &tcp(443, 51000, 5, 0x10),
    ]);
    frame.resize(60, 0xaa);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_TCP, Some((443, 51000)), 40, 20, 0)
    );
}

#[test]
fn ipv4_header_cut_inside_options_is_truncated() {
    // IHL 6 (24 bytes), only 22 captured.
    let ip = ipv4(P_UDP, 24 + 8, 0, &[0x94, 0x04, 0x00, 0x00]);
    let frame = cat(&[&eth(0x0800), &ip[..22]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Truncated, 14)
    );
    // Cut inside the fixed 20 bytes.
    let frame = cat(&[&eth(0x0800), &ip[..19]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv4, ErrorKind::Truncated, 14)
    );
}

// ---------------------------------------------------------------------------
// IPv4 fragments

#[test]
fn ipv4_first_fragment_has_ports() {
    // MF set, offset 0; this fragment carries 24 bytes: UDP header 8 + 16 data.
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 20 + 24, 0x2000, &[]),
        &udp(SPORT, DPORT, 8 + 100), // the whole datagram's UDP length
        &[0x5a; 16],
    ]);
    let d = ok(ETHERNET, &frame);
    // ip_len is this fragment's Total Length 44; payload 44 - 20 - 8 = 16.
    assert_eq!(facts(&d), v4_facts(P_UDP, Some((SPORT, DPORT)), 44, 20, 16));
    let fragment = d.fragment.expect("a fragment");
    assert_eq!(
        fragment,
        Fragment {
            id: u32::from(IPV4_ID),
            offset: 0,
            more: true
        }
    );
    assert!(fragment.is_first());
}

#[test]
fn ipv4_later_fragment_has_no_transport() {
    // Offset 3 (24 bytes), MF clear (last fragment) and MF set (a middle
    // one). Its 20 bytes are zeros: read as TCP they would have data offset
    // 0, so decoding proves they are not read as a header.
    for (flags_fragment, more) in [(0x0003, false), (0x2003, true)] {
        let frame = cat(&[
            &eth(0x0800),
            &ipv4(P_TCP, 20 + 20, flags_fragment, &[]),
            &[0u8; 20],
        ]);
        let d = ok(ETHERNET, &frame);
        // proto stays 6; no ports; payload = 40 - 20 = 20.
        assert_eq!(facts(&d), v4_facts(P_TCP, None, 40, 20, 20));
        assert!(matches!(d.transport, Transport::None));
        assert_eq!(
            d.fragment,
            Some(Fragment {
                id: u32::from(IPV4_ID),
                offset: 3,
                more
            })
        );
        assert!(!d.fragment.unwrap().is_first());
    }
}

#[test]
fn ipv4_dont_fragment_only_is_not_a_fragment() {
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_UDP, 28, 0x4000, &[]),
        &udp(SPORT, DPORT, 8),
    ]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(d.fragment, None);
    assert_eq!(facts(&d), v4_udp_facts(0));
}

// ---------------------------------------------------------------------------
// IPv6

#[test]
fn ipv6_udp() {
    let frame = cat(&[&eth(0x86dd), &v6_udp(100)]);
    let d = ok(ETHERNET, &frame);
    // Payload Length 108; ip_len 148; payload 148 - 40 - 8 = 100.
    assert_eq!(facts(&d), v6_udp_facts(100));
    assert_eq!(d.fragment, None);
}

#[test]
fn ipv4_in_an_ipv6_ethertype_is_malformed() {
    let frame = cat(&[&eth(0x86dd), &v4_udp(40)]); // 68 bytes: enough for 40
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv6, ErrorKind::Malformed, 14)
    );
}

#[test]
fn ipv6_hop_by_hop_routing_destination_options_then_tcp() {
    let routing = cat(&[
        &[
            X_DEST_OPTS, // Next Header
            2,           // Hdr Ext Len: (2 + 1) * 8 = 24 bytes
            2,           // Routing Type 2 (RFC 6275)
            1,           // Segments Left
            0,
            0,
            0,
            0, // reserved
        ],
        &[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99,
        ], // home address
    ]);
    let destination_options = [
        P_TCP, // Next Header
        1,     // Hdr Ext Len: 16 bytes
        0x01, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // PadN, 12 bytes
    ];
    // Extension headers 8 + 24 + 16 = 48; TCP 20; payload 10.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(48 + 20 + 10, X_HOP_BY_HOP),
        &opts8(X_ROUTING),
        &routing,
        &destination_options,
        &tcp(443, 51000, 5, 0x02),
        &[0x5a; 10],
    ]);
    let d = ok(ETHERNET, &frame);
    // ip_len 40 + 78 = 118; header 40 + 48 = 88; payload 118 - 88 - 20 = 10.
    assert_eq!(facts(&d), v6_facts(P_TCP, Some((443, 51000)), 118, 88, 10));
    assert_eq!(d.transport.tcp_flags(), Some(0x02));
}

#[test]
fn ipv6_fragment_first_has_ports() {
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(8 + 8 + 16, X_FRAGMENT),
        &frag6(P_UDP, 0, true, 0xdead_beef),
        &udp(SPORT, DPORT, 8 + 100),
        &[0x5a; 16],
    ]);
    let d = ok(ETHERNET, &frame);
    // ip_len 40 + 32 = 72; header 48; payload 72 - 48 - 8 = 16.
    assert_eq!(facts(&d), v6_facts(P_UDP, Some((SPORT, DPORT)), 72, 48, 16));
    assert_eq!(
        d.fragment,
        Some(Fragment {
            id: 0xdead_beef,
            offset: 0,
            more: true
        })
    );
}

#[test]
fn ipv6_fragment_later_has_no_transport() {
    // Offset 5 (40 bytes), last fragment, 24 bytes of zeros (not a TCP header).
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(8 + 24, X_FRAGMENT),
        &frag6(P_TCP, 5, false, 0x0102_0304),
        &[0u8; 24],
    ]);
    let d = ok(ETHERNET, &frame);
    // proto = the Fragment header's Next Header (6); ip_len 72; header 48; payload 24.
    assert_eq!(facts(&d), v6_facts(P_TCP, None, 72, 48, 24));
    assert!(matches!(d.transport, Transport::None));
    assert_eq!(
        d.fragment,
        Some(Fragment {
            id: 0x0102_0304,
            offset: 5,
            more: false
        })
    );
}

#[test]
fn ipv6_atomic_fragment_is_not_a_fragment() {
    // RFC 6946: offset 0 and M clear.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(8 + 8, X_FRAGMENT),
        &frag6(P_UDP, 0, false, 7),
        &udp(SPORT, DPORT, 8),
    ]);
    let d = ok(ETHERNET, &frame);
    assert_eq!(d.fragment, None);
    assert_eq!(facts(&d), v6_facts(P_UDP, Some((SPORT, DPORT)), 56, 48, 0));
}

#[test]
fn ipv6_ah_then_udp() {
    let ah = [
        P_UDP, // Next Header
        4,     // Payload Len: (4 + 2) * 4 = 24 bytes
        0, 0, // reserved
        0x00, 0x00, 0x01, 0x00, // SPI
        0x00, 0x00, 0x00, 0x01, // sequence number
        0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, // ICV, 12 bytes…
        0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, // …end of ICV
    ];
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(24 + 8 + 4, X_AH),
        &ah,
        &udp(SPORT, DPORT, 12),
        &[0x5a; 4],
    ]);
    // ip_len 40 + 36 = 76; header 40 + 24 = 64; payload 76 - 64 - 8 = 4.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(P_UDP, Some((SPORT, DPORT)), 76, 64, 4)
    );
}

#[test]
fn ipv6_esp_ends_the_walk() {
    let esp = [
        0x00, 0x00, 0x01, 0x00, // SPI
        0x00, 0x00, 0x00, 0x01, // sequence number
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, // encrypted
    ];
    let frame = cat(&[&eth(0x86dd), &ipv6(16, P_ESP), &esp]);
    let d = ok(ETHERNET, &frame);
    // ip_len 56; header 40; payload 16 (no transport header).
    assert_eq!(facts(&d), v6_facts(P_ESP, None, 56, 40, 16));
    assert!(matches!(d.transport, Transport::None));
    // Also after a Hop-by-Hop header: header 48, payload 64 - 48 = 16.
    let frame = cat(&[&eth(0x86dd), &ipv6(24, X_HOP_BY_HOP), &opts8(P_ESP), &esp]);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(P_ESP, None, 64, 48, 16)
    );
}

/// IPv6 + `n` 8-byte Destination Options headers + UDP (no payload).
fn ipv6_with_dest_opts(n: usize) -> Vec<u8> {
    let mut frame = cat(&[&eth(0x86dd), &ipv6((8 * n + 8) as u16, X_DEST_OPTS)]);
    for i in 0..n {
        frame.extend(opts8(if i + 1 == n { P_UDP } else { X_DEST_OPTS }));
    }
    frame.extend(udp(SPORT, DPORT, 8));
    frame
}

#[test]
fn ipv6_sixteen_extension_headers_decode() {
    let frame = ipv6_with_dest_opts(16);
    let d = ok(ETHERNET, &frame);
    // ip_len 40 + 128 + 8 = 176; header 40 + 128 = 168; payload 0.
    assert_eq!(
        facts(&d),
        v6_facts(P_UDP, Some((SPORT, DPORT)), 176, 168, 0)
    );
}

#[test]
fn ipv6_seventeen_extension_headers_are_too_deep() {
    // The 17th starts at 14 + 40 + 16 * 8 = 182.
    assert_eq!(
        err(ETHERNET, &ipv6_with_dest_opts(17)),
        error(Layer::Ipv6Ext, ErrorKind::TooDeep, 182)
    );
}

#[test]
fn ipv6_extension_header_cut_is_truncated() {
    let hop_by_hop = [
        P_UDP, // Next Header
        1,     // Hdr Ext Len: 16 bytes
        0x01, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // PadN, 12 bytes
    ];
    let full = cat(&[
        &eth(0x86dd),
        &ipv6(16 + 8, X_HOP_BY_HOP),
        &hop_by_hop,
        &udp(SPORT, DPORT, 8),
    ]);
    // Cut anywhere inside the Hop-by-Hop header (54..70).
    for len in 54..70 {
        assert_eq!(
            err(ETHERNET, &full[..len]),
            error(Layer::Ipv6Ext, ErrorKind::Truncated, 54),
            "{len} bytes"
        );
    }
    // An AH cut after its length byte: starts at 54, needs 24 bytes.
    let frame = cat(&[&eth(0x86dd), &ipv6(24 + 8, X_AH), &[P_UDP, 4, 0, 0, 0, 0]]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv6Ext, ErrorKind::Truncated, 54)
    );
    // A Fragment header cut: a second header starting at 54 + 8 = 62.
    let frame = cat(&[
        &eth(0x86dd),
        &ipv6(8 + 8 + 8, X_HOP_BY_HOP),
        &opts8(X_FRAGMENT),
        &frag6(P_UDP, 0, true, 1)[..5],
    ]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Ipv6Ext, ErrorKind::Truncated, 62)
    );
}

#[test]
fn ipv6_payload_length_shorter_than_the_extension_headers_is_malformed() {
    // Hop-by-Hop 8 + Destination Options 8, but Payload Length 8 (and 12).
    for payload_length in [8u16, 12] {
        let frame = cat(&[
            &eth(0x86dd),
            &ipv6(payload_length, X_HOP_BY_HOP),
            &opts8(X_DEST_OPTS),
            &opts8(P_UDP),
            &udp(SPORT, DPORT, 8),
        ]);
        let e = err(ETHERNET, &frame);
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::Malformed, 14),
            "Payload Length {payload_length}: {e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Transport

/// Ethernet + IPv4 (Total Length 20 + `declared`) + `l4` bytes.
fn v4_frame(proto: u8, declared: usize, l4: &[u8]) -> Vec<u8> {
    cat(&[
        &eth(0x0800),
        &ipv4(proto, (20 + declared) as u16, 0, &[]),
        l4,
    ])
}

#[test]
fn tcp_data_offset_below_5_is_malformed() {
    for data_offset in 0..5 {
        let frame = v4_frame(P_TCP, 20, &tcp(443, 51000, data_offset, 0x10));
        // The TCP header starts at 14 + 20 = 34.
        assert_eq!(
            err(ETHERNET, &frame),
            error(Layer::Transport, ErrorKind::Malformed, 34),
            "data offset {data_offset}"
        );
    }
}

#[test]
fn transport_error_offset_follows_ipv4_options() {
    let frame = cat(&[
        &eth(0x0800),
        &ipv4(P_TCP, 24 + 20, 0, &[0x94, 0x04, 0, 0]),
        &tcp(443, 51000, 4, 0x10),
    ]);
    // 14 + 24 = 38.
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Malformed, 38)
    );
}

#[test]
fn tcp_ports_cut_by_the_snaplen_are_truncated() {
    // Total Length 60: TCP 20 + 20 payload. Fewer than the 4 bytes of the
    // ports captured: the key cannot be read (issue 15; the rest of the
    // header cut is in tests/truncated.rs).
    let full = v4_frame(P_TCP, 40, &cat(&[&tcp(443, 51000, 5, 0x18), &[0x5a; 20]]));
    for len in 34..38 {
        assert_eq!(
            err(ETHERNET, &full[..len]),
            error(Layer::Transport, ErrorKind::Truncated, 34),
            "{len} bytes"
        );
    }
}

#[test]
fn tcp_header_longer_than_the_ip_payload_is_malformed() {
    // Total Length 36: 16 bytes of IP payload, a 20-byte TCP header captured.
    let frame = v4_frame(P_TCP, 16, &tcp(443, 51000, 5, 0x10));
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Malformed, 34)
    );
    // Data offset 8 (32 bytes) in 24 declared bytes.
    let frame = v4_frame(P_TCP, 24, &tcp(443, 51000, 8, 0x10));
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Malformed, 34)
    );
    // UDP in 4 declared bytes.
    let frame = v4_frame(P_UDP, 4, &udp(SPORT, DPORT, 8));
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Malformed, 34)
    );
}

#[test]
fn tcp_flags_byte() {
    for flags in [0x02u8, 0x12, 0x11, 0xc2, 0xff] {
        let frame = v4_frame(P_TCP, 20, &tcp(443, 51000, 5, flags));
        let d = ok(ETHERNET, &frame);
        assert_eq!(d.transport.tcp_flags(), Some(flags));
        assert_eq!(facts(&d), v4_facts(P_TCP, Some((443, 51000)), 40, 20, 0));
    }
}

#[test]
fn tcp_options_count_in_the_header() {
    // Data offset 8: 32-byte header, 5 payload bytes; Total Length 57.
    let frame = v4_frame(
        P_TCP,
        37,
        &cat(&[&tcp(443, 51000, 8, 0x18), &[1, 2, 3, 4, 5]]),
    );
    let d = ok(ETHERNET, &frame);
    assert_eq!(facts(&d), v4_facts(P_TCP, Some((443, 51000)), 57, 20, 5));
    assert_eq!(d.transport.header_len(), 32);
}

#[test]
fn udp_ports() {
    let frame = v4_frame(P_UDP, 8 + 3, &cat(&[&udp(5353, 5353, 11), &[1, 2, 3]]));
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_UDP, Some((5353, 5353)), 31, 20, 3)
    );
}

#[test]
fn udplite_ports() {
    // Same layout as UDP (coverage 8 = header only), 12 payload bytes.
    let frame = v4_frame(P_UDPLITE, 8 + 12, &cat(&[&udp(1234, 5678, 8), &[0x5a; 12]]));
    // ip_len 40; payload 40 - 20 - 8 = 12.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_UDPLITE, Some((1234, 5678)), 40, 20, 12)
    );
}

#[test]
fn sctp_ports_and_12_byte_common_header() {
    let sctp = [
        0x0b, 0x59, // source port 2905
        0x0b, 0x59, // destination port 2905
        0x01, 0x02, 0x03, 0x04, // verification tag
        0x00, 0x00, 0x00, 0x00, // checksum
        // DATA chunk, 20 bytes
        0x00, 0x03, 0x00, 0x14, // type 0, flags B|E, length 20
        0x00, 0x00, 0x00, 0x01, // TSN
        0x00, 0x00, 0x00, 0x00, // stream id, stream seq
        0x00, 0x00, 0x00, 0x00, // PPID
        0xde, 0xad, 0xbe, 0xef, // user data
    ];
    let frame = v4_frame(P_SCTP, sctp.len(), &sctp);
    // ip_len 20 + 32 = 52; payload 52 - 20 - 12 = 20.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_SCTP, Some((2905, 2905)), 52, 20, 20)
    );
}

#[test]
fn dccp_ports_and_data_offset() {
    let dccp = [
        0x13, 0x88, // source port 5000
        0x17, 0x70, // destination port 6000
        5,    // Data Offset: 5 * 4 = 20 bytes
        0x00, // CCVal | CsCov
        0x00, 0x00, // checksum
        0x01, // Res | Type 0 (Request) | X = 1
        0x00, // reserved
        0, 0, 0, 0, 0, 1, // sequence number (48 bits)
        0, 0, 0, 42, // service code
        1, 2, 3, 4, 5, 6, 7, 8, // payload
    ];
    let frame = v4_frame(P_DCCP, dccp.len(), &dccp);
    // ip_len 20 + 28 = 48; payload 48 - 20 - 20 = 8.
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_DCCP, Some((5000, 6000)), 48, 20, 8)
    );
}

#[test]
fn dccp_header_edges() {
    let dccp = [
        0x13, 0x88, 0x17, 0x70, // ports 5000 -> 6000
        3,    // Data Offset: 12 bytes (the minimum, X = 0)
        0x00, 0x00, 0x00, // CCVal | CsCov, checksum
        0x00, // Res | Type 0 | X = 0
        0, 0, 1, // sequence number (24 bits)
    ];
    // The minimum header, no payload: ip_len 32, payload 0.
    let frame = v4_frame(P_DCCP, 12, &dccp);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v4_facts(P_DCCP, Some((5000, 6000)), 32, 20, 0)
    );
    // Cut after 3 bytes, inside the ports: truncated at the transport header (34).
    assert_eq!(
        err(ETHERNET, &frame[..34 + 3]),
        error(Layer::Transport, ErrorKind::Truncated, 34)
    );
    // Data Offset 2 (8 bytes) is below the 12-byte generic header.
    let mut short = dccp;
    short[4] = 2;
    assert_eq!(
        err(ETHERNET, &v4_frame(P_DCCP, 12, &short)),
        error(Layer::Transport, ErrorKind::Malformed, 34)
    );
    // Data Offset 4 (16 bytes) in 12 declared bytes.
    let mut long = dccp;
    long[4] = 4;
    assert_eq!(
        err(ETHERNET, &v4_frame(P_DCCP, 12, &cat(&[&long, &[0; 4]]))),
        error(Layer::Transport, ErrorKind::Malformed, 34)
    );
}

#[test]
fn sctp_and_icmp_cut_before_their_key_are_truncated() {
    // SCTP declares 12 + 20 bytes, 3 captured: the destination port is cut.
    let frame = v4_frame(P_SCTP, 32, &[0x0b, 0x59, 0x0b]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Truncated, 34)
    );
    // ICMP declares 12 bytes, 1 captured: the code is cut.
    let frame = v4_frame(P_ICMP, 12, &[8]);
    assert_eq!(
        err(ETHERNET, &frame),
        error(Layer::Transport, ErrorKind::Truncated, 34)
    );
}

#[test]
fn icmp_echo_request_type_and_code() {
    let icmp = [
        8, 0, // type 8 echo request, code 0
        0x00, 0x00, // checksum
        0x12, 0x34, 0x00, 0x01, // identifier, sequence
        b'p', b'i', b'n', b'g', // data
    ];
    let frame = v4_frame(P_ICMP, icmp.len(), &icmp);
    let d = ok(ETHERNET, &frame);
    // ip_len 32; payload 32 - 20 - 8 = 4.
    assert_eq!(facts(&d), v4_facts(P_ICMP, None, 32, 20, 4));
    assert!(matches!(
        d.transport,
        Transport::Icmp {
            icmp_type: 8,
            code: 0
        }
    ));
}

#[test]
fn icmpv6_echo_request_type_and_code() {
    let icmp = [
        128, 0, // type 128 echo request, code 0
        0x00, 0x00, // checksum
        0x12, 0x34, 0x00, 0x01, // identifier, sequence
        b'p', b'i', b'n', b'g', // data
    ];
    let frame = cat(&[&eth(0x86dd), &ipv6(12, P_ICMPV6), &icmp]);
    let d = ok(ETHERNET, &frame);
    // ip_len 52; payload 52 - 40 - 8 = 4.
    assert_eq!(facts(&d), v6_facts(P_ICMPV6, None, 52, 40, 4));
    assert!(matches!(
        d.transport,
        Transport::Icmp {
            icmp_type: 128,
            code: 0
        }
    ));
}

#[test]
fn unknown_protocol_has_no_transport() {
    // OSPF Hello: 24-byte OSPF header + 20 bytes, all zeros here.
    let frame = v4_frame(P_OSPF, 44, &[0u8; 44]);
    let d = ok(ETHERNET, &frame);
    // ip_len 64; payload = the whole IP payload 44.
    assert_eq!(facts(&d), v4_facts(P_OSPF, None, 64, 20, 44));
    assert!(matches!(d.transport, Transport::None));
    // Over IPv6: ip_len 76, payload 36.
    let frame = cat(&[&eth(0x86dd), &ipv6(36, P_OSPF), &[0u8; 36]]);
    assert_eq!(
        facts(&ok(ETHERNET, &frame)),
        v6_facts(P_OSPF, None, 76, 40, 36)
    );
}

// ---------------------------------------------------------------------------
// Property tests

/// Every link type mirrorflow decodes, and a few it does not.
const SUPPORTED_LINKS: [u16; 17] = [
    NULL, ETHERNET, PPP, RAW_12, RAW_14, PPP_HDLC, RAW, C_HDLC, IEEE802_11, LOOP, LINUX_SLL,
    RADIOTAP, PPI, IPV4, IPV6, NFLOG, LINUX_SLL2,
];
const UNSUPPORTED_LINKS: [u16; 4] = [2, 106, 147, 65535];

/// The invariants of any decoded packet (docs/record.md, "Counting"): the declared
/// length covers the IP header and the transport header.
fn check_invariants(d: &Decoded<'_>) -> Result<(), TestCaseError> {
    prop_assert!(d.ip_len >= d.ip_header_len, "{d:?}");
    prop_assert!(d.payload_len() <= d.ip_len, "{d:?}");
    prop_assert!(
        u64::from(d.ip_header_len) + u64::from(d.transport.header_len()) <= u64::from(d.ip_len),
        "{d:?}"
    );
    Ok(())
}

fn check_any(link: u16, data: &[u8]) -> Result<(), TestCaseError> {
    match decode(&packet(link, data)) {
        Ok(d) => {
            prop_assert!(SUPPORTED_LINKS.contains(&link));
            check_invariants(&d)?;
        }
        Err(e) => {
            prop_assert_eq!(
                e.kind == ErrorKind::UnsupportedLink,
                !SUPPORTED_LINKS.contains(&link),
                "{:?}",
                e
            );
            prop_assert!(
                e.offset <= data.len(),
                "{:?} beyond {} bytes",
                e,
                data.len()
            );
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Framing {
    /// Ethernet II with 0 to 3 VLAN tags.
    Ethernet { tags: usize },
    /// Linux cooked v1.
    Sll,
    /// Raw IP: 101, 12 or 14 (by version nibble), or 228/229 (by version).
    Raw { link: u16 },
    /// An 802.11 data frame behind radiotap (issue 15).
    Radiotap,
    /// Ethernet with a data-centre tag: a PBB I-tag and the customer's
    /// Ethernet header, or a VN-Tag (issue 15).
    Tagged { pbb: bool },
}

#[derive(Debug, Clone)]
struct Spec {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    tcp: bool,
    sport: u16,
    dport: u16,
    payload: usize,
    framing: Framing,
}

/// A packet written by etherparse and what it must decode to.
#[derive(Debug)]
struct Generated {
    link: u16,
    framing: Framing,
    bytes: Vec<u8>,
    /// Where the link layer (with VLAN tags) ends and IP begins.
    ip_start: usize,
    /// IP header length (20 or 40, no options).
    ip_header: usize,
    expected: Facts,
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        (0..=3usize).prop_map(|tags| Framing::Ethernet { tags }),
        Just(Framing::Sll),
        prop::sample::select(vec![RAW, RAW_12, RAW_14, IPV4])
            .prop_map(|link| Framing::Raw { link }),
        Just(Framing::Radiotap),
        any::<bool>().prop_map(|pbb| Framing::Tagged { pbb }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<bool>(),
        any::<u16>(),
        any::<u16>(),
        0..1400usize,
        framing(),
    )
        .prop_map(|(v6, src, dst, tcp, sport, dport, payload, framing)| Spec {
            v6,
            src,
            dst,
            tcp,
            sport,
            // UDP to the VXLAN and Geneve ports is a tunnel, peeled by default
            // (docs/decoding.md): keep these packets plain.
            dport: match (tcp, dport) {
                (false, 4789 | 6081 | 8472) => dport + 1,
                _ => dport,
            },
            payload,
            framing,
        })
}

fn generate(s: &Spec) -> Generated {
    let src4 = [s.src[0], s.src[1], s.src[2], s.src[3]];
    let dst4 = [s.dst[0], s.dst[1], s.dst[2], s.dst[3]];
    let proto = if s.tcp { IpNumber::TCP } else { IpNumber::UDP };
    let ip = if s.v6 {
        IpHeaders::Ipv6(
            Ipv6Header {
                hop_limit: 64,
                source: s.src,
                destination: s.dst,
                ..Default::default()
            },
            Default::default(),
        )
    } else {
        IpHeaders::Ipv4(
            Ipv4Header::new(0, 64, proto, src4, dst4).unwrap(),
            Default::default(),
        )
    };
    let vid = |v: u16| VlanId::try_new(v).unwrap();
    let (step, link, link_len) = match s.framing {
        Framing::Ethernet { tags: 0 } => (
            PacketBuilder::ethernet2(MAC_SRC, MAC_DST).ip(ip),
            ETHERNET,
            14,
        ),
        Framing::Ethernet { tags: 1 } => (
            PacketBuilder::ethernet2(MAC_SRC, MAC_DST)
                .single_vlan(vid(100))
                .ip(ip),
            ETHERNET,
            18,
        ),
        // 2 tags (0x88A8, 0x8100); for 3, a 0x9100 tag is spliced in front below.
        Framing::Ethernet { tags } => (
            PacketBuilder::ethernet2(MAC_SRC, MAC_DST)
                .double_vlan(vid(100), vid(200))
                .ip(ip),
            ETHERNET,
            14 + 4 * tags,
        ),
        Framing::Sll => (
            PacketBuilder::linux_sll(LinuxSllPacketType::HOST, 6, [2, 0, 0, 0, 0, 1, 0, 0]).ip(ip),
            LINUX_SLL,
            16,
        ),
        Framing::Raw { link } => {
            let link = match (link, s.v6) {
                (IPV4, true) => IPV6,
                (link, _) => link,
            };
            (PacketBuilder::ip(ip), link, 0)
        }
        // Raw IP here; the link header is put in front below.
        Framing::Radiotap => (PacketBuilder::ip(ip), RADIOTAP, 40),
        Framing::Tagged { pbb: true } => (PacketBuilder::ip(ip), ETHERNET, 32),
        Framing::Tagged { pbb: false } => (PacketBuilder::ip(ip), ETHERNET, 20),
    };
    let payload: Vec<u8> = (0..s.payload).map(|i| i as u8).collect();
    let mut bytes = Vec::new();
    if s.tcp {
        step.tcp(s.sport, s.dport, 1, 1024)
            .write(&mut bytes, &payload)
            .unwrap();
    } else {
        step.udp(s.sport, s.dport)
            .write(&mut bytes, &payload)
            .unwrap();
    }
    if let Framing::Ethernet { tags: 3 } = s.framing {
        // Ethernet type 0x9100, then a tag (VID 42) carrying the builder's 0x88A8.
        let outer = u16::from_be_bytes([bytes[12], bytes[13]]);
        bytes = cat(&[
            &bytes[..12],
            &0x9100u16.to_be_bytes(),
            &tag(42, outer),
            &bytes[14..],
        ]);
    }
    let ether_type: u16 = if s.v6 { 0x86dd } else { 0x0800 };
    let wrapper = match s.framing {
        // radiotap (8), 802.11 data frame to the AP (24), SNAP (8).
        Framing::Radiotap => cat(&[
            &link_types::radiotap(false, None),
            &link_types::wifi(link_types::DATA, link_types::TO_DS, None, false),
            &link_types::snap(ether_type),
        ]),
        // Ethernet (14), I-tag (4), customer Ethernet header (14).
        Framing::Tagged { pbb: true } => cat(&[&eth(0x88e7), &[0, 0, 1, 0], &eth(ether_type)]),
        // Ethernet (14), VN-Tag (4), EtherType (2).
        Framing::Tagged { pbb: false } => {
            cat(&[&eth(0x8926), &[0x80, 5, 0, 7], &ether_type.to_be_bytes()])
        }
        _ => Vec::new(),
    };
    bytes = cat(&[&wrapper, &bytes]);
    let ip_header = if s.v6 { 40 } else { 20 };
    let transport_header = if s.tcp { 20 } else { 8 };
    let (src, dst) = if s.v6 {
        (IpAddr::from(s.src), IpAddr::from(s.dst))
    } else {
        (IpAddr::from(src4), IpAddr::from(dst4))
    };
    Generated {
        link,
        framing: s.framing,
        ip_start: link_len,
        ip_header,
        expected: Facts {
            version: if s.v6 { 6 } else { 4 },
            src,
            dst,
            proto: proto.0,
            ports: Some((s.sport, s.dport)),
            ip_len: (ip_header + transport_header + s.payload) as u32,
            ip_header_len: ip_header as u32,
            payload_len: s.payload as u32,
        },
        bytes,
    }
}

/// The layer and offset a capture cut at `cut` bytes must report, if the cut
/// falls before the end of the transport header.
fn expected_truncation(g: &Generated, cut: usize) -> Option<(Layer, usize)> {
    let transport_start = g.ip_start + g.ip_header;
    // The key ends with the ports, the first 4 bytes of TCP and UDP
    // (docs/record.md, "Counting"); the rest of the header may be cut.
    if cut >= transport_start + 4 {
        return None;
    }
    Some(if cut >= transport_start {
        (Layer::Transport, transport_start)
    } else if cut == g.ip_start && matches!(g.link, RAW | RAW_12 | RAW_14) {
        // Not one byte to read the version from: truncated in the link.
        (Layer::Link, g.ip_start)
    } else if cut >= g.ip_start {
        let layer = if g.expected.version == 6 {
            Layer::Ipv6
        } else {
            Layer::Ipv4
        };
        (layer, g.ip_start)
    } else if g.link == LINUX_SLL {
        (Layer::Link, 0)
    } else if g.link == RADIOTAP {
        // Cut in radiotap (at 0), the 802.11 header (at 8) or SNAP (at 32).
        let at = [32, 8, 0].into_iter().find(|&at| cut >= at).unwrap_or(0);
        (Layer::Link, at)
    } else if cut < 14 {
        (Layer::Ethernet, 0)
    } else if let Framing::Tagged { pbb } = g.framing {
        // In the tag (at 14), or in PBB's customer Ethernet header (at 18).
        if pbb && cut >= 18 {
            (Layer::Ethernet, 18)
        } else {
            (Layer::Tag, 14)
        }
    } else {
        // Inside the tag that starts at 14 + 4k.
        (Layer::Vlan, 14 + (cut - 14) / 4 * 4)
    })
}

/// IP protocols and IPv6 extension headers [`valid_prefix`] is tried with.
const PREFIX_PROTOS: [u8; 16] = [
    X_HOP_BY_HOP,
    P_ICMP,
    P_TCP,
    P_UDP,
    P_DCCP,
    X_ROUTING,
    X_FRAGMENT,
    P_ESP,
    X_AH,
    P_ICMPV6,
    P_NO_NEXT,
    X_DEST_OPTS,
    P_OSPF,
    P_SCTP,
    X_MOBILITY,
    P_UDPLITE,
];
/// Declared lengths (IPv4 Total Length, IPv6 Payload Length, PPPoE length) tried.
const PREFIX_DECLARED: [u16; 6] = [0, 8, 20, 64, 1500, 65535];

/// Every prefix, protocol and declared length, followed by 0 to 64 bytes of
/// one repeated value: no panic, and the invariants of any decoded packet.
#[test]
fn every_valid_prefix_with_short_tails_never_panics() {
    for which in 0..PREFIXES {
        for proto in PREFIX_PROTOS {
            for declared in PREFIX_DECLARED {
                let (link, prefix) = valid_prefix(which, proto, declared);
                for fill in [0x00, 0x01, 0x45, 0x60, 0xff] {
                    let mut data = prefix.clone();
                    data.resize(prefix.len() + 64, fill);
                    for len in 0..=data.len() {
                        if let Err(e) = check_any(link, &data[..len]) {
                            panic!("{e} for link {link}, {:02x?}", &data[..len]);
                        }
                    }
                }
            }
        }
    }
}

/// How many prefixes [`valid_prefix`] knows.
const PREFIXES: usize = 21;

/// Headers that steer the decoder into one layer, for random bytes to follow.
fn valid_prefix(which: usize, proto: u8, declared: u16) -> (u16, Vec<u8>) {
    match which {
        0 => (ETHERNET, eth(0x8864)), // PPPoE
        1 => (ETHERNET, eth(40)),     // 802.3 length
        2 => (ETHERNET, eth(0x8847)), // MPLS
        3 => (ETHERNET, eth(0x8100)), // VLAN
        4 => (PPP, Vec::new()),       // PPP protocol
        5 => (ETHERNET, cat(&[&eth(0x8864), &pppoe(declared)])),
        6 => (NULL, Vec::new()),
        7 => (LINUX_SLL, Vec::new()),
        8 => (LINUX_SLL2, Vec::new()),
        9 => (
            ETHERNET,
            cat(&[&eth(0x0800), &ipv4(proto, declared, 0, &[])]),
        ),
        10 => (RAW, ipv4(proto, declared, 0x2000, &[0x94, 0x04, 0, 0])),
        11 => (ETHERNET, cat(&[&eth(0x86dd), &ipv6(declared, proto)])),
        12 => (IPV6, cat(&[&ipv6(declared, X_HOP_BY_HOP), &[proto]])),
        // Issue 15: link types and tags, with their trailers.
        14 => (
            RADIOTAP,
            cat(&[
                &link_types::radiotap(true, Some(0x10)), // FCS at the end
                &link_types::wifi(link_types::DATA, link_types::TO_DS, None, false),
                &link_types::snap(0x0800),
                &ipv4(proto, declared, 0, &[]),
            ]),
        ),
        15 => (
            NFLOG,
            cat(&[
                &[2, 0, 0, 7],
                &link_types::tlv(1, &[8, 0, 3, 0]),
                &(4 + 20 + declared % 64).to_le_bytes(), // payload attribute length
                &9u16.to_le_bytes(),
                &ipv4(proto, declared, 0, &[]),
            ]),
        ),
        16 => (
            C_HDLC,
            cat(&[&[0x0f, 0, 0x08, 0x00], &ipv4(proto, declared, 0, &[])]),
        ),
        17 => (
            ETHERNET,
            cat(&[
                &eth(0x88e5),
                &tags::sectag(0x20),
                &0x0800u16.to_be_bytes(),
                &ipv4(proto, declared, 0, &[]),
            ]),
        ),
        18 => (
            ETHERNET,
            cat(&[&eth(0x894f), &tags::nsh(2, 2, 2), &ipv6(declared, proto)]),
        ),
        19 => (
            PPI,
            cat(&[
                &link_types::ppi(105),
                &link_types::wifi(0x88, 0x83, Some(0), true),
            ]),
        ),
        20 => (ETHERNET, cat(&[&eth(0xd28b), &[0, 1, 0, 0x10]])),
        _ => (ETHERNET, cat(&[&eth(0x8847), &label(16, true)])),
    }
}

proptest! {
    /// A TCP segment's sequence, acknowledgement and window are the
    /// builder's, when the snaplen leaves the first 16 bytes of its header;
    /// cut before them, there are none (and nothing panics).
    #[test]
    fn tcp_segment_facts_are_the_headers_or_none_when_cut(
        (seq, ack, window) in any::<(u32, u32, u16)>(),
        payload in prop::collection::vec(any::<u8>(), 0..64),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2(MAC_SRC, MAC_DST)
            .ipv4([192, 0, 2, 1], [198, 51, 100, 2], 64)
            .tcp(40000, 443, seq, window)
            .ack(ack)
            .write(&mut frame, &payload)
            .unwrap();
        let cut = cut.index(frame.len() + 1);
        if let Ok(d) = decode(&packet(LinkType::ETHERNET.0, &frame[..cut])) {
            // Ethernet 14 + IPv4 20, then the TCP header.
            let captured = cut >= 14 + 20 + 16;
            let want = captured.then_some(super::TcpSegment { seq, ack, window });
            prop_assert_eq!(d.tcp_segment(), want, "cut at {}", cut);
        }
    }

    #[test]
    fn any_bytes_as_any_link_type_never_panic(
        link in prop::sample::select(
            SUPPORTED_LINKS.iter().chain(UNSUPPORTED_LINKS.iter()).copied().collect::<Vec<_>>()
        ),
        data in prop::collection::vec(any::<u8>(), 0..2000),
    ) {
        check_any(link, &data)?;
    }

    #[test]
    fn random_bytes_after_valid_headers_never_panic(
        prefix in 0..PREFIXES,
        proto in prop::sample::select(PREFIX_PROTOS.to_vec()),
        declared in prop::sample::select(PREFIX_DECLARED.to_vec()),
        // Short tails most of the time: the edges are in the first bytes.
        tail in prop_oneof![
            2 => prop::collection::vec(any::<u8>(), 0..8),
            1 => prop::collection::vec(any::<u8>(), 0..96),
        ],
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let (link, mut data) = valid_prefix(prefix, proto, declared);
        data.extend(tail);
        let cut = cut.map_or(data.len(), |cut| cut.index(data.len() + 1));
        check_any(link, &data[..cut])?;
    }

    #[test]
    fn mutated_packets_never_panic(
        s in spec(),
        // (position within the first 128 bytes, new value)
        edits in prop::collection::vec((0..128usize, any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let g = generate(&s);
        let mut bytes = g.bytes.clone();
        for (at, value) in edits {
            if let Some(b) = bytes.get_mut(at) {
                *b = value;
            }
        }
        let cut = cut.index(bytes.len() + 1);
        check_any(g.link, &bytes[..cut])?;
    }

    #[test]
    fn generated_packets_decode_to_their_key_and_lengths(s in spec()) {
        let g = generate(&s);
        let d = decode(&packet(g.link, &g.bytes));
        prop_assert!(d.is_ok(), "{:?} from {:02x?}", d, g.bytes);
        let d = d.unwrap();
        prop_assert_eq!(facts(&d), g.expected.clone());
        prop_assert_eq!(d.fragment, None);
        check_invariants(&d)?;
    }

    #[test]
    fn generated_packets_cut_anywhere_keep_their_key_or_are_truncated(s in spec()) {
        let g = generate(&s);
        for cut in 0..=g.bytes.len() {
            let data = &g.bytes[..cut];
            match (decode(&packet(g.link, data)), expected_truncation(&g, cut)) {
                (Ok(d), None) => {
                    prop_assert_eq!(facts(&d), g.expected.clone(), "cut at {}", cut);
                }
                (Err(e), Some((layer, offset))) => {
                    prop_assert_eq!(e, error(layer, ErrorKind::Truncated, offset), "cut at {}", cut);
                }
                (got, want) => {
                    prop_assert!(false, "cut at {}: got {:?}, expected truncation {:?}", cut, got, want);
                }
            }
        }
    }
}
