//! The radio headers in front of 802.11 frames: radiotap (LINKTYPE 127) and
//! PPI (LINKTYPE 192). Both state their own length, little-endian; mirrorflow
//! skips them by it and reads only what changes where the packet is: whether
//! the frame keeps its FCS, and whether the 802.11 header is padded.
//!
//! Every length is checked against the captured bytes before use; nothing
//! here panics or allocates.

use super::{link::error, DecodeError, ErrorKind};

/// Version, pad, length (2), first present word (4): radiotap's fixed part.
const RADIOTAP_MIN_LEN: usize = 8;
const RADIOTAP_LEN: core::ops::Range<usize> = 2..4;
const RADIOTAP_PRESENT: usize = 4;
/// A present word with bit 31 set is followed by another present word.
const PRESENT_EXT: u32 = 1 << 31;
/// Present bits of the first word: TSFT (8 bytes, 8-aligned), then Flags (1 byte).
const PRESENT_TSFT: u32 = 1 << 0;
const PRESENT_FLAGS: u32 = 1 << 1;
const TSFT_LEN: usize = 8;
/// Flags: the frame ends with its 4-byte FCS; the 802.11 header is padded
/// to a multiple of 4 (radiotap.org, "Flags").
const FLAG_FCS: u8 = 0x10;
const FLAG_DATA_PAD: u8 = 0x20;
const FCS_LEN: usize = 4;

/// Version, flags, length (2), DLT (4): PPI's packet header.
const PPI_LEN: usize = 8;
const PPI_HEADER_LEN: core::ops::Range<usize> = 2..4;
const PPI_DLT: core::ops::Range<usize> = 4..8;
/// LINKTYPE_IEEE802_11: the only kind of frame behind PPI mirrorflow reads.
const DLT_IEEE802_11: u32 = 105;

/// What a radiotap header says about the 802.11 frame after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Radiotap {
    /// The header's length: where the 802.11 frame starts.
    pub len: usize,
    /// Bytes of FCS at the end of the frame (0 or 4): a trailer.
    pub fcs_len: usize,
    /// The 802.11 header is padded to a multiple of 4 bytes.
    pub data_pad: bool,
}

/// A radiotap header: its length, and the Flags field if present.
pub fn radiotap(data: &[u8]) -> Result<Radiotap, DecodeError> {
    let fixed = data
        .get(..RADIOTAP_MIN_LEN)
        .ok_or(error(ErrorKind::Truncated, 0))?;
    let len = le16(&fixed[RADIOTAP_LEN]);
    // Version 0 is the only one (radiotap.org); a length below the fixed
    // part cannot hold the present word it must have.
    if fixed[0] != 0 || len < RADIOTAP_MIN_LEN {
        return Err(error(ErrorKind::Malformed, 0));
    }
    let header = data.get(..len).ok_or(error(ErrorKind::Truncated, 0))?;
    let word = |at: usize| {
        header
            .get(at..at + 4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    };
    let first = word(RADIOTAP_PRESENT).ok_or(error(ErrorKind::Malformed, 0))?;
    // Extended present words follow while bit 31 is set; the fields start
    // after the last one. Each step reads 4 more bytes inside the header.
    let mut fields = RADIOTAP_PRESENT + 4;
    let mut present = first;
    while present & PRESENT_EXT != 0 {
        present = word(fields).ok_or(error(ErrorKind::Malformed, 0))?;
        fields += 4;
    }
    let mut flags = 0;
    if first & PRESENT_FLAGS != 0 {
        if first & PRESENT_TSFT != 0 {
            // Fields are aligned to their size from the header's start.
            fields = fields.next_multiple_of(TSFT_LEN) + TSFT_LEN;
        }
        flags = *header.get(fields).ok_or(error(ErrorKind::Malformed, 0))?;
    }
    Ok(Radiotap {
        len,
        fcs_len: if flags & FLAG_FCS != 0 { FCS_LEN } else { 0 },
        data_pad: flags & FLAG_DATA_PAD != 0,
    })
}

/// A PPI header: its length, and whether an 802.11 frame follows (any other
/// DLT behind PPI is counted as not IP).
pub fn ppi(data: &[u8]) -> Result<(usize, bool), DecodeError> {
    let fixed = data.get(..PPI_LEN).ok_or(error(ErrorKind::Truncated, 0))?;
    let len = le16(&fixed[PPI_HEADER_LEN]);
    if fixed[0] != 0 || len < PPI_LEN {
        return Err(error(ErrorKind::Malformed, 0));
    }
    if data.len() < len {
        return Err(error(ErrorKind::Truncated, 0));
    }
    let dlt = &fixed[PPI_DLT];
    let dlt = u32::from_le_bytes([dlt[0], dlt[1], dlt[2], dlt[3]]);
    Ok((len, dlt == DLT_IEEE802_11))
}

/// A little-endian 16-bit length from a 2-byte field.
fn le16(field: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([field[0], field[1]]))
}
