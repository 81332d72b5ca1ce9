//! IPFIX export from `mirrorflow live` (issue 19), inside network
//! namespaces as tests/live.rs runs them (root, `#[ignore]`d, run by
//! scripts/test.sh): to nfcapd, which must collect every frame sent, and to
//! a closed port, whose send errors the statistics and metrics count.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{
    common::scratch,
    ipfix::{read_nfdump, Daemon},
    live::{live, require_root, samples, scrape, send, udp_frame, Netns},
};

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn live_export_to_nfcapd_carries_every_frame_sent() {
    require_root();
    let dir = scratch("ipfix-live-nfcapd");
    let ns = Netns::new("ipfix-nfcapd");
    ns.veth_pair();
    let (daemon, flows) = Daemon::nfcapd(&dir, (Some(ns.name()), 4739));
    let stats = dir.join("stats.json");
    let mut capture = live(
        &ns,
        &[
            "-i",
            "veth1",
            "-f",
            "ipfix",
            "-o",
            "udp://127.0.0.1:4739",
            "--stats",
            stats.to_str().unwrap(),
        ],
    );
    // Two flows: 300 frames of 128-byte IP datagrams, 200 of 228.
    send(&ns, "veth0", &udp_frame(5004, 100), 300);
    send(&ns, "veth0", &udp_frame(5005, 200), 200);
    capture.signal("TERM");
    let (status, _) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());
    assert_eq!(daemon.stop("-TERM"), 0, "nfcapd's socket dropped datagrams");
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let n = |k: &str| stats[k].as_u64().unwrap();
    assert_eq!(n("ipfix_send_errors"), 0, "{stats}");
    assert_eq!(n("ipfix_records_sent"), n("records_written"), "{stats}");
    // Per source port: packets and bytes over every record nfdump shows.
    let mut totals = std::collections::BTreeMap::new();
    let counts = read_nfdump(&flows);
    for (flow, (packets, bytes)) in &counts {
        assert_eq!(flow.src.to_string(), "192.0.2.1");
        assert_eq!((flow.dst_port, flow.proto), (9, 17));
        let t = totals.entry(flow.src_port).or_insert((0, 0));
        t.0 += packets;
        t.1 += bytes;
    }
    assert_eq!(
        totals.into_iter().collect::<Vec<_>>(),
        vec![(5004, (300, 300 * 128)), (5005, (200, 200 * 228))]
    );
    assert_eq!(counts.len() as u64, n("records_written"), "{counts:?}");
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn live_export_to_a_closed_port_counts_send_errors_and_runs_on() {
    require_root();
    let dir = scratch("ipfix-live");
    let ns = Netns::new("ipfix");
    ns.veth_pair();
    let stats = dir.join("stats.json");
    // Nothing listens on 127.0.0.1:4739 in the namespace: the kernel
    // answers each datagram with port unreachable.
    let mut capture = live(
        &ns,
        &[
            "-i",
            "veth1",
            "--interval",
            "1",
            "--lateness",
            "0",
            "-f",
            "ipfix",
            "-o",
            "udp://127.0.0.1:4739",
            "--metrics",
            "127.0.0.1:9750",
            "--stats",
            stats.to_str().unwrap(),
        ],
    );
    // Each round of frames closes in its own interval, so each is a message.
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        send(&ns, "veth0", &udp_frame(5004, 100), 10);
        std::thread::sleep(Duration::from_millis(1500));
        let metrics = samples(&scrape(&ns, "/metrics").1);
        if metrics.get("mirrorflow_ipfix_send_errors_total") >= Some(&2.0) {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no send errors: {metrics:?}");
    };
    assert!(
        metrics["mirrorflow_ipfix_records_lost_total"] >= 1.0,
        "{metrics:?}"
    );
    capture.signal("TERM");
    let (status, _) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let n = |k: &str| stats[k].as_u64().unwrap();
    assert!(n("ipfix_send_errors") >= 2, "{stats}");
    assert_eq!(
        n("ipfix_records_sent") + n("ipfix_records_lost"),
        n("records_written"),
        "{stats}"
    );
}
