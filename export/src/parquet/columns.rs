//! Flow records as Arrow arrays of the schema's columns ([`crate::schema`]),
//! one record batch at a time.
//!
//! A run that annotates (docs/annotate.md) writes each record as the rows
//! its annotation says (two under `--report-both-ends`); one that does not
//! writes its annotation columns as nulls, without a copy of the records.
//!
//! Each column is one allocation per batch; addresses are written by table
//! ([`crate::address`]) into their column's one value buffer, with no
//! `String` per record, and checked as UTF-8 once per column. Nothing here
//! panics.

use std::sync::Arc;

use arrow_array::{
    builder::{BinaryBuilder, StringBuilder},
    new_null_array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, Fields, SchemaRef};
use capture::Timestamp;
use flowagg::FlowRecord;

use crate::{
    address,
    annotate::{Annotator, Reporter},
    schema, RunInfo,
};

/// Builds record batches of the schema; the Arrow fields of the struct
/// columns are worked out once.
#[derive(Debug)]
pub struct Columns {
    schema: SchemaRef,
    connection: Fields,
    mirror: Fields,
    sampling: Fields,
    /// `sampling.flow_rate` and `sampling.packet_rate`: the same in every record of a run.
    flow_rate: f64,
    packet_rate: f64,
    /// One address's text on its way into a column.
    text: Vec<u8>,
    /// The run's annotator, when it annotates anything.
    annotator: Option<Arc<Annotator>>,
}

impl Columns {
    /// The columns of records of a run.
    pub fn new(run: &RunInfo) -> Self {
        Columns {
            schema: schema::arrow_schema(),
            connection: schema::CONNECTION.arrow_children(),
            mirror: schema::MIRROR.arrow_children(),
            sampling: schema::SAMPLING.arrow_children(),
            flow_rate: run.flow_rate,
            packet_rate: run.packet_rate,
            text: Vec::with_capacity(64),
            annotator: run
                .annotator
                .is_active()
                .then(|| Arc::clone(&run.annotator)),
        }
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// One record batch of `records`, each as the rows its annotation says.
    pub fn batch(&mut self, records: &[FlowRecord]) -> Result<RecordBatch, ArrowError> {
        let Some(annotator) = self.annotator.clone() else {
            return self.rows(records, None);
        };
        let mut rows = Vec::with_capacity(records.len());
        let mut reporters = Vec::with_capacity(records.len());
        for record in records {
            for &reporter in annotator.annotate(&record.key).reporters {
                rows.push(*record);
                reporters.push(reporter);
            }
        }
        self.rows(&rows, Some(&reporters))
    }

    /// One record batch of these rows and, when the run annotates, their
    /// `reporter`s (one each).
    fn rows(
        &mut self,
        records: &[FlowRecord],
        reporters: Option<&[Option<Reporter>]>,
    ) -> Result<RecordBatch, ArrowError> {
        let n = records.len();
        let key = |f: fn(&FlowRecord) -> Option<u16>| -> ArrayRef {
            Arc::new(Int32Array::from_iter(
                records.iter().map(|r| f(r).map(i32::from)),
            ))
        };
        let int64 = |f: fn(&FlowRecord) -> u64| -> ArrayRef {
            Arc::new(Int64Array::from_iter_values(
                records.iter().map(|r| f(r) as i64),
            ))
        };
        let time = |f: fn(&FlowRecord) -> Timestamp| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(records.iter().map(|r| micros(f(r))))
                    .with_timezone("UTC"),
            )
        };

        // 15 bytes is the longest IPv4 text; IPv6 grows the buffer once.
        let mut src_ip = BinaryBuilder::with_capacity(n, n * 15);
        let mut dest_ip = BinaryBuilder::with_capacity(n, n * 15);
        let mut encap = StringBuilder::with_capacity(n, n * 6);
        for r in records {
            for (column, addr) in [
                (&mut src_ip, r.key.src_ip()),
                (&mut dest_ip, r.key.dst_ip()),
            ] {
                self.text.clear();
                address::write(&mut self.text, addr);
                column.append_value(&self.text);
            }
            encap.append_option(r.observation.encap.map(|e| e.name()));
        }

