//! What the fuzz target `replay` checks, shared by the libFuzzer target and
//! by the integration tests (tests/robustness.rs includes this file with
//! `#[path]` to replay the target's seeds and saved inputs on the stable
//! toolchain). Not in common.rs: it needs flowagg and export, which
//! capture's own tests, which include common.rs, cannot use.
//!
//! The input is a pcap/pcapng file and then [`Choices::LEN`] bytes that
//! choose the flow budget, the lateness and which neighbouring packets are
//! read in swapped order, so that a full budget meets packets out of order,
//! on time (opening an older interval) and late (issue 14).

use std::{cell::RefCell, io::Cursor};

use capture::{decode::decode, source::CaptureReader, RawPacket};
use export::{NdjsonWriter, RunInfo};
use flowagg::{
    AggConfig, Aggregator, FlowRecord, LocalShards, ObservationPoints, DEFAULT_MAX_FLOWS,
};

const SHARDS: usize = 2;

/// What the last bytes of an input choose for its run.
struct Choices {
    /// Flows held at once: 1 to 8, which small captures spend, or the default.
    max_flows: usize,
    /// 0 s, where a packet back across an interval's end is late, or 1 s,
    /// where it may open an older interval.
    lateness_secs: u32,
    /// Bit `i % 24` set: packet `i` is read after packet `i + 1` (unless
    /// it was swapped with packet `i - 1` already).
    swaps: u32,
}

impl Choices {
    /// Bytes at the end of an input that choose; the capture is the rest.
    const LEN: usize = 4;

    /// The choices of `data` and its capture; `None` if it is too short.
    /// The first byte: low nibble the budget (by remainder, 0 the
    /// default), top bit the lateness; the next three the swaps.
    fn split(data: &[u8]) -> Option<(Choices, &[u8])> {
        let (capture, &[knobs, s0, s1, s2]) = data.split_last_chunk::<{ Choices::LEN }>()?;
        let max_flows = match (knobs & 0x0f) % 9 {
            0 => DEFAULT_MAX_FLOWS,
            flows => usize::from(flows),
        };
        let choices = Choices {
            max_flows,
            lateness_secs: u32::from(knobs >> 7),
            swaps: u32::from_le_bytes([s0, s1, s2, 0]),
        };
        Some((choices, capture))
    }

    /// Whether packet `packet` is to be read after the next one.
    fn swapped(&self, packet: usize) -> bool {
        (self.swaps >> (packet % 24)) & 1 == 1
    }
}

/// A packet held back one place: its bytes copied out of the reader's
/// buffer, which the next read reuses.
struct HeldPacket {
    /// The packet but its bytes.
    meta: RawPacket<'static>,
    data: Vec<u8>,
}

impl HeldPacket {
    fn of(packet: &RawPacket<'_>) -> Self {
        HeldPacket {
            meta: RawPacket {
                data: &[],
                ..*packet
            },
            data: packet.data.to_vec(),
        }
    }

    fn packet(&self) -> RawPacket<'_> {
        RawPacket {
            data: &self.data,
            ..self.meta
        }
    }
}

/// Hands the packets of `reader` to `count` up to its end or first error,
/// each pair that `choices` swaps in swapped order.
fn read_reordered(
    reader: &mut CaptureReader,
    choices: &Choices,
    mut count: impl FnMut(&RawPacket<'_>),
) {
    let mut held: Option<HeldPacket> = None;
    let mut index = 0;
    while let Ok(Some(packet)) = reader.next_packet() {
        match held.take() {
            Some(before) if choices.swapped(index - 1) => {
                count(&packet);
                count(&before.packet());
            }
            Some(before) => {
                count(&before.packet());
                held = Some(HeldPacket::of(&packet));
            }
            None => held = Some(HeldPacket::of(&packet)),
        }
        index += 1;
    }
    if let Some(last) = held {
        count(&last.packet());
    }
}

/// Target `replay`: the whole replay path on an arbitrary file, packets
/// reordered as the input chooses — read, decode, clock, observer (with
/// dedup), two shards with the chosen budget, merge, NDJSON, as
/// `flowagg::Aggregator` runs them on one thread. Checks that every packet
/// counted comes out in some record and that every line is JSON.
pub fn replay(data: &[u8]) {
    let Some((choices, capture)) = Choices::split(data) else {
        return;
    };
    let Ok(mut reader) =
        CaptureReader::from_reader(Box::new(Cursor::new(capture.to_vec())), "fuzz".into())
    else {
        return;
    };
    let config = AggConfig {
        interval_secs: 1,
        lateness_secs: choices.lateness_secs,
        max_flows: choices.max_flows,
        dedup_window_nanos: Some(1_000),
        ..AggConfig::default()
    };
    let points = ObservationPoints::default();
    let writer = RefCell::new(NdjsonWriter::new(Vec::new(), RunInfo::default()));
    let written = RefCell::new(0u64);
    let shards = LocalShards::new(&config, &points, SHARDS, |records: &[FlowRecord]| {
        *written.borrow_mut() += records.iter().map(|r| r.packets).sum::<u64>();
        writer.borrow_mut().write(records).unwrap();
    });
    let mut aggregator = Aggregator::new(&config, points, shards);
    read_reordered(&mut reader, &choices, |packet| {
        aggregator.packet(packet, decode(packet).ok().as_ref());
    });
    aggregator.finish();
    let counted = aggregator.counted();
    drop(aggregator);
    assert_eq!(
        written.into_inner(),
        counted,
        "every packet counted is in a record"
    );
    let text = String::from_utf8(writer.into_inner().into_inner()).unwrap();
    for line in text.lines() {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    }
}
