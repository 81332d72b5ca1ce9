//! Issue 15, class "Link types": 802.11 (bare, after radiotap, after PPI),
//! NFLOG and Cisco HDLC (docs/decoding.md, "Link types"). Every frame is
//! written here field by field; expectations are worked out from those bytes.

use super::*;

/// 802.1H/RFC 1042 LLC/SNAP header carrying `ether_type`.
pub(super) fn snap(ether_type: u16) -> Vec<u8> {
    let mut h = vec![0xaa, 0xaa, 0x03, 0, 0, 0]; // DSAP, SSAP, UI, OUI 00-00-00
    h.extend(ether_type.to_be_bytes());
    h
}

/// An 802.11 MAC header: frame control (`fc0`: version 0, type, subtype;
/// `fc1`: flags), duration, addresses 1-3, sequence control, the fourth
/// address when both To DS and From DS are set, and `qos` (2 bytes) and
/// `htc` (4 bytes) when given.
pub(super) fn wifi(fc0: u8, fc1: u8, qos: Option<u8>, htc: bool) -> Vec<u8> {
    let mut h = vec![fc0, fc1, 0, 0]; // frame control, duration
    h.extend(MAC_DST); // address 1
    h.extend(MAC_SRC); // address 2
    h.extend(MAC_DST); // address 3
    h.extend([0x10, 0x00]); // sequence control
    if fc1 & 0x03 == 0x03 {
        h.extend(MAC_SRC); // address 4 (WDS)
    }
    if let Some(qos) = qos {
        h.extend([qos, 0]); // QoS control: TID/A-MSDU bit, TXOP
    }
    if htc {
        h.extend([0, 0, 0, 0]); // HT control
    }
    h
}

/// Data frame (type 2, subtype 0), To DS: 24-byte header.
pub(super) const DATA: u8 = 0x08;
/// QoS data (type 2, subtype 8).
const QOS_DATA: u8 = 0x88;
pub(super) const TO_DS: u8 = 0x01;

/// A data frame to the AP carrying IPv4 UDP with 4 bytes of payload.
fn wifi_v4() -> Vec<u8> {
    cat(&[&wifi(DATA, TO_DS, None, false), &snap(0x0800), &v4_udp(4)])
}

/// A radiotap header: version 0, pad, length, one present word, then the
/// fields it announces (TSFT, 8 bytes aligned to 8; Flags, 1 byte).
pub(super) fn radiotap(tsft: bool, flags: Option<u8>) -> Vec<u8> {
    let present = u32::from(tsft) | (u32::from(flags.is_some()) << 1);
    let mut h = vec![0, 0, 0, 0]; // version, pad, length (below)
    h.extend(present.to_le_bytes()); // present word
    if tsft {
        h.extend(1_000_000u64.to_le_bytes()); // TSFT at 8 (already aligned)
    }
    if let Some(flags) = flags {
        h.push(flags); // Flags
    }
    let len = h.len() as u16;
    h[2..4].copy_from_slice(&len.to_le_bytes());
    h
}

/// A PPI packet header (8 bytes, no fields) in front of a frame of `dlt`.
pub(super) fn ppi(dlt: u32) -> Vec<u8> {
    let mut h = vec![0, 0]; // version, flags
    h.extend(8u16.to_le_bytes()); // header length
    h.extend(dlt.to_le_bytes()); // DLT of what follows
    h
}

#[test]
fn bare_80211_data_frame_through_snap() {
    assert_eq!(facts(&ok(IEEE802_11, &wifi_v4())), v4_udp_facts(4));
    let v6 = cat(&[&wifi(DATA, 0x02, None, false), &snap(0x86dd), &v6_udp(8)]);
    assert_eq!(facts(&ok(IEEE802_11, &v6)), v6_udp_facts(8));
}

#[test]
fn qos_four_address_and_ht_control_headers_are_skipped() {
    // 24 + 6 (address 4) + 2 (QoS) = 32 bytes before the SNAP header.
    let wds = cat(&[
        &wifi(QOS_DATA, 0x03, Some(0), false),
        &snap(0x0800),
        &v4_udp(4),
    ]);
    assert_eq!(facts(&ok(IEEE802_11, &wds)), v4_udp_facts(4));
    // Order bit in a QoS data frame: 24 + 2 + 4 (HT control) = 30.
    let htc = cat(&[
        &wifi(QOS_DATA, 0x81, Some(5), true),
        &snap(0x0800),
        &v4_udp(4),
    ]);
    assert_eq!(facts(&ok(IEEE802_11, &htc)), v4_udp_facts(4));
}

