//! MPLS label stacks (RFC 3032). etherparse has no MPLS support.

use super::{DecodeError, ErrorKind, Layer, Next, MAX_TAGS};

/// One label stack entry: label (20 bits), TC (3), bottom of stack (1), TTL (8).
const LABEL_LEN: usize = 4;
const BOTTOM_OF_STACK: u8 = 0x01;

/// Walks the label stack to its bottom; what follows is told apart by the
/// version nibble (RFC 4385's pseudowire control word starts with 0, so it is
/// not IP).
pub fn label_stack(data: &[u8]) -> Result<(Next, usize), DecodeError> {
    for depth in 0..MAX_TAGS {
        let at = depth * LABEL_LEN;
        let entry = data.get(at..at + LABEL_LEN).ok_or(DecodeError::new(
            Layer::Mpls,
            ErrorKind::Truncated,
            at,
        ))?;
        if entry[2] & BOTTOM_OF_STACK != 0 {
            return Ok((Next::IpByVersion, at + LABEL_LEN));
        }
    }
    Err(DecodeError::new(
        Layer::Mpls,
        ErrorKind::TooDeep,
        MAX_TAGS * LABEL_LEN,
    ))
}
