//! Threads and channels: capture → flowagg → export.
//!
//! One reader thread reads the inputs (merged in time order), decodes each packet where it
//! lies in the read buffer, runs the [`Clock`] and the [`Observer`] (fragments,
//! dedup, sampling: decisions that need every packet in order), and sends
//! batches of small owned [`Observation`]s to N shard threads, each flow to
//! the shard its key hash names. Each shard owns its flow table: no lock and
//! no atomic per packet. When the clock closes intervals, the reader tells
//! every shard (after their pending batches); each answers with its sorted
//! records, and this thread merges the answers into the spec's order and
//! writes them. So the output is the same for any thread count.
//!
//! Every channel is bounded: a slow writer slows the shards, which slow the
//! reader; nothing is dropped. Emptied batches go back to the reader for reuse.
//!
//! Files and a live interface differ only in the reader's loop: both hand
//! each packet to the same [`Reader::packet`]. A live reader also moves the
//! clock on the wall clock every [`TICK`], so intervals close when the link
//! is quiet, and on a stop it reads what the kernel already received before
//! it flushes every open interval.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result};
use capture::{
    decode::{decode_with, DecodeConfig},
    source::{LiveCapture, LiveStats, DELIVERY_TIMEOUT},
    stats::DecodeStats,
    DecodeError, ErrorKind, RawPacket, Timestamp,
};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use export::Sink;
use flowagg::{
    merge::{merge_closings, shard_of},
    AggConfig, Aggregator, Closing, Dispatch, Emit, FlowRecord, LocalShards, Observation,
    ObservationPoints, ObserverStats, Shard, ShardStats, BATCH,
};
use indicatif::ProgressBar;

use crate::{
    inputs::{Input, Merge},
    metrics::Counters,
    stats::RunStats,
};

/// Batches in flight to each shard.
const IN_FLIGHT: usize = 16;
/// How often a live reader looks at the wall clock, the stop flag and the
/// drop counters, and hands partial batches to the shards. An interval is
/// written at most `interval + lateness + WALL_SLACK + TICK` (+ the write)
/// after it ends: under the spec's `interval + lateness + 1 s`.
const TICK: Duration = Duration::from_millis(250);
/// The wall clock closes intervals this much later than packet time would:
/// the kernel hands packets over up to [`DELIVERY_TIMEOUT`] after their
/// timestamps, and those should not become late.
const WALL_SLACK: Duration = Duration::from_millis(2 * DELIVERY_TIMEOUT.as_millis() as u64);
/// After a stop, the live reader keeps reading until the ring has been empty
/// for this long (packets received before the stop may sit up to
/// [`DELIVERY_TIMEOUT`] in a kernel block), but no longer than [`DRAIN_MAX`].
const DRAIN: Duration = Duration::from_millis(3 * DELIVERY_TIMEOUT.as_millis() as u64);
/// The longest a stop waits for the ring to drain under continuous traffic.
const DRAIN_MAX: Duration = Duration::from_secs(2);
/// Packets between the replay reader's progress updates.
const PROGRESS_EVERY: u64 = 65_536;
/// Packets between a live reader's looks at the clock under load.
const LIVE_CHECK_EVERY: u64 = 1024;

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

/// What the reader sends a shard.
enum ToShard {
    /// Observations of the shard's flows, in packet order.
    Batch(Vec<Observation>),
    /// Close what is closed at `watermark` and answer with closing `event`.
    Close { event: u64, watermark: Timestamp },
}

/// What a shard sends the writer.
enum FromShard {
    /// Shard `shard`'s answer to closing `event`.
    Closing {
        event: u64,
        shard: usize,
        closing: Closing,
    },
    /// Records the flow budget (`--max-flows`) pushed out early, to be
    /// written at once so that they do not pile up in memory.
    Partial(Vec<FlowRecord>),
}

