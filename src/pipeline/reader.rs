//! The reader: packets from files or a live interface, each decoded where it
//! lies and handed to the aggregator, whose [`Dispatch`] counts it.
//!
//! Files and a live interface differ only in the loop: both hand each
//! packet to the same [`Reader::packet`]. A live reader also moves the
//! clock on the wall clock every [`TICK`], so intervals close when the link
//! is quiet, and on a stop it reads what the kernel already received before
//! it flushes every open interval.

use std::{
    collections::HashSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use capture::{
    decode::{decode_with, DecodeConfig},
    source::{Input, LiveCapture, LiveStats, Merge, DELIVERY_TIMEOUT},
    stats::DecodeStats,
    DecodeError, ErrorKind, RawPacket, Timestamp,
};
use flowagg::{Aggregator, Dispatch, ObserverStats};
use indicatif::ProgressBar;

use super::{writer::wall_clock, LiveSource, Source, TICK};
use crate::metrics::Counters;

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

/// What the reader thread reports when it is done.
pub struct ReaderReport {
    pub packets_read: u64,
    pub bytes_read: u64,
    pub packets_counted: u64,
    pub decode: DecodeStats,
    pub observer: ObserverStats,
    pub damaged: Vec<capture::Error>,
    /// An input that could not be read at all (I/O error): the run fails.
    pub failure: Option<capture::Error>,
    /// The live capture's counts at its end.
    pub live: Option<LiveStats>,
    pub intervals_closed: u64,
    /// A replay stopped by a signal before the end of its inputs.
    pub interrupted: bool,
}

/// The reader: packets in, through the aggregator, to a [`Dispatch`].
pub struct Reader<D> {
    aggregator: Aggregator<D>,
    decode: DecodeConfig,
    counters: Arc<Counters>,
    /// The progress bar and when the run started.
    progress: Option<(ProgressBar, Instant)>,
    /// No warnings on stderr.
    quiet: bool,
    report: ReaderReport,
}

impl<D: Dispatch> Reader<D> {
    /// A reader with one aggregator for the whole run: fragments, dedup,
    /// sampling and packet time follow the packet order across files.
    pub fn new(
        aggregator: Aggregator<D>,
        decode: &DecodeConfig,
        counters: Arc<Counters>,
        bar: Option<ProgressBar>,
        quiet: bool,
    ) -> Self {
        Reader {
            aggregator,
            decode: decode.clone(),
            counters,
            progress: bar.map(|bar| (bar, Instant::now())),
            quiet,
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

    /// Reads the whole source, then closes every interval: the report,
    /// and the dispatch with what it counted.
    pub fn run(mut self, source: Source) -> (ReaderReport, D) {
        match source {
            Source::Files { inputs, stop } => self.read_all(&inputs, &stop),
            Source::Live(mut live) => self.read_live(&mut live),
        }
        self.finish()
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
                self.report.decode.record_decoded(&decoded);
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
    fn read_all(&mut self, inputs: &[Input], stop: &AtomicBool) {
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
                        && !self.quiet
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
            self.aggregator.dispatch_mut().flush();
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
        if let Some((bar, started)) = &self.progress {
            show_progress(bar, c, *started, c.live.load(Ordering::Relaxed));
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

/// Updates the progress bar, if any, from the counters.
fn show_progress(bar: &ProgressBar, counters: &Counters, started: Instant, live: bool) {
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
