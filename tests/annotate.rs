//! Annotations through the binary (issue 17, docs/annotate.md): `reporter`
//! from `--local-net` and `--report-both-ends`, in NDJSON and in Parquet
//! read back by `top` and `report`.
//!
//! The capture is tcpdump-sll-nano-tcp-handshake.pcap, whose three records
//! are in its .expected.csv (tshark): 131.155.215.69:46656 → 137.116.81.94:80
//! in the intervals of 1418145365 (1 packet, 60 bytes) and 1418145370
//! (1 packet, 52 bytes), and 137.116.81.94:80 → 131.155.215.69:46656 in
//! 1418145370 (1 packet, 60 bytes). The expectations below follow from
//! those by hand.

use serde_json::Value;

use crate::common::{fixture, mirrorflow, replay, scratch};

const CAPTURE: &str = "tcpdump-sll-nano-tcp-handshake.pcap";
const CLIENT: &str = "131.155.215.69";

/// (src_ip, interval_start, reporter, bytes_sent) of each record, sorted.
fn summary(records: &[Value]) -> Vec<(String, String, Option<String>, u64)> {
    let mut rows: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r["connection"]["src_ip"].as_str().unwrap().to_owned(),
                r["interval_start"].as_str().unwrap().to_owned(),
                r.get("reporter").map(|v| v.as_str().unwrap().to_owned()),
                r["bytes_sent"].as_u64().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    src: &str,
    interval: &str,
    reporter: Option<&str>,
    bytes: u64,
) -> (String, String, Option<String>, u64) {
    (src.into(), interval.into(), reporter.map(Into::into), bytes)
}

const I65: &str = "2014-12-09T17:16:05.000000000Z";
const I70: &str = "2014-12-09T17:16:10.000000000Z";
const SERVER: &str = "137.116.81.94";

#[test]
fn reporter_is_the_local_end_of_each_record() {
    let capture = fixture(CAPTURE);
    let capture = capture.to_str().unwrap();
    // The client's network local: its records are SRC, the server's reply DEST.
    let records = replay(&[capture, "--local-net", "131.155.0.0/16"]);
    assert_eq!(
        summary(&records),
        [
            row(CLIENT, I65, Some("SRC"), 60),
            row(CLIENT, I70, Some("SRC"), 52),
            row(SERVER, I70, Some("DEST"), 60),
        ]
    );
    // Neither end local: no reporter at all.
    let records = replay(&[capture, "--local-net", "10.0.0.0/8"]);
    assert!(
        records.iter().all(|r| r.get("reporter").is_none()),
        "{records:?}"
    );
    assert_eq!(records.len(), 3);
}

#[test]
fn both_local_ends_give_two_records_only_with_report_both_ends() {
    let capture = fixture(CAPTURE);
    let capture = capture.to_str().unwrap();
    let both = ["--local-net", CLIENT, "--local-net", "137.116.81.0/24"];
    let mut args = vec![capture];
    args.extend(both);
    // Both ends local, one record each: the source reports.
    assert_eq!(
        summary(&replay(&args)),
        [
            row(CLIENT, I65, Some("SRC"), 60),
            row(CLIENT, I70, Some("SRC"), 52),
            row(SERVER, I70, Some("SRC"), 60),
        ]
    );
    args.push("--report-both-ends");
    assert_eq!(
        summary(&replay(&args)),
        [
            row(CLIENT, I65, Some("DEST"), 60),
            row(CLIENT, I65, Some("SRC"), 60),
            row(CLIENT, I70, Some("DEST"), 52),
            row(CLIENT, I70, Some("SRC"), 52),
            row(SERVER, I70, Some("DEST"), 60),
            row(SERVER, I70, Some("SRC"), 60),
        ]
    );
}

