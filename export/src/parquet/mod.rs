//! Flow records as Hive-partitioned Parquet files (docs/record.md, "Fields"
//! and "Files and runs"; docs/parquet.md).
//!
//! A run writes into one folder:
//!
//! ```text
//! DIR/date=2026-11-24/hour=07/20261124T070000Z-<run id>-000000.parquet
//! ```
//!
//! - The partition is the UTC date and hour of the record's `interval_start`,
//!   so a query over one hour reads one folder. A file holds records of one
//!   partition only: a record of another hour closes the file and opens one
//!   there.
//! - A name starts with the first `interval_start` it holds, then the run id
//!   (start time in ns and process id, in hex) and a sequence number shared by
//!   every writer of the process, so names sort in time order and never
//!   collide between runs or threads.
//! - A file is an [`AtomicFile`]: written under a dot-prefixed temporary name
//!   in its partition folder (readers skip those), then closed (the footer is
//!   written only there), fsynced, renamed, and the folder fsynced: a reader
//!   never sees a partial file. A failure removes the temporary file and
//!   leaves every file already renamed as it was.
//! - Rotation: `--rotate-mb` closes a file when its size (bytes written plus
//!   the encoded estimate of the row group in progress) passes the limit;
//!   `--rotate-secs` closes it once it has been open that long by the wall
//!   clock (checked as records arrive).
//!
//! Costs: records are turned into Arrow arrays a batch of up to
//! [`BATCH_ROWS`] at a time on the caller's thread ([`columns`]); encoding
//! and compression run on a thread of their own ([`encoder`]), at most
//! [`encoder::queue`] batches behind. The writer holds at most one row group
//! in memory: [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] of encoded
//! data, whichever comes first. Nothing here panics.

mod columns;
mod encoder;

use std::{
    fs::{self, File},
    io,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use capture::Timestamp;
use flowagg::FlowRecord;
use parquet::{
    arrow::ArrowWriter,
    basic::{Compression as Codec, Encoding, ZstdLevel},
    errors::ParquetError,
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties, WriterVersion},
    },
    schema::types::ColumnPath,
};

use self::{
    columns::Columns,
    encoder::{Encoder, FileWriter},
};
use crate::{schema, time::utc, AtomicFile, Error, RunInfo};

/// Records turned into Arrow arrays at a time.
pub const BATCH_ROWS: usize = 64 * 1024;
/// Rows per row group at most: about 1M, as pyarrow and Spark write, so a
/// scan reads long column chunks and each engine task gets a sizeable piece.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Encoded bytes per row group at most: the memory bound of the writer.
pub const ROW_GROUP_BYTES: usize = 128 << 20;
/// zstd level 1, not zstd's default 3: on the benchmark traces it wrote
/// files 2% smaller (0.9% larger on the one with few flows) and compressed
/// in about half the time, the largest single cost of encoding
/// (docs/design.md, "Measured choices").
const ZSTD_LEVEL: i32 = 1;

/// The compression codec of the files (`--compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// zstd level 1 (the default): the smallest files every engine reads.
    #[default]
    Zstd,
    /// Snappy: faster to write, larger.
    Snappy,
    /// Uncompressed.
    None,
}

/// How the files of a run are written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParquetOptions {
    /// Codec of every column.
    pub compression: Compression,
    /// Close a file once it holds about this many bytes (`--rotate-mb`).
    pub rotate_bytes: Option<u64>,
    /// Close a file once it has been open this long (`--rotate-secs`).
    pub rotate_after: Option<Duration>,
    /// The records are written by the thread that also reads the packets
    /// (`--threads 1`): the encoding thread then queues more batches, so
    /// that reading goes on while it catches up with a closing
    /// ([`encoder::queue`]).
    pub on_reading_thread: bool,
}

/// Sequence numbers of file names, shared by every writer of the process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);
/// The start time (ns) of the latest writer of the process.
static LAST_START: AtomicU64 = AtomicU64::new(0);

/// Writes records into a Hive-partitioned folder of Parquet files (see the
/// module doc). Call [`ParquetWriter::finish`] at the end: the file being
/// written appears only then. Dropped unfinished, it leaves no partial file.
///
/// Knobs and costs: one thread of its own encodes and compresses, with up to
/// [`encoder::queue`] batches of up to [`BATCH_ROWS`] records waiting for it;
/// a failure to write a batch is reported by the next call (naming the
/// file). With `--rotate-mb`, each batch waits for the size of the file.
#[derive(Debug)]
pub struct ParquetWriter {
    dir: PathBuf,
    options: ParquetOptions,
    run_id: String,
    columns: Columns,
    properties: WriterProperties,
    encoder: Encoder,
    current: Option<OpenFile>,
    files: u64,
    /// The wall clock that ages files for `--rotate-secs`; tests turn their own.
    now: fn() -> Instant,
}

