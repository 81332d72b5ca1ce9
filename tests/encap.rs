//! Mirror tunnels on generated traces: observation points kept apart,
//! `--decap none`, and `--dedup`. Expectations are computed by hand from the
//! packets each test builds.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{eth_udp4, mirrorflow, pcap, scratch, vxlan_frame, ETHERNET};

const A: ([u8; 4], [u8; 4], u16, u16) = ([10, 1, 1, 1], [10, 2, 2, 2], 1111, 2222);
const B: ([u8; 4], [u8; 4], u16, u16) = ([10, 2, 2, 2], [10, 1, 1, 1], 2222, 1111);

fn inner(flow: ([u8; 4], [u8; 4], u16, u16), payload: usize) -> Vec<u8> {
    eth_udp4(flow.0, flow.1, flow.2, flow.3, payload)
}

fn run(test: &str, packets: &[(u64, Vec<u8>)], flags: &[&str]) -> (Vec<Value>, Value) {
    crate::common::replay_packets(test, ETHERNET, packets, flags)
}

/// (encap, vni, src_ip, src_port) → (packets, bytes), summed over intervals.
fn totals(records: &[Value]) -> BTreeMap<(String, String, String, String), (u64, u64)> {
    let mut map = BTreeMap::new();
    for r in records {
        let key = (
            r["mirror"]["encap"].as_str().unwrap_or("").to_string(),
            r["mirror"]["vni"].to_string(),
            r["connection"]["src_ip"].as_str().unwrap().to_string(),
            r["connection"]["src_port"].to_string(),
        );
        let e = map.entry(key).or_insert((0, 0));
        e.0 += r["packets_sent"].as_u64().unwrap();
        e.1 += r["bytes_sent"].as_u64().unwrap();
    }
    map
}

fn k(encap: &str, vni: &str, src: &str, port: &str) -> (String, String, String, String) {
    (encap.into(), vni.into(), src.into(), port.into())
}

/// 10 exchanges: A sends 100 payload bytes (IP 128), B answers 300 (IP 328);
/// each copy is delivered by two VXLAN sessions (VNI 100 from VTEP .1, VNI
/// 200 from VTEP .3), a millisecond apart.
fn two_sessions() -> Vec<(u64, Vec<u8>)> {
    let mut packets = Vec::new();
    for i in 0..10u64 {
        let t = 1_000_000 + i * 10_000;
        for (dt, flow, size) in [(0, A, 100), (5_000, B, 300)] {
            packets.push((t + dt, vxlan_frame([192, 0, 2, 1], 100, &inner(flow, size))));
            packets.push((
                t + dt + 1_000,
                vxlan_frame([192, 0, 2, 3], 200, &inner(flow, size)),
            ));
        }
    }
    packets
}

#[test]
fn two_vxlan_sessions_give_two_sets_of_records() {
    let (records, _) = run("two-sessions", &two_sessions(), &[]);
    let want = BTreeMap::from([
        (k("vxlan", "100", "10.1.1.1", "1111"), (10, 1280)),
        (k("vxlan", "100", "10.2.2.2", "2222"), (10, 3280)),
        (k("vxlan", "200", "10.1.1.1", "1111"), (10, 1280)),
        (k("vxlan", "200", "10.2.2.2", "2222"), (10, 3280)),
    ]);
    assert_eq!(totals(&records), want);
}

#[test]
fn decap_none_gives_only_the_outer_udp_flows() {
    let (records, _) = run("decap-none", &two_sessions(), &["--decap", "none"]);
    // Outer IP: 20 + UDP 8 + VXLAN 8 + inner frame (14 + 28 + payload).
    let (a, b) = (20 + 8 + 8 + 14 + 28 + 100, 20 + 8 + 8 + 14 + 28 + 300);
    let want = BTreeMap::from([
        (k("", "null", "192.0.2.1", "50000"), (20, 10 * (a + b))),
        (k("", "null", "192.0.2.3", "50000"), (20, 10 * (a + b))),
    ]);
    assert_eq!(totals(&records), want);
    assert!(records.iter().all(|r| r["connection"]["dest_port"] == 4789));
}

/// Every packet of A twice: raw, then in VXLAN `gap_us` later.
fn copies(gap_us: u64) -> Vec<(u64, Vec<u8>)> {
    let mut packets = Vec::new();
    for i in 0..50u64 {
        let t = 2_000_000 + i * 20_000;
        let frame = inner(A, 10 + i as usize);
        packets.push((t + gap_us, vxlan_frame([192, 0, 2, 1], 7, &frame)));
        packets.push((t, frame));
    }
    packets.sort_by_key(|p| p.0);
    packets
}

#[test]
fn dedup_drops_copies_within_the_window_whatever_the_observation_point() {
    // Without copies: 50 packets, IP lengths 38..=87 → 50 * 38 + (0+…+49) = 3125 bytes.
    let (plain, _) = run("dedup-off", &copies(5), &[]);
    let sum =
        |records: &[Value], f: &str| records.iter().map(|r| r[f].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (sum(&plain, "packets_sent"), sum(&plain, "bytes_sent")),
        (100, 6250),
        "without --dedup both copies count"
    );

    let (deduped, stats) = run("dedup-on", &copies(5), &["--dedup", "2ms"]);
    assert_eq!(
        (sum(&deduped, "packets_sent"), sum(&deduped, "bytes_sent")),
        (50, 3125)
    );
    assert_eq!(stats["duplicates_dropped"], 50);
    assert!(
        deduped.iter().all(|r| r["mirror"].get("encap").is_none()),
        "the first (raw) copy is kept"
    );
}

#[test]
fn dedup_counts_copies_outside_the_window_twice() {
    let (records, stats) = run("dedup-outside", &copies(5_000), &["--dedup", "2ms"]);
    assert_eq!(
        records
            .iter()
            .map(|r| r["packets_sent"].as_u64().unwrap())
            .sum::<u64>(),
        100
    );
    assert_eq!(stats["duplicates_dropped"], 0);
}

#[test]
fn a_bad_dedup_window_or_too_many_vxlan_ports_exit_1() {
    let dir = scratch("bad-encap-flags");
    let path = dir.join("t.pcap");
    std::fs::write(&path, pcap(ETHERNET, &two_sessions())).unwrap();
    let path = path.to_str().unwrap();
    for args in [
        vec!["replay", "--dedup", "fast", path],
        vec!["replay", "--dedup", "0ms", path],
        vec!["replay", "--decap", "some", path],
        vec![
            "replay",
            "--vxlan-port",
            "1",
            "--vxlan-port",
            "2",
            "--vxlan-port",
            "3",
            "--vxlan-port",
            "4",
            "--vxlan-port",
            "5",
            "--vxlan-port",
            "6",
            "--vxlan-port",
            "7",
            "--vxlan-port",
            "8",
            path,
        ],
    ] {
        let out = mirrorflow(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
