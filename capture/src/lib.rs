//! Packets in, borrowed decoded views out.
//!
//! `capture` reads packets from capture files (classic pcap and pcapng, from a
//! file, a folder or stdin) or from a live interface through libpcap, and
//! decodes every layer a mirror can deliver, tunnels included, down to the
//! innermost IP packet, without copying or allocating per packet.
//!
//! The principal types are [`RawPacket`] (what a source lends for one packet),
//! [`source::CaptureReader`] (a streaming pcap/pcapng reader over a reused
//! buffer), [`source::LiveCapture`] (an interface, with its drop counters),
//! [`decode::decode_with`] and its result [`decode::Decoded`], and
//! [`DecodeError`] (why a packet could not be decoded, counted in
//! [`stats::DecodeStats`], never a run failure).
//!
//! ```
//! use capture::{decode::decode, source::CaptureReader};
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tcpdump-linktype-ipv4.pcap");
//! let mut reader = CaptureReader::open(path.as_ref()).unwrap();
//! let packet = reader.next_packet().unwrap().unwrap();
//! let decoded = decode(&packet).unwrap();
//! assert_eq!(decoded.ip.version(), 4);
//! ```

pub mod decode;
pub mod error;
pub mod source;
pub mod stats;
#[cfg(feature = "synth")]
pub mod synth;
mod types;

pub use decode::{DecodeError, ErrorKind, Layer};
pub use error::Error;
pub use types::{LinkType, RawPacket, Timestamp};
