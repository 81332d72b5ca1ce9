//! Regression tests, named after their issue.

use std::{
    fs::File,
    io::{BufWriter, Read},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use capture::{
    decode::{decode_with, DecodeConfig, IpView},
    source::CaptureReader,
    synth::{write_pcap, TraceSpec},
    RawPacket,
};
use serde_json::{json, Value};

use crate::common::{mirrorflow, parse_records, pcap, replay_with_stats, scratch, udp4, RAW};

/// Writes `spec`'s trace as DIR/trace.pcap.
fn generate(dir: &Path, spec: &TraceSpec) -> PathBuf {
    let path = dir.join("trace.pcap");
    let mut file = BufWriter::new(File::create(&path).unwrap());
    write_pcap(spec, &mut file).unwrap();
    drop(file);
    path
}

/// Sum of a counter over records, optionally only those `keep` selects.
fn sum(records: &[Value], field: &str, keep: impl Fn(&Value) -> bool) -> u64 {
    records
        .iter()
        .filter(|r| keep(r))
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

/// Packets the statistics say were read but are in no record.
fn not_counted(stats: &Value) -> u64 {
    let malformed: u64 = stats["malformed"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let others = [
        "non_ip",
        "unsupported_link",
        "tunnel_fragment_continuations",
        "duplicates_dropped",
        "observation_points_exhausted",
        "sampled_out",
    ];
    malformed
        + others
            .iter()
            .map(|k| stats[k].as_u64().unwrap())
            .sum::<u64>()
}

/// Issue 6: the thread count must not change the output, also when tunnels,
/// fragments, tag stacks and late packets are in the trace.
#[test]
fn issue_6_threads_1_and_4_identical_on_a_generated_trace_with_tunnels_and_fragments() {
    let dir = scratch("issue-6-threads");
    // 5 s of packet time; the knobs' periods are coprime, so every mix occurs.
    let spec = TraceSpec {
        packets: 200_000,
        flows: 20_000,
        ip_len: 120,
        rate_pps: 40_000,
        vlan_one_in: 7,
        qinq_one_in: 11,
        mpls_one_in: 13,
        vxlan_one_in: 5,
        fragment_one_in: 17,
        jitter_us: 3_000,
        seed: 6,
        ..TraceSpec::default()
    };
    let trace = generate(&dir, &spec);
    // From the spec alone (capture::synth: knob N picks datagrams n with
    // n % N == N - 1): a fragmented datagram is two packets, which carry two
    // IP headers; a VXLAN datagram that is also fragmented is two VXLAN packets.
    let fragmented = spec.packets / 17;
    let packets = spec.packets + fragmented;
    let bytes = spec.packets * u64::from(spec.ip_len) + fragmented * 20;
    let vxlan_packets = spec.packets / 5 + spec.packets / (5 * 17);

    let mut outputs = Vec::new();
    for threads in ["1", "2", "4"] {
        let flags = ["--threads", threads, "--interval", "1", "--lateness", "0"];
        let (out, stats) = replay_with_stats(&dir, &trace, &flags);
        assert!(
            out.status.success(),
            "--threads {threads}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stats["packets_read"], packets, "--threads {threads}");
        let counted = stats["packets_counted"].as_u64().unwrap();
        assert_eq!(
            counted,
            packets - not_counted(&stats),
            "--threads {threads}"
        );
        assert_eq!(counted, packets, "--threads {threads}: {stats}");
        assert_eq!(stats["unmatched_fragments"], 0, "--threads {threads}");
        // The jitter must have made late records, or the test shows nothing.
        assert!(
            stats["late_packets"].as_u64().unwrap() > 0,
            "--threads {threads}"
        );

        let records = parse_records(&out.stdout);
        assert_eq!(stats["records_written"], records.len() as u64);
        assert_eq!(sum(&records, "packets_sent", |_| true), packets);
        assert_eq!(sum(&records, "bytes_sent", |_| true), bytes);
        let in_vxlan = |r: &Value| r["mirror"]["encap"] == "vxlan";
        assert_eq!(sum(&records, "packets_sent", in_vxlan), vxlan_packets);
        outputs.push((threads, out.stdout));
    }
    let (_, one) = &outputs[0];
    for (threads, many) in &outputs[1..] {
        assert!(one == many, "--threads 1 and {threads} differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `mirrorflow replay` on `trace` with its NDJSON going into a pipe read
/// 64 KiB at a time with 5 ms pauses; requires success and returns the output.
fn replay_into_slow_pipe(dir: &Path, trace: &Path, threads: &str) -> Vec<u8> {
    let stderr = dir.join(format!("stderr-{threads}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(["replay", "-q", "--threads", threads, "--interval", "1"])
        .args(["-o", "-"])
        .arg(trace)
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("run mirrorflow");
    let mut stdout = child.stdout.take().unwrap();
    let mut output = Vec::new();
    let mut chunk = vec![0; 64 << 10];
    loop {
        let n = stdout.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        output.extend_from_slice(&chunk[..n]);
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "--threads {threads}: {status}: {}",
        std::fs::read_to_string(&stderr).unwrap()
    );
    output
}

/// Issue 6: a reader slower than mirrorflow must slow it down (bounded
/// channels), never make it drop or cut records.
#[test]
fn issue_6_a_slow_reader_of_the_output_loses_nothing() {
    let dir = scratch("issue-6-slow-reader");
    // Nearly every packet its own flow, over 8 one-second intervals: tens of
    // megabytes of records, far more than the pipe and the channels hold.
    let spec = TraceSpec {
        packets: 80_000,
        flows: 1_000_000,
        ip_len: 64,
        snaplen: 128,
        rate_pps: 10_000,
        ..TraceSpec::default()
    };
    let trace = generate(&dir, &spec);
    let mut outputs = Vec::new();
    for threads in ["2", "1"] {
        let output = replay_into_slow_pipe(&dir, &trace, threads);
        assert!(output.len() > 16 << 20, "{} bytes", output.len());
        assert_eq!(output.last(), Some(&b'\n'));
        let records = parse_records(&output);
        assert_eq!(
            sum(&records, "packets_sent", |_| true),
            spec.packets,
            "--threads {threads}"
        );
        outputs.push(output);
    }
    assert!(outputs[0] == outputs[1], "--threads 2 and 1 differ");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Copies the records of the classic pcap `trace` into one file per
/// `part(index, packet)`, each with the trace's file header.
fn split(trace: &Path, parts: &[PathBuf], part: impl Fn(usize, &RawPacket<'_>) -> usize) {
    let bytes = std::fs::read(trace).unwrap();
    let mut outs: Vec<Vec<u8>> = vec![bytes[..24].to_vec(); parts.len()];
    let mut reader = CaptureReader::open(trace).unwrap();
    let (mut at, mut index) = (24, 0);
    while let Some(packet) = reader.next_packet().unwrap() {
        let end = at + 16 + packet.data.len();
        outs[part(index, &packet)].extend_from_slice(&bytes[at..end]);
        (at, index) = (end, index + 1);
    }
    assert_eq!(at, bytes.len(), "every record copied");
    for (path, out) in parts.iter().zip(outs) {
        std::fs::write(path, out).unwrap();
    }
}

#[test]
fn issue_6_captures_of_the_same_time_merge_into_the_records_of_one() {
    let dir = scratch("issue-6-merge");
    // No jitter: in one capture no packet is late, so a late packet below
    // can only come from reading the parts out of time order.
    let spec = TraceSpec {
        packets: 150_000,
        flows: 5_000,
        ip_len: 120,
        rate_pps: 30_000,
        vlan_one_in: 7,
        vxlan_one_in: 5,
        fragment_one_in: 17,
        seed: 66,
        ..TraceSpec::default()
    };
    let trace = generate(&dir, &spec);
    let flags = ["--interval", "1", "--lateness", "0"];
    let (whole, stats) = replay_with_stats(&dir, &trace, &flags);
    assert!(whole.status.success());
    assert_eq!(stats["late_packets"], 0);
    assert_eq!(stats["packets_read"], spec.packets + spec.packets / 17);

    // Two mirrors of the same 5 s, each seeing half the flows (split on the
    // innermost source address, so a datagram's fragments stay together),
    // named and given against their time order; and the trace cut into
    // three consecutive captures (a rotated capture), given out of order.
    let config = DecodeConfig::default();
    let mirrors = [dir.join("b-mirror.pcap"), dir.join("a-mirror.pcap")];
    split(&trace, &mirrors, |_, packet| {
        let decoded = decode_with(packet, &config).unwrap();
        let IpView::V4(ip) = decoded.ip else {
            panic!("the generator writes IPv4")
        };
        usize::from(ip.source()[3] % 2)
    });
    let rotated = [
        dir.join("r3.pcap"),
        dir.join("r1.pcap"),
        dir.join("r2.pcap"),
    ];
    let third = (spec.packets / 3) as usize;
    split(&trace, &rotated, |index, _| (index / third + 1) % 3);
    let folder = dir.join("mirrors");
    std::fs::create_dir(&folder).unwrap();
    for mirror in &mirrors {
        std::fs::copy(mirror, folder.join(mirror.file_name().unwrap())).unwrap();
    }

    let run = |paths: &[PathBuf], threads: &str| {
        let mut args = vec!["replay", "-q", "--threads", threads];
        args.extend(["--interval", "1", "--lateness", "0"]);
        args.extend(paths.iter().map(|p| p.to_str().unwrap()));
        mirrorflow(&args)
    };
    for (what, inputs) in [
        ("two mirrors", &mirrors[..]),
        ("their folder", &[folder][..]),
        ("a rotated capture", &rotated[..]),
    ] {
        for threads in ["1", "2"] {
            let out = run(inputs, threads);
            assert!(
                out.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.stdout == whole.stdout,
                "{what}, --threads {threads}: not the records of the whole trace"
            );
        }
    }

    // One mirror's capture cut inside a record about halfway: the other is
    // read whole, the cut one up to the cut, as if it had ended there.
    let a = std::fs::read(&mirrors[1]).unwrap();
    let mut at = 24;
    while at < a.len() / 2 {
        at += 16 + u32::from_le_bytes(a[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    let (clean, cut) = (dir.join("a-clean.pcap"), dir.join("a-cut.pcap"));
    std::fs::write(&clean, &a[..at]).unwrap();
    std::fs::write(&cut, &a[..at + 16 + 10]).unwrap();
    let reference = run(&[mirrors[0].clone(), clean], "2");
    assert!(reference.status.success());
    let damaged = run(&[mirrors[0].clone(), cut], "2");
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert_eq!(damaged.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a-cut.pcap") && stderr.contains(&format!("offset {at}")),
        "{stderr}"
    );
    assert!(
        damaged.stdout == reference.stdout,
        "the records around the damage differ"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The fields of a record that issue 14's test works out by hand.
fn by_hand(r: &Value) -> Value {
    json!({
        "src_port": r["connection"]["src_port"],
        "interval_start": r["interval_start"],
        "start_time": r["start_time"],
        "end_time": r["end_time"],
        "packets_sent": r["packets_sent"],
        "bytes_sent": r["bytes_sent"],
        "payload_bytes": r["payload_bytes"],
        "partial": r.get("partial").unwrap_or(&Value::Bool(false)),
    })
}

/// Issue 14: with the flow budget spent, a packet out of order (not late)
/// opens an older interval, still empty; the eviction that makes room for
/// its flow must take a flow that exists, from the oldest interval that
/// holds any, instead of panicking on the empty one.
#[test]
fn issue_14_a_full_budget_and_a_packet_opening_an_older_interval() {
    let dir = scratch("issue-14-budget");
    let path = dir.join("t.pcap");
    // Flow A at 1005.5 s (interval 1005), then flow B at 1004.5 s (interval
    // 1000): out of order, but its interval closes only at 1005 + 1 s.
    let a = udp4([10, 0, 0, 1], [10, 0, 0, 9], 1111, 53, 10);
    let b = udp4([10, 0, 0, 2], [10, 0, 0, 9], 2222, 53, 30);
    std::fs::write(&path, pcap(RAW, &[(1_005_500_000, a), (1_004_500_000, b)])).unwrap();
    // By hand: B is a new flow while one flow is held, so A, the one flow of
    // the oldest interval holding any, is written early as partial; B stays
    // held to the end. Bytes are the IPv4 total length, 20 + 8 + payload.
    let want = [
        json!({
            "src_port": 1111,
            "interval_start": "1970-01-01T00:16:45.000000000Z",
            "start_time": "1970-01-01T00:16:45.500000000Z",
            "end_time": "1970-01-01T00:16:45.500000000Z",
            "packets_sent": 1,
            "bytes_sent": 38,
            "payload_bytes": 10,
            "partial": true,
        }),
        json!({
            "src_port": 2222,
            "interval_start": "1970-01-01T00:16:40.000000000Z",
            "start_time": "1970-01-01T00:16:44.500000000Z",
            "end_time": "1970-01-01T00:16:44.500000000Z",
            "packets_sent": 1,
            "bytes_sent": 58,
            "payload_bytes": 30,
            "partial": false,
        }),
    ];
    for threads in ["1", "2"] {
        let flags = ["--max-flows", "1", "--threads", threads];
        let (out, stats) = replay_with_stats(&dir, &path, &flags);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--threads {threads}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got: Vec<Value> = parse_records(&out.stdout).iter().map(by_hand).collect();
        got.sort_by_key(|r| r["src_port"].as_u64());
        assert_eq!(got, want, "--threads {threads}");
        assert_eq!(stats["packets_counted"], 2, "--threads {threads}");
        assert_eq!(stats["partial_records"], 1, "--threads {threads}");
        assert_eq!(stats["late_packets"], 0, "--threads {threads}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
