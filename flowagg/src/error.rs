//! Configuration errors (nothing per packet fails here).

/// An aggregation setting out of its range.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// `--interval` outside 1..=3600 seconds.
    #[error("interval must be a whole number of seconds from 1 to 3600, got {0}")]
    Interval(u64),
    /// `--flow-sample` outside (0, 1].
    #[error("flow sampling rate must be in (0, 1], got {0}")]
    FlowSampleRate(f64),
    /// `--packet-sample 0`.
    #[error("packet sampling must count one packet in N with N >= 1, got {0}")]
    PacketSample(u64),
}
