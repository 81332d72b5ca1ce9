//! ERSPAN types II and III (draft-foschiano-erspan §4.1, §4.3); type I has no
//! header of its own (the Ethernet frame follows GRE directly).

use super::{be16, be32};

mod field {
    pub const VERSION: usize = 0;
    pub const SESSION: usize = 2;
    pub const TYPE2_LEN: usize = 8;
    pub const TIMESTAMP: usize = 4;
    pub const FRAME_TYPE: usize = 10;
    pub const FLAGS: usize = 11;
    pub const TYPE3_LEN: usize = 12;
    /// Platform-specific sub-header present when the O flag is set.
    pub const PLATFORM_LEN: usize = 8;
}

/// Version field values: 1 for type II, 2 for type III.
const VERSION_II: u8 = 1;
const VERSION_III: u8 = 2;
/// Session ID: the low 10 bits of bytes 2–3.
const SESSION_MASK: u16 = 0x03ff;
/// Type III frame types (bits 6..2 of byte 10): 0 Ethernet, 2 IP.
pub const FRAME_ETHERNET: u8 = 0;
/// Type III frame type carrying a bare IP packet.
pub const FRAME_IP: u8 = 2;
const FLAG_OPTIONAL_SUBHEADER: u8 = 0x01;

/// Why an ERSPAN header cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErspanError {
    /// Cut by the capture.
    Truncated,
    /// A version that does not match the GRE protocol type.
    Malformed,
}

/// A checked view of an ERSPAN type II or III header.
#[derive(Debug, Clone, Copy)]
pub struct Erspan<'a> {
    buf: &'a [u8],
    header_len: usize,
}

impl<'a> Erspan<'a> {
    /// Type II: 8 bytes, version 1.
    pub fn new_type2(buf: &'a [u8]) -> Result<Self, ErspanError> {
        Self::checked(buf, VERSION_II, field::TYPE2_LEN)
    }

    /// Type III: 12 bytes, version 2, plus 8 when the O flag is set.
    pub fn new_type3(buf: &'a [u8]) -> Result<Self, ErspanError> {
        let mut view = Self::checked(buf, VERSION_III, field::TYPE3_LEN)?;
        if buf[field::FLAGS] & FLAG_OPTIONAL_SUBHEADER != 0 {
            view.header_len += field::PLATFORM_LEN;
            if buf.len() < view.header_len {
                return Err(ErspanError::Truncated);
            }
        }
        Ok(view)
    }

    fn checked(buf: &'a [u8], version: u8, header_len: usize) -> Result<Self, ErspanError> {
        if buf.len() < header_len {
            return Err(ErspanError::Truncated);
        }
        if buf[field::VERSION] >> 4 != version {
            return Err(ErspanError::Malformed);
        }
        Ok(Erspan { buf, header_len })
    }

    /// The 10-bit session ID.
    #[inline]
    pub fn session_id(&self) -> u32 {
        u32::from(be16(self.buf, field::SESSION) & SESSION_MASK)
    }

    /// Type III only: the frame type (0 Ethernet, 2 IP).
    #[inline]
    pub fn frame_type(&self) -> u8 {
        (self.buf[field::FRAME_TYPE] >> 2) & 0x1f
    }

    /// Type III only: the switch's timestamp, kept aside; never the capture time.
    #[inline]
    pub fn hardware_timestamp(&self) -> u32 {
        be32(self.buf, field::TIMESTAMP)
    }

    /// The mirrored frame.
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

    #[test]
    fn erspan2_session_id() {
        // ver 1, VLAN 0; COS/En/T, session 0x2a5 (677); reserved/index; payload.
        let bytes = [0x10, 0x00, 0x02, 0xa5, 0, 0, 0, 0, 0xff];
        let e = Erspan::new_type2(&bytes).unwrap();
        assert_eq!((e.session_id(), e.header_len()), (677, 8));
        assert_eq!(e.payload(), &[0xff]);
    }

    fn type3(frame_type: u8, o_flag: bool) -> Vec<u8> {
        let mut b = vec![
            0x20,
            0x00,
            0x00,
            0x07, // ver 2, VLAN 0; session 7
            0x12,
            0x34,
            0x56,
            0x78, // timestamp
            0x00,
            0x00,             // SGT
            frame_type << 2,  // P 0, FT, HW ID high bits 0
            u8::from(o_flag), // HW ID low, D, Gra, O
        ];
        if o_flag {
            b.extend_from_slice(&[9; 8]); // platform sub-header
        }
        b.push(0x45);
        b
    }

    #[test]
    fn erspan3_without_and_with_platform_subheader() {
        let plain = type3(FRAME_ETHERNET, false);
        let e = Erspan::new_type3(&plain).unwrap();
        assert_eq!(
            (e.session_id(), e.header_len(), e.frame_type()),
            (7, 12, FRAME_ETHERNET)
        );
        assert_eq!(e.hardware_timestamp(), 0x1234_5678);
        let with_sub = type3(FRAME_IP, true);
        let e = Erspan::new_type3(&with_sub).unwrap();
        assert_eq!((e.header_len(), e.frame_type()), (20, FRAME_IP));
        assert_eq!(e.payload(), &[0x45]);
    }

    #[test]
    fn erspan3_subheader_cut_is_truncated_and_wrong_version_malformed() {
        let cut = &type3(FRAME_ETHERNET, true)[..15];
        assert_eq!(Erspan::new_type3(cut).unwrap_err(), ErspanError::Truncated);
        let mut v1 = type3(FRAME_ETHERNET, false);
        v1[0] = 0x10;
        assert_eq!(Erspan::new_type3(&v1).unwrap_err(), ErspanError::Malformed);
    }
}
