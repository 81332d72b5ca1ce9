//! Running the binary, reading its records, building small captures.

#![allow(dead_code)] // each topic module uses its own subset

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fresh scratch folder for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mirrorflow-it-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn mirrorflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args(args)
        .output()
        .expect("run mirrorflow")
}

/// Runs `tests/interop/<script>` under python3 with `args` and returns
/// what it printed (stdout, then stderr), asserting it succeeded; `needs`
/// says what to install when it did not.
pub fn interop(script: &str, args: &[&std::ffi::OsStr], needs: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(script);
    let check = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("run python3");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        check.status.success(),
        "tests/interop/{script} failed ({needs}):\n{text}"
    );
    text
}

/// The captures in tests/fixtures, sorted by name.
pub fn fixture_captures() -> Vec<PathBuf> {
    let mut captures: Vec<_> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    captures.sort();
    captures
}

/// Runs `mirrorflow replay -q --stats DIR/stats.json FLAGS… PATH` and returns
/// its output and statistics (`Null` when none were written).
pub fn replay_with_stats(dir: &Path, path: &Path, flags: &[&str]) -> (Output, Value) {
    let stats = dir.join("stats.json");
    let _ = std::fs::remove_file(&stats);
    let mut args = vec!["replay", "-q", "--stats", stats.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push(path.to_str().unwrap());
    let out = mirrorflow(&args);
    let value = std::fs::read(&stats)
        .map(|bytes| serde_json::from_slice(&bytes).unwrap())
        .unwrap_or(Value::Null);
    (out, value)
}

/// Writes `packets` as a pcap of `link` in a fresh folder for `test`,
/// replays it with `flags`, requires success, and returns records and statistics.
pub fn replay_packets(
    test: &str,
    link: u32,
    packets: &[(u64, Vec<u8>)],
    flags: &[&str],
) -> (Vec<Value>, Value) {
    let dir = scratch(test);
    let path = dir.join("t.pcap");
    std::fs::write(&path, pcap(link, packets)).unwrap();
    let (out, stats) = replay_with_stats(&dir, &path, flags);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (parse_records(&out.stdout), stats)
}

/// Runs `mirrorflow replay -q ARGS` and returns its records, failing on a non-zero exit.
pub fn replay(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["replay", "-q"];
    all.extend_from_slice(args);
    let out = mirrorflow(&all);
    assert!(
        out.status.success(),
        "mirrorflow {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_records(&out.stdout)
}

pub fn parse_records(ndjson: &[u8]) -> Vec<Value> {
    std::str::from_utf8(ndjson)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The key of a record as the expectation CSVs spell it: interface, encap,
/// vni, session_id, interval_start, src_ip, src_port, dst_ip, dst_port,
/// proto, icmp_type, icmp_code.
pub type Key = [String; 12];

/// Counters as the CSVs spell them: packets, bytes, payload_bytes, first_time, last_time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub packets: u64,
    pub bytes: u64,
    pub payload_bytes: u64,
    pub first: String,
    pub last: String,
}

fn opt(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// RFC 3339 with 9 digits → `SECONDS.NNNNNNNNN`, by civil-date arithmetic
/// written here independently of the exporter.
pub fn epoch_text(rfc3339: &str) -> String {
    assert_eq!(rfc3339.len(), 30, "9 fraction digits and Z: {rfc3339}");
    assert_eq!(&rfc3339[29..], "Z");
    let num = |r: std::ops::Range<usize>| rfc3339[r].parse::<i64>().unwrap();
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (hh, mm, ss) = (num(11..13), num(14..16), num(17..19));
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    format!(
        "{}.{}",
        days * 86_400 + hh * 3600 + mm * 60 + ss,
        &rfc3339[20..29]
    )
}

/// Records keyed as the CSVs are; records of the same key and interval (late
/// extra records) are merged, as sums over them are what the spec keeps exact.
pub fn by_key(records: &[Value]) -> BTreeMap<Key, Counts> {
    let mut map: BTreeMap<Key, Counts> = BTreeMap::new();
    for r in records {
        let c = &r["connection"];
        let interval = epoch_text(r["interval_start"].as_str().unwrap());
        let mirror = &r["mirror"];
        let key: Key = [
            opt(&mirror["interface"]),
            opt(&mirror["encap"]),
            opt(&mirror["vni"]),
            opt(&mirror["session_id"]),
            interval.split('.').next().unwrap().to_string(),
            opt(&c["src_ip"]),
            opt(&c["src_port"]),
            opt(&c["dest_ip"]),
            opt(&c["dest_port"]),
            opt(&c["protocol"]),
            opt(&r["icmp_type"]),
            opt(&r["icmp_code"]),
        ];
        let counts = Counts {
            packets: r["packets_sent"].as_u64().unwrap(),
            bytes: r["bytes_sent"].as_u64().unwrap(),
            payload_bytes: r["payload_bytes"].as_u64().unwrap(),
            first: epoch_text(r["start_time"].as_str().unwrap()),
            last: epoch_text(r["end_time"].as_str().unwrap()),
        };
        map.entry(key)
            .and_modify(|m| {
                m.packets += counts.packets;
                m.bytes += counts.bytes;
                m.payload_bytes += counts.payload_bytes;
                m.first = earlier(&m.first, &counts.first, true);
                m.last = earlier(&m.last, &counts.last, false);
            })
            .or_insert(counts);
    }
    map
}

/// The earlier (or, with `earliest` false, the later) of two `SECONDS.NNNNNNNNN` times.
fn earlier(a: &str, b: &str, earliest: bool) -> String {
    let order = |t: &str| {
        let (s, n) = t.split_once('.').unwrap();
        (s.parse::<u64>().unwrap(), n.parse::<u64>().unwrap())
    };
    if (order(a) <= order(b)) == earliest {
        a
    } else {
        b
    }
    .to_string()
}

/// Reads `<capture>.expected.csv` (made by tests/fixtures/make_expected.sh).
pub fn expected(capture: &str) -> BTreeMap<Key, Counts> {
    let text = std::fs::read_to_string(fixture(&format!("{capture}.expected.csv"))).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "interface,encap,vni,session_id,interval_start,src_ip,src_port,dst_ip,dst_port,proto,icmp_type,icmp_code,packets,bytes,payload_bytes,first_time,last_time"
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 17, "{line}");
            let key: Key = std::array::from_fn(|i| f[i].to_string());
            let counts = Counts {
                packets: f[12].parse().unwrap(),
                bytes: f[13].parse().unwrap(),
                payload_bytes: f[14].parse().unwrap(),
                first: f[15].to_string(),
                last: f[16].to_string(),
            };
            (key, counts)
        })
        .collect()
}

