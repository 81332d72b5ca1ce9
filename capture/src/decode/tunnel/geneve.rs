//! Geneve (RFC 8926 §3.4): version, option length, flags, protocol type, VNI,
//! then options of variable length (each: class, type, length in 4-byte words).

use super::{be16, be24};

mod field {
    pub const VER_OPTLEN: usize = 0;
    pub const PROTOCOL: usize = 2;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    /// Option header: class (2), type (1), reserved bits + length (1).
    pub const OPTION_HEADER_LEN: usize = 4;
    pub const OPTION_LEN: usize = 3;
}

/// Why a Geneve header cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneveError {
    /// The header or its options are cut by the capture.
    Truncated,
    /// Version other than 0, or an option overrunning the option area.
    Malformed,
}

/// A checked view of a Geneve header, its options skipped by their lengths.
#[derive(Debug, Clone, Copy)]
pub struct Geneve<'a> {
    buf: &'a [u8],
    header_len: usize,
}

impl<'a> Geneve<'a> {
    /// Checks the fixed header and walks the options by class/type/length
    /// (never by fixed offset: Google's options in class 0x0132 vary).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, GeneveError> {
        if buf.len() < field::HEADER_LEN {
            return Err(GeneveError::Truncated);
        }
        if buf[field::VER_OPTLEN] >> 6 != 0 {
            return Err(GeneveError::Malformed);
        }
        let options_len = usize::from(buf[field::VER_OPTLEN] & 0x3f) * 4;
        let header_len = field::HEADER_LEN + options_len;
        if buf.len() < header_len {
            return Err(GeneveError::Truncated);
        }
        let mut options = &buf[field::HEADER_LEN..header_len];
        while !options.is_empty() {
            if options.len() < field::OPTION_HEADER_LEN {
                return Err(GeneveError::Malformed);
            }
            let len = field::OPTION_HEADER_LEN + usize::from(options[field::OPTION_LEN] & 0x1f) * 4;
            options = options.get(len..).ok_or(GeneveError::Malformed)?;
        }
        Ok(Geneve { buf, header_len })
    }

    /// The EtherType-style protocol of the payload (0x6558 Ethernet, 0x0800, 0x86DD).
    #[inline]
    pub fn protocol(&self) -> u16 {
        be16(self.buf, field::PROTOCOL)
    }

    /// The 24-bit Virtual Network Identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        be24(self.buf, field::VNI)
    }

    /// Bytes before the payload (fixed header and options).
    #[inline]
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The encapsulated frame or packet.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.header_len..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geneve_with_options_skips_them_by_length() {
        let bytes = [
            0x03, 0x00, 0x65, 0x58, // ver 0, 3 words of options; Ethernet
            0x00, 0x00, 0x2a, 0x00, // VNI 42
            0x01, 0x32, 0x01, 0x01, // option class 0x0132, type 1, 1 word of data
            1, 2, 3, 4, // option data
            0x01, 0x32, 0x02, 0x00, // option class 0x0132, type 2, no data
            0xee, // payload
        ];
        let g = Geneve::new_checked(&bytes).unwrap();
        assert_eq!((g.protocol(), g.vni(), g.header_len()), (0x6558, 42, 20));
        assert_eq!(g.payload(), &[0xee]);
    }

    #[test]
    fn geneve_option_overrunning_its_area_is_malformed() {
        let bytes = [
            0x01, 0, 0x08, 0, 0, 0, 1, 0, 0x01, 0x32, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            Geneve::new_checked(&bytes).unwrap_err(),
            GeneveError::Malformed
        );
    }

    #[test]
    fn geneve_options_cut_by_capture_are_truncated() {
        let bytes = [0x02, 0, 0x08, 0, 0, 0, 1, 0, 0x01, 0x32];
        assert_eq!(
            Geneve::new_checked(&bytes).unwrap_err(),
            GeneveError::Truncated
        );
    }

    #[test]
    fn geneve_version_1_is_malformed() {
        let bytes = [0x40, 0, 0x65, 0x58, 0, 0, 1, 0];
        assert_eq!(
            Geneve::new_checked(&bytes).unwrap_err(),
            GeneveError::Malformed
        );
    }
}
