//! IPFIX export (issue 19): what independent collectors make of it.
//!
//! nfdump's `nfcapd` and pmacct's `nfacctd` receive a replay of fixtures
//! over UDP; their records must be the NDJSON records of the same replay
//! (5-tuple, interface, packets, bytes, start and end in ms). tshark decodes
//! every datagram and an IPFIX file with no malformed packet or expert
//! warning. A collector that is down (UDP or TCP) never stops the run, and
//! what was lost is counted. The tools are required: a missing one fails the
//! test with how to install it (`sh scripts/deps.sh test`).

use std::{
    collections::BTreeMap,
    io::Read,
    net::{IpAddr, TcpListener, UdpSocket},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::common::{epoch_text, fixture, mirrorflow, parse_records, pcap, scratch, RAW};

/// Fixtures of every kind the templates cover: IPv4 and IPv6; TCP, UDP,
/// SCTP, ICMP, ICMPv6 and portless protocols (IGMP, GRE, OSPF); VXLAN,
/// Geneve, GRE and ERSPAN mirrors; several pcapng interfaces; fragments.
const FIXTURES: &[&str] = &[
    "ndpi-alexa-app.pcapng",
    "ndpi-vxlan.pcap",
    "tcpdump-erspan-type-i.pcap",
    "tcpdump-geneve.pcap",
    "tcpdump-ipv6-routing-header.pcap",
    "tcpdump-mpls-traceroute.pcap",
    "tcpdump-vxlan.pcap",
    "zeek-gre-teb-outer-fragments.pcap",
    "zeek-ipv6-fragmented-dns.pcap",
    "zeek-linux-sll2.pcap",
    "zeek-pcapng-multi-interface.pcapng",
    "zeek-sctp.pcap",
    "zeek-vxlan-encapsulated-http.pcap",
];

/// What a collector keeps of a record: the flow, where it was seen, and
/// its times in ms (IPFIX's flowStart/EndMilliseconds).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Flow {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    /// Source port; 0 where the protocol has none (ICMP too).
    pub(crate) src_port: u16,
    /// Destination port; for ICMP, type × 256 + code from icmpTypeCode,
    /// as nfdump shows it (pmacct 1.7 does not read icmpTypeCode: 0).
    pub(crate) dst_port: u16,
    pub(crate) proto: u8,
    pub(crate) interface: u32,
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
}

/// Packets and bytes by flow, summed over records of the same flow (pmacct
/// sums records of equal keys; late records of an interval share a flow).
pub(crate) type Counts = BTreeMap<Flow, (u64, u64)>;

fn add(counts: &mut Counts, flow: Flow, packets: u64, bytes: u64) {
    let entry = counts.entry(flow).or_default();
    entry.0 += packets;
    entry.1 += bytes;
}

/// `SECONDS.NNNNNNNNN` → ms, truncated as the exporter truncates.
fn ms(epoch: &str) -> u64 {
    let (s, n) = epoch.split_once('.').unwrap();
    s.parse::<u64>().unwrap() * 1000 + n[..3].parse::<u64>().unwrap()
}

/// Whether a collector reads icmpTypeCodeIPv4/IPv6 (nfdump does, pmacct 1.7
/// does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Icmp {
    Read,
    Ignored,
}

