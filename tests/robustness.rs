//! Damaged and hostile inputs: nothing panics or hangs, every packet read is
//! accounted for, and a cut file writes exactly the records before the cut.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use proptest::prelude::*;
use serde_json::Value;

use crate::common::{
    by_key, fixture, mirrorflow, parse_records, pcap, replay_packets, scratch, udp4, ETHERNET, RAW,
};

#[path = "../capture/fuzz/fuzz_targets/replay_check.rs"]
mod replay_check;

fn stats_of(path: &Path, dir: &Path) -> (std::process::Output, Value) {
    crate::common::replay_with_stats(dir, path, &[])
}

/// Captures made for issue 15 (cut, written from hex, or captured on NFLOG),
/// beside the shared corpus.
const ISSUE_15_CAPTURES: usize = 12;
/// Their frames: the cut captures, ah-mobility, not-peeled, unknown-link;
/// radiotap, ppi, wifi, nflog, nflog-live, chdlc, tags.
const ISSUE_15_FRAMES: u64 = 17 + 12 + 4 + 7 + 6 + (7 + 3 + 5 + 4 + 9 + 4 + 10);

/// Every packet read is counted in a record or under exactly one reason.
fn assert_accounted(name: &str, s: &Value) {
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("{name}: no {k} in {s}"))
    };
    let malformed: u64 = s["malformed"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let accounted = n("packets_counted")
        + malformed
        + n("non_ip")
        + n("unsupported_link")
        + n("tunnel_fragment_continuations")
        + n("duplicates_dropped")
        + n("sampled_out")
        + n("observation_points_exhausted");
    assert_eq!(accounted, n("packets_read"), "{name}: {s}");
}

#[test]
fn every_fixture_capture_replays_with_every_packet_accounted_for() {
    let dir = scratch("corpus");
    let captures = crate::common::fixture_captures();
    // All 40 captures of the shared corpus, the malformed ones included,
    // and the ones made for issue 15 (tests/fixtures/README.md).
    assert_eq!(captures.len(), 40 + ISSUE_15_CAPTURES);
    let (mut files, mut packets) = (0, 0);
    for capture in &captures {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let (out, stats) = stats_of(capture, &dir);
        let code = out.status.code();
        // Only the file cut mid-packet is damaged (exit 2); the rest read to their end.
        let want = if name.contains("truncated-midpacket") {
            Some(2)
        } else {
            Some(0)
        };
        assert_eq!(
            code,
            want,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_accounted(&name, &stats);
        files += 1;
        packets += stats["packets_read"].as_u64().unwrap();
    }
    // The frames column of the shared corpus's INDEX.md (capinfos -c) sums
    // to 6,250 over the 40 captures; the cut file's one packet counts. The
    // captures of issue 15 add their frames (README.md's table).
    assert_eq!(
        (files, packets),
        (40 + ISSUE_15_CAPTURES, 6250 + ISSUE_15_FRAMES)
    );
}

/// Byte offsets where each record (pcap) ends, from the headers.
fn pcap_record_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = vec![24];
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
        ends.push(at);
    }
    ends
}

/// Byte offsets where each block (pcapng, little-endian) ends.
fn pcapng_block_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        at += u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        ends.push(at);
    }
    ends
}

fn check_cuts(name: &str, ends: &[usize], first_readable: usize) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let dir = scratch(&format!("cuts-{name}"));
    let last = bytes.len();
    // Every offset is too many process runs for a test suite: a prime stride
    // over the first and last 4 KiB reaches headers, payloads and boundaries.
    let cuts = (first_readable..4096.min(last))
        .step_by(37)
        .chain((last.saturating_sub(4096)..last).step_by(41));
    for cut in cuts {
        let boundary = *ends.iter().filter(|&&e| e <= cut).max().unwrap();
        let damaged = dir.join("damaged.pcap");
        let whole = dir.join("whole.pcap");
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        std::fs::write(&whole, &bytes[..boundary]).unwrap();
        let got = mirrorflow(&["replay", "-q", damaged.to_str().unwrap()]);
        let want = mirrorflow(&["replay", "-q", whole.to_str().unwrap()]);
        assert_eq!(
            want.status.code(),
            Some(0),
            "{name} cut at boundary {boundary}"
        );
        let err = String::from_utf8_lossy(&got.stderr);
        if cut == boundary {
            assert_eq!(got.status.code(), Some(0), "{name} cut at {cut}: {err}");
        } else {
            assert_eq!(got.status.code(), Some(2), "{name} cut at {cut}: {err}");
            assert!(
                err.contains("damaged.pcap") && err.contains(&format!("offset {boundary}")),
                "{name} cut at {cut}: {err}"
            );
        }
        assert!(
            got.stdout == want.stdout,
            "{name} cut at {cut}: records differ from the {boundary}-byte file"
        );
    }
}

