//! `mirrorflow top`: the N largest groups by a metric, an "other" row for the
//! rest, printed as an aligned table, CSV or JSON.

use std::{cmp::Reverse, fmt::Write as _};

use serde_json::{json, Map, Value as Json};

use crate::{
    field::{names, Key},
    filter::protocol_name,
    query::Metric,
    value::Value,
};

/// One row of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The group's key values, in `--by` order.
    pub key: Vec<Value>,
    /// The metric's figure.
    pub value: u64,
}

/// A ranked result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Top {
    /// Column headings of the key (`--by` names).
    pub keys: Vec<String>,
    /// What the rows are ranked by.
    pub metric: Metric,
    /// The largest groups, largest first, ties in key order.
    pub rows: Vec<Row>,
    /// The groups left out by the limit: how many, and their sum.
    pub other: Option<(usize, u64)>,
    /// The sum over every group (for flows, a flow counts in each group it is in).
    pub total: u64,
}

/// Groups as ranking sees them: a figure per group, and a key decoded only
/// for the groups that may be shown.
pub trait Ranked {
    /// Each group's figure of `metric`, with an id for [`Ranked::key`].
    fn figures(&self, metric: Metric) -> Vec<(u64, usize)>;
    /// The key of the group `id`.
    fn key(&self, id: usize) -> Vec<Value>;
}

impl Top {
    /// Ranks `groups` by `metric`, keeping `limit` rows.
    ///
    /// The limit-th largest figure is found on the figures alone
    /// (`select_nth_unstable`); only groups at or above it have their key
    /// decoded and sorted, so ties at the cut still break by key.
    pub fn rank(keys: &[Key], metric: Metric, groups: &impl Ranked, limit: usize) -> Top {
        let mut figures = groups.figures(metric);
        let total = figures.iter().map(|&(value, _)| value).sum();
        let (mut other_groups, mut other_sum) = (0, 0);
        if figures.len() > limit {
            let cut = limit.checked_sub(1).map(|last| {
                figures.select_nth_unstable_by(last, |a, b| b.0.cmp(&a.0));
                figures[last].0
            });
            figures.retain(|&(value, _)| {
                let shown = cut.is_some_and(|cut| value >= cut);
                if !shown {
                    other_groups += 1;
                    other_sum += value;
                }
                shown
            });
        }
        let mut rows: Vec<Row> = figures
            .into_iter()
            .map(|(value, id)| Row {
                key: groups.key(id),
                value,
            })
            .collect();
        rows.sort_unstable_by(|a, b| (Reverse(a.value), &a.key).cmp(&(Reverse(b.value), &b.key)));
        for row in rows.drain(limit.min(rows.len())..) {
            other_groups += 1;
            other_sum += row.value;
        }
        Top {
            keys: keys.iter().map(Key::name).collect(),
            metric,
            rows,
            other: (other_groups > 0).then_some((other_groups, other_sum)),
            total,
        }
    }

