//! 802.11 data frames (IEEE 802.11-2020 §9.2, §9.3.2), up to the EtherType
//! their LLC/SNAP header carries.
//!
//! Only data frames carry IP. Management and control frames, data frames
//! without a body (Null, QoS Null), protected frames (their body is
//! encrypted) and A-MSDU aggregates are not IP. Every length is checked
//! against the captured bytes; nothing here panics or allocates.

use super::{ether, link::error, DecodeError, ErrorKind, Layer, Next};

/// Frame control (2), duration (2), three addresses (18), sequence control (2).
const HEADER_LEN: usize = 24;
/// The fourth address, present when both To DS and From DS are set (WDS).
const ADDR4_LEN: usize = 6;
const QOS_LEN: usize = 2;
/// HT Control, present in QoS data frames whose Order bit is set.
const HT_CONTROL_LEN: usize = 4;

/// Frame control, first byte: protocol version (bits 0-1), type (2-3),
/// subtype (4-7). Type 2 is data; subtype bit 3 is QoS, bit 2 "no data".
const TYPE_DATA: u8 = 2;
const SUBTYPE_QOS: u8 = 0x8;
const SUBTYPE_NO_DATA: u8 = 0x4;
/// Frame control, second byte.
const TO_DS: u8 = 0x01;
const FROM_DS: u8 = 0x02;
const PROTECTED: u8 = 0x40;
const ORDER: u8 = 0x80;
/// QoS Control, first byte: the body is an A-MSDU.
const QOS_AMSDU: u8 = 0x80;
/// A padded header (radiotap's data-pad flag) ends on a 4-byte boundary.
const PAD_TO: usize = 4;

/// An 802.11 frame: what its body carries and where the body starts.
/// `padded`: the radio header says the MAC header is padded to 4 bytes.
pub fn data_frame(data: &[u8], padded: bool) -> Result<(Next, usize), DecodeError> {
    let fc = data.get(..2).ok_or(error(ErrorKind::Truncated, 0))?;
    let (fc0, flags) = (fc[0], fc[1]);
    if fc0 & 0x03 != 0 {
        // Protocol version 0 is the only one these link types carry.
        return Err(error(ErrorKind::Malformed, 0));
    }
    let subtype = fc0 >> 4;
    if (fc0 >> 2) & 0x03 != TYPE_DATA || subtype & SUBTYPE_NO_DATA != 0 || flags & PROTECTED != 0 {
        return Ok((Next::NotIp, 0));
    }
    let mut len = HEADER_LEN;
    if flags & (TO_DS | FROM_DS) == TO_DS | FROM_DS {
        len += ADDR4_LEN;
    }
    if subtype & SUBTYPE_QOS != 0 {
        let qos = *data.get(len).ok_or(error(ErrorKind::Truncated, 0))?;
        if qos & QOS_AMSDU != 0 {
            return Ok((Next::NotIp, 0));
        }
        len += QOS_LEN;
        if flags & ORDER != 0 {
            len += HT_CONTROL_LEN;
        }
    }
    if padded {
        len = len.next_multiple_of(PAD_TO);
    }
    if data.len() < len {
        return Err(error(ErrorKind::Truncated, 0));
    }
    let (next, llc_len) = ether::llc(&data[len..], Layer::Link).map_err(|e| e.at(len))?;
    Ok((next, len + llc_len))
}
