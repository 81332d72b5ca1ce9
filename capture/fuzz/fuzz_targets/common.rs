//! What each fuzz target checks, shared by the libFuzzer targets in this folder
//! and by the stable replay test `capture/tests/fuzz_corpus.rs` (which
//! includes this file with `#[path]`), so that the seeds and saved crash
//! inputs run through exactly the same code on every `cargo test`.
//!
//! Depends only on `capture` and `etherparse` (a dev-dependency of `capture`).
//! Every function takes arbitrary bytes and panics only when the library
//! breaks a promise: a panic inside the library, or a violated invariant.

// Each target binary uses one of these functions; the test uses them all.
#![allow(dead_code)]

use std::io::Cursor;

use capture::{
    decode::{decode, decode_with, Decap, DecodeConfig, Decoded, IpView},
    source::CaptureReader,
    ErrorKind, LinkType, RawPacket, Timestamp,
};
use etherparse::{IpNumber, LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};

/// The link types the `decode` target picks from: every supported one, plus
/// one that is not (147, LINKTYPE_USER0).
pub const LINK_TYPES: [u16; 18] = [
    0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 127, 192, 228, 229, 239, 276, 147,
];

/// An unsupported link type, as the last entry of [`LINK_TYPES`].
pub const UNSUPPORTED_LINK: u16 = 147;

/// Maps the two selector bytes to a link type. A big-endian value that is in
/// [`LINK_TYPES`] is taken as is (so a seed reads as "link type, frame"); any
/// other value picks an entry by its remainder.
pub fn link_for(selector: [u8; 2]) -> LinkType {
    let value = u16::from_be_bytes(selector);
    if LINK_TYPES.contains(&value) {
        LinkType(value)
    } else {
        LinkType(LINK_TYPES[usize::from(value) % LINK_TYPES.len()])
    }
}

/// A packet as a source would lend it, for `frame` on `link`.
fn packet(link: LinkType, frame: &[u8]) -> RawPacket<'_> {
    RawPacket {
        ts: Timestamp(0),
        link,
        interface: 0,
        orig_len: u32::try_from(frame.len()).unwrap_or(u32::MAX),
        data: frame,
    }
}

/// What must hold for every successfully decoded packet.
pub fn check_decoded(decoded: &Decoded<'_>, frame: &[u8]) {
    assert!(
        decoded.ip_len >= decoded.ip_header_len,
        "ip_len {} < ip_header_len {}",
        decoded.ip_len,
        decoded.ip_header_len
    );
    assert!(
        decoded.payload_len() <= decoded.ip_len,
        "payload_len {} > ip_len {}",
        decoded.payload_len(),
        decoded.ip_len
    );
    // The IP header (options, extension headers) was read from captured bytes.
    assert!(
        decoded.ip_header_len as usize <= frame.len(),
        "ip_header_len {} > frame length {}",
        decoded.ip_header_len,
        frame.len()
    );
    // docs/record.md, "Counting": a transport header that does not fit in the declared
    // datagram is malformed, so a decoded one always fits (payload_len's
    // saturating subtraction would otherwise hide it).
    let headers = u64::from(decoded.ip_header_len) + u64::from(decoded.transport.header_len());
    assert!(
        headers <= u64::from(decoded.ip_len),
        "ip header {} + transport header {} > ip_len {}",
        decoded.ip_header_len,
        decoded.transport.header_len(),
        decoded.ip_len
    );
    // The captured IP payload ends at the declared length.
    let declared_payload = decoded.ip_len - decoded.ip_header_len;
    assert!(
        decoded.ip_payload.len() <= declared_payload as usize,
        "ip_payload of {} bytes > declared {declared_payload}",
        decoded.ip_payload.len()
    );
    // Touch the remaining accessors (they must not panic either).
    let _ = decoded.transport_header();
    let _ = decoded.transport.ports();
    let _ = decoded.transport.tcp_flags();
}

/// The `--decap` settings besides the default: `none` (tunnels stay outer
/// flows) and `deep` (IP-in-IP peeled too) with Linux's VXLAN port 8472.
fn other_configs() -> [DecodeConfig; 2] {
    [
        DecodeConfig::new(Decap::None, &[]).expect("one VXLAN port"),
        DecodeConfig::new(Decap::Deep, &[8472]).expect("two VXLAN ports"),
    ]
}