/// The NDJSON records as a collector should show them.
fn from_ndjson(records: &[Value], icmp: Icmp) -> Counts {
    let mut counts = Counts::new();
    for r in records {
        let c = &r["connection"];
        let port = |v: &Value| v.as_u64().map_or(0, |p| p as u16);
        let (src_port, dst_port) = match (r["icmp_type"].as_u64(), icmp) {
            (Some(t), Icmp::Read) => (0, (t * 256 + r["icmp_code"].as_u64().unwrap()) as u16),
            (Some(_), Icmp::Ignored) => (0, 0),
            (None, _) => (port(&c["src_port"]), port(&c["dest_port"])),
        };
        let flow = Flow {
            src: c["src_ip"].as_str().unwrap().parse().unwrap(),
            dst: c["dest_ip"].as_str().unwrap().parse().unwrap(),
            src_port,
            dst_port,
            proto: c["protocol"].as_u64().unwrap() as u8,
            interface: r["mirror"]["interface"].as_u64().unwrap() as u32,
            start_ms: ms(&epoch_text(r["start_time"].as_str().unwrap())),
            end_ms: ms(&epoch_text(r["end_time"].as_str().unwrap())),
        };
        let n = |k: &str| r[k].as_u64().unwrap();
        add(&mut counts, flow, n("packets_sent"), n("bytes_sent"));
    }
    counts
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The fixtures' paths.
fn inputs() -> Vec<String> {
    FIXTURES
        .iter()
        .map(|name| fixture(name).to_str().unwrap().to_owned())
        .collect()
}

/// `mirrorflow replay -q FLAGS… INPUTS…`, required to succeed, with its
/// statistics (written to `dir`).
fn replay(dir: &Path, flags: &[&str], inputs: &[String]) -> (Output, Value) {
    let stats = dir.join("stats.json");
    let _ = std::fs::remove_file(&stats);
    let mut args = vec!["replay", "-q", "--stats", stats.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.extend(inputs.iter().map(String::as_str));
    let out = mirrorflow(&args);
    assert!(
        out.status.success(),
        "mirrorflow {args:?}: {}",
        stderr(&out)
    );
    let stats = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    (out, stats)
}

/// The NDJSON records of the replay of `inputs` with `flags`.
fn ndjson(dir: &Path, flags: &[&str], inputs: &[String]) -> Vec<Value> {
    let records = parse_records(&replay(dir, flags, inputs).0.stdout);
    assert!(!records.is_empty());
    records
}

/// A UDP port nothing listens on now.
pub(crate) fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The receive queue (bytes) and drop count of the UDP socket bound to
/// `port`, from /proc/net/udp (of network namespace `netns`, if given);
/// `None` while none is bound.
fn udp_queue(netns: Option<&str>, port: u16) -> Option<(u64, u64)> {
    let table = match netns {
        None => std::fs::read_to_string("/proc/net/udp").unwrap(),
        Some(ns) => {
            let out = Command::new("ip")
                .args(["netns", "exec", ns, "cat", "/proc/net/udp"])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let port = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f[1].ends_with(&port).then(|| {
            let rx = f[4].split_once(':').unwrap().1;
            (u64::from_str_radix(rx, 16).unwrap(), f[12].parse().unwrap())
        })
    })
}

/// Waits (at most 20 s) until `test` holds, polling; panics with `what`.
fn wait_for(what: &str, mut test: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !test() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Where `name` is installed: on the PATH, or in /usr/sbin, which a user's
/// PATH lacks on Debian and where pmacct puts `nfacctd`. A name found
/// nowhere is returned as it is, for the start to fail naming it.
fn installed(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| name.into())
}

/// A collector daemon, killed if the test fails before it is stopped.
pub(crate) struct Daemon {
    name: &'static str,
    child: Option<Child>,
    port: u16,
    /// The network namespace it runs in, if not this process's.
    netns: Option<String>,
}

impl Daemon {
    /// nfcapd on 127.0.0.1:`port` (in `netns`, if given), writing into
    /// `dir/flows` (returned) one file an hour, logging to `dir/nfcapd.log`.
    pub(crate) fn nfcapd(dir: &Path, (netns, port): (Option<&str>, u16)) -> (Self, PathBuf) {
        let flows = dir.join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        let port_text = port.to_string();
        let daemon = Daemon::start(
            "nfcapd",
            "nfdump",
            &[
                "-b",
                "127.0.0.1",
                "-p",
                &port_text,
                "-w",
                flows.to_str().unwrap(),
                "-t",
                "3600",
            ],
            (netns, port),
            &dir.join("nfcapd.log"),
        );
        (daemon, flows)
    }

    /// Starts `name ARGS…` (in network namespace `netns`, if given),
    /// failing clearly if it is not installed, and waits until it listens
    /// on `port`.
    pub(crate) fn start(
        name: &'static str,
        package: &str,
        args: &[&str],
        (netns, port): (Option<&str>, u16),
        log: &Path,
    ) -> Self {
        let log = std::fs::File::create(log).unwrap();
        let program = installed(name);
        let mut command = match netns {
            None => Command::new(&program),
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(&program);
                command
            }
        };
        let child = command
            .args(args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {name} ({e}): install Debian's {package} (sh scripts/deps.sh test)"
                )
            });
        let mut daemon = Daemon {
            name,
            child: Some(child),
            port,
            netns: netns.map(str::to_owned),
        };
        wait_for(&format!("{name} to listen on port {port}"), || {
            if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{name} exited at start ({status}): is Debian's {package} installed?");
            }
            udp_queue(netns, port).is_some()
        });
        daemon
    }

    /// Waits until the daemon has read every datagram sent to it, then
    /// stops it with `signal` (it writes what it holds) and waits for it.
    pub(crate) fn stop(mut self, signal: &str) -> u64 {
        let (port, netns) = (self.port, self.netns.clone());
        wait_for(&format!("{} to read its socket", self.name), || {
            udp_queue(netns.as_deref(), port).is_some_and(|(queued, _)| queued == 0)
        });
        let drops = udp_queue(netns.as_deref(), port).unwrap().1;
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "{} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
        drops
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// nfdump's JSON time (`2026-12-07T01:33:25.000`, UTC under TZ=UTC) → ms.
fn nfdump_ms(text: &str) -> u64 {
    ms(&epoch_text(&format!("{text}000000Z")))
}

/// Replays the fixtures to nfcapd with `flags`, and returns what nfdump
/// reads back, and nfcapd's log.
fn through_nfcapd(test: &str, flags: &[&str]) -> (Counts, String) {
    let dir = scratch(test);
    let port = free_udp_port();
    let (daemon, flows) = Daemon::nfcapd(&dir, (None, port));
    let log = dir.join("nfcapd.log");
    let target = format!("udp://127.0.0.1:{port}");
    let mut args = vec!["-f", "ipfix", "-o", &target];
    args.extend_from_slice(flags);
    let (_, stats) = replay(&dir, &args, &inputs());
    assert_eq!(stats["ipfix_send_errors"], 0, "{stats}");
    let drops = daemon.stop("-TERM");
    assert_eq!(drops, 0, "nfcapd's socket dropped datagrams");
    (read_nfdump(&flows), std::fs::read_to_string(&log).unwrap())
}

/// The records of the nfcapd files in `flows`, as `nfdump -o json` shows them.
pub(crate) fn read_nfdump(flows: &Path) -> Counts {
    let out = Command::new("nfdump")
        .env("TZ", "UTC")
        .args(["-R", flows.to_str().unwrap(), "-o", "json"])
        .output()
        .expect("nfdump comes with nfcapd");
    assert!(out.status.success(), "nfdump: {}", stderr(&out));
    let records: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "nfdump -o json ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let mut counts = Counts::new();
    for r in records.as_array().unwrap() {
        let addr = |v4: &str, v6: &str| -> IpAddr {
            r[v4].as_str().or(r[v6].as_str()).unwrap().parse().unwrap()
        };
        let proto = r["proto"].as_u64().unwrap() as u8;
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        let (src_port, dst_port) = if matches!(proto, 1 | 58) {
            (0, (n("icmp_type") * 256 + n("icmp_code")) as u16)
        } else {
            (n("src_port") as u16, n("dst_port") as u16)
        };
        let flow = Flow {
            src: addr("src4_addr", "src6_addr"),
            dst: addr("dst4_addr", "dst6_addr"),
            src_port,
            dst_port,
            proto,
            interface: n("input_snmp") as u32,
            start_ms: nfdump_ms(r["first"].as_str().unwrap()),
            end_ms: nfdump_ms(r["last"].as_str().unwrap()),
        };
        add(&mut counts, flow, n("in_packets"), n("in_bytes"));
    }
    counts
}

/// Compares two sets of records, showing the first differences.
fn assert_same(got: &Counts, want: &Counts, who: &str) {
    if got == want {
        return;
    }
    let missing: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(k) != Some(v))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(k, v)| want.get(k) != Some(v))
        .take(5)
        .collect();
    panic!(
        "{who} shows {} flows, the NDJSON {}; first NDJSON flows {who} shows otherwise: {missing:#?}; first of {who}'s not in the NDJSON: {extra:#?}",
        got.len(),
        want.len()
    );
}

