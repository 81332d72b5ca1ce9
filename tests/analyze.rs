//! `mirrorflow top` (issue 18): compared with DuckDB and ClickHouse (chdb) on
//! the same Parquet folder (tests/interop/top.py), NDJSON and stdin read as
//! Parquet is, pruning by partition and row group, and the errors for inputs
//! that are not mirrorflow output.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use crate::common::{fixture, fixture_captures, interop, mirrorflow, scratch};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Replays `captures` into `DIR/name` with `-f parquet` (or NDJSON when
/// `name` ends in `.json`); damaged fixtures exit 2 after writing their records.
fn replay_to(dir: &Path, name: &str, captures: &[PathBuf]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["replay", "-q", "-o", out.to_str().unwrap()];
    if !name.ends_with(".json") {
        args.extend(["-f", "parquet"]);
    }
    args.extend(captures.iter().map(|p| p.to_str().unwrap()));
    let run = mirrorflow(&args);
    assert!(
        matches!(run.status.code(), Some(0 | 2)),
        "replay failed: {}",
        stderr(&run)
    );
    out
}

fn top(args: &[&str]) -> Output {
    let mut all = vec!["top"];
    all.extend_from_slice(args);
    mirrorflow(&all)
}

fn stdout_of(out: Output) -> String {
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn issue_18_top_agrees_with_duckdb_and_chdb_on_five_queries() {
    // Every fixture capture (2004 to 2026, IPv4 and IPv6, seven protocols,
    // tunnels): 2.7 k records in 30 partitions, with many ties.
    let dir = scratch("top-interop");
    let out = replay_to(&dir, "flows", &fixture_captures());
    let text = interop(
        "top.py",
        &[
            std::ffi::OsStr::new(env!("CARGO_BIN_EXE_mirrorflow")),
            out.as_os_str(),
        ],
        "pip install duckdb chdb, as scripts/deps.sh test does",
    );
    assert_eq!(text.matches("ok: ").count(), 5, "{text}");
}

#[test]
fn issue_18_top_reads_ndjson_and_stdin_as_it_reads_parquet() {
    let captures = [
        fixture("ndpi-alexa-app.pcapng"),
        fixture("zeek-sctp.pcap"),
        fixture("tcpdump-mpls-traceroute.pcap"),
    ];
    let dir = scratch("top-ndjson");
    let parquet = replay_to(&dir, "flows", &captures);
    let json = replay_to(&dir, "flows.json", &captures);
    for flags in [
        &["--by", "src_ip,dest_port", "--metric", "packets"][..],
        &[
            "--by",
            "src_net/16,interval",
            "--metric",
            "flows",
            "--limit",
            "4",
        ],
        &[
            "--by",
            "protocol",
            "--metric",
            "records",
            "--where",
            "src_port=1024-65535",
        ],
        &[
            "--by",
            "mirror.interface,dest_ip",
            "--since",
            "2017-01-01T00:00:00Z",
        ],
    ] {
        let run = |input: &Path| {
            let mut args = vec![input.to_str().unwrap(), "--format", "csv"];
            args.extend_from_slice(flags);
            stdout_of(top(&args))
        };
        let from_parquet = run(&parquet);
        assert_eq!(run(&json), from_parquet, "{flags:?}");
        assert!(from_parquet.lines().count() > 2, "{from_parquet}");

        let mut child = Command::new(env!("CARGO_BIN_EXE_mirrorflow"))
            .args(["top", "-", "--format", "csv"])
            .args(flags)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&std::fs::read(&json).unwrap())
            .unwrap();
        let from_stdin = stdout_of(child.wait_with_output().unwrap());
        assert_eq!(from_stdin, from_parquet, "{flags:?}");
    }
}

#[test]
fn issue_18_top_prunes_partitions_and_row_groups_outside_the_range() {
    let dir = scratch("top-prune");
    // Two captures of different years: files in separate date/hour partitions.
    let out = replay_to(
        &dir,
        "flows",
        &[fixture("zeek-sctp.pcap"), fixture("ndpi-alexa-app.pcapng")],
    );
    let everything = analyze::Request {
        inputs: vec![out],
        by: vec!["protocol".into()],
        metric: analyze::Metric::Records,
        limit: 10,
        since: None,
        until: None,
        filters: vec![],
        threads: 1,
    };
    let (all, stats) = everything.top().unwrap();
    assert_eq!(stats.files_pruned, 0);
    assert_eq!(stats.records_read, all.total);
    let groups_in_all = stats.row_groups_read;
    assert!(groups_in_all >= 2, "{stats:?}");

    // The first ten seconds of the 2017 capture: other hours' files are left
    // unopened, and the row group of its own hour read.
    let first = analyze::Request {
        by: vec!["interval".into()],
        ..everything.clone()
    };
    let (intervals, _) = first.top().unwrap();
    let start = intervals
        .rows
        .iter()
        .filter_map(|r| match r.key[0] {
            analyze::Value::Time(t) if r.key[0].to_string().starts_with("2017") => Some(t),
            _ => None,
        })
        .min()
        .unwrap();
    let at = |micros: i64| {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros as u64);
        humantime::format_rfc3339_micros(t).to_string()
    };
    let window = analyze::Request {
        since: Some(at(start)),
        until: Some(at(start + 10_000_000)),
        ..everything.clone()
    };
    let (some, stats) = window.top().unwrap();
    assert!(stats.files_pruned >= 1, "{stats:?}");
    assert_eq!(
        stats.files_pruned + stats.row_groups_read + stats.row_groups_pruned,
        groups_in_all
    );
    assert!(some.total < all.total && some.total > 0);
    assert!(stats.records_read < all.total, "{stats:?}");

    // A range inside the hour but after every record: the file is opened
    // and its row group left unread by its interval_start statistics.
    let hour = start - start % 3_600_000_000;
    let late = analyze::Request {
        since: Some(at(hour + 3_599_000_000)),
        until: Some(at(hour + 3_599_500_000)),
        ..everything
    };
    let (none, stats) = late.top().unwrap();
    assert_eq!(none.total, 0);
    assert!(stats.row_groups_pruned >= 1, "{stats:?}");
    assert_eq!(stats.records_read, 0, "{stats:?}");
}

#[test]
fn issue_18_top_fails_clearly_on_what_is_not_mirrorflow_output() {
    let dir = scratch("top-errors");
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("date=2020-01-01")).unwrap();
    std::fs::write(empty.join("notes.txt"), "not records").unwrap();
    let flows = replay_to(&dir, "flows", &[fixture("zeek-sctp.pcap")]);
    let text = dir.join("text.json");
    std::fs::write(&text, "hello\n").unwrap();
    let capture = fixture("zeek-sctp.pcap");
    for (args, message) in [
        (vec![empty.to_str().unwrap()], "no mirrorflow output in"),
        (vec![capture.to_str().unwrap()], "is not mirrorflow output"),
        (
            vec![text.to_str().unwrap()],
            "is not mirrorflow output: line 1",
        ),
        (
            vec![flows.to_str().unwrap(), "--by", "dst_port"],
            "no field 'dst_port'; the fields are: connection.src_ip, connection.src_port",
        ),
        (
            vec![flows.to_str().unwrap(), "--where", "colour=red"],
            "no field 'colour'",
        ),
        (
            vec![flows.to_str().unwrap(), "--where", "dest_port=http"],
            "connection.dest_port takes a number or a range",
        ),
        (
            vec![flows.to_str().unwrap(), "--since", "yesterday"],
            "'yesterday' is not a time",
        ),
    ] {
        let out = top(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
