//! Threads and channels: capture → flowagg → export.
//!
//! One reader thread reads the inputs in order, decodes each packet where it
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
    AggConfig, Clock, Closing, FlowRecord, Observation, ObservationPoints, Observer, ObserverStats,
    Shard, ShardStats,
};
use indicatif::ProgressBar;

use crate::{inputs::Input, metrics::Counters, stats::RunStats};

/// Observations per batch: large enough to amortise a channel hand-off
/// (~100 ns) to well under a nanosecond a packet, small enough to stay in L2.
const BATCH: usize = 1024;
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
    /// Capture files, read in order to their ends.
    Files(Vec<Input>),
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
    /// Its answer to closing `event`.
    Closing { event: u64, closing: Closing },
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
}

/// Reads the source and writes its flow records to `sink`, with
/// `options.threads` aggregating shards.
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
        threads,
        "counters sized for the shards"
    );
    let live = matches!(source, Source::Live(_));
    counters.live.store(live, Ordering::Relaxed);
    let points = ObservationPoints::default();
    let (done_tx, done_rx) = bounded::<FromShard>(threads * 4);
    let (empty_tx, empty_rx) = bounded::<Vec<Observation>>(threads * IN_FLIGHT + 2);
    let mut to_shards = Vec::with_capacity(threads);
    let mut shards = Vec::with_capacity(threads);
    for index in 0..threads {
        let (tx, rx) = bounded::<ToShard>(IN_FLIGHT);
        to_shards.push(tx);
        // Each shard holds its share of the flow budget.
        let share = AggConfig {
            max_flows: (config.max_flows / threads).max(1),
            ..config.clone()
        };
        let shard = Shard::new(&share, points.clone());
        let (done_tx, empty_tx, counters) =
            (done_tx.clone(), empty_tx.clone(), Arc::clone(&counters));
        shards.push(
            thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || run_shard(shard, index, &rx, &done_tx, &empty_tx, &counters))
                .context("cannot start a shard thread")?,
        );
    }
    drop((done_tx, empty_tx));
    let reader = {
        let (config, decode, counters, points) = (
            config.clone(),
            decode.clone(),
            Arc::clone(&counters),
            points.clone(),
        );
        thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let mut reader =
                    Reader::new(&config, &decode, points, to_shards, empty_rx, counters);
                match source {
                    Source::Files(inputs) => reader.read_all(&inputs, quiet),
                    Source::Live(mut live) => reader.read_live(&mut live),
                }
                reader.finish()
            })
            .context("cannot start the reader thread")?
    };

    let written = export_closings(
        &done_rx,
        &points,
        &mut sink,
        threads,
        &counters,
        bar.as_ref(),
        started,
        live,
    );
    // On a write failure, hanging up stops the shards, whose hang-up stops the reader.
    drop(done_rx);
    let report = reader.join().expect("reader thread panicked");
    let mut shard_stats = ShardStats::default();
    for shard in shards {
        let s = shard.join().expect("shard thread panicked");
        shard_stats.late_packets += s.late_packets;
        shard_stats.records += s.records;
        shard_stats.intervals_closed += s.intervals_closed;
        shard_stats.partial_records += s.partial_records;
    }
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
    })
}

/// Collects every shard's answer to each closing, merges them, writes them.
/// Live, each closing's records are flushed to the output at once, and the
/// lag of the interval is kept for the metrics.
#[allow(clippy::too_many_arguments)]
fn export_closings(
    done: &Receiver<FromShard>,
    points: &ObservationPoints,
    sink: &mut Sink,
    threads: usize,
    counters: &Counters,
    bar: Option<&ProgressBar>,
    started: Instant,
    live: bool,
) -> Result<(), export::Error> {
    // The answers to each closing so far, by event.
    let mut pending: BTreeMap<u64, Vec<Closing>> = BTreeMap::new();
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
            FromShard::Closing { event, closing } => (event, closing),
        };
        pending.entry(event).or_default().push(closing);
        // Shards answer closings in order, so the oldest one completes first.
        while let Some(ready) = pending.first_entry().filter(|e| e.get().len() == threads) {
            let mut parts = ready.remove();
            let newest = parts.iter().filter_map(Closing::newest).max();
            merge_closings(&mut parts, &points.snapshot(), |chunk| {
                counters
                    .records_written
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                sink.write(chunk)
            })?;
            if live {
                sink.flush()?;
                if let Some(newest) = newest {
                    let lag = wall_clock().0.saturating_sub(newest.end().0);
                    counters.interval_lag_nanos.store(lag, Ordering::Relaxed);
                }
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
                let mut closing = Closing::default();
                shard.close(watermark, &mut closing);
                counters.open_flows[index].store(shard.open_flows(), Ordering::Relaxed);
                if done.send(FromShard::Closing { event, closing }).is_err() {
                    break; // the writer failed; it reports why
                }
            }
        }
    }
    shard.stats()
}

