//! Errors that stop reading a source (per-packet problems are [`crate::DecodeError`]).

use std::{io, path::PathBuf};

use crate::{source::Compression, LinkType};

/// A failure to open or read a capture source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("cannot read '{path}': {source}")]
    Io {
        /// The source's name.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error(
        "'{path}' is not a pcap or pcapng capture (first bytes {magic:02x?}{})",
        compression.map(|c| format!(" after {c} decompression")).unwrap_or_default()
    )]
    NotACapture {
        /// The source's name.
        path: PathBuf,
        /// The bytes found where the magic number should be (decompressed).
        magic: Vec<u8>,
        /// The compression the source was read through, if any.
        compression: Option<Compression>,
    },
    /// A classic pcap whose link type mirrorflow does not decode.
    #[error("unsupported link type {link} in '{path}'")]
    UnsupportedLinkType {
        /// The source's name.
        path: PathBuf,
        /// The link type in the file header.
        link: LinkType,
    },
    /// The file ends in the middle of a header or a packet.
    #[error("'{path}' is truncated at byte offset {offset}: {what}")]
    Truncated {
        /// The source's name.
        path: PathBuf,
        /// Offset of the record or block that is cut short.
        offset: u64,
        /// What was being read.
        what: &'static str,
    },
    /// A header or block contradicts itself (a length that lies, a bad magic).
    #[error("'{path}' is corrupt at byte offset {offset}: {what}")]
    Corrupt {
        /// The source's name.
        path: PathBuf,
        /// Offset of the offending record or block.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// A compressed capture whose compressed stream is damaged or cut short.
    #[error("'{path}' is damaged at byte offset {offset} of the decompressed capture: {format} stream: {message}")]
    Decompress {
        /// The source's name.
        path: PathBuf,
        /// The compression format.
        format: Compression,
        /// Bytes of the capture decompressed before the damage.
        offset: u64,
        /// The decoder's message.
        message: String,
    },
    /// `live -i NAME` names no interface of this host (or network namespace).
    #[error("no interface '{name}' here (interfaces: {}); `ip link` lists them", available.join(", "))]
    NoSuchInterface {
        /// The name given.
        name: String,
        /// The interfaces libpcap can open.
        available: Vec<String>,
    },
    /// The process may not open a packet socket.
    #[error("no permission to capture on '{interface}' ({message}): run as root, or grant the capabilities once with `sudo setcap cap_net_raw,cap_net_admin+eip \"$(command -v mirrorflow)\"`")]
    Permission {
        /// The interface.
        interface: String,
        /// libpcap's message.
        message: String,
    },
    /// A live interface whose link type mirrorflow does not decode.
    #[error("interface '{interface}' has link type {link} ({name}), which mirrorflow does not decode: capture on an Ethernet, raw-IP, Linux cooked (`-i any`), 802.11 monitor-mode or `nflog:N` interface, or on the interface the mirror arrives on")]
    UnsupportedInterfaceLink {
        /// The interface.
        interface: String,
        /// Its link type (libpcap's DLT value).
        link: LinkType,
        /// libpcap's name for it.
        name: String,
    },
    /// `--bpf` did not compile.
    #[error("bad --bpf filter '{filter}': {message}")]
    Filter {
        /// The expression given.
        filter: String,
        /// libpcap's message.
        message: String,
    },
    /// libpcap failed to open or read a live interface.
    #[error("capture on '{interface}' failed: {cause}")]
    Live {
        /// The interface.
        interface: String,
        /// libpcap's error (in the message, so not also a `source`).
        cause: pcap::Error,
    },
}

impl Error {
    /// Damage inside a capture (or its compressed stream) that was otherwise
    /// readable: the run goes on with what was read before it and ends with
    /// exit status 2 (docs/cli.md).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Error::Truncated { .. } | Error::Corrupt { .. } | Error::Decompress { .. }
        )
    }
}
