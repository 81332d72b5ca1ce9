//! `mirrorflow live` on real interfaces (issue 7), only inside network
//! namespaces each test creates and deletes (even when it fails), sending
//! only to addresses inside them. Needs root, `ip`/`tc` (iproute2),
//! tcpreplay, python3 and curl: scripts/deps.sh installs them. They are
//! `#[ignore]`d, so a plain `cargo test` lists them as ignored; scripts/test.sh
//! runs them (`-- --ignored`) when it is root, and says so when it is not.
//! tests/ipfix.rs borrows the namespace helpers for its live test.
//!
//! Every namespace has IPv6 switched off before its interfaces come up, so
//! the kernel sends nothing of its own (router solicitations, MLD) and the
//! packets seen are exactly the packets sent.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        mpsc::{self, Receiver},
        Arc, Mutex,
    },
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

use crate::common::{eth_udp4, fixture, mirrorflow, parse_records, scratch};

/// Why every test here is ignored by a plain `cargo test`: they run only
/// when asked for (`-- --ignored`), which scripts/test.sh does as root, so
/// a run without root shows them as ignored, never as passed.
pub(crate) const NEEDS_ROOT: &str =
    "needs root (network namespaces): scripts/test.sh runs it as root";

/// Fails a live test run without root: it was asked for, so it must run.
pub(crate) fn require_root() {
    let uid = Command::new("id").arg("-u").output().expect("run id");
    assert!(
        String::from_utf8_lossy(&uid.stdout).trim() == "0",
        "{NEEDS_ROOT}: this process is not root"
    );
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (install it: see .ci/run): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace of this test, deleted on drop.
pub(crate) struct Netns {
    name: String,
}

impl Netns {
    pub(crate) fn new(tag: &str) -> Netns {
        let name = format!("mf-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name (for `ip netns exec NAME`).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `program args` inside the namespace.
    pub(crate) fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs a command inside the namespace and checks it succeeded.
    pub(crate) fn exec(&self, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// A veth pair `veth0`–`veth1` inside the namespace, both up, MTU 9000
    /// (fixtures hold frames larger than 1514 bytes).
    pub(crate) fn veth_pair(&self) {
        self.exec(&[
            "ip", "link", "add", "veth0", "mtu", "9000", "type", "veth", "peer", "name", "veth1",
            "mtu", "9000",
        ]);
        self.exec(&["ip", "link", "set", "veth0", "up"]);
        self.exec(&["ip", "link", "set", "veth1", "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A child process killed on drop (declare it after its namespace, so it
/// dies first).
pub(crate) struct Running {
    child: Child,
    stdout: Receiver<(SystemTime, String)>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub(crate) fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send((SystemTime::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (err, lines) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Waits for a stderr line containing `text`.
    pub(crate) fn wait_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.stderr.lock().unwrap().iter().any(|l| l.contains(text)) {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("exited ({status}) before '{text}':\n{}", self.stderr());
            }
            assert!(Instant::now() < deadline, "no '{text}':\n{}", self.stderr());
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next stdout line, waiting at most `timeout`.
    pub(crate) fn line(&self, timeout: Duration) -> Option<(SystemTime, String)> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// `kill -SIGNAL` (`ip netns exec` execs its command: the pid is the program's).
    pub(crate) fn signal(&self, signal: &str) {
        run(
            "kill",
            &[&format!("-{signal}"), &self.child.id().to_string()],
        );
    }

    /// Waits for the exit (at most 30 s) and returns the rest of stdout.
    pub(crate) fn wait(&mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "still running:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        while let Ok((_, line)) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            rest.push(line);
        }
        // Let the stderr thread read to the end.
        thread::sleep(Duration::from_millis(100));
        (status, rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mirrorflow live ARGS` inside `ns`, once it says it is capturing.
pub(crate) fn live(ns: &Netns, args: &[&str]) -> Running {
    let mut command = ns.command(env!("CARGO_BIN_EXE_mirrorflow"));
    command.arg("live").args(args);
    let mut running = Running::spawn(command);
    running.wait_stderr("capturing on");
    running
}

/// A fresh namespace with a veth pair, and `mirrorflow live -i veth1 FLAGS
/// -o DIR/flows.json --stats DIR/stats.json` capturing on veth1.
struct VethRun {
    ns: Netns,
    dir: PathBuf,
    out: PathBuf,
    stats: PathBuf,
    capture: Running,
}

fn veth_run(name: &str, flags: &[&str]) -> VethRun {
    require_root();
    let dir = scratch(&format!("live-{name}"));
    let ns = Netns::new(name);
    ns.veth_pair();
    let (out, stats) = (dir.join("flows.json"), dir.join("stats.json"));
    let mut args = vec!["-i", "veth1"];
    args.extend_from_slice(flags);
    args.extend([
        "-o",
        out.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    let capture = live(&ns, &args);
    VethRun {
        ns,
        dir,
        out,
        stats,
        capture,
    }
}

/// Sends one Ethernet frame on an interface, `count` times (0: until
/// SIGTERM), printing the running count every `every` frames and sleeping
/// `pause` seconds there (pacing), and `sent N` at the end.
const SENDER: &str = r#"
import signal, socket, sys, time
iface, frame, count, every, pause = sys.argv[1], bytes.fromhex(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
n = 0
while not stop and (count == 0 or n < count):
    s.send(frame)
    n += 1
    if n % every == 0:
        print(n, flush=True)
        time.sleep(pause)
print("sent", n, flush=True)
"#;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts the sender inside `ns`.
fn sender(ns: &Netns, iface: &str, frame: &[u8], count: u64, every: u64, pause: f64) -> Running {
    let mut command = ns.command("python3");
    command.args([
        "-c",
        SENDER,
        iface,
        &hex(frame),
        &count.to_string(),
        &every.to_string(),
        &pause.to_string(),
    ]);
    Running::spawn(command)
}

/// Sends `count` copies of `frame` and waits until they are sent.
pub(crate) fn send(ns: &Netns, iface: &str, frame: &[u8], count: u64) {
    let mut sender = sender(ns, iface, frame, count, count.max(1), 0.0);
    let (status, lines) = sender.wait();
    assert!(status.success(), "sender: {}", sender.stderr());
    assert_eq!(lines.last(), Some(&format!("sent {count}")));
}

fn stats(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("stats written")).unwrap()
}

fn records(path: &Path) -> Vec<Value> {
    parse_records(&std::fs::read(path).expect("records written"))
}

/// Packets and bytes per flow key (observation point included, interval,
/// interface and times left out: they differ between a replay and a live run).
fn totals(records: &[Value]) -> BTreeMap<String, (u64, u64, u64)> {
    let mut map = BTreeMap::new();
    for r in records {
        let key = format!(
            "{} {} {} {} {} {}",
            r["connection"],
            r["mirror"]["encap"],
            r["mirror"]["vni"],
            r["mirror"]["session_id"],
            r["icmp_type"],
            r["icmp_code"],
        );
        let entry = map.entry(key).or_insert((0, 0, 0));
        entry.0 += r["packets_sent"].as_u64().unwrap();
        entry.1 += r["bytes_sent"].as_u64().unwrap();
        entry.2 += r["payload_bytes"].as_u64().unwrap();
    }
    map
}

fn sum(records: &[Value], field: &str) -> u64 {
    records.iter().map(|r| r[field].as_u64().unwrap()).sum()
}

/// A UDP frame of flow 192.0.2.1:`sport` → 192.0.2.2:9 with `payload` bytes.
pub(crate) fn udp_frame(sport: u16, payload: usize) -> Vec<u8> {
    eth_udp4([192, 0, 2, 1], [192, 0, 2, 2], sport, 9, payload)
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_fixtures_sent_on_a_veth_give_replays_totals() {
    // Binding order: `capture` is dropped (killed) before `ns` goes.
    let VethRun {
        ns,
        dir,
        out,
        stats: stats_path,
        mut capture,
    } = veth_run("replay", &["--duration", "3"]);
    // Tunnels (VXLAN, also behind an outer VLAN; Geneve; GRE; ERSPAN I),
    // stacked VLANs and MPLS, fragments, a 3103-frame realistic pcapng.
    let captures: Vec<String> = [
        "ndpi-alexa-app.pcapng",
        "ndpi-synscan.pcap",
        "tcpdump-vxlan.pcap",
        "ndpi-vxlan.pcap",
        "tcpdump-geneve.pcap",
        "zeek-gre-sample.pcap",
        "tcpdump-erspan-type-i.pcap",
        "zeek-vlan-qinqinq.pcap",
        "zeek-mixed-vlan-mpls.pcap",
        "zeek-ipv4-fragmented.pcap",
        "zeek-ipv6-fragmented-dns.pcap",
    ]
    .iter()
    .map(|name| fixture(name).to_str().unwrap().to_owned())
    .collect();
    let mut tcpreplay = ns.command("tcpreplay");
    tcpreplay.args(["-q", "-t", "-i", "veth0"]).args(&captures);
    let sent = tcpreplay
        .output()
        .expect("tcpreplay (apt-get install tcpreplay)");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let (status, _) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());

    let replay_out = dir.join("replay.json");
    let replay_stats = dir.join("replay-stats.json");
    let mut args = vec![
        "replay",
        "-q",
        "-o",
        replay_out.to_str().unwrap(),
        "--stats",
        replay_stats.to_str().unwrap(),
    ];
    args.extend(captures.iter().map(String::as_str));
    let replayed = mirrorflow(&args);
    assert!(replayed.status.success());

    let (live_stats, replay_stats) = (stats(&stats_path), stats(&replay_stats));
    assert_eq!(live_stats["kernel_drops"], 0);
    assert_eq!(live_stats["interface_drops"], 0);
    assert_eq!(live_stats["packets_read"], replay_stats["packets_read"]);
    assert_eq!(live_stats["kernel_received"], replay_stats["packets_read"]);
    for field in ["packets_counted", "malformed", "non_ip", "unsupported_link"] {
        assert_eq!(live_stats[field], replay_stats[field], "{field}");
    }
    let (live_totals, replay_totals) = (totals(&records(&out)), totals(&records(&replay_out)));
    assert!(replay_totals.len() > 2000, "{} keys", replay_totals.len());
    for (key, want) in &replay_totals {
        assert_eq!(live_totals.get(key), Some(want), "{key}");
    }
    assert_eq!(live_totals.len(), replay_totals.len());
}

/// The known exchange of the mirror test: 25 requests of 100 bytes, 25
/// replies of 700.
const EXCHANGE: &str = r#"
import socket, sys
role, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
if role == "server":
    s.bind(("192.0.2.2", 9000))
    print("ready", flush=True)
    for _ in range(n):
        data, peer = s.recvfrom(65535)
        s.sendto(b"r" * 700, peer)
else:
    s.bind(("192.0.2.1", 40000))
    for _ in range(n):
        s.sendto(b"q" * 100, ("192.0.2.2", 9000))
        s.recvfrom(65535)
print("done", flush=True)
"#;

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_tc_mirred_mirror_of_a_udp_exchange() {
    require_root();
    let dir = scratch("live-mirror");
    let (a, b, m) = (Netns::new("ma"), Netns::new("mb"), Netns::new("mm"));
    // a0 (A, 192.0.2.1) <-> b0 (B, 192.0.2.2); A mirrors a0 both ways to
    // m0, whose peer m1 sits in M, where mirrorflow listens.
    a.exec(&[
        "ip", "link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", &b.name,
    ]);
    a.exec(&[
        "ip", "link", "add", "m0", "type", "veth", "peer", "name", "m1", "netns", &m.name,
    ]);
    a.exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", "a0"]);
    b.exec(&["ip", "addr", "add", "192.0.2.2/24", "dev", "b0"]);
    for (ns, dev) in [(&a, "a0"), (&a, "m0"), (&b, "b0"), (&m, "m1")] {
        ns.exec(&["ip", "link", "set", dev, "up"]);
    }
    a.exec(&["tc", "qdisc", "add", "dev", "a0", "clsact"]);
    for direction in ["ingress", "egress"] {
        a.exec(&[
            "tc", "filter", "add", "dev", "a0", direction, "protocol", "all", "u32", "match",
            "u32", "0", "0", "action", "mirred", "egress", "mirror", "dev", "m0",
        ]);
    }
    let index = {
        let out = m
            .command("cat")
            .arg("/sys/class/net/m1/ifindex")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let (out, stats_path) = (dir.join("mirror.json"), dir.join("stats.json"));
    let mut capture = live(
        &m,
        &[
            "-i",
            "m1",
            "-o",
            out.to_str().unwrap(),
            "--stats",
            stats_path.to_str().unwrap(),
        ],
    );
    let mut server = b.command("python3");
    server.args(["-c", EXCHANGE, "server", "25"]);
    let mut server = Running::spawn(server);
    let ready = server.line(Duration::from_secs(10));
    assert_eq!(
        ready.map(|(_, l)| l),
        Some("ready".into()),
        "{}",
        server.stderr()
    );
    let client = a
        .command("python3")
        .args(["-c", EXCHANGE, "client", "25"])
        .output()
        .unwrap();
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    assert!(server.wait().0.success(), "{}", server.stderr());
    capture.signal("TERM");
    let (status, _) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());

    let records = records(&out);
    let flows = totals(&records);
    assert_eq!(flows.len(), 2, "only the exchange is IP: {flows:#?}");
    let flow = |src: &str, sport: u16, dst: &str, dport: u16| {
        let found: Vec<_> = records
            .iter()
            .filter(|r| {
                let c = &r["connection"];
                c["src_ip"] == src
                    && c["src_port"] == sport
                    && c["dest_ip"] == dst
                    && c["dest_port"] == dport
                    && c["protocol"] == 17
            })
            .collect();
        assert!(
            !found.is_empty(),
            "no record {src}:{sport} -> {dst}:{dport}"
        );
        for r in &found {
            assert_eq!(r["mirror"]["interface"], index, "interface index of m1");
            assert!(r["mirror"]["encap"].is_null());
        }
        let total = |f: &str| found.iter().map(|r| r[f].as_u64().unwrap()).sum::<u64>();
        (
            total("packets_sent"),
            total("bytes_sent"),
            total("payload_bytes"),
        )
    };
    // IPv4 20 + UDP 8 + payload.
    assert_eq!(
        flow("192.0.2.1", 40000, "192.0.2.2", 9000),
        (25, 25 * 128, 25 * 100)
    );
    assert_eq!(
        flow("192.0.2.2", 9000, "192.0.2.1", 40000),
        (25, 25 * 728, 25 * 700)
    );
    let stats = stats(&stats_path);
    assert_eq!(stats["packets_counted"], 50);
    assert_eq!(stats["kernel_drops"], 0);
    // The rest is ARP.
    assert_eq!(
        stats["packets_read"].as_u64(),
        stats["non_ip"].as_u64().map(|n| n + 50)
    );
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_sigterm_mid_stream_counts_every_packet_sent_before_it() {
    // Binding order: `capture` is dropped (killed) before `ns` goes.
    let VethRun {
        ns,
        dir,
        out,
        stats: stats_path,
        mut capture,
    } = veth_run("term", &["--interval", "1"]);
    // A steady stream (about 20k packets/s at most) that goes on through
    // the stop.
    let mut stream = sender(&ns, "veth0", &udp_frame(5001, 64), 0, 20, 0.001);
    let mut before = 0;
    while before < 3000 {
        let (_, line) = stream
            .line(Duration::from_secs(10))
            .expect("sender progress");
        before = line.parse().unwrap();
    }
    // Every packet up to `before` was sent before this signal.
    capture.signal("TERM");
    // A second signal lands while the run drains and flushes: ignored.
    thread::sleep(Duration::from_millis(50));
    capture.signal("INT");
    let (status, _) = capture.wait();
    stream.signal("TERM");
    let (_, lines) = stream.wait();
    let total: u64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("sent "))
        .expect("sender total")
        .parse()
        .unwrap();
    let stderr = capture.stderr();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("SIGINT ignored"), "{stderr}");
    assert!(stderr.contains("run statistics"), "{stderr}");

    // The file is complete: under its final name, alone, every line a record.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    let records = records(&out);
    let counted = sum(&records, "packets_sent");
    let stats = stats(&stats_path);
    assert_eq!(stats["kernel_drops"], 0);
    assert_eq!(stats["packets_counted"], counted);
    assert_eq!(stats["records_written"], records.len() as u64);
    eprintln!("SIGTERM: {before} sent before it, {counted} counted, {total} sent in all");
    assert!(
        before <= counted && counted <= total,
        "sent {before} before the signal, {total} in all; counted {counted}"
    );
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_quiet_link_closes_the_last_interval_on_the_wall_clock() {
    require_root();
    let ns = Netns::new("quiet");
    ns.veth_pair();
    let mut capture = live(
        &ns,
        &[
            "-i",
            "veth1",
            "--interval",
            "1",
            "--lateness",
            "0",
            "-o",
            "-",
        ],
    );
    send(&ns, "veth0", &udp_frame(5003, 32), 10);
    // No packet follows: the records must come from the wall clock, while
    // the run goes on.
    let mut packets = 0;
    while packets < 10 {
        let (at, line) = capture
            .line(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no record without new packets:\n{}", capture.stderr()));
        let record: Value = serde_json::from_str(&line).unwrap();
        packets += record["packets_sent"].as_u64().unwrap();
        let end = crate::common::epoch_text(record["interval_start"].as_str().unwrap())
            .split('.')
            .next()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            + 1.0;
        // How long after its interval ended, for the log only: the test
        // asserts order (the record came while the run goes on, with no
        // packet after it), not time, which a loaded machine stretches.
        let written = at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        eprintln!(
            "quiet link: a record written {:.3} s after its interval ended",
            written - end
        );
        assert!(
            capture.child.try_wait().unwrap().is_none(),
            "still capturing"
        );
    }
    assert_eq!(packets, 10);
    capture.signal("TERM");
    let (status, rest) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());
    assert!(rest.is_empty(), "nothing left to flush: {rest:?}");
}

/// The metrics page, fetched with curl inside the namespace.
pub(crate) fn scrape(ns: &Netns, path: &str) -> (String, String) {
    let out = ns
        .command("curl")
        .args(["-s", "-D", "-", &format!("http://127.0.0.1:9750{path}")])
        .output()
        .expect("curl (apt-get install curl)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_owned(), body.to_owned())
}

/// Sample values by series name (labels included).
pub(crate) fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Scrapes until `packets_total` is `want` (or 20 s pass).
/// Scrapes until `want` packets were read and every one of them went through
/// decoding (the reader publishes both once per batch or tick, not together).
fn scrape_until(ns: &Netns, want: f64) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let values = samples(&scrape(ns, "/metrics").1);
        let handled: f64 = values
            .iter()
            .filter(|(k, _)| {
                k.as_str() == "mirrorflow_packets_counted_total"
                    || k.starts_with("mirrorflow_malformed_packets_total{")
                    || k.as_str() == "mirrorflow_non_ip_packets_total"
            })
            .map(|(_, v)| v)
            .sum();
        if values.get("mirrorflow_packets_total") == Some(&want) && handled >= want {
            return values;
        }
        assert!(
            Instant::now() < deadline,
            "packets_total never {want}: {values:?}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_metrics_rise_during_the_run_and_agree_with_the_statistics() {
    // Binding order: `capture` is dropped (killed) before `ns` goes.
    let VethRun {
        ns,
        out,
        stats: stats_path,
        mut capture,
        ..
    } = veth_run("metrics", &["--metrics", "127.0.0.1:9750"]);
    let (head, body) = scrape(&ns, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    for name in [
        "packets_total",
        "bytes_total",
        "packets_counted_total",
        "malformed_packets_total",
        "kernel_drops_total",
        "interface_drops_total",
        "open_flows",
        "records_written_total",
        "intervals_closed_total",
    ] {
        assert!(
            body.contains(&format!("# TYPE mirrorflow_{name} ")),
            "{name}:\n{body}"
        );
    }
    assert!(scrape(&ns, "/").0.starts_with("HTTP/1.1 404"));

    send(&ns, "veth0", &udp_frame(5004, 100), 300);
    // IPv4 Total Length 10, less than its own header: malformed.
    let mut bad = udp_frame(5005, 100);
    bad[16..18].copy_from_slice(&10u16.to_be_bytes());
    send(&ns, "veth0", &bad, 5);
    let first = scrape_until(&ns, 305.0);
    assert_eq!(first["mirrorflow_packets_counted_total"], 300.0);
    let malformed = |m: &BTreeMap<String, f64>| -> f64 {
        m.iter()
            .filter(|(k, _)| k.starts_with("mirrorflow_malformed_packets_total{reason="))
            .map(|(_, v)| v)
            .sum()
    };
    assert_eq!(malformed(&first), 5.0, "{first:?}");
    assert!(first["mirrorflow_open_flows"] >= 1.0, "{first:?}");

    send(&ns, "veth0", &udp_frame(5006, 200), 200);
    let second = scrape_until(&ns, 505.0);
    for name in ["mirrorflow_bytes_total", "mirrorflow_packets_counted_total"] {
        assert!(
            second[name] > first[name],
            "{name} rose: {first:?} {second:?}"
        );
    }
    capture.signal("TERM");
    let (status, _) = capture.wait();
    assert!(status.success(), "{}", capture.stderr());

    let stats = stats(&stats_path);
    let number = |field: &str| stats[field].as_f64().unwrap();
    assert_eq!(number("packets_read"), second["mirrorflow_packets_total"]);
    assert_eq!(number("bytes_read"), second["mirrorflow_bytes_total"]);
    assert_eq!(
        number("packets_counted"),
        second["mirrorflow_packets_counted_total"]
    );
    assert_eq!(
        number("kernel_drops"),
        second["mirrorflow_kernel_drops_total"]
    );
    assert_eq!(
        number("interface_drops"),
        second["mirrorflow_interface_drops_total"]
    );
    let stats_malformed: f64 = stats["malformed"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert_eq!(stats_malformed, malformed(&second));
    // Records and intervals still open at the scrape were written at the stop.
    assert!(number("records_written") >= second["mirrorflow_records_written_total"]);
    assert!(number("intervals_closed") >= second["mirrorflow_intervals_closed_total"]);
    assert_eq!(number("records_written"), records(&out).len() as f64);
}

#[test]
#[ignore = "needs root (network namespaces): scripts/test.sh runs it as root"]
fn issue_7_live_errors_say_what_to_do_before_capture_starts() {
    require_root();
    let dir = scratch("live-errors");
    let ns = Netns::new("errors");
    ns.veth_pair();
    let out = dir.join("flows.json");
    let attempt = |prefix: &[&str], args: &[&str]| {
        let mut command = ns.command(
            prefix
                .first()
                .copied()
                .unwrap_or(env!("CARGO_BIN_EXE_mirrorflow")),
        );
        if !prefix.is_empty() {
            command
                .args(&prefix[1..])
                .arg(env!("CARGO_BIN_EXE_mirrorflow"));
        }
        let result = command
            .args(["live", "-o", out.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(1), "{args:?}");
        String::from_utf8(result.stderr).unwrap()
    };
    let missing = attempt(&[], &["-i", "nosuch0"]);
    assert!(missing.contains("no interface 'nosuch0'"), "{missing}");
    assert!(
        missing.contains("veth1"),
        "names the interfaces there: {missing}"
    );
    let filter = attempt(&[], &["-i", "veth1", "--bpf", "udp port"]);
    assert!(filter.contains("bad --bpf filter 'udp port'"), "{filter}");
    // Root without CAP_NET_RAW and CAP_NET_ADMIN, as an unprivileged user is.
    let denied = attempt(
        &["setpriv", "--bounding-set", "-net_raw,-net_admin"],
        &["-i", "veth1"],
    );
    assert!(
        denied.contains("no permission to capture on 'veth1'"),
        "{denied}"
    );
    assert!(
        denied.contains("setcap cap_net_raw,cap_net_admin+eip"),
        "{denied}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no output left"
    );
}
