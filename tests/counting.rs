//! Issue 15: count what the packet shows. Each test replays a capture made
//! for the class it covers (the command that made it is in
//! tests/fixtures/README.md) and compares every record with the expectation
//! tshark gave (tests/fixtures/make_expected.sh).

use crate::{
    common::{fixture, mirrorflow},
    replay::{check, check_stats},
};

/// Class 1: a transport header cut by the snaplen after its ports counts.
/// The SMTP capture cut at 74 bytes loses the TCP options of its SYN and
/// SYN-ACK; the VXLAN capture cut at 90 keeps only the inner ports and two
/// bytes of the sequence number. Both give the uncut capture's packets,
/// bytes and times (their expectations differ from the uncut ones only in
/// payload_bytes where the data offset was cut).
#[test]
fn issue_15_transport_header_cut_after_the_ports_counts() {
    // Every frame is counted: packets_counted = frames (checked by `check`).
    check("zeek-ipv6-tcp-smtp-snap74.pcap", 17);
    check("zeek-vxlan-encapsulated-http-snap90.pcap", 12);
}

/// Class 2: BIG TCP through a VXLAN device, outer and inner IPv4 Total
/// Length 0 (tcpdump's test capture): the lengths are the frame's, the inner
/// flow counts (expectation by hand, tests/fixtures/README.md).
#[test]
fn issue_15_big_tcp_zero_lengths_are_the_frames() {
    check("tcpdump-bigtcp-ipv4-vxlan-ipv4.pcap", 1);
}

/// Class 3: AH walked in IPv4 and IPv6 (the flows are TCP and UDP with
/// ports), the IPv6 Mobility header an upper layer (protocol 135).
#[test]
fn issue_15_ah_is_walked_and_mobility_is_protocol_135() {
    check("issue15-ah-mobility.pcapng", 4);
}

/// Class 4: tunnels that do not decode (GRE keepalive, Cisco MetaData, WCCP,
/// Aruba; UDP to 6081 that is not Geneve or carries another protocol type;
/// VXLAN without the I flag) count as the flow of the IP header carrying
/// them, under "tunnel not peeled" by reason.
#[test]
fn issue_15_tunnels_that_do_not_decode_are_their_outer_flows() {
    check_stats(
        "issue15-not-peeled.pcapng",
        7,
        &[
            ("tunnel_not_peeled/gre_protocol", 4),
            ("tunnel_not_peeled/geneve_header", 1),
            ("tunnel_not_peeled/geneve_protocol", 1),
            ("tunnel_not_peeled/vxlan_no_i_flag", 1),
        ],
    );
}

/// Class 7: a pcapng interface of a link type mirrorflow does not decode
/// (147, USER0, beside an Ethernet one): its packets are skipped, counted
/// as `unsupported_link`, and one warning names the interface and the type.
#[test]
fn issue_15_unknown_link_type_in_a_pcapng_warns_once_and_counts() {
    check_stats(
        "issue15-unknown-link.pcapng",
        6,
        &[("unsupported_link", 2), ("non_ip", 0)],
    );
    let path = fixture("issue15-unknown-link.pcapng");
    let out = mirrorflow(&["replay", path.to_str().unwrap()]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = "interface 1 has link type 147, which mirrorflow does not decode";
    assert_eq!(stderr.matches(warning).count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("unsupported link type").count(),
        1,
        "{stderr}"
    );
}

/// Class 5, link types: 802.11 behind radiotap (with and without an FCS, a
/// TSO packet whose length is the frame's less the FCS), behind PPI and
/// bare; protected, management, control and body-less data frames are
/// non-IP. Hand-built, expectations from tshark.
#[test]
fn issue_15_80211_link_types_decode_their_data_frames() {
    check_stats("issue15-radiotap.pcapng", 7, &[("non_ip", 3)]);
    check_stats("issue15-ppi.pcapng", 3, &[("non_ip", 1)]);
    check_stats("issue15-wifi.pcapng", 5, &[("non_ip", 2)]);
}

/// Class 5, link types: NFLOG, hand-built (IPv4, IPv6, a TSO packet whose
/// length is its payload attribute's, a record without payload) and a real
/// capture of `dumpcap -i nflog:7` in a network namespace; Cisco HDLC
/// (IPv4, IPv6, MPLS, SLARP non-IP).
#[test]
fn issue_15_nflog_and_cisco_hdlc_link_types() {
    check_stats("issue15-nflog.pcapng", 4, &[("non_ip", 1)]);
    check_stats("issue15-nflog-live.pcapng", 9, &[("non_ip", 0)]);
    check_stats("issue15-chdlc.pcapng", 4, &[("non_ip", 1)]);
}

/// Class 6: the tags and wrappers data-centre mirrors leave on frames (PBB,
/// VN-Tag, E-tag, Arista 64- and 48-bit timestamps, NSH carrying IPv4 and
/// Ethernet, MACsec without encryption, FabricPath) are skipped; encrypted
/// MACsec is non-IP. (MACsec with a zero IPv4 length is tested by hand in
/// capture's decode tests: tshark 4.0.17 counts the ICV there.)
#[test]
fn issue_15_data_centre_tags_are_skipped() {
    check_stats("issue15-tags.pcapng", 10, &[("non_ip", 1)]);
}