#[test]
fn frames_without_ip_are_not_ip() {
    let not_ip = error(Layer::Link, ErrorKind::NotIp, 0);
    // Protected bit (0x40): the body is encrypted.
    let protected = cat(&[&wifi(DATA, 0x41, None, false), &[0x11; 40]]);
    assert_eq!(err(IEEE802_11, &protected), not_ip);
    // Beacon (management, subtype 8) and ACK (control, 10 bytes).
    assert_eq!(err(IEEE802_11, &wifi(0x80, 0, None, false)), not_ip);
    assert_eq!(err(IEEE802_11, &[0xd4, 0, 0, 0, 2, 0, 0, 0, 0, 2]), not_ip);
    // Null data (subtype 4) and QoS Null (subtype 12) carry no body.
    assert_eq!(err(IEEE802_11, &wifi(0x48, TO_DS, None, false)), not_ip);
    assert_eq!(err(IEEE802_11, &wifi(0xc8, TO_DS, Some(0), false)), not_ip);
    // An A-MSDU (QoS control bit 7) aggregates subframes.
    let amsdu = cat(&[&wifi(QOS_DATA, TO_DS, Some(0x80), false), &[0; 40]]);
    assert_eq!(err(IEEE802_11, &amsdu), not_ip);
    // LLC without SNAP (STP), after the 24-byte header.
    let llc = cat(&[
        &wifi(DATA, TO_DS, None, false),
        &[0x42, 0x42, 0x03, 0, 0, 0, 0, 0],
    ]);
    assert_eq!(
        err(IEEE802_11, &llc),
        error(Layer::Link, ErrorKind::NotIp, 24)
    );
    // SNAP carrying ARP.
    let arp = cat(&[&wifi(DATA, TO_DS, None, false), &snap(0x0806), &[0; 28]]);
    assert_eq!(
        err(IEEE802_11, &arp),
        error(Layer::Link, ErrorKind::NotIp, 32)
    );
}

