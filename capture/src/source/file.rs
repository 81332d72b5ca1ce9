//! Streaming reader for classic pcap and pcapng capture files: the buffer
//! it walks over the read-ahead chunks, and what it lends. The formats'
//! own parsing is in [`super::classic`] and [`super::pcapng`].
//!
//! # Contract
//!
//! * **Streaming, read ahead, no per-packet allocation.** A thread named
//!   `read-ahead` makes large sequential `read()` calls (1 MiB) into reused
//!   chunks ([`super::chunks`]); the reader takes each chunk as its buffer and
//!   [`CaptureReader::next_packet`] lends a [`RawPacket`] whose `data` borrows
//!   it. The only per-packet work besides parsing is copying the start of a
//!   record that straddles two chunks into the room before the next chunk's
//!   data.
//! * **Bounded memory.** Lengths claimed by the file are checked *before* the
//!   buffer grows: a classic pcap record may hold at most
//!   [`MAX_PCAP_RECORD`] bytes and a pcapng block at most [`MAX_BLOCK`]
//!   bytes, so a buffer grown for one record never exceeds 16 MiB whatever
//!   the file says. Besides it, at most [`DEPTH`] + 3 chunks of 1.25 MiB
//!   exist. At most [`MAX_INTERFACES`](super::pcapng::MAX_INTERFACES)
//!   interfaces are kept per pcapng section.
//! * **Never panics, never loops forever.** Every block or record either
//!   advances the read position by at least 12 bytes or ends the stream; after
//!   the first error (or the clean end) `next_packet` returns `Ok(None)`.
//! * **What errors mean.** [`Error::NotACapture`]: the first bytes are not a
//!   pcap/pcapng header (also an empty or too-short file).
//!   [`Error::UnsupportedLinkType`]: a classic pcap whose single link type
//!   cannot be decoded (pcapng packets on such interfaces are still returned
//!   with their link type; the caller counts and skips them).
//!   [`Error::Truncated`]: the data ends inside a record or block; `offset` is
//!   where that record or block starts. [`Error::Corrupt`]: a header
//!   contradicts itself (impossible length, mismatched trailer, packet for an
//!   interface never described); `offset` is where the offending record or
//!   block starts. [`Error::Io`]: the underlying reader failed.

use std::{
    fmt,
    fs::File,
    io::{self, Read},
    mem,
    ops::Range,
    path::{Path, PathBuf},
    sync::{atomic::AtomicBool, Arc},
};

use super::{
    byte_order::{array, ByteOrder},
    chunks::{Chunk, Chunks},
    classic::{LengthOrder, MAX_PCAP_RECORD, PCAP_RECORD_HEADER_LEN},
    compressed::{self, Compression, Damaged, SourceState},
    pcapng::{Interface, BT_SHB, MAX_BLOCK},
};
use crate::{Error, LinkType, RawPacket, Timestamp};

/// Bytes per `read()` of the read-ahead thread. Measured on a 1.5 GB pcap of
/// full-size packets: 256 KiB chunks walked 10% slower than 1 MiB, 4 MiB ones
/// made replays slower and grew the resident set by 20 MB.
pub(super) const CHUNK: usize = 1 << 20;

/// Chunks read ahead of the parser: 2, 3 and 4 ran at the same speed, 2 uses
/// the least memory.
const DEPTH: usize = 2;

/// Most bytes the buffer ever grows to: one maximal pcapng block.
pub(super) const MAX_BUFFER: usize = MAX_BLOCK as usize;

/// Free bytes before each chunk's data, where the start of a record cut by
/// the chunk's edge is put: any classic pcap record fits, so only pcapng
/// blocks over 256 KiB are copied into a grown buffer instead.
pub(super) const HEADROOM: usize = PCAP_RECORD_HEADER_LEN + MAX_PCAP_RECORD as usize;

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format (µs or ns timestamps, either byte order).
    Pcap,
    /// pcapng (one or more sections, any number of interfaces).
    Pcapng,
}

/// One packet found in the buffer, before it is lent out as a [`RawPacket`]
/// (kept as a range so that the parsing code holds no borrow of the buffer).
pub(super) struct PacketMeta {
    pub(super) ts: Timestamp,
    pub(super) link: LinkType,
    pub(super) interface: u32,
    pub(super) orig_len: u32,
    pub(super) data: Range<usize>,
}