/// What the reader thread reports when it is done.
struct ReaderReport {
    packets_read: u64,
    bytes_read: u64,
    packets_counted: u64,
    decode: DecodeStats,
    observer: ObserverStats,
    damaged: Vec<capture::Error>,
    /// An input that could not be read at all (I/O error): the run fails.
    failure: Option<capture::Error>,
    /// The live capture's counts at its end.
    live: Option<LiveStats>,
    intervals_closed: u64,
    /// A replay stopped by a signal before the end of its inputs.
    interrupted: bool,
}

/// What aggregating a source gives: the reader's report, the shards'
/// counts, and whether every record was written.
type Aggregated = (ReaderReport, ShardStats, Result<(), export::Error>);

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
    let threads = threads.max(1);
    assert_eq!(
        counters.open_flows.len(),
        shards_for(threads),
        "counters sized for the shards"
    );
    let live = matches!(source, Source::Live(_));
    counters.live.store(live, Ordering::Relaxed);
    let points = ObservationPoints::default();
    let (report, shard_stats, written) = if threads == 1 {
        aggregate_inline(
            source, config, decode, &mut sink, points, &counters, &bar, quiet,
        )
    } else {
        aggregate_threads(
            source, config, decode, &mut sink, points, &counters, &bar, quiet,
        )?
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    written?;
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

/// `--threads 1`: everything on this thread, records written as intervals close.
#[allow(clippy::too_many_arguments)]
fn aggregate_inline(
    source: Source,
    config: &AggConfig,
    decode: &DecodeConfig,
    sink: &mut Sink,
    points: ObservationPoints,
    counters: &Arc<Counters>,
    bar: &Option<ProgressBar>,
    quiet: bool,
) -> Aggregated {
    let live = matches!(source, Source::Live(_));
    let writer = SinkWriter {
        sink,
        counters: Arc::clone(counters),
        live,
        failed: None,
    };
    let shards = LocalShards::new(config, &points, 1, writer);
    let mut reader = Reader::new(
        Aggregator::new(config, points, shards),
        decode,
        Arc::clone(counters),
    );
    reader.progress = bar.clone().map(|bar| (bar, Instant::now()));
    read(&mut reader, source, quiet);
    let (report, shards) = reader.finish();
    let stats = shards.stats();
    let written = shards.into_emitter().failed.map_or(Ok(()), Err);
    (report, stats, written)
}

/// `--threads N`, N > 1: a reader thread, N − 1 shard threads (at least
/// one), and this thread merging and writing what they close.
#[allow(clippy::too_many_arguments)]
fn aggregate_threads(
    source: Source,
    config: &AggConfig,
    decode: &DecodeConfig,
    sink: &mut Sink,
    points: ObservationPoints,
    counters: &Arc<Counters>,
    bar: &Option<ProgressBar>,
    quiet: bool,
) -> Result<Aggregated> {
    let started = Instant::now();
    let live = matches!(source, Source::Live(_));
    let shard_count = counters.open_flows.len();
    let (done_tx, done_rx) = bounded::<FromShard>(shard_count * 4);
    let (empty_tx, empty_rx) = bounded::<Vec<Observation>>(shard_count * IN_FLIGHT + 2);
    let mut to_shards = Vec::with_capacity(shard_count);
    let mut shards = Vec::with_capacity(shard_count);
    let mut back = Vec::with_capacity(shard_count);
    for index in 0..shard_count {
        let (tx, rx) = bounded::<ToShard>(IN_FLIGHT);
        to_shards.push(tx);
        // Written closings come back with their tables' memory.
        let (back_tx, back_rx) = bounded::<Closing>(2);
        back.push(back_tx);
        // Each shard holds its share of the flow budget.
        let share = AggConfig {
            max_flows: (config.max_flows / shard_count).max(1),
            ..config.clone()
        };
        let shard = Shard::new(&share, points.clone());
        let (done_tx, empty_tx, counters) =
            (done_tx.clone(), empty_tx.clone(), Arc::clone(counters));
        shards.push(
            thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || {
                    run_shard(shard, index, &rx, &back_rx, &done_tx, &empty_tx, &counters)
                })
                .context("cannot start a shard thread")?,
        );
    }
    drop((done_tx, empty_tx));
    let reader = {
        let (config, decode, counters, points) = (
            config.clone(),
            decode.clone(),
            Arc::clone(counters),
            points.clone(),
        );
        let channels = Channels {
            batches: (0..shard_count)
                .map(|_| Vec::with_capacity(BATCH))
                .collect(),
            to_shards,
            empties: empty_rx,
            event: 0,
            stopped: false,
        };
        thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let aggregator = Aggregator::new(&config, points, channels);
                let mut reader = Reader::new(aggregator, &decode, counters);
                read(&mut reader, source, quiet);
                reader.finish().0
            })
            .context("cannot start the reader thread")?
    };
    let written = export_closings(
        (&done_rx, &back),
        &points,
        sink,
        counters,
        bar.as_ref(),
        started,
        live,
    );
    // On a write failure, hanging up stops the shards, whose hang-up stops the reader.
    drop(done_rx);
    let report = reader.join().expect("reader thread panicked");
    let shard_stats = shards
        .into_iter()
        .map(|shard| shard.join().expect("shard thread panicked"))
        .sum();
    Ok((report, shard_stats, written))
}

