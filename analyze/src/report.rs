//! `mirrorflow report`: one self-contained HTML page of the records: totals,
//! traffic over time by protocol, top pairs (bars and a Sankey), ports and
//! services, networks, the reporter split when records carry `reporter`,
//! and the `top` table.
//!
//! Every figure is computed here, in one scan of the inputs; the page only
//! draws them. Charts are Apache ECharts (analyze/vendor/, Apache-2.0),
//! inlined with the data, and the page's Content-Security-Policy allows no
//! request at all, so it opens the same with no network.

use std::collections::BTreeMap;

use serde_json::{json, Value as Json};

use crate::{
    field::{names, Key},
    filter::protocol_name,
    group::{Groups, Need, Rows},
    query::{Grouping, Metric},
    request::Request,
    top::Top,
    value::{rfc3339, Value},
    Error,
};

/// The page, with `/*DATA*/` and `/*ECHARTS*/` where the figures and the
/// library go.
const TEMPLATE: &str = include_str!("report.html");
/// Apache ECharts 5.6.0, `dist/echarts.min.js` of the npm package (vendor/README.md).
const ECHARTS: &str = include_str!("../vendor/echarts.min.js");

/// At most this many points on the time axis: intervals are summed into
/// wider steps beyond it, so a day of 5 s intervals stays a light page.
const MAX_STEPS: i64 = 720;
/// Protocols drawn as their own area; the rest are summed as "other".
const SERIES_PROTOCOLS: usize = 6;

/// Well-known services by destination port, for the ports chart's labels.
const SERVICES: &[(i64, &str)] = &[
    (20, "ftp-data"),
    (21, "ftp"),
    (22, "ssh"),
    (23, "telnet"),
    (25, "smtp"),
    (53, "dns"),
    (67, "dhcp"),
    (80, "http"),
    (110, "pop3"),
    (123, "ntp"),
    (143, "imap"),
    (161, "snmp"),
    (179, "bgp"),
    (389, "ldap"),
    (443, "https"),
    (445, "smb"),
    (465, "smtps"),
    (514, "syslog"),
    (587, "submission"),
    (636, "ldaps"),
    (853, "dns-over-tls"),
    (993, "imaps"),
    (995, "pop3s"),
    (1194, "openvpn"),
    (1433, "mssql"),
    (1812, "radius"),
    (3306, "mysql"),
    (3389, "rdp"),
    (4789, "vxlan"),
    (5060, "sip"),
    (5353, "mdns"),
    (5432, "postgres"),
    (6081, "geneve"),
    (6379, "redis"),
    (6443, "kubernetes"),
    (8080, "http-alt"),
    (8443, "https-alt"),
    (9092, "kafka"),
    (27017, "mongodb"),
];

fn protocol_text(v: &Value) -> String {
    match v {
        Value::Int(n) => protocol_name(*n).map_or_else(|| n.to_string(), str::to_string),
        other => other.to_string(),
    }
}