#[test]
fn a_pcap_cut_anywhere_writes_the_records_before_the_cut_and_exits_2() {
    let bytes = std::fs::read(fixture("zeek-sctp.pcap")).unwrap();
    check_cuts("zeek-sctp.pcap", &pcap_record_ends(&bytes), 24);
}

#[test]
fn a_pcapng_cut_anywhere_writes_the_records_before_the_cut_and_exits_2() {
    let bytes = std::fs::read(fixture("ndpi-alexa-app.pcapng")).unwrap();
    let ends = pcapng_block_ends(&bytes);
    // The reader needs the section header to open the file at all.
    check_cuts("ndpi-alexa-app.pcapng", &ends, ends[0]);
}

#[test]
fn hostile_headers_are_bounded_and_counted() {
    let dir = scratch("hostile");
    // 65,000 VLAN tags in one 260 KB frame: too deep after 8, counted.
    let mut tags = vec![2u8; 12];
    for _ in 0..65_000 {
        tags.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
    }
    tags.extend_from_slice(&[0x08, 0x00]);
    // GRE in GRE 3,000 deep: too deep after 8 tunnels, counted.
    let mut ip = vec![0u8; 0];
    for _ in 0..3000 {
        let mut gre = vec![0, 0, 0x08, 0x00];
        gre.extend_from_slice(&ip);
        let total = (20 + gre.len()).min(65535) as u16;
        let mut header = vec![0x45, 0];
        header.extend_from_slice(&total.to_be_bytes());
        header.extend_from_slice(&[0, 0, 0, 0, 64, 47, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        header.extend_from_slice(&gre);
        ip = header;
    }
    let mut deep = vec![2u8; 12];
    deep.extend_from_slice(&[0x08, 0x00]);
    deep.extend_from_slice(&ip[..ip.len().min(200_000)]);
    let path = dir.join("hostile.pcap");
    std::fs::write(&path, pcap(ETHERNET, &[(0, tags), (1, deep)])).unwrap();
    let (out, stats) = stats_of(&path, &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stats["malformed"]["vlan.too_deep"], 1);
    assert_eq!(stats["malformed"]["tunnel.too_deep"], 1);
    assert!(parse_records(&out.stdout).is_empty());
    assert_accounted("hostile", &stats);

    // A classic pcap header announcing a 4 GiB snaplen, then a normal packet:
    // the header's snaplen is not trusted for allocation.
    let mut huge = pcap(
        ETHERNET,
        &[(
            0,
            crate::common::eth_udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, 3),
        )],
    );
    huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let path = dir.join("huge-snaplen.pcap");
    std::fs::write(&path, huge).unwrap();
    let (out, stats) = stats_of(&path, &dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stats["packets_counted"], 1);

    // A record claiming 3 GiB: corrupt, named with its offset, exit 2.
    let mut lying = pcap(ETHERNET, &[(0, vec![0; 60])]);
    lying[24 + 8..24 + 12].copy_from_slice(&(3u32 << 30).to_le_bytes());
    let path = dir.join("lying.pcap");
    std::fs::write(&path, lying).unwrap();
    let (out, _) = stats_of(&path, &dir);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lying.pcap") && err.contains("offset 24"),
        "{err}"
    );
}

/// Runs the binary and samples its peak resident set (VmHWM) until it exits.
fn run_measuring_peak_rss(args: &[&str]) -> (std::process::Output, u64) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            if let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:")) {
                let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    (
        std::process::Output {
            status,
            stdout: Vec::new(),
            stderr,
        },
        peak_kb * 1024,
    )
}