/// A classic little-endian µs pcap of the given link type and packets (ts in µs).
pub fn pcap(link: u32, packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&link.to_le_bytes());
    for (ts_us, data) in packets {
        out.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// LINKTYPE_RAW.
pub const RAW: u32 = 101;

/// An IPv4/UDP packet (for LINKTYPE_RAW) carrying `payload` zero bytes.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
    let mut out = Vec::with_capacity(builder.size(payload));
    builder.write(&mut out, &vec![0u8; payload]).unwrap();
    out
}

/// LINKTYPE_ETHERNET.
pub const ETHERNET: u32 = 1;

/// An Ethernet/IPv4/UDP frame carrying `payload` zero bytes.
pub fn eth_udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: usize) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::with_capacity(builder.size(payload));
    builder.write(&mut out, &vec![0u8; payload]).unwrap();
    out
}

/// `inner` (an Ethernet frame) in VXLAN `vni`, sent from `vtep` to 192.0.2.254:4789.
pub fn vxlan_frame(vtep: [u8; 4], vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut payload = vec![0x08, 0, 0, 0]; // I flag, reserved
    payload.extend_from_slice(&vni.to_be_bytes()[1..]);
    payload.push(0);
    payload.extend_from_slice(inner);
    let builder = etherparse::PacketBuilder::ethernet2([6; 6], [8; 6])
        .ipv4(vtep, [192, 0, 2, 254], 64)
        .udp(50000, 4789);
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, &payload).unwrap();
    out
}
