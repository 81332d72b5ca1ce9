//! Flow-log NDJSON: one record a line, nested as flow-record.md §4 names the
//! fields, absent values omitted.

use std::io::Write;

use flowagg::FlowRecord;
use serde::{ser::SerializeStruct, Serialize, Serializer};

use crate::{Rfc3339, RunInfo};

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
        let mut m = s.serialize_struct("FlowRecord", 13)?;
        m.serialize_field("connection", &Connection(r))?;
        match r.key.icmp() {
            Some((icmp_type, icmp_code)) => {
                m.serialize_field("icmp_type", &icmp_type)?;
                m.serialize_field("icmp_code", &icmp_code)?;
            }
            None => {
                m.skip_field("icmp_type")?;
                m.skip_field("icmp_code")?;
            }
        }
        m.serialize_field("start_time", &Text(Rfc3339(r.first)))?;
        m.serialize_field("end_time", &Text(Rfc3339(r.last)))?;
        m.serialize_field("interval_start", &Text(Rfc3339(r.interval.start)))?;
        m.serialize_field("interval_secs", &r.interval.secs)?;
        m.serialize_field("bytes_sent", &r.bytes)?;
        m.serialize_field("payload_bytes", &r.payload_bytes)?;
        m.serialize_field("packets_sent", &r.packets)?;
        match r.tcp_flags() {
            Some(flags) => m.serialize_field("tcp_flags", &flags)?,
            None => m.skip_field("tcp_flags")?,
        }
        m.serialize_field("mirror", &Mirror(r))?;
        m.serialize_field("sampling", &Sampling(self.run))?;
        m.end()
    }
}

impl Serialize for Connection<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let key = &self.0.key;
        let mut m = s.serialize_struct("connection", 5)?;
        m.serialize_field("src_ip", &Text(key.src_ip()))?;
        match key.ports() {
            Some((src, _)) => m.serialize_field("src_port", &src)?,
            None => m.skip_field("src_port")?,
        }
        m.serialize_field("dest_ip", &Text(key.dst_ip()))?;
        match key.ports() {
            Some((_, dst)) => m.serialize_field("dest_port", &dst)?,
            None => m.skip_field("dest_port")?,
        }
        m.serialize_field("protocol", &key.proto)?;
        m.end()
    }
}

impl Serialize for Mirror<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let point = &self.0.observation;
        let mut m = s.serialize_struct("mirror", 4)?;
        match point.encap {
            Some(encap) => m.serialize_field("encap", encap.name())?,
            None => m.skip_field("encap")?,
        }
        match point.vni {
            Some(vni) => m.serialize_field("vni", &vni)?,
            None => m.skip_field("vni")?,
        }
        match point.session_id {
            Some(id) => m.serialize_field("session_id", &id)?,
            None => m.skip_field("session_id")?,
        }
        m.serialize_field("interface", &point.interface)?;
        m.end()
    }
}

impl Serialize for Sampling<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("sampling", 2)?;
        m.serialize_field("flow_rate", &self.0.flow_rate)?;
        m.serialize_field("packet_rate", &self.0.packet_rate)?;
        m.end()
    }
}