/// The file the encoder is writing, as the writer sees it.
#[derive(Debug)]
struct OpenFile {
    /// Hours since the epoch of its records' `interval_start`.
    hour: u64,
    opened: Instant,
}

impl ParquetWriter {
    /// A writer into `dir`, created if missing. Fails now, naming the folder,
    /// if it is not a folder or cannot be written, before any packet is read.
    pub fn create(dir: &Path, options: ParquetOptions, run: RunInfo) -> Result<Self, Error> {
        let create = |source| Error::Create {
            path: dir.to_owned(),
            source,
        };
        match fs::metadata(dir) {
            Ok(meta) if !meta.is_dir() => {
                return Err(Error::NotAFolder {
                    path: dir.to_owned(),
                })
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(create)?
            }
            Err(e) => return Err(create(e)),
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        // Strictly increasing within the process, so a later writer's names
        // sort after an earlier one's even within one clock tick.
        let previous = LAST_START
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |prev| {
                Some(now.max(prev + 1))
            })
            .unwrap_or(now);
        let started = now.max(previous + 1);
        let run_id = format!("{started:016x}{:08x}", std::process::id());
        // Creating a file is the one sure test that the folder is writable.
        let probe = dir.join(format!(".mirrorflow-{run_id}.probe"));
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(create)?;
        fs::remove_file(&probe).map_err(create)?;

        let properties = properties(&options, &run, &run_id);
        let encoder = Encoder::start(encoder::queue(options.on_reading_thread)).map_err(create)?;
        Ok(ParquetWriter {
            dir: dir.to_owned(),
            options,
            run_id,
            columns: Columns::new(&run),
            properties,
            encoder,
            current: None,
            files: 0,
            now: Instant::now,
        })
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Files renamed into place so far.
    pub fn files_written(&self) -> u64 {
        self.files
    }

    /// Writes records, in order, opening and closing files as partitions
    /// change and rotation limits are reached.
    pub fn write(&mut self, records: &[FlowRecord]) -> Result<(), Error> {
        let mut rest = records;
        while let Some(first) = rest.first() {
            let hour = hour_of(first);
            let len = rest
                .iter()
                .take(BATCH_ROWS)
                .take_while(|r| hour_of(r) == hour)
                .count();
            let (chunk, tail) = rest.split_at(len);
            rest = tail;

            match self.current.as_ref().map(|file| file.hour) {
                Some(open) if open == hour && !self.is_due()? => {}
                Some(_) => {
                    self.commit()?;
                    self.open(hour, first.interval.start)?;
                }
                None => self.open(hour, first.interval.start)?,
            }
            let batch = self.columns.batch(chunk)?;
            self.encoder.write(batch)?;
            if self.is_due()? {
                self.commit()?;
            }
        }
        Ok(())
    }

    /// Closes the file being written if it is due for rotation (by
    /// `--rotate-secs` age or `--rotate-mb` size). [`ParquetWriter::write`]
    /// checks this as records arrive; a live run calls it on its wall-clock
    /// tick too, so a file on a quiet link still appears on time.
    pub fn rotate_if_due(&mut self) -> Result<(), Error> {
        self.encoder.check()?;
        if self.is_due()? {
            self.commit()?;
        }
        Ok(())
    }

    /// Closes the file being written: every file of the run is then complete
    /// and under its final name.
    pub fn finish(mut self) -> Result<(), Error> {
        match self.current {
            Some(_) => self.commit(),
            None => self.encoder.check(),
        }
    }

    /// Whether the file being written is due for rotation.
    fn is_due(&mut self) -> Result<bool, Error> {
        let Some(file) = &self.current else {
            return Ok(false);
        };
        let aged = self
            .options
            .rotate_after
            .is_some_and(|age| (self.now)().saturating_duration_since(file.opened) >= age);
        Ok(aged
            || match self.options.rotate_bytes {
                Some(max) => self.encoder.size()? >= max,
                None => false,
            })
    }

    fn open(&mut self, hour: u64, first_interval: Timestamp) -> Result<(), Error> {
        let (date_dir, hour_dir) = partition(&self.dir, hour);
        make_dir(&date_dir, &self.dir)?;
        make_dir(&hour_dir, &date_dir)?;
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}-{}-{seq:06}.parquet",
            compact_utc(first_interval.secs()),
            self.run_id
        );
        let path = hour_dir.join(&name);
        let file = AtomicFile::create(&path)?;
        // Dropped on failure: the temporary file goes with it.
        let writer = ArrowWriter::try_new(
            file,
            Arc::clone(self.columns.schema()),
            Some(self.properties.clone()),
        )
        .map_err(|e| io_or_parquet(&path, e, false))?;
        self.encoder.open(FileWriter { path, writer })?;
        self.current = Some(OpenFile {
            hour,
            opened: (self.now)(),
        });
        Ok(())
    }

    fn commit(&mut self) -> Result<(), Error> {
        self.current = None;
        self.encoder.commit()?;
        self.files += 1;
        Ok(())
    }
}

