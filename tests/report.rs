//! `mirrorflow report` (issue 18): the page opened in headless Chromium with
//! no network (a network namespace of its own when run as root), its DOM
//! checked (`--dump-dom`), its screenshot taken and every chart's area in
//! it checked to be drawn.
//!
//! No request leaves the file, checked three ways: the page's
//! Content-Security-Policy (`default-src 'none'`) would block any; the page
//! reports in `data-resources` the resources the browser loaded
//! (`performance.getEntriesByType("resource")`, 0 for a page that is all
//! inline) and in `data-violations` every request the policy blocked; and
//! as root Chromium runs under `unshare -n`, where there is no network.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Command,
};

use crate::common::{fixture, mirrorflow, scratch};

/// The chart areas the page draws, by element id.
const CHARTS: &[&str] = &[
    "chart-bytes",
    "chart-packets",
    "chart-pairs",
    "chart-sankey",
    "chart-ports",
    "chart-src-nets",
    "chart-dest-nets",
];

/// The window the page is drawn in, for the DOM dump and the screenshot alike,
/// so the chart boxes the page reports are where the screenshot shows them.
const WINDOW: &str = "--window-size=1280,2600";

fn chromium(dir: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = dir.join("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut command = if as_root {
        let mut c = Command::new("unshare");
        c.args(["-n", "chromium"]);
        c
    } else {
        Command::new("chromium")
    };
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            WINDOW,
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (Debian's chromium package; scripts/deps.sh test installs it)")
}

/// The value of attribute `name` in the tag that starts at `tag`.
fn attribute<'a>(dom: &'a str, tag: &str, name: &str) -> Option<&'a str> {
    let start = dom.find(tag)?;
    let end = start + dom[start..].find('>')?;
    let head = &dom[start..end];
    let at = head.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&head[at..at + head[at..].find('"')?])
}

/// An 8-bit RGB(A), non-interlaced PNG (what Chromium's --screenshot writes):
/// width, height, bytes per pixel and the unfiltered rows.
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<Vec<u8>>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut idat, mut head) = (8, Vec::new(), None);
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let body = &bytes[pos + 8..pos + 8 + len];
        match &bytes[pos + 4..pos + 8] {
            b"IHDR" => head = Some(body.to_vec()),
            b"IDAT" => idat.extend_from_slice(body),
            _ => {}
        }
        pos += 12 + len;
    }
    let head = head.expect("IHDR");
    let width = u32::from_be_bytes(head[0..4].try_into().unwrap()) as usize;
    let height = u32::from_be_bytes(head[4..8].try_into().unwrap()) as usize;
    assert!(
        head[8] == 8 && matches!(head[9], 2 | 6) && head[12] == 0,
        "{head:?}"
    );
    let bpp = if head[9] == 2 { 3 } else { 4 };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = width * bpp;
    let mut rows: Vec<Vec<u8>> = Vec::with_capacity(height);
    let mut prev = vec![0u8; stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let mut line = raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)].to_vec();
        for x in 0..stride {
            let a = if x >= bpp { line[x - bpp] } else { 0 };
            let (b, c) = (prev[x], if x >= bpp { prev[x - bpp] } else { 0 });
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            line[x] = line[x].wrapping_add(predicted);
        }
        prev.clone_from(&line);
        rows.push(line);
    }
    (width, height, bpp, rows)
}

/// Distinct colours, and pixels that are not white, in a rectangle of the screenshot.
fn ink(png: &(usize, usize, usize, Vec<Vec<u8>>), [x0, y0, w, h]: [usize; 4]) -> (usize, usize) {
    let (width, height, bpp, rows) = png;
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0;
    for row in &rows[y0.min(*height)..(y0 + h).min(*height)] {
        for x in x0.min(*width)..(x0 + w).min(*width) {
            let px = &row[x * bpp..x * bpp + 3];
            colours.insert(px.to_vec());
            inked += usize::from(px != [255, 255, 255]);
        }
    }
    (colours.len(), inked)
}

