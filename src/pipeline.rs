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

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    thread,
    time::Instant,
};

use anyhow::{Context, Result};
use capture::{
    decode::{decode_with, DecodeConfig},
    stats::DecodeStats,
    ErrorKind, Timestamp,
};
use crossbeam_channel::{bounded, Receiver, Sender};
use export::Sink;
use flowagg::{
    merge::{merge_into, shard_of},
    AggConfig, Clock, FlowRecord, Observation, ObservationPoints, Observer, ObserverStats, Shard,
    ShardStats,
};
use indicatif::ProgressBar;

use crate::{inputs::Input, stats::RunStats};

/// Observations per batch: large enough to amortise a channel hand-off
/// (~100 ns) to well under a nanosecond a packet, small enough to stay in L2.
const BATCH: usize = 1024;
/// Batches in flight to each shard.
const IN_FLIGHT: usize = 16;

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

/// A shard's answer to a closing.
struct Closed {
    event: u64,
    closed: Vec<FlowRecord>,
    late: Vec<FlowRecord>,
}

/// Counters the threads update for the progress bar (not per packet).
#[derive(Default)]
struct Progress {
    consumed: AtomicU64,
    counted: AtomicU64,
    open_flows: Vec<AtomicUsize>,
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
}

/// Reads every input in order and writes its flow records to `sink`, with
/// `threads` aggregating shards.
pub fn replay(
    inputs: Vec<Input>,
    config: &AggConfig,
    decode: &DecodeConfig,
    mut sink: Sink,
    threads: usize,
    quiet: bool,
    bar: Option<ProgressBar>,
) -> Result<Outcome> {
    let started = Instant::now();
    let threads = threads.max(1);
    let points = ObservationPoints::default();
    let progress = Arc::new(Progress {
        open_flows: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
        ..Progress::default()
    });
    let (done_tx, done_rx) = bounded::<Closed>(threads * 4);
    let (empty_tx, empty_rx) = bounded::<Vec<Observation>>(threads * IN_FLIGHT + 2);
    let mut to_shards = Vec::with_capacity(threads);
    let mut shards = Vec::with_capacity(threads);
    for index in 0..threads {
        let (tx, rx) = bounded::<ToShard>(IN_FLIGHT);
        to_shards.push(tx);
        let shard = Shard::new(config, points.clone());
        let (done_tx, empty_tx, progress) =
            (done_tx.clone(), empty_tx.clone(), Arc::clone(&progress));
        shards.push(
            thread::Builder::new()
                .name(format!("shard-{index}"))
                .spawn(move || run_shard(shard, index, &rx, &done_tx, &empty_tx, &progress))
                .context("cannot start a shard thread")?,
        );
    }
    drop((done_tx, empty_tx));
    let reader = {
        let (config, decode, progress) = (config.clone(), decode.clone(), Arc::clone(&progress));
        thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                let mut reader =
                    Reader::new(&config, &decode, points, to_shards, empty_rx, progress);
                reader.read_all(&inputs, quiet);
                reader.finish()
            })
            .context("cannot start the reader thread")?
    };

    let written = export_closings(
        &done_rx,
        &mut sink,
        threads,
        &progress,
        bar.as_ref(),
        started,
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
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    written?;
    if let Some(failure) = report.failure {
        return Err(failure.into());
    }
    sink.finish()?;

    let mut stats = RunStats {
        packets_read: report.packets_read,
        bytes_read: report.bytes_read,
        packets_counted: report.packets_counted,
        ..RunStats::default()
    };
    stats.add_decode(&report.decode);
    stats.add_flow(&report.observer, &shard_stats);
    stats.set_run_time(started.elapsed());
    Ok(Outcome {
        stats,
        damaged: report.damaged,
    })
}

/// The answers to one closing so far: how many shards answered, their
/// closed-interval records and their late records.
type Answers = (usize, Vec<Vec<FlowRecord>>, Vec<Vec<FlowRecord>>);

