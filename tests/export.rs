//! Parquet output (issue 5): the same records as NDJSON, read back with
//! arrow-rs field by field; Hive partitions; atomic files; metadata; a run
//! whose disk fills up; and the DuckDB / pyarrow / Spark check of
//! tests/interop/check.py.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
    process::Command,
};

use ::export::schema::{self, Kind};
use arrow_array::{
    cast::AsArray,
    types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType},
    Array, RecordBatch,
};
use parquet::{
    arrow::arrow_reader::ParquetRecordBatchReaderBuilder,
    basic::{Compression, Encoding},
};
use serde_json::{Map, Value};

use crate::common::{
    epoch_text, fixture, interop, mirrorflow, parse_records, pcap, scratch, udp4, RAW,
};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `SECONDS.NNNNNNNNN` → microseconds, truncated as the Parquet writer does.
fn micros(epoch: &str) -> i64 {
    let (s, n) = epoch.split_once('.').unwrap();
    s.parse::<i64>().unwrap() * 1_000_000 + n.parse::<i64>().unwrap() / 1_000
}

/// An NDJSON record as Parquet holds it: timestamps in microseconds.
fn normalize(value: &Value, fields: &[schema::Field]) -> Value {
    let object = value.as_object().unwrap();
    assert!(
        object
            .keys()
            .all(|k| fields.iter().any(|f| f.name == k.as_str())),
        "a JSON key outside the schema: {value}"
    );
    let mut out = Map::new();
    for field in fields {
        let Some(v) = object.get(field.name) else {
            // A flag is absent from JSON when false.
            assert!(
                field.nullable || field.kind == Kind::Boolean,
                "{} missing: {value}",
                field.name
            );
            continue;
        };
        let v = match field.kind {
            Kind::Timestamp => Value::from(micros(&epoch_text(v.as_str().unwrap()))),
            Kind::Struct(children) => normalize(v, children),
            _ => v.clone(),
        };
        out.insert(field.name.to_owned(), v);
    }
    Value::Object(out)
}

/// One cell of an Arrow column as JSON (None: null), walking the schema table.
fn cell(array: &dyn Array, field: &schema::Field, row: usize) -> Option<Value> {
    if array.is_null(row) {
        assert!(field.nullable, "null in non-nullable {}", field.name);
        return None;
    }
    Some(match field.kind {
        Kind::Utf8 => Value::from(array.as_string::<i32>().value(row)),
        Kind::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        Kind::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        Kind::Float64 => Value::from(array.as_primitive::<Float64Type>().value(row)),
        // As the JSON view has it: true, or absent when false.
        Kind::Boolean => match array.as_boolean().value(row) {
            true => Value::Bool(true),
            false => return None,
        },
        Kind::Timestamp => Value::from(array.as_primitive::<TimestampMicrosecondType>().value(row)),
        Kind::Struct(children) => {
            let s = array.as_struct();
            let mut out = Map::new();
            for (i, child) in children.iter().enumerate() {
                if let Some(v) = cell(s.column(i).as_ref(), child, row) {
                    out.insert(child.name.to_owned(), v);
                }
            }
            Value::Object(out)
        }
    })
}

fn rows(batch: &RecordBatch) -> Vec<Value> {
    assert_eq!(
        batch.schema().fields(),
        schema::arrow_schema().fields(),
        "the file's schema is the schema table's"
    );
    (0..batch.num_rows())
        .map(|row| {
            let mut out = Map::new();
            for (i, field) in schema::RECORD.iter().enumerate() {
                if let Some(v) = cell(batch.column(i).as_ref(), field, row) {
                    out.insert(field.name.to_owned(), v);
                }
            }
            Value::Object(out)
        })
        .collect()
}

fn read_file(path: &Path) -> Vec<Value> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .build()
        .unwrap();
    reader.flat_map(|b| rows(&b.unwrap())).collect()
}

