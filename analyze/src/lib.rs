//! The read side of mirrorflow: answers "who talks to whom, how much, when"
//! from the records `replay` and `live` wrote (Parquet folders, NDJSON files
//! or stdin), without SQL: `mirrorflow top` and `mirrorflow report`
//! (docs/analyze.md).
//!
//! The principal types are [`Inputs`] (what to read, pruned by Hive
//! partition), [`Query`] (filters and a time range, run over the inputs in
//! one scan for any number of [`Grouping`]s), [`Top`] (a ranked result and
//! its table, CSV and JSON forms); [`report`] writes the HTML page. Field names come from `export::schema`, the one table of the
//! record's fields.
//!
//! ```
//! use analyze::{Catalog, Key};
//! let key = Key::parse("dest_port", &Catalog::default()).unwrap();
//! assert_eq!(key.name(), "connection.dest_port");
//! ```

mod error;
mod field;
mod filter;
mod group;
mod input;
mod net;
mod query;
mod report;
mod request;
mod scan;
mod table;
mod top;
mod value;

pub use error::Error;
pub use field::{Catalog, Key, Leaf, Type};
pub use filter::{Filter, Test, TimeRange};
pub use group::{Groups, Need, Rows};
pub use input::{Input, Inputs};
pub use query::{Grouping, Metric, Query};
pub use report::report;
pub use request::{Prepared, Request, DEFAULT_BY};
pub use scan::ScanStats;
pub use table::Sums;
pub use top::{Ranked, Row, Top};
pub use value::Value;