/// The writer's settings, explicit: arrow-rs defaults to no compression.
fn properties(options: &ParquetOptions, run: &RunInfo, run_id: &str) -> WriterProperties {
    let codec = match options.compression {
        Compression::Zstd => Codec::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL).unwrap_or_default()),
        Compression::Snappy => Codec::SNAPPY,
        Compression::None => Codec::UNCOMPRESSED,
    };
    let inputs = serde_json::to_string(&run.inputs).unwrap_or_default();
    let meta = |key: &str, value: String| KeyValue::new(format!("mirrorflow.{key}"), value);
    let column = |field: schema::Field| ColumnPath::from(field.name);
    let child = |parent: schema::Field, field: schema::Field| {
        ColumnPath::from(vec![parent.name.to_owned(), field.name.to_owned()])
    };
    let mut builder = WriterProperties::builder()
        // Version 1 pages: what every engine reads.
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(codec)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .set_dictionary_enabled(true)
        // Page statistics and the page index: engines skip pages by time and address.
        .set_statistics_enabled(EnabledStatistics::Page);
    // Capture times: near their neighbours within an interval, so their
    // differences take 3 bytes where a plain value takes 8 (docs/design.md,
    // "Measured choices", for this and the two below).
    for time in [schema::START_TIME, schema::END_TIME] {
        builder = builder
            .set_column_dictionary_enabled(column(time), false)
            .set_column_encoding(column(time), Encoding::DELTA_BINARY_PACKED);
    }
    // Addresses: a dictionary while it fits its page; past that (many
    // flows), sorted text that shares its prefix with the address before it.
    for address in [schema::SRC_IP, schema::DEST_IP] {
        builder = builder.set_column_encoding(
            child(schema::CONNECTION, address),
            Encoding::DELTA_BYTE_ARRAY,
        );
    }
    // One value per run or interval: a dictionary would hash every row for
    // its one entry, where plain repeats compress to nothing.
    for constant in [
        column(schema::INTERVAL_START),
        column(schema::INTERVAL_SECS),
        child(schema::SAMPLING, schema::FLOW_RATE),
        child(schema::SAMPLING, schema::PACKET_RATE),
    ] {
        builder = builder.set_column_dictionary_enabled(constant, false);
    }
    builder
        .set_key_value_metadata(Some(vec![
            meta("version", env!("CARGO_PKG_VERSION").to_owned()),
            meta("interval_secs", run.interval_secs.to_string()),
            meta("flow_rate", run.flow_rate.to_string()),
            meta("packet_rate", run.packet_rate.to_string()),
            meta("inputs", inputs),
            meta("run_id", run_id.to_owned()),
            // Where a reader of the file finds the fields: in the repository.
            meta("schema", "docs/record.md#fields".to_owned()),
        ]))
        .build()
}

/// Hours since the epoch of the record's interval: its partition.
fn hour_of(record: &FlowRecord) -> u64 {
    record.interval.start.secs() / 3600
}

/// `DIR/date=YYYY-MM-DD` and `DIR/date=YYYY-MM-DD/hour=HH` of an hour since the epoch.
fn partition(dir: &Path, hour: u64) -> (PathBuf, PathBuf) {
    let t = utc(hour * 3600);
    let date_dir = dir.join(format!(
        "date={:04}-{:02}-{:02}",
        t.year(),
        u8::from(t.month()),
        t.day()
    ));
    let hour_dir = date_dir.join(format!("hour={:02}", t.hour()));
    (date_dir, hour_dir)
}

