//! Reading the columns a query needs, batch by batch, into a [`Sink`].
//!
//! Parquet: only the needed leaf columns are decoded (a projection mask), row
//! groups whose `interval_start` statistics fall outside the time range are
//! skipped unread, and row groups are spread over threads, each feeding its
//! own sink. NDJSON: each line parsed with serde_json into the same columns,
//! on the calling thread.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use arrow_array::{
    builder::{
        BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
        TimestampMicrosecondBuilder,
    },
    new_null_array, Array, ArrayRef, RecordBatch, StructArray,
};
use arrow_schema::{DataType, TimeUnit};
use parquet::{
    arrow::{
        arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder},
        ProjectionMask,
    },
    file::statistics::Statistics,
};
use serde_json::Value;

use crate::{
    field::{names, Leaf, Type},
    filter::TimeRange,
    input::{Input, Inputs},
    Error,
};

/// Records per batch: large enough that per-batch work (a dictionary's
/// mapping, a mask) is small beside per-record work, small enough that a
/// batch's columns and key words stay in the core's cache between the
/// passes over them.
const BATCH_ROWS: usize = 8 * 1024;

/// Where batches go: one column per leaf asked for, in that order.
pub trait Sink: Send {
    /// Takes one batch of `rows` records.
    fn batch(&mut self, columns: &[ArrayRef], rows: usize) -> Result<(), Error>;
    /// A row group of `rows` records comes next: room can be made at once.
    fn expect(&mut self, rows: usize) {
        let _ = rows;
    }
}

/// What a scan read and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Parquet files left out by their Hive partition.
    pub files_pruned: usize,
    /// Row groups read.
    pub row_groups_read: usize,
    /// Row groups left out by their `interval_start` statistics.
    pub row_groups_pruned: usize,
    /// Records read (before filters).
    pub records_read: u64,
}

/// Reads `leaves` of every input into sinks made by `make`, one per thread
/// (at most `threads`), and returns them for the caller to merge.
pub fn scan<S: Sink>(
    inputs: &Inputs,
    leaves: &[Leaf],
    range: &TimeRange,
    threads: usize,
    make: impl Fn() -> S + Sync,
) -> Result<(Vec<S>, ScanStats), Error> {
    let mut stats = ScanStats {
        files_pruned: inputs.pruned_files,
        ..ScanStats::default()
    };
    let mut work = Vec::new();
    for input in &inputs.list {
        if let Input::Parquet { path, meta } = input {
            let mask = projection(meta, leaves);
            let kept = row_groups(meta, range);
            stats.row_groups_pruned += meta.metadata().num_row_groups() - kept.len();
            stats.row_groups_read += kept.len();
            work.extend(
                kept.into_iter()
                    .map(|rg| (path.as_path(), meta, mask.clone(), rg)),
            );
        }
    }
    let next = AtomicUsize::new(0);
    let records = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    let workers = threads.clamp(1, work.len().max(1));
    let mut sinks: Vec<S> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut sink = make();
                    while let Some((path, meta, mask, rg)) =
                        work.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        let read = read_row_group(path, meta, mask, *rg, leaves, &mut sink);
                        match read {
                            Ok(n) => _ = records.fetch_add(n, Ordering::Relaxed),
                            Err(e) => {
                                failure.lock().unwrap().get_or_insert(e);
                                next.store(work.len(), Ordering::Relaxed);
                            }
                        }
                    }
                    sink
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    if let Some(e) = failure.into_inner().unwrap() {
        return Err(e);
    }
    stats.records_read = records.into_inner() as u64;
    for input in &inputs.list {
        let sink = &mut sinks[0];
        stats.records_read += match input {
            Input::Parquet { .. } => continue,
            Input::Ndjson(path) => {
                let file = File::open(path).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                read_ndjson(path, BufReader::new(file), leaves, sink)?
            }
            Input::Stdin => read_ndjson(Path::new("-"), std::io::stdin().lock(), leaves, sink)?,
        };
    }
    Ok((sinks, stats))
}

fn projection(meta: &ArrowReaderMetadata, leaves: &[Leaf]) -> ProjectionMask {
    let schema = meta.parquet_schema();
    let indices = (0..schema.num_columns()).filter(|&i| {
        leaves
            .iter()
            .any(|l| l.name == schema.column(i).path().string())
    });
    ProjectionMask::leaves(schema, indices)
}

/// The row groups whose `interval_start` range meets `range` (all of them
/// when a group has no statistics).
fn row_groups(meta: &ArrowReaderMetadata, range: &TimeRange) -> Vec<usize> {
    let groups = meta.metadata().row_groups();
    let column = (0..meta.parquet_schema().num_columns())
        .find(|&i| meta.parquet_schema().column(i).path().string() == names::INTERVAL_START);
    (0..groups.len())
        .filter(|&g| {
            let stats = column.and_then(|c| groups[g].column(c).statistics());
            match stats {
                Some(Statistics::Int64(s)) if !range.is_all() => match (s.min_opt(), s.max_opt()) {
                    (Some(lo), Some(hi)) => range.overlaps(*lo, *hi),
                    _ => true,
                },
                _ => true,
            }
        })
        .collect()
}