#[test]
fn report_both_ends_without_local_networks_is_refused() {
    let capture = fixture(CAPTURE);
    let out = mirrorflow(&[
        "replay",
        "-q",
        capture.to_str().unwrap(),
        "--report-both-ends",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--local-net"));
}

/// Replays the capture with `flags` into the Parquet folder `flows`, and
/// returns `top --by BY --format csv` of it.
fn parquet_top(flows: &std::path::Path, flags: &[&str], by: &str) -> String {
    let run = |args: &[&str]| {
        let out = mirrorflow(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    };
    let capture = fixture(CAPTURE);
    let flows = flows.to_str().unwrap();
    let mut replay = vec![
        "replay",
        "-q",
        "-f",
        "parquet",
        "-o",
        flows,
        capture.to_str().unwrap(),
    ];
    replay.extend_from_slice(flags);
    run(&replay);
    run(&["top", flows, "--by", by, "--format", "csv"])
}

#[test]
fn top_and_report_split_parquet_records_by_reporter() {
    let dir = scratch("annotate-top");
    let flows = dir.join("flows");
    // SRC: the client's 60 + 52 bytes; DEST: the server's 60.
    assert_eq!(
        parquet_top(&flows, &["--local-net", "131.155.0.0/16"], "reporter"),
        "reporter,bytes\nSRC,112\nDEST,60\n"
    );
    let flows = flows.to_str().unwrap();
    let page = dir.join("report.html");
    let out = mirrorflow(&["report", flows, "-o", page.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let data = &html[html
        .find("\"reporter\":")
        .expect("the report's reporter data")..];
    let data = &data[..data.find(']').unwrap()];
    assert!(data.contains("SRC") && data.contains("DEST"), "{data}");
}

const INVENTORY: &str = "cidr,vm_name,project_id,zone,region,vpc_name,subnetwork_name
131.155.215.69,client-1,lab,europe-west4-a,europe-west4,lab-net,clients
131.155.0.0/16,,,,,lab-net,
";

#[test]
fn inventory_fills_the_ends_and_makes_its_rows_local() {
    let dir = scratch("annotate-inventory");
    let hosts = dir.join("hosts.csv");
    std::fs::write(&hosts, INVENTORY).unwrap();
    let capture = fixture(CAPTURE);
    let records = replay(&[
        capture.to_str().unwrap(),
        "--inventory",
        hosts.to_str().unwrap(),
    ]);
    assert_eq!(
        summary(&records),
        [
            row(CLIENT, I65, Some("SRC"), 60),
            row(CLIENT, I70, Some("SRC"), 52),
            row(SERVER, I70, Some("DEST"), 60),
        ]
    );
    let client = serde_json::json!({
        "vm_name": "client-1", "project_id": "lab", "zone": "europe-west4-a", "region": "europe-west4"
    });
    let client_vpc = serde_json::json!({"project_id": "lab", "vpc_name": "lab-net", "subnetwork_name": "clients"});
    for r in &records {
        let (near, far) = if r["connection"]["src_ip"] == CLIENT {
            ("src", "dest")
        } else {
            ("dest", "src")
        };
        assert_eq!(r[format!("{near}_instance")], client, "{r}");
        assert_eq!(r[format!("{near}_vpc")], client_vpc, "{r}");
        // The server is in no row: nothing said of its end.
        assert!(r.get(format!("{far}_instance")).is_none(), "{r}");
        assert!(r.get(format!("{far}_vpc")).is_none(), "{r}");
    }
    // --local-net overrides the inventory's idea of local.
    let records = replay(&[
        capture.to_str().unwrap(),
        "--inventory",
        hosts.to_str().unwrap(),
        "--local-net",
        SERVER,
    ]);
    let reporters: Vec<_> = summary(&records).into_iter().map(|r| r.2).collect();
    assert_eq!(
        reporters,
        [Some("DEST".into()), Some("DEST".into()), Some("SRC".into())]
    );
}

#[test]
fn a_bad_inventory_row_fails_before_any_packet_is_read() {
    let dir = scratch("annotate-bad-inventory");
    let hosts = dir.join("hosts.csv");
    std::fs::write(&hosts, "cidr,vm_name\n10.0.0.1,a\n10.0.0.300,b\n").unwrap();
    let out_file = dir.join("flows.json");
    let capture = fixture(CAPTURE);
    let out = mirrorflow(&[
        "replay",
        capture.to_str().unwrap(),
        "--inventory",
        hosts.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(hosts.to_str().unwrap())
            && stderr.contains("line 3, column 1 (cidr)")
            && stderr.contains("'10.0.0.300'"),
        "{stderr}"
    );
    assert!(
        !out_file.exists(),
        "no output for a run that could not start"
    );
}

/// The folder where tests/fixtures/make_mmdb.py wrote city.mmdb and asn.mmdb.
fn geoip_databases(dir: &std::path::Path) {
    let out = std::process::Command::new("python3")
        .arg(fixture("make_mmdb.py"))
        .arg(dir)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "tests/fixtures/make_mmdb.py failed (pip install mmdb-writer, as scripts/deps.sh test does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs python3's mmdb-writer: scripts/test.sh runs it"]
fn geoip_locates_the_non_local_end_only() {
    let dir = scratch("annotate-geoip");
    geoip_databases(&dir);
    let capture = fixture(CAPTURE);
    let (city, asn) = (dir.join("city.mmdb"), dir.join("asn.mmdb"));
    let records = replay(&[
        capture.to_str().unwrap(),
        "--local-net",
        "131.155.0.0/16",
        "--geoip",
        city.to_str().unwrap(),
        "--geoip",
        asn.to_str().unwrap(),
    ]);
    assert_eq!(records.len(), 3);
    // The server (137.116.81.94) is in the databases' 137.116.0.0/16; the
    // client is local, so it is not looked up (and no database holds it).
    let dublin = serde_json::json!({
        "continent": "Europe", "country": "IE", "region": "Leinster", "city": "Dublin", "asn": 8075
    });
    for r in &records {
        let server = if r["connection"]["src_ip"] == CLIENT {
            "dest"
        } else {
            "src"
        };
        let client = if server == "dest" { "src" } else { "dest" };
        assert_eq!(r[format!("{server}_location")], dublin, "{r}");
        assert!(r.get(format!("{client}_location")).is_none(), "{r}");
    }
    // Parquet: nullable struct columns, read back by `top`. The client's
    // two records (60 + 52 bytes) go to Dublin; the server's reply (60)
    // comes from IE.
    let by = "reporter,dest_location.city,dest_location.asn,src_location.country";
    let flags = [
        "--local-net",
        "131.155.0.0/16",
        "--geoip",
        city.to_str().unwrap(),
        "--geoip",
        asn.to_str().unwrap(),
    ];
    assert_eq!(
        parquet_top(&dir.join("flows"), &flags, by),
        format!("{by},bytes\nSRC,Dublin,8075,,112\nDEST,,,IE,60\n")
    );
    // With the server local too, no end is looked up.
    let records = replay(&[
        capture.to_str().unwrap(),
        "--local-net",
        "131.155.0.0/16",
        "--local-net",
        "137.116.0.0/16",
        "--geoip",
        city.to_str().unwrap(),
    ]);
    assert!(
        records
            .iter()
            .all(|r| r.get("src_location").is_none() && r.get("dest_location").is_none()),
        "{records:?}"
    );
}

#[test]
fn a_geoip_file_that_is_not_a_database_fails_at_start() {
    let dir = scratch("annotate-bad-geoip");
    let bad = dir.join("bad.mmdb");
    std::fs::write(&bad, "not a MaxMind DB").unwrap();
    let capture = fixture(CAPTURE);
    let out = mirrorflow(&[
        "replay",
        "-q",
        capture.to_str().unwrap(),
        "--geoip",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "no record from a run that could not start"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(bad.to_str().unwrap()));
}

#[test]
fn ipfix_output_refuses_the_annotation_options() {
    let dir = scratch("annotate-ipfix");
    let out_file = dir.join("flows.ipfix");
    let capture = fixture(CAPTURE);
    let out = mirrorflow(&[
        "replay",
        "-q",
        "-f",
        "ipfix",
        "-o",
        out_file.to_str().unwrap(),
        capture.to_str().unwrap(),
        "--local-net",
        "10.0.0.0/8",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--local-net is an option of -f json or -f parquet"),
        "{stderr}"
    );
    assert!(!out_file.exists());
}