/// `20261124T070000Z`: a UTC time that sorts as text.
fn compact_utc(secs: u64) -> String {
    let t = utc(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Creates a partition folder (not its parents: a removed output folder is
/// an error, not something to recreate) and makes its name durable.
fn make_dir(dir: &Path, parent: &Path) -> Result<(), Error> {
    let create = |source| Error::Create {
        path: dir.to_owned(),
        source,
    };
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent).map_err(create),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(create(e)),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An I/O failure inside the Parquet writer becomes a write (or finish)
/// error naming the file; anything else stays a Parquet error.
fn io_or_parquet(path: &Path, error: ParquetError, finishing: bool) -> Error {
    let path = path.to_owned();
    match error {
        ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(source) if finishing => Error::Finish {
                path,
                source: *source,
            },
            Ok(source) => Error::Write {
                path,
                source: *source,
            },
            Err(other) => Error::Parquet {
                path,
                source: ParquetError::External(other),
            },
        },
        other => Error::Parquet {
            path,
            source: other,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture::{decode::decode, LinkType, RawPacket};
    use flowagg::{FlowKey, Interval, ObsId, ObservationPoint};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// IPv4/UDP 10.0.0.1:12345 → 10.0.0.2:53, no payload (LINKTYPE_RAW).
    static UDP4: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, // version 4, IHL 5; total length 28
        0x00, 0x01, 0x00, 0x00, // id 1; no fragment
        0x40, 0x11, 0x00, 0x00, // TTL 64, protocol 17 (UDP), checksum unchecked
        10, 0, 0, 1, // source
        10, 0, 0, 2, // destination
        0x30, 0x39, 0x00, 0x35, // ports 12345 → 53
        0x00, 0x08, 0x00, 0x00, // UDP length 8, checksum 0
    ];

    /// A one-packet record at `secs` since the epoch, 5 s interval.
    fn record(secs: u64) -> FlowRecord {
        let ts = Timestamp::from_parts(secs, 123_456_789);
        let packet = RawPacket {
            ts,
            link: LinkType::RAW,
            interface: 0,
            orig_len: 28,
            data: &UDP4,
        };
        let key = FlowKey::from_decoded(&decode(&packet).unwrap(), ObsId(0));
        FlowRecord {
            interval: Interval::containing(ts, 5),
            observation: ObservationPoint::default(),
            key,
            packets: 1,
            bytes: 28,
            payload_bytes: 0,
            first: ts,
            last: ts,
            tcp_flags: 0,
            rtt_usec: None,
            retransmitted_packets: None,
            partial: false,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mirrorflow-parquet-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// Every file under `dir`, relative, sorted.
    fn files(dir: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    fn rows(path: &Path) -> usize {
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum()
    }

    // 2026-11-24 07:00:00 UTC (date -u -d 2026-11-24T07:00:00Z +%s).
    const H07: u64 = 1_795_503_600;

    #[test]
    fn civil_dates_and_compact_names() {
        // date -u -d @1795012439 → 2026-11-18 14:33:59
        assert_eq!(compact_utc(1_795_012_439), "20261118T143359Z");
        assert_eq!(compact_utc(0), "19700101T000000Z");
        // date -u -d @1709164800 → 2024-02-29 00:00:00 (a leap day)
        let (date, hour) = partition(Path::new("d"), 1_709_164_800 / 3600);
        assert_eq!(date, Path::new("d/date=2024-02-29"));
        assert_eq!(hour, Path::new("d/date=2024-02-29/hour=00"));
        assert_eq!(compact_utc(H07), "20261124T070000Z");
    }

    #[test]
    fn records_of_two_hours_go_to_two_partitions() {
        let dir = scratch("partitions");
        let mut writer =
            ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
        let records = [record(H07 + 10), record(H07 + 20), record(H07 + 3600)];
        writer.write(&records).unwrap();
        writer.finish().unwrap();
        let files = files(&dir);
        assert_eq!(files.len(), 2, "{files:?}");
        assert!(files[0].starts_with("date=2026-11-24/hour=07/20261124T070010Z-"));
        assert!(files[1].starts_with("date=2026-11-24/hour=08/20261124T080000Z-"));
        assert!(files.iter().all(|f| f.ends_with(".parquet")));
        assert_eq!(rows(&dir.join(&files[0])), 2);
        assert_eq!(rows(&dir.join(&files[1])), 1);
    }

    #[test]
    fn nothing_appears_before_finish_and_a_dropped_writer_leaves_nothing() {
        let dir = scratch("drop");
        let mut writer =
            ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
        writer.write(&[record(H07)]).unwrap();
        let during = files(&dir);
        assert_eq!(during.len(), 1);
        assert!(
            during[0].contains("/hour=07/."),
            "temporary name: {during:?}"
        );
        drop(writer);
        assert!(files(&dir).is_empty());
    }

    #[test]
    fn rotation_by_size_starts_a_new_file() {
        let dir = scratch("rotate");
        let options = ParquetOptions {
            rotate_bytes: Some(1),
            ..ParquetOptions::default()
        };
        let mut writer = ParquetWriter::create(&dir, options, RunInfo::default()).unwrap();
        for i in 0..3 {
            writer.write(&[record(H07 + i)]).unwrap();
        }
        assert_eq!(writer.files_written(), 3, "each write passed 1 byte");
        writer.finish().unwrap();
        let files = files(&dir);
        assert_eq!(files.len(), 3);
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
    }

    thread_local! {
        /// How far [`test_now`] has been turned past its start, per test thread.
        static TURNED: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
        static START: Instant = Instant::now();
    }

    /// A wall clock that moves only when the test turns it.
    fn test_now() -> Instant {
        START.with(|start| *start) + TURNED.with(std::cell::Cell::get)
    }

    fn turn(by: Duration) {
        TURNED.with(|t| t.set(t.get() + by));
    }

    #[test]
    fn rotation_by_age_starts_a_new_file() {
        let dir = scratch("rotate-age");
        let options = ParquetOptions {
            rotate_after: Some(Duration::from_secs(1)),
            ..ParquetOptions::default()
        };
        let mut writer = ParquetWriter::create(&dir, options, RunInfo::default()).unwrap();
        writer.now = test_now;
        writer.write(&[record(H07)]).unwrap();
        turn(Duration::from_millis(999));
        writer.write(&[record(H07 + 1)]).unwrap();
        assert_eq!(writer.files_written(), 0, "younger than 1 s");
        turn(Duration::from_millis(1));
        writer.write(&[record(H07 + 2)]).unwrap();
        assert_eq!(writer.files_written(), 1, "the old file closed first");
        turn(Duration::from_secs(1));
        writer.rotate_if_due().unwrap();
        assert_eq!(
            writer.files_written(),
            2,
            "closed on the tick, no record needed"
        );
        writer.rotate_if_due().unwrap();
        writer.finish().unwrap();
        let files = files(&dir);
        assert_eq!(files.len(), 2);
        assert_eq!(rows(&dir.join(&files[0])), 2);
        assert_eq!(rows(&dir.join(&files[1])), 1);
    }

    #[test]
    fn two_writers_at_once_never_collide_and_sort_in_time_order() {
        let dir = scratch("two");
        let mut a =
            ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
        let mut b =
            ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
        assert_ne!(a.run_id, b.run_id);
        let (a_id, b_id) = (a.run_id.clone(), b.run_id.clone());
        b.write(&[record(H07 + 5)]).unwrap();
        a.write(&[record(H07 + 5)]).unwrap();
        b.finish().unwrap();
        a.finish().unwrap();
        let files = files(&dir);
        assert_eq!(files.len(), 2, "{files:?}");
        // Same first interval: the earlier run's file sorts first.
        assert!(
            files[0].contains(&a_id) && files[1].contains(&b_id),
            "{files:?}"
        );
    }

    #[test]
    fn metadata_names_tool_interval_sampling_and_inputs() {
        let dir = scratch("meta");
        let run = RunInfo {
            flow_rate: 0.5,
            packet_rate: 0.25,
            interval_secs: 60,
            inputs: vec!["a.pcap".into()],
            ..RunInfo::default()
        };
        let mut writer = ParquetWriter::create(&dir, ParquetOptions::default(), run).unwrap();
        writer.write(&[record(H07)]).unwrap();
        writer.finish().unwrap();
        let path = dir.join(&files(&dir)[0]);
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let meta = builder.metadata().file_metadata();
        let kv: std::collections::HashMap<_, _> = meta
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.clone().unwrap_or_default()))
            .collect();
        assert_eq!(kv["mirrorflow.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kv["mirrorflow.interval_secs"], "60");
        assert_eq!(kv["mirrorflow.flow_rate"], "0.5");
        assert_eq!(kv["mirrorflow.packet_rate"], "0.25");
        assert_eq!(kv["mirrorflow.inputs"], r#"["a.pcap"]"#);
        let column = builder.metadata().row_group(0).column(0);
        // The level is not stored in the file, only the codec.
        assert!(matches!(column.compression(), Codec::ZSTD(_)));
    }

    #[test]
    fn a_file_as_output_folder_fails_at_create() {
        let dir = scratch("file");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flows.parquet");
        fs::write(&path, b"").unwrap();
        let err = ParquetWriter::create(&path, ParquetOptions::default(), RunInfo::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("flows.parquet") && err.contains("not a folder"),
            "{err}"
        );
    }

    #[test]
    fn a_removed_output_folder_fails_naming_the_path() {
        let dir = scratch("removed");
        let mut writer =
            ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let err = writer.write(&[record(H07)]).unwrap_err().to_string();
        assert!(err.contains(dir.to_str().unwrap()), "{err}");
        assert!(!dir.exists(), "not recreated");
    }
}
