//! Criterion benchmark of decoding one frame to its innermost IP packet and
//! transport key, per frame kind: `cargo bench -p capture --bench decode`.
//! Figures come out as frames/s and ns a frame. The whole-run figures, reading
//! and aggregation included, are in the root's benches/.

use std::hint::black_box;

use capture::{decode::decode, LinkType, RawPacket, Timestamp};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::PacketBuilder;

fn ethernet_tcp4() -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2; 6], [3; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 443, 1, 65535);
    let mut out = Vec::new();
    b.write(&mut out, &[0; 64]).unwrap();
    out
}

fn vlan_udp6() -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2; 6], [3; 6])
        .single_vlan(100.try_into().unwrap())
        .ipv6([1; 16], [2; 16], 64)
        .udp(5353, 53);
    let mut out = Vec::new();
    b.write(&mut out, &[0; 64]).unwrap();
    out
}

fn mpls_ipv4() -> Vec<u8> {
    let inner = {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).udp(1000, 2000);
        let mut out = Vec::new();
        b.write(&mut out, &[0; 64]).unwrap();
        out
    };
    let mut f = vec![2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 0x88, 0x47];
    f.extend_from_slice(&[0x00, 0x01, 0x01, 0x40]); // label 16, bottom of stack, TTL 64
    f.extend_from_slice(&inner);
    f
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    for (name, data) in [
        ("ethernet_tcp4", ethernet_tcp4()),
        ("vlan_udp6", vlan_udp6()),
        ("mpls_ipv4", mpls_ipv4()),
    ] {
        let packet = RawPacket {
            ts: Timestamp(0),
            link: LinkType::ETHERNET,
            interface: 0,
            orig_len: data.len() as u32,
            data: &data,
        };
        group.bench_function(name, |b| b.iter(|| decode(black_box(&packet)).is_ok()));
    }
    group.finish();
}

criterion_group!(benches, bench_decode);
criterion_main!(benches);
