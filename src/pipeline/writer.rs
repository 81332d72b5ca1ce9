//! Where the aggregator's records go: the sink, with the counters the bar
//! and the metrics read.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{SystemTime, UNIX_EPOCH},
};

use capture::Timestamp;
use export::Sink;
use flowagg::{Emit, FlowRecord, Interval};

use crate::metrics::Counters;

/// Writes records to the sink as the shards close them, on whichever
/// thread merges the shards' closings. A live output is flushed after every
/// closing, so each interval reaches its files when it closes.
pub struct SinkWriter<'a> {
    sink: &'a mut Sink,
    counters: Arc<Counters>,
    live: bool,
    /// The first write that failed: nothing more is written.
    failed: Option<export::Error>,
}

impl<'a> SinkWriter<'a> {
    /// A writer to `sink`, counting what it writes in `counters`.
    pub fn new(sink: &'a mut Sink, counters: Arc<Counters>, live: bool) -> Self {
        SinkWriter {
            sink,
            counters,
            live,
            failed: None,
        }
    }

    /// Why writing stopped, if it did.
    pub fn into_failure(self) -> Option<export::Error> {
        self.failed
    }

    /// Flushes a live output; keeps the first failure.
    fn flush_live(&mut self) {
        if self.live && self.failed.is_none() {
            if let Err(e) = self.sink.flush() {
                self.failed = Some(e);
            }
        }
    }
}

impl Emit for SinkWriter<'_> {
    fn emit(&mut self, records: &[FlowRecord]) {
        if self.failed.is_none() {
            match self.sink.write(records) {
                Ok(()) => {
                    self.counters
                        .records_written
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                }
                Err(e) => self.failed = Some(e),
            }
        }
    }

    fn closed(&mut self, newest: Option<Interval>) {
        if self.live {
            self.flush_live();
            note_lag(&self.counters, newest);
        }
    }

    fn idle(&mut self) {
        self.flush_live();
    }

    fn failed(&self) -> bool {
        self.failed.is_some()
    }
}

/// Keeps how long after the newest closed interval's end its records were
/// written, for the metrics.
fn note_lag(counters: &Counters, newest: Option<Interval>) {
    if let Some(newest) = newest {
        let lag = wall_clock().0.saturating_sub(newest.end().0);
        counters.interval_lag_nanos.store(lag, Ordering::Relaxed);
    }
}

/// Now, as a capture timestamp.
pub fn wall_clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}