/// The reader thread: packets in, observations to shards out.
struct Reader {
    observer: Observer,
    clock: Clock,
    decode: DecodeConfig,
    to_shards: Vec<Sender<ToShard>>,
    batches: Vec<Vec<Observation>>,
    empties: Receiver<Vec<Observation>>,
    counters: Arc<Counters>,
    event: u64,
    /// A shard hung up (the writer failed): stop reading.
    stopped: bool,
    report: ReaderReport,
}

impl Reader {
    fn new(
        config: &AggConfig,
        decode: &DecodeConfig,
        points: ObservationPoints,
        to_shards: Vec<Sender<ToShard>>,
        empties: Receiver<Vec<Observation>>,
        counters: Arc<Counters>,
    ) -> Self {
        Reader {
            // One observer and one clock for the whole run: fragments, dedup,
            // sampling and packet time follow the packet order across files.
            observer: Observer::new(config, points),
            clock: Clock::new(config.interval_secs, config.lateness_secs),
            decode: decode.clone(),
            batches: (0..to_shards.len())
                .map(|_| Vec::with_capacity(BATCH))
                .collect(),
            to_shards,
            empties,
            counters,
            event: 0,
            stopped: false,
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
            },
        }
    }

    /// The work of one packet, whatever its source: count it, advance
    /// packet time, decode, observe, batch, and announce the closings the
    /// packet causes. Returns why it could not be decoded, if it could not
    /// (already counted).
    #[inline]
    fn packet(&mut self, packet: &RawPacket<'_>) -> Option<DecodeError> {
        self.report.packets_read += 1;
        self.report.bytes_read += packet.data.len() as u64;
        let tick = self.clock.tick(packet.ts);
        let error = match decode_with(packet, &self.decode) {
            Ok(decoded) => {
                if let Some(mut obs) = self.observer.observe(packet, &decoded) {
                    obs.late = tick.late;
                    self.push(obs);
                }
                None
            }
            Err(e) => {
                self.report.decode.record(&e);
                Some(e)
            }
        };
        if tick.closes {
            self.close(self.clock.watermark());
        }
        error
    }

    fn read_all(&mut self, inputs: &[Input], quiet: bool) {
        let mut done_before = 0;
        let mut warned = HashSet::new();
        for (index, input) in inputs.iter().enumerate() {
            let mut capture = match input.open() {
                Ok(capture) => capture,
                Err(e) if e.is_damage() => {
                    self.report.damaged.push(e);
                    continue;
                }
                Err(e) => {
                    self.report.failure = Some(e);
                    return;
                }
            };
            while !self.stopped {
                let packet = match capture.next_packet() {
                    Ok(Some(packet)) => packet,
                    Ok(None) => break,
                    Err(e) if e.is_damage() => {
                        self.report.damaged.push(e);
                        break;
                    }
                    Err(e) => {
                        self.report.failure = Some(e);
                        return;
                    }
                };
                if let Some(e) = self.packet(&packet) {
                    if e.kind == ErrorKind::UnsupportedLink
                        && warned.insert((index, packet.interface))
                        && !quiet
                    {
                        eprintln!(
                            "mirrorflow: warning: '{}' interface {} has link type {}, which mirrorflow does not decode; its packets are counted and skipped",
                            input.name().display(),
                            packet.interface,
                            packet.link
                        );
                    }
                }
                if self.report.packets_read % PROGRESS_EVERY == 0 {
                    self.counters
                        .consumed
                        .store(done_before + capture.bytes_consumed(), Ordering::Relaxed);
                    self.publish();
                }
            }
            done_before += capture.bytes_consumed();
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
        while !self.stopped {
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
        if self.clock.advance_to(now) {
            self.close(self.clock.watermark());
        } else {
            self.send_pending();
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
            .store(self.report.packets_counted, Ordering::Relaxed);
        c.intervals_closed
            .store(self.clock.intervals_closed(), Ordering::Relaxed);
        if let Some(live) = &self.report.live {
            c.kernel_received.store(live.received, Ordering::Relaxed);
            c.kernel_drops.store(live.kernel_drops, Ordering::Relaxed);
            c.interface_drops
                .store(live.interface_drops, Ordering::Relaxed);
        }
        if let Ok(mut decode) = c.decode.lock() {
            decode.clone_from(&self.report.decode);
        }
    }

    #[inline]
    fn push(&mut self, obs: Observation) {
        self.report.packets_counted += 1;
        let shard = shard_of(obs.hash, self.batches.len());
        self.batches[shard].push(obs);
        if self.batches[shard].len() == BATCH {
            self.send_batch(shard);
        }
    }

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

    /// Sends every non-empty batch.
    fn send_pending(&mut self) {
        for shard in 0..self.batches.len() {
            if !self.batches[shard].is_empty() {
                self.send_batch(shard);
            }
        }
    }

    /// Sends every pending batch, then the closing, to every shard.
    fn close(&mut self, watermark: Timestamp) {
        self.send_pending();
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

    /// Flushes every interval at the end of input (or a live stop) and reports.
    fn finish(mut self) -> ReaderReport {
        self.clock.advance_to(Timestamp(u64::MAX));
        self.close(Timestamp(u64::MAX));
        self.report.observer = self.observer.stats();
        self.report.intervals_closed = self.clock.intervals_closed();
        self.publish();
        self.report
    }
}