#[test]
fn nfcapd_collects_every_record_of_the_ndjson() {
    let want = from_ndjson(&ndjson(&scratch("nfcapd-want"), &[], &inputs()), Icmp::Read);
    let (got, log) = through_nfcapd("nfcapd", &[]);
    assert_same(&got, &want, "nfdump");
    assert!(log.contains("Sequence Errors: 0"), "{log}");
    assert!(log.contains("Bad Packets: 0"), "{log}");
}

#[test]
fn nfcapd_scales_packet_sampled_counts_back_up() {
    let flags = ["--packet-sample", "4", "--seed", "7"];
    let want = from_ndjson(
        &ndjson(&scratch("nfcapd-sampled-want"), &flags, &inputs()),
        Icmp::Read,
    );
    let (got, log) = through_nfcapd("nfcapd-sampled", &flags);
    assert_same(&got, &want, "nfdump");
    // The options record stated one packet in 4.
    assert!(log.contains("packet interval: 1, packet space: 3"), "{log}");
}

/// Replays the fixtures to nfacctd with `flags`; returns its records (counts
/// multiplied by the sampling rate it shows) and the rates it showed.
fn through_nfacctd(test: &str, flags: &[&str]) -> (Counts, Vec<u64>) {
    let dir = scratch(test);
    let port = free_udp_port();
    let csv = dir.join("flows.csv");
    let config = dir.join("nfacctd.conf");
    std::fs::write(
        &config,
        format!(
            "daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: {port}
plugins: print[p]
print_output[p]: csv
print_output_file[p]: {csv}
print_output_file_append[p]: true
print_refresh_time[p]: 3600
print_num_protos[p]: true
aggregate[p]: src_host,dst_host,src_port,dst_port,proto,timestamp_start,timestamp_end,in_iface,sampling_rate
timestamps_since_epoch: true
timestamps_utc: true
",
            csv = csv.display()
        ),
    )
    .unwrap();
    let daemon = Daemon::start(
        "nfacctd",
        "pmacct",
        &["-f", config.to_str().unwrap()],
        (None, port),
        &dir.join("nfacctd.log"),
    );
    let target = format!("udp://127.0.0.1:{port}");
    let mut args = vec!["-f", "ipfix", "-o", &target];
    args.extend_from_slice(flags);
    let (_, stats) = replay(&dir, &args, &inputs());
    assert_eq!(stats["ipfix_send_errors"], 0, "{stats}");
    // On SIGINT the print plugin writes its cache out.
    let drops = daemon.stop("-INT");
    assert_eq!(drops, 0, "nfacctd's socket dropped datagrams");
    let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| {
        panic!(
            "nfacctd wrote no {} ({e}): {}",
            csv.display(),
            std::fs::read_to_string(dir.join("nfacctd.log")).unwrap_or_default()
        )
    });
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut counts = Counts::new();
    let mut rates = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let num = |name: &str| f[col(name)].parse::<u64>().unwrap();
        let time = |name: &str| {
            let (s, us) = f[col(name)].split_once('.').unwrap();
            s.parse::<u64>().unwrap() * 1000 + us.parse::<u64>().unwrap() / 1000
        };
        let rate = num("SAMPLING_RATE").max(1);
        rates.push(rate);
        let flow = Flow {
            src: f[col("SRC_IP")].parse().unwrap(),
            dst: f[col("DST_IP")].parse().unwrap(),
            src_port: num("SRC_PORT") as u16,
            dst_port: num("DST_PORT") as u16,
            proto: num("PROTOCOL") as u8,
            interface: num("IN_IFACE") as u32,
            start_ms: time("TIMESTAMP_START"),
            end_ms: time("TIMESTAMP_END"),
        };
        add(
            &mut counts,
            flow,
            num("PACKETS") * rate,
            num("BYTES") * rate,
        );
    }
    (counts, rates)
}

