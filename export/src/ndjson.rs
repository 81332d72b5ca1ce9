//! Flow-log NDJSON: one record a line, nested as flow-record.md §4 names the
//! fields, absent values omitted. The names come from [`crate::schema`].
//!
//! The encoder writes bytes directly instead of going through serde: every
//! value is a number, an address, a timestamp or a fixed word, none of which
//! needs escaping, and this is the hottest code of a run with many flows.
//! Measured with `cargo bench --bench hot -- export/ndjson` (10k records):
//! serde_json with `collect_str` ran at 0.82 M records/s; this runs at the
//! figure quoted in the README's design section. The records it writes are
//! checked against serde_json's parser field by field in the tests.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr},
};

use flowagg::FlowRecord;

use crate::{schema, time::TimeText, RunInfo};

/// Bytes encoded before they are handed to the writer.
const FLUSH_AT: usize = 1 << 16;

/// Writes records as JSON lines into `W`.
#[derive(Debug)]
pub struct NdjsonWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// `,"sampling":{…}}` and the newline: the same for every record of a run.
    tail: Vec<u8>,
    times: TimeText,
}

impl<W: Write> NdjsonWriter<W> {
    /// A writer of records of a run with these sampling rates.
    pub fn new(out: W, run: RunInfo) -> Self {
        let mut tail = Vec::new();
        tail.push(b',');
        key(&mut tail, schema::SAMPLING.name);
        tail.push(b'{');
        key(&mut tail, schema::FLOW_RATE.name);
        // serde_json's float text (shortest round-trip), as analytics tools read it.
        serde_json::to_writer(&mut tail, &run.flow_rate).expect("writing to a Vec");
        tail.push(b',');
        key(&mut tail, schema::PACKET_RATE.name);
        serde_json::to_writer(&mut tail, &run.packet_rate).expect("writing to a Vec");
        tail.extend_from_slice(b"}}\n");
        NdjsonWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 1024),
            tail,
            times: TimeText::default(),
        }
    }

    /// Writes each record as one line; every line is handed to the writer
    /// before this returns, so a reader of a live output sees whole lines.
    pub fn write(&mut self, records: &[FlowRecord]) -> std::io::Result<()> {
        for record in records {
            self.encode(record);
            if self.buf.len() >= FLUSH_AT {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
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

    fn encode(&mut self, r: &FlowRecord) {
        let b = &mut self.buf;
        let k = &r.key;
        b.push(b'{');
        key(b, schema::CONNECTION.name);
        b.push(b'{');
        key(b, schema::SRC_IP.name);
        ip(b, k.src_ip());
        let ports = k.ports();
        if let Some((src, _)) = ports {
            field(b, schema::SRC_PORT.name, src);
        }
        b.push(b',');
        key(b, schema::DEST_IP.name);
        ip(b, k.dst_ip());
        if let Some((_, dst)) = ports {
            field(b, schema::DEST_PORT.name, dst);
        }
        field(b, schema::PROTOCOL.name, k.proto);
        b.push(b'}');
        if let Some((icmp_type, icmp_code)) = k.icmp() {
            field(b, schema::ICMP_TYPE.name, icmp_type);
            field(b, schema::ICMP_CODE.name, icmp_code);
        }
        for (name, ts) in [
            (schema::START_TIME.name, r.first),
            (schema::END_TIME.name, r.last),
            (schema::INTERVAL_START.name, r.interval.start),
        ] {
            b.push(b',');
            key(b, name);
            b.push(b'"');
            self.times.write(ts, b);
            b.push(b'"');
        }
        field(b, schema::INTERVAL_SECS.name, r.interval.secs);
        field(b, schema::BYTES_SENT.name, r.bytes);
        field(b, schema::PAYLOAD_BYTES.name, r.payload_bytes);
        field(b, schema::PACKETS_SENT.name, r.packets);
        if let Some(flags) = r.tcp_flags() {
            field(b, schema::TCP_FLAGS.name, flags);
        }
        b.push(b',');
        key(b, schema::MIRROR.name);
        b.push(b'{');
        let point = &r.observation;
        if let Some(encap) = point.encap {
            key(b, schema::ENCAP.name);
            b.push(b'"');
            b.extend_from_slice(encap.name().as_bytes());
            b.extend_from_slice(b"\",");
        }
        if let Some(vni) = point.vni {
            key(b, schema::VNI.name);
            number(b, vni);
            b.push(b',');
        }
        if let Some(id) = point.session_id {
            key(b, schema::SESSION_ID.name);
            number(b, id);
            b.push(b',');
        }
        key(b, schema::INTERFACE.name);
        number(b, point.interface);
        b.push(b'}');
        if r.partial {
            b.extend_from_slice(b",\"");
            b.extend_from_slice(schema::PARTIAL.name.as_bytes());
            b.extend_from_slice(b"\":true");
        }
        b.extend_from_slice(&self.tail);
    }
}

/// `"name":`
#[inline]
fn key(b: &mut Vec<u8>, name: &str) {
    b.push(b'"');
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(b"\":");
}

/// `,"name":value`
#[inline]
fn field(b: &mut Vec<u8>, name: &str, value: impl itoa::Integer) {
    b.push(b',');
    key(b, name);
    number(b, value);
}

#[inline]
fn number(b: &mut Vec<u8>, value: impl itoa::Integer) {
    b.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// An address in quotes: dotted decimal, or RFC 5952 text for IPv6 (std's
/// `Display`, which follows it).
#[inline]
fn ip(b: &mut Vec<u8>, addr: IpAddr) {
    b.push(b'"');
    match addr {
        IpAddr::V4(v4) => ipv4(b, v4),
        IpAddr::V6(v6) => write!(b, "{v6}").expect("writing to a Vec"),
    }
    b.push(b'"');
}

fn ipv4(b: &mut Vec<u8>, addr: Ipv4Addr) {
    let [o1, o2, o3, o4] = addr.octets();
    number(b, o1);
    for octet in [o2, o3, o4] {
        b.push(b'.');
        number(b, octet);
    }
}

#[cfg(test)]
mod tests {
    use capture::{decode::EncapKind, Timestamp};
    use flowagg::{FlowKey, Interval, ObservationPoint};
    use serde_json::{json, Value};

    use super::*;

    /// A record built from a decoded packet, so that the key is a real one.
    fn record(packet: &[u8], link: capture::LinkType, observation: ObservationPoint) -> FlowRecord {
        let raw = capture::RawPacket {
            ts: Timestamp(0),
            link,
            interface: 0,
            orig_len: packet.len() as u32,
            data: packet,
        };
        let decoded = capture::decode::decode(&raw).unwrap();
        FlowRecord {
            interval: Interval::containing(Timestamp::from_parts(1_700_000_003, 0), 5),
            observation,
            key: FlowKey::from_decoded(&decoded, flowagg::ObsId(0)),
            packets: 3,
            bytes: 4_294_967_296_000,
            payload_bytes: 7,
            first: Timestamp::from_parts(1_700_000_003, 1),
            last: Timestamp::from_parts(1_700_000_004, 999_999_999),
            tcp_flags: 0x12,
            partial: true,
        }
    }

    fn line(r: &FlowRecord, run: RunInfo) -> Value {
        let mut w = NdjsonWriter::new(Vec::new(), run);
        w.write(std::slice::from_ref(r)).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert!(
            text.ends_with('\n') && text.matches('\n').count() == 1,
            "{text:?}"
        );
        serde_json::from_str(&text).unwrap()
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
        let got = line(
            &record(&packet, capture::LinkType::RAW, point),
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
}
