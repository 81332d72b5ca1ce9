//! What the writers' tests share.

use capture::{
    decode::{Decap, DecodeConfig},
    LinkType, Timestamp,
};
use flowagg::{FlowKey, FlowRecord, Interval, ObsId, ObservationPoint};

/// The record of the flow of one packet at `observation`, so that the key
/// is a real one (tunnels are not peeled: UDP to 4789 or 6081 is a flow of
/// its own), in the 5 s interval of 1 700 000 003 s, with a byte count past
/// 2^32 and a last packet at the interval's last nanosecond. Tests set the
/// other counts.
pub(crate) fn record_of(
    packet: &[u8],
    link: LinkType,
    observation: ObservationPoint,
) -> FlowRecord {
    let raw = capture::RawPacket {
        ts: Timestamp(0),
        link,
        interface: 0,
        orig_len: packet.len() as u32,
        data: packet,
    };
    let config = DecodeConfig::new(Decap::None, &[]).unwrap();
    let decoded = capture::decode::decode_with(&raw, &config).unwrap();
    FlowRecord {
        interval: Interval::containing(Timestamp::from_parts(1_700_000_003, 0), 5),
        observation,
        key: FlowKey::from_decoded(&decoded, ObsId(0)),
        packets: 1,
        bytes: 4_294_967_296_000,
        payload_bytes: 0,
        first: Timestamp::from_parts(1_700_000_003, 0),
        last: Timestamp::from_parts(1_700_000_004, 999_999_999),
        tcp_flags: 0x12,
        partial: false,
    }
}