#[test]
fn nfacctd_collects_every_record_of_the_ndjson() {
    let want = from_ndjson(
        &ndjson(&scratch("nfacctd-want"), &[], &inputs()),
        Icmp::Ignored,
    );
    let (got, rates) = through_nfacctd("nfacctd", &[]);
    assert_same(&got, &want, "nfacctd");
    assert!(rates.iter().all(|r| *r == 1), "{rates:?}");
}

#[test]
fn nfacctd_shows_the_packet_sampling_rate() {
    let flags = ["--packet-sample", "4", "--seed", "7"];
    let want = from_ndjson(
        &ndjson(&scratch("nfacctd-sampled-want"), &flags, &inputs()),
        Icmp::Ignored,
    );
    let (got, rates) = through_nfacctd("nfacctd-sampled", &flags);
    assert_same(&got, &want, "nfacctd");
    assert!(rates.iter().all(|r| *r == 4), "{rates:?}");
}

/// The IPFIX messages in `bytes`, one after another (a TCP stream or an
/// IPFIX file), cut by their length field.
fn messages(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 16, "a cut header");
        assert_eq!(u16::from_be_bytes([bytes[0], bytes[1]]), 10, "version");
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        assert!((16..=bytes.len()).contains(&len), "message length {len}");
        out.push(&bytes[..len]);
        bytes = &bytes[len..];
    }
    out
}

