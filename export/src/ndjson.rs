//! Flow-log NDJSON: one record a line, nested as the field names of
//! docs/record.md ("Fields") say, absent values omitted. The names come from [`crate::schema`].
//!
//! The encoder writes bytes directly instead of going through serde: every
//! value is a number, an address, a timestamp or a fixed word, none of which
//! needs escaping, and this is the hottest code of a run with many flows.
//! What keeps it fast, each part measured with `cargo bench --bench hot --
//! export/ndjson` (figures in docs/design.md, "Measured choices"): the fixed text
//! between two values is one copy of a known length, joined at compile time
//! from the schema's names; IPv4 octets come from a table; the calendar is
//! worked out once per hour of packet time and `interval_start` once per
//! interval. The tests check random records, line by line, against a text
//! built independently with serde_json, std's address `Display` and the
//! `time` crate.

use std::{io::Write, net::IpAddr, sync::Arc};

use capture::Timestamp;
use flowagg::{FlowKey, FlowRecord, ObservationPoint};

use crate::{
    address,
    annotate::{Annotation, Annotator, Members, Reporter},
    decimal::number,
    schema,
    time::{render, TimeText, TEXT_LEN},
    RunInfo,
};

/// Bytes encoded before they are handed to the writer.
const FLUSH_AT: usize = 1 << 16;

/// The bytes of texts and of schema field names joined at compile time, so a
/// fixed run of JSON between two values is one copy of a known length.
/// Pushing names and punctuation piece by piece instead ran at 8.2 M
/// records/s against 11.0 M (`cargo bench --bench hot -- export/ndjson`).
macro_rules! text {
    ($($part:tt),+) => {{
        const PARTS: &[&str] = &[$(text!(@part $part)),+];
        const TEXT: [u8; joined_len(PARTS)] = join(PARTS);
        &TEXT
    }};
    (@part $text:literal) => { $text };
    (@part $field:ident) => { schema::$field.name };
}

