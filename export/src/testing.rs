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
        rtt_usec: None,
        retransmitted_packets: None,
        partial: false,
    }
}

/// An annotator of `local_nets`, `--report-both-ends` and, when given, an
/// inventory file of this text (written to a scratch file named for `test`).
pub(crate) fn annotator(
    test: &str,
    local_nets: &[&str],
    report_both_ends: bool,
    inventory: Option<&str>,
) -> crate::Annotator {
    let path = std::env::temp_dir().join(format!(
        "mirrorflow-export-{}-{test}.csv",
        std::process::id()
    ));
    if let Some(text) = inventory {
        std::fs::write(&path, text).unwrap();
    }
    let annotator = crate::Annotator::load(&crate::AnnotateConfig {
        local_nets: local_nets.iter().map(|n| n.parse().unwrap()).collect(),
        report_both_ends,
        inventory: inventory.map(|_| path.clone()),
        geoip: Vec::new(),
    });
    if inventory.is_some() {
        std::fs::remove_file(&path).unwrap();
    }
    annotator.unwrap()
}

/// A run annotating as [`annotator`] does.
pub(crate) fn annotated_run(
    test: &str,
    local_nets: &[&str],
    report_both_ends: bool,
    inventory: Option<&str>,
) -> crate::RunInfo {
    crate::RunInfo {
        annotator: std::sync::Arc::new(annotator(test, local_nets, report_both_ends, inventory)),
        ..crate::RunInfo::default()
    }
}

/// The record of UDP from 10.0.0.1:5353 to 10.0.0.2:53, as [`record_of`]
/// makes it: two ends of one /8, for the annotation tests.
pub(crate) fn record_10_0_0_1_to_2() -> FlowRecord {
    let mut packet = Vec::new();
    etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5353, 53)
        .write(&mut packet, &[])
        .unwrap();
    record_of(&packet, LinkType::RAW, ObservationPoint::default())
}