/// Builds the report of `request` as one HTML page.
pub fn report(request: &Request) -> Result<String, Error> {
    let p = request.prepare()?;
    let key = |name: &str| Key::parse(name, &p.inputs.catalog);
    let net = |address: &str| -> Result<Key, Error> {
        Ok(Key::Net {
            address: p.inputs.catalog.leaf(address)?.clone(),
            v4: 24,
            v6: 48,
        })
    };
    let bytes = Need {
        bytes: true,
        ..Need::default()
    };
    let all = Need {
        bytes: true,
        packets: true,
        flows: true,
    };
    let mut groupings = vec![
        Grouping {
            keys: vec![],
            need: all,
        },
        Grouping {
            keys: vec![
                key("sampling.flow_rate")?,
                key("sampling.packet_rate")?,
                key("interval_secs")?,
            ],
            need: Need::default(),
        },
        Grouping {
            keys: vec![Key::Interval, key(names::PROTOCOL)?],
            need: Need {
                packets: true,
                ..bytes
            },
        },
        Grouping {
            keys: vec![key(names::SRC_IP)?, key(names::DEST_IP)?],
            need: bytes,
        },
        Grouping {
            keys: vec![key(names::DEST_PORT)?, key(names::PROTOCOL)?],
            need: bytes,
        },
        Grouping {
            keys: vec![net(names::SRC_IP)?],
            need: bytes,
        },
        Grouping {
            keys: vec![net(names::DEST_IP)?],
            need: bytes,
        },
        Grouping {
            keys: p.keys.clone(),
            need: request.metric.need(),
        },
    ];
    // Files older than `reporter` have no such column: no split then.
    if let Ok(reporter) = key("reporter") {
        groupings.push(Grouping {
            keys: vec![reporter],
            need: bytes,
        });
    }
    // One result per grouping, in order.
    let (results, _) = p.query.run(&p.inputs, &groupings)?;
    let (totals, rates, series) = (results[0].rows(), results[1].rows(), results[2].rows());
    let (pairs, ports, src_nets, dest_nets, top) = (
        &results[3],
        &results[4],
        &results[5],
        &results[6],
        &results[7],
    );
    let reporter = results.get(8);
    let limit = request.limit;
    let ranked = |groupings: &Grouping, groups: &Groups| {
        Top::rank(&groupings.keys, Metric::Bytes, groups, limit)
    };
    let labelled = |top: Top, label: &dyn Fn(&[Value]) -> String| -> Json {
        top.rows
            .iter()
            .map(|r| json!({ "label": label(&r.key), "bytes": r.value }))
            .collect()
    };
    let first = |k: &[Value]| k[0].to_string();
    let sums = totals.first().map(|(_, s)| s.clone()).unwrap_or_default();
    let span = span(&series);
    let interval_secs = rates
        .iter()
        .filter_map(|(k, _)| match k[2] {
            Value::Int(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(1);
    let top_table = Top::rank(&p.keys, request.metric, top, limit);
    let data = json!({
        "inputs": request.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "filters": request.filters,
        "since": p.query.range.since.map(rfc3339),
        "until": p.query.range.until.map(rfc3339),
        "totals": {
            "bytes": sums.bytes,
            "packets": sums.packets,
            "flows": sums.flows,
            "records": sums.records,
            "first": span.map(|(lo, _)| rfc3339(lo)),
            "last": span.map(|(_, hi)| rfc3339(hi + interval_secs * 1_000_000)),
            "sampling": rates.iter().map(|(k, s)| json!({
                "flow_rate": k[0], "packet_rate": k[1], "interval_secs": k[2], "records": s.records,
            })).collect::<Vec<_>>(),
        },
        "series": time_series(series, interval_secs),
        "pairs": ranked(&groupings[3], pairs).rows.iter().map(|r| json!({
            "src": r.key[0], "dst": r.key[1], "bytes": r.value,
        })).collect::<Vec<_>>(),
        "ports": labelled(ranked(&groupings[4], ports), &|k| {
            let service = match k[0] {
                Value::Int(port) => SERVICES.iter().find(|(p, _)| *p == port).map(|(_, s)| *s),
                _ => None,
            };
            let port = match &k[0] {
                Value::Null => "no port".to_string(),
                v => v.to_string(),
            };
            let proto = protocol_text(&k[1]);
            match service {
                Some(s) => format!("{port}/{proto} {s}"),
                None => format!("{port}/{proto}"),
            }
        }),
        "src_nets": labelled(ranked(&groupings[5], src_nets), &first),
        "dest_nets": labelled(ranked(&groupings[6], dest_nets), &first),
        // Only runs given --local-net write a `reporter` (docs/annotate.md): a
        // split of records that all lack one says nothing, and the page says so.
        "reporter": reporter
            .map(|groups| Top::rank(&[], Metric::Bytes, groups, limit))
            .filter(|top| top.rows.iter().any(|r| r.key.first().is_some_and(|v| *v != Value::Null)))
            .map(|top| labelled(top, &|k| {
                match &k[0] { Value::Null => "(none)".to_string(), v => v.to_string() }
            })),
        "top": {
            "keys": top_table.keys,
            "metric": request.metric.name(),
            "total": top_table.total,
            "rows": top_table.rows.iter().map(|r| {
                let mut cells: Vec<Json> = r.key.iter().map(|v| json!(v)).collect();
                cells.push(json!(r.value));
                cells
            }).collect::<Vec<_>>(),
            "other": top_table.other.map(|(groups, sum)| json!({"groups": groups, "value": sum})),
        },
    });
    // `<` escaped: the data sits in a <script> element, which `</script>` would end.
    let data = data.to_string().replace('<', "\\u003c");
    Ok(TEMPLATE
        .replacen("/*DATA*/", &data, 1)
        .replacen("/*ECHARTS*/", ECHARTS, 1))
}

/// The first and last interval start of rows keyed by interval first.
fn span(rows: &Rows) -> Option<(i64, i64)> {
    let times = rows.iter().filter_map(|(k, _)| match k[0] {
        Value::Time(t) => Some(t),
        _ => None,
    });
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    })
}

/// Bytes and packets per time step, one series per protocol (the largest
/// [`SERIES_PROTOCOLS`], the rest as "other"), steps without records as 0.
fn time_series(rows: Rows, interval_secs: i64) -> Json {
    let mut by_protocol: BTreeMap<String, u64> = BTreeMap::new();
    for (k, s) in &rows {
        *by_protocol.entry(protocol_text(&k[1])).or_default() += s.bytes;
    }
    let mut protocols: Vec<(String, u64)> = by_protocol.into_iter().collect();
    protocols.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut names: Vec<String> = protocols.into_iter().map(|(p, _)| p).collect();
    if names.len() > SERIES_PROTOCOLS {
        names.truncate(SERIES_PROTOCOLS - 1);
        names.push("other".to_string());
    }
    let Some((lo, hi)) = span(&rows) else {
        return json!(null);
    };
    let base = interval_secs.max(1) * 1_000_000;
    let steps_of_base = ((hi - lo) / base + MAX_STEPS) / MAX_STEPS;
    let step = base * steps_of_base;
    let count = ((hi - lo) / step + 1) as usize;
    let mut bytes = vec![vec![0u64; count]; names.len()];
    let mut packets = bytes.clone();
    for (k, s) in &rows {
        let Value::Time(t) = k[0] else { continue };
        let name = protocol_text(&k[1]);
        let series = names
            .iter()
            .position(|n| *n == name)
            .unwrap_or(names.len() - 1);
        let slot = ((t - lo) / step) as usize;
        bytes[series][slot] += s.bytes;
        packets[series][slot] += s.packets;
    }
    json!({
        "step_secs": step / 1_000_000,
        "times": (0..count).map(|i| (lo + i as i64 * step) / 1000).collect::<Vec<_>>(),
        "protocols": names,
        "bytes": bytes,
        "packets": packets,
    })
}
