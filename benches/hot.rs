//! Criterion benchmarks of the per-packet path (decoding alone is in
//! capture/benches/decode.rs): the flow table, the NDJSON and IPFIX encoders, and read → decode → observe → aggregate over a generated
//! trace larger than the cache. Figures come out as packets/s (elements) or
//! records/s.

use std::io::Cursor;

use capture::{
    decode::decode,
    source::CaptureReader,
    synth::{write_pcap, TraceSpec},
    LinkType, RawPacket, Timestamp,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use etherparse::PacketBuilder;
use export::{
    Destination, IpfixOptions, IpfixWriter, NdjsonWriter, ParquetOptions, ParquetWriter, RunInfo,
};
use flowagg::{
    AggConfig, Aggregator, FlowRecord, LocalShards, Observation, ObservationPoints, Observer, Shard,
};

thread_local! {
    /// One observation-point table for the observer and the shards of a bench.
    static POINTS: ObservationPoints = ObservationPoints::default();
}

/// Observations of `flows` distinct flows, each seen `per_flow` times, in one interval.
/// The points table holds the one observation point, id 0, that all use.
fn observations(flows: u32, per_flow: u32) -> Vec<Observation> {
    let config = AggConfig::default();
    let mut observer = Observer::new(&config, POINTS.with(Clone::clone));
    let mut out = Vec::new();
    for round in 0..per_flow {
        for flow in 0..flows {
            let (src, dst, sport, dport, _) = capture::synth::flow_tuple(flow);
            let b = PacketBuilder::ipv4(src, dst, 64).udp(sport, dport);
            let mut data = Vec::new();
            b.write(&mut data, &[]).unwrap();
            let packet = RawPacket {
                ts: Timestamp(u64::from(round) * 1000 + 1_700_000_000_000_000_000),
                link: LinkType::RAW,
                interface: 0,
                orig_len: data.len() as u32,
                data: &data,
            };
            let decoded = decode(&packet).unwrap();
            out.extend(observer.observe(&packet, &decoded));
        }
    }
    out
}

/// A shard with the default configuration and the bench's points, no flows.
fn empty_shard() -> Shard {
    Shard::new(&AggConfig::default(), POINTS.with(Clone::clone))
}

fn bench_flowagg(c: &mut Criterion) {
    let mut group = c.benchmark_group("flowagg");
    // A hit: one flow, its entry stays in L1.
    let hits = observations(1, 10_000);
    group.throughput(Throughput::Elements(hits.len() as u64));
    group.bench_function("insert_hit", |b| {
        b.iter_batched_ref(
            empty_shard,
            |shard| shard.push_batch(&hits),
            BatchSize::LargeInput,
        )
    });
    // Misses: 1M new flows, a table of ~100 MB, far beyond the cache.
    let misses = observations(1_000_000, 1);
    group.throughput(Throughput::Elements(misses.len() as u64));
    group.sample_size(10);
    group.bench_function("insert_miss", |b| {
        b.iter_batched_ref(
            empty_shard,
            |shard| shard.push_batch(&misses),
            BatchSize::LargeInput,
        )
    });
    // Updates: 1M packets of those 1M flows, held, in a random order: what
    // a run over many flows does most.
    let mut updates = misses.clone();
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..updates.len()).rev() {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        updates.swap(i, (random % (i as u64 + 1)) as usize);
    }
    let mut held = empty_shard();
    held.push_batch(&misses);
    group.bench_function("update_miss", |b| {
        b.iter(|| {
            for batch in updates.chunks(1024) {
                held.push_batch(batch);
            }
        })
    });
    // Closing: the 1M flows of one interval sorted into the spec's order
    // and built into records, what the writer does at every interval's end.
    group.bench_function("close_miss", |b| {
        b.iter_batched_ref(
            || {
                let mut shard = empty_shard();
                shard.push_batch(&updates);
                shard
            },
            |shard| shard.finish_records(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// The records one 5 s interval closes with: `flows` IPv4 flows of the
/// synthetic trace (TCP and UDP), each seen twice at random times in the
/// interval, so the three timestamps of a record mostly fall in different
/// seconds, as in a run.
fn interval_records(flows: u32) -> Vec<FlowRecord> {
    let config = AggConfig::default();
    let mut observer = Observer::new(&config, POINTS.with(Clone::clone));
    let mut shard = Shard::new(&config, POINTS.with(Clone::clone));
    let start = Timestamp::from_parts(1_700_000_000, 0); // a multiple of 5 s
    let span = u64::from(config.interval_secs) * Timestamp::NANOS_PER_SEC;
    let mut random = 0x9e37_79b9_7f4a_7c15_u64;
    for flow in 0..flows {
        let (src, dst, sport, dport, proto) = capture::synth::flow_tuple(flow);
        let ip = PacketBuilder::ipv4(src, dst, 64);
        let mut data = Vec::new();
        match proto {
            6 => ip
                .tcp(sport, dport, 1, 65535)
                .ack(1)
                .write(&mut data, &[0; 100]),
            _ => ip.udp(sport, dport).write(&mut data, &[0; 100]),
        }
        .unwrap();
        for _ in 0..2 {
            // xorshift64: any spread will do, as long as it is not one second.
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let packet = RawPacket {
                ts: Timestamp(start.0 + random % span),
                link: LinkType::RAW,
                interface: 0,
                orig_len: data.len() as u32,
                data: &data,
            };
            let decoded = decode(&packet).unwrap();
            shard.push(&observer.observe(&packet, &decoded).unwrap());
        }
    }
    shard.finish_records()
}

fn bench_ndjson(c: &mut Criterion) {
    let records = interval_records(10_000);
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("ndjson", |b| {
        let mut buf = Vec::with_capacity(4 << 20);
        b.iter(|| {
            buf.clear();
            let mut writer = NdjsonWriter::new(&mut buf, RunInfo::default());
            writer.write(&records).unwrap();
        })
    });
    // A Parquet file of the records, footer, fsync and rename included
    // (docs/design.md, "Measured choices": the encodings per column).
    let dir = std::env::temp_dir().join(format!("mirrorflow-bench-parquet-{}", std::process::id()));
    group.bench_function("parquet", |b| {
        b.iter(|| {
            let _ = std::fs::remove_dir_all(&dir);
            let mut writer =
                ParquetWriter::create(&dir, ParquetOptions::default(), RunInfo::default()).unwrap();
            writer.write(&records).unwrap();
            writer.finish().unwrap();
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    // IPFIX to a local UDP socket that is never read (the kernel drops what
    // overflows it: the cost measured is encoding and sending), and to a file.
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let destinations = [
        (
            "ipfix_udp",
            Destination::Udp(collector.local_addr().unwrap()),
        ),
        ("ipfix_file", Destination::File("/dev/null".into())),
    ];
    for (name, destination) in destinations {
        let mut writer = IpfixWriter::open(
            &destination,
            &IpfixOptions::default(),
            &RunInfo::default(),
            Default::default(),
        )
        .unwrap();
        group.bench_function(name, |b| b.iter(|| writer.write(&records).unwrap()));
    }
    group.finish();
}

fn bench_replay(c: &mut Criterion) {
    // 2M packets of 128 captured bytes over 200k flows: ~300 MB in memory.
    let spec = TraceSpec {
        packets: 2_000_000,
        flows: 200_000,
        ip_len: 1500,
        snaplen: 128,
        ..TraceSpec::default()
    };
    let mut trace = Vec::new();
    write_pcap(&spec, &mut trace).unwrap();
    let trace = std::sync::Arc::new(trace);
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(spec.packets));
    group.sample_size(10);
    group.bench_function("generated", |b| {
        b.iter(|| {
            let config = AggConfig::default();
            let mut reader = CaptureReader::from_reader(
                Box::new(Cursor::new(SharedBytes(trace.clone()))),
                "trace".into(),
            )
            .unwrap();
            let points = ObservationPoints::default();
            let mut records = 0;
            let shards = LocalShards::new(&config, &points, 1, |chunk: &[FlowRecord]| {
                records += chunk.len();
            });
            let mut aggregator = Aggregator::new(&config, points, shards);
            while let Some(packet) = reader.next_packet().unwrap() {
                aggregator.packet(&packet, decode(&packet).ok().as_ref());
            }
            aggregator.finish();
            drop(aggregator);
            records
        })
    });
    group.finish();
}

/// Lets the reader own a cheap handle to the one trace in memory.
struct SharedBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Owned shards against one shared `DashMap`, two threads, the same 1 M
/// observations of 500 k flows: the choice docs/design.md quotes ("Measured choices").
fn bench_sharing(c: &mut Criterion) {
    use flowagg::shard_of;

    let observations = {
        let mut o = observations(500_000, 2);
        // Spread each flow's two packets apart.
        o.sort_by_key(|x| x.hash.rotate_left(17) ^ x.ts.0);
        o
    };
    let mut group = c.benchmark_group("sharing");
    group.throughput(Throughput::Elements(observations.len() as u64));
    group.sample_size(10);
    group.bench_function("owned_shards_2_threads", |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                for me in 0..2 {
                    let observations = &observations;
                    let points = POINTS.with(Clone::clone);
                    scope.spawn(move || {
                        let mut shard = Shard::new(&AggConfig::default(), points);
                        // Each thread owns half the flows, as the reader splits them.
                        for obs in observations.iter().filter(|o| shard_of(o.hash, 2) == me) {
                            shard.push(obs);
                        }
                        shard.open_flows()
                    });
                }
            })
        })
    });
    group.bench_function("shared_dashmap_2_threads", |b| {
        b.iter(|| {
            // Counters as the shard keeps them, the same hash function; the
            // map hashes the key itself (DashMap takes no precomputed hash).
            let map: dashmap::DashMap<flowagg::FlowKey, (u64, u64), foldhash::fast::FixedState> =
                dashmap::DashMap::with_hasher(foldhash::fast::FixedState::with_seed(0));
            std::thread::scope(|scope| {
                for me in 0..2 {
                    let (observations, map) = (&observations, &map);
                    scope.spawn(move || {
                        // Each thread takes every other packet, whatever its flow.
                        for obs in observations.iter().skip(me).step_by(2) {
                            let mut entry = map.entry(obs.key).or_insert((0, 0));
                            entry.0 += 1;
                            entry.1 += u64::from(obs.ip_len);
                        }
                    });
                }
            });
            map.len()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_flowagg,
    bench_ndjson,
    bench_replay,
    bench_sharing
);
criterion_main!(benches);