#[test]
fn a_flood_of_five_million_flows_stays_within_the_flow_budget() {
    use std::io::Write;
    let dir = scratch("flood");
    let path = dir.join("flood.pcap");
    // 5,000,000 packets of 5,000,000 distinct UDP flows (10.x.y.z:port → 172.16.0.1:53), 1 µs apart.
    let mut file =
        std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&path).unwrap());
    file.write_all(&pcap(ETHERNET, &[])).unwrap();
    let mut frame = crate::common::eth_udp4([10, 0, 0, 0], [172, 16, 0, 1], 0, 53, 0);
    for i in 0..5_000_000u32 {
        frame[27..30].copy_from_slice(&i.to_be_bytes()[1..]);
        frame[34..36].copy_from_slice(&(1024 + (i % 60_000) as u16).to_be_bytes());
        let ts = 1_700_000_000_000_000u64 + u64::from(i);
        let mut record = [0u8; 16];
        record[..4].copy_from_slice(&((ts / 1_000_000) as u32).to_le_bytes());
        record[4..8].copy_from_slice(&((ts % 1_000_000) as u32).to_le_bytes());
        record[8..12].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        record[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
        file.write_all(&record).unwrap();
        file.write_all(&frame).unwrap();
    }
    file.flush().unwrap();
    drop(file);

    let stats = dir.join("stats.json");
    let (out, peak) = run_measuring_peak_rss(&[
        "replay",
        "-q",
        "--max-flows",
        "100000",
        "--stats",
        stats.to_str().unwrap(),
        "-o",
        "/dev/null",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&std::fs::read(stats).unwrap()).unwrap();
    // Every packet in a record: the flows written early are records too.
    assert_eq!(s["packets_counted"], 5_000_000);
    assert_eq!(s["records_written"], 5_000_000);
    assert!(s["partial_records"].as_u64().unwrap() >= 4_800_000, "{s}");
    // The budget: 100,000 flows at under 200 bytes each (the table costs
    // ~88, an eviction's scratch a little more), plus 64 MiB for the
    // program, its buffers and the batches in flight.
    let budget = 100_000 * 200 + (64 << 20);
    assert!(
        peak < budget,
        "peak RSS {peak} bytes over the budget {budget}"
    );
    eprintln!(
        "flood: peak RSS {} MiB for a 100,000-flow budget",
        peak >> 20
    );
}

/// Packets of one run of the property test below, in capture order:
/// (flow, time in ms, payload bytes). Time mostly goes forward; it steps
/// back by up to 2.5 s, so some packets are out of order within the 1 s
/// lateness (some opening an older interval), some beyond it (late).
fn packets_out_of_order() -> impl Strategy<Value = Vec<(u16, u64, usize)>> {
    prop::collection::vec((0u16..12, -2500i64..3000, 0usize..200), 1..120).prop_map(|steps| {
        let mut t: i64 = 1_000_000;
        steps
            .into_iter()
            .map(|(flow, dt_ms, payload)| {
                t = (t + dt_ms).max(0);
                (flow, t as u64, payload)
            })
            .collect()
    })
}

proptest! {
    /// Issue 14: whatever the flow budget (1 to 8 flows, or the default) and
    /// thread count, every packet is in exactly one record: per interval and
    /// flow, the records sum to the packets' counts and IPv4 lengths.
    #[test]
    fn every_packet_in_exactly_one_record_whatever_the_flow_budget(
        packets in packets_out_of_order(),
        max_flows in prop::option::of(1u32..=8),
        threads in 1u32..=3,
        secs in prop::sample::select(vec![1u64, 5]),
    ) {
        let mut model: BTreeMap<(u64, u16), (u64, u64)> = BTreeMap::new();
        let capture: Vec<_> = packets
            .iter()
            .map(|&(flow, ms, payload)| {
                let port = 1000 + flow;
                let e = model.entry((ms / 1000 / secs * secs, port)).or_default();
                *e = (e.0 + 1, e.1 + 20 + 8 + payload as u64);
                (ms * 1000, udp4([10, 0, 0, 1], [10, 0, 0, 9], port, 53, payload))
            })
            .collect();
        let (threads, secs) = (threads.to_string(), secs.to_string());
        let budget = max_flows.map(|n| n.to_string());
        let mut flags = vec!["--threads", &threads, "--interval", &secs];
        if let Some(budget) = &budget {
            flags.extend(["--max-flows", budget]);
        }
        let (records, stats) = replay_packets("budget-property", RAW, &capture, &flags);
        let mut got: BTreeMap<(u64, u16), (u64, u64)> = BTreeMap::new();
        for (key, counts) in by_key(&records) {
            let e = got.entry((key[4].parse().unwrap(), key[6].parse().unwrap())).or_default();
            *e = (e.0 + counts.packets, e.1 + counts.bytes);
        }
        prop_assert_eq!(got, model);
        prop_assert_eq!(&stats["packets_counted"], packets.len());
        let partial = records.iter().filter(|r| r["partial"] == true).count();
        prop_assert_eq!(&stats["partial_records"], partial);
        prop_assert!(partial == 0 || max_flows.is_some());
    }
}

/// The fuzz targets' folder.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("capture/fuzz")
}

