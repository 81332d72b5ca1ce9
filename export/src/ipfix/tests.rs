//! The encoder and writer, read back by `netflow_parser`, an IPFIX decoder
//! written independently of this one.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket},
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use capture::{decode::EncapKind, Timestamp};
use flowagg::{FlowRecord, ObservationPoint};

use super::{
    encode::{Encoder, SAMPLING_TEMPLATE},
    Destination, IpfixCounters, IpfixOptions, IpfixWriter,
};
use crate::RunInfo;

/// A record of `packet` (an IP packet) at `observation`, with distinct
/// counts and nanosecond times.
fn record(packet: &[u8], observation: ObservationPoint) -> FlowRecord {
    FlowRecord {
        packets: 12,
        payload_bytes: 800,
        first: Timestamp::from_parts(1_700_000_003, 123_456_789),
        ..crate::testing::record_of(packet, capture::LinkType::RAW, observation)
    }
}

const V4: ([u8; 4], [u8; 4]) = ([192, 0, 2, 1], [198, 51, 100, 7]);
const V6: ([u8; 16], [u8; 16]) = (
    [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd],
);

fn tcp4(sport: u16) -> Vec<u8> {
    let mut p = Vec::new();
    etherparse::PacketBuilder::ipv4(V4.0, V4.1, 64)
        .tcp(sport, 443, 1, 1000)
        .write(&mut p, &[])
        .unwrap();
    p
}

/// One record of each template: TCP, ICMP and IGMP over IPv4, UDP, ICMPv6
/// and OSPF over IPv6, at a VXLAN, a Geneve and a plain observation point.
fn one_of_each() -> Vec<FlowRecord> {
    let vxlan = ObservationPoint {
        interface: 3,
        encap: Some(EncapKind::Vxlan),
        vni: Some(4096),
        session_id: None,
    };
    let geneve = ObservationPoint {
        encap: Some(EncapKind::Geneve),
        vni: Some(77),
        ..ObservationPoint::default()
    };
    let packet = |build: &dyn Fn(&mut Vec<u8>)| {
        let mut p = Vec::new();
        build(&mut p);
        p
    };
    let icmp4 = packet(&|p| {
        etherparse::PacketBuilder::ipv4(V4.0, V4.1, 64)
            .icmpv4_raw(3, 13, [0; 4])
            .write(p, &[])
            .unwrap()
    });
    let igmp = packet(&|p| {
        etherparse::PacketBuilder::ipv4(V4.0, V4.1, 64)
            .write(p, etherparse::IpNumber(2), &[0; 8])
            .unwrap()
    });
    let udp6 = packet(&|p| {
        etherparse::PacketBuilder::ipv6(V6.0, V6.1, 64)
            .udp(53, 40000)
            .write(p, &[0; 20])
            .unwrap()
    });
    let icmp6 = packet(&|p| {
        etherparse::PacketBuilder::ipv6(V6.0, V6.1, 64)
            .icmpv6_raw(128, 0, [0; 4])
            .write(p, &[])
            .unwrap()
    });
    let ospf6 = packet(&|p| {
        etherparse::PacketBuilder::ipv6(V6.0, V6.1, 64)
            .write(p, etherparse::IpNumber(89), &[0; 8])
            .unwrap()
    });
    let mut partial = record(&igmp, ObservationPoint::default());
    partial.partial = true;
    vec![
        record(&tcp4(1234), vxlan),
        record(&icmp4, geneve),
        partial,
        record(&udp6, vxlan),
        record(&icmp6, ObservationPoint::default()),
        record(&ospf6, geneve),
    ]
}

/// A message as netflow_parser reads it: header fields, and each data
/// record as its elements by IANA id.
#[derive(Debug)]
struct Read {
    sequence: u32,
    domain: u32,
    export_time: u32,
    length: usize,
    /// Template ids defined in the message.
    templates: Vec<u16>,
    /// (template id, elements) of each data record, options records included.
    records: Vec<(u16, BTreeMap<u16, Value>)>,
}