fn read_row_group(
    path: &Path,
    meta: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    row_group: usize,
    leaves: &[Leaf],
    sink: &mut impl Sink,
) -> Result<usize, Error> {
    let err = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_projection(mask.clone())
        .with_row_groups(vec![row_group])
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(err)?;
    let expected = meta.metadata().row_group(row_group).num_rows();
    sink.expect(usize::try_from(expected).unwrap_or(0));
    let mut rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| err(e.into()))?;
        let columns: Vec<ArrayRef> = leaves.iter().map(|l| leaf_of(&batch, l)).collect();
        sink.batch(&columns, batch.num_rows())?;
        rows += batch.num_rows();
    }
    Ok(rows)
}

/// The leaf column `leaf` of a projected batch (nulls when the file lacks it).
fn leaf_of(batch: &RecordBatch, leaf: &Leaf) -> ArrayRef {
    let mut parts = leaf.name.split('.');
    let mut column = parts.next().and_then(|p| batch.column_by_name(p)).cloned();
    for part in parts {
        column = column.and_then(|c| {
            c.as_any()
                .downcast_ref::<StructArray>()
                .and_then(|s| s.column_by_name(part).cloned())
        });
    }
    column.unwrap_or_else(|| new_null_array(&arrow_type(leaf.ty), batch.num_rows()))
}

fn arrow_type(ty: Type) -> DataType {
    match ty {
        Type::Utf8 => DataType::Utf8,
        Type::Int32 => DataType::Int32,
        Type::Int64 => DataType::Int64,
        Type::Float64 => DataType::Float64,
        Type::Boolean => DataType::Boolean,
        Type::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
    }
}

/// One typed builder per leaf, filled from JSON values.
enum Builder {
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(ty: Type) -> Builder {
        match ty {
            Type::Utf8 => Builder::Utf8(StringBuilder::new()),
            Type::Int32 => Builder::Int32(Int32Builder::new()),
            Type::Int64 => Builder::Int64(Int64Builder::new()),
            Type::Float64 => Builder::Float64(Float64Builder::new()),
            Type::Boolean => Builder::Boolean(BooleanBuilder::new()),
            Type::Timestamp => Builder::Timestamp(TimestampMicrosecondBuilder::new()),
        }
    }

    /// Appends `value`; `Err` names what was expected.
    fn push(&mut self, value: Option<&Value>) -> Result<(), &'static str> {
        let value = value.filter(|v| !v.is_null());
        match self {
            Builder::Utf8(b) => match value {
                None => b.append_null(),
                Some(Value::String(s)) => b.append_value(s),
                Some(_) => return Err("text"),
            },
            Builder::Int32(b) => match value {
                None => b.append_null(),
                Some(v) => b.append_value(
                    v.as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or("a 32-bit integer")?,
                ),
            },
            Builder::Int64(b) => match value {
                None => b.append_null(),
                Some(v) => b.append_value(v.as_i64().ok_or("an integer")?),
            },
            Builder::Float64(b) => match value {
                None => b.append_null(),
                Some(v) => b.append_value(v.as_f64().ok_or("a number")?),
            },
            // docs/record.md: a flag is `true`, or absent when false.
            Builder::Boolean(b) => b.append_value(value.and_then(Value::as_bool).unwrap_or(false)),
            Builder::Timestamp(b) => match value {
                None => b.append_null(),
                Some(v) => {
                    let t = v
                        .as_str()
                        .and_then(|s| humantime::parse_rfc3339(s).ok())
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .ok_or("an RFC 3339 time")?;
                    b.append_value(t.as_micros() as i64);
                }
            },
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish().with_timezone("UTC")),
        }
    }
}

fn read_ndjson(
    path: &Path,
    mut reader: impl BufRead,
    leaves: &[Leaf],
    sink: &mut impl Sink,
) -> Result<u64, Error> {
    let mut builders: Vec<Builder> = leaves.iter().map(|l| Builder::new(l.ty)).collect();
    let paths: Vec<Vec<&str>> = leaves.iter().map(|l| l.name.split('.').collect()).collect();
    let (mut line, mut number, mut rows, mut total) = (Vec::new(), 0u64, 0usize, 0u64);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        let fail = |reason: String| {
            if total == 0 {
                Error::NotOutput {
                    path: path.to_path_buf(),
                    reason: format!("line {number} is not a flow record: {reason}"),
                }
            } else {
                Error::Record {
                    path: path.to_path_buf(),
                    line: number,
                    reason,
                }
            }
        };
        let record: Value = serde_json::from_slice(&line).map_err(|e| fail(e.to_string()))?;
        if !record.get("connection").is_some_and(Value::is_object) {
            return Err(fail("no 'connection' object".to_string()));
        }
        for ((builder, parts), leaf) in builders.iter_mut().zip(&paths).zip(leaves) {
            let value = parts.iter().try_fold(&record, |v, p| v.get(p));
            builder
                .push(value)
                .map_err(|want| fail(format!("'{}' is not {want}", leaf.name)))?;
        }
        rows += 1;
        total += 1;
        if rows == BATCH_ROWS {
            let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
            sink.batch(&columns, std::mem::take(&mut rows))?;
        }
    }
    if rows > 0 {
        let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        sink.batch(&columns, rows)?;
    }
    Ok(total)
}
