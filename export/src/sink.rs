//! Where the records of a run go, in the format asked for.

use std::{path::Path, sync::Arc};

use flowagg::FlowRecord;

use crate::{
    Destination, Error, IpfixCounters, IpfixOptions, IpfixWriter, NdjsonWriter, Output,
    ParquetOptions, ParquetWriter, RunInfo,
};

/// An open output of one format. Write batches of records as intervals
/// close, then [`Sink::finish`]: only then do files appear under their final
/// names (docs/record.md, "Files and runs").
#[derive(Debug)]
#[non_exhaustive]
pub enum Sink {
    /// Flow-log NDJSON to stdout, a device, or an atomic file.
    Ndjson(NdjsonWriter<Output>),
    /// Hive-partitioned Parquet files in a folder (boxed: the writer and its
    /// properties are large, and a `Sink` is moved into the pipeline).
    Parquet(Box<ParquetWriter>),
    /// IPFIX messages to a collector or an IPFIX file (boxed: the encoder
    /// holds its message buffer and templates).
    Ipfix(Box<IpfixWriter>),
}

impl Sink {
    /// NDJSON to `path` (`-` for stdout). Fails now if the path cannot be written.
    pub fn ndjson(path: &Path, run: RunInfo) -> Result<Self, Error> {
        Ok(Sink::Ndjson(NdjsonWriter::new(Output::open(path)?, run)))
    }

    /// Parquet files in the folder `dir`, created if missing. Fails now if it
    /// is not a folder or cannot be written.
    pub fn parquet(dir: &Path, options: ParquetOptions, run: RunInfo) -> Result<Self, Error> {
        ParquetWriter::create(dir, options, run).map(|w| Sink::Parquet(Box::new(w)))
    }

    /// IPFIX to `destination`, counting what is sent and lost in `counters`.
    /// Fails now if the file cannot be created or the socket opened.
    pub fn ipfix(
        destination: &Destination,
        options: &IpfixOptions,
        run: RunInfo,
        counters: Arc<IpfixCounters>,
    ) -> Result<Self, Error> {
        IpfixWriter::open(destination, options, &run, counters).map(|w| Sink::Ipfix(Box::new(w)))
    }

    /// Writes records.
    pub fn write(&mut self, records: &[FlowRecord]) -> Result<(), Error> {
        match self {
            Sink::Ndjson(writer) => writer
                .write(records)
                .map_err(|source| writer.get_ref().write_error(source)),
            Sink::Parquet(writer) => writer.write(records),
            Sink::Ipfix(writer) => writer.write(records),
        }
    }

    /// What a live run calls after every closing and on its wall-clock
    /// tick: NDJSON is handed to the operating system, so a reader of stdout
    /// or a pipe sees each closing's lines at once; a Parquet file due for
    /// rotation (`--rotate-secs`) is closed and renamed even when no record
    /// arrives; IPFIX templates due for their refresh are sent.
    pub fn flush(&mut self) -> Result<(), Error> {
        match self {
            Sink::Ndjson(writer) => writer
                .flush()
                .map_err(|source| writer.get_ref().write_error(source)),
            Sink::Parquet(writer) => writer.rotate_if_due(),
            Sink::Ipfix(writer) => writer.flush(),
        }
    }

    /// Flushes and closes: files are complete and renamed into place.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Sink::Ndjson(writer) => writer.into_inner().finish(),
            Sink::Parquet(writer) => writer.finish(),
            Sink::Ipfix(writer) => writer.finish(),
        }
    }
}
