//! The run's live counters: read by the progress bar and served as
//! Prometheus metrics (`live --metrics ADDR`, text format at `/metrics`).
//!
//! The pipeline's threads store into [`Counters`] what they already count,
//! once per batch or tick, never per packet: the reader its packet, byte and
//! decode counts and the capture's drop counts, each shard its open flows,
//! the writer the records it wrote and the lag of the last interval. A scrape
//! reads them with relaxed loads: each value is one the pipeline held,
//! at most a tick (250 ms) old, and counters never go back.

use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
    thread::{self, JoinHandle},
};

use anyhow::{anyhow, Context, Result};
use capture::stats::DecodeStats;
use flowagg::OpenFlows;

use crate::stats::RunStats;

/// Content type of the Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// No interval closed yet (in [`Counters::interval_lag_nanos`]).
const NO_LAG: u64 = u64::MAX;

/// Counters shared by the pipeline's threads, the progress bar and the
/// metrics endpoint.
#[derive(Debug)]
pub struct Counters {
    /// Bytes of the input files consumed (replay's progress bar).
    pub consumed: AtomicU64,
    /// Packets read.
    pub packets: AtomicU64,
    /// Captured bytes read.
    pub bytes: AtomicU64,
    /// Packets counted in some record.
    pub counted: AtomicU64,
    /// Flows each shard holds.
    pub open_flows: Arc<OpenFlows>,
    /// Records written.
    pub records_written: AtomicU64,
    /// Intervals closed.
    pub intervals_closed: AtomicU64,
    /// A live capture: the three counters below apply.
    pub live: AtomicBool,
    /// Packets the kernel received for the capture.
    pub kernel_received: AtomicU64,
    /// Packets the kernel dropped (ring full).
    pub kernel_drops: AtomicU64,
    /// Packets the interface or its driver dropped.
    pub interface_drops: AtomicU64,
    /// Wall-clock time from the end of the last closed interval to the
    /// moment its records were written, in ns ([`NO_LAG`] before the first).
    pub interval_lag_nanos: AtomicU64,
    /// The decoder's per-reason counts, as of the reader's last tick.
    pub decode: Mutex<DecodeStats>,
    /// What an IPFIX export sent and lost (set when the output is IPFIX).
    pub ipfix: OnceLock<Arc<export::IpfixCounters>>,
}

impl Counters {
    /// Zeroed counters for a run with `shards` shards.
    pub fn new(shards: usize) -> Self {
        Counters {
            consumed: AtomicU64::new(0),
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            counted: AtomicU64::new(0),
            open_flows: Arc::new(OpenFlows::new(shards)),
            records_written: AtomicU64::new(0),
            intervals_closed: AtomicU64::new(0),
            live: AtomicBool::new(false),
            kernel_received: AtomicU64::new(0),
            kernel_drops: AtomicU64::new(0),
            interface_drops: AtomicU64::new(0),
            interval_lag_nanos: AtomicU64::new(NO_LAG),
            decode: Mutex::new(DecodeStats::default()),
            ipfix: OnceLock::new(),
        }
    }

