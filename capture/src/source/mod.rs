//! Where packets come from: capture files (and, later, live interfaces).
//!
//! A source lends one [`crate::RawPacket`] at a time from a buffer it reuses;
//! nothing is copied or allocated per packet.

mod file;

pub use file::{CaptureReader, Format};
