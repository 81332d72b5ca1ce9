//! Flow sampling (consistent by key hash) and packet sampling (estimates).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{mirrorflow, parse_records, pcap, scratch, udp4, RAW};

/// `flows` UDP flows (distinct source ports), each sending one packet in each
/// of `intervals` 5-second intervals; packet i of a flow carries `size(flow, i)` payload bytes.
fn trace(
    test: &str,
    flows: u16,
    intervals: u64,
    per_interval: u64,
    size: impl Fn(u16, u64) -> usize,
) -> std::path::PathBuf {
    let dir = scratch(test);
    let path = dir.join("t.pcap");
    let mut packets = Vec::new();
    for i in 0..intervals * per_interval {
        let base = (i / per_interval) * 5_000_000 + (i % per_interval) * 1000;
        for f in 0..flows {
            packets.push((
                base + u64::from(f),
                udp4([10, 0, 0, 1], [10, 0, 0, 2], 10_000 + f, 53, size(f, i)),
            ));
        }
    }
    std::fs::write(&path, pcap(RAW, &packets)).unwrap();
    path
}

fn records(path: &std::path::Path, flags: &[&str]) -> Vec<Value> {
    let mut args = vec!["replay", "-q"];
    args.extend_from_slice(flags);
    args.push(path.to_str().unwrap());
    let out = mirrorflow(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_records(&out.stdout)
}

fn kept_per_interval(records: &[Value]) -> BTreeMap<String, BTreeSet<u64>> {
    let mut kept: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for r in records {
        kept.entry(r["interval_start"].as_str().unwrap().to_string())
            .or_default()
            .insert(r["connection"]["src_port"].as_u64().unwrap());
    }
    kept
}

#[test]
fn flow_sampling_keeps_about_half_the_same_flows_every_interval_and_run() {
    let path = trace("flow-sample", 2000, 3, 1, |_, _| 10);
    let a = records(&path, &["--flow-sample", "0.5", "--seed", "7"]);
    let kept = kept_per_interval(&a);
    assert_eq!(kept.len(), 3);
    let first = kept.values().next().unwrap();
    assert!(
        kept.values().all(|k| k == first),
        "the same flows in every interval"
    );
    // Binomial(2000, 0.5): sd ≈ 22.4; allow 5 sd.
    assert!((888..=1112).contains(&first.len()), "kept {}", first.len());
    // Kept flows are counted exactly, and the rate is on every record.
    assert!(a.iter().all(|r| r["packets_sent"] == 1
        && r["bytes_sent"] == 38
        && r["sampling"]["flow_rate"] == 0.5));

    assert_eq!(
        records(&path, &["--flow-sample", "0.5", "--seed", "7"]),
        a,
        "same seed, same records"
    );
    let other = kept_per_interval(&records(&path, &["--flow-sample", "0.5", "--seed", "8"]));
    assert_ne!(
        other.values().next().unwrap(),
        first,
        "another seed, another sample"
    );
}

#[test]
fn packet_sampling_scales_estimates_within_a_derived_bound() {
    // 200 flows × 50 packets, payload 0..=1399 bytes varying by packet.
    let size = |f: u16, i: u64| ((u64::from(f) * 7919 + i * 104_729) % 1400) as usize;
    let path = trace("packet-sample", 200, 5, 10, size);
    let (mut true_packets, mut true_bytes, mut sum_sq) = (0u64, 0u64, 0f64);
    for i in 0..50 {
        for f in 0..200 {
            let ip_len = (28 + size(f, i)) as u64;
            true_packets += 1;
            true_bytes += ip_len;
            sum_sq += (ip_len * ip_len) as f64;
        }
    }
    let n = 10.0;
    let stats = path.with_file_name("stats.json");
    let recs = records(
        &path,
        &[
            "--packet-sample",
            "10",
            "--seed",
            "3",
            "--stats",
            stats.to_str().unwrap(),
        ],
    );
    let est_packets: u64 = recs
        .iter()
        .map(|r| r["packets_sent"].as_u64().unwrap())
        .sum();
    let est_bytes: u64 = recs.iter().map(|r| r["bytes_sent"].as_u64().unwrap()).sum();
    assert!(recs
        .iter()
        .all(|r| r["packets_sent"].as_u64().unwrap() % 10 == 0
            && r["sampling"]["packet_rate"] == 0.1));
    // Each packet is kept with p = 1/N and counted N times: the estimate is
    // unbiased with Var = N² Σ x² p(1-p) = N Σ x² (1 - 1/N); allow 5 sd.
    let sd_packets = (n * true_packets as f64 * (1.0 - 1.0 / n)).sqrt();
    let sd_bytes = (n * sum_sq * (1.0 - 1.0 / n)).sqrt();
    let dp = (est_packets as f64 - true_packets as f64).abs();
    let db = (est_bytes as f64 - true_bytes as f64).abs();
    assert!(
        dp <= 5.0 * sd_packets,
        "packets {est_packets} vs {true_packets} (sd {sd_packets:.0})"
    );
    assert!(
        db <= 5.0 * sd_bytes,
        "bytes {est_bytes} vs {true_bytes} (sd {sd_bytes:.0})"
    );
    // Binomial(10000, 0.9) packets left out: sd 30; allow 5 sd.
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let sampled_out = stats["sampled_out"].as_u64().unwrap();
    assert!(
        (8850..=9150).contains(&sampled_out),
        "sampled out {sampled_out}"
    );
    assert_eq!(stats["packets_counted"].as_u64().unwrap() * 10, est_packets);
    assert_eq!(
        records(&path, &["--packet-sample", "10", "--seed", "3"]),
        recs,
        "reproducible with --seed"
    );
}
