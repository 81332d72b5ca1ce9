//! Finding what to read: Parquet folders (with their Hive partitions pruned by
//! the time range), Parquet files, NDJSON files and stdin, each checked to be
//! mirrorflow output before any record is counted.

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
};

use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};

use crate::{field::Catalog, filter::TimeRange, Error};

/// The key every mirrorflow Parquet file carries in its metadata (docs/parquet.md).
const VERSION_KEY: &str = "mirrorflow.version";

/// One input to read.
#[derive(Debug, Clone)]
pub enum Input {
    /// A Parquet file written by mirrorflow, its footer already read.
    Parquet {
        /// The file.
        path: PathBuf,
        /// Its metadata, with text columns to be read as dictionaries.
        meta: ArrowReaderMetadata,
    },
    /// An NDJSON file.
    Ndjson(PathBuf),
    /// NDJSON on stdin (`-`).
    Stdin,
}

/// The inputs of a query and the fields they hold.
#[derive(Debug)]
pub struct Inputs {
    /// What to read, Parquet files first.
    pub list: Vec<Input>,
    /// The schema table's fields and any further ones the files carry.
    pub catalog: Catalog,
    /// Parquet files left out by their Hive partition, unopened.
    pub pruned_files: usize,
}

impl Inputs {
    /// Finds the inputs under `paths`, leaving out Hive partitions
    /// (`date=…/hour=…`) that `range` excludes.
    pub fn open(paths: &[PathBuf], range: &TimeRange) -> Result<Inputs, Error> {
        let mut inputs = Inputs {
            list: Vec::new(),
            catalog: Catalog::default(),
            pruned_files: 0,
        };
        for path in paths {
            if path.as_os_str() == "-" {
                inputs.list.push(Input::Stdin);
            } else if path.is_dir() {
                let mut files = Vec::new();
                walk(path, &mut files).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                if files.is_empty() {
                    return Err(Error::NoOutput { path: path.clone() });
                }
                files.sort();
                for file in files {
                    match partition_span(file.strip_prefix(path).unwrap_or(&file)) {
                        Some((lo, hi)) if !range.overlaps(lo, hi) => inputs.pruned_files += 1,
                        _ => inputs.add_parquet(file)?,
                    }
                }
            } else if is_parquet(path)? {
                inputs.add_parquet(path.clone())?;
            } else {
                inputs.list.push(Input::Ndjson(path.clone()));
            }
        }
        // Parquet first: its row groups are spread over threads, NDJSON is read after.
        inputs
            .list
            .sort_by_key(|i| !matches!(i, Input::Parquet { .. }));
        Ok(inputs)
    }

    fn add_parquet(&mut self, path: PathBuf) -> Result<(), Error> {
        let parquet_err = |source| Error::Parquet {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let plain = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
            Error::NotOutput {
                path: path.clone(),
                reason: format!("not a readable Parquet file ({e})"),
            }
        })?;
        let ours = plain
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .is_some_and(|kv| kv.iter().any(|k| k.key == VERSION_KEY));
        if !ours {
            return Err(Error::NotOutput {
                path,
                reason: format!("a Parquet file without mirrorflow's '{VERSION_KEY}' metadata"),
            });
        }
        self.catalog.extend_with(plain.schema().fields());
        // Text read as dictionaries: a key or filter then looks at each
        // distinct address once per row group instead of once per record.
        let hint = Arc::new(Schema::new(dictionaries(plain.schema().fields())));
        let meta = ArrowReaderMetadata::try_new(
            plain.metadata().clone(),
            ArrowReaderOptions::new().with_schema(hint),
        )
        .map_err(parquet_err)?;
        self.list.push(Input::Parquet { path, meta });
        Ok(())
    }
}

fn dictionaries(fields: &Fields) -> Fields {
    fields
        .iter()
        .map(|f| {
            let ty = match f.data_type() {
                DataType::Utf8 => {
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
                }
                DataType::Struct(children) => DataType::Struct(dictionaries(children)),
                other => other.clone(),
            };
            Arc::new(Field::new(f.name(), ty, f.is_nullable()))
        })
        .collect()
}

/// Every `*.parquet` file under `dir`, skipping dot files (files being written).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "parquet") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_parquet(path: &Path) -> Result<bool, Error> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let n = file.read(&mut magic).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(n == 4 && &magic == b"PAR1")
}

/// The times `[lo, hi]` (µs) a Hive path `date=YYYY-MM-DD[/hour=HH]` can hold.
fn partition_span(relative: &Path) -> Option<(i64, i64)> {
    let mut date = None;
    let mut hour = None;
    for part in relative.iter().filter_map(|p| p.to_str()) {
        if let Some(d) = part.strip_prefix("date=") {
            date = Some(d);
        } else if let Some(h) = part.strip_prefix("hour=") {
            hour = h.parse::<u8>().ok().filter(|h| *h < 24);
        }
    }
    let start = humantime::parse_rfc3339(&format!("{}T{:02}:00:00Z", date?, hour.unwrap_or(0)))
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_micros() as i64;
    let span: i64 = if hour.is_some() { 3600 } else { 86_400 } * 1_000_000;
    Some((start, start + span - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_paths_give_their_hour() {
        let (lo, hi) = partition_span(Path::new("date=1970-01-02/hour=01/x.parquet")).unwrap();
        assert_eq!(lo, 90_000_000_000);
        assert_eq!(hi, 93_600_000_000 - 1);
        let (lo, hi) = partition_span(Path::new("date=1970-01-01/x.parquet")).unwrap();
        assert_eq!((lo, hi), (0, 86_400_000_000 - 1));
        assert_eq!(partition_span(Path::new("flows/x.parquet")), None);
    }
}
