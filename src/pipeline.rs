//! Threads and channels: capture → flowagg → export.
//!
//! The reader thread decodes packets where they lie in its buffer and sends
//! batches of small owned [`Observation`]s over a bounded channel (emptied
//! batches come back for reuse), so no packet is copied and nothing is
//! allocated per packet. The aggregating side owns the flow table and writes
//! records as intervals close. The bounded channel gives backpressure: a slow
//! writer slows the reader, and nothing is dropped.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    thread,
    time::Instant,
};

use anyhow::{Context, Result};
use capture::{
    decode::{decode_with, DecodeConfig},
    stats::DecodeStats,
    ErrorKind,
};
use crossbeam_channel::{bounded, Receiver, Sender};
use export::Sink;
use flowagg::{AggConfig, Observation, ObservationPoints, Observer, ObserverStats, Shard};
use indicatif::ProgressBar;

use crate::{inputs::Input, stats::RunStats};

/// Observations per batch: large enough to amortise a channel hand-off
/// (~100 ns) to well under a nanosecond a packet, small enough to stay in L2.
const BATCH: usize = 1024;
/// Batches in flight between the threads.
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

/// What the reader thread reports when it is done.
struct ReaderReport {
    packets_read: u64,
    bytes_read: u64,
    decode: DecodeStats,
    observer: ObserverStats,
    damaged: Vec<capture::Error>,
    /// An input that could not be read at all (I/O error): the run fails.
    failure: Option<capture::Error>,
}

/// Reads every input in order and writes its flow records to `sink`.
pub fn replay(
    inputs: Vec<Input>,
    config: &AggConfig,
    decode: &DecodeConfig,
    mut sink: Sink,
    quiet: bool,
    progress: Option<ProgressBar>,
) -> Result<Outcome> {
    let started = Instant::now();
    let (batches_tx, batches_rx) = bounded::<Vec<Observation>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = bounded::<Vec<Observation>>(IN_FLIGHT + 2);
    let consumed = Arc::new(AtomicU64::new(0));
    let points = ObservationPoints::default();
    let reader = {
        let config = config.clone();
        let decode = decode.clone();
        let points = points.clone();
        let consumed = Arc::clone(&consumed);
        thread::Builder::new()
            .name("reader".into())
            .spawn(move || {
                read_inputs(
                    &inputs,
                    &config,
                    &decode,
                    points,
                    quiet,
                    &batches_tx,
                    &empty_rx,
                    &consumed,
                )
            })
            .context("cannot start the reader thread")?
    };

    let mut shard = Shard::new(config, points);
    let mut records = Vec::new();
    let mut counted = 0u64;
    let written: Result<(), export::Error> = (|| {
        for mut batch in batches_rx.iter() {
            counted += batch.len() as u64;
            shard.push_batch(&batch, &mut records);
            if !records.is_empty() {
                sink.write(&records)?;
                records.clear();
            }
            batch.clear();
            // The reader allocates a new batch if none comes back in time.
            let _ = empty_tx.try_send(batch);
            if let Some(bar) = &progress {
                bar.set_position(consumed.load(Ordering::Relaxed));
                let pps = counted as f64 / started.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "{pps:.0} packets/s, {} flows open",
                    shard.open_flows()
                ));
            }
        }
        shard.finish(&mut records);
        sink.write(&records)
    })();
    // On a write failure, hanging up makes the reader's next send fail and it stops.
    drop(batches_rx);
    let report = reader.join().expect("reader thread panicked");
    if let Some(bar) = &progress {
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
        packets_counted: counted,
        ..RunStats::default()
    };
    stats.add_decode(&report.decode);
    stats.add_flow(&report.observer, &shard.stats());
    stats.set_run_time(started.elapsed());
    Ok(Outcome {
        stats,
        damaged: report.damaged,
    })
}

#[allow(clippy::too_many_arguments)] // the reader thread's whole world, passed once
fn read_inputs(
    inputs: &[Input],
    config: &AggConfig,
    decode: &DecodeConfig,
    points: ObservationPoints,
    quiet: bool,
    batches: &Sender<Vec<Observation>>,
    empties: &Receiver<Vec<Observation>>,
    consumed: &AtomicU64,
) -> ReaderReport {
    let mut report = ReaderReport {
        packets_read: 0,
        bytes_read: 0,
        decode: DecodeStats::default(),
        observer: ObserverStats::default(),
        damaged: Vec::new(),
        failure: None,
    };
    // One observer for the whole run: fragments and packet sampling follow
    // the packet order across input files.
    let mut observer = Observer::new(config, points);
    let mut batch = Vec::with_capacity(BATCH);
    let mut done_before = 0;
    let mut warned = HashSet::new();
    'inputs: for (index, input) in inputs.iter().enumerate() {
        let mut reader = match input.open() {
            Ok(reader) => reader,
            Err(e) if e.is_damage() => {
                report.damaged.push(e);
                continue;
            }
            Err(e) => {
                report.failure = Some(e);
                break;
            }
        };
        loop {
            let packet = match reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(e) if e.is_damage() => {
                    report.damaged.push(e);
                    break;
                }
                Err(e) => {
                    report.failure = Some(e);
                    break 'inputs;
                }
            };
            report.packets_read += 1;
            report.bytes_read += packet.data.len() as u64;
            match decode_with(&packet, decode) {
                Ok(decoded) => {
                    if let Some(obs) = observer.observe(&packet, &decoded) {
                        batch.push(obs);
                    }
                }
                Err(e) => {
                    report.decode.record(&e);
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
            if batch.len() == BATCH {
                consumed.store(done_before + reader.bytes_consumed(), Ordering::Relaxed);
                let full = std::mem::replace(
                    &mut batch,
                    empties
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH)),
                );
                if batches.send(full).is_err() {
                    // The writer failed and hung up; it reports why.
                    break 'inputs;
                }
            }
        }
        done_before += reader.bytes_consumed();
    }
    if !batch.is_empty() {
        let _ = batches.send(batch);
    }
    report.observer = observer.stats();
    report
}
