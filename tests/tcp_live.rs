//! Issue 17: the TCP fields `rtt_msec` and `retransmitted_packets` on a real
//! network, as a mirror in the middle of the path sees them, checked against
//! tshark reading a capture of the same mirror. Root only, in namespaces, as
//! tests/live.rs runs them.
//!
//! A (10.9.0.1) and B (10.9.0.2) talk through a bridge in M. Each M-side
//! port mirrors its ingress, and only its ingress, to mon0 (tc mirred): a
//! packet enters the bridge once, so it is copied once (mirroring egress too
//! would copy it twice). mirrorflow and tshark both capture on mon0's peer
//! mon1.
//!
//! Our machines' kernel is built without netem (and matchall: a u32 filter
//! matching everything stands in), so each end's delay is a relay: the end's IP address sits on a
//! tap device, and a python3 process moves frames between the tap and the
//! end's veth to M, holding what the end sends for its delay (20 ms at A,
//! 5 ms at B) and passing what it receives at once; A's relay can also drop
//! a share of A's TCP frames. A round trip crosses each end's egress once,
//! so every round trip through the mirror, the handshake's included, takes
//! 20 + 5 = 25 ms wherever on the path it is timed. Losses happen at A,
//! before the mirror: the mirror sees only the retransmission, which tshark
//! calls a retransmission, or out of order when it comes within an initial
//! RTT of the newest segment. mirrorflow must count as tshark does.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    common::{parse_records, scratch},
    live::{live, require_root, Netns, Running},
};

/// `relay TAP WIRE DELAY_MS LOSS`: creates TAP, passes frames from WIRE to
/// it at once and from it to WIRE after DELAY_MS, dropping the share LOSS
/// of its TCP frames (seeded, so a run loses the same frames of its order).
/// Real-time priority, so that a busy machine stretches the delay less.
const RELAY: &str = r#"
import collections, fcntl, os, random, select, socket, struct, sys, time
tap, wire, delay, loss = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000, float(sys.argv[4])
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
fd = os.open("/dev/net/tun", os.O_RDWR)
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
out.bind((wire, 0))
rng, held = random.Random(17), collections.deque()
print("ready", flush=True)
while True:
    wait = max(0.0, held[0][0] - time.monotonic()) if held else None
    readable = select.select([fd, out], [], [], wait)[0]
    if fd in readable:
        frame = os.read(fd, 65536)
        tcp = frame[12:14] == b"\x08\x00" and frame[23] == 6
        if not (tcp and rng.random() < loss):
            held.append((time.monotonic() + delay, frame))
    if out in readable:
        frame, address = out.recvfrom(65536)
        if address[2] != socket.PACKET_OUTGOING:
            try:
                os.write(fd, frame)
            except OSError:
                pass  # the tap is not up yet: a link that is down drops
    while held and held[0][0] <= time.monotonic():
        out.send(held.popleft()[1])
"#;

/// `server` in B echoes one connection until EOF. `client lockstep|stream
/// CHUNKS` in A sends CHUNKS of 1000 bytes, waiting for each echo
/// (lockstep: every segment is answered at once, so no delayed ACK stretches
/// a round trip) or not (stream: a full window, where losses are repaired),
/// then prints `echoed BYTES`.
const TRAFFIC: &str = r#"
import socket, sys, threading
def nodelay(s):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if sys.argv[1] == "server":
    listener = socket.create_server(("10.9.0.2", 5201))
    print("ready", flush=True)
    conn = listener.accept()[0]
    nodelay(conn)
    while data := conn.recv(65536):
        conn.sendall(data)
    conn.close()
else:
    lockstep, chunks = sys.argv[2] == "lockstep", int(sys.argv[3])
    s = socket.create_connection(("10.9.0.2", 5201))
    nodelay(s)
    echoed = 0
    def read(until):
        global echoed
        while echoed < until:
            data = s.recv(65536)
            assert data, "echo cut short"
            echoed += len(data)
    reader = threading.Thread(target=read, args=(chunks * 1000,))
    if not lockstep:
        reader.start()
    for i in range(chunks):
        s.sendall(bytes(1000))
        if lockstep:
            read((i + 1) * 1000)
    if not lockstep:
        reader.join()
    s.shutdown(socket.SHUT_WR)
    assert s.recv(1) == b""
    print("echoed", echoed, flush=True)
"#;

/// `python3 -c SCRIPT ARGS` in `ns`, once it says `ready`.
fn started(ns: &Netns, script: &[&str]) -> Running {
    let mut command = ns.command("python3");
    command.arg("-c").args(script);
    let running = Running::spawn(command);
    let ready = running.line(Duration::from_secs(10)).map(|(_, l)| l);
    assert_eq!(ready.as_deref(), Some("ready"), "{}", running.stderr());
    running
}

