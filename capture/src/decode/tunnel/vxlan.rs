//! VXLAN (RFC 7348 §5): 8 bytes — flags, 24 reserved bits, the VNI, 8 reserved bits.

use super::be24;

mod field {
    pub const FLAGS: usize = 0;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
}

/// RFC 7348 §5: the I flag says the VNI is valid; without it this is not VXLAN.
const FLAG_I: u8 = 0x08;

/// A checked view of a VXLAN header and the Ethernet frame it carries.
#[derive(Debug, Clone, Copy)]
pub struct Vxlan<'a> {
    buf: &'a [u8],
}

impl<'a> Vxlan<'a> {
    /// A view when `buf` holds a whole header with the I flag set. Without the
    /// flag the datagram is an ordinary UDP flow; a short one is truncated.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, NotVxlan> {
        if buf.len() < field::HEADER_LEN {
            return Err(NotVxlan::Truncated);
        }
        if buf[field::FLAGS] & FLAG_I == 0 {
            return Err(NotVxlan::NoIFlag);
        }
        Ok(Vxlan { buf })
    }

    /// The 24-bit VXLAN Network Identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        be24(self.buf, field::VNI)
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[field::HEADER_LEN..]
    }

    /// Header length (payload offset).
    pub const HEADER_LEN: usize = field::HEADER_LEN;
}

/// Why bytes on a VXLAN port are not decoded as VXLAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotVxlan {
    /// Fewer than 8 bytes captured.
    Truncated,
    /// The I flag is clear.
    NoIFlag,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vxlan_vni_and_payload() {
        // flags I, reserved, VNI 0x00_04_57 (1111), reserved; then 2 payload bytes.
        let bytes = [0x08, 0, 0, 0, 0x00, 0x04, 0x57, 0, 0xaa, 0xbb];
        let v = Vxlan::new_checked(&bytes).unwrap();
        assert_eq!(v.vni(), 1111);
        assert_eq!(v.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn vxlan_without_i_flag_is_not_vxlan() {
        let bytes = [0x00, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(Vxlan::new_checked(&bytes).unwrap_err(), NotVxlan::NoIFlag);
    }

    #[test]
    fn vxlan_short_header_is_truncated() {
        assert_eq!(
            Vxlan::new_checked(&[0x08, 0, 0]).unwrap_err(),
            NotVxlan::Truncated
        );
    }
}
