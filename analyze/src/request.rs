//! What `top` and `report` are asked, as the command line gives it: parsed
//! against the inputs' fields, then run.

use std::{path::PathBuf, time::SystemTime};

use crate::{
    field::Key,
    filter::{Filter, TimeRange},
    input::Inputs,
    query::{Grouping, Metric, Query},
    scan::ScanStats,
    top::Top,
    Error,
};

/// The default `--by`: the GCP guide's top-talkers key.
pub const DEFAULT_BY: &str =
    "connection.src_ip,connection.dest_ip,connection.dest_port,connection.protocol";

/// The options `top` and `report` share (docs/analyze.md).
#[derive(Debug, Clone)]
pub struct Request {
    /// Parquet folders or files, NDJSON files, `-` for stdin.
    pub inputs: Vec<PathBuf>,
    /// `--by` names.
    pub by: Vec<String>,
    /// `--metric`.
    pub metric: Metric,
    /// `--limit`.
    pub limit: usize,
    /// `--since`.
    pub since: Option<String>,
    /// `--until`.
    pub until: Option<String>,
    /// `--where` expressions.
    pub filters: Vec<String>,
    /// Threads reading Parquet (0: one per core).
    pub threads: usize,
}

/// A request checked against its inputs, ready to run.
#[derive(Debug)]
pub struct Prepared {
    /// The inputs, opened.
    pub inputs: Inputs,
    /// Filters and time range.
    pub query: Query,
    /// The `--by` keys.
    pub keys: Vec<Key>,
}

impl Request {
    /// Opens the inputs and parses names, filters and times against them.
    pub fn prepare(&self) -> Result<Prepared, Error> {
        let range = TimeRange::parse(
            self.since.as_deref(),
            self.until.as_deref(),
            SystemTime::now(),
        )?;
        let inputs = Inputs::open(&self.inputs, &range)?;
        let keys = self
            .by
            .iter()
            .flat_map(|b| b.split(','))
            .filter(|b| !b.trim().is_empty())
            .map(|b| Key::parse(b, &inputs.catalog))
            .collect::<Result<Vec<_>, _>>()?;
        let filters = self
            .filters
            .iter()
            .map(|f| Filter::parse(f, &inputs.catalog))
            .collect::<Result<Vec<_>, _>>()?;
        let query = Query {
            filters,
            range,
            threads: self.threads,
        };
        Ok(Prepared {
            inputs,
            query,
            keys,
        })
    }

    /// Runs `top`: the `limit` largest groups by `metric`.
    pub fn top(&self) -> Result<(Top, ScanStats), Error> {
        let p = self.prepare()?;
        let grouping = Grouping {
            keys: p.keys.clone(),
            need: self.metric.need(),
        };
        let (results, stats) = p.query.run(&p.inputs, &[grouping])?;
        Ok((
            Top::rank(&p.keys, self.metric, &results[0], self.limit),
            stats,
        ))
    }
}