/// Reads the whole source through `reader`.
fn read<D: Stage>(reader: &mut Reader<D>, source: Source, quiet: bool) {
    match source {
        Source::Files { inputs, stop } => reader.read_all(&inputs, &stop, quiet),
        Source::Live(mut live) => reader.read_live(&mut live),
    }
}

/// Collects every shard's answer to each closing (from `done`), merges
/// them, writes them, and hands each shard its closing back (on `back`,
/// with its tables' memory). Live, each closing's records are flushed to
/// the output at once, and the lag of the interval is kept for the metrics.
fn export_closings(
    (done, back): (&Receiver<FromShard>, &[Sender<Closing>]),
    points: &ObservationPoints,
    sink: &mut Sink,
    counters: &Counters,
    bar: Option<&ProgressBar>,
    started: Instant,
    live: bool,
) -> Result<(), export::Error> {
    // The answers to each closing so far, by event.
    let mut pending: BTreeMap<u64, Vec<(usize, Closing)>> = BTreeMap::new();
    loop {
        let answer = match done.recv_timeout(TICK) {
            Ok(answer) => answer,
            Err(RecvTimeoutError::Timeout) => {
                if live {
                    sink.flush()?;
                }
                show_progress(bar, counters, started, live);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let (event, closing) = match answer {
            FromShard::Partial(records) => {
                sink.write(&records)?;
                counters
                    .records_written
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                continue;
            }
            FromShard::Closing {
                event,
                shard,
                closing,
            } => (event, (shard, closing)),
        };
        pending.entry(event).or_default().push(closing);
        // Shards answer closings in order, so the oldest one completes first.
        let shards = counters.open_flows.len();
        while let Some(ready) = pending.first_entry().filter(|e| e.get().len() == shards) {
            let (ids, mut parts): (Vec<usize>, Vec<Closing>) = ready.remove().into_iter().unzip();
            let newest = parts.iter().filter_map(Closing::newest).max();
            merge_closings(&mut parts, &points.snapshot(), |chunk| {
                counters
                    .records_written
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                sink.write(chunk)
            })?;
            for (id, part) in ids.into_iter().zip(parts) {
                // A shard that finds none makes a new one.
                let _ = back[id].try_send(part);
            }
            if live {
                sink.flush()?;
                note_lag(counters, newest);
            }
        }
        show_progress(bar, counters, started, live);
    }
    Ok(())
}

/// Updates the progress bar, if any, from the counters.
fn show_progress(bar: Option<&ProgressBar>, counters: &Counters, started: Instant, live: bool) {
    let Some(bar) = bar else { return };
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    let open = counters.open_flows();
    if live {
        let packets = load(&counters.packets);
        bar.set_message(format!(
            "{packets} packets, {:.0} packets/s, {open} flows open, {} kernel drops, {} records",
            packets as f64 / secs,
            load(&counters.kernel_drops),
            load(&counters.records_written),
        ));
        bar.tick();
    } else {
        bar.set_position(load(&counters.consumed));
        let pps = load(&counters.counted) as f64 / secs;
        bar.set_message(format!("{pps:.0} packets/s, {open} flows open"));
    }
}

/// Keeps how long after the newest closed interval's end its records were
/// written, for the metrics.
fn note_lag(counters: &Counters, newest: Option<flowagg::Interval>) {
    if let Some(newest) = newest {
        let lag = wall_clock().0.saturating_sub(newest.end().0);
        counters.interval_lag_nanos.store(lag, Ordering::Relaxed);
    }
}

/// Now, as a capture timestamp.
fn wall_clock() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

fn run_shard(
    mut shard: Shard,
    index: usize,
    from_reader: &Receiver<ToShard>,
    back: &Receiver<Closing>,
    done: &Sender<FromShard>,
    empties: &Sender<Vec<Observation>>,
    counters: &Counters,
) -> ShardStats {
    for message in from_reader.iter() {
        match message {
            ToShard::Batch(mut batch) => {
                shard.push_batch(&batch);
                batch.clear();
                // The reader allocates a new batch if the return channel is full.
                let _ = empties.try_send(batch);
                counters.open_flows[index].store(shard.open_flows(), Ordering::Relaxed);
                if let Some(mut partial) = shard.take_partial() {
                    partial.sort_unstable_by(FlowRecord::order);
                    if done.send(FromShard::Partial(partial)).is_err() {
                        break; // the writer failed; it reports why
                    }
                }
            }
            ToShard::Close { event, watermark } => {
                let mut closing = back.try_recv().unwrap_or_default();
                shard.close(watermark, &mut closing);
                counters.open_flows[index].store(shard.open_flows(), Ordering::Relaxed);
                let answer = FromShard::Closing {
                    event,
                    shard: index,
                    closing,
                };
                if done.send(answer).is_err() {
                    break; // the writer failed; it reports why
                }
            }
        }
    }
    shard.stats()
}

/// What the reader's observations go to, seen from the reader.
trait Stage: Dispatch {
    /// The output failed: stop reading (the failure is reported elsewhere).
    fn stopped(&self) -> bool;
    /// Hands on what waits for a full batch (a quiet live link).
    fn flush_pending(&mut self) {}
    /// Publishes the flows held, for the bar and the metrics.
    fn publish(&self, counters: &Counters);
}

/// `--threads N`, N > 1: batches to the shard threads, each flow to the
/// shard its key hash names; closings announced to every shard after its
/// pending batch.
struct Channels {
    to_shards: Vec<Sender<ToShard>>,
    batches: Vec<Vec<Observation>>,
    empties: Receiver<Vec<Observation>>,
    event: u64,
    /// A shard hung up (the writer failed).
    stopped: bool,
}

impl Channels {
    fn send_batch(&mut self, shard: usize) {
        let empty = self
            .empties
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.batches[shard], empty);
        if self.to_shards[shard].send(ToShard::Batch(full)).is_err() {
            self.stopped = true;
        }
    }
}

impl Dispatch for Channels {
    #[inline]
    fn observation(&mut self, obs: Observation) {
        let shard = shard_of(obs.hash, self.batches.len());
        self.batches[shard].push(obs);
        if self.batches[shard].len() == BATCH {
            self.send_batch(shard);
        }
    }

    fn close(&mut self, watermark: Timestamp) {
        self.flush_pending();
        for shard in 0..self.batches.len() {
            let message = ToShard::Close {
                event: self.event,
                watermark,
            };
            if self.to_shards[shard].send(message).is_err() {
                self.stopped = true;
            }
        }
        self.event += 1;
    }
}

impl Stage for Channels {
    fn stopped(&self) -> bool {
        self.stopped
    }

    fn flush_pending(&mut self) {
        for shard in 0..self.batches.len() {
            if !self.batches[shard].is_empty() {
                self.send_batch(shard);
            }
        }
    }

    fn publish(&self, _: &Counters) {
        // The shard threads publish their own flow counts.
    }
}

/// `--threads 1`: the shard and the writer on the reader's thread, with no
/// channel between them. Records go to the sink as they close.
struct SinkWriter<'a> {
    sink: &'a mut Sink,
    counters: Arc<Counters>,
    live: bool,
    /// The first write that failed: nothing more is written.
    failed: Option<export::Error>,
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

    fn closed(&mut self, newest: Option<flowagg::Interval>) {
        if self.live && self.failed.is_none() {
            if let Err(e) = self.sink.flush() {
                self.failed = Some(e);
            }
            note_lag(&self.counters, newest);
        }
    }
}

