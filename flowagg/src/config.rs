//! The knobs of aggregation (docs/cli.md: --interval, --lateness, sampling, --seed).

use crate::Error;

/// Aggregation settings, validated by [`AggConfig::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct AggConfig {
    /// Interval length in seconds (1..=3600).
    pub interval_secs: u32,
    /// How long an interval stays open after packet time passes its end, in seconds.
    pub lateness_secs: u32,
    /// Keep a flow iff hash(key, salt) < rate · 2^64.
    pub flow_sample: f64,
    /// Count one packet in N.
    pub packet_sample: u64,
    /// Seed of packet sampling and salt of flow sampling.
    pub seed: u64,
    /// Drop copies of a packet seen within this many nanoseconds (`--dedup`).
    pub dedup_window_nanos: Option<u64>,
    /// Flows held at once (`--max-flows`); beyond, the oldest are written
    /// early as partial records.
    pub max_flows: usize,
    /// Follow TCP connections for round trips and retransmissions
    /// (`--no-tcp-analysis` turns it off).
    pub tcp_analysis: bool,
}

/// The default flow budget: 4 Mi flows. Measured on a flood of 5 million
/// distinct flows in 5 s, the run peaked at 474 MB resident with one thread
/// and 493 MB with two: about 115 bytes per flow held at the worst moment,
/// the flow table (~88 bytes a flow) plus the scratch of an eviction.
pub const DEFAULT_MAX_FLOWS: usize = 1 << 22;

impl Default for AggConfig {
    /// The spec's defaults: 5 s intervals, 1 s lateness, no sampling.
    fn default() -> Self {
        AggConfig {
            interval_secs: 5,
            lateness_secs: 1,
            flow_sample: 1.0,
            packet_sample: 1,
            seed: 0,
            dedup_window_nanos: None,
            max_flows: DEFAULT_MAX_FLOWS,
            tcp_analysis: true,
        }
    }
}

impl AggConfig {
    /// Validates the settings.
    pub fn new(
        interval_secs: u64,
        lateness_secs: u32,
        flow_sample: f64,
        packet_sample: u64,
        seed: u64,
    ) -> Result<Self, Error> {
        if !(1..=3600).contains(&interval_secs) {
            return Err(Error::Interval(interval_secs));
        }
        if !(flow_sample > 0.0 && flow_sample <= 1.0) {
            return Err(Error::FlowSampleRate(flow_sample));
        }
        if packet_sample == 0 {
            return Err(Error::PacketSample(packet_sample));
        }
        Ok(AggConfig {
            interval_secs: interval_secs as u32,
            lateness_secs,
            flow_sample,
            packet_sample,
            seed,
            dedup_window_nanos: None,
            max_flows: DEFAULT_MAX_FLOWS,
            tcp_analysis: true,
        })
    }

    /// `sampling.packet_rate` of the records: 1/N.
    pub fn packet_rate(&self) -> f64 {
        1.0 / self.packet_sample as f64
    }

    /// Whether TCP segments are analysed for round trips and
    /// retransmissions: when asked, and not under packet sampling, which leaves out the
    /// segments and acknowledgements both need (docs/record.md, "TCP: round trips and retransmissions").
    pub fn analyses_tcp(&self) -> bool {
        self.tcp_analysis && self.packet_sample == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_settings() {
        assert_eq!(AggConfig::new(0, 1, 1.0, 1, 0), Err(Error::Interval(0)));
        assert_eq!(
            AggConfig::new(3601, 1, 1.0, 1, 0),
            Err(Error::Interval(3601))
        );
        assert_eq!(
            AggConfig::new(5, 1, 0.0, 1, 0),
            Err(Error::FlowSampleRate(0.0))
        );
        assert_eq!(
            AggConfig::new(5, 1, 1.5, 1, 0),
            Err(Error::FlowSampleRate(1.5))
        );
        assert!(AggConfig::new(5, 1, f64::NAN, 1, 0).is_err());
        assert_eq!(AggConfig::new(5, 1, 1.0, 0, 0), Err(Error::PacketSample(0)));
        assert_eq!(AggConfig::new(60, 1, 0.5, 10, 7).unwrap().interval_secs, 60);
    }
}
