//! Where packets come from: capture files and live interfaces.
//!
//! A source lends one [`crate::RawPacket`] at a time from a buffer it reuses
//! (the file reader's read-ahead chunks, libpcap's ring); nothing is copied or
//! allocated per packet.

mod chunks;
mod compressed;
mod file;
mod live;
mod merge;
#[cfg(test)]
mod testing;

pub use compressed::{Compression, XZ_MEMORY_LIMIT};
pub use file::{CaptureReader, Format};
pub use live::{LiveCapture, LiveConfig, LiveStats, DEFAULT_SNAPLEN, DELIVERY_TIMEOUT};
pub use merge::{Input, Merge};
