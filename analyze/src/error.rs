//! What stops a query: inputs that are not mirrorflow output, fields and
//! filters that do not parse. Every message names the path or the text given.

use std::path::PathBuf;

/// A failed query or report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A folder holds no Parquet file (dot files, being written, do not count).
    #[error("no mirrorflow output in '{}': no .parquet file in it or its subfolders", path.display())]
    NoOutput {
        /// The folder.
        path: PathBuf,
    },
    /// A file is neither mirrorflow's Parquet nor its NDJSON.
    #[error("'{}' is not mirrorflow output: {reason}", path.display())]
    NotOutput {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A field name that is in no record.
    #[error("no field '{name}'; the fields are: {known}")]
    UnknownField {
        /// The name given.
        name: String,
        /// Every field a record has, and the derived keys, comma-separated.
        known: String,
    },
    /// A `--where` expression, `--by` key or time that does not parse.
    #[error("{0}")]
    Invalid(String),
    /// Reading an input failed.
    #[error("reading '{}': {source}", path.display())]
    Io {
        /// The input.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A Parquet file could not be read.
    #[error("reading '{}': {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// An NDJSON line is not a record.
    #[error("'{}' line {line}: {reason}", path.display())]
    Record {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}