/// The files of `dir` whose name starts with `prefix`, sorted.
fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(prefix)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn issue_8_fuzz_crash_inputs_of_the_replay_path_stay_fixed() {
    // Inputs the `replay` fuzz target (capture/fuzz) found crashing, kept as
    // regressions: each must replay to an exit status of 0 or 2, never a
    // panic (the bytes after the capture that choose the target's settings
    // read as a damaged end).
    let saved = files_starting_with(&fuzz_dir().join("regressions"), "replay-");
    assert!(saved.len() >= 2);
    for path in saved {
        let out = mirrorflow(&[
            "replay",
            "-q",
            "--threads",
            "2",
            "--interval",
            "1",
            "--lateness",
            "0",
            "--max-flows",
            "8",
            "--dedup",
            "1us",
            "-o",
            "/dev/null",
            path.to_str().unwrap(),
        ]);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1) | Some(2)),
            "{}: {code:?} {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            path.display()
        );
    }
}

/// The `replay` fuzz target's own checks, with the settings and order its
/// inputs choose, on its seeds (those of `read_capture`) and saved inputs:
/// in process, on the stable toolchain, without libFuzzer.
#[test]
fn the_replay_fuzz_targets_checks_pass_on_its_seeds_and_saved_inputs() {
    let seeds = files_starting_with(&fuzz_dir().join("seeds/read_capture"), "");
    let saved = files_starting_with(&fuzz_dir().join("regressions"), "replay-");
    assert!(seeds.len() >= 5 && saved.len() >= 2);
    let failed: Vec<_> = seeds
        .iter()
        .chain(&saved)
        .filter(|path| {
            let data = std::fs::read(path).unwrap();
            std::panic::catch_unwind(|| replay_check::replay(&data)).is_err()
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}

/// The records a replay of `bytes` writes, in process (the library path the
/// binary runs, on one thread), and the offset of the damage if any.
fn replay_in_process(bytes: &[u8]) -> (Vec<u8>, Option<u64>) {
    use capture::{decode::decode, source::CaptureReader};
    use flowagg::{AggConfig, Aggregator, FlowRecord, LocalShards, ObservationPoints};
    let mut reader = match CaptureReader::from_reader(
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        "cut".into(),
    ) {
        Ok(reader) => reader,
        Err(e) => panic!("{e}"),
    };
    let config = AggConfig::default();
    let points = ObservationPoints::default();
    let mut writer = export::NdjsonWriter::new(Vec::new(), export::RunInfo::default());
    let shards = LocalShards::new(&config, &points, 1, |chunk: &[FlowRecord]| {
        writer.write(chunk).unwrap();
    });
    let mut aggregator = Aggregator::new(&config, points, shards);
    let damage = loop {
        match reader.next_packet() {
            Ok(Some(packet)) => aggregator.packet(&packet, decode(&packet).ok().as_ref()),
            Ok(None) => break None,
            Err(
                capture::Error::Truncated { offset, .. } | capture::Error::Corrupt { offset, .. },
            ) => break Some(offset),
            Err(e) => panic!("{e}"),
        }
    };
    aggregator.finish();
    drop(aggregator);
    (writer.into_inner(), damage)
}

#[test]
fn issue_8_a_capture_cut_at_every_offset_of_its_first_and_last_4_kib() {
    // Every cut point, in process (the binary's exit status and message are
    // checked at a stride by the tests above): the records are exactly those
    // of the file cut at the last whole record, and the damage is reported at
    // that record's offset.
    for (name, ends) in [
        (
            "zeek-sctp.pcap",
            pcap_record_ends(&std::fs::read(fixture("zeek-sctp.pcap")).unwrap()),
        ),
        (
            "ndpi-alexa-app.pcapng",
            pcapng_block_ends(&std::fs::read(fixture("ndpi-alexa-app.pcapng")).unwrap()),
        ),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let last = bytes.len();
        let mut reference = std::collections::HashMap::new();
        // Before the end of the file header (pcap) or section header block
        // (pcapng) it is not a capture yet: an error at open, tested apart.
        for cut in (ends[0]..4096.min(last)).chain(last.saturating_sub(4096)..=last) {
            let boundary = ends.iter().copied().filter(|&e| e <= cut).max().unwrap();
            let want = reference
                .entry(boundary)
                .or_insert_with(|| replay_in_process(&bytes[..boundary]))
                .clone();
            let (got, damage) = replay_in_process(&bytes[..cut]);
            if cut == boundary {
                assert_eq!(damage, None, "{name} cut on a record boundary at {cut}");
            } else {
                assert_eq!(damage, Some(boundary as u64), "{name} cut at {cut}");
            }
            assert!(
                got == want.0,
                "{name} cut at {cut}: records differ from the {boundary}-byte file"
            );
        }
    }
}
