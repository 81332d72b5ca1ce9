//! Byte sources, capture-file builders and reading helpers the readers'
//! tests share.

use std::io::{self, Cursor, Read};

use super::{
    file::{CaptureReader, MAX_BUFFER},
    pcapng::{BT_EPB, BT_IDB, BT_OPB, BT_SHB, BT_SPB, BYTE_ORDER_MAGIC},
};
use crate::{Error, RawPacket};

/// Serves its bytes, then fails every `read()` as a disk would.
pub(super) struct FailAfter(pub(super) Cursor<Vec<u8>>);

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf)? {
            0 => Err(io::Error::other("disk on fire")),
            n => Ok(n),
        }
    }
}

/// Bytes written in one byte order.
pub(super) struct Bytes {
    le: bool,
    v: Vec<u8>,
}

impl Bytes {
    pub(super) fn new(le: bool) -> Self {
        Bytes { le, v: Vec::new() }
    }
    pub(super) fn u16(&mut self, x: u16) -> &mut Self {
        let b = if self.le {
            x.to_le_bytes()
        } else {
            x.to_be_bytes()
        };
        self.v.extend_from_slice(&b);
        self
    }
    pub(super) fn u32(&mut self, x: u32) -> &mut Self {
        let b = if self.le {
            x.to_le_bytes()
        } else {
            x.to_be_bytes()
        };
        self.v.extend_from_slice(&b);
        self
    }
    pub(super) fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.v.extend_from_slice(b);
        self
    }
    pub(super) fn pad4(&mut self) -> &mut Self {
        while self.v.len() % 4 != 0 {
            self.v.push(0);
        }
        self
    }
}

/// A record or block of a built file: where it starts and ends, and
/// whether it holds a packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Part {
    pub(super) start: usize,
    end: usize,
    packet: bool,
}

/// A classic pcap file under construction.
pub(super) struct Pcap {
    b: Bytes,
    pub(super) parts: Vec<Part>,
}

impl Pcap {
    /// Global header (pcap §4).
    pub(super) fn new(le: bool, nanos: bool, network: u32) -> Self {
        let mut b = Bytes::new(le);
        b.u32(if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }) // magic
            .u16(2) // version major
            .u16(4) // version minor
            .u32(0) // thiszone
            .u32(0) // sigfigs
            .u32(65535) // snaplen (ignored by the reader)
            .u32(network); // link type (+ FCS bits)
        Pcap {
            b,
            parts: Vec::new(),
        }
    }
    /// Packet record (pcap §5).
    pub(super) fn packet(self, secs: u32, frac: u32, data: &[u8], orig: u32) -> Self {
        self.record(secs, frac, [data.len() as u32, orig], data)
    }
    /// Packet record with the two length fields as given.
    pub(super) fn record(mut self, secs: u32, frac: u32, lengths: [u32; 2], data: &[u8]) -> Self {
        let start = self.b.v.len();
        self.b
            .u32(secs) // ts seconds
            .u32(frac) // ts µs or ns
            .u32(lengths[0]) // captured length (2.4 order)
            .u32(lengths[1]) // original length (2.4 order)
            .raw(data);
        let end = self.b.v.len();
        self.parts.push(Part {
            start,
            end,
            packet: true,
        });
        self
    }
    /// Overwrites the header's version fields.
    pub(super) fn version(mut self, major: u16, minor: u16) -> Self {
        let mut v = Bytes::new(self.b.le);
        v.u16(major).u16(minor);
        self.b.v[4..8].copy_from_slice(&v.v);
        self
    }
    pub(super) fn bytes(&self) -> Vec<u8> {
        self.b.v.clone()
    }
}

/// A pcapng file under construction (byte order chosen per section).
pub(super) struct Ng {
    le: bool,
    pub(super) v: Vec<u8>,
    pub(super) parts: Vec<Part>,
}

impl Ng {
    /// Starts with a Section Header Block.
    pub(super) fn new(le: bool) -> Self {
        Ng {
            le,
            v: Vec::new(),
            parts: Vec::new(),
        }
        .shb(le)
    }
    /// Any block: type, total length, body padded to 4, total length.
    pub(super) fn block(
        mut self,
        block_type: u32,
        packet: bool,
        body: impl FnOnce(&mut Bytes),
    ) -> Self {
        let mut b = Bytes::new(self.le);
        body(&mut b);
        b.pad4();
        let total = 12 + b.v.len() as u32;
        let mut blk = Bytes::new(self.le);
        blk.u32(block_type).u32(total).raw(&b.v).u32(total);
        let start = self.v.len();
        self.v.extend_from_slice(&blk.v);
        self.parts.push(Part {
            start,
            end: self.v.len(),
            packet,
        });
        self
    }
    /// pcapng §4.1 (starts a new section, possibly in another byte order).
    pub(super) fn shb(mut self, le: bool) -> Self {
        self.le = le;
        self.block(BT_SHB, false, |b| {
            b.u32(BYTE_ORDER_MAGIC) // byte-order magic
                .u16(1) // major
                .u16(0) // minor
                .u32(u32::MAX) // section length -1 (unknown), 64 bits
                .u32(u32::MAX);
        })
    }
    /// pcapng §4.2 with options (code, value).
    pub(super) fn idb(self, link: u16, snaplen: u32, options: &[(u16, &[u8])]) -> Self {
        self.block(BT_IDB, false, |b| {
            b.u16(link).u16(0).u32(snaplen);
            if !options.is_empty() {
                for (code, value) in options {
                    b.u16(*code).u16(value.len() as u16).raw(value).pad4();
                }
                b.u16(0).u16(0); // opt_endofopt
            }
        })
    }
    /// pcapng §4.3.
    pub(super) fn epb(self, iface: u32, units: u64, data: &[u8], orig: u32) -> Self {
        self.block(BT_EPB, true, |b| {
            b.u32(iface)
                .u32((units >> 32) as u32) // ts high
                .u32(units as u32) // ts low
                .u32(data.len() as u32) // captured length
                .u32(orig) // original length
                .raw(data);
        })
    }
    /// pcapng Appendix A.
    pub(super) fn opb(self, iface: u16, units: u64, data: &[u8], orig: u32) -> Self {
        self.block(BT_OPB, true, |b| {
            b.u16(iface)
                .u16(7) // drops count
                .u32((units >> 32) as u32)
                .u32(units as u32)
                .u32(data.len() as u32)
                .u32(orig)
                .raw(data);
        })
    }
    /// pcapng §4.4.
    pub(super) fn spb(self, orig: u32, data: &[u8]) -> Self {
        self.block(BT_SPB, true, |b| {
            b.u32(orig).raw(data);
        })
    }
    pub(super) fn bytes(&self) -> Vec<u8> {
        self.v.clone()
    }
    /// A u32 in the current byte order: for hand corruption.
    pub(super) fn word(&self, x: u32) -> [u8; 4] {
        if self.le {
            x.to_le_bytes()
        } else {
            x.to_be_bytes()
        }
    }
}