    /// Flows held by every shard.
    pub fn open_flows(&self) -> usize {
        self.open_flows.total()
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut reasons = RunStats::default();
        reasons.add_decode(&self.decode.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out = String::with_capacity(4096);
        one(
            &mut out,
            "mirrorflow_packets_total",
            "counter",
            "Packets read from the interface.",
            &load(&self.packets),
        );
        one(
            &mut out,
            "mirrorflow_bytes_total",
            "counter",
            "Captured bytes read (at most --snaplen of each packet).",
            &load(&self.bytes),
        );
        one(
            &mut out,
            "mirrorflow_packets_counted_total",
            "counter",
            "Packets counted in some flow record (before --packet-sample scaling).",
            &load(&self.counted),
        );
        one(
            &mut out,
            "mirrorflow_non_ip_packets_total",
            "counter",
            "Frames carrying no IP (ARP, LLDP, STP...), in no record.",
            &reasons.non_ip,
        );
        one(
            &mut out,
            "mirrorflow_unsupported_link_packets_total",
            "counter",
            "Packets of an interface whose link type mirrorflow does not decode, in no record.",
            &reasons.unsupported_link,
        );
        family(
            &mut out,
            "mirrorflow_tunnel_not_peeled_packets_total",
            "counter",
            "Packets whose tunnel header did not decode, counted as their outer flow, by reason.",
        );
        for (reason, count) in &reasons.tunnel_not_peeled {
            let _ = writeln!(
                out,
                "mirrorflow_tunnel_not_peeled_packets_total{{reason=\"{}\"}} {count}",
                label(reason)
            );
        }
        family(
            &mut out,
            "mirrorflow_malformed_packets_total",
            "counter",
            "Malformed packets, in no record, by layer.reason.",
        );
        for (reason, count) in &reasons.malformed {
            let _ = writeln!(
                out,
                "mirrorflow_malformed_packets_total{{reason=\"{}\"}} {count}",
                label(reason)
            );
        }
        if self.live.load(Ordering::Relaxed) {
            one(
            &mut out,
                "mirrorflow_kernel_received_packets_total",
                "counter",
                "Packets the kernel received for the capture, dropped ones included (pcap_stats ps_recv).",
                &load(&self.kernel_received),
            );
            one(
            &mut out,
                "mirrorflow_kernel_drops_total",
                "counter",
                "Packets the kernel dropped because the capture ring was full (pcap_stats ps_drop).",
                &load(&self.kernel_drops),
            );
            one(
                &mut out,
                "mirrorflow_interface_drops_total",
                "counter",
                "Packets the interface or its driver dropped (pcap_stats ps_ifdrop).",
                &load(&self.interface_drops),
            );
        }
        one(
            &mut out,
            "mirrorflow_open_flows",
            "gauge",
            "Flow-interval entries held in memory, not yet written.",
            &self.open_flows(),
        );
        one(
            &mut out,
            "mirrorflow_records_written_total",
            "counter",
            "Flow records written.",
            &load(&self.records_written),
        );
        one(
            &mut out,
            "mirrorflow_intervals_closed_total",
            "counter",
            "Aggregation intervals closed.",
            &load(&self.intervals_closed),
        );
        if let Some(ipfix) = self.ipfix.get() {
            for (name, help, value) in [
                (
                    "mirrorflow_ipfix_messages_total",
                    "IPFIX messages sent to the collector or written.",
                    &ipfix.messages,
                ),
                (
                    "mirrorflow_ipfix_records_total",
                    "Flow records in the IPFIX messages sent.",
                    &ipfix.records,
                ),
                (
                    "mirrorflow_ipfix_send_errors_total",
                    "IPFIX sends that failed (collector port closed, TCP down).",
                    &ipfix.send_errors,
                ),
                (
                    "mirrorflow_ipfix_records_lost_total",
                    "Flow records in IPFIX messages that could not be sent.",
                    &ipfix.records_lost,
                ),
                (
                    "mirrorflow_ipfix_connections_total",
                    "TCP connections made to the IPFIX collector.",
                    &ipfix.connections,
                ),
            ] {
                one(&mut out, name, "counter", help, &load(value));
            }
        }
        let lag = load(&self.interval_lag_nanos);
        if lag != NO_LAG {
            one(
            &mut out,
                "mirrorflow_interval_lag_seconds",
                "gauge",
                "Wall-clock time from the end of the last closed interval to its records being written.",
                &(lag as f64 / 1e9),
            );
        }
        out
    }
}

/// A metric family of one sample.
fn one(out: &mut String, name: &str, kind: &str, help: &str, value: &dyn std::fmt::Display) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value escaped as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// The `/metrics` endpoint, served from its own thread until dropped.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` now (so a taken port fails before capture starts) and
    /// serves `counters` at `/metrics`.
    pub fn start(addr: &str, counters: Arc<Counters>) -> Result<Self> {
        let server = tiny_http::Server::http(addr)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("cannot serve metrics on '{addr}'"))?;
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("");
                    let response = if path == "/metrics" {
                        let header = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE)
                            .expect("a valid header");
                        tiny_http::Response::from_string(counters.render()).with_header(header)
                    } else {
                        tiny_http::Response::from_string("mirrorflow: metrics are at /metrics\n")
                            .with_status_code(404)
                    };
                    // A client that hung up is its own problem.
                    let _ = request.respond(response);
                }
            })
            .context("cannot start the metrics thread")?;
        Ok(MetricsServer {
            server,
            thread: Some(thread),
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use capture::{DecodeError, ErrorKind, Layer};

    use super::*;

    #[test]
    fn render_follows_the_text_format() {
        let counters = Counters::new(2);
        counters.packets.store(10, Ordering::Relaxed);
        counters.open_flows.set(1, 3);
        counters.live.store(true, Ordering::Relaxed);
        counters.kernel_drops.store(4, Ordering::Relaxed);
        counters.decode.lock().unwrap().record(&DecodeError {
            layer: Layer::Ipv4,
            kind: ErrorKind::Truncated,
            offset: 14,
        });
        let text = counters.render();
        assert!(
            text.contains("# TYPE mirrorflow_packets_total counter\nmirrorflow_packets_total 10\n")
        );
        assert!(text.contains("mirrorflow_open_flows 3\n"));
        assert!(text.contains("mirrorflow_kernel_drops_total 4\n"));
        assert!(text.contains("mirrorflow_malformed_packets_total{reason=\"ipv4.truncated\"} 1\n"));
        assert!(!text.contains("interval_lag"), "no interval closed yet");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(name.starts_with("mirrorflow_"), "{line}");
            value.parse::<f64>().unwrap();
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