impl Stage for LocalShards<SinkWriter<'_>> {
    fn stopped(&self) -> bool {
        self.emitter().failed.is_some()
    }

    fn publish(&self, counters: &Counters) {
        counters.open_flows[0].store(self.open_flows(), Ordering::Relaxed);
    }
}

/// The reader: packets in, through the aggregator, to a [`Stage`].
struct Reader<D> {
    aggregator: Aggregator<D>,
    decode: DecodeConfig,
    counters: Arc<Counters>,
    /// `--threads 1`: the bar is updated from here.
    progress: Option<(ProgressBar, Instant)>,
    report: ReaderReport,
}

impl<D: Stage> Reader<D> {
    /// A reader with one aggregator for the whole run: fragments, dedup,
    /// sampling and packet time follow the packet order across files.
    fn new(aggregator: Aggregator<D>, decode: &DecodeConfig, counters: Arc<Counters>) -> Self {
        Reader {
            aggregator,
            decode: decode.clone(),
            counters,
            progress: None,
            report: ReaderReport {
                packets_read: 0,
                bytes_read: 0,
                packets_counted: 0,
                decode: DecodeStats::default(),
                observer: ObserverStats::default(),
                damaged: Vec::new(),
                failure: None,
                live: None,
                intervals_closed: 0,
                interrupted: false,
            },
        }
    }