/// Checks one decode result of `frame` on `link`.
fn check_result(link: LinkType, frame: &[u8], result: &Result<Decoded<'_>, capture::DecodeError>) {
    match result {
        Ok(decoded) => check_decoded(decoded, frame),
        Err(e) => {
            if !link.is_supported() {
                assert_eq!(e.kind, ErrorKind::UnsupportedLink, "link {link}: {e}");
            }
            // Offsets name a place inside the frame (or just past its end,
            // for a header that is missing entirely).
            assert!(
                e.offset <= frame.len(),
                "error offset {} past frame length {}: {e}",
                e.offset,
                frame.len()
            );
        }
    }
}

/// Target `decode`: the first 2 bytes pick a link type, the rest is the frame,
/// decoded with the default settings (mirror tunnels peeled) and with
/// `--decap none` and `--decap deep`.
pub fn decode_frame(data: &[u8]) {
    let Some((selector, frame)) = data.split_first_chunk::<2>() else {
        return;
    };
    let link = link_for(*selector);
    let raw = packet(link, frame);
    check_result(link, frame, &decode(&raw));
    let [none, deep] = other_configs();
    let kept = decode_with(&raw, &none);
    check_result(link, frame, &kept);
    if let Ok(decoded) = &kept {
        assert_eq!(decoded.mirror, None, "--decap none removed a tunnel");
    }
    check_result(link, frame, &decode_with(&raw, &deep));
}

/// Decompressed bytes of a compressed input walked at most: a few bytes of
/// zstd can stand for gigabytes, which would only make the run slow.
const MAX_DECOMPRESSED: u64 = 16 << 20;

/// Target `read_capture`: the whole input as a pcap/pcapng file; every packet
/// is decoded. Must end, and must stay ended after the end or an error.
pub fn read_capture(data: &[u8]) {
    let Ok(mut reader) =
        CaptureReader::from_reader(Box::new(Cursor::new(data.to_vec())), "fuzz".into())
    else {
        return;
    };
    // A compressed input's capture is its decompressed stream: bounds are
    // against that, and a bomb is walked only so far.
    let compressed = reader.compression().is_some();
    let file_len = if compressed {
        u64::MAX
    } else {
        data.len() as u64
    };
    // Every packet record or block takes at least 12 bytes of the file
    // (source/file.rs contract), so this many packets means a loop.
    let max_packets = data.len() / 12 + 1;
    let mut packets = 0usize;
    // Stops at the clean end (`Ok(None)`) or the first error alike.
    while let Ok(Some(packet)) = reader.next_packet() {
        packets += 1;
        assert!(
            compressed || packets <= max_packets,
            "more than {max_packets} packets from {} bytes",
            data.len()
        );
        assert!(
            packet.data.len() as u64 <= file_len,
            "packet longer than the file"
        );
        if let Ok(decoded) = decode(&packet) {
            check_decoded(&decoded, packet.data);
        }
        if compressed && reader.bytes_consumed() > MAX_DECOMPRESSED {
            return;
        }
    }
    assert!(
        reader.bytes_consumed() <= file_len,
        "bytes_consumed {} > file length {}",
        reader.bytes_consumed(),
        data.len()
    );
    // After the end or the first error, nothing more is lent.
    assert!(
        matches!(reader.next_packet(), Ok(None)),
        "next_packet after the end returned something"
    );
}

/// Facts both parsers report for a packet: (src, dst, protocol, ports, ip_len).
type Facts = (Vec<u8>, Vec<u8>, u8, (u16, u16), u32);

/// What etherparse read, and where in the frame.
struct Theirs {
    facts: Facts,
    /// Offset of the IP header in the frame.
    ip_at: usize,
    /// Offset of the TCP/UDP payload in the frame: everything before it
    /// etherparse has read and accepted.
    payload_at: usize,
}

/// Offset of `part` (a subslice of `frame`) in `frame`.
fn offset_in(frame: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - frame.as_ptr() as usize
}

