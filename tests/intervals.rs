//! Intervals on packet time: boundaries, lateness, interval length.
//! Expectations are hand-computed from the packets each test builds.

use serde_json::Value;

use crate::common::{udp4, RAW};

const S: u64 = 1_000_000; // µs per second in the pcap helper

/// Replays one UDP flow (10.0.0.1:1000 → 10.0.0.2:53, 28 + 100 bytes a
/// packet) sent at the given times, with extra flags.
fn run(test: &str, times_us: &[u64], flags: &[&str]) -> (Vec<Value>, Value) {
    let packets: Vec<_> = times_us
        .iter()
        .map(|&t| (t, udp4([10, 0, 0, 1], [10, 0, 0, 2], 1000, 53, 100)))
        .collect();
    crate::common::replay_packets(test, RAW, &packets, flags)
}

fn summary(records: &[Value]) -> Vec<(String, u64, String, String)> {
    records
        .iter()
        .map(|r| {
            (
                r["interval_start"].as_str().unwrap().to_string(),
                r["packets_sent"].as_u64().unwrap(),
                r["start_time"].as_str().unwrap().to_string(),
                r["end_time"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn t(s: &str) -> String {
    format!("1970-01-01T00:00:{s}Z")
}

#[test]
fn packets_on_both_sides_of_a_boundary_and_exactly_on_it() {
    let (records, _) = run("boundary", &[5 * S - 1, 5 * S, 10 * S - 1], &[]);
    assert_eq!(
        summary(&records),
        vec![
            (t("00.000000000"), 1, t("04.999999000"), t("04.999999000")),
            (t("05.000000000"), 2, t("05.000000000"), t("09.999999000")),
        ]
    );
    assert!(records.iter().all(|r| r["interval_secs"] == 5
        && r["bytes_sent"].as_u64() == Some(128 * r["packets_sent"].as_u64().unwrap())));
}

#[test]
fn out_of_order_within_lateness_joins_its_interval() {
    // Watermark 5.5 s < 5 s end + 1 s lateness: [0,5) is still open for 4.8 s.
    let (records, stats) = run("within", &[S, 5 * S + S / 2, 4 * S + 8 * S / 10], &[]);
    assert_eq!(
        summary(&records),
        vec![
            (t("00.000000000"), 2, t("01.000000000"), t("04.800000000")),
            (t("05.000000000"), 1, t("05.500000000"), t("05.500000000")),
        ]
    );
    assert_eq!(stats["late_packets"], 0);
}

#[test]
fn out_of_order_beyond_lateness_goes_in_an_extra_record() {
    // 6.5 s closes [0,5) (end 5 s + lateness 1 s <= 6.5 s); 4.0 s then is late.
    let (records, stats) = run("beyond", &[S, 6 * S + S / 2, 4 * S], &[]);
    assert_eq!(
        summary(&records),
        vec![
            (t("00.000000000"), 1, t("01.000000000"), t("01.000000000")),
            (t("05.000000000"), 1, t("06.500000000"), t("06.500000000")),
            (t("00.000000000"), 1, t("04.000000000"), t("04.000000000")),
        ]
    );
    assert_eq!(stats["late_packets"], 1);
    assert_eq!(stats["packets_counted"], 3);
}

#[test]
fn a_watermark_exactly_at_end_plus_lateness_closes_the_interval() {
    let (records, stats) = run("exact-close", &[S, 6 * S, 4 * S], &[]);
    assert_eq!(records.len(), 3);
    assert_eq!(stats["late_packets"], 1);
    // With --lateness 2 the same packets are all on time.
    let (records, stats) = run("lateness-2", &[S, 6 * S, 4 * S], &["--lateness", "2"]);
    assert_eq!(records.len(), 2);
    assert_eq!(stats["late_packets"], 0);
}

#[test]
fn interval_60_groups_a_minute() {
    let (records, _) = run("sixty", &[0, 59 * S, 61 * S], &["--interval", "60"]);
    assert_eq!(
        summary(&records),
        vec![
            (t("00.000000000"), 2, t("00.000000000"), t("59.000000000")),
            (
                "1970-01-01T00:01:00.000000000Z".into(),
                1,
                "1970-01-01T00:01:01.000000000Z".into(),
                "1970-01-01T00:01:01.000000000Z".into()
            ),
        ]
    );
    assert!(records.iter().all(|r| r["interval_secs"] == 60));
}
