//! The byte order a capture file was written in, and reads of its fixed-width
//! fields.
//!
//! Both formats name their writer's byte order by a magic number (pcap §4:
//! the header magic; pcapng §4.1: each section's byte-order magic), so every
//! multi-byte field is read through [`ByteOrder`].

/// Byte order of the file (pcap header magic, pcapng section byte-order magic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order whose writer produced these four bytes for `magic`.
    pub(super) fn detect(bytes: [u8; 4], magic: u32) -> Option<ByteOrder> {
        if bytes == magic.to_le_bytes() {
            Some(ByteOrder::Little)
        } else if bytes == magic.to_be_bytes() {
            Some(ByteOrder::Big)
        } else {
            None
        }
    }

    #[inline]
    pub(super) fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => u16::from_le_bytes(a),
            ByteOrder::Big => u16::from_be_bytes(a),
        }
    }

    #[inline]
    pub(super) fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => u32::from_le_bytes(a),
            ByteOrder::Big => u32::from_be_bytes(a),
        }
    }

    #[inline]
    pub(super) fn i64(self, b: &[u8], at: usize) -> i64 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => i64::from_le_bytes(a),
            ByteOrder::Big => i64::from_be_bytes(a),
        }
    }
}

/// `N` bytes of `b` at `at`. Callers check lengths first; should one ever be
/// wrong this yields zeros (caught by the debug assertion in tests) instead of
/// panicking in a release build.
#[inline]
pub(super) fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    match b.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(a) => *a,
        None => {
            debug_assert!(false, "read of {N} bytes at {at} past {}", b.len());
            [0; N]
        }
    }
}