/// A streaming pcap / pcapng reader over any byte source.
///
/// ```no_run
/// # use capture::source::CaptureReader;
/// let mut reader = CaptureReader::open("trace.pcapng".as_ref())?;
/// while let Some(packet) = reader.next_packet()? {
///     println!("{} {} bytes", packet.ts.nanos(), packet.data.len());
/// }
/// # Ok::<(), capture::Error>(())
/// ```
pub struct CaptureReader {
    chunks: Chunks,
    pub(super) name: PathBuf,
    pub(super) format: Format,
    /// The compression of the source, if it was compressed.
    compression: Option<Compression>,
    /// A compressed source's reading, for progress.
    source: Option<Arc<SourceState>>,
    /// The current chunk (or a buffer grown for a large record);
    /// `buf[start..end]` holds unconsumed file bytes.
    pub(super) buf: Vec<u8>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// File offset of `buf[end]`: the bytes taken from the chunks so far.
    taken: u64,
    /// The stream ended: no more chunks will come.
    eof: bool,
    /// The clean end or an error was reported: lend nothing more.
    done: bool,
    /// Byte order of the pcap file or of the current pcapng section.
    pub(super) order: ByteOrder,
    /// Classic pcap: the file's link type.
    pub(super) pcap_link: LinkType,
    /// Classic pcap: nanoseconds per unit of the fraction field (1000 or 1).
    pub(super) pcap_frac_nanos: u64,
    /// Classic pcap: order of the length fields (file version).
    pub(super) pcap_lengths: LengthOrder,
    /// pcapng: interfaces described so far in the current section.
    pub(super) interfaces: Vec<Interface>,
    /// pcapng: timestamp of the previous packet returned in this section.
    pub(super) last_ts: Timestamp,
    /// The packet the last [`CaptureReader::step`] moved to.
    held: Option<PacketMeta>,
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("bytes_consumed", &self.bytes_consumed())
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens the capture file at `path` and reads its header.
    ///
    /// `-` is an ordinary file name here; standard input goes through
    /// [`CaptureReader::from_reader`].
    pub fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(Box::new(file), path.to_path_buf())
    }

    /// Reads a capture from any byte stream (e.g. standard input), naming it
    /// `name` in errors. A stream compressed with gzip, zstd, xz, bzip2 or
    /// LZ4 (recognised by its magic bytes) is decompressed as it is read.
    /// Reads the file header (pcapng: the first Section Header Block) before
    /// returning. The stream is read and decompressed on a thread of its
    /// own, which stops when the reader is dropped.
    pub fn from_reader(reader: Box<dyn Read + Send>, name: PathBuf) -> Result<Self, Error> {
        Self::with_chunk(reader, name, CHUNK, HEADROOM)
    }

    /// [`CaptureReader::from_reader`] with chosen chunk and headroom sizes
    /// (tests use tiny ones to cut records at every chunk edge).
    fn with_chunk(
        reader: Box<dyn Read + Send>,
        name: PathBuf,
        chunk: usize,
        headroom: usize,
    ) -> Result<Self, Error> {
        let io_error = |source| Error::Io {
            path: name.clone(),
            source,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let opened = compressed::open(reader, Arc::clone(&stop)).map_err(io_error)?;
        let chunks =
            Chunks::spawn(opened.reader, chunk, headroom, DEPTH, stop).map_err(io_error)?;
        let mut r = CaptureReader {
            chunks,
            name,
            format: Format::Pcap,
            compression: opened.compression,
            source: opened.source,
            buf: Vec::new(),
            start: 0,
            end: 0,
            taken: 0,
            eof: false,
            done: false,
            order: ByteOrder::Little,
            pcap_link: LinkType(0),
            pcap_frac_nanos: 1_000,
            pcap_lengths: LengthOrder::Standard,
            interfaces: Vec::new(),
            last_ts: Timestamp(0),
            held: None,
        };
        if !r.fill(4)? {
            return Err(r.not_a_capture());
        }
        let magic: [u8; 4] = array(&r.buf, r.start);
        if magic == BT_SHB.to_le_bytes() {
            r.format = Format::Pcapng;
            r.open_pcapng()?;
        } else if let Some(order) = ByteOrder::detect(magic, 0xA1B2_C3D4) {
            r.open_pcap(order, 1_000)?;
        } else if let Some(order) = ByteOrder::detect(magic, 0xA1B2_3C4D) {
            r.open_pcap(order, 1)?;
        } else {
            return Err(r.not_a_capture());
        }
        Ok(r)
    }

    /// The next packet, or `Ok(None)` at the clean end of the capture.
    ///
    /// After an error (or the end) every further call returns `Ok(None)`.
    /// The packet borrows the reader's buffer until the next call.
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, Error> {
        Ok(match self.step()? {
            Some(_) => self.packet(),
            None => None,
        })
    }

    /// Moves to the next packet and returns its time, or `Ok(None)` at the
    /// clean end; [`CaptureReader::packet`] lends it. Lets a caller merging
    /// several captures look at the time of each one's next packet while
    /// holding it. Errors and the end as [`CaptureReader::next_packet`].
    #[inline]
    pub fn step(&mut self) -> Result<Option<Timestamp>, Error> {
        self.held = None;
        if self.done {
            return Ok(None);
        }
        let next = match self.format {
            Format::Pcap => self.next_pcap(),
            Format::Pcapng => self.next_pcapng(),
        };
        match next {
            Ok(Some(m)) => {
                let ts = m.ts;
                self.held = Some(m);
                Ok(Some(ts))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// The packet the last [`CaptureReader::step`] moved to, if it found one.
    #[inline]
    pub fn packet(&self) -> Option<RawPacket<'_>> {
        self.held.as_ref().map(|m| RawPacket {
            ts: m.ts,
            link: m.link,
            interface: m.interface,
            orig_len: m.orig_len,
            data: self.buf.get(m.data.clone()).unwrap_or_default(),
        })
    }

    /// The container format detected at open.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The compression the source was read through, if any.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Offset in the capture (decompressed, if it was compressed) just past
    /// the last record or block consumed: the end of the last packet
    /// returned, or of the header right after open.
    pub fn bytes_consumed(&self) -> u64 {
        self.offset()
    }

    /// Bytes of the source read so far, to set against its size for
    /// progress: [`CaptureReader::bytes_consumed`], or for a compressed
    /// source the compressed bytes its decoder has taken (a little ahead
    /// of the parser).
    pub fn source_bytes_read(&self) -> u64 {
        self.source
            .as_ref()
            .map_or_else(|| self.offset(), |s| s.bytes_read())
    }

    /// The name given at open (the path, or e.g. `-` for standard input).
    pub fn name(&self) -> &Path {
        &self.name
    }

    // ---- buffer management -------------------------------------------------

    /// File offset of `buf[start]`.
    #[inline]
    pub(super) fn offset(&self) -> u64 {
        self.taken - (self.end - self.start) as u64
    }

    /// Makes `buf[start..start + need]` valid; `Ok(false)` if the stream ends
    /// first. `need` must be at most [`MAX_BUFFER`] (callers check lengths
    /// read from the file before asking).
    #[inline]
    pub(super) fn fill(&mut self, need: usize) -> Result<bool, Error> {
        if self.end - self.start >= need {
            Ok(true)
        } else {
            self.refill(need)
        }
    }

    #[inline(never)]
    fn refill(&mut self, need: usize) -> Result<bool, Error> {
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            match self.chunks.next() {
                Ok(Some(chunk)) => self.take(chunk, need),
                Ok(None) => self.eof = true,
                Err(source) => return Err(self.read_failed(source)),
            }
        }
        Ok(true)
    }

    /// Appends a chunk's bytes to `buf[start..end]`. When those fit in the
    /// room before the chunk's data, the chunk becomes the buffer and only
    /// they are copied; otherwise (a record larger than the room) the chunk
    /// is copied into a buffer grown for `need`, as far as it fits.
    fn take(&mut self, mut chunk: Chunk, need: usize) {
        let tail = self.end - self.start;
        if let Some(at) = chunk.data.start.checked_sub(tail) {
            chunk.buf[at..chunk.data.start].copy_from_slice(&self.buf[self.start..self.end]);
            self.chunks
                .give_back(mem::replace(&mut self.buf, chunk.buf));
            self.start = at;
            self.end = chunk.data.end;
            self.taken += chunk.data.len() as u64;
            return;
        }
        self.make_room(need);
        // At least one byte: `need` fits the buffer and is more than `tail`.
        let n = chunk.data.len().min(self.buf.len() - self.end);
        let from = chunk.data.start..chunk.data.start + n;
        self.buf[self.end..self.end + n].copy_from_slice(&chunk.buf[from]);
        self.end += n;
        self.taken += n as u64;
        chunk.data.start += n;
        if chunk.data.is_empty() {
            self.chunks.give_back(chunk.buf);
        } else {
            self.chunks.unread(chunk);
        }
    }

    /// Moves `buf[start..end]` to the front and grows the buffer to at least
    /// `need` bytes.
    fn make_room(&mut self, need: usize) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if need > self.buf.len() {
            debug_assert!(need <= MAX_BUFFER, "unchecked length {need}");
            let len = need.next_power_of_two().clamp(need, MAX_BUFFER.max(need));
            // A fresh zeroed allocation (calloc) rather than `resize`, which
            // would write every new byte.
            let mut bigger = vec![0; len];
            bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
            self.buf = bigger;
        }
    }

    // ---- errors --------------------------------------------------------------

    #[cold]
    pub(super) fn not_a_capture(&self) -> Error {
        let have = &self.buf[self.start..self.end];
        Error::NotACapture {
            path: self.name.clone(),
            magic: have[..have.len().min(4)].to_vec(),
            compression: self.compression,
        }
    }

    /// The read-ahead thread's error: a damaged compressed stream (at the
    /// decompressed offset reached, every byte before it taken), or the
    /// source's own failure.
    #[cold]
    fn read_failed(&self, source: io::Error) -> Error {
        match source.get_ref().and_then(|e| e.downcast_ref::<Damaged>()) {
            Some(damaged) => Error::Decompress {
                path: self.name.clone(),
                format: damaged.format,
                offset: self.taken,
                message: damaged.message.clone(),
            },
            None => Error::Io {
                path: self.name.clone(),
                source,
            },
        }
    }

    #[cold]
    pub(super) fn truncated(&self, offset: u64, what: &'static str) -> Error {
        Error::Truncated {
            path: self.name.clone(),
            offset,
            what,
        }
    }

    #[cold]
    pub(super) fn corrupt(&self, offset: u64, what: String) -> Error {
        Error::Corrupt {
            path: self.name.clone(),
            offset,
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::source::{
        pcapng::{IF_TSOFFSET, IF_TSRESOL},
        testing::{all, payload, reader, trickle, walk, FailAfter, Got, Ng, Pcap},
    };

    #[test]
    fn not_a_capture() {
        let pcap = Pcap::new(true, false, 1).bytes();
        let ng = Ng::new(true).v;
        let cases: [(&[u8], &[u8]); 6] = [
            (&[], &[]),
            (&[0xD4, 0xC3], &[0xD4, 0xC3]),
            (b"GIF89a", b"GIF8"),
            (&pcap[..23], &pcap[..4]), // header cut short
            (&ng[..11], &ng[..4]),     // SHB without its byte-order magic
            (b"\x0a\x0d\x0d\x0a\x1c\0\0\0abcd", b"\x0a\x0d\x0d\x0a"), // bad BOM
        ];
        for (bytes, magic) in cases {
            match reader(bytes) {
                Err(Error::NotACapture { magic: m, .. }) => assert_eq!(m, magic),
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    // ---- buffer handling -----------------------------------------------------

    #[test]
    fn one_byte_reads_give_the_same_packets() {
        let pcap = Pcap::new(true, true, 1)
            .packet(1, 2, &payload(300, 1), 300)
            .packet(3, 4, &payload(1, 2), 1)
            .bytes();
        let ng = Ng::new(false)
            .idb(1, 0, &[])
            .epb(0, 10, &payload(100, 3), 100)
            .spb(7, &payload(7, 4))
            .bytes();
        for bytes in [pcap, ng] {
            let (got, end) = walk(trickle(&bytes));
            assert!(end.is_none());
            assert_eq!(got, all(&bytes));
            assert_eq!(got.len(), 2);
        }
    }

    #[test]
    fn packets_larger_than_the_buffer() {
        // Tiny chunks and headroom: every record straddles chunks and most
        // are copied into a grown buffer.
        let p = Pcap::new(true, false, 1)
            .packet(1, 0, &payload(100, 1), 100)
            .packet(2, 0, &payload(5000, 2), 5000)
            .packet(3, 0, &payload(10, 3), 10);
        let bytes = p.bytes();
        let small = |b: &[u8]| {
            CaptureReader::with_chunk(Box::new(io::Cursor::new(b.to_vec())), "s".into(), 24, 8)
                .unwrap()
        };
        let (got, end) = walk(small(&bytes));
        assert!(end.is_none());
        assert_eq!(got, all(&bytes));
        assert_eq!(got[1].data, payload(5000, 2));

        // A 3 MiB EPB is bigger than a default chunk and its headroom.
        let big = payload(3 << 20, 9);
        let bytes = Ng::new(true)
            .idb(1, 0, &[])
            .epb(0, 1, &[1; 10], 10)
            .epb(0, 2, &big, 3 << 20)
            .epb(0, 3, &[3; 10], 10)
            .bytes();
        let got = all(&bytes);
        assert_eq!(got.len(), 3);
        assert!(got[1].data == big);
        let (got_small, _) = walk(small(&bytes));
        assert_eq!(got_small, got);
    }

    // ---- read-ahead thread ---------------------------------------------------

    /// Reads `bytes` through the read-ahead thread, `chunk` bytes per
    /// `read()` after `headroom` free bytes.
    fn chunked(bytes: &[u8], chunk: usize, headroom: usize) -> CaptureReader {
        let cursor = Box::new(io::Cursor::new(bytes.to_vec()));
        CaptureReader::with_chunk(cursor, "test".into(), chunk, headroom).unwrap()
    }

    /// Each packet with `bytes_consumed` after it, then how the walk ended.
    fn progress(mut r: CaptureReader) -> (Vec<(Got, u64)>, String) {
        let mut got = Vec::new();
        loop {
            let packet = match r.next_packet() {
                Ok(Some(p)) => Got::of(&p),
                end => return (got, format!("{end:?}")),
            };
            got.push((packet, r.bytes_consumed()));
        }
    }

    #[test]
    fn records_cut_at_every_chunk_edge_read_the_same() {
        let pcap = Pcap::new(true, true, 1)
            .packet(1, 2, &payload(30, 1), 30)
            .packet(3, 4, &[], 0)
            .packet(5, 6, &payload(300, 2), 300)
            .packet(7, 8, &payload(17, 3), 99);
        let ng = Ng::new(false)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 10, &payload(200, 4), 200)
            .block(4, false, |b| {
                b.raw(&[0; 4]);
            })
            .spb(17, &payload(17, 5))
            .shb(true)
            .idb(228, 0, &[])
            .opb(0, 12, &payload(3, 6), 3)
            .bytes();
        let mut cut = pcap.bytes();
        cut.truncate(cut.len() - 5);
        let last = pcap.parts[3].start;
        for (bytes, packets, end) in [
            (pcap.bytes(), 4, "Ok(None)".to_string()),
            (ng, 3, "Ok(None)".to_string()),
            (
                cut,
                3,
                format!(
                    "Err(Truncated {{ path: \"test\", offset: {last}, what: \"packet data\" }})"
                ),
            ),
        ] {
            // One chunk holds the whole file: no record straddles two.
            let whole = progress(chunked(&bytes, bytes.len(), 0));
            assert_eq!((whole.0.len(), &whole.1), (packets, &end));
            // Headrooms from none (every straddling record is copied into a
            // grown buffer) to more than any record (only tails are copied).
            for chunk in 1..=48 {
                for headroom in [0, 5, 64, 4096] {
                    let got = progress(chunked(&bytes, chunk, headroom));
                    assert_eq!(got, whole, "chunk {chunk}, headroom {headroom}");
                }
            }
        }
    }

    #[test]
    fn read_error_comes_after_the_packets_before_it() {
        let p = Pcap::new(true, false, 1)
            .packet(1, 0, &payload(100, 1), 100)
            .packet(2, 0, &payload(200, 2), 200)
            .packet(3, 0, &payload(50, 3), 50);
        let bytes = p.bytes();
        let third = p.parts[2].start;
        let failing = |at: usize, chunk: usize| {
            let reader = Box::new(FailAfter(io::Cursor::new(bytes[..at].to_vec())));
            CaptureReader::with_chunk(reader, "failing".into(), chunk, 16)
        };
        let is_the_failure = |e: &Error| {
            matches!(e, Error::Io { path, source }
                if path == Path::new("failing") && source.to_string() == "disk on fire")
        };
        for (at, packets) in [(third, 2), (third + 20, 2), (bytes.len(), 3)] {
            for chunk in [7, 64, CHUNK] {
                let (got, end) = walk(failing(at, chunk).unwrap());
                assert_eq!(got, all(&bytes)[..packets], "at {at}, chunk {chunk}");
                assert!(end.as_ref().is_some_and(is_the_failure), "{end:?}");
            }
        }
        // In the file header.
        assert!(failing(10, CHUNK)
            .err()
            .as_ref()
            .is_some_and(is_the_failure));
    }

    // ---- fuzz-ish ------------------------------------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn random_mutations_never_panic_and_terminate() {
        let pcap = Pcap::new(true, false, 1)
            .packet(1, 2, &payload(40, 1), 40)
            .packet(3, 4, &payload(3, 2), 3)
            .packet(5, 6, &payload(60, 2), 60)
            .bytes();
        let ng = Ng::new(true)
            .idb(
                1,
                96,
                &[
                    (IF_TSRESOL, &[0x80 | 20]),
                    (IF_TSOFFSET, &1i64.to_le_bytes()),
                ],
            )
            .idb(0, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 1, &payload(40, 1), 40)
            .block(4, false, |b| {
                b.raw(&[0; 8]);
            })
            .spb(30, &payload(30, 3))
            .opb(1, 3, &payload(9, 4), 9)
            .shb(false)
            .idb(1, 0, &[])
            .epb(0, 4, &payload(20, 5), 20)
            .bytes();
        let interesting = [
            0,
            1,
            11,
            12,
            13,
            16,
            28,
            32,
            0x7FFF_FFFF,
            0xFFFF_FFFF,
            16 << 20,
            262_145,
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for i in 0..2000 {
            let mut v = if i % 2 == 0 { pcap.clone() } else { ng.clone() };
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 => {
                        let at = rng.below(v.len());
                        v[at] = rng.next() as u8;
                    }
                    1 => {
                        let at = rng.below(v.len() / 4) * 4;
                        let x = interesting[rng.below(interesting.len())];
                        let b = if rng.below(2) == 0 {
                            u32::to_le_bytes
                        } else {
                            u32::to_be_bytes
                        };
                        if at + 4 <= v.len() {
                            v[at..at + 4].copy_from_slice(&b(x));
                        }
                    }
                    2 => {
                        let at = rng.below(v.len());
                        v.truncate(at);
                    }
                    _ => {
                        let at = rng.below(v.len());
                        v[at] ^= 1 << rng.below(8);
                    }
                }
                if v.is_empty() {
                    break;
                }
            }
            let Ok(r) = reader(&v) else { continue };
            let (got, _) = walk(r);
            // Every record is at least 12 bytes: the walk always advances.
            assert!(got.len() <= v.len() / 12 + 1);
            if i % 50 == 0 {
                let (slow, _) = walk(trickle(&v));
                assert_eq!(slow, got);
            }
        }
    }

    // ---- misc ----------------------------------------------------------------

    #[test]
    fn open_reports_io_errors_and_names() {
        let missing = Path::new("/nonexistent/mirrorflow/x.pcap");
        assert!(matches!(
            CaptureReader::open(missing),
            Err(Error::Io { .. })
        ));
        let r = reader(&Pcap::new(true, false, 1).bytes()).unwrap();
        assert_eq!(r.name(), Path::new("test"));
        assert!(format!("{r:?}").contains("Pcap"));
    }

    /// Real captures, when the fixtures folder has them (the packet counts
    /// are tshark's).
    #[test]
    fn real_fixtures_when_present() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/");
        for (name, packets, clean) in [
            ("zeek-pcapng-multi-interface.pcapng", 6, true),
            ("pcapngtest-be-multi-linktype.pcapng", 5, true),
            ("pcapngtest-le-multi-linktype.pcapng", 5, true),
            ("tcpdump-sll-nano-tcp-handshake.pcap", 3, true),
            ("tcpdump-bigendian-pptp-gre.pcap", 23, true),
            ("tcpdump-bigtcp-ipv4-vxlan-ipv4.pcap", 1, true),
            ("ndpi-malformed-fuzz-truncated-midpacket.pcap", 1, false),
        ] {
            let path = PathBuf::from(dir).join(name);
            if !path.exists() {
                continue;
            }
            let (got, end) = walk(CaptureReader::open(&path).unwrap());
            assert_eq!(got.len(), packets, "{name}");
            assert_eq!(end.is_none(), clean, "{name}: {end:?}");
        }
    }
}