#[test]
fn cut_80211_headers_are_truncated() {
    let frame = wifi_v4();
    assert_eq!(
        err(IEEE802_11, &frame[..1]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
    assert_eq!(
        err(IEEE802_11, &frame[..23]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
    // The SNAP header starts at 24.
    assert_eq!(
        err(IEEE802_11, &frame[..30]),
        error(Layer::Link, ErrorKind::Truncated, 24)
    );
    // Protocol version 1 is not one these link types carry.
    let mut v1 = frame.clone();
    v1[0] |= 0x01;
    assert_eq!(
        err(IEEE802_11, &v1),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
}

#[test]
fn radiotap_is_skipped_by_its_length() {
    let frame = cat(&[&radiotap(false, None), &wifi_v4()]);
    assert_eq!(facts(&ok(RADIOTAP, &frame)), v4_udp_facts(4));
    // Flags without FCS, after TSFT: 8 + 8 + 1 = 17 bytes.
    let frame = cat(&[&radiotap(true, Some(0x02)), &wifi_v4()]);
    assert_eq!(facts(&ok(RADIOTAP, &frame)), v4_udp_facts(4));
    // Errors in the 802.11 header are at its offset in the frame (8).
    let frame = cat(&[&radiotap(false, None), &wifi(0x80, 0, None, false)]);
    assert_eq!(
        err(RADIOTAP, &frame),
        error(Layer::Link, ErrorKind::NotIp, 8)
    );
}

#[test]
fn radiotap_extended_present_words_are_walked_to_the_flags() {
    // Two present words (bit 31 of the first set), Flags (FCS) at 12.
    let mut h = vec![0, 0, 13, 0]; // version, pad, length 13
    h.extend((0x8000_0002u32).to_le_bytes()); // Flags, and another word
    h.extend(0u32.to_le_bytes()); // second present word: nothing
    h.push(0x10); // Flags: FCS at the end
                  // IPv4 Total Length 0 (TSO): the length is the rest of the frame less
                  // the 4-byte FCS: 20 + 8 + 4 = 32.
    let ip = cat(&[&ipv4(P_UDP, 0, 0, &[]), &udp(SPORT, DPORT, 12), &[0x5a; 4]]);
    let frame = cat(&[
        &h,
        &wifi(DATA, TO_DS, None, false),
        &snap(0x0800),
        &ip,
        &[1, 2, 3, 4],
    ]);
    assert_eq!(facts(&ok(RADIOTAP, &frame)), v4_udp_facts(4));
}

#[test]
fn radiotap_fcs_is_a_trailer_not_ip_length() {
    // TSFT and Flags with FCS (0x10): a TSO packet's length excludes the FCS.
    let ip = cat(&[&ipv4(P_UDP, 0, 0, &[]), &udp(SPORT, DPORT, 12), &[0x5a; 4]]);
    let frame = cat(&[
        &radiotap(true, Some(0x10)),
        &wifi(DATA, TO_DS, None, false),
        &snap(0x0800),
        &ip,
        &[0xde, 0xad, 0xbe, 0xef], // FCS
    ]);
    let d = ok(RADIOTAP, &frame);
    assert_eq!(facts(&d), v4_udp_facts(4));
    // Without the FCS flag the same 4 bytes would count: 36.
    let mut no_fcs = frame.clone();
    no_fcs[16] = 0;
    assert_eq!(ok(RADIOTAP, &no_fcs).ip_len, 36);
    // With an FCS the frame must hold the headers and the FCS.
    // Here 2 bytes follow the SNAP header: the FCS would overlap it.
    let short = cat(&[
        &radiotap(false, Some(0x10)),
        &wifi(DATA, TO_DS, None, false),
        &snap(0x0800),
        &[0, 0],
    ]);
    assert_eq!(
        err(RADIOTAP, &short),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
}

#[test]
fn radiotap_data_pad_rounds_the_80211_header_to_4() {
    // A QoS header is 26 bytes; with the data-pad flag (0x20) 28.
    let frame = cat(&[
        &radiotap(false, Some(0x20)),
        &wifi(QOS_DATA, TO_DS, Some(0), false),
        &[0, 0], // pad
        &snap(0x0800),
        &v4_udp(4),
    ]);
    assert_eq!(facts(&ok(RADIOTAP, &frame)), v4_udp_facts(4));
}

#[test]
fn bad_radiotap_headers() {
    let frame = cat(&[&radiotap(false, None), &wifi_v4()]);
    assert_eq!(
        err(RADIOTAP, &frame[..7]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
    let mut version = frame.clone();
    version[0] = 1;
    assert_eq!(
        err(RADIOTAP, &version),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
    let mut short = frame.clone();
    short[2] = 4; // length below the fixed 8 bytes
    assert_eq!(
        err(RADIOTAP, &short),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
    let mut long = frame.clone();
    long[2..4].copy_from_slice(&2000u16.to_le_bytes()); // beyond the capture
    assert_eq!(
        err(RADIOTAP, &long),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
    // A chain of present words running past the header's length.
    let mut chain = vec![0, 0, 12, 0];
    chain.extend(0x8000_0000u32.to_le_bytes());
    chain.extend(0x8000_0000u32.to_le_bytes());
    assert_eq!(
        err(RADIOTAP, &chain),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
}

#[test]
fn ppi_is_skipped_by_its_length() {
    let frame = cat(&[&ppi(105), &wifi_v4()]);
    assert_eq!(facts(&ok(PPI, &frame)), v4_udp_facts(4));
    // Any other DLT behind PPI is counted as not IP.
    let frame = cat(&[&ppi(1), &eth(0x0800), &v4_udp(4)]);
    assert_eq!(err(PPI, &frame), error(Layer::Link, ErrorKind::NotIp, 8));
    let mut short = cat(&[&ppi(105), &wifi_v4()]);
    short[2] = 6;
    assert_eq!(
        err(PPI, &short),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
    assert_eq!(
        err(PPI, &short[..5]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
}

/// One NFLOG attribute, little-endian (an x86 host): length (header
/// included), type, value, padding to 4.
pub(super) fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend(((4 + value.len()) as u16).to_le_bytes()); // length
    t.extend(kind.to_le_bytes()); // type
    t.extend(value);
    t.resize(t.len().next_multiple_of(4), 0); // padding
    t
}

/// An NFLOG record of `family`: packet header, prefix, the payload, then a
/// UID attribute after it.
fn nflog(family: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &[family, 0, 0, 7],               // family, version 0, group 7
        &tlv(1, &[0x08, 0x00, 3, 0]),     // NFULA_PACKET_HDR: protocol, hook
        &tlv(10, b"mf\0"),                // NFULA_PREFIX (7 bytes, padded to 8)
        &tlv(9, payload),                 // NFULA_PAYLOAD
        &tlv(11, &1000u32.to_be_bytes()), // NFULA_UID
    ])
}

#[test]
fn nflog_payload_attribute_is_the_ip_packet() {
    assert_eq!(facts(&ok(NFLOG, &nflog(2, &v4_udp(4)))), v4_udp_facts(4));
    assert_eq!(facts(&ok(NFLOG, &nflog(10, &v6_udp(6)))), v6_udp_facts(6));
    // Another family (7, bridge) is not read as IP: at the payload (24).
    assert_eq!(
        err(NFLOG, &nflog(7, &v4_udp(4))),
        error(Layer::Link, ErrorKind::NotIp, 24)
    );
}

#[test]
fn nflog_attributes_after_the_payload_are_a_trailer() {
    // TSO: Total Length 0 takes the payload attribute's length (20 + 8 + 5
    // = 33), not the padding and the UID attribute after it.
    let ip = cat(&[&ipv4(P_UDP, 0, 0, &[]), &udp(SPORT, DPORT, 13), &[0x5a; 5]]);
    assert_eq!(facts(&ok(NFLOG, &nflog(2, &ip))), v4_udp_facts(5));
}

#[test]
fn nflog_big_endian_attributes() {
    let be = |kind: u16, value: &[u8]| {
        let mut t = ((4 + value.len()) as u16).to_be_bytes().to_vec();
        t.extend(kind.to_be_bytes());
        t.extend(value);
        t
    };
    let frame = cat(&[&[2, 0, 0, 7], &be(1, &[8, 0, 3, 0]), &be(9, &v4_udp(4))]);
    assert_eq!(facts(&ok(NFLOG, &frame)), v4_udp_facts(4));
}

#[test]
fn nflog_attribute_shorter_than_its_header_is_malformed_not_a_loop() {
    // Regression: a TLV length below 4 must not stall the walk. Lengths
    // 0..=3 in the second attribute (at 12).
    for len in 0..4u16 {
        let mut frame = nflog(2, &v4_udp(4));
        frame[12..14].copy_from_slice(&len.to_le_bytes());
        assert_eq!(
            err(NFLOG, &frame),
            error(Layer::Link, ErrorKind::Malformed, 12),
            "length {len}"
        );
    }
}

#[test]
fn nflog_without_payload_or_cut() {
    // A record of metadata only: not IP, at its end.
    let meta = cat(&[&[2, 0, 0, 7], &tlv(1, &[8, 0, 3, 0])]);
    assert_eq!(err(NFLOG, &meta), error(Layer::Link, ErrorKind::NotIp, 12));
    assert_eq!(
        err(NFLOG, &meta[..3]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
    // Cut by the snaplen between two attributes: truncated, not "no payload"
    // (found by capture/tests/cut_capture.rs on issue15-nflog-live.pcapng).
    let cut = RawPacket {
        orig_len: 40,
        ..packet(NFLOG, &meta)
    };
    assert_eq!(
        decode(&cut).err(),
        Some(error(Layer::Link, ErrorKind::Truncated, 12))
    );
    // Cut inside an attribute header (at 12).
    let frame = nflog(2, &v4_udp(4));
    assert_eq!(
        err(NFLOG, &frame[..14]),
        error(Layer::Link, ErrorKind::Truncated, 12)
    );
    // A payload attribute claiming more than the frame: malformed.
    let mut lie = frame.clone();
    lie[20..22].copy_from_slice(&4000u16.to_le_bytes());
    assert_eq!(
        err(NFLOG, &lie),
        error(Layer::Link, ErrorKind::Malformed, 0)
    );
}

#[test]
fn c_hdlc_protocol_field_is_an_ether_type() {
    let hdlc = |protocol: u16| cat(&[&[0x0f, 0x00], &protocol.to_be_bytes()]);
    assert_eq!(
        facts(&ok(C_HDLC, &cat(&[&hdlc(0x0800), &v4_udp(4)]))),
        v4_udp_facts(4)
    );
    assert_eq!(
        facts(&ok(C_HDLC, &cat(&[&hdlc(0x86dd), &v6_udp(4)]))),
        v6_udp_facts(4)
    );
    let mpls = cat(&[&hdlc(0x8847), &label(100, true), &v4_udp(4)]);
    assert_eq!(facts(&ok(C_HDLC, &mpls)), v4_udp_facts(4));
    // SLARP (0x8035) keepalives are not IP.
    let slarp = cat(&[&hdlc(0x8035), &[0; 20]]);
    assert_eq!(err(C_HDLC, &slarp), error(Layer::Link, ErrorKind::NotIp, 4));
    assert_eq!(
        err(C_HDLC, &hdlc(0x0800)[..3]),
        error(Layer::Link, ErrorKind::Truncated, 0)
    );
}
