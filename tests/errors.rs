//! Bad input and bad output: a clear message naming the problem, and the
//! exit statuses of docs/cli.md (1 = could not run, 2 = input damaged after records).

use crate::common::{by_key, fixture, mirrorflow, parse_records, pcap, scratch, udp4, RAW};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_file_exits_1_naming_it() {
    let out = mirrorflow(&["replay", "/nonexistent/capture.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/capture.pcap"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn non_capture_file_exits_1_naming_it() {
    let dir = scratch("not-capture");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "hello, this is not a pcap").unwrap();
    let out = mirrorflow(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("notes.txt") && err.contains("not a pcap or pcapng"),
        "{err}"
    );
}

#[test]
fn unknown_link_type_exits_1_naming_it() {
    let dir = scratch("linktype");
    let path = dir.join("user0.pcap");
    // LINKTYPE_USER0 (147): nothing mirrorflow can decode.
    std::fs::write(&path, pcap(147, &[(0, vec![0; 20])])).unwrap();
    let out = mirrorflow(&["replay", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("unsupported link type 147") && err.contains("user0.pcap"),
        "{err}"
    );
}

#[test]
fn file_cut_mid_packet_writes_records_before_the_cut_and_exits_2() {
    let original = std::fs::read(fixture("zeek-ipv6-tcp-smtp.pcap")).unwrap();
    // Walk the classic pcap record headers to find where packet 10 starts.
    let mut offset = 24;
    for _ in 0..9 {
        let incl =
            u32::from_le_bytes(original[offset + 8..offset + 12].try_into().unwrap()) as usize;
        offset += 16 + incl;
    }
    let dir = scratch("cut");
    let whole9 = dir.join("first9.pcap");
    std::fs::write(&whole9, &original[..offset]).unwrap();
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &original[..offset + 16 + 10]).unwrap();

    let reference = mirrorflow(&["replay", "-q", whole9.to_str().unwrap()]);
    assert_eq!(reference.status.code(), Some(0));
    let damaged = mirrorflow(&["replay", "-q", cut.to_str().unwrap()]);
    assert_eq!(damaged.status.code(), Some(2), "{}", stderr(&damaged));
    let err = stderr(&damaged);
    assert!(
        err.contains("cut.pcap") && err.contains(&format!("offset {offset}")),
        "{err}"
    );

    let records = parse_records(&damaged.stdout);
    assert_eq!(by_key(&records), by_key(&parse_records(&reference.stdout)));
    let packets: u64 = records
        .iter()
        .map(|r| r["packets_sent"].as_u64().unwrap())
        .sum();
    assert_eq!(packets, 9);
}

#[test]
fn fuzzed_file_cut_after_first_packet_exits_2_naming_offset() {
    // A version 2.0 header: before pcap 2.3, writers swapped the two length
    // fields (libpcap's sf-pcap.c), so record 1 holds 197 bytes, not 524501.
    // It ends at 24 + 16 + 197 = 237, and the 239-byte file leaves 2 bytes
    // of the next record header: tshark, too, says "cut short".
    let out = mirrorflow(&[
        "replay",
        "-q",
        fixture("ndpi-malformed-fuzz-truncated-midpacket.pcap")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("ndpi-malformed-fuzz-truncated-midpacket.pcap") && err.contains("offset 237"),
        "{err}"
    );
}

#[test]
fn unwritable_out_exits_1_before_reading() {
    let out = mirrorflow(&[
        "replay",
        "-o",
        "/nonexistent-dir/flows.json",
        fixture("zeek-sctp.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("/nonexistent-dir/flows.json"), "{err}");
    assert!(
        !err.contains("packets read"),
        "no run statistics: nothing was read\n{err}"
    );
}

#[test]
fn out_file_is_written_whole() {
    let dir = scratch("out-file");
    let path = dir.join("flows.json");
    let out = mirrorflow(&[
        "replay",
        "-q",
        "-o",
        path.to_str().unwrap(),
        fixture("zeek-sctp.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let records = parse_records(&std::fs::read(&path).unwrap());
    assert_eq!(by_key(&records), crate::common::expected("zeek-sctp.pcap"));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("flows.json")],
        "no temporary file left"
    );
}

#[test]
fn bad_flags_exit_1() {
    let file = fixture("zeek-sctp.pcap");
    let file = file.to_str().unwrap();
    for args in [
        vec!["replay", "--interval", "0", file],
        vec!["replay", "--interval", "3601", file],
        vec!["replay", "--flow-sample", "1.5", file],
        vec!["replay", "--packet-sample", "0", file],
        vec!["replay", "--no-such-flag", file],
        vec!["replay"],
    ] {
        let out = mirrorflow(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn damaged_packets_are_counted_by_reason_not_fatal() {
    let dir = scratch("damaged-packets");
    let path = dir.join("mixed.pcap");
    let good = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1000, 53, 10);
    let mut ihl4 = good.clone();
    ihl4[0] = 0x44; // IHL 4: header shorter than its minimum
    let cut = good[..12].to_vec(); // IPv4 header cut by the snaplen
    std::fs::write(&path, pcap(RAW, &[(0, good), (1, ihl4), (2, cut)])).unwrap();
    let stats = dir.join("stats.json");
    let out = mirrorflow(&[
        "replay",
        "-q",
        "--stats",
        stats.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(parse_records(&out.stdout).len(), 1);
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(stats).unwrap()).unwrap();
    assert_eq!(stats["packets_read"], 3);
    assert_eq!(stats["packets_counted"], 1);
    assert_eq!(stats["malformed"]["ipv4.malformed"], 1);
    assert_eq!(stats["malformed"]["ipv4.truncated"], 1);
}

#[test]
fn a_full_disk_exits_1_naming_the_output() {
    // /dev/full fails every write with ENOSPC, as a full disk does.
    let out = mirrorflow(&[
        "replay",
        "-q",
        "-o",
        "/dev/full",
        fixture("ndpi-alexa-app.pcapng").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("/dev/full") && err.contains("No space left"),
        "{err}"
    );
}

#[test]
fn a_folder_as_json_output_exits_1_before_reading() {
    let dir = scratch("out-is-folder");
    let out = mirrorflow(&[
        "replay",
        "-o",
        dir.to_str().unwrap(),
        fixture("zeek-sctp.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(dir.to_str().unwrap()) && err.contains("folder"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing left behind"
    );
}

#[test]
fn an_existing_output_file_exits_1_and_is_left_alone() {
    let dir = scratch("out-exists");
    let path = dir.join("flows.json");
    std::fs::write(&path, "earlier records\n").unwrap();
    let out = mirrorflow(&[
        "replay",
        "-o",
        path.to_str().unwrap(),
        fixture("zeek-sctp.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("flows.json") && err.contains("exists already"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier records\n");
}

/// Ctrl-C in the middle of a replay: the packets read so far are in the
/// records written, and the exit status says the input was not all read.
#[test]
fn sigint_mid_replay_writes_the_records_of_the_packets_read_and_exits_130() {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};

    let spec = capture::synth::TraceSpec {
        packets: 1_000_000,
        flows: 1_000,
        ip_len: 64,
        rate_pps: 100_000,
        ..capture::synth::TraceSpec::default()
    };
    let mut trace = Vec::new();
    capture::synth::write_pcap(&spec, &mut trace).unwrap();
    let total = trace.len();
    let dir = scratch("sigint");
    let stats = dir.join("stats.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(["replay", "-q", "--interval", "1", "--stats"])
        .arg(&stats)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mirrorflow");
    // Fed from a thread until mirrorflow stops reading (a broken pipe).
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let fed = trace
            .chunks(64 << 10)
            .take_while(|chunk| stdin.write_all(chunk).is_ok())
            .count();
        fed * (64 << 10)
    });
    // The first records (interval 1 closes after 100k packets) show that
    // the replay runs with its signal handler in place.
    let mut stdout = child.stdout.take().unwrap();
    let mut output = vec![0; 1];
    stdout.read_exact(&mut output).unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    stdout.read_to_end(&mut output).unwrap();
    let out = child.wait_with_output().unwrap();
    let fed = feeder.join().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");

    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let read = stats["packets_read"].as_u64().unwrap();
    // Stopped early: at most 64k packets after the signal, far from the end.
    assert!(
        read >= 100_000 && read < spec.packets,
        "{read} packets read"
    );
    assert!(fed < total, "mirrorflow read all of stdin");
    let records = parse_records(&output);
    let in_records: u64 = records
        .iter()
        .map(|r| r["packets_sent"].as_u64().unwrap())
        .sum();
    assert_eq!(in_records, read, "every packet read is in a record");
    assert_eq!(stats["packets_counted"], read);
    let _ = std::fs::remove_dir_all(&dir);
}
