//! Threads and channels: capture → flowagg → export.
//!
//! The reader ([`reader`]) reads the inputs (merged in time order) or a live
//! interface, decodes each packet where it lies in the read buffer and hands
//! it to a [`flowagg::Aggregator`] (fragments, dedup, sampling and packet
//! time: decisions that need every packet in order). Its shards count the
//! flows: with `--threads 1` on the reader's thread ([`LocalShards`]), with
//! more on threads of their own ([`flowagg::run_threaded`]). Either way the
//! records reach the sink through one [`SinkWriter`] ([`writer`]), in the
//! same order, so the output is the same for any thread count.

mod reader;
mod writer;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use capture::{
    decode::DecodeConfig,
    source::{Input, LiveCapture},
};
use export::Sink;
use flowagg::{AggConfig, Aggregator, Dispatch, LocalShards, ObservationPoints, ThreadSetup};
use indicatif::ProgressBar;

use crate::{metrics::Counters, stats::RunStats};
use reader::Reader;
use writer::SinkWriter;

/// How often a live reader looks at the wall clock, the stop flag and the
/// drop counters, and hands partial batches to the shards; how long the
/// writer of threaded shards waits before it flushes a live output. An
/// interval is written at most `interval + lateness + WALL_SLACK + TICK`
/// (+ the write) after it ends: under the spec's `interval + lateness + 1 s`.
const TICK: Duration = Duration::from_millis(250);

/// Where the packets come from.
pub enum Source {
    /// Capture files, merged in time order, read to their ends or until
    /// `stop` (SIGINT/SIGTERM) is set.
    Files {
        inputs: Vec<Input>,
        stop: Arc<AtomicBool>,
    },
    /// A live interface, read until a stop.
    Live(LiveSource),
}

/// A live capture and what stops it.
pub struct LiveSource {
    /// The open capture.
    pub capture: LiveCapture,
    /// Set by SIGINT/SIGTERM.
    pub stop: Arc<AtomicBool>,
    /// `--duration`.
    pub duration: Option<Duration>,
}

/// How to run.
pub struct Options {
    /// Aggregating shards.
    pub threads: usize,
    /// No warnings on stderr.
    pub quiet: bool,
    /// The progress bar, when stderr is a terminal.
    pub bar: Option<ProgressBar>,
    /// Counters for the bar and the metrics endpoint, sized for `threads`.
    pub counters: Arc<Counters>,
}

/// How a run ended when its output was written.
#[derive(Debug)]
pub struct Outcome {
    /// What was read, counted and written.
    pub stats: RunStats,
    /// Inputs found damaged (truncated or corrupt): each was read up to the
    /// damage and its records written (exit status 2).
    pub damaged: Vec<capture::Error>,
    /// A replay stopped by SIGINT/SIGTERM: the records of every packet read
    /// were written, but not every packet was read.
    pub interrupted: bool,
}

/// Shard threads for `threads` worker threads: one runs everything; more
/// give one to the reader and the rest (at least one) to shards.
pub fn shards_for(threads: usize) -> usize {
    threads.saturating_sub(1).max(1)
}

/// Whether `threads` threads read, aggregate and write on one thread, the
/// writer then also being the reader.
pub fn on_one_thread(threads: usize) -> bool {
    threads <= 1
}

/// Reads the source and writes its flow records to `sink`, on
/// `options.threads` threads.
pub fn run(
    source: Source,
    config: &AggConfig,
    decode: &DecodeConfig,
    mut sink: Sink,
    options: Options,
) -> Result<Outcome> {
    let started = Instant::now();
    let Options {
        threads,
        quiet,
        bar,
        counters,
    } = options;
    let shards = shards_for(threads.max(1));
    assert_eq!(
        counters.open_flows.shards(),
        shards,
        "counters sized for the shards"
    );
    let live = matches!(source, Source::Live(_));
    counters.live.store(live, Ordering::Relaxed);
    let points = ObservationPoints::default();
    let readers = ReaderSetup {
        config,
        decode,
        points: &points,
        counters: &counters,
        bar: &bar,
        quiet,
    };
    let mut writer = SinkWriter::new(&mut sink, Arc::clone(&counters), live);
    let (report, shard_stats, failed) = if on_one_thread(threads) {
        let shards = LocalShards::new(config, &points, 1, writer)
            .publishing(Arc::clone(&counters.open_flows));
        let (report, shards) = readers.reader(shards).run(source);
        let stats = shards.stats();
        (report, stats, shards.into_emitter().into_failure())
    } else {
        let setup = ThreadSetup {
            shards,
            idle: TICK,
            open_flows: Arc::clone(&counters.open_flows),
        };
        let (report, stats) =
            flowagg::run_threaded(config, &points, &setup, &mut writer, |dispatch| {
                readers.reader(dispatch).run(source).0
            })
            .context("cannot start the aggregation threads")?;
        (report, stats, writer.into_failure())
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(failed) = failed {
        return Err(failed.into());
    }
    if let Some(failure) = report.failure {
        if live {
            // The interface failed mid-run (went away, say): what was
            // captured until then is written and its files finished.
            sink.finish()?;
        }
        return Err(failure.into());
    }
    sink.finish()?;

    let mut stats = RunStats {
        packets_read: report.packets_read,
        bytes_read: report.bytes_read,
        packets_counted: report.packets_counted,
        intervals_closed: report.intervals_closed,
        ..RunStats::default()
    };
    stats.add_decode(&report.decode);
    stats.add_flow(&report.observer, &shard_stats);
    if let Some(live) = &report.live {
        stats.add_live(live);
    }
    stats.set_run_time(started.elapsed());
    Ok(Outcome {
        stats,
        damaged: report.damaged,
        interrupted: report.interrupted,
    })
}

/// What the reader is made of, whichever shards it feeds.
struct ReaderSetup<'a> {
    config: &'a AggConfig,
    decode: &'a DecodeConfig,
    points: &'a ObservationPoints,
    counters: &'a Arc<Counters>,
    bar: &'a Option<ProgressBar>,
    quiet: bool,
}

impl ReaderSetup<'_> {
    /// A reader whose aggregator feeds `dispatch`.
    fn reader<D: Dispatch>(&self, dispatch: D) -> Reader<D> {
        let aggregator = Aggregator::new(self.config, self.points.clone(), dispatch);
        Reader::new(
            aggregator,
            self.decode,
            Arc::clone(self.counters),
            self.bar.clone(),
            self.quiet,
        )
    }
}