    /// CSV: one header row, exact figures, the "other" row (first key
    /// `(other)`) last when groups were left out.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<&str> = self.keys.iter().map(String::as_str).collect();
        csv_line(
            &mut out,
            header.iter().map(|s| s.to_string()),
            self.metric.name(),
        );
        for row in &self.rows {
            csv_line(
                &mut out,
                row.key.iter().map(Value::to_string),
                &row.value.to_string(),
            );
        }
        if let Some((_, sum)) = self.other {
            let cells = std::iter::once("(other)".to_string()).chain(std::iter::repeat_n(
                String::new(),
                self.keys.len().saturating_sub(1),
            ));
            csv_line(&mut out, cells, &sum.to_string());
        }
        out
    }

    /// JSON: `{"metric", "total", "rows": [{KEY…, METRIC}], "other"}`.
    pub fn to_json(&self) -> String {
        let rows: Vec<Json> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                for (name, value) in self.keys.iter().zip(&row.key) {
                    object.insert(name.clone(), json!(value));
                }
                object.insert(self.metric.name().to_string(), json!(row.value));
                Json::Object(object)
            })
            .collect();
        let other = self
            .other
            .map(|(groups, sum)| json!({ "groups": groups, self.metric.name(): sum }));
        let doc = json!({
            "by": self.keys,
            "metric": self.metric.name(),
            "total": self.total,
            "rows": rows,
            "other": other,
        });
        format!("{doc}\n")
    }

    /// An aligned table: figures in human units and as a share of the total.
    pub fn to_table(&self) -> String {
        let protocol = self.keys.iter().position(|k| k == names::PROTOCOL);
        let mut lines: Vec<Vec<String>> = Vec::new();
        let mut header = self.keys.clone();
        header.extend([self.metric.name().to_string(), "share".to_string()]);
        lines.push(header);
        let figures = |value: u64| [human(value, self.metric), share(value, self.total)];
        for row in &self.rows {
            let mut cells: Vec<String> = row
                .key
                .iter()
                .enumerate()
                .map(|(i, v)| match (Some(i) == protocol, v) {
                    (true, Value::Int(n)) => {
                        protocol_name(*n).map_or(n.to_string(), str::to_string)
                    }
                    (_, Value::Null) => "-".to_string(),
                    _ => v.to_string(),
                })
                .collect();
            cells.extend(figures(row.value));
            lines.push(cells);
        }
        let mut footer = |label: String, value: u64| {
            let mut cells = vec![label];
            cells.resize(self.keys.len().max(1), String::new());
            cells.extend(figures(value));
            lines.push(cells);
        };
        if let Some((groups, sum)) = self.other {
            footer(format!("(other: {groups} groups)"), sum);
        }
        footer("(total)".to_string(), self.total);
        let widths: Vec<usize> = (0..lines[0].len().max(lines.last().map_or(0, Vec::len)))
            .map(|c| {
                lines
                    .iter()
                    .filter_map(|l| l.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let figures_from = widths.len() - 2;
        let mut out = String::new();
        for line in &lines {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                let w = widths[c];
                if c >= figures_from {
                    let _ = write!(text, "  {cell:>w$}");
                } else if c == 0 {
                    let _ = write!(text, "{cell:<w$}");
                } else {
                    let _ = write!(text, "  {cell:<w$}");
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

fn csv_line(out: &mut String, cells: impl Iterator<Item = String>, last: &str) {
    let mut first = true;
    for cell in cells.chain(std::iter::once(last.to_string())) {
        if !first {
            out.push(',');
        }
        first = false;
        if cell.contains([',', '"', '\n']) {
            let _ = write!(out, "\"{}\"", cell.replace('"', "\"\""));
        } else {
            out.push_str(&cell);
        }
    }
    out.push('\n');
}

/// `1.2 MB`, `3.4 K` packets: decimal units (1 KB = 1000 B), as network
/// figures are quoted.
pub fn human(value: u64, metric: Metric) -> String {
    let units: [&str; 6] = match metric {
        Metric::Bytes => ["B", "KB", "MB", "GB", "TB", "PB"],
        _ => ["", "K", "M", "G", "T", "P"],
    };
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1000.0 && unit < units.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    match (unit, metric) {
        (0, Metric::Bytes) => format!("{value} B"),
        (0, _) => value.to_string(),
        _ => format!("{scaled:.1} {}", units[unit])
            .trim_end()
            .to_string(),
    }
}

fn share(value: u64, total: u64) -> String {
    if total == 0 {
        return "-".to_string();
    }
    format!("{:.1}%", value as f64 * 100.0 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{field::Catalog, Sums};

    /// Decoded rows, ranked as a table's groups are.
    impl Ranked for Vec<(Vec<Value>, Sums)> {
        fn figures(&self, metric: Metric) -> Vec<(u64, usize)> {
            self.iter()
                .enumerate()
                .map(|(id, (_, sums))| (metric.of(sums), id))
                .collect()
        }

        fn key(&self, id: usize) -> Vec<Value> {
            self[id].0.clone()
        }
    }

    fn groups() -> Vec<(Vec<Value>, Sums)> {
        [("b", 10), ("a", 10), ("c", 30), ("d", 1)]
            .into_iter()
            .map(|(k, bytes)| {
                let sums = Sums {
                    bytes,
                    ..Sums::default()
                };
                (vec![Value::Str(k.into())], sums)
            })
            .collect()
    }

    #[test]
    fn ties_break_by_key_and_other_sums_the_rest() {
        let keys = [Key::parse("src_ip", &Catalog::default()).unwrap()];
        let top = Top::rank(&keys, Metric::Bytes, &groups(), 2);
        let order: Vec<String> = top.rows.iter().map(|r| r.key[0].to_string()).collect();
        assert_eq!(order, ["c", "a"]);
        assert_eq!(top.other, Some((2, 11)));
        assert_eq!(top.total, 51);
        assert_eq!(
            top.to_csv(),
            "connection.src_ip,bytes\nc,30\na,10\n(other),11\n"
        );
    }

    #[test]
    fn human_units_are_decimal() {
        assert_eq!(human(999, Metric::Bytes), "999 B");
        assert_eq!(human(1_500_000, Metric::Bytes), "1.5 MB");
        assert_eq!(human(2_000, Metric::Packets), "2.0 K");
        assert_eq!(human(12, Metric::Flows), "12");
    }
}