/// Reads a stream of messages as a collector would, written here from RFC
/// 7011 alone: templates give record lengths, data sets hold whole records,
/// and each header's sequence number is the count of data records before
/// it. Returns the flow records (data records of templates 256..=261).
fn read_stream(stream: &[u8], mtu: usize) -> usize {
    let mut lengths: BTreeMap<u16, usize> = BTreeMap::new();
    let (mut records, mut flows) = (0u32, 0usize);
    for m in messages(stream) {
        assert!(m.len() <= mtu, "a message of {} bytes over {mtu}", m.len());
        let sequence = u32::from_be_bytes(m[8..12].try_into().unwrap());
        assert_eq!(sequence, records, "sequence number");
        assert_eq!(
            u32::from_be_bytes(m[12..16].try_into().unwrap()),
            1,
            "domain"
        );
        let mut sets = &m[16..];
        while !sets.is_empty() {
            let id = u16::from_be_bytes([sets[0], sets[1]]);
            let len = usize::from(u16::from_be_bytes([sets[2], sets[3]]));
            let mut body = &sets[4..len];
            match id {
                2 | 3 => {
                    while body.len() >= 4 {
                        let tid = u16::from_be_bytes([body[0], body[1]]);
                        let count = usize::from(u16::from_be_bytes([body[2], body[3]]));
                        let skip = if id == 3 { 6 } else { 4 };
                        let mut at = skip;
                        let mut record = 0;
                        for _ in 0..count {
                            let ie = u16::from_be_bytes([body[at], body[at + 1]]);
                            assert_eq!(ie & 0x8000, 0, "no enterprise element");
                            record += usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
                            at += 4;
                        }
                        lengths.insert(tid, record);
                        body = &body[at..];
                    }
                }
                _ => {
                    let record = *lengths
                        .get(&id)
                        .unwrap_or_else(|| panic!("data set {id} before its template"));
                    // Padding is shorter than a record.
                    let n = body.len() / record;
                    records += n as u32;
                    if (256..=261).contains(&id) {
                        flows += n;
                    }
                }
            }
            sets = &sets[len..];
        }
    }
    flows
}

#[test]
fn tcp_carries_every_record_in_sequence() {
    let dir = scratch("ipfix-tcp");
    let records = ndjson(&dir, &[], &inputs()).len();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("tcp://{}", listener.local_addr().unwrap());
    let collector = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let (_, stats) = replay(
        &dir,
        &["-f", "ipfix", "-o", &target, "--ipfix-mtu", "600"],
        &inputs(),
    );
    let stream = collector.join().unwrap();
    assert_eq!(read_stream(&stream, 600), records);
    assert_eq!(stats["ipfix_records_sent"], records, "{stats}");
    assert_eq!(stats["ipfix_records_lost"], 0, "{stats}");
    assert_eq!(stats["ipfix_connections"], 1, "{stats}");
}

#[test]
fn a_collector_that_is_down_loses_records_and_the_run_goes_on() {
    let dir = scratch("ipfix-down");
    let records = ndjson(&dir, &[], &inputs()).len() as u64;
    // A TCP port nothing listens on: every connection attempt is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_, stats) = replay(
        &dir,
        &["-f", "ipfix", "-o", &format!("tcp://127.0.0.1:{port}")],
        &inputs(),
    );
    assert_eq!(stats["records_written"], records, "{stats}");
    assert_eq!(stats["ipfix_records_lost"], records, "{stats}");
    assert_eq!(stats["ipfix_records_sent"], 0, "{stats}");
    assert!(stats["ipfix_send_errors"].as_u64().unwrap() >= 1, "{stats}");
    // UDP to a closed port: the kernel answers ECONNREFUSED to the sends
    // after the first; small messages make many sends.
    let port = free_udp_port();
    let (out, stats) = replay(
        &dir,
        &[
            "-f",
            "ipfix",
            "-o",
            &format!("udp://127.0.0.1:{port}"),
            "--ipfix-mtu",
            "576",
        ],
        &inputs(),
    );
    assert!(out.status.success());
    assert!(stats["ipfix_send_errors"].as_u64().unwrap() >= 1, "{stats}");
    let (sent, lost) = (
        stats["ipfix_records_sent"].as_u64().unwrap(),
        stats["ipfix_records_lost"].as_u64().unwrap(),
    );
    assert_eq!(sent + lost, records, "{stats}");
    assert!(lost >= 1, "{stats}");
}