/// The length of `parts` joined.
const fn joined_len(parts: &[&str]) -> usize {
    let (mut len, mut i) = (0, 0);
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// `parts` joined; `N` is their `joined_len`.
const fn join<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0; N];
    let (mut at, mut i) = (0, 0);
    while i < parts.len() {
        let part = parts[i].as_bytes();
        let mut j = 0;
        while j < part.len() {
            out[at] = part[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    out
}

/// Writes records as JSON lines into `W`.
#[derive(Debug)]
pub struct NdjsonWriter<W: Write> {
    out: W,
    lines: Lines,
    /// The run's annotator, when it annotates anything.
    annotator: Option<Arc<Annotator>>,
}

impl<W: Write> NdjsonWriter<W> {
    /// A writer of records of a run with these sampling rates.
    pub fn new(out: W, run: RunInfo) -> Self {
        NdjsonWriter {
            out,
            lines: Lines::new(&run),
            annotator: run.annotator.is_active().then_some(run.annotator),
        }
    }

    /// Writes each record as one line; every line is handed to the writer
    /// before this returns, so a reader of a live output sees whole lines.
    pub fn write(&mut self, records: &[FlowRecord]) -> std::io::Result<()> {
        for record in records {
            match &self.annotator {
                Some(annotator) => {
                    let note = annotator.annotate(&record.key);
                    for &reporter in note.reporters {
                        self.lines.encode(record, Some((reporter, &note)));
                    }
                }
                None => self.lines.encode(record, None),
            }
            if self.lines.buf.len() >= FLUSH_AT {
                self.out.write_all(&self.lines.buf)?;
                self.lines.buf.clear();
            }
        }
        self.out.write_all(&self.lines.buf)?;
        self.lines.buf.clear();
        Ok(())
    }

    /// Flushes the underlying writer, so a reader of a live output (a pipe,
    /// `tail -f`) sees every line written so far.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer (flush it yourself).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The encoder, apart from the writer. It is not generic, so it is compiled
/// and optimised once, in this crate, whatever `W` and the calling crate:
/// as a method of `NdjsonWriter<W>` it was compiled into each caller, and
/// what got inlined there followed the caller's code (the same encoder ran
/// at 12.0 M records/s in one build of the bench and 9.7 M in the next,
/// after an unrelated change to another bench of the file).
#[derive(Debug)]
struct Lines {
    /// Encoded lines not yet handed to the writer.
    buf: Vec<u8>,
    /// `,"sampling":{…}}` and the newline: the same for every record of a run.
    tail: Vec<u8>,
    times: TimeText,
    /// The last `interval_start` and its text: every record of an interval
    /// repeats it.
    interval_start: (Timestamp, [u8; TEXT_LEN]),
}

impl Lines {
    fn new(run: &RunInfo) -> Self {
        let mut tail = text!(",\"", SAMPLING, "\":{\"", FLOW_RATE, "\":").to_vec();
        // serde_json's float text (shortest round-trip), as analytics tools read it.
        serde_json::to_writer(&mut tail, &run.flow_rate).expect("writing to a Vec");
        tail.extend_from_slice(text!(",\"", PACKET_RATE, "\":"));
        serde_json::to_writer(&mut tail, &run.packet_rate).expect("writing to a Vec");
        tail.extend_from_slice(b"}}\n");
        Lines {
            buf: Vec::with_capacity(FLUSH_AT + 1024),
            tail,
            times: TimeText::default(),
            interval_start: (Timestamp(0), render(Timestamp(0))),
        }
    }

    /// Encodes `r` as one line, with this line's `reporter` and the
    /// record's annotation when the run annotates.
    fn encode(&mut self, r: &FlowRecord, note: Option<(Option<Reporter>, &Annotation)>) {
        let b = &mut self.buf;
        connection(b, &r.key);
        b.extend_from_slice(text!(",\"", START_TIME, "\":\""));
        self.times.write(r.first, b);
        b.extend_from_slice(text!("\",\"", END_TIME, "\":\""));
        self.times.write(r.last, b);
        b.extend_from_slice(text!("\",\"", INTERVAL_START, "\":\""));
        if self.interval_start.0 != r.interval.start {
            self.interval_start = (r.interval.start, render(r.interval.start));
        }
        b.extend_from_slice(&self.interval_start.1);
        b.extend_from_slice(text!("\",\"", INTERVAL_SECS, "\":"));
        number(b, r.interval.secs);
        b.extend_from_slice(text!(",\"", BYTES_SENT, "\":"));
        number(b, r.bytes);
        b.extend_from_slice(text!(",\"", PAYLOAD_BYTES, "\":"));
        number(b, r.payload_bytes);
        b.extend_from_slice(text!(",\"", PACKETS_SENT, "\":"));
        number(b, r.packets);
        if let Some(flags) = r.tcp_flags() {
            b.extend_from_slice(text!(",\"", TCP_FLAGS, "\":"));
            number(b, flags);
        }
        mirror(b, &r.observation);
        if r.partial {
            b.extend_from_slice(text!(",\"", PARTIAL, "\":true"));
        }
        if let Some((reporter, note)) = note {
            annotations(b, reporter, note);
        }
        if let Some(msec) = r.rtt_msec() {
            b.extend_from_slice(text!(",\"", RTT_MSEC, "\":"));
            number(b, msec);
        }
        if let Some(count) = r.retransmitted_packets {
            b.extend_from_slice(text!(",\"", RETRANSMITTED_PACKETS, "\":"));
            number(b, count);
        }
        b.extend_from_slice(&self.tail);
    }
}

/// `{"connection":{…}` and the ICMP fields: the flow key.
#[inline]
fn connection(b: &mut Vec<u8>, k: &FlowKey) {
    let ports = k.ports();
    b.extend_from_slice(text!("{\"", CONNECTION, "\":{\"", SRC_IP, "\":\""));
    ip(b, k.src_ip());
    if let Some((src, _)) = ports {
        b.extend_from_slice(text!(",\"", SRC_PORT, "\":"));
        number(b, src);
    }
    b.extend_from_slice(text!(",\"", DEST_IP, "\":\""));
    ip(b, k.dst_ip());
    if let Some((_, dst)) = ports {
        b.extend_from_slice(text!(",\"", DEST_PORT, "\":"));
        number(b, dst);
    }
    b.extend_from_slice(text!(",\"", PROTOCOL, "\":"));
    number(b, k.proto);
    b.push(b'}');
    if let Some((icmp_type, icmp_code)) = k.icmp() {
        b.extend_from_slice(text!(",\"", ICMP_TYPE, "\":"));
        number(b, icmp_type);
        b.extend_from_slice(text!(",\"", ICMP_CODE, "\":"));
        number(b, icmp_code);
    }
}

/// `,"mirror":{…}`: the observation point.
#[inline]
fn mirror(b: &mut Vec<u8>, point: &ObservationPoint) {
    b.extend_from_slice(text!(",\"", MIRROR, "\":{"));
    if let Some(encap) = point.encap {
        b.extend_from_slice(text!("\"", ENCAP, "\":\""));
        b.extend_from_slice(encap.name().as_bytes());
        b.extend_from_slice(b"\",");
    }
    if let Some(vni) = point.vni {
        b.extend_from_slice(text!("\"", VNI, "\":"));
        number(b, vni);
        b.push(b',');
    }
    if let Some(id) = point.session_id {
        b.extend_from_slice(text!("\"", SESSION_ID, "\":"));
        number(b, id);
        b.push(b',');
    }
    b.extend_from_slice(text!("\"", INTERFACE, "\":"));
    number(b, point.interface);
    b.push(b'}');
}

/// `,"reporter":…` and the annotation objects of one line, each left out
/// when absent (docs/annotate.md). Not on the path of a run without
/// annotations, so it may take its text from the schema at run time and
/// escape the inventory's text through serde_json.
fn annotations(b: &mut Vec<u8>, reporter: Option<Reporter>, note: &Annotation) {
    if let Some(reporter) = reporter {
        b.extend_from_slice(text!(",\"", REPORTER, "\":\""));
        b.extend_from_slice(reporter.name().as_bytes());
        b.push(b'"');
    }
    object(b, schema::SRC_INSTANCE, note.src.instance());
    object(b, schema::DEST_INSTANCE, note.dest.instance());
    object(b, schema::SRC_VPC, note.src.vpc());
    object(b, schema::DEST_VPC, note.dest.vpc());
    object(b, schema::SRC_LOCATION, note.src.location());
    object(b, schema::DEST_LOCATION, note.dest.location());
}

/// `,"field":{…}`: its text members in the order of the field's children,
/// then its number (the child after them), absent ones left out; nothing
/// when `members` is `None`.
fn object<const K: usize>(b: &mut Vec<u8>, field: schema::Field, members: Option<Members<K>>) {
    let Some((text, asn)) = members else {
        return;
    };
    b.extend_from_slice(b",\"");
    b.extend_from_slice(field.name.as_bytes());
    b.extend_from_slice(b"\":{");
    let mut first = true;
    let mut member = |b: &mut Vec<u8>, child: &schema::Field| {
        if !first {
            b.push(b',');
        }
        first = false;
        b.push(b'"');
        b.extend_from_slice(child.name.as_bytes());
        b.extend_from_slice(b"\":");
    };
    let children = field.children();
    for (child, value) in children.iter().zip(text) {
        if let Some(value) = value {
            member(b, child);
            serde_json::to_writer(&mut *b, value).expect("writing to a Vec");
        }
    }
    if let (Some(child), Some(value)) = (children.get(K), asn) {
        member(b, child);
        number(b, value);
    }
    b.push(b'}');
}

/// An address and its closing quote.
#[inline]
fn ip(b: &mut Vec<u8>, addr: IpAddr) {
    address::write(b, addr);
    b.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use capture::decode::EncapKind;
    use flowagg::Interval;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::*;
    use crate::testing::annotated_run;
    use crate::time::tests::{by_time, timestamp};

    /// A record built from a decoded packet, so that the key is a real one.
    /// Tunnels are not peeled: UDP to 4789 or 6081 is a flow of its own.
    fn record(packet: &[u8], link: capture::LinkType, observation: ObservationPoint) -> FlowRecord {
        FlowRecord {
            packets: 3,
            payload_bytes: 7,
            first: Timestamp::from_parts(1_700_000_003, 1),
            partial: true,
            ..crate::testing::record_of(packet, link, observation)
        }
    }

    /// The lines one writer writes for `records`, as text and as parsed.
    fn lines(records: &[FlowRecord], run: RunInfo) -> Vec<(String, Value)> {
        let mut w = NdjsonWriter::new(Vec::new(), run);
        w.write(records).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert!(
            text.matches('\n').count() == records.len()
                && (records.is_empty() || text.ends_with('\n')),
            "{text:?}"
        );
        text.lines()
            .map(|line| (line.to_owned(), serde_json::from_str(line).unwrap()))
            .collect()
    }

    fn line(r: &FlowRecord, run: RunInfo) -> Value {
        lines(std::slice::from_ref(r), run).remove(0).1
    }

    #[test]
    fn tcp_over_ipv6_through_vxlan() {
        let mut packet = Vec::new();
        etherparse::PacketBuilder::ipv6(
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd],
            64,
        )
        .tcp(443, 50000, 1, 1000)
        .write(&mut packet, &[])
        .unwrap();
        let point = ObservationPoint {
            interface: 2,
            encap: Some(EncapKind::Vxlan),
            vni: Some(4096),
            session_id: Some(9),
        };
        let r = FlowRecord {
            rtt_usec: Some(24_500),
            retransmitted_packets: Some(3),
            ..record(&packet, capture::LinkType::RAW, point)
        };
        let got = line(
            &r,
            RunInfo {
                flow_rate: 0.25,
                packet_rate: 0.1,
                ..RunInfo::default()
            },
        );
        let want = json!({
            "connection": {"src_ip": "2001:db8::1", "src_port": 443, "dest_ip": "fe80::abcd", "dest_port": 50000, "protocol": 6},
            "start_time": "2023-11-14T22:13:23.000000001Z",
            "end_time": "2023-11-14T22:13:24.999999999Z",
            "interval_start": "2023-11-14T22:13:20.000000000Z",
            "interval_secs": 5,
            "bytes_sent": 4_294_967_296_000u64,
            "payload_bytes": 7,
            "packets_sent": 3,
            "tcp_flags": 18,
            "mirror": {"encap": "vxlan", "vni": 4096, "session_id": 9, "interface": 2},
            "partial": true,
            "rtt_msec": 25,
            "retransmitted_packets": 3,
            "sampling": {"flow_rate": 0.25, "packet_rate": 0.1}
        });
        assert_eq!(got, want);
    }

    #[test]
    fn icmp_over_ipv4_without_ports_or_tunnel() {
        let mut packet = Vec::new();
        etherparse::PacketBuilder::ipv4([255, 0, 10, 1], [0, 0, 0, 0], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut packet, &[1, 2, 3])
            .unwrap();
        let mut r = record(&packet, capture::LinkType::RAW, ObservationPoint::default());
        r.partial = false;
        let got = line(&r, RunInfo::default());
        let want = json!({
            "connection": {"src_ip": "255.0.10.1", "dest_ip": "0.0.0.0", "protocol": 1},
            "icmp_type": 8,
            "icmp_code": 0,
            "start_time": "2023-11-14T22:13:23.000000001Z",
            "end_time": "2023-11-14T22:13:24.999999999Z",
            "interval_start": "2023-11-14T22:13:20.000000000Z",
            "interval_secs": 5,
            "bytes_sent": 4_294_967_296_000u64,
            "payload_bytes": 7,
            "packets_sent": 3,
            "mirror": {"interface": 0},
            "sampling": {"flow_rate": 1.0, "packet_rate": 1.0}
        });
        assert_eq!(got, want);
    }

    #[test]
    fn inventory_fills_instance_and_vpc_objects_of_each_end() {
        let r = crate::testing::record_10_0_0_1_to_2();
        let hosts = "cidr,vm_name,project_id,zone,region,vpc_name,subnetwork_name\n\
                     10.0.0.1,\"web \"\"1\"\"\",shop,eu-b,eu,,\n\
                     10.0.0.0/24,,,,,prod,\n";
        let got = line(
            &r,
            annotated_run("ndjson-inventory", &[], false, Some(hosts)),
        );
        assert_eq!(got["reporter"], "SRC");
        assert_eq!(
            got["src_instance"],
            json!({"vm_name": "web \"1\"", "project_id": "shop", "zone": "eu-b", "region": "eu"})
        );
        assert_eq!(got["src_vpc"], json!({"project_id": "shop"}));
        assert!(got.get("dest_instance").is_none(), "{got}");
        assert_eq!(got["dest_vpc"], json!({"vpc_name": "prod"}));
    }

    #[test]
    fn reporter_is_the_local_end_and_both_ends_give_two_lines() {
        let r = crate::testing::record_10_0_0_1_to_2();
        let reporters = |run: RunInfo| -> Vec<Option<String>> {
            let mut w = NdjsonWriter::new(Vec::new(), run);
            w.write(std::slice::from_ref(&r)).unwrap();
            let text = String::from_utf8(w.into_inner()).unwrap();
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let first = lines[0].clone();
            lines
                .into_iter()
                .map(|mut v| {
                    let reporter = v.as_object_mut().unwrap().remove("reporter");
                    let mut first = first.clone();
                    first.as_object_mut().unwrap().remove("reporter");
                    // Apart from `reporter`, the lines are the same record.
                    assert_eq!(v, first);
                    reporter.map(|v| v.as_str().unwrap().to_owned())
                })
                .collect()
        };
        let src = || Some("SRC".to_owned());
        let dest = || Some("DEST".to_owned());
        assert_eq!(
            reporters(annotated_run("ndjson", &["10.0.0.1/32"], false, None)),
            [src()]
        );
        assert_eq!(
            reporters(annotated_run("ndjson", &["10.0.0.2/32"], true, None)),
            [dest()]
        );
        assert_eq!(
            reporters(annotated_run("ndjson", &["10.0.0.0/8"], false, None)),
            [src()]
        );
        assert_eq!(
            reporters(annotated_run("ndjson", &["10.0.0.0/8"], true, None)),
            [src(), dest()]
        );
        assert_eq!(
            reporters(annotated_run("ndjson", &["192.168.0.0/16"], true, None)),
            [None]
        );
        assert_eq!(reporters(RunInfo::default()), [None]);
    }

    /// What a random record says. The test builds the record from it (the
    /// key through a real packet) and, independently, the line the spec asks
    /// for.
    #[derive(Debug, Clone)]
    struct Facts {
        src: IpAddr,
        dst: IpAddr,
        transport: Transport,
        interval: Interval,
        first: Timestamp,
        last: Timestamp,
        counts: [u64; 3],
        tcp_flags: u8,
        /// TCP analysis: the round trip in microseconds and retransmissions.
        rtt_usec: Option<u32>,
        retransmitted: Option<u32>,
        partial: bool,
        interface: u32,
        encap: Option<(EncapKind, &'static str)>,
        vni: Option<u32>,
        session_id: Option<u32>,
    }

    #[derive(Debug, Clone, Copy)]
    enum Transport {
        Tcp(u16, u16),
        Udp(u16, u16),
        /// ICMP or ICMPv6, as the address family says: type and code.
        Icmp(u8, u8),
        /// A protocol without ports (IGMP, OSPF, PIM, VRRP).
        Other(u8),
    }

    impl Facts {
        fn record(&self) -> FlowRecord {
            let ip = match (self.src, self.dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    etherparse::PacketBuilder::ipv4(s.octets(), d.octets(), 64)
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    etherparse::PacketBuilder::ipv6(s.octets(), d.octets(), 64)
                }
                _ => unreachable!("the strategy draws one family per record"),
            };
            let mut packet = Vec::new();
            match self.transport {
                Transport::Tcp(s, d) => ip.tcp(s, d, 1, 1000).write(&mut packet, &[]),
                Transport::Udp(s, d) => ip.udp(s, d).write(&mut packet, &[]),
                Transport::Icmp(t, c) if self.src.is_ipv6() => {
                    ip.icmpv6_raw(t, c, [0; 4]).write(&mut packet, &[])
                }
                Transport::Icmp(t, c) => ip.icmpv4_raw(t, c, [0; 4]).write(&mut packet, &[]),
                Transport::Other(p) => ip.write(&mut packet, etherparse::IpNumber(p), &[0; 8]),
            }
            .unwrap();
            let observation = ObservationPoint {
                interface: self.interface,
                encap: self.encap.map(|(kind, _)| kind),
                vni: self.vni,
                session_id: self.session_id,
            };
            let [packets, bytes, payload_bytes] = self.counts;
            FlowRecord {
                interval: self.interval,
                packets,
                bytes,
                payload_bytes,
                first: self.first,
                last: self.last,
                tcp_flags: self.tcp_flags,
                rtt_usec: self.rtt_usec,
                retransmitted_packets: self.retransmitted,
                partial: self.partial,
                ..record(&packet, capture::LinkType::RAW, observation)
            }
        }

        /// The line docs/record.md ("Fields") describes, member by member in its
        /// order, each value as serde_json writes it and each timestamp as
        /// the `time` crate formats it.
        fn line(&self, run: &RunInfo) -> String {
            let (protocol, ports, icmp) = match self.transport {
                Transport::Tcp(s, d) => (6, Some((s, d)), None),
                Transport::Udp(s, d) => (17, Some((s, d)), None),
                Transport::Icmp(t, c) => {
                    (if self.src.is_ipv6() { 58 } else { 1 }, None, Some((t, c)))
                }
                Transport::Other(p) => (p, None, None),
            };
            let [packets, bytes, payload_bytes] = self.counts;
            let connection = object(&[
                ("src_ip", Some(text(self.src.to_string()))),
                ("src_port", ports.map(|(s, _)| text(s))),
                ("dest_ip", Some(text(self.dst.to_string()))),
                ("dest_port", ports.map(|(_, d)| text(d))),
                ("protocol", Some(text(protocol))),
            ]);
            let mirror = object(&[
                ("encap", self.encap.map(|(_, name)| text(name))),
                ("vni", self.vni.map(text)),
                ("session_id", self.session_id.map(text)),
                ("interface", Some(text(self.interface))),
            ]);
            let sampling = object(&[
                ("flow_rate", Some(text(run.flow_rate))),
                ("packet_rate", Some(text(run.packet_rate))),
            ]);
            object(&[
                ("connection", Some(connection)),
                ("icmp_type", icmp.map(|(t, _)| text(t))),
                ("icmp_code", icmp.map(|(_, c)| text(c))),
                ("start_time", Some(text(by_time(self.first)))),
                ("end_time", Some(text(by_time(self.last)))),
                ("interval_start", Some(text(by_time(self.interval.start)))),
                ("interval_secs", Some(text(self.interval.secs))),
                ("bytes_sent", Some(text(bytes))),
                ("payload_bytes", Some(text(payload_bytes))),
                ("packets_sent", Some(text(packets))),
                ("tcp_flags", (protocol == 6).then(|| text(self.tcp_flags))),
                ("mirror", Some(mirror)),
                ("partial", self.partial.then(|| text(true))),
                // Milliseconds, rounded half up.
                (
                    "rtt_msec",
                    self.rtt_usec
                        .map(|us| text((f64::from(us) / 1000.0 + 0.5).floor() as u64)),
                ),
                ("retransmitted_packets", self.retransmitted.map(text)),
                ("sampling", Some(sampling)),
            ])
        }
    }

    /// `value` as serde_json writes it.
    fn text(value: impl Into<Value>) -> String {
        value.into().to_string()
    }

    /// A JSON object of the members present, in the order given.
    fn object(members: &[(&str, Option<String>)]) -> String {
        let present: Vec<String> = members
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("\"{name}\":{v}")))
            .collect();
        format!("{{{}}}", present.join(","))
    }

    /// IPv6 addresses with runs of zero groups, where RFC 5952 shortens, and
    /// IPv4-mapped ones, which it writes with a dotted tail.
    fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
        prop_oneof![
            proptest::array::uniform8(prop_oneof![Just(0u16), any::<u16>()])
                .prop_map(Ipv6Addr::from),
            any::<[u8; 4]>().prop_map(|a| Ipv4Addr::from(a).to_ipv6_mapped()),
        ]
    }

    fn addresses() -> impl Strategy<Value = (IpAddr, IpAddr)> {
        prop_oneof![
            3 => any::<([u8; 4], [u8; 4])>().prop_map(|(s, d)| (s.into(), d.into())),
            1 => (ipv6(), ipv6()).prop_map(|(s, d)| (s.into(), d.into())),
        ]
    }

    fn transport() -> impl Strategy<Value = Transport> {
        prop_oneof![
            any::<(u16, u16)>().prop_map(|(s, d)| Transport::Tcp(s, d)),
            any::<(u16, u16)>().prop_map(|(s, d)| Transport::Udp(s, d)),
            any::<(u8, u8)>().prop_map(|(t, c)| Transport::Icmp(t, c)),
            proptest::sample::select(vec![2, 89, 103, 112]).prop_map(Transport::Other),
        ]
    }

    fn encap() -> impl Strategy<Value = (EncapKind, &'static str)> {
        proptest::sample::select(vec![
            (EncapKind::Vxlan, "vxlan"),
            (EncapKind::Geneve, "geneve"),
            (EncapKind::Gre, "gre"),
            (EncapKind::Erspan1, "erspan1"),
            (EncapKind::Erspan2, "erspan2"),
            (EncapKind::Erspan3, "erspan3"),
        ])
    }

    /// Small numbers as often as any: a number's width changes at every
    /// power of ten, and uniform draws are nearly all wide.
    fn small_or_any<T: Arbitrary + From<u8>>() -> impl Strategy<Value = T> {
        prop_oneof![any::<u8>().prop_map(T::from), any::<T>()]
    }

    prop_compose! {
        fn facts()(
            (src, dst) in addresses(),
            transport in transport(),
            (first, last, start) in (timestamp(), timestamp(), timestamp()),
            secs in 1..=3600u32,
            counts in proptest::array::uniform3(small_or_any::<u64>()),
            (tcp_flags, partial) in any::<(u8, bool)>(),
            (rtt_usec, retransmitted) in (proptest::option::of(small_or_any::<u32>()), proptest::option::of(small_or_any::<u32>())),
            interface in small_or_any::<u32>(),
            encap in proptest::option::of(encap()),
            vni in proptest::option::of(small_or_any::<u32>()),
            session_id in proptest::option::of(small_or_any::<u32>()),
        ) -> Facts {
            Facts {
                src,
                dst,
                transport,
                interval: Interval { start, secs },
                first,
                last,
                counts,
                tcp_flags,
                rtt_usec,
                retransmitted,
                partial,
                interface,
                encap,
                vni,
                session_id,
            }
        }
    }

    /// A sampling rate: 1/N of `--packet-sample N`, or any R of `--flow-sample R`.
    fn rate() -> impl Strategy<Value = f64> {
        prop_oneof![
            (1..=1_000_000u32).prop_map(|n| 1.0 / f64::from(n)),
            f64::MIN_POSITIVE..=1.0,
        ]
    }

    proptest! {
        /// Several records through one writer, so that its caches carry
        /// from record to record as in a run.
        #[test]
        fn random_records_are_written_as_the_spec_says(
            facts in proptest::collection::vec(facts(), 1..8),
            (flow_rate, packet_rate) in (rate(), rate()),
        ) {
            let run = RunInfo { flow_rate, packet_rate, ..RunInfo::default() };
            let records: Vec<FlowRecord> = facts.iter().map(Facts::record).collect();
            let got = lines(&records, run.clone());
            for ((text, value), facts) in got.iter().zip(&facts) {
                let want = facts.line(&run);
                // The values first, for a readable difference; then the
                // text, for the field order and the spelling of numbers.
                prop_assert_eq!(value, &serde_json::from_str::<Value>(&want).unwrap());
                prop_assert_eq!(text, &want);
            }
        }
    }
}
