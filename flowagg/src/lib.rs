//! Decoded packets in, flow records per interval out.
//!
//! `flowagg` turns each decoded packet into a small owned [`Observation`]
//! (its [`FlowKey`], the key's hash, time and lengths) on the reader side, and
//! folds observations into [`FlowRecord`]s per [`Interval`] in a [`Shard`]
//! that owns its flow table outright. Intervals follow packet time, never the
//! wall clock (docs/record.md, "Intervals"), so a replay gives the records the live
//! run gave.
//!
//! The principal types are [`Observer`] (fragments, dedup and sampling,
//! before sharding), [`Clock`] (packet time: late packets and interval
//! closings, also before sharding), [`Shard`] (a flow table a thread owns)
//! and [`FlowRecord`]. An [`Aggregator`] runs the observer and the clock
//! and hands observations to shards through a [`Dispatch`]: shards on the
//! calling thread ([`LocalShards`]) or on threads of their own
//! ([`run_threaded`]), their [`Closing`]s merged into the spec's order.
//!
//! ```
//! use flowagg::{AggConfig, ObservationPoints, Shard};
//! let config = AggConfig::default();
//! let mut shard = Shard::new(&config, ObservationPoints::default());
//! let mut closing = flowagg::Closing::default();
//! shard.finish(&mut closing);
//! assert!(closing.is_empty());
//! ```

mod aggregator;
mod batches;
mod clock;
mod closing;
mod config;
mod dedup;
mod entry;
mod error;
mod fragment;
mod gauge;
mod interval;
mod key;
mod local;
mod observation;
mod observe;
mod record;
mod sampler;
mod shard;
mod table;
pub mod tcp;
mod threads;

pub use aggregator::{Aggregator, Dispatch, Emit};
pub use batches::BATCH;
pub use clock::{Clock, Tick};
pub use closing::{ClosedInterval, Closing};
pub use config::{AggConfig, DEFAULT_MAX_FLOWS};
pub use error::Error;
pub use gauge::OpenFlows;
pub use interval::Interval;
pub use key::{FlowKey, PortKind};
pub use local::LocalShards;
pub use observation::{ObsId, ObservationPoint, ObservationPoints, MAX_POINTS};
pub use observe::{Observation, Observer, ObserverStats};
pub use record::FlowRecord;
pub use shard::{shard_of, Shard, ShardStats};
pub use threads::{run_threaded, ShardThreads, ThreadSetup};