/// An element's value, as the tests compare it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Number(u128),
    Addr(IpAddr),
    Float(f64),
}

/// Reads `messages` (one stream, in order) with netflow_parser. Data
/// records are matched to element ids through the templates it parsed, so
/// a record's elements are checked by IANA number.
fn decode(messages: &[Vec<u8>]) -> Vec<Read> {
    use netflow_parser::{
        variable_versions::{field_value::DataNumber, ipfix::FlowSetBody},
        FieldValue, NetflowPacket, NetflowParser,
    };
    let mut parser = NetflowParser::default();
    // Element ids of each template, as netflow_parser parsed them.
    let mut templates: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    let value = |v: &FieldValue| -> Value {
        match v {
            FieldValue::DataNumber(n) => Value::Number(match n {
                DataNumber::U8(n) => (*n).into(),
                DataNumber::U16(n) => (*n).into(),
                DataNumber::U24(n) | DataNumber::U32(n) => (*n).into(),
                DataNumber::U64(n) => (*n).into(),
                DataNumber::U128(n) => *n,
                other => panic!("a signed or odd number: {other:?}"),
            }),
            FieldValue::Ip4Addr(a) => Value::Addr((*a).into()),
            FieldValue::Ip6Addr(a) => Value::Addr((*a).into()),
            FieldValue::Float64(f) => Value::Float(*f),
            FieldValue::ProtocolType(p) => Value::Number(u8::from(*p).into()),
            FieldValue::TcpControlBits(bits, width) => {
                assert_eq!(*width, 1, "tcpControlBits in one byte");
                Value::Number(u16::from(*bits).into())
            }
            FieldValue::FlowEndReason(r) => Value::Number(u8::from(*r).into()),
            FieldValue::Duration(d) => Value::Number(match d {
                netflow_parser::variable_versions::field_value::DurationValue::Millis {
                    value,
                    ..
                } => (*value).into(),
                netflow_parser::variable_versions::field_value::DurationValue::NanosNtp {
                    seconds,
                    fraction,
                } => (u128::from(*seconds) << 32) | u128::from(*fraction),
                other => panic!("a time not in ms or NTP ns: {other:?}"),
            }),
            FieldValue::Vec(bytes) => {
                Value::Number(bytes.iter().fold(0, |n, b| (n << 8) | u128::from(*b)))
            }
            other => panic!("an unexpected value: {other:?}"),
        }
    };
    let mut out = Vec::new();
    for bytes in messages {
        let result = parser.parse_bytes(bytes);
        assert!(result.error.is_none(), "{:?}", result.error);
        assert_eq!(result.packets.len(), 1, "one message");
        let NetflowPacket::IPFix(ipfix) = &result.packets[0] else {
            panic!("not IPFIX: {:?}", result.packets[0]);
        };
        let mut read = Read {
            sequence: ipfix.header.sequence_number,
            domain: ipfix.header.observation_domain_id,
            export_time: ipfix.header.export_time,
            length: usize::from(ipfix.header.length),
            templates: Vec::new(),
            records: Vec::new(),
        };
        for set in &ipfix.flowsets {
            let id = set.header.header_id;
            let numbers = |fields: &[netflow_parser::variable_versions::ipfix::TemplateField]| {
                fields
                    .iter()
                    .map(|f| f.field_type_number)
                    .collect::<Vec<u16>>()
            };
            let mut records = Vec::new();
            match &set.body {
                FlowSetBody::Template(t) => {
                    templates.insert(t.template_id, numbers(&t.fields));
                    read.templates.push(t.template_id);
                }
                FlowSetBody::Templates(ts) => {
                    for t in ts {
                        templates.insert(t.template_id, numbers(&t.fields));
                        read.templates.push(t.template_id);
                    }
                }
                FlowSetBody::OptionsTemplate(t) => {
                    templates.insert(t.template_id, numbers(&t.fields));
                    read.templates.push(t.template_id);
                }
                FlowSetBody::OptionsTemplates(ts) => {
                    for t in ts {
                        templates.insert(t.template_id, numbers(&t.fields));
                        read.templates.push(t.template_id);
                    }
                }
                FlowSetBody::Data(data) => records.extend(data.fields.iter()),
                FlowSetBody::OptionsData(data) => records.extend(data.fields.iter()),
                other => panic!("set {id}: {other:?}"),
            }
            for record in records {
                let ids = &templates[&id];
                assert_eq!(ids.len(), record.len(), "set {id}: {record:?}");
                let fields = ids
                    .iter()
                    .zip(record)
                    .map(|(ie, (_, v))| (*ie, value(v)))
                    .collect();
                read.records.push((id, fields));
            }
        }
        out.push(read);
    }
    out
}