/// Every record of every Parquet file under `dir`, by file.
fn read_dir(dir: &Path) -> BTreeMap<PathBuf, Vec<Value>> {
    files(dir)
        .into_iter()
        .map(|f| {
            let records = read_file(&dir.join(&f));
            (f, records)
        })
        .collect()
}

/// Records as sorted JSON texts, so two outputs compare as multisets.
fn sorted(records: impl IntoIterator<Item = Value>) -> Vec<String> {
    let mut out: Vec<String> = records.into_iter().map(|v| v.to_string()).collect();
    out.sort();
    out
}

/// Replays `inputs` to NDJSON and to Parquet in `dir/out`; returns the NDJSON
/// records (normalized) and the Parquet folder.
fn both(test: &str, inputs: &[PathBuf], extra: &[&str]) -> (Vec<Value>, PathBuf) {
    let dir = scratch(test);
    let out = dir.join("out");
    let inputs: Vec<&str> = inputs.iter().map(|p| p.to_str().unwrap()).collect();
    let mut json_args = vec!["replay", "-q"];
    json_args.extend(&inputs);
    let json = mirrorflow(&json_args);
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    let mut parquet_args = vec!["replay", "-q", "-f", "parquet", "-o", out.to_str().unwrap()];
    parquet_args.extend(extra);
    parquet_args.extend(&inputs);
    let run = mirrorflow(&parquet_args);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(run.stdout.is_empty());
    let records = parse_records(&json.stdout)
        .iter()
        .map(|r| normalize(r, schema::RECORD))
        .collect();
    (records, out)
}

/// `date=YYYY-MM-DD/hour=HH/YYYYMMDDTHHMMSSZ-<24 hex>-<6 digits>.parquet`:
/// the hour's first second and the name's time, in seconds since the epoch.
fn parse_path(path: &Path) -> (i64, i64) {
    let parts: Vec<&str> = path.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(parts.len(), 3, "{}", path.display());
    let date = parts[0].strip_prefix("date=").unwrap();
    let hour = parts[1].strip_prefix("hour=").unwrap();
    assert!(date.len() == 10 && hour.len() == 2, "{}", path.display());
    let hour_start = epoch_text(&format!("{date}T{hour}:00:00.000000000Z"));
    let name = parts[2];
    let (stem, ext) = name.split_once('.').unwrap();
    assert_eq!(ext, "parquet", "{name}");
    let pieces: Vec<&str> = stem.split('-').collect();
    assert_eq!(pieces.len(), 3, "{name}");
    let t = pieces[0];
    assert_eq!((t.len(), &t[8..9], &t[15..]), (16, "T", "Z"), "{name}");
    assert!(pieces[1].len() == 24 && pieces[1].bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(pieces[2].len() == 6 && pieces[2].bytes().all(|b| b.is_ascii_digit()));
    let name_time = epoch_text(&format!(
        "{}-{}-{}T{}:{}:{}.000000000Z",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15]
    ));
    let secs = |e: String| e.split('.').next().unwrap().parse::<i64>().unwrap();
    (secs(hour_start), secs(name_time))
}

/// Every file sits in the partition of its records' `interval_start`, and is
/// named after the first of them; nothing else is in the folder.
fn check_layout(files: &BTreeMap<PathBuf, Vec<Value>>) {
    for (path, records) in files {
        assert!(
            !path.iter().any(|p| p.to_str().unwrap().starts_with('.')),
            "temporary file left: {}",
            path.display()
        );
        let (hour_start, name_time) = parse_path(path);
        let starts: Vec<i64> = records
            .iter()
            .map(|r| r["interval_start"].as_i64().unwrap() / 1_000_000)
            .collect();
        assert!(!starts.is_empty(), "{}", path.display());
        assert!(
            starts
                .iter()
                .all(|s| (hour_start..hour_start + 3600).contains(s)),
            "{}: a record outside its partition",
            path.display()
        );
        assert_eq!(name_time, starts[0], "{}", path.display());
    }
}

