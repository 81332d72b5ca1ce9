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
    builder::{BinaryBuilder, NullBufferBuilder, StringBuilder},
    new_null_array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, Fields, SchemaRef};
use capture::Timestamp;
use flowagg::FlowRecord;

use crate::{
    address,
    annotate::{Annotation, Annotator, Members, Reporter},
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
        let mut notes = Vec::with_capacity(records.len());
        for record in records {
            let note = annotator.annotate(&record.key);
            for &reporter in note.reporters {
                rows.push(*record);
                notes.push((reporter, note));
            }
        }
        self.rows(&rows, Some(&notes))
    }

    /// One record batch of these rows and, when the run annotates, their
    /// `reporter`s and annotations (one each).
    fn rows(
        &mut self,
        records: &[FlowRecord],
        notes: Option<&[(Option<Reporter>, Annotation)]>,
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
                match notes {
                    Some(notes) => Arc::new(StringArray::from_iter(
                        notes.iter().map(|(r, _)| r.map(Reporter::name)),
                    )),
                    None => new_null_array(&schema::REPORTER.data_type(), n),
                },
                annotation_struct(schema::SRC_INSTANCE, notes, n, |a| a.src.instance())?,
                annotation_struct(schema::DEST_INSTANCE, notes, n, |a| a.dest.instance())?,
                annotation_struct(schema::SRC_VPC, notes, n, |a| a.src.vpc())?,
                annotation_struct(schema::DEST_VPC, notes, n, |a| a.dest.vpc())?,
                annotation_struct(schema::SRC_LOCATION, notes, n, |a| a.src.location())?,
                annotation_struct(schema::DEST_LOCATION, notes, n, |a| a.dest.location())?,
                Arc::new(Int64Array::from_iter(
                    records.iter().map(|r| r.rtt_msec().map(|ms| ms as i64)),
                )),
                Arc::new(Int64Array::from_iter(
                    records
                        .iter()
                        .map(|r| r.retransmitted_packets.map(i64::from)),
                )),
            ],
        )
    }
}

/// An annotation struct column (`field`) from what `members` picks of each
/// row's annotation: its `K` text children, then the number child after them
/// if the field has one (`asn`). A row is null where nothing is picked, and
/// so are its children there; every row is null when the run does not
/// annotate.
fn annotation_struct<'a, const K: usize>(
    field: schema::Field,
    notes: Option<&[(Option<Reporter>, Annotation<'a>)]>,
    n: usize,
    members: impl Fn(&Annotation<'a>) -> Option<Members<'a, K>>,
) -> Result<ArrayRef, ArrowError> {
    let Some(notes) = notes else {
        return Ok(new_null_array(&field.data_type(), n));
    };
    let mut text: [StringBuilder; K] =
        std::array::from_fn(|_| StringBuilder::with_capacity(n, n * 8));
    let mut numbers = Vec::with_capacity(n);
    let mut valid = NullBufferBuilder::new(n);
    for (_, note) in notes {
        let row = members(note);
        valid.append(row.is_some());
        let (values, number) = row.unwrap_or(([None; K], None));
        for (child, value) in text.iter_mut().zip(values) {
            child.append_option(value);
        }
        numbers.push(number.map(i64::from));
    }
    let mut children: Vec<ArrayRef> = text
        .iter_mut()
        .map(|c| Arc::new(c.finish()) as ArrayRef)
        .collect();
    if field.children().len() > K {
        children.push(Arc::new(Int64Array::from(numbers)));
    }
    Ok(Arc::new(StructArray::try_new(
        field.arrow_children(),
        children,
        valid.finish(),
    )?))
}

/// Capture time in Parquet's unit: microseconds, truncated (docs/record.md, "Fields").
fn micros(ts: Timestamp) -> i64 {
    (ts.nanos() / 1_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{annotated_run, record_10_0_0_1_to_2 as record};
    use arrow_array::{cast::AsArray, types::Int64Type, Array};

    fn reporters(batch: &RecordBatch) -> Vec<Option<&str>> {
        let column = batch.column_by_name(schema::REPORTER.name).unwrap();
        column.as_string::<i32>().iter().collect()
    }

    #[test]
    fn both_local_ends_give_two_rows_with_equal_counts() {
        let run = annotated_run("columns", &["10.0.0.0/8"], true, None);
        let batch = Columns::new(&run).batch(&[record()]).unwrap();
        assert_eq!(reporters(&batch), [Some("SRC"), Some("DEST")]);
        let bytes = batch.column_by_name(schema::BYTES_SENT.name).unwrap();
        let bytes = bytes.as_primitive::<Int64Type>();
        assert_eq!(bytes.value(0), bytes.value(1));
    }

    #[test]
    fn inventory_rows_fill_nullable_struct_columns() {
        let hosts = "cidr,vm_name,vpc_name\n10.0.0.1,web-1,\n10.0.0.2,,prod\n";
        let run = annotated_run("columns-inventory", &[], false, Some(hosts));
        let batch = Columns::new(&run).batch(&[record()]).unwrap();
        let column = |name: &str| batch.column_by_name(name).unwrap().as_struct().clone();
        let src = column(schema::SRC_INSTANCE.name);
        assert!(src.is_valid(0));
        let vm_name = src.column_by_name(schema::VM_NAME.name).unwrap();
        assert_eq!(vm_name.as_string::<i32>().value(0), "web-1");
        assert!(src.column_by_name(schema::ZONE.name).unwrap().is_null(0));
        // The destination's row names only a VPC; the source's only a VM.
        assert!(column(schema::DEST_INSTANCE.name).is_null(0));
        assert!(column(schema::SRC_VPC.name).is_null(0));
        let dest_vpc = column(schema::DEST_VPC.name);
        let vpc_name = dest_vpc.column_by_name(schema::VPC_NAME.name).unwrap();
        assert_eq!(vpc_name.as_string::<i32>().value(0), "prod");
    }

    #[test]
    fn a_run_without_local_networks_writes_null_reporters() {
        let batch = Columns::new(&RunInfo::default())
            .batch(&[record(), record()])
            .unwrap();
        assert_eq!(reporters(&batch), [None, None]);
        for field in [
            schema::REPORTER,
            schema::SRC_INSTANCE,
            schema::DEST_INSTANCE,
            schema::SRC_VPC,
            schema::DEST_VPC,
            schema::SRC_LOCATION,
            schema::DEST_LOCATION,
        ] {
            let column = batch.column_by_name(field.name).unwrap();
            assert_eq!(column.null_count(), 2, "{}", field.name);
        }
    }
}