/// Encodes `records` with `encoder` into messages, as a writer would.
fn encode(encoder: &mut Encoder, records: &[FlowRecord]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut send = |m: super::encode::Message<'_>| out.push(m.bytes.to_vec());
    for r in records {
        encoder.record(r, &mut send, 1_800_000_000);
    }
    encoder.finish(&mut send, 1_800_000_000);
    out
}

/// The flow records' elements of `messages`, in order.
fn flows(read: &[Read]) -> Vec<&BTreeMap<u16, Value>> {
    read.iter()
        .flat_map(|m| &m.records)
        .filter(|(id, _)| (256..=261).contains(id))
        .map(|(_, fields)| fields)
        .collect()
}

fn number(fields: &BTreeMap<u16, Value>, ie: u16) -> u128 {
    match fields.get(&ie) {
        Some(Value::Number(n)) => *n,
        other => panic!("element {ie}: {other:?} in {fields:?}"),
    }
}

fn addr(fields: &BTreeMap<u16, Value>, ie: u16) -> IpAddr {
    match fields.get(&ie) {
        Some(Value::Addr(a)) => *a,
        other => panic!("element {ie}: {other:?} in {fields:?}"),
    }
}

/// NTP time (RFC 7011 §6.1.10) → nanoseconds since the Unix epoch, to the
/// nearest (the fraction has 2^-32 s steps, finer than 1 ns).
fn ntp_nanos(ntp: u128) -> u64 {
    let secs = (ntp >> 32) as u64 - 2_208_988_800;
    let fraction = (ntp & 0xffff_ffff) as u64;
    secs * 1_000_000_000 + ((fraction * 1_000_000_000 + (1 << 31)) >> 32)
}

#[test]
fn every_template_decodes_with_each_element_as_the_record_says() {
    let records = one_of_each();
    let mut encoder = Encoder::new(1400, 9, 1);
    let messages = encode(&mut encoder, &records);
    assert_eq!(messages.len(), 1);
    let read = decode(&messages);
    let m = &read[0];
    assert_eq!(
        (m.sequence, m.domain, m.export_time, m.length),
        (0, 9, 1_800_000_000, messages[0].len())
    );
    assert_eq!(m.templates, vec![256, 257, 258, 259, 260, 261]);
    let got = flows(&read);
    assert_eq!(got.len(), records.len());
    let want_templates = [256, 257, 258, 259, 260, 261];
    for ((r, fields), template) in records.iter().zip(&got).zip(want_templates) {
        let record_template = m.records.iter().find(|(_, f)| f == *fields).unwrap().0;
        assert_eq!(record_template, template);
        let v6 = template >= 259;
        let (src_ie, dst_ie) = if v6 { (27, 28) } else { (8, 12) };
        assert_eq!(addr(fields, src_ie), r.key.src_ip());
        assert_eq!(addr(fields, dst_ie), r.key.dst_ip());
        match (template - 256) % 3 {
            0 => {
                let (s, d) = r.key.ports().unwrap();
                assert_eq!(
                    (number(fields, 7), number(fields, 11)),
                    (s.into(), d.into())
                );
            }
            1 => {
                let (t, c) = r.key.icmp().unwrap();
                let ie = if v6 { 139 } else { 32 };
                assert_eq!(number(fields, ie), u128::from(t) * 256 + u128::from(c));
                assert!(!fields.contains_key(&7) && !fields.contains_key(&11));
            }
            _ => assert!(!fields.contains_key(&7) && !fields.contains_key(&32)),
        }
        assert_eq!(number(fields, 4), r.key.proto.into());
        assert_eq!(number(fields, 6), r.tcp_flags().unwrap_or(0).into());
        assert_eq!(number(fields, 1), r.bytes.into());
        assert_eq!(number(fields, 2), r.packets.into());
        assert_eq!(number(fields, 401), r.payload_bytes.into());
        assert_eq!(number(fields, 152), 1_700_000_003_123);
        assert_eq!(number(fields, 153), 1_700_000_004_999);
        assert_eq!(ntp_nanos(number(fields, 156)), r.first.nanos());
        assert_eq!(ntp_nanos(number(fields, 157)), r.last.nanos());
        assert_eq!(number(fields, 10), r.observation.interface.into());
        let segment = match r.observation.encap {
            Some(EncapKind::Vxlan) => (1 << 56) | 4096,
            _ => 0,
        };
        assert_eq!(number(fields, 351), segment);
        assert_eq!(number(fields, 136), if r.partial { 5 } else { 2 });
    }
    // The ICMP records hold what the NDJSON says: type 3 code 13, type 128.
    assert_eq!(number(got[1], 32), 3 * 256 + 13);
    assert_eq!(number(got[4], 139), 128 * 256);
    assert_eq!(addr(got[3], 27), IpAddr::V6(Ipv6Addr::from(V6.0)));
    assert_eq!(addr(got[0], 8), IpAddr::V4(Ipv4Addr::from(V4.0)));
}