/// `DIR/flows`: the Parquet records of `captures`.
fn parquet_of(dir: &Path, captures: &[PathBuf]) -> PathBuf {
    let flows = dir.join("flows");
    let mut args = vec![
        "replay",
        "-q",
        "-f",
        "parquet",
        "-o",
        flows.to_str().unwrap(),
    ];
    args.extend(captures.iter().map(|p| p.to_str().unwrap()));
    let run = mirrorflow(&args);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    flows
}

fn report_of(dir: &Path, captures: &[PathBuf], extra: &[&str]) -> PathBuf {
    let flows = parquet_of(dir, captures);
    let page = dir.join("report.html");
    let mut args = vec![
        "report",
        flows.to_str().unwrap(),
        "-o",
        page.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = mirrorflow(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    page
}

#[test]
fn issue_18_report_draws_every_chart_offline_in_headless_chromium() {
    let dir = scratch("report-chromium");
    // Three captures: IPv4 and IPv6, TCP, UDP, SCTP, ICMP; many pairs and ports.
    let captures = [
        fixture("ndpi-alexa-app.pcapng"),
        fixture("zeek-sctp.pcap"),
        fixture("tcpdump-mpls-traceroute.pcap"),
    ];
    let page = report_of(&dir, &captures, &["--limit", "8"]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(
        "content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\""
    ));

    let out = chromium(&dir, &["--dump-dom"], &page);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        attribute(&dom, "<html", "data-ready"),
        Some("yes"),
        "the page's script did not finish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(attribute(&dom, "<html", "data-resources"), Some("0"));
    assert_eq!(attribute(&dom, "<html", "data-violations"), Some("0"));
    // Totals, every section's heading, the top table with 8 rows, "other" and total.
    assert_eq!(dom.matches("class=\"card\"").count(), 5, "{dom:.2000}");
    for heading in [
        "Bytes per interval, by protocol",
        "Packets per interval, by protocol",
        "Top talker pairs (bytes)",
        "Top sources to top destinations (bytes)",
        "Top destination ports and services (bytes)",
        "Top source networks",
        "Top destination networks",
        "Top records by bytes: connection.src_ip, connection.dest_ip, connection.dest_port, connection.protocol",
        "443/tcp https",
        "no reporter field",
    ] {
        assert!(dom.contains(heading), "{heading}");
    }
    let table = &dom[dom.find("<table id=\"top\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr>").count(), 1 + 8 + 2, "{table}");
    assert!(table.contains("(other: "), "{table}");

    // Each chart drew on its canvas, and shows in the screenshot where the
    // page says it is.
    let shot = dir.join("report.png");
    let out = chromium(&dir, &[&format!("--screenshot={}", shot.display())], &page);
    let png = decode_png(&std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    }));
    for id in CHARTS {
        let tag = format!("id=\"{id}\"");
        let drawn: usize = attribute(&dom, &tag, "data-ink")
            .unwrap_or_else(|| panic!("{id} missing"))
            .parse()
            .unwrap();
        assert!(drawn > 2000, "{id} drew {drawn} pixels");
        let b: Vec<usize> = attribute(&dom, &tag, "data-box")
            .unwrap()
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let (colours, inked) = ink(&png, [b[0], b[1], b[2], b[3]]);
        assert!(
            colours >= 8 && inked > 2000,
            "{id} at {b:?}: {colours} colours, {inked} pixels not white"
        );
    }
    // Outside the charts, a blank margin stays blank: the check can fail.
    assert_eq!(ink(&png, [0, 0, 10, 2600]), (1, 0));
}

#[test]
fn issue_18_report_fails_clearly_and_writes_nothing() {
    let dir = scratch("report-errors");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let page = dir.join("r.html");
    let capture = fixture("zeek-sctp.pcap");
    let flows = parquet_of(&dir, std::slice::from_ref(&capture));
    for (input, extra, message) in [
        (&empty, &[][..], "no mirrorflow output in"),
        (&capture, &[], "is not mirrorflow output"),
        (
            &flows,
            &["--by", "src_port,colour"],
            "no field 'colour'; the fields are: connection.src_ip",
        ),
    ] {
        let mut args = vec![
            "report",
            input.to_str().unwrap(),
            "-o",
            page.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = mirrorflow(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!page.exists());
    }
}