/// Collects every shard's answer to each closing, merges them, writes them.
fn export_closings(
    done: &Receiver<Closed>,
    sink: &mut Sink,
    threads: usize,
    progress: &Progress,
    bar: Option<&ProgressBar>,
    started: Instant,
) -> Result<(), export::Error> {
    let mut pending: BTreeMap<u64, Answers> = BTreeMap::new();
    let mut out = Vec::new();
    for answer in done.iter() {
        let entry = pending
            .entry(answer.event)
            .or_insert_with(|| (0, Vec::new(), Vec::new()));
        entry.0 += 1;
        entry.1.push(answer.closed);
        entry.2.push(answer.late);
        // Shards answer closings in order, so the oldest one completes first.
        while let Some(mut ready) = pending.first_entry().filter(|e| e.get().0 == threads) {
            let (_, closed, late) = ready.get_mut();
            merge_into(closed, &mut out);
            merge_into(late, &mut out);
            ready.remove();
            sink.write(&out)?;
            out.clear();
        }
        if let Some(bar) = bar {
            bar.set_position(progress.consumed.load(Ordering::Relaxed));
            let pps =
                progress.counted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
            let open: usize = progress
                .open_flows
                .iter()
                .map(|o| o.load(Ordering::Relaxed))
                .sum();
            bar.set_message(format!("{pps:.0} packets/s, {open} flows open"));
        }
    }
    Ok(())
}

fn run_shard(
    mut shard: Shard,
    index: usize,
    from_reader: &Receiver<ToShard>,
    done: &Sender<Closed>,
    empties: &Sender<Vec<Observation>>,
    progress: &Progress,
) -> ShardStats {
    for message in from_reader.iter() {
        match message {
            ToShard::Batch(mut batch) => {
                shard.push_batch(&batch);
                batch.clear();
                // The reader allocates a new batch if the return channel is full.
                let _ = empties.try_send(batch);
                progress.open_flows[index].store(shard.open_flows(), Ordering::Relaxed);
            }
            ToShard::Close { event, watermark } => {
                let (mut closed, mut late) = (Vec::new(), Vec::new());
                shard.close(watermark, &mut closed, &mut late);
                if done
                    .send(Closed {
                        event,
                        closed,
                        late,
                    })
                    .is_err()
                {
                    break; // the writer failed; it reports why
                }
            }
        }
    }
    shard.stats()
}

/// The reader thread: inputs in, observations to shards out.
struct Reader {
    observer: Observer,
    clock: Clock,
    decode: DecodeConfig,
    to_shards: Vec<Sender<ToShard>>,
    batches: Vec<Vec<Observation>>,
    empties: Receiver<Vec<Observation>>,
    progress: Arc<Progress>,
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
        progress: Arc<Progress>,
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
            progress,
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
            },
        }
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
                self.report.packets_read += 1;
                self.report.bytes_read += packet.data.len() as u64;
                let tick = self.clock.tick(packet.ts);
                match decode_with(&packet, &self.decode) {
                    Ok(decoded) => {
                        if let Some(mut obs) = self.observer.observe(&packet, &decoded) {
                            obs.late = tick.late;
                            self.push(obs);
                        }
                    }
                    Err(e) => {
                        self.report.decode.record(&e);
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
                }
                if tick.closes {
                    self.close(self.clock.watermark());
                }
                if self.report.packets_read % 65_536 == 0 {
                    self.progress
                        .consumed
                        .store(done_before + capture.bytes_consumed(), Ordering::Relaxed);
                    self.progress
                        .counted
                        .store(self.report.packets_counted, Ordering::Relaxed);
                }
            }
            done_before += capture.bytes_consumed();
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

    /// Sends every pending batch, then the closing, to every shard.
    fn close(&mut self, watermark: Timestamp) {
        for shard in 0..self.batches.len() {
            if !self.batches[shard].is_empty() {
                self.send_batch(shard);
            }
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

    /// Flushes every interval at the end of input and reports.
    fn finish(mut self) -> ReaderReport {
        self.close(Timestamp(u64::MAX));
        self.report.observer = self.observer.stats();
        self.report
    }
}