        let connection = StructArray::try_new(
            self.connection.clone(),
            vec![
                Arc::new(StringArray::try_from_binary(src_ip.finish())?),
                key(|r| r.key.ports().map(|p| p.0)),
                Arc::new(StringArray::try_from_binary(dest_ip.finish())?),
                key(|r| r.key.ports().map(|p| p.1)),
                key(|r| Some(u16::from(r.key.proto))),
            ],
            None,
        )?;
        let mirror = StructArray::try_new(
            self.mirror.clone(),
            vec![
                Arc::new(encap.finish()),
                Arc::new(Int64Array::from_iter(
                    records.iter().map(|r| r.observation.vni.map(i64::from)),
                )),
                Arc::new(Int64Array::from_iter(
                    records
                        .iter()
                        .map(|r| r.observation.session_id.map(i64::from)),
                )),
                Arc::new(Int32Array::from_iter_values(records.iter().map(|r| {
                    i32::try_from(r.observation.interface).unwrap_or(i32::MAX)
                }))),
            ],
            None,
        )?;
        let sampling = StructArray::try_new(
            self.sampling.clone(),
            vec![
                Arc::new(Float64Array::from_value(self.flow_rate, n)),
                Arc::new(Float64Array::from_value(self.packet_rate, n)),
            ],
            None,
        )?;
        RecordBatch::try_new(
            Arc::clone(&self.schema),
            vec![
                Arc::new(connection),
                key(|r| r.key.icmp().map(|(t, _)| u16::from(t))),
                key(|r| r.key.icmp().map(|(_, c)| u16::from(c))),
                time(|r| r.first),
                time(|r| r.last),
                time(|r| r.interval.start),
                Arc::new(Int32Array::from_iter_values(
                    records
                        .iter()
                        .map(|r| i32::try_from(r.interval.secs).unwrap_or(i32::MAX)),
                )),
                int64(|r| r.bytes),
                int64(|r| r.payload_bytes),
                int64(|r| r.packets),
                key(|r| r.tcp_flags().map(u16::from)),
                Arc::new(mirror),
                Arc::new(sampling),
                Arc::new(BooleanArray::from_iter(
                    records.iter().map(|r| Some(r.partial)),
                )),
                match reporters {
                    Some(reporters) => Arc::new(StringArray::from_iter(
                        reporters.iter().map(|r| r.map(Reporter::name)),
                    )),
                    None => new_null_array(&schema::REPORTER.data_type(), n),
                },
            ],
        )
    }
}

/// Capture time in Parquet's unit: microseconds, truncated (docs/record.md, "Fields").
fn micros(ts: Timestamp) -> i64 {
    (ts.nanos() / 1_000) as i64
}

#[cfg(test)]
mod tests {
    use arrow_array::{cast::AsArray, types::Int64Type, Array};
    use flowagg::ObservationPoint;

    use super::*;
    use crate::AnnotateConfig;

    /// A record of UDP from 10.0.0.1 to 10.0.0.2.
    fn record() -> FlowRecord {
        let mut packet = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(5353, 53)
            .write(&mut packet, &[])
            .unwrap();
        crate::testing::record_of(&packet, capture::LinkType::RAW, ObservationPoint::default())
    }

    fn reporters(batch: &RecordBatch) -> Vec<Option<&str>> {
        let column = batch.column_by_name(schema::REPORTER.name).unwrap();
        column.as_string::<i32>().iter().collect()
    }

    #[test]
    fn both_local_ends_give_two_rows_with_equal_counts() {
        let config = AnnotateConfig {
            local_nets: vec!["10.0.0.0/8".parse().unwrap()],
            report_both_ends: true,
        };
        let run = RunInfo {
            annotator: Arc::new(Annotator::new(&config)),
            ..RunInfo::default()
        };
        let batch = Columns::new(&run).batch(&[record()]).unwrap();
        assert_eq!(reporters(&batch), [Some("SRC"), Some("DEST")]);
        let bytes = batch.column_by_name(schema::BYTES_SENT.name).unwrap();
        let bytes = bytes.as_primitive::<Int64Type>();
        assert_eq!(bytes.value(0), bytes.value(1));
    }

    #[test]
    fn a_run_without_local_networks_writes_null_reporters() {
        let batch = Columns::new(&RunInfo::default())
            .batch(&[record(), record()])
            .unwrap();
        assert_eq!(reporters(&batch), [None, None]);
        let column = batch.column_by_name(schema::REPORTER.name).unwrap();
        assert_eq!(column.null_count(), 2);
    }
}