#[test]
fn parquet_holds_the_ndjson_records_field_by_field() {
    for name in [
        "ndpi-alexa-app.pcapng",              // IPv4 and IPv6, TCP, UDP, ICMP
        "zeek-sctp.pcap",                     // SCTP ports
        "tcpdump-mpls-traceroute.pcap",       // ICMP time exceeded: type and code
        "zeek-ipv6-tcp-smtp.pcap",            // IPv6 text, TCP flags
        "tcpdump-erspan-type-i.pcap",         // mirror.encap, mirror.session_id
        "tcpdump-geneve.pcap",                // mirror.vni
        "zeek-pcapng-multi-interface.pcapng", // mirror.interface
    ] {
        let (ndjson, out) = both(&format!("roundtrip-{name}"), &[fixture(name)], &[]);
        assert!(!ndjson.is_empty(), "{name}");
        let files = read_dir(&out);
        check_layout(&files);
        let parquet = sorted(files.into_values().flatten());
        let ndjson = sorted(ndjson);
        assert_eq!(parquet.len(), ndjson.len(), "{name}: record count");
        for (p, j) in parquet.iter().zip(&ndjson) {
            assert_eq!(p, j, "{name}: Parquet (left) and NDJSON (right) differ");
        }
    }
}

#[test]
fn parquet_partitions_by_date_and_hour_across_inputs() {
    // Three captures from 2004, 2014 and 2017: three partitions, one file each.
    let inputs = [
        fixture("tcpdump-mpls-traceroute.pcap"),
        fixture("zeek-sctp.pcap"),
        fixture("ndpi-alexa-app.pcapng"),
    ];
    let (ndjson, out) = both("partitions", &inputs, &[]);
    let files = read_dir(&out);
    check_layout(&files);
    let folders: std::collections::BTreeSet<_> = files
        .keys()
        .map(|f| f.parent().unwrap().to_owned())
        .collect();
    assert!(folders.len() >= 3, "{folders:?}");
    assert_eq!(folders.len(), files.len(), "one file per partition");
    assert_eq!(sorted(files.into_values().flatten()), sorted(ndjson));
}

fn key_values(path: &Path) -> BTreeMap<String, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect()
}