/// Runs `tshark ARGS…`, failing clearly if it is missing.
fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark ({e}): sh scripts/deps.sh test installs it"));
    assert!(out.status.success(), "tshark {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// What tshark says of a capture or file: every packet decoded in full, no
/// malformed packet, no expert information of any severity. Returns the
/// flow records it decoded.
fn tshark_clean(path: &Path, decode_as: &[&str]) -> usize {
    let path = path.to_str().unwrap();
    let mut args = vec!["-r", path, "-V"];
    args.extend_from_slice(decode_as);
    let text = tshark(&args);
    // tshark's IPFIX dissector checks each domain's sequence numbers too
    // (an "Unexpected flow sequence" warning).
    for bad in ["Malformed", "Expert Info"] {
        assert!(
            !text.contains(bad),
            "tshark says {bad:?} of {path}:\n{}",
            &text[..text.len().min(20_000)]
        );
    }
    let mut args = vec!["-r", path, "-T", "fields", "-e", "cflow.packets"];
    args.extend_from_slice(decode_as);
    tshark(&args)
        .lines()
        .map(|line| line.split(',').filter(|v| !v.is_empty()).count())
        .sum()
}

#[test]
fn tshark_decodes_every_datagram_and_the_ipfix_file() {
    let dir = scratch("ipfix-tshark");
    let records = ndjson(&dir, &[], &inputs()).len();
    // This test is the collector: it keeps each datagram as a packet of a
    // pcap for tshark.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = socket.local_addr().unwrap().port();
    let stats = dir.join("stats.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
        .args([
            "replay",
            "-q",
            "--stats",
            stats.to_str().unwrap(),
            "-f",
            "ipfix",
        ])
        .args(["-o", &format!("udp://127.0.0.1:{port}")])
        .args(inputs())
        .spawn()
        .unwrap();
    let mut datagrams = Vec::new();
    let mut buf = [0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => datagrams.push((from.port(), buf[..n].to_vec())),
            Err(_) => {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
            }
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(datagrams.iter().all(|(_, d)| d.len() <= 1400));
    let packets: Vec<(u64, Vec<u8>)> = datagrams
        .iter()
        .enumerate()
        .map(|(i, (from, d))| {
            let builder = etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
                .udp(*from, port);
            let mut out = Vec::with_capacity(builder.size(d.len()));
            builder.write(&mut out, d).unwrap();
            (1_700_000_000_000_000 + i as u64, out)
        })
        .collect();
    let capture = dir.join("export.pcap");
    std::fs::write(&capture, pcap(RAW, &packets)).unwrap();
    let decode_as = format!("udp.port=={port},cflow");
    assert_eq!(tshark_clean(&capture, &["-d", &decode_as]), records);

    // The same run as an IPFIX file (RFC 5655), which tshark opens as such.
    let file: PathBuf = dir.join("flows.ipfix");
    let (_, stats) = replay(
        &dir,
        &["-f", "ipfix", "-o", file.to_str().unwrap()],
        &inputs(),
    );
    assert_eq!(stats["ipfix_records_sent"], records, "{stats}");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(read_stream(&bytes, 1400), records);
    assert_eq!(tshark_clean(&file, &[]), records);
}

#[test]
fn ipfix_flags_are_checked() {
    let input = fixture("zeek-sctp.pcap");
    let input = input.to_str().unwrap();
    for (args, says) in [
        (vec!["-f", "ipfix"], "-o udp://HOST:PORT"),
        (
            vec![
                "-f",
                "ipfix",
                "-o",
                "udp://127.0.0.1:9",
                "--ipfix-mtu",
                "100",
            ],
            "576",
        ),
        (vec!["--template-refresh", "5"], "-f ipfix"),
        (
            vec!["-f", "ipfix", "-o", "udp://no-such-host.invalid:9"],
            "collector address",
        ),
    ] {
        let mut all = vec!["replay", "-q"];
        all.extend_from_slice(&args);
        all.push(input);
        let out = mirrorflow(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}