/// The three namespaces and the relays (declared first: they die first).
struct Network {
    _relays: Vec<Running>,
    a: Netns,
    b: Netns,
    m: Netns,
}

fn network(tag: &str, a_delay_ms: &str, a_loss: &str) -> Network {
    let (a, b, m) = (
        Netns::new(&format!("{tag}-a")),
        Netns::new(&format!("{tag}-b")),
        Netns::new(&format!("{tag}-m")),
    );
    m.exec(&["ip", "link", "add", "br0", "type", "bridge"]);
    m.exec(&[
        "ip", "link", "add", "mon0", "type", "veth", "peer", "name", "mon1",
    ]);
    let mut relays = Vec::new();
    for (end, wire, port, address, delay, loss) in [
        (&a, "a-m", "m-a", "10.9.0.1/24", a_delay_ms, a_loss),
        (&b, "b-m", "m-b", "10.9.0.2/24", "5", "0"),
    ] {
        let middle = m.name();
        end.exec(&[
            "ip", "link", "add", wire, "type", "veth", "peer", "name", port, "netns", middle,
        ]);
        end.exec(&["ip", "link", "set", "dev", wire, "up"]);
        // `dev` before a name: `ip` takes a bare one that begins a keyword
        // ("ma" for "master") as that keyword.
        m.exec(&["ip", "link", "set", "dev", port, "master", "br0", "up"]);
        m.exec(&["tc", "qdisc", "add", "dev", port, "clsact"]);
        m.exec(&[
            "tc", "filter", "add", "dev", port, "ingress", "protocol", "all", "u32", "match",
            "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "mon0",
        ]);
        relays.push(started(end, &[RELAY, "tap0", wire, delay, loss]));
        end.exec(&["ip", "addr", "add", address, "dev", "tap0"]);
        end.exec(&["ip", "link", "set", "dev", "tap0", "up"]);
    }
    for dev in ["br0", "mon0", "mon1"] {
        m.exec(&["ip", "link", "set", "dev", dev, "up"]);
    }
    Network {
        _relays: relays,
        a,
        b,
        m,
    }
}

