//! The cut-capture rule (docs/record.md, "Counting"; issue 15) as a property:
//! every packet of every fixture capture, cut at any snaplen that keeps its
//! key, decodes to the key, declared length and observation point of the
//! uncut packet; TCP flags are then those captured (the same, or none). A
//! cut that loses the key is "truncated", never another reason. Packets equal
//! ⇒ records equal: packets, bytes and times come from the key, the declared
//! length and the capture time, which a cut does not touch.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use capture::{
    decode::{decode, Decoded, IpView, Transport},
    source::CaptureReader,
    ErrorKind, Layer, LinkType, RawPacket, Timestamp,
};
use proptest::prelude::*;

/// One packet of the corpus, owned.
struct Packet {
    link: LinkType,
    orig_len: u32,
    data: Vec<u8>,
    origin: String,
}

/// Every packet of every capture in tests/fixtures (read once).
fn corpus() -> &'static [Packet] {
    static CORPUS: OnceLock<Vec<Packet>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .expect("tests/fixtures")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("pcap" | "pcapng")
                )
            })
            .collect();
        paths.sort();
        let mut packets = Vec::new();
        for path in paths {
            let Ok(mut reader) = CaptureReader::open(&path) else {
                continue; // a fixture that is broken on purpose
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut n = 0;
            while let Ok(Some(p)) = reader.next_packet() {
                n += 1;
                packets.push(Packet {
                    link: p.link,
                    orig_len: p.orig_len,
                    data: p.data.to_vec(),
                    origin: format!("{name} packet {n}"),
                });
            }
        }
        assert!(
            packets.len() > 5000,
            "only {} packets in the corpus",
            packets.len()
        );
        packets
    })
}

fn raw(p: &Packet, cut: usize) -> RawPacket<'_> {
    RawPacket {
        ts: Timestamp(0),
        link: p.link,
        interface: 0,
        orig_len: p.orig_len,
        data: &p.data[..cut.min(p.data.len())],
    }
}

/// What a record is keyed and counted on.
#[derive(Debug, PartialEq, Eq)]
struct Key {
    src: Vec<u8>,
    dst: Vec<u8>,
    proto: u8,
    ports: Option<(u16, u16)>,
    icmp: Option<(u8, u8)>,
    mirror: Option<capture::decode::Mirror>,
    ip_len: u32,
    fragment: Option<capture::decode::Fragment>,
}

fn key(d: &Decoded<'_>) -> Key {
    let (src, dst) = match &d.ip {
        IpView::V4(h) => (h.source().to_vec(), h.destination().to_vec()),
        IpView::V6(h) => (h.source().to_vec(), h.destination().to_vec()),
    };
    Key {
        src,
        dst,
        proto: d.proto.0,
        ports: d.transport.ports(),
        icmp: match d.transport {
            Transport::Icmp { icmp_type, code } => Some((icmp_type, code)),
            _ => None,
        },
        mirror: d.mirror,
        ip_len: d.ip_len,
        fragment: d.fragment,
    }
}

/// Where the key ends in the frame: the transport's first 4 bytes (ports) or
/// 2 (ICMP type and code), else the end of the IP headers.
fn key_end(d: &Decoded<'_>, frame: &[u8]) -> usize {
    let payload_at = d.ip_payload.as_ptr() as usize - frame.as_ptr() as usize;
    payload_at
        + match d.transport {
            Transport::Tcp { .. } | Transport::Ports { .. } => 4,
            Transport::Icmp { .. } => 2,
            _ => 0,
        }
}

/// Checks every cut of one packet.
fn check_cuts(p: &Packet) -> Result<(), TestCaseError> {
    let full = decode(&raw(p, usize::MAX));
    let Ok(full) = full else {
        for cut in 0..p.data.len() {
            prop_assert!(
                decode(&raw(p, cut)).is_err(),
                "{}: undecodable whole, decoded cut at {cut}",
                p.origin
            );
        }
        return Ok(());
    };
    let want = key(&full);
    let end = key_end(&full, &p.data);
    for cut in 0..p.data.len() {
        match decode(&raw(p, cut)) {
            Ok(d) => {
                prop_assert!(
                    cut >= end,
                    "{}: decoded cut at {cut} < key end {end}",
                    p.origin
                );
                prop_assert_eq!(&key(&d), &want, "{}: cut at {}", p.origin, cut);
                let flags = d.transport.tcp_flags();
                prop_assert!(
                    flags.is_none() || flags == full.transport.tcp_flags(),
                    "{}: cut at {cut}: flags {flags:?}",
                    p.origin
                );
            }
            Err(e) => {
                // A tunnel header is read before its packet's key is known:
                // a tunnel that did not decode (GRE keepalive, UDP to 6081
                // that is not Geneve) or carried no inner packet (a PPTP
                // GRE acknowledgement) is known to be the outer flow only
                // once its header is read. Cut inside that header, it is
                // truncated (docs/decoding.md, "Limits and bad packets")
                // even though the outer key was captured.
                prop_assert!(
                    cut < end || full.not_peeled.is_some() || e.layer == Layer::Tunnel,
                    "{}: cut at {cut} >= key end {end}: {e}",
                    p.origin
                );
                prop_assert_eq!(
                    e.kind,
                    ErrorKind::Truncated,
                    "{}: cut at {}: {}",
                    p.origin,
                    cut,
                    e
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn any_corpus_packet_cut_anywhere_keeps_its_key_or_is_truncated(
        index in any::<prop::sample::Index>(),
    ) {
        let corpus = corpus();
        check_cuts(&corpus[index.index(corpus.len())])?;
    }
}