#[test]
fn a_set_split_across_messages_keeps_every_record_in_order() {
    let records: Vec<FlowRecord> = (0..200)
        .map(|i| record(&tcp4(i), ObservationPoint::default()))
        .collect();
    let mut encoder = Encoder::new(576, 1, 1);
    let messages = encode(&mut encoder, &records);
    assert!(messages.len() > 20, "{} messages", messages.len());
    assert!(messages.iter().all(|m| m.len() <= 576));
    let read = decode(&messages);
    assert!(!read[0].templates.is_empty());
    assert!(read[1..].iter().all(|m| m.templates.is_empty()));
    let ports: Vec<u128> = flows(&read).iter().map(|f| number(f, 7)).collect();
    assert_eq!(ports, (0..200).collect::<Vec<u128>>());
    // Each message but the last is full: the next record would not fit.
    for m in &messages[1..messages.len() - 1] {
        assert!(m.len() + 83 + 3 > 576, "{} bytes", m.len());
    }
}

#[test]
fn sequence_numbers_count_the_data_records_before_each_message() {
    let records: Vec<FlowRecord> = (0..100)
        .map(|i| record(&tcp4(i), ObservationPoint::default()))
        .collect();
    // Sampled: the options record is a data record too.
    let mut encoder = Encoder::new(600, 1, 4);
    let mut messages = encode(&mut encoder, &records[..60]);
    messages.extend(encode(&mut encoder, &records[60..]));
    let read = decode(&messages);
    let mut before = 0;
    for m in &read {
        assert_eq!(m.sequence, before);
        before += m.records.len() as u32;
    }
    assert_eq!(before, 101);
    // A new stream (a TCP reconnection) starts again from 0, templates first.
    encoder.new_stream();
    let again = decode(&encode(&mut encoder, &records[..1]));
    assert_eq!(again[0].sequence, 0);
    assert!(again[0].templates.contains(&256));
}

#[test]
fn packet_sampling_is_stated_and_counts_are_the_counted_ones() {
    let r = record(&tcp4(1), ObservationPoint::default());
    let mut encoder = Encoder::new(1400, 1, 4);
    let read = decode(&encode(&mut encoder, &[r]));
    assert!(read[0].templates.contains(&SAMPLING_TEMPLATE));
    let (_, options) = read[0]
        .records
        .iter()
        .find(|(id, _)| *id == SAMPLING_TEMPLATE)
        .expect("the sampling options record");
    assert_eq!(number(options, 149), 1, "scope: the observation domain");
    assert_eq!(number(options, 305), 1);
    assert_eq!(number(options, 306), 3);
    assert_eq!(options.get(&311), Some(&Value::Float(0.25)));
    let flow = flows(&read)[0];
    assert_eq!(number(flow, 2), 3, "12 packets under 1 in 4: 3 counted");
    assert_eq!(number(flow, 1), u128::from(r.bytes / 4));
    // Unsampled: no options template at all.
    let read = decode(&encode(&mut Encoder::new(1400, 1, 1), &[r]));
    assert!(!read[0].templates.contains(&SAMPLING_TEMPLATE));
}

