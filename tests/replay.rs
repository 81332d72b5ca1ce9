//! Every record of each fixture equals the tshark-derived expectation
//! (tests/fixtures/make_expected.sh): packets, bytes, payload, first and last time.

use crate::common::{by_key, expected, fixture, mirrorflow, parse_records, scratch};

pub(crate) fn check(capture: &str, frames: u64) {
    check_stats(capture, frames, &[]);
}

/// Like [`check`], and the run statistics named hold the values given (from
/// tests/fixtures/README.md's per-file table of frames in no record).
pub(crate) fn check_stats(capture: &str, frames: u64, stats_want: &[(&str, u64)]) {
    let dir = scratch(&format!("replay-{capture}"));
    let (out, stats) = crate::common::replay_with_stats(&dir, &fixture(capture), &[]);
    assert!(
        out.status.success(),
        "{capture}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = parse_records(&out.stdout);
    let got = by_key(&records);
    let want = expected(capture);
    for (key, counts) in &want {
        assert_eq!(got.get(key), Some(counts), "{capture}: record {key:?}");
    }
    for key in got.keys() {
        assert!(
            want.contains_key(key),
            "{capture}: unexpected record {key:?}"
        );
    }
    assert_eq!(stats["packets_read"], frames, "{capture}: packets read");
    let counted: u64 = want.values().map(|c| c.packets).sum();
    assert_eq!(
        stats["packets_counted"], counted,
        "{capture}: packets counted"
    );
    assert_eq!(stats["records_written"], records.len() as u64);
    for (name, value) in stats_want {
        let got = name.split('/').fold(&stats, |v, part| &v[part]);
        assert_eq!(got, value, "{capture}: statistic {name}");
    }
}

#[test]
fn linux_sll_nanosecond_pcap() {
    check("tcpdump-sll-nano-tcp-handshake.pcap", 3);
}

#[test]
fn linux_sll2_with_icmp_and_arp() {
    check("zeek-linux-sll2.pcap", 6);
}

#[test]
fn raw_ipv4_and_ipv6_link_types() {
    check("tcpdump-linktype-raw-ipv4.pcap", 1);
    check("tcpdump-linktype-ipv4.pcap", 1);
    check("tcpdump-linktype-ipv6.pcap", 1);
}

#[test]
fn null_loopback() {
    check("tcpdump-null-quic-handshake.pcap", 18);
}

#[test]
fn snaplen_truncated_payload_counts_declared_length() {
    check("tcpdump-malformed-null-quic-caplen-lt-len.pcap", 18);
}

#[test]
fn pcapng_with_two_interfaces_and_resolutions() {
    check("zeek-pcapng-multi-interface.pcapng", 6);
}

#[test]
fn pcapng_with_mixed_link_types_both_byte_orders() {
    check("pcapngtest-le-multi-linktype.pcapng", 5);
    check("pcapngtest-be-multi-linktype.pcapng", 5);
}

#[test]
fn vlan_stacks_and_qinq() {
    check("zeek-vlan-qinqinq.pcap", 14);
    check("tcpdump-qinq-802.1ad.pcap", 2);
}

#[test]
fn mpls_over_ethernet_and_ppp() {
    check("zeek-mixed-vlan-mpls.pcap", 47);
    check("tcpdump-mpls-traceroute.pcap", 18);
}

#[test]
fn ipv6_routing_header() {
    check("tcpdump-ipv6-routing-header.pcap", 4);
}

#[test]
fn ipv4_and_ipv6_fragments_join_their_first_fragment() {
    check("zeek-ipv4-fragmented.pcap", 5);
    check("zeek-ipv6-fragmented-dns.pcap", 8);
}

#[test]
fn ipv6_tcp_and_sctp() {
    check("zeek-ipv6-tcp-smtp.pcap", 17);
    check("zeek-sctp.pcap", 74);
}

#[test]
fn big_endian_pcap_with_gre_version_1() {
    check("tcpdump-bigendian-pptp-gre.pcap", 23);
}

#[test]
fn realistic_app_trace() {
    check("ndpi-alexa-app.pcapng", 3103);
}

#[test]
fn syn_scan_many_flows() {
    check("ndpi-synscan.pcap", 2011);
}

#[test]
fn a_folder_replays_like_its_files_in_time_order() {
    let dir = scratch("folder");
    // Named against their time order, so reading by name would be wrong.
    std::fs::copy(fixture("zeek-ipv4-fragmented.pcap"), dir.join("b.pcap")).unwrap();
    std::fs::copy(
        fixture("tcpdump-sll-nano-tcp-handshake.pcap"),
        dir.join("a.pcap"),
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not a capture").unwrap();
    let out = mirrorflow(&["replay", "-q", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = parse_records(&out.stdout);
    let mut want = crate::common::expected("zeek-ipv4-fragmented.pcap");
    want.extend(crate::common::expected(
        "tcpdump-sll-nano-tcp-handshake.pcap",
    ));
    assert_eq!(by_key(&records), want);
    // 2000 (fragments) comes before 2014 (handshake): no record is late.
    let first = records[0]["interval_start"].as_str().unwrap();
    assert!(first.starts_with("2000-"), "{first}");
}

#[test]
fn stdin_replays_like_the_file() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(["replay", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(fixture("zeek-ipv6-tcp-smtp.pcap")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        by_key(&parse_records(&out.stdout)),
        expected("zeek-ipv6-tcp-smtp.pcap")
    );
}

#[test]
fn record_fields_follow_the_spec_names() {
    // One TCP record of the SLL handshake, checked field by field by hand:
    // SYN 131.155.215.69:46656 → 137.116.81.94:80 at 1418145369.924505488,
    // IPv4 total length 60, TCP header 40, flags SYN (0x02); the
    // connection's first segment, so not a retransmission, and no round
    // trip of this direction completes in the capture (docs/record.md, "TCP").
    let records = crate::common::replay(&[fixture("tcpdump-sll-nano-tcp-handshake.pcap")
        .to_str()
        .unwrap()]);
    let want = serde_json::json!({
        "connection": {"src_ip": "131.155.215.69", "src_port": 46656, "dest_ip": "137.116.81.94", "dest_port": 80, "protocol": 6},
        "start_time": "2014-12-09T17:16:09.924505488Z",
        "end_time": "2014-12-09T17:16:09.924505488Z",
        "interval_start": "2014-12-09T17:16:05.000000000Z",
        "interval_secs": 5,
        "bytes_sent": 60,
        "payload_bytes": 0,
        "packets_sent": 1,
        "tcp_flags": 2,
        "mirror": {"interface": 0},
        "retransmitted_packets": 0,
        "sampling": {"flow_rate": 1.0, "packet_rate": 1.0}
    });
    assert_eq!(records[0], want);
}

#[test]
fn output_is_byte_identical_for_any_thread_count() {
    let captures = crate::common::fixture_captures();
    assert!(captures.len() >= 20);
    for capture in &captures {
        let capture = capture.to_str().unwrap();
        // Short intervals and lateness so that closings and late records happen.
        let run = |threads: &str| {
            mirrorflow(&[
                "replay",
                "-q",
                "--threads",
                threads,
                "--interval",
                "1",
                "--lateness",
                "0",
                capture,
            ])
        };
        let one = run("1");
        for threads in ["2", "4", "7"] {
            let many = run(threads);
            assert_eq!(one.status.code(), many.status.code(), "{capture}");
            assert!(
                one.stdout == many.stdout,
                "{capture}: --threads 1 and {threads} differ"
            );
        }
    }
}

#[test]
fn vxlan_captures_key_the_inner_flows_on_their_vni() {
    check_stats("tcpdump-vxlan.pcap", 10, &[("non_ip", 2)]);
    check("zeek-vxlan-encapsulated-http.pcap", 12);
    check("ndpi-vxlan.pcap", 127);
}

#[test]
fn geneve_capture_with_options() {
    check("tcpdump-geneve.pcap", 39);
}

#[test]
fn erspan_types_one_two_three() {
    check_stats("tcpdump-erspan-type-i.pcap", 119, &[("non_ip", 7)]);
    check_stats("tcpdump-erspan-type-ii.pcap", 108, &[("non_ip", 108)]);
    check("tcpdump-erspan-type-iii-ft0.pcap", 9);
    check("zeek-gre-erspan3-dot1q.pcap", 2);
}

#[test]
fn gre_captures_including_outer_fragments_and_unknown_payloads() {
    check("zeek-gre-sample.pcap", 40);
    check_stats(
        "zeek-gre-teb-outer-fragments.pcap",
        287,
        &[("non_ip", 10), ("tunnel_fragment_continuations", 39)],
    );
    check_stats(
        "tcpdump-various-gre.pcap",
        100,
        // Issue 15: its 30 GRE packets carrying Cisco MetaData, CDP and
        // keepalives were "unknown encapsulation"; they are outer GRE flows.
        &[("non_ip", 70), ("tunnel_not_peeled/gre_protocol", 30)],
    );
}
