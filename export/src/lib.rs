//! Flow records in, files analytics tools can read out.
//!
//! `export` writes [`flowagg::FlowRecord`]s with Google Cloud VPC Flow Logs
//! field names (docs/record.md, "Fields") as flow-log NDJSON, to stdout or to a file
//! that appears under its final name only when complete, or as a folder of
//! Hive-partitioned Parquet files, each of which appears only when complete
//! (§5).
//!
//! The principal types are [`Sink`] (an open output of any format),
//! [`NdjsonWriter`] (records to JSON lines), [`ParquetWriter`] (records to
//! partitioned, rotated Parquet files), [`IpfixWriter`] (records to IPFIX
//! messages for a collector or an IPFIX file, docs/ipfix.md), [`AtomicFile`]
//! (temporary name, fsync, rename) and [`Output`] (stdout or an atomic file),
//! with [`RunInfo`] carrying what every record repeats. [`schema`] is the one
//! table of field names and types that the NDJSON and Parquet writers read.
//!
//! ```
//! use export::{NdjsonWriter, RunInfo};
//! let mut writer = NdjsonWriter::new(Vec::new(), RunInfo::default());
//! writer.write(&[]).unwrap();
//! assert!(writer.into_inner().is_empty());
//! ```

mod address;
pub mod annotate;
mod decimal;
mod error;
mod file;
pub mod ipfix;
mod ndjson;
mod parquet;
pub mod schema;
mod sink;
#[cfg(test)]
mod testing;
mod time;

pub use annotate::{AnnotateConfig, Annotator};
pub use error::Error;
pub use file::{AtomicFile, Output};
pub use ipfix::{Destination, IpfixCounters, IpfixOptions, IpfixWriter};
pub use ndjson::NdjsonWriter;
pub use parquet::{
    Compression, ParquetOptions, ParquetWriter, BATCH_ROWS, ROW_GROUP_BYTES, ROW_GROUP_ROWS,
};
pub use sink::Sink;
pub use time::Rfc3339;

use std::sync::Arc;

/// Facts of the run: what every record carries (docs/record.md, "Sampling")
/// and what file metadata names (docs/parquet.md, "What a file is").
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// `sampling.flow_rate`: R of `--flow-sample R`.
    pub flow_rate: f64,
    /// `sampling.packet_rate`: 1/N of `--packet-sample N`.
    pub packet_rate: f64,
    /// Interval length in seconds.
    pub interval_secs: u32,
    /// The inputs of the run, as given.
    pub inputs: Vec<String>,
    /// What the writers add to each record about its ends
    /// (docs/annotate.md); shared, as the files it was read from are large.
    pub annotator: Arc<Annotator>,
}

impl Default for RunInfo {
    fn default() -> Self {
        RunInfo {
            flow_rate: 1.0,
            packet_rate: 1.0,
            interval_secs: 5,
            inputs: Vec::new(),
            annotator: Arc::default(),
        }
    }
}