#[test]
fn templates_are_sent_again_when_due_and_alone_when_no_record_is() {
    let r = record(&tcp4(1), ObservationPoint::default());
    let mut encoder = Encoder::new(1400, 1, 1);
    let mut messages = encode(&mut encoder, &[r]);
    messages.extend(encode(&mut encoder, &[r]));
    encoder.templates_due();
    encoder.finish_templates(&mut |m| messages.push(m.bytes.to_vec()), 0);
    // Not due: nothing.
    encoder.finish_templates(&mut |m| messages.push(m.bytes.to_vec()), 0);
    let read = decode(&messages);
    assert_eq!(read.len(), 3);
    assert_eq!(read[0].templates.len(), 6);
    assert!(read[1].templates.is_empty());
    assert_eq!(read[2].templates.len(), 6);
    assert!(read[2].records.is_empty());
    assert_eq!(read[2].sequence, 2);
}

#[test]
fn a_udp_collector_gets_every_record_and_a_closed_port_is_counted() {
    let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let counters = Arc::new(IpfixCounters::default());
    let mut writer = IpfixWriter::open(
        &Destination::Udp(collector.local_addr().unwrap()),
        &IpfixOptions::default(),
        &RunInfo::default(),
        Arc::clone(&counters),
    )
    .unwrap();
    let records = one_of_each();
    writer.write(&records).unwrap();
    let mut buf = [0; 65_536];
    let n = collector.recv(&mut buf).unwrap();
    assert_eq!(flows(&decode(&[buf[..n].to_vec()])).len(), records.len());
    assert_eq!(counters.records.load(Ordering::Relaxed), 6);
    assert_eq!(counters.messages.load(Ordering::Relaxed), 1);

    // The collector goes away: the kernel refuses the sends after the
    // first, and nothing fails.
    drop(collector);
    for _ in 0..20 {
        writer.write(&records).unwrap();
    }
    writer.finish().unwrap();
    assert!(counters.send_errors.load(Ordering::Relaxed) >= 1);
    let (sent, lost) = (
        counters.records.load(Ordering::Relaxed),
        counters.records_lost.load(Ordering::Relaxed),
    );
    assert_eq!(sent + lost, 21 * 6);
    assert!(lost >= 6);
}

#[test]
fn destinations_parse() {
    assert_eq!(
        Destination::parse("udp://127.0.0.1:4739").unwrap(),
        Destination::Udp("127.0.0.1:4739".parse().unwrap())
    );
    assert_eq!(
        Destination::parse("tcp://[::1]:4739").unwrap(),
        Destination::Tcp("[::1]:4739".parse().unwrap())
    );
    assert_eq!(
        Destination::parse("flows.ipfix").unwrap(),
        Destination::File("flows.ipfix".into())
    );
    assert!(Destination::parse("udp://127.0.0.1").is_err());
    let small = IpfixOptions {
        mtu: 100,
        ..IpfixOptions::default()
    };
    let err = IpfixWriter::open(
        &Destination::File("/dev/null".into()),
        &small,
        &RunInfo::default(),
        Arc::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("576"), "{err}");
}

#[test]
fn the_smallest_mtu_holds_the_templates_and_the_largest_record() {
    let udp6 = one_of_each()[3];
    let mut encoder = Encoder::new(super::MIN_MTU, 1, 4);
    let messages = encode(&mut encoder, &[udp6]);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].len() <= super::MIN_MTU, "{}", messages[0].len());
    assert_eq!(flows(&decode(&messages)).len(), 1);
}