/// `tshark -r CAPTURE -Y FILTER -T fields -e FIELD…` (FIELDS separated by
/// spaces), one row per frame.
fn tshark(capture: &Path, filter: &str, fields: &str) -> Vec<Vec<String>> {
    let mut command = std::process::Command::new("tshark");
    command.args(["-n", "-r", capture.to_str().unwrap(), "-Y", filter]);
    command.args(["-T", "fields"]);
    for field in fields.split(' ') {
        command.args(["-e", field]);
    }
    let out = command.output().expect("tshark (apt-get install tshark)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

const DIRECTION: &str = "ip.src tcp.srcport ip.dst tcp.dstport";

/// Frames per direction (`SRC:PORT > DST:PORT`) among tshark's rows of
/// [`DIRECTION`].
fn frames(rows: &[Vec<String>]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in rows {
        *counts
            .entry(format!("{}:{} > {}:{}", r[0], r[1], r[2], r[3]))
            .or_insert(0) += 1;
    }
    counts
}

/// `field` summed per direction over mirrorflow's records, as [`frames`].
fn totals(records: &[Value], field: &str) -> BTreeMap<String, u64> {
    let mut sums = BTreeMap::new();
    for r in records {
        let n = r[field].as_u64();
        *sums.entry(direction(r)).or_insert(0) +=
            n.unwrap_or_else(|| panic!("no {field} on a TCP record: {r}"));
    }
    sums
}

fn direction(record: &Value) -> String {
    let c = &record["connection"];
    let (src, dest) = (
        c["src_ip"].as_str().unwrap(),
        c["dest_ip"].as_str().unwrap(),
    );
    format!("{src}:{} > {dest}:{}", c["src_port"], c["dest_port"])
}

/// Builds the network, captures one transfer (`client ARGS`) with
/// mirrorflow and tshark side by side, and checks that the set-up did what
/// the test needs: each segment mirrored once, both captures alike.
/// Returns mirrorflow's TCP records and the reference capture.
fn transfer(tag: &str, a_delay_ms: &str, a_loss: &str, client: &[&str]) -> (Vec<Value>, PathBuf) {
    require_root();
    let dir = scratch(&format!("tcp-live-{tag}"));
    let net = network(tag, a_delay_ms, a_loss);
    let (out, stats, capture) = (
        dir.join("flows.json"),
        dir.join("stats.json"),
        dir.join("mirror.pcapng"),
    );
    let mut tshark_run = net.m.command("tshark");
    tshark_run.args(["-i", "mon1", "-w", capture.to_str().unwrap()]);
    let mut reference = Running::spawn(tshark_run);
    reference.wait_stderr("Capturing on");
    let mut args: Vec<_> = "-i mon1 -f json --interval 1 --stats".split(' ').collect();
    args.extend([stats.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let mut flows = live(&net.m, &args);
    let mut server = started(&net.b, &[TRAFFIC, "server"]);
    let sent = net
        .a
        .command("python3")
        .args(["-c", TRAFFIC, "client"])
        .args(client)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&sent.stdout);
    assert!(
        sent.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let chunks: u64 = client[1].parse().unwrap();
    assert_eq!(said.trim(), format!("echoed {}", chunks * 1000));
    assert!(server.wait().0.success(), "{}", server.stderr());
    // Stop only once both ends are closed (a lost last ACK brings a FIN
    // again): a packet between the two stops would be in one capture only.
    let deadline = Instant::now() + Duration::from_secs(20);
    while [&net.a, &net.b].iter().any(|end| {
        let ss = end.command("ss").arg("-Htan").output().expect("ss");
        let ss = String::from_utf8(ss.stdout).unwrap();
        ss.lines().any(|l| !l.starts_with("TIME-WAIT"))
    }) {
        assert!(Instant::now() < deadline, "the connection never closed");
        thread::sleep(Duration::from_millis(50));
    }
    flows.signal("TERM");
    let (status, _) = flows.wait();
    assert!(status.success(), "{}", flows.stderr());
    reference.signal("INT");
    assert!(reference.wait().0.success(), "{}", reference.stderr());

    let stats: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(stats["kernel_drops"], 0, "{stats}");
    // A re-sent segment differs in IP ID and TCP timestamp from the first.
    let fields =
        "ip.src ip.id tcp.seq_raw tcp.ack_raw tcp.len tcp.flags tcp.options.timestamp.tsval";
    let segments = tshark(&capture, "tcp", fields);
    let mut once = segments.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), segments.len(), "a segment mirrored twice");
    let records: Vec<Value> = parse_records(&std::fs::read(&out).unwrap())
        .into_iter()
        .filter(|r| r["connection"]["protocol"] == 6)
        .collect();
    let packets = totals(&records, "packets_sent");
    let want = frames(&tshark(&capture, "tcp", DIRECTION));
    eprintln!("{tag}: TCP frames per direction in the reference capture: {want:?}");
    assert_eq!(want.len(), 2, "one connection, both ways: {want:?}");
    assert_eq!(packets, want, "mirrorflow and tshark saw the same packets");
    (records, capture)
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_17_rtt_on_a_real_network_is_the_sum_of_both_delays() {
    let (records, capture) = transfer("rtt", "20", "0", &["lockstep", "100"]);
    // The network first, so a failure says which side is wrong. Every frame
    // after the handshake carries the same initial RTT.
    let rtt = tshark(
        &capture,
        "tcp.analysis.initial_rtt",
        "tcp.analysis.initial_rtt",
    );
    let initial: f64 = rtt.first().expect("a handshake")[0].parse().unwrap();
    eprintln!("rtt: tshark's initial RTT {initial} s");
    assert!(
        (0.023..=0.027).contains(&initial),
        "the set-up's RTT: {initial} s"
    );

    let mut sampled = BTreeMap::new();
    for r in &records {
        let found = sampled.entry(direction(r)).or_insert(0);
        if let Some(rtt) = r.get("rtt_msec") {
            let rtt = rtt
                .as_u64()
                .unwrap_or_else(|| panic!("integer rtt_msec: {r}"));
            assert!((23..=27).contains(&rtt), "rtt_msec {rtt}, not 25 ± 2: {r}");
            *found += 1;
        }
    }
    for (way, found) in &sampled {
        assert!(*found > 0, "no record {way} has rtt_msec");
    }
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_17_retransmissions_match_tshark_on_a_lossy_link() {
    let (records, capture) = transfer("loss", "20", "0.05", &["stream", "3000"]);
    let want = frames(&tshark(&capture, "tcp.analysis.retransmission", DIRECTION));
    eprintln!("loss: tshark's retransmissions per direction: {want:?}");
    assert!(want.values().sum::<u64>() > 0, "nothing lost: send more");

    // Every direction, those where tshark found none included.
    for (way, n) in &totals(&records, "retransmitted_packets") {
        assert_eq!(*n, want.get(way).copied().unwrap_or(0), "{way}");
    }
}