fn codecs(path: &Path) -> Vec<Compression> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let meta = builder.metadata();
    (0..meta.num_row_groups())
        .flat_map(|g| {
            meta.row_group(g)
                .columns()
                .iter()
                .map(|c| c.compression())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn parquet_metadata_names_the_run_and_compression_is_as_asked() {
    let input = fixture("ndpi-alexa-app.pcapng");
    for (flag, expected) in [
        (None, "ZSTD"),
        (Some("zstd"), "ZSTD"),
        (Some("snappy"), "SNAPPY"),
        (Some("none"), "UNCOMPRESSED"),
    ] {
        let extra: Vec<&str> = match flag {
            Some(codec) => vec!["--compression", codec, "--interval", "60"],
            None => vec!["--interval", "60"],
        };
        let test = format!("meta-{}", flag.unwrap_or("default"));
        let dir = scratch(&test);
        let out = dir.join("out");
        let mut args = vec!["replay", "-q", "-f", "parquet", "-o", out.to_str().unwrap()];
        args.extend(&extra);
        args.push(input.to_str().unwrap());
        let run = mirrorflow(&args);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        let files = files(&out);
        assert_eq!(files.len(), 1);
        let path = out.join(&files[0]);
        let kv = key_values(&path);
        assert_eq!(kv["mirrorflow.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kv["mirrorflow.interval_secs"], "60");
        assert_eq!(kv["mirrorflow.flow_rate"], "1");
        assert_eq!(kv["mirrorflow.packet_rate"], "1");
        let inputs: Vec<String> = serde_json::from_str(&kv["mirrorflow.inputs"]).unwrap();
        assert_eq!(inputs, vec![input.display().to_string()]);
        let codecs = codecs(&path);
        assert!(
            codecs
                .iter()
                .all(|c| format!("{c:?}").starts_with(expected)),
            "{flag:?}: {codecs:?}"
        );
    }
}

#[test]
fn parquet_needs_a_folder_and_checks_it_before_reading() {
    let input = fixture("zeek-sctp.pcap");
    let input = input.to_str().unwrap();
    let no_out = mirrorflow(&["replay", "-f", "parquet", input]);
    assert_eq!(no_out.status.code(), Some(1));
    assert!(stderr(&no_out).contains("-o DIR"), "{}", stderr(&no_out));

    let dir = scratch("parquet-not-folder");
    let file = dir.join("flows.json");
    std::fs::write(&file, b"").unwrap();
    let run = mirrorflow(&[
        "replay",
        "-f",
        "parquet",
        "-o",
        file.to_str().unwrap(),
        input,
    ]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains(file.to_str().unwrap()) && err.contains("not a folder"),
        "{err}"
    );
    assert!(!err.contains("packets read"), "nothing was read\n{err}");

    let json_with_parquet_option = mirrorflow(&["replay", "--rotate-mb", "5", input]);
    assert_eq!(json_with_parquet_option.status.code(), Some(1));
    assert!(stderr(&json_with_parquet_option).contains("-f parquet"));
}

#[test]
fn parquet_rotates_by_size_and_every_file_reads() {
    // 80 000 packets of nearly as many flows over 8 s of packet time: two or
    // three intervals of a megabyte or more of records each.
    let trace = many_flows(&scratch("rotate-input"), 80_000, 10_000);
    let (ndjson, out) = both(
        "rotate",
        &[trace],
        &["--rotate-mb", "1", "--compression", "none"],
    );
    let files = read_dir(&out);
    assert!(files.len() >= 2, "rotated: {:?}", files.keys());
    check_layout(&files);
    for path in files.keys() {
        let size = std::fs::metadata(out.join(path)).unwrap().len();
        // The limit is checked after each batch of records is encoded.
        assert!(size < 3 << 20, "{}: {size} bytes", path.display());
    }
    assert_eq!(sorted(files.into_values().flatten()), sorted(ndjson));
}

/// A capture in `dir` of `packets` small packets at `rate_pps`, each of a
/// flow picked from a million: nearly as many flows as packets.
fn many_flows(dir: &Path, packets: u64, rate_pps: u64) -> PathBuf {
    let trace = dir.join("many-flows.pcap");
    let spec = capture::synth::TraceSpec {
        packets,
        flows: 1_000_000,
        ip_len: 64,
        snaplen: 128,
        rate_pps,
        ..capture::synth::TraceSpec::default()
    };
    let mut file = std::io::BufWriter::new(File::create(&trace).unwrap());
    capture::synth::write_pcap(&spec, &mut file).unwrap();
    drop(file);
    trace
}

/// The encodings of each column chunk of the file, by dotted path.
fn encodings(path: &Path) -> BTreeMap<String, Vec<Encoding>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let meta = builder.metadata();
    let mut out: BTreeMap<String, Vec<Encoding>> = BTreeMap::new();
    for group in meta.row_groups() {
        for column in group.columns() {
            out.entry(column.column_path().string())
                .or_default()
                .extend(column.encodings());
        }
    }
    out
}

#[test]
fn parquet_encodes_each_column_as_documented_and_every_value_reads_back() {
    let dir = scratch("encodings-input");
    // 150 000 packets in 0.15 s: one file, one row group, 140 000 source
    // addresses, more than a dictionary page holds.
    let (ndjson, out) = both("encodings", &[many_flows(&dir, 150_000, 1_000_000)], &[]);
    let files = read_dir(&out);
    assert_eq!(files.len(), 1, "{:?}", files.keys());
    let encodings = encodings(&out.join(files.keys().next().unwrap()));
    let has = |column: &str, encoding: Encoding| encodings[column].contains(&encoding);
    for time in ["start_time", "end_time"] {
        assert!(
            has(time, Encoding::DELTA_BINARY_PACKED),
            "{time}: {encodings:?}"
        );
        assert!(!has(time, Encoding::PLAIN) && !has(time, Encoding::RLE_DICTIONARY));
    }
    // The source addresses outgrow their dictionary page; the one
    // destination stays in it.
    assert!(has("connection.src_ip", Encoding::RLE_DICTIONARY));
    assert!(has("connection.src_ip", Encoding::DELTA_BYTE_ARRAY));
    assert!(has("connection.dest_ip", Encoding::RLE_DICTIONARY));
    assert!(!has("connection.dest_ip", Encoding::DELTA_BYTE_ARRAY));
    for constant in [
        "interval_start",
        "interval_secs",
        "sampling.flow_rate",
        "sampling.packet_rate",
    ] {
        assert!(has(constant, Encoding::PLAIN), "{constant}: {encodings:?}");
        assert!(!has(constant, Encoding::RLE_DICTIONARY), "{constant}");
    }
    assert!(has("bytes_sent", Encoding::RLE_DICTIONARY));
    assert_eq!(sorted(files.into_values().flatten()), sorted(ndjson));
}

#[test]
fn parquet_holds_the_same_records_in_the_same_order_with_one_thread_and_three() {
    // With one thread the writer also reads, and the encoder queues more
    // batches (export::parquet::encoder::queue): a closing of 100 000
    // records is 25 of them.
    let trace = many_flows(&scratch("threads-input"), 200_000, 40_000);
    let mut outputs = Vec::new();
    for threads in ["1", "3"] {
        let out = scratch(&format!("threads-{threads}")).join("out");
        let run = mirrorflow(&[
            "replay",
            "-q",
            "--threads",
            threads,
            "-f",
            "parquet",
            "-o",
            out.to_str().unwrap(),
            trace.to_str().unwrap(),
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        let records: Vec<Value> = read_dir(&out).into_values().flatten().collect();
        assert!(records.len() > 150_000, "{}", records.len());
        outputs.push(records);
    }
    assert!(outputs[0] == outputs[1], "--threads 1 and 3 differ");
}

/// A tmpfs of `size` mounted on `dir` for the life of the guard.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a small tmpfs needs root (CI runs as root): mount exited {status}"
        );
        Tmpfs(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[ignore = "needs root (mounts a tmpfs): scripts/test.sh runs it as root"]
fn a_full_disk_mid_run_exits_1_naming_the_file_and_keeps_renamed_files() {
    // 48 hours of 40 flows each: one partition, so one file, per hour, each
    // a few KiB. A 64 KiB tmpfs fills after some of them.
    let dir = scratch("disk-full");
    let trace = dir.join("hours.pcap");
    let start_us: u64 = 1_795_503_600 * 1_000_000; // 2026-11-24T07:00:00Z
    let packets: Vec<(u64, Vec<u8>)> = (0..48u64)
        .flat_map(|hour| {
            (0..40u16).map(move |flow| {
                let ts = start_us + hour * 3_600_000_000 + u64::from(flow) * 1000;
                (
                    ts,
                    udp4([10, 0, 0, 1], [10, 0, 1, 2], 1000 + flow, 443, 100),
                )
            })
        })
        .collect();
    std::fs::write(&trace, pcap(RAW, &packets)).unwrap();
    let reference = mirrorflow(&["replay", "-q", trace.to_str().unwrap()]);
    assert_eq!(reference.status.code(), Some(0));
    let reference: Vec<Value> = parse_records(&reference.stdout)
        .iter()
        .map(|r| normalize(r, schema::RECORD))
        .collect();
    assert_eq!(reference.len(), 48 * 40);

    let mount = dir.join("small");
    let _tmpfs = Tmpfs::mount(&mount, "64k");
    let out = mount.join("flows");
    let run = mirrorflow(&[
        "replay",
        "-q",
        "-f",
        "parquet",
        "-o",
        out.to_str().unwrap(),
        trace.to_str().unwrap(),
    ]);
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.contains(out.to_str().unwrap()) && err.contains("No space left"),
        "{err}"
    );

    let files = read_dir(&out);
    assert!(
        !files.is_empty() && files.len() < 48,
        "some files renamed before the disk filled: {}",
        files.len()
    );
    check_layout(&files);
    // Every renamed file is whole: exactly the records of its hour.
    for (path, records) in &files {
        let (hour_start, _) = parse_path(path);
        let of_hour = reference.iter().filter(|r| {
            (hour_start..hour_start + 3600)
                .contains(&(r["interval_start"].as_i64().unwrap() / 1_000_000))
        });
        assert_eq!(
            sorted(records.clone()),
            sorted(of_hour.cloned()),
            "{}",
            path.display()
        );
    }
}

#[test]
fn duckdb_pyarrow_and_spark_read_the_folder_and_agree() {
    // Four captures (2004, 2014, 2017, 2019): several partitions, IPv4 and
    // IPv6, ICMP, SCTP, a mirror tunnel; and one of many flows, whose
    // addresses outgrow their dictionary.
    let dir = scratch("interop");
    let inputs = [
        fixture("tcpdump-mpls-traceroute.pcap"),
        fixture("zeek-sctp.pcap"),
        fixture("ndpi-alexa-app.pcapng"),
        fixture("tcpdump-erspan-type-i.pcap"),
        many_flows(&dir, 150_000, 1_000_000),
    ];
    let out = dir.join("out");
    let json = dir.join("flows.json");
    let mut args = vec!["replay", "-q", "-o", json.to_str().unwrap()];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let run = mirrorflow(&args);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    args[3] = out.to_str().unwrap();
    args.splice(2..2, ["-f", "parquet"]);
    let run = mirrorflow(&args);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));

    let text = interop(
        "check.py",
        &[out.as_os_str(), json.as_os_str()],
        "pip install duckdb pyarrow pyspark chdb, as scripts/deps.sh test does",
    );
    assert!(text.contains("interop: ok"), "{text}");
}

/// The field table of docs/record.md, as rendered from the schema table.
fn schema_table() -> String {
    fn rows(prefix: &str, fields: &[schema::Field], out: &mut String) {
        for f in fields {
            let name = format!("{prefix}{}", f.name);
            let (parquet, json) = match f.kind {
                Kind::Struct(children) => {
                    rows(&format!("{name}."), children, out);
                    continue;
                }
                Kind::Utf8 => ("Utf8", "string"),
                Kind::Int32 => ("Int32", "number"),
                Kind::Int64 => ("Int64", "number"),
                Kind::Float64 => ("Float64", "number"),
                Kind::Boolean => ("Boolean", "true or absent"),
                Kind::Timestamp => ("Timestamp(µs, UTC)", "RFC 3339 string, ns"),
            };
            let json = if f.nullable {
                format!("{json} or absent")
            } else {
                json.to_owned()
            };
            let null = if f.nullable { "yes" } else { "no" };
            out.push_str(&format!(
                "| `{name}` | {parquet} | {null} | {json} | {} |\n",
                f.doc
            ));
        }
    }
    let mut out = String::from(
        "| column | Parquet (Arrow type) | nullable | JSON | meaning |\n|---|---|---|---|---|\n",
    );
    rows("", schema::RECORD, &mut out);
    out
}

#[test]
fn record_doc_field_table_is_the_schema() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/record.md"))
        .unwrap();
    let table = schema_table();
    assert!(
        doc.contains(&table),
        "docs/record.md's field table differs from export::schema; it should read:\n{table}"
    );
}
