//! Fuzz target `replay`: the whole replay path on arbitrary files — read,
//! decode, clock, observer (with dedup), two shards with a tiny flow budget
//! (so that partial records happen), merge, NDJSON. Checks that every packet
//! counted comes out in some record and that every line is JSON.
#![no_main]

use capture::{decode::decode, source::CaptureReader, Timestamp};
use export::{NdjsonWriter, RunInfo};
use flowagg::{
    merge::{merge_into, shard_of},
    AggConfig, Clock, FlowRecord, ObservationPoints, Observer, Shard,
};
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
    let mut observer = Observer::new(&config, points.clone());
    let mut clock = Clock::new(config.interval_secs, config.lateness_secs);
    let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::new(&config, points.clone())).collect();
    let mut writer = NdjsonWriter::new(Vec::new(), RunInfo::default());
    let (mut closed, mut late) = (vec![Vec::new(); SHARDS], vec![Vec::new(); SHARDS]);
    let mut out: Vec<FlowRecord> = Vec::new();
    let (mut counted, mut written) = (0u64, 0u64);
    let mut emit = |records: &[FlowRecord], written: &mut u64| {
        *written += records.iter().map(|r| r.packets).sum::<u64>();
        writer.write(records).unwrap();
    };
    let mut close = |shards: &mut [Shard], watermark: Timestamp, out: &mut Vec<FlowRecord>| {
        for (i, shard) in shards.iter_mut().enumerate() {
            shard.close(watermark, &mut closed[i], &mut late[i]);
        }
        merge_into(&mut closed, out);
        merge_into(&mut late, out);
    };
    while let Ok(Some(packet)) = reader.next_packet() {
        let tick = clock.tick(packet.ts);
        if let Ok(decoded) = decode(&packet) {
            if let Some(mut obs) = observer.observe(&packet, &decoded) {
                obs.late = tick.late;
                counted += 1;
                let shard = &mut shards[shard_of(obs.hash, SHARDS)];
                shard.push(&obs);
                if let Some(partial) = shard.take_partial() {
                    assert!(partial.iter().all(|r| r.partial));
                    emit(&partial, &mut written);
                }
            }
        }
        if tick.closes {
            close(&mut shards, clock.watermark(), &mut out);
            emit(&out, &mut written);
            out.clear();
        }
    }
    close(&mut shards, Timestamp(u64::MAX), &mut out);
    emit(&out, &mut written);
    assert_eq!(written, counted, "every packet counted is in a record");
    let text = String::from_utf8(writer.into_inner()).unwrap();
    for line in text.lines() {
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    }
});
