//! Fuzz target `replay`: the whole replay path on arbitrary files — read,
//! decode, clock, observer (with dedup), two shards with a tiny flow budget
//! (so that partial records happen), merge, NDJSON, as `flowagg::Aggregator`
//! runs them on one thread. Checks that every packet counted comes out in
//! some record and that every line is JSON.
#![no_main]

use std::cell::RefCell;

use capture::{decode::decode, source::CaptureReader};
use export::{NdjsonWriter, RunInfo};
use flowagg::{AggConfig, Aggregator, FlowRecord, LocalShards, ObservationPoints};
use libfuzzer_sys::fuzz_target;

const SHARDS: usize = 2;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) =
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(data.to_vec())), "fuzz".into())
    else {
        return;
    };
    let config = AggConfig {
        interval_secs: 1,
        lateness_secs: 0,
        max_flows: 8,
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
    while let Ok(Some(packet)) = reader.next_packet() {
        aggregator.packet(&packet, decode(&packet).ok().as_ref());
    }
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
});