    fn stopped(&self) -> bool {
        self.aggregator.dispatch().stopped()
    }

    /// The work of one packet, whatever its source: count it, advance
    /// packet time, decode, observe, batch, and announce the closings the
    /// packet causes. Returns why it could not be decoded, if it could not
    /// (already counted).
    #[inline]
    fn packet(&mut self, packet: &RawPacket<'_>) -> Option<DecodeError> {
        self.report.packets_read += 1;
        self.report.bytes_read += packet.data.len() as u64;
        match decode_with(packet, &self.decode) {
            Ok(decoded) => {
                self.aggregator.packet(packet, Some(&decoded));
                None
            }
            Err(e) => {
                self.aggregator.packet(packet, None);
                self.report.decode.record(&e);
                Some(e)
            }
        }
    }

    /// Reads the inputs merged in time order ([`Merge`]). A damaged input
    /// is reported and the others read on; an unreadable one stops the run.
    /// `stop` is looked at every [`PROGRESS_EVERY`] packets: then reading
    /// ends, and what was read is written as at the end of the inputs.
    fn read_all(&mut self, inputs: &[Input], stop: &AtomicBool, quiet: bool) {
        let mut warned = HashSet::new();
        let mut merge = Merge::new(inputs);
        while !self.stopped() {
            if stop.load(Ordering::Relaxed) {
                self.report.interrupted = true;
                break;
            }
            let read = merge.read(PROGRESS_EVERY, |input, packet| {
                if let Some(e) = self.packet(packet) {
                    if e.kind == ErrorKind::UnsupportedLink
                        && warned.insert((input, packet.interface))
                        && !quiet
                    {
                        eprintln!(
                            "mirrorflow: warning: '{}' interface {} has link type {}, which mirrorflow does not decode; its packets are counted and skipped",
                            inputs[input].name().display(),
                            packet.interface,
                            packet.link
                        );
                    }
                }
                !self.stopped()
            });
            match read {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) if e.is_damage() => self.report.damaged.push(e),
                Err(e) => {
                    self.report.failure = Some(e);
                    return;
                }
            }
            self.counters
                .consumed
                .store(merge.consumed(), Ordering::Relaxed);
            self.publish();
        }
    }

    /// Reads a live capture until a stop (signal or `--duration`), then
    /// drains what the kernel already received. Between packets and at
    /// least every [`TICK`] it moves the clock on the wall clock, reads the
    /// drop counters and hands partial batches on.
    fn read_live(&mut self, live: &mut LiveSource) {
        let started = Instant::now();
        let mut next_tick = started + TICK;
        let mut stopping: Option<Instant> = None;
        while !self.stopped() {
            let idle = match live.capture.next_packet() {
                Ok(Some(packet)) => {
                    // The link type was checked when the capture opened:
                    // a decode error here is the packet's, and counted.
                    let _ = self.packet(&packet);
                    false
                }
                Ok(None) => true,
                Err(e) => {
                    self.report.failure = Some(e);
                    break;
                }
            };
            if !idle && self.report.packets_read % LIVE_CHECK_EVERY != 0 {
                continue;
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                if let Err(e) = self.tick_live(&mut live.capture) {
                    self.report.failure = Some(e);
                    break;
                }
            }
            if stopping.is_none()
                && (live.stop.load(Ordering::Relaxed)
                    || live.duration.is_some_and(|d| now - started >= d))
            {
                stopping = Some(now);
            }
            let mut wait = next_tick.saturating_duration_since(now);
            if let Some(since) = stopping {
                let drained = now - since;
                if (idle && drained >= DRAIN) || drained >= DRAIN_MAX {
                    break;
                }
                wait = wait.min(DRAIN.saturating_sub(drained));
            }
            if idle {
                if let Err(e) = live.capture.wait(wait) {
                    self.report.failure = Some(e);
                    break;
                }
            }
        }
        match live.capture.stats() {
            Ok(stats) => self.report.live = Some(stats),
            Err(e) => {
                self.report.failure.get_or_insert(e);
            }
        }
    }

    /// A live reader's periodic work: wall-clock closings, partial batches
    /// to the shards, drop counters, counters published.
    fn tick_live(&mut self, capture: &mut LiveCapture) -> Result<(), capture::Error> {
        let now = Timestamp(wall_clock().0.saturating_sub(WALL_SLACK.as_nanos() as u64));
        if !self.aggregator.advance_to(now) {
            self.aggregator.dispatch_mut().flush_pending();
        }
        self.report.live = Some(capture.stats()?);
        self.publish();
        Ok(())
    }

    /// Stores the reader's counts where the bar and the metrics read them.
    fn publish(&self) {
        let c = &self.counters;
        c.packets.store(self.report.packets_read, Ordering::Relaxed);
        c.bytes.store(self.report.bytes_read, Ordering::Relaxed);
        c.counted
            .store(self.aggregator.counted(), Ordering::Relaxed);
        c.intervals_closed
            .store(self.aggregator.intervals_closed(), Ordering::Relaxed);
        if let Some(live) = &self.report.live {
            c.kernel_received.store(live.received, Ordering::Relaxed);
            c.kernel_drops.store(live.kernel_drops, Ordering::Relaxed);
            c.interface_drops
                .store(live.interface_drops, Ordering::Relaxed);
        }
        if let Ok(mut decode) = c.decode.lock() {
            decode.clone_from(&self.report.decode);
        }
        self.aggregator.dispatch().publish(c);
        if let Some((bar, started)) = &self.progress {
            show_progress(Some(bar), c, *started, c.live.load(Ordering::Relaxed));
        }
    }

    /// Flushes every interval at the end of input (or a live stop) and reports.
    fn finish(mut self) -> (ReaderReport, D) {
        self.aggregator.finish();
        self.report.packets_counted = self.aggregator.counted();
        self.report.observer = self.aggregator.observer_stats();
        self.report.intervals_closed = self.aggregator.intervals_closed();
        self.publish();
        (self.report, self.aggregator.into_dispatch())
    }
}
