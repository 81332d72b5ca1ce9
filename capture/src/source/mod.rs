//! Where packets come from: capture files and live interfaces.
//!
//! A source lends one [`crate::RawPacket`] at a time from a buffer it reuses
//! (the file reader's read-ahead chunks, libpcap's ring); nothing is copied or
//! allocated per packet.
//!
//! Files: [`CaptureReader`] (`file`) walks a buffer over the chunks that a
//! read-ahead thread (`chunks`) reads, through a decompressor when the
//! stream is compressed (`compressed`); `classic` parses the classic pcap format's
//! header and records, `pcapng` its blocks, sections and interfaces, both
//! reading fields in the file's `byte_order`; several captures are read as
//! one, in time order, by a [`Merge`] of [`Input`]s (`merge`). Live:
//! [`LiveCapture`] (`live`).

mod byte_order;
mod chunks;
mod classic;
mod compressed;
mod file;
mod live;
mod merge;
mod pcapng;
#[cfg(test)]
mod testing;

pub use compressed::{Compression, XZ_MEMORY_LIMIT};
pub use file::{CaptureReader, Format};
pub use live::{LiveCapture, LiveConfig, LiveStats, DEFAULT_SNAPLEN, DELIVERY_TIMEOUT};
pub use merge::{Input, Merge};
