//! The end-of-run statistics (docs/record.md, "Run statistics"): a table on
//! stderr, JSON with `--stats`.

use std::{collections::BTreeMap, fmt, sync::atomic::Ordering, time::Duration};

use capture::{source::LiveStats, stats::DecodeStats, ErrorKind};
use flowagg::{ObserverStats, ShardStats};
use serde::Serialize;

/// What a run read, counted and wrote.
#[derive(Debug, Default, Serialize)]
pub struct RunStats {
    /// Packets read from the inputs.
    pub packets_read: u64,
    /// Captured bytes read (packet data, not file headers).
    pub bytes_read: u64,
    /// Packets counted in some record (before packet-sampling scaling).
    pub packets_counted: u64,
    /// Truncated, malformed and too-deep packets, by `layer.reason`.
    pub malformed: BTreeMap<String, u64>,
    /// Frames that carry no IP (ARP, LLDP, STP…).
    pub non_ip: u64,
    /// Packets of pcapng interfaces whose link type is not decoded (skipped).
    pub unsupported_link: u64,
    /// Packets whose tunnel header did not decode, by reason: counted in
    /// the record of the IP header carrying it, so not in the sum of reasons
    /// a packet is in no record.
    pub tunnel_not_peeled: BTreeMap<String, u64>,
    /// Later fragments of fragmented tunnel packets (their inner packet was
    /// counted with the first fragment).
    pub tunnel_fragment_continuations: u64,
    /// Copies dropped by `--dedup`.
    pub duplicates_dropped: u64,
    /// Packets of observation points beyond the first 65536 (in no record).
    pub observation_points_exhausted: u64,
    /// Later fragments whose first fragment was not seen (counted with null ports).
    pub unmatched_fragments: u64,
    /// Packets counted after their interval had closed, in extra records.
    pub late_packets: u64,
    /// Records written before their interval closed because the flow budget
    /// (`--max-flows`) was spent.
    pub partial_records: u64,
    /// TCP connections followed for round trips and retransmissions.
    pub tcp_connections: u64,
    /// TCP segments of connections beyond the `--max-flows` budget, not analysed.
    pub tcp_untracked_segments: u64,
    /// Packets left out by flow or packet sampling.
    pub sampled_out: u64,
    /// Records written.
    pub records_written: u64,
    /// Intervals closed (each written as it closed).
    pub intervals_closed: u64,
    /// Live: packets the kernel received for the capture, dropped ones
    /// included (libpcap `ps_recv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_received: Option<u64>,
    /// Live: packets the kernel dropped because the capture ring was full,
    /// so mirrorflow never saw them (`ps_drop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_drops: Option<u64>,
    /// Live: packets the interface or its driver dropped (`ps_ifdrop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_drops: Option<u64>,
    /// IPFIX: messages sent to the collector or written to the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix_messages_sent: Option<u64>,
    /// IPFIX: flow records in those messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix_records_sent: Option<u64>,
    /// IPFIX: failed sends (UDP errors such as a closed collector port, TCP
    /// writes and connection attempts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix_send_errors: Option<u64>,
    /// IPFIX: flow records in messages that could not be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix_records_lost: Option<u64>,
    /// IPFIX over TCP: connections made to the collector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipfix_connections: Option<u64>,
    /// Wall-clock run time in seconds.
    pub run_time_secs: f64,
    /// Packets read per second of run time.
    pub packets_per_sec: f64,
}

impl RunStats {
    /// Fills the per-reason counts from the decoder's table.
    pub fn add_decode(&mut self, decode: &DecodeStats) {
        for (layer, kind, count) in decode.nonzero() {
            match kind {
                ErrorKind::NotIp => self.non_ip += count,
                ErrorKind::UnsupportedLink => self.unsupported_link += count,
                ErrorKind::TunnelFragment => self.tunnel_fragment_continuations += count,
                _ => {
                    *self
                        .malformed
                        .entry(format!("{}.{}", layer.name(), kind.name()))
                        .or_default() += count
                }
            }
        }
        for (why, count) in decode.not_peeled() {
            *self
                .tunnel_not_peeled
                .entry(why.name().to_string())
                .or_default() += count;
        }
    }

    /// Adds the observer's and the shard's counts.
    pub fn add_flow(&mut self, observer: &ObserverStats, shard: &ShardStats) {
        self.unmatched_fragments += observer.unmatched_fragments;
        self.sampled_out += observer.flow_sampled_out + observer.packet_sampled_out;
        self.duplicates_dropped += observer.duplicates;
        self.observation_points_exhausted += observer.observation_points_exhausted;
        self.late_packets += shard.late_packets;
        self.partial_records += shard.partial_records;
        self.tcp_connections += shard.tcp_connections;
        self.tcp_untracked_segments += shard.tcp_untracked_segments;
        self.records_written += shard.records;
    }

