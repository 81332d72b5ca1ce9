//! GRE (RFC 2784, with RFC 2890's key and sequence number): flags and version,
//! a protocol type, then optional checksum, key and sequence number.

use super::{be16, be32};

mod field {
    pub const FLAGS: usize = 0;
    pub const VERSION: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const BASE_LEN: usize = 4;
    pub const OPTIONAL_LEN: usize = 4;
}

const FLAG_CHECKSUM: u8 = 0x80;
/// RFC 1701's routing present bit; RFC 2784 §2.3 requires it clear.
const FLAG_ROUTING: u8 = 0x40;
const FLAG_KEY: u8 = 0x20;
const FLAG_SEQUENCE: u8 = 0x10;

/// Why a GRE header is not peeled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreError {
    /// The header is cut by the capture.
    Truncated,
    /// Version other than 0 (1 is PPTP's enhanced GRE, not a mirror tunnel)
    /// or RFC 1701 source routing: kept as an ordinary GRE flow.
    NotMirrorGre,
}

/// A checked view of a version-0 GRE header.
#[derive(Debug, Clone, Copy)]
pub struct Gre<'a> {
    buf: &'a [u8],
    header_len: usize,
}

impl<'a> Gre<'a> {
    /// Checks the version and that every optional field present was captured.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, GreError> {
        if buf.len() < field::BASE_LEN {
            return Err(GreError::Truncated);
        }
        let flags = buf[field::FLAGS];
        if buf[field::VERSION] & 0x07 != 0 || flags & FLAG_ROUTING != 0 {
            return Err(GreError::NotMirrorGre);
        }
        let optional = [FLAG_CHECKSUM, FLAG_KEY, FLAG_SEQUENCE]
            .iter()
            .filter(|&&f| flags & f != 0)
            .count();
        let header_len = field::BASE_LEN + optional * field::OPTIONAL_LEN;
        if buf.len() < header_len {
            return Err(GreError::Truncated);
        }
        Ok(Gre { buf, header_len })
    }

    /// The EtherType of the payload.
    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(self.buf, field::PROTOCOL)
    }

    /// The key (RFC 2890 §2.1), after the checksum word when that is present.
    #[inline]
    pub fn key(&self) -> Option<u32> {
        let flags = self.buf[field::FLAGS];
        if flags & FLAG_KEY == 0 {
            return None;
        }
        let at = field::BASE_LEN
            + if flags & FLAG_CHECKSUM != 0 {
                field::OPTIONAL_LEN
            } else {
                0
            };
        Some(be32(self.buf, at))
    }

    /// Whether a sequence number is present (tells ERSPAN type I from II).
    #[inline]
    pub fn has_sequence(&self) -> bool {
        self.buf[field::FLAGS] & FLAG_SEQUENCE != 0
    }

    /// The payload.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len..]
    }

    /// Bytes before the payload.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRE header with the given flags, protocol 0x0800, and optional words
    /// 0x11111111 (checksum), 0x22222222 (key), 0x33333333 (sequence) as flagged.
    fn gre(flags: u8) -> Vec<u8> {
        let mut b = vec![flags, 0x00, 0x08, 0x00];
        for (flag, word) in [
            (FLAG_CHECKSUM, 0x11),
            (FLAG_KEY, 0x22),
            (FLAG_SEQUENCE, 0x33),
        ] {
            if flags & flag != 0 {
                b.extend_from_slice(&[word; 4]);
            }
        }
        b.push(0x45); // first payload byte
        b
    }

    #[test]
    fn gre_every_flag_combination_finds_key_and_payload() {
        for c in [0, FLAG_CHECKSUM] {
            for k in [0, FLAG_KEY] {
                for s in [0, FLAG_SEQUENCE] {
                    let bytes = gre(c | k | s);
                    let g = Gre::new_checked(&bytes).unwrap();
                    let words = [c, k, s].iter().filter(|f| **f != 0).count();
                    assert_eq!(g.header_len(), 4 + 4 * words, "flags {:#x}", c | k | s);
                    assert_eq!(g.key(), (k != 0).then_some(0x2222_2222));
                    assert_eq!(g.has_sequence(), s != 0);
                    assert_eq!(g.protocol(), 0x0800);
                    assert_eq!(g.payload(), &[0x45]);
                }
            }
        }
    }

    #[test]
    fn gre_version_1_and_routing_are_not_peeled() {
        assert_eq!(
            Gre::new_checked(&[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0]).unwrap_err(),
            GreError::NotMirrorGre
        );
        assert_eq!(
            Gre::new_checked(&[0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0]).unwrap_err(),
            GreError::NotMirrorGre
        );
    }

    #[test]
    fn gre_key_cut_by_capture_is_truncated() {
        assert_eq!(
            Gre::new_checked(&[0x20, 0x00, 0x08, 0x00, 0x22]).unwrap_err(),
            GreError::Truncated
        );
    }
}