/// A packet copied out of the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Got {
    pub(super) ts: u64,
    pub(super) link: u16,
    pub(super) interface: u32,
    pub(super) orig_len: u32,
    pub(super) data: Vec<u8>,
}

pub(super) fn reader(bytes: &[u8]) -> Result<CaptureReader, Error> {
    CaptureReader::from_reader(Box::new(Cursor::new(bytes.to_vec())), "test".into())
}

impl Got {
    pub(super) fn of(p: &RawPacket<'_>) -> Got {
        Got {
            ts: p.ts.nanos(),
            link: p.link.0,
            interface: p.interface,
            orig_len: p.orig_len,
            data: p.data.to_vec(),
        }
    }
}

/// All packets, then the error that ended the walk (None: clean end).
/// Also checks that nothing comes after the end or an error.
pub(super) fn walk(mut r: CaptureReader) -> (Vec<Got>, Option<Error>) {
    let mut got = Vec::new();
    let end = loop {
        match r.next_packet() {
            Ok(Some(p)) => got.push(Got::of(&p)),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
        assert!(r.buf.len() <= MAX_BUFFER);
    };
    assert!(matches!(r.next_packet(), Ok(None)));
    assert!(matches!(r.next_packet(), Ok(None)));
    (got, end)
}

pub(super) fn all(bytes: &[u8]) -> Vec<Got> {
    let (got, end) = walk(reader(bytes).unwrap());
    assert!(end.is_none(), "unexpected {end:?}");
    got
}

pub(super) fn err(bytes: &[u8]) -> Error {
    match reader(bytes) {
        Err(e) => e,
        Ok(r) => walk(r).1.expect("an error"),
    }
}

pub(super) fn corrupt_what(e: Error) -> (u64, String) {
    match e {
        Error::Corrupt { offset, what, .. } => (offset, what),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

/// Hands out at most one byte per `read()`, and every other call is
/// `Interrupted`, like a slow pipe with signals.
pub(super) struct Trickle {
    data: Vec<u8>,
    pos: usize,
    interrupt: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        match (self.data.get(self.pos), buf.first_mut()) {
            (Some(b), Some(slot)) => {
                *slot = *b;
                self.pos += 1;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

pub(super) fn trickle(bytes: &[u8]) -> CaptureReader {
    let t = Trickle {
        data: bytes.to_vec(),
        pos: 0,
        interrupt: false,
    };
    CaptureReader::from_reader(Box::new(t), "trickle".into()).unwrap()
}

pub(super) fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub(super) const SEC: u64 = 1_000_000_000;

/// Cuts `bytes` at every offset and checks: the packets wholly before the
/// cut come out, then `Ok(None)` if the cut is on a record boundary, else
/// `Truncated` at the start of the cut record.
pub(super) fn check_every_cut(bytes: &[u8], header_len: usize, parts: &[Part], pcapng: bool) {
    let full = all(bytes);
    assert_eq!(full.len(), parts.iter().filter(|p| p.packet).count());
    for cut in 0..=bytes.len() {
        let head = &bytes[..cut];
        let r = match reader(head) {
            Ok(r) => r,
            Err(e) => {
                assert!(cut < header_len, "cut {cut}: {e:?}");
                match e {
                    Error::NotACapture { .. } => assert!(!pcapng || cut < 12),
                    Error::Truncated { offset: 0, .. } => assert!(pcapng && cut >= 12),
                    other => panic!("cut {cut}: {other:?}"),
                }
                continue;
            }
        };
        assert!(cut >= header_len);
        let (got, end) = walk(r);
        let whole = parts.iter().filter(|p| p.packet && p.end <= cut).count();
        assert_eq!(got, full[..whole], "cut {cut}");
        let open = parts.iter().find(|p| p.start < cut && cut < p.end);
        match (open, end) {
            (None, None) => {}
            (Some(p), Some(Error::Truncated { offset, .. })) => {
                assert_eq!(offset, p.start as u64, "cut {cut}")
            }
            (p, e) => panic!("cut {cut}: part {p:?}, end {e:?}"),
        }
    }
}
