//! A query: filters and groupings over inputs, run in one scan.

use crate::{
    field::{names, Catalog, Key, Leaf},
    filter::{Filter, TimeRange},
    group::{Groups, KeyKind, Layout, Need, Selection, Worker},
    input::Inputs,
    scan::{scan, ScanStats},
    table::Sums,
    Error,
};

/// What a result is ranked by (`--metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Sum of `bytes_sent`.
    Bytes,
    /// Sum of `packets_sent`.
    Packets,
    /// Distinct 5-tuples in the group.
    Flows,
    /// Records.
    Records,
}

impl Metric {
    /// The metric's name, as `--metric` spells it and output headings show it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Bytes => "bytes",
            Metric::Packets => "packets",
            Metric::Flows => "flows",
            Metric::Records => "records",
        }
    }

    /// The metric's figure in `sums`.
    pub fn of(self, sums: &Sums) -> u64 {
        match self {
            Metric::Bytes => sums.bytes,
            Metric::Packets => sums.packets,
            Metric::Flows => sums.flows,
            Metric::Records => sums.records,
        }
    }

    /// What must be summed to give it.
    pub fn need(self) -> Need {
        Need {
            bytes: self == Metric::Bytes,
            packets: self == Metric::Packets,
            flows: self == Metric::Flows,
        }
    }
}

/// One grouping of a query: group by `keys`, sum what `need` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// The group key, in order (may be empty: one group of everything).
    pub keys: Vec<Key>,
    /// The sums wanted besides records.
    pub need: Need,
}

/// Which records count, and how the work is spread.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// `--where`, all of which a record must pass.
    pub filters: Vec<Filter>,
    /// `--since` / `--until`, on `interval_start`.
    pub range: TimeRange,
    /// Threads reading Parquet row groups (0: one per core).
    pub threads: usize,
}

/// The leaves a scan reads, each once.
struct Columns<'a> {
    catalog: &'a Catalog,
    leaves: Vec<Leaf>,
}

impl Columns<'_> {
    fn index(&mut self, name: &str) -> Result<usize, Error> {
        if let Some(i) = self.leaves.iter().position(|l| l.name == name) {
            return Ok(i);
        }
        self.leaves.push(self.catalog.leaf(name)?.clone());
        Ok(self.leaves.len() - 1)
    }
}

impl Query {
    /// Runs every grouping over `inputs` in one scan: each grouping's groups,
    /// in order.
    pub fn run(
        &self,
        inputs: &Inputs,
        groupings: &[Grouping],
    ) -> Result<(Vec<Groups>, ScanStats), Error> {
        let mut columns = Columns {
            catalog: &inputs.catalog,
            leaves: Vec::new(),
        };
        let mut filters = Vec::new();
        for f in &self.filters {
            filters.push((columns.index(&f.leaf.name)?, f.clone()));
        }
        let time = match self.range.is_all() {
            true => None,
            false => Some((columns.index(names::INTERVAL_START)?, self.range)),
        };
        let mut layouts = Vec::new();
        for g in groupings {
            let mut keys = Vec::new();
            for key in &g.keys {
                let kind = match key {
                    Key::Net { v4, v6, .. } => KeyKind::Net(*v4, *v6),
                    Key::Field(leaf) if leaf.ty == crate::field::Type::Utf8 => KeyKind::Text,
                    _ => KeyKind::Plain,
                };
                keys.push((columns.index(key.leaf_name())?, kind));
            }
            let optional = |want: bool, name: &str, columns: &mut Columns| {
                want.then(|| columns.index(name)).transpose()
            };
            let bytes = optional(g.need.bytes, names::BYTES, &mut columns)?;
            let packets = optional(g.need.packets, names::PACKETS, &mut columns)?;
            let flows = match g.need.flows {
                false => None,
                true => {
                    let mut c = [0; 5];
                    for (slot, name) in c.iter_mut().zip(names::FIVE_TUPLE) {
                        *slot = columns.index(name)?;
                    }
                    Some(c)
                }
            };
            layouts.push(Layout {
                keys,
                bytes,
                packets,
                flows,
            });
        }
        let selection = Selection { filters, time };
        let threads = match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let (workers, stats) = scan(inputs, &columns.leaves, &self.range, threads, || {
            Worker::new(&selection, &layouts)
        })?;
        Ok((Worker::merge(workers, threads), stats))
    }
}
