//! Flow-log NDJSON: one record a line, nested as flow-record.md §4 names the
//! fields, absent values omitted. The names come from [`crate::schema`].

use std::io::Write;

use flowagg::FlowRecord;
use serde::{ser::SerializeStruct, Serialize, Serializer};

use crate::{schema, Rfc3339, RunInfo};

/// Writes records as JSON lines into `W` (buffer it: one `write` per field).
#[derive(Debug)]
pub struct NdjsonWriter<W: Write> {
    out: W,
    run: RunInfo,
}

impl<W: Write> NdjsonWriter<W> {
    /// A writer of records of a run with these sampling rates.
    pub fn new(out: W, run: RunInfo) -> Self {
        NdjsonWriter { out, run }
    }

    /// Writes each record as one line.
    pub fn write(&mut self, records: &[FlowRecord]) -> std::io::Result<()> {
        for record in records {
            serde_json::to_writer(
                &mut self.out,
                &Line {
                    record,
                    run: &self.run,
                },
            )?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
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

/// The record as the JSON view sees it; field names are GCP's.
struct Line<'a> {
    record: &'a FlowRecord,
    run: &'a RunInfo,
}

struct Connection<'a>(&'a FlowRecord);
struct Mirror<'a>(&'a FlowRecord);
struct Sampling<'a>(&'a RunInfo);
struct Text<T: std::fmt::Display>(T);

impl<T: std::fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut m = s.serialize_struct("FlowRecord", schema::RECORD.len())?;
        m.serialize_field(schema::CONNECTION.name, &Connection(r))?;
        match r.key.icmp() {
            Some((icmp_type, icmp_code)) => {
                m.serialize_field(schema::ICMP_TYPE.name, &icmp_type)?;
                m.serialize_field(schema::ICMP_CODE.name, &icmp_code)?;
            }
            None => {
                m.skip_field(schema::ICMP_TYPE.name)?;
                m.skip_field(schema::ICMP_CODE.name)?;
            }
        }
        m.serialize_field(schema::START_TIME.name, &Text(Rfc3339(r.first)))?;
        m.serialize_field(schema::END_TIME.name, &Text(Rfc3339(r.last)))?;
        m.serialize_field(
            schema::INTERVAL_START.name,
            &Text(Rfc3339(r.interval.start)),
        )?;
        m.serialize_field(schema::INTERVAL_SECS.name, &r.interval.secs)?;
        m.serialize_field(schema::BYTES_SENT.name, &r.bytes)?;
        m.serialize_field(schema::PAYLOAD_BYTES.name, &r.payload_bytes)?;
        m.serialize_field(schema::PACKETS_SENT.name, &r.packets)?;
        match r.tcp_flags() {
            Some(flags) => m.serialize_field(schema::TCP_FLAGS.name, &flags)?,
            None => m.skip_field(schema::TCP_FLAGS.name)?,
        }
        m.serialize_field(schema::MIRROR.name, &Mirror(r))?;
        m.serialize_field(schema::SAMPLING.name, &Sampling(self.run))?;
        m.end()
    }
}

impl Serialize for Connection<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = &self.0.key;
        let mut m = s.serialize_struct(schema::CONNECTION.name, schema::CONNECTION_FIELDS.len())?;
        m.serialize_field(schema::SRC_IP.name, &Text(key.src_ip()))?;
        match key.ports() {
            Some((src, _)) => m.serialize_field(schema::SRC_PORT.name, &src)?,
            None => m.skip_field(schema::SRC_PORT.name)?,
        }
        m.serialize_field(schema::DEST_IP.name, &Text(key.dst_ip()))?;
        match key.ports() {
            Some((_, dst)) => m.serialize_field(schema::DEST_PORT.name, &dst)?,
            None => m.skip_field(schema::DEST_PORT.name)?,
        }
        m.serialize_field(schema::PROTOCOL.name, &key.proto)?;
        m.end()
    }
}

impl Serialize for Mirror<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let point = &self.0.observation;
        let mut m = s.serialize_struct(schema::MIRROR.name, schema::MIRROR_FIELDS.len())?;
        match point.encap {
            Some(encap) => m.serialize_field(schema::ENCAP.name, encap.name())?,
            None => m.skip_field(schema::ENCAP.name)?,
        }
        match point.vni {
            Some(vni) => m.serialize_field(schema::VNI.name, &vni)?,
            None => m.skip_field(schema::VNI.name)?,
        }
        match point.session_id {
            Some(id) => m.serialize_field(schema::SESSION_ID.name, &id)?,
            None => m.skip_field(schema::SESSION_ID.name)?,
        }
        m.serialize_field(schema::INTERFACE.name, &point.interface)?;
        m.end()
    }
}

impl Serialize for Sampling<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct(schema::SAMPLING.name, schema::SAMPLING_FIELDS.len())?;
        m.serialize_field(schema::FLOW_RATE.name, &self.0.flow_rate)?;
        m.serialize_field(schema::PACKET_RATE.name, &self.0.packet_rate)?;
        m.end()
    }
}