/// What etherparse sees, when it sees a packet both parsers clearly read the
/// same way: Ethernet II, at most 2 VLAN tags (no MACsec), IPv4 without AH or
/// IPv6 without extension headers, not a fragment, a complete TCP or UDP
/// header. `None` for everything else (MPLS, PPPoE, LLC/SNAP, ARP… stop
/// etherparse before IP, and are left out that way).
fn etherparse_view(frame: &[u8]) -> Option<Theirs> {
    let sliced = SlicedPacket::from_ethernet(frame).ok()?;
    if sliced.link_exts.len() > 2
        || sliced
            .link_exts
            .iter()
            .any(|e| !matches!(e, LinkExtSlice::Vlan(_)))
    {
        return None;
    }
    let (src, dst, proto, ip_len, ip_at) = match sliced.net.as_ref()? {
        NetSlice::Ipv4(v4) => {
            let h = v4.header();
            if !v4.extensions().is_empty() || v4.is_payload_fragmented() {
                return None;
            }
            (
                h.source().to_vec(),
                h.destination().to_vec(),
                h.protocol(),
                u32::from(h.total_len()),
                offset_in(frame, h.slice()),
            )
        }
        NetSlice::Ipv6(v6) => {
            let h = v6.header();
            // Payload Length 0 means a Jumbo Payload option (RFC 2675), which
            // only a Hop-by-Hop header can carry; without extension headers
            // it is malformed (docs/record.md, "Counting"), while etherparse takes the
            // rest of the slice. Not a case both read the same way.
            if !v6.extensions().is_empty() || v6.is_payload_fragmented() || h.payload_length() == 0
            {
                return None;
            }
            (
                h.source().to_vec(),
                h.destination().to_vec(),
                h.next_header(),
                u32::from(h.payload_length()) + 40,
                offset_in(frame, h.slice()),
            )
        }
        NetSlice::Arp(_) => return None,
    };
    let (ports, payload_at) = match sliced.transport.as_ref()? {
        TransportSlice::Tcp(tcp) => (
            (tcp.source_port(), tcp.destination_port()),
            offset_in(frame, tcp.payload()),
        ),
        TransportSlice::Udp(udp) => (
            (udp.source_port(), udp.destination_port()),
            offset_in(frame, udp.payload()),
        ),
        _ => return None,
    };
    if proto != IpNumber::TCP && proto != IpNumber::UDP {
        return None;
    }
    Some(Theirs {
        facts: (src, dst, proto.0, ports, ip_len),
        ip_at,
        payload_at,
    })
}

/// Target `differential`: an Ethernet frame; where etherparse reads a plain
/// TCP/UDP packet (see [`etherparse_view`]), our decoder must read the same
/// addresses, protocol, ports and IP length from the same IP header.
///
/// Where our decoder goes further than etherparse can (a mirror tunnel such
/// as VXLAN in that UDP payload, peeled by default), the packets differ by
/// design: then only the inner packet's position is checked, and an error
/// inside the tunnel payload is not a disagreement.
pub fn differential(frame: &[u8]) {
    let ours = decode(&packet(LinkType::ETHERNET, frame));
    if let Ok(decoded) = &ours {
        check_decoded(decoded, frame);
    }
    let Some(theirs) = etherparse_view(frame) else {
        return;
    };
    let decoded = match ours {
        Ok(decoded) => decoded,
        Err(e) if e.offset >= theirs.payload_at => return,
        Err(e) => panic!(
            "etherparse reads {:?} (payload at {}), we fail with {e}",
            theirs.facts, theirs.payload_at
        ),
    };
    let (src, dst, ip_at) = match &decoded.ip {
        IpView::V4(h) => (
            h.source().to_vec(),
            h.destination().to_vec(),
            offset_in(frame, h.slice()),
        ),
        IpView::V6(h) => (
            h.source().to_vec(),
            h.destination().to_vec(),
            offset_in(frame, h.slice()),
        ),
    };
    if ip_at != theirs.ip_at {
        assert!(
            ip_at >= theirs.payload_at,
            "our IP header at {ip_at} is neither etherparse's (at {}) nor inside its payload (from {})",
            theirs.ip_at,
            theirs.payload_at
        );
        return;
    }
    let ours: Facts = (
        src,
        dst,
        decoded.proto.0,
        decoded.transport.ports().unwrap_or_default(),
        decoded.ip_len,
    );
    assert_eq!(
        ours, theirs.facts,
        "ours (left) and etherparse (right) disagree"
    );
}
