//! Compressed captures: every fixture compressed by the real command line
//! tools (gzip, zstd, xz, bzip2, lz4) replays to the records, statistics and
//! exit status of the plain capture; damaged streams exit 2 naming the file
//! and the offset in the decompressed capture; memory stays bounded on a
//! 1 GiB stream.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use serde_json::Value;

use crate::common::{fixture, fixture_captures, mirrorflow, replay_with_stats, scratch};

/// The tools and the flags that make them write to stdout, as an archive
/// script would call them.
const FORMATS: [(&str, &[&str], &str); 5] = [
    ("gzip", &["-c"], "gz"),
    ("zstd", &["-q", "-c"], "zst"),
    ("xz", &["-c"], "xz"),
    ("bzip2", &["-c"], "bz2"),
    ("lz4", &["-q", "-c"], "lz4"),
];

/// `tool FLAGS… input > output`, failing loudly if the tool is missing.
fn compress(tool: &str, flags: &[&str], input: &Path, output: &Path) {
    let out = Command::new(tool)
        .args(flags)
        .arg(input)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} ({e}): sh scripts/deps.sh test installs it"));
    assert!(out.status.success(), "{tool} failed: {out:?}");
    std::fs::write(output, out.stdout).unwrap();
}

/// Statistics without the run's timing.
fn counts(mut stats: Value) -> Value {
    if let Some(map) = stats.as_object_mut() {
        map.remove("run_time_secs");
        map.remove("packets_per_sec");
    }
    stats
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn every_fixture_compressed_five_ways_gives_the_plain_replay() {
    let dir = scratch("compressed-all");
    let captures = fixture_captures();
    assert!(captures.len() >= 40, "{} fixtures", captures.len());
    for plain in &captures {
        let (want, want_stats) = replay_with_stats(&dir, plain, &[]);
        let name = plain.file_name().unwrap().to_str().unwrap();
        for (tool, flags, ext) in FORMATS {
            let packed = dir.join(format!("{name}.{ext}"));
            compress(tool, flags, plain, &packed);
            let (got, got_stats) = replay_with_stats(&dir, &packed, &[]);
            let what = format!("{name} through {tool}");
            assert_eq!(
                got.status.code(),
                want.status.code(),
                "{what}: {}",
                stderr(&got)
            );
            assert!(got.stdout == want.stdout, "{what}: records differ");
            assert_eq!(counts(got_stats), counts(want_stats.clone()), "{what}");
            // A damaged capture is reported at the same offset, of the
            // decompressed capture, under the compressed file's name.
            let renamed = stderr(&got).replace(packed.to_str().unwrap(), plain.to_str().unwrap());
            assert_eq!(renamed, stderr(&want), "{what}");
        }
    }
}

#[test]
fn compressed_captures_on_stdin_and_in_a_folder() {
    let dir = scratch("compressed-stdin-folder");
    let names = [
        "zeek-ipv6-tcp-smtp.pcap",
        "ndpi-alexa-app.pcapng",
        "tcpdump-vxlan.pcap",
    ];
    // stdin: `zcat`'s job done by mirrorflow.
    let plain = fixture(names[1]);
    let packed = dir.join("a.gz");
    compress("gzip", &["-c"], &plain, &packed);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(["replay", "-q", "-"])
        .stdin(std::fs::File::open(&packed).unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut records = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut records).unwrap();
    assert!(child.wait().unwrap().success());
    let want = mirrorflow(&["replay", "-q", plain.to_str().unwrap()]);
    assert!(records == want.stdout && !records.is_empty());

    // A folder of captures each compressed its own way (and one plain):
    // the records of the plain folder.
    let plain_dir = dir.join("plain");
    let packed_dir = dir.join("packed");
    std::fs::create_dir_all(&plain_dir).unwrap();
    std::fs::create_dir_all(&packed_dir).unwrap();
    for (i, name) in names.iter().enumerate() {
        std::fs::copy(fixture(name), plain_dir.join(name)).unwrap();
        let (tool, flags, ext) = FORMATS[i + 1];
        compress(
            tool,
            flags,
            &fixture(name),
            &packed_dir.join(format!("{name}.{ext}")),
        );
    }
    std::fs::copy(fixture("tcpdump-geneve.pcap"), plain_dir.join("g.pcap")).unwrap();
    std::fs::copy(fixture("tcpdump-geneve.pcap"), packed_dir.join("g.pcap")).unwrap();
    let want = mirrorflow(&["replay", "-q", plain_dir.to_str().unwrap()]);
    let got = mirrorflow(&["replay", "-q", packed_dir.to_str().unwrap()]);
    assert!(
        want.status.success() && got.status.success(),
        "{}",
        stderr(&got)
    );
    assert!(got.stdout == want.stdout && !got.stdout.is_empty());
}

/// The offset a damage message names: "… byte offset N …".
fn offset_named(message: &str) -> u64 {
    let at = message.find("byte offset ").expect(message) + "byte offset ".len();
    message[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_truncated_gz_exits_2_with_the_records_before_the_cut() {
    let dir = scratch("compressed-cut");
    let plain = fixture("ndpi-alexa-app.pcapng");
    let whole = dir.join("whole.gz");
    compress("gzip", &["-c"], &plain, &whole);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.pcapng.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();

    let got = mirrorflow(&["replay", "-q", cut.to_str().unwrap()]);
    assert_eq!(got.status.code(), Some(2), "{}", stderr(&got));
    let message = stderr(&got);
    assert!(
        message.contains("cut.pcapng.gz") && message.contains("decompressed capture"),
        "{message}"
    );
    let offset = offset_named(&message);
    // gzip itself recovers the same bytes before it too gives up.
    let recovered = Command::new("gzip")
        .args(["-dc"])
        .arg(&cut)
        .output()
        .unwrap();
    assert!(!recovered.status.success());
    assert!(
        offset > 0 && offset <= recovered.stdout.len() as u64,
        "{offset}"
    );
    // The records are those of the plain capture cut at that offset: every
    // packet before the damage, none after.
    let prefix = dir.join("prefix.pcapng");
    let original = std::fs::read(&plain).unwrap();
    std::fs::write(&prefix, &original[..offset as usize]).unwrap();
    let want = mirrorflow(&["replay", "-q", prefix.to_str().unwrap()]);
    assert!(!got.stdout.is_empty() && got.stdout == want.stdout);
}

#[test]
fn a_corrupted_zst_exits_2_naming_file_and_offset() {
    let dir = scratch("compressed-corrupt");
    let plain = fixture("ndpi-alexa-app.pcapng");
    let packed = dir.join("bad.pcapng.zst");
    compress("zstd", &["-q", "-c"], &plain, &packed);
    let mut bytes = std::fs::read(&packed).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xa5;
    }
    std::fs::write(&packed, &bytes).unwrap();
    let got = mirrorflow(&["replay", "-q", packed.to_str().unwrap()]);
    let message = stderr(&got);
    assert_eq!(got.status.code(), Some(2), "{message}");
    assert!(message.contains("bad.pcapng.zst"), "{message}");
    assert!(
        offset_named(&message) < std::fs::metadata(&plain).unwrap().len(),
        "{message}"
    );
}

/// Writes `len` bytes of capture: an Ethernet pcap of identical 60 kB UDP
/// frames (they compress to almost nothing), one a millisecond. Returns the
/// number of packets.
fn big_capture(out: &mut impl Write, len: u64) -> u64 {
    const FRAME: usize = 60_014;
    let payload = FRAME - 14 - 20 - 8;
    let frame = crate::common::eth_udp4([10, 0, 0, 1], [10, 0, 0, 2], 5000, 6000, payload);
    assert_eq!(frame.len(), FRAME);
    let header = crate::common::pcap(crate::common::ETHERNET, &[]);
    out.write_all(&header).unwrap();
    let mut written = header.len() as u64;
    let mut packets = 0u64;
    while written < len {
        let us = packets * 1000;
        let mut record = Vec::with_capacity(16);
        for word in [
            (us / 1_000_000) as u32,
            (us % 1_000_000) as u32,
            FRAME as u32,
            FRAME as u32,
        ] {
            record.extend_from_slice(&word.to_le_bytes());
        }
        out.write_all(&record).unwrap();
        out.write_all(&frame).unwrap();
        written += (record.len() + FRAME) as u64;
        packets += 1;
    }
    packets
}

/// Peak resident set of a child, in bytes, through GNU time.
fn peak_rss(args: &[&str]) -> (Output, u64) {
    let report = scratch("compressed-rss").join("time.txt");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o", report.to_str().unwrap()])
        .arg(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run /usr/bin/time ({e}): sh scripts/deps.sh test installs GNU time")
        });
    let kib: u64 = std::fs::read_to_string(&report)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (out, kib * 1024)
}

#[test]
fn a_1_gib_stream_decompresses_in_bounded_memory() {
    let dir = scratch("compressed-1g");
    let packed: PathBuf = dir.join("big.pcap.zst");
    let mut zstd = Command::new("zstd")
        .args(["-q", "-1", "-c", "-o"])
        .arg(&packed)
        .stdin(Stdio::piped())
        .spawn()
        .expect("zstd: sh scripts/deps.sh test installs it");
    let packets = big_capture(zstd.stdin.as_mut().unwrap(), 1 << 30);
    drop(zstd.stdin.take());
    assert!(zstd.wait().unwrap().success());
    assert!(std::fs::metadata(&packed).unwrap().len() < 64 << 20);

    let stats = dir.join("stats.json");
    let (out, rss) = peak_rss(&[
        "replay",
        "-q",
        "--stats",
        stats.to_str().unwrap(),
        "-o",
        "/dev/null",
        packed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(stats["packets_read"], packets);
    assert_eq!(stats["packets_counted"], packets);
    // The read-ahead chunks, the decoder's window and the program: far
    // below the 1 GiB that went through.
    assert!(rss < 64 << 20, "peak RSS {} MiB", rss >> 20);
}
