//! Output failures: each names the path; the cause is the error's
//! `source()`, which the binary prints after it (`{:#}` of anyhow), so the
//! cause is said once.

use std::{io, path::PathBuf};

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// A failure to create, write or finish an output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The output (or its temporary file) could not be created.
    #[error("cannot create output in '{path}'")]
    Create {
        /// The path that was to be created.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing records failed (disk full, folder removed, closed pipe…).
    #[error("cannot write '{path}'")]
    Write {
        /// The output being written (`-` for stdout).
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Flushing, syncing or renaming the finished file failed.
    #[error("cannot finish '{path}'")]
    Finish {
        /// The final path of the output.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The output path exists and is not a folder (Parquet writes a folder).
    #[error("cannot write Parquet into '{path}': not a folder")]
    NotAFolder {
        /// The path given as the output folder.
        path: PathBuf,
    },
    /// Encoding a Parquet file failed for a reason other than I/O.
    #[error("cannot write '{path}'")]
    Parquet {
        /// The final path of the file being written.
        path: PathBuf,
        /// What the Parquet writer said.
        source: ParquetError,
    },
    /// An IPFIX collector address (`udp://HOST:PORT`, `tcp://HOST:PORT`)
    /// could not be read or resolved.
    #[error("cannot use '{text}' as a collector address (write udp://HOST:PORT or tcp://HOST:PORT, IPv6 as [ADDR]:PORT)")]
    Address {
        /// The address as given.
        text: String,
        /// Why it could not be resolved.
        source: io::Error,
    },
    /// The UDP socket to the collector could not be opened.
    #[error("cannot open a socket to '{target}'")]
    Connect {
        /// The collector.
        target: String,
        /// The OS error.
        source: io::Error,
    },
    /// `--ipfix-mtu` out of range.
    #[error("an IPFIX message of at most {mtu} bytes cannot hold the templates: give --ipfix-mtu from {min} to {max}", min = crate::ipfix::MIN_MTU, max = crate::ipfix::MAX_MTU)]
    Mtu {
        /// The size asked for.
        mtu: usize,
    },
    /// A file the run reads (`--inventory`, `--geoip`) could not be opened.
    #[error("cannot open '{path}'")]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A row of the `--inventory` file is not one mirrorflow can use.
    #[error("'{path}' line {line}, column {column}: {reason}")]
    Inventory {
        /// The inventory file.
        path: PathBuf,
        /// The line of the row (1 is the header).
        line: u64,
        /// The column, by number and name.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `--inventory` file could not be read as CSV (I/O, not UTF-8).
    #[error("cannot read the inventory '{path}'")]
    InventoryRead {
        /// The inventory file.
        path: PathBuf,
        /// What the CSV reader said (with the line).
        source: csv::Error,
    },
    /// A `--geoip` file could not be read as a MaxMind DB.
    #[error("cannot read the MaxMind DB '{path}'")]
    GeoIp {
        /// The database file.
        path: PathBuf,
        /// What the reader said.
        source: maxminddb::MaxMindDbError,
    },
    /// Records could not be assembled into Arrow arrays (a bug: the arrays do
    /// not match the schema).
    #[error("cannot build a batch of records")]
    Arrow(#[from] ArrowError),
}

impl Error {
    /// Whether the reader of stdout went away (`| head`): a quiet end, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Write { source, .. } | Error::Finish { source, .. } => {
                source.kind() == io::ErrorKind::BrokenPipe
            }
            Error::Create { .. }
            | Error::Open { .. }
            | Error::Inventory { .. }
            | Error::InventoryRead { .. }
            | Error::GeoIp { .. }
            | Error::Address { .. }
            | Error::Connect { .. }
            | Error::Mtu { .. }
            | Error::NotAFolder { .. }
            | Error::Parquet { .. }
            | Error::Arrow(_) => false,
        }
    }
}