    /// Adds a live capture's counts from `pcap_stats`.
    pub fn add_live(&mut self, live: &LiveStats) {
        self.kernel_received = Some(live.received);
        self.kernel_drops = Some(live.kernel_drops);
        self.interface_drops = Some(live.interface_drops);
    }

    /// Adds what the IPFIX export sent and lost.
    pub fn add_ipfix(&mut self, ipfix: &export::IpfixCounters) {
        let load = |a: &std::sync::atomic::AtomicU64| Some(a.load(Ordering::Relaxed));
        self.ipfix_messages_sent = load(&ipfix.messages);
        self.ipfix_records_sent = load(&ipfix.records);
        self.ipfix_send_errors = load(&ipfix.send_errors);
        self.ipfix_records_lost = load(&ipfix.records_lost);
        self.ipfix_connections = load(&ipfix.connections);
    }

    /// Sets the run time and the rate derived from it.
    pub fn set_run_time(&mut self, elapsed: Duration) {
        self.run_time_secs = elapsed.as_secs_f64();
        self.packets_per_sec = if self.run_time_secs > 0.0 {
            self.packets_read as f64 / self.run_time_secs
        } else {
            0.0
        };
    }
}

impl fmt::Display for RunStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, name: &str, value: u64| {
            writeln!(f, "  {name:<28}{value:>14}")
        };
        writeln!(f, "mirrorflow: run statistics")?;
        if let (Some(received), Some(kernel), Some(interface)) = (
            self.kernel_received,
            self.kernel_drops,
            self.interface_drops,
        ) {
            row(f, "kernel received", received)?;
            row(f, "kernel drops", kernel)?;
            row(f, "interface drops", interface)?;
        }
        row(f, "packets read", self.packets_read)?;
        row(f, "bytes read", self.bytes_read)?;
        row(f, "packets counted", self.packets_counted)?;
        for (reason, count) in &self.malformed {
            row(f, &format!("malformed {reason}"), *count)?;
        }
        row(f, "non-IP", self.non_ip)?;
        row(f, "unsupported link type", self.unsupported_link)?;
        for (reason, count) in &self.tunnel_not_peeled {
            row(f, &format!("tunnel not peeled {reason}"), *count)?;
        }
        row(
            f,
            "tunnel fragment continuations",
            self.tunnel_fragment_continuations,
        )?;
        row(f, "duplicates dropped", self.duplicates_dropped)?;
        if self.observation_points_exhausted > 0 {
            row(
                f,
                "observation points exhausted",
                self.observation_points_exhausted,
            )?;
        }
        row(f, "unmatched fragments", self.unmatched_fragments)?;
        row(f, "late packets", self.late_packets)?;
        if self.partial_records > 0 {
            row(f, "partial records (max flows)", self.partial_records)?;
        }
        row(f, "TCP connections", self.tcp_connections)?;
        if self.tcp_untracked_segments > 0 {
            row(f, "TCP segments not analysed", self.tcp_untracked_segments)?;
        }
        row(f, "sampled out", self.sampled_out)?;
        row(f, "records written", self.records_written)?;
        row(f, "intervals closed", self.intervals_closed)?;
        let ipfix = [
            ("IPFIX messages sent", self.ipfix_messages_sent),
            ("IPFIX records sent", self.ipfix_records_sent),
            ("IPFIX send errors", self.ipfix_send_errors),
            ("IPFIX records lost", self.ipfix_records_lost),
        ];
        for (name, value) in ipfix {
            if let Some(value) = value {
                row(f, name, value)?;
            }
        }
        writeln!(f, "  {:<28}{:>14.3}", "run time (s)", self.run_time_secs)?;
        writeln!(f, "  {:<28}{:>14.0}", "packets/s", self.packets_per_sec)?;
        if self.kernel_drops.is_some_and(|d| d > 0) {
            writeln!(
                f,
                "mirrorflow: the kernel dropped packets mirrorflow was too slow to read: their flows are undercounted; raise --buffer-mb or --threads, narrow --bpf, or lower --snaplen"
            )?;
        }
        if self.ipfix_records_lost.is_some_and(|lost| lost > 0) {
            writeln!(
                f,
                "mirrorflow: IPFIX records were lost: the collector could not be reached (docs/ipfix.md, \"When the collector is down\")"
            )?;
        }
        if self.interface_drops.is_some_and(|d| d > 0) {
            writeln!(
                f,
                "mirrorflow: the interface dropped packets before capture (its own receive drops: `ip -s link`)"
            )?;
        }
        Ok(())
    }
}