#[test]
fn over_udp_templates_are_sent_again_after_the_refresh_time() {
    let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let options = IpfixOptions {
        template_refresh: Duration::ZERO,
        ..IpfixOptions::default()
    };
    let mut writer = IpfixWriter::open(
        &Destination::Udp(collector.local_addr().unwrap()),
        &options,
        &RunInfo::default(),
        Arc::default(),
    )
    .unwrap();
    let r = record(&tcp4(1), ObservationPoint::default());
    let mut messages = Vec::new();
    let mut buf = [0; 65_536];
    for _ in 0..3 {
        writer.write(&[r]).unwrap();
        let n = collector.recv(&mut buf).unwrap();
        messages.push(buf[..n].to_vec());
    }
    for m in decode(&messages) {
        assert_eq!(m.templates, vec![256, 257, 258, 259, 260, 261]);
    }
}

/// A TCP collector that accepts one connection and returns what it read
/// when the sender closes or after half a second of quiet, closing it.
fn tcp_collector(listener: std::net::TcpListener) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        use std::io::Read;
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut bytes = Vec::new();
        let mut buf = [0; 65_536];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            bytes.extend_from_slice(&buf[..n]);
        }
        bytes
    })
}

/// Splits a TCP stream into its messages by their length fields.
fn split(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !stream.is_empty() {
        let len = usize::from(u16::from_be_bytes([stream[2], stream[3]]));
        out.push(stream[..len].to_vec());
        stream = &stream[len..];
    }
    out
}

#[test]
fn over_tcp_a_collector_that_comes_back_gets_a_new_stream() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let first = tcp_collector(listener);
    let counters = Arc::new(IpfixCounters::default());
    let mut writer = IpfixWriter::open(
        &Destination::Tcp(addr),
        &IpfixOptions::default(),
        &RunInfo::default(),
        Arc::clone(&counters),
    )
    .unwrap();
    let records = one_of_each();
    writer.write(&records).unwrap();
    writer.write(&records).unwrap();
    // The collector reads what was sent and goes away, listener and all.
    let read = decode(&split(&first.join().unwrap()));
    assert_eq!((read.len(), read[0].sequence, read[1].sequence), (2, 0, 6));
    // The first write after that goes into the closed connection (the
    // kernel takes it, and learns the peer is gone); the next one fails.
    writer.write(&records).unwrap();
    writer.write(&records).unwrap();
    assert!(counters.send_errors.load(Ordering::Relaxed) >= 1);
    let lost = counters.records_lost.load(Ordering::Relaxed);
    assert!(lost >= 6, "{lost}");
    // Back, on the same port: after the back-off (1 s), a new connection,
    // templates first and sequence numbers from 0.
    let second = tcp_collector(std::net::TcpListener::bind(addr).unwrap());
    std::thread::sleep(super::FIRST_BACKOFF + Duration::from_millis(200));
    writer.write(&records).unwrap();
    writer.finish().unwrap();
    let read = decode(&split(&second.join().unwrap()));
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].sequence, 0);
    assert!(read[0].templates.contains(&256));
    assert_eq!(flows(&read).len(), 6);
    assert_eq!(counters.connections.load(Ordering::Relaxed), 2);
    let sent = counters.records.load(Ordering::Relaxed);
    assert_eq!(sent + counters.records_lost.load(Ordering::Relaxed), 30);
}

#[test]
fn an_ipv6_collector_address_works() {
    let collector = UdpSocket::bind("[::1]:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let target = format!("udp://[::1]:{}", collector.local_addr().unwrap().port());
    let mut writer = IpfixWriter::open(
        &Destination::parse(&target).unwrap(),
        &IpfixOptions::default(),
        &RunInfo::default(),
        Arc::default(),
    )
    .unwrap();
    writer.write(&one_of_each()).unwrap();
    let mut buf = [0; 65_536];
    let n = collector.recv(&mut buf).unwrap();
    assert_eq!(flows(&decode(&[buf[..n].to_vec()])).len(), 6);
}
