//! Streaming reader for classic pcap and pcapng capture files.
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
//!   buffer grows: a classic pcap record may hold at most [`MAX_PCAP_RECORD`]
//!   bytes and a pcapng block at most [`MAX_BLOCK`] bytes, so a buffer grown
//!   for one record never exceeds 16 MiB whatever the file says. Besides it,
//!   at most [`DEPTH`] + 3 chunks of 1.25 MiB exist. At most
//!   [`MAX_INTERFACES`] interfaces are kept per pcapng section.
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
//!
//! Formats: classic pcap per draft-ietf-opsawg-pcap ("pcap" below), pcapng per
//! draft-ietf-opsawg-pcapng ("pcapng §N" below).

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
    chunks::{Chunk, Chunks},
    compressed::{self, Compression, Damaged, SourceState},
};
use crate::{Error, LinkType, RawPacket, Timestamp};

/// Bytes per `read()` of the read-ahead thread. Measured on a 1.5 GB pcap of
/// full-size packets: 256 KiB chunks walked 10% slower than 1 MiB, 4 MiB ones
/// made replays slower and grew the resident set by 20 MB.
const CHUNK: usize = 1 << 20;

/// Chunks read ahead of the parser: 2, 3 and 4 ran at the same speed, 2 uses
/// the least memory.
const DEPTH: usize = 2;

/// Largest classic pcap record accepted (captured bytes). Real snaplens are at
/// most 262144 (libpcap's `MAXIMUM_SNAPLEN`), which also covers 64 KiB frames
/// plus headers and ~80 KB BIG TCP / GSO frames. The header's own snaplen is
/// not trusted: fuzzed files lie in it.
const MAX_PCAP_RECORD: u32 = 262_144;

/// Largest pcapng block accepted (total length, header and trailer included):
/// far above any real block (a maximal packet needs ~256 KiB), small enough
/// that a lying length cannot make the buffer huge.
const MAX_BLOCK: u32 = 16 << 20;

/// Most bytes the buffer ever grows to: one maximal pcapng block.
const MAX_BUFFER: usize = MAX_BLOCK as usize;

/// Free bytes before each chunk's data, where the start of a record cut by
/// the chunk's edge is put: any classic pcap record fits, so only pcapng
/// blocks over 256 KiB are copied into a grown buffer instead.
const HEADROOM: usize = PCAP_RECORD_HEADER_LEN + MAX_PCAP_RECORD as usize;

/// Most interfaces kept per pcapng section (real files have a handful); bounds
/// the interface table of a hostile file made of nothing but IDBs.
const MAX_INTERFACES: usize = 1 << 16;

/// pcap §4: file header length.
const PCAP_HEADER_LEN: usize = 24;
/// pcap §5: packet record header length.
const PCAP_RECORD_HEADER_LEN: usize = 16;

/// pcapng §4.1: Section Header Block type; a palindrome so that it reads the
/// same in either byte order (and so that CR/LF mangling corrupts it).
const BT_SHB: u32 = 0x0A0D_0D0A;
/// pcapng §4.2: Interface Description Block.
const BT_IDB: u32 = 1;
/// pcapng Appendix A: (obsolete) Packet Block.
const BT_OPB: u32 = 2;
/// pcapng §4.4: Simple Packet Block.
const BT_SPB: u32 = 3;
/// pcapng §4.3: Enhanced Packet Block.
const BT_EPB: u32 = 6;
/// pcapng §4.1: byte-order magic as written by the file's writer.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Smallest legal pcapng block: type, length, trailing length (pcapng §3.1).
const MIN_BLOCK: u32 = 12;

/// pcapng §4.2 option codes.
const OPT_ENDOFOPT: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format (µs or ns timestamps, either byte order).
    Pcap,
    /// pcapng (one or more sections, any number of interfaces).
    Pcapng,
}

/// Byte order of the file (pcap header magic, pcapng section byte-order magic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order whose writer produced these four bytes for `magic`.
    fn detect(bytes: [u8; 4], magic: u32) -> Option<ByteOrder> {
        if bytes == magic.to_le_bytes() {
            Some(ByteOrder::Little)
        } else if bytes == magic.to_be_bytes() {
            Some(ByteOrder::Big)
        } else {
            None
        }
    }

    #[inline]
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => u16::from_le_bytes(a),
            ByteOrder::Big => u16::from_be_bytes(a),
        }
    }

    #[inline]
    fn u32(self, b: &[u8], at: usize) -> u32 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => u32::from_le_bytes(a),
            ByteOrder::Big => u32::from_be_bytes(a),
        }
    }

    #[inline]
    fn i64(self, b: &[u8], at: usize) -> i64 {
        let a = array(b, at);
        match self {
            ByteOrder::Little => i64::from_le_bytes(a),
            ByteOrder::Big => i64::from_be_bytes(a),
        }
    }
}

/// `N` bytes of `b` at `at`. Callers check lengths first; should one ever be
/// wrong this yields zeros (caught by the debug assertion in tests) instead of
/// panicking in a release build.
#[inline]
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    match b.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(a) => *a,
        None => {
            debug_assert!(false, "read of {N} bytes at {at} past {}", b.len());
            [0; N]
        }
    }
}

/// Whether a classic pcap record header has its two length fields in the
/// pre-2.3 order (original length first). libpcap (`sf-pcap.c`) and Wireshark
/// read old files this way; fuzzed files with odd versions rely on it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LengthOrder {
    /// Version 2.4 and everything else: captured length, then original.
    Standard,
    /// Versions 2.0-2.2 and DG/UX's 543.0: original length first.
    Swapped,
    /// Version 2.3, written both ways: swapped when the captured length
    /// exceeds the original one.
    Ambiguous,
}

impl LengthOrder {
    fn for_version(major: u16, minor: u16) -> LengthOrder {
        match (major, minor) {
            (2, 0..=2) | (543, 0) => LengthOrder::Swapped,
            (2, 3) => LengthOrder::Ambiguous,
            _ => LengthOrder::Standard,
        }
    }

    /// (captured length, original length) from the two fields as stored.
    #[inline]
    fn lengths(self, first: u32, second: u32) -> (u32, u32) {
        match self {
            LengthOrder::Standard => (first, second),
            LengthOrder::Ambiguous if first <= second => (first, second),
            LengthOrder::Swapped | LengthOrder::Ambiguous => (second, first),
        }
    }
}

/// How a pcapng interface's timestamp units convert to nanoseconds, decided
/// once per IDB so the per-packet work is one multiply, divide or shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Units of 10^-v s with v <= 9: multiply by 10^(9-v).
    Mul(u64),
    /// Units of 10^-v s with 9 < v <= 28: divide by 10^(v-9) (nonzero).
    Div(u64),
    /// Units of 10^-v s with v > 28: any u64 count is under 1 ns.
    Zero,
    /// Units of 2^-n s: (units * 10^9) >> n, computed in u128 (no overflow:
    /// units * 10^9 < 2^94).
    Shift(u32),
}

impl TsScale {
    /// pcapng §4.2 default when `if_tsresol` is absent: microseconds.
    const MICROS: TsScale = TsScale::Mul(1_000);

    /// pcapng §4.2 `if_tsresol`: high bit clear → 10^-v, set → 2^-(v & 0x7f).
    fn from_tsresol(v: u8) -> TsScale {
        if v & 0x80 != 0 {
            return TsScale::Shift(u32::from(v & 0x7f));
        }
        let e = u32::from(v);
        if e <= 9 {
            TsScale::Mul(10u64.pow(9 - e))
        } else if e - 9 <= 19 {
            // 10^19 is the largest power of ten that fits a u64.
            TsScale::Div(10u64.pow(e - 9))
        } else {
            TsScale::Zero
        }
    }

    #[inline]
    fn to_nanos(self, units: u64) -> u64 {
        match self {
            TsScale::Mul(m) => units.saturating_mul(m),
            TsScale::Div(d) => units.checked_div(d).unwrap_or(0),
            TsScale::Zero => 0,
            TsScale::Shift(n) => {
                let ns = (u128::from(units) * 1_000_000_000) >> n;
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
        }
    }
}

/// What a pcapng IDB says about its packets (pcapng §4.2).
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// 0 means "no limit".
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset` in nanoseconds (i64 seconds * 10^9 fits an i128).
    offset_ns: i128,
}

impl Interface {
    /// A packet timestamp in this interface's units, as nanoseconds since the
    /// epoch, saturating at 0 and `u64::MAX` rather than wrapping.
    #[inline]
    fn timestamp(&self, units: u64) -> Timestamp {
        let ns = self.scale.to_nanos(units);
        if self.offset_ns == 0 {
            return Timestamp(ns);
        }
        let shifted = i128::from(ns) + self.offset_ns;
        Timestamp(u64::try_from(shifted.max(0)).unwrap_or(u64::MAX))
    }
}

/// One packet found in the buffer, before it is lent out as a [`RawPacket`]
/// (kept as a range so that the parsing code holds no borrow of the buffer).
struct PacketMeta {
    ts: Timestamp,
    link: LinkType,
    interface: u32,
    orig_len: u32,
    data: Range<usize>,
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
    name: PathBuf,
    format: Format,
    /// The compression of the source, if it was compressed.
    compression: Option<Compression>,
    /// A compressed source's reading, for progress.
    source: Option<Arc<SourceState>>,
    /// The current chunk (or a buffer grown for a large record);
    /// `buf[start..end]` holds unconsumed file bytes.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[end]`: the bytes taken from the chunks so far.
    taken: u64,
    /// The stream ended: no more chunks will come.
    eof: bool,
    /// The clean end or an error was reported: lend nothing more.
    done: bool,
    /// Byte order of the pcap file or of the current pcapng section.
    order: ByteOrder,
    /// Classic pcap: the file's link type.
    pcap_link: LinkType,
    /// Classic pcap: nanoseconds per unit of the fraction field (1000 or 1).
    pcap_frac_nanos: u64,
    /// Classic pcap: order of the length fields (file version).
    pcap_lengths: LengthOrder,
    /// pcapng: interfaces described so far in the current section.
    interfaces: Vec<Interface>,
    /// pcapng: timestamp of the previous packet returned in this section.
    last_ts: Timestamp,
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
    fn offset(&self) -> u64 {
        self.taken - (self.end - self.start) as u64
    }

    /// Makes `buf[start..start + need]` valid; `Ok(false)` if the stream ends
    /// first. `need` must be at most [`MAX_BUFFER`] (callers check lengths
    /// read from the file before asking).
    #[inline]
    fn fill(&mut self, need: usize) -> Result<bool, Error> {
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
    fn not_a_capture(&self) -> Error {
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
    fn truncated(&self, offset: u64, what: &'static str) -> Error {
        Error::Truncated {
            path: self.name.clone(),
            offset,
            what,
        }
    }

    #[cold]
    fn corrupt(&self, offset: u64, what: String) -> Error {
        Error::Corrupt {
            path: self.name.clone(),
            offset,
            what,
        }
    }

    // ---- classic pcap --------------------------------------------------------

    /// pcap §4: magic, version, thiszone, sigfigs, snaplen, link type.
    fn open_pcap(&mut self, order: ByteOrder, frac_nanos: u64) -> Result<(), Error> {
        if !self.fill(PCAP_HEADER_LEN)? {
            return Err(self.not_a_capture());
        }
        // pcap §4: the low 16 bits are the link type; the upper bits may
        // carry the FCS length and reserved bits, which we ignore. The
        // version only decides the order of the record length fields; zone,
        // sigfigs and snaplen are not needed (and lie in fuzzed files).
        let major = order.u16(&self.buf, self.start + 4);
        let minor = order.u16(&self.buf, self.start + 6);
        let network = order.u32(&self.buf, self.start + 20);
        let link = LinkType((network & 0xFFFF) as u16);
        if !link.is_supported() {
            return Err(Error::UnsupportedLinkType {
                path: self.name.clone(),
                link,
            });
        }
        self.format = Format::Pcap;
        self.order = order;
        self.pcap_link = link;
        self.pcap_frac_nanos = frac_nanos;
        self.pcap_lengths = LengthOrder::for_version(major, minor);
        self.start += PCAP_HEADER_LEN;
        Ok(())
    }

    /// pcap §5: ts seconds, ts µs/ns, captured length, original length, data.
    #[inline]
    fn next_pcap(&mut self) -> Result<Option<PacketMeta>, Error> {
        let offset = self.offset();
        if !self.fill(PCAP_RECORD_HEADER_LEN)? {
            if self.start == self.end {
                return Ok(None);
            }
            return Err(self.truncated(offset, "packet record header"));
        }
        let header: [u8; PCAP_RECORD_HEADER_LEN] = array(&self.buf, self.start);
        let o = self.order;
        let secs = o.u32(&header, 0);
        let frac = o.u32(&header, 4);
        let (incl_len, orig_len) = self
            .pcap_lengths
            .lengths(o.u32(&header, 8), o.u32(&header, 12));
        if incl_len > MAX_PCAP_RECORD {
            return Err(self.corrupt(
                offset,
                format!("record length {incl_len} exceeds {MAX_PCAP_RECORD}"),
            ));
        }
        let total = PCAP_RECORD_HEADER_LEN + incl_len as usize;
        if !self.fill(total)? {
            return Err(self.truncated(offset, "packet data"));
        }
        let at = self.start;
        self.start += total;
        Ok(Some(PacketMeta {
            // An out-of-range fraction (>= 1 s) is added as is, like tshark.
            ts: Timestamp::from_parts(u64::from(secs), u64::from(frac) * self.pcap_frac_nanos),
            link: self.pcap_link,
            interface: 0,
            orig_len,
            data: at + PCAP_RECORD_HEADER_LEN..at + total,
        }))
    }

    // ---- pcapng --------------------------------------------------------------

    /// Reads the first Section Header Block. The caller saw the SHB type.
    fn open_pcapng(&mut self) -> Result<(), Error> {
        // Type, length and byte-order magic are the format's signature: a
        // file without all three is not pcapng at all.
        if !self.fill(12)?
            || ByteOrder::detect(array(&self.buf, self.start + 8), BYTE_ORDER_MAGIC).is_none()
        {
            return Err(self.not_a_capture());
        }
        let offset = self.offset();
        match self.read_block()? {
            Some((BT_SHB, len)) => {
                self.section_header(offset, len)?;
                self.start += len;
                Ok(())
            }
            // Unreachable: 12 bytes with the SHB type are there.
            _ => Err(self.not_a_capture()),
        }
    }

    /// Walks blocks until one holds a packet.
    fn next_pcapng(&mut self) -> Result<Option<PacketMeta>, Error> {
        loop {
            let offset = self.offset();
            let Some((block_type, len)) = self.read_block()? else {
                return Ok(None);
            };
            let packet = match block_type {
                BT_EPB => Some(self.enhanced_packet(offset, len)?),
                BT_SPB => Some(self.simple_packet(offset, len)?),
                BT_OPB => Some(self.obsolete_packet(offset, len)?),
                BT_IDB => {
                    self.interface_description(offset, len)?;
                    None
                }
                BT_SHB => {
                    self.section_header(offset, len)?;
                    None
                }
                // NRB, ISB, DSB, custom and unknown blocks: pcapng §3.1 makes
                // every block skippable by its length.
                _ => None,
            };
            self.start += len;
            if let Some(packet) = packet {
                self.last_ts = packet.ts;
                return Ok(Some(packet));
            }
        }
    }

    /// pcapng §3.1: reads one whole block into `buf[start..start + len]` and
    /// checks its framing; returns its type and total length, or `Ok(None)`
    /// at the clean end of the data.
    #[inline(always)]
    fn read_block(&mut self) -> Result<Option<(u32, usize)>, Error> {
        let offset = self.offset();
        if !self.fill(8)? {
            if self.start == self.end {
                return Ok(None);
            }
            return Err(self.truncated(offset, "block header"));
        }
        if array::<4>(&self.buf, self.start) == BT_SHB.to_le_bytes() {
            // pcapng §4.1: a new section may switch byte order; its length
            // can only be read once the byte-order magic after it is known.
            if !self.fill(12)? {
                return Err(self.truncated(offset, "block header"));
            }
            let bom = array(&self.buf, self.start + 8);
            self.order = ByteOrder::detect(bom, BYTE_ORDER_MAGIC).ok_or_else(|| {
                self.corrupt(
                    offset,
                    format!("section header block has bad byte-order magic {bom:02x?}"),
                )
            })?;
        }
        let block_type = self.order.u32(&self.buf, self.start);
        let len = self.order.u32(&self.buf, self.start + 4);
        let bad = if len < MIN_BLOCK {
            Some("is less than 12")
        } else if len % 4 != 0 {
            Some("is not a multiple of 4")
        } else if len > MAX_BLOCK {
            Some("exceeds 16777216")
        } else {
            None
        };
        if let Some(bad) = bad {
            return Err(self.corrupt(
                offset,
                format!("block type {block_type:#x}: block length {len} {bad}"),
            ));
        }
        let total = len as usize;
        if !self.fill(total)? {
            return Err(self.truncated(offset, "block"));
        }
        let trailer = self.order.u32(&self.buf, self.start + total - 4);
        if trailer != len {
            return Err(self.corrupt(
                offset,
                format!(
                    "block type {block_type:#x}: trailing block length {trailer} \
                     does not match leading length {len}"
                ),
            ));
        }
        Ok(Some((block_type, total)))
    }

    /// Fails unless the block at `start` is at least `min` bytes long.
    fn require_len(&self, offset: u64, len: usize, min: usize, what: &str) -> Result<(), Error> {
        if len < min {
            return Err(self.corrupt(offset, format!("{what} length {len} is less than {min}")));
        }
        Ok(())
    }

    /// pcapng §4.1: byte-order magic, major, minor, section length, options.
    /// (The byte order was already taken by `read_block`.)
    fn section_header(&mut self, offset: u64, len: usize) -> Result<(), Error> {
        self.require_len(offset, len, 28, "section header block")?;
        let major = self.order.u16(&self.buf, self.start + 12);
        let minor = self.order.u16(&self.buf, self.start + 14);
        // pcapng §4.1: a different major version is an incompatible format.
        if major != 1 {
            return Err(self.corrupt(
                offset,
                format!("unsupported pcapng version {major}.{minor}"),
            ));
        }
        // pcapng §4.2: interface ids are per section.
        self.interfaces.clear();
        self.last_ts = Timestamp(0);
        Ok(())
    }

    /// pcapng §4.2: link type, reserved, snaplen, options.
    fn interface_description(&mut self, offset: u64, len: usize) -> Result<(), Error> {
        self.require_len(offset, len, 20, "interface description block")?;
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(self.corrupt(
                offset,
                format!("more than {MAX_INTERFACES} interfaces in one section"),
            ));
        }
        let o = self.order;
        let block = &self.buf[self.start..self.start + len];
        let mut iface = Interface {
            link: LinkType(o.u16(block, 8)),
            snaplen: o.u32(block, 12),
            scale: TsScale::MICROS,
            offset_ns: 0,
        };
        // pcapng §3.5: options are code (u16), length (u16), value padded to
        // 4 bytes, until opt_endofopt or the end of the block body.
        let options = &block[16..len - 4];
        let mut at = 0;
        while at + 4 <= options.len() {
            let code = o.u16(options, at);
            let opt_len = usize::from(o.u16(options, at + 2));
            if code == OPT_ENDOFOPT {
                break;
            }
            let value = at + 4;
            let Some(value) = options.get(value..value + opt_len) else {
                return Err(self.corrupt(
                    offset,
                    format!("interface option {code} of length {opt_len} runs past the block"),
                ));
            };
            match (code, value) {
                (IF_TSRESOL, [v, ..]) => iface.scale = TsScale::from_tsresol(*v),
                (IF_TSOFFSET, v) if v.len() >= 8 => {
                    iface.offset_ns = i128::from(o.i64(v, 0)) * 1_000_000_000;
                }
                _ => {}
            }
            at += 4 + opt_len.next_multiple_of(4);
        }
        self.interfaces.push(iface);
        Ok(())
    }

    /// The interface a packet block refers to.
    #[inline]
    fn interface(&self, offset: u64, id: u32) -> Result<Interface, Error> {
        match self.interfaces.get(id as usize) {
            Some(iface) => Ok(*iface),
            None => Err(self.corrupt(offset, format!("packet for undefined interface {id}"))),
        }
    }

    /// pcapng §4.3: interface id, ts high, ts low, captured length, original
    /// length, data padded to 4, options.
    #[inline(always)]
    fn enhanced_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 32, "enhanced packet block")?;
        let id = self.order.u32(&self.buf, self.start + 8);
        self.timed_packet(offset, len, id, "enhanced packet block")
    }

    /// pcapng Appendix A: like an EPB but with a 16-bit interface id followed
    /// by a 16-bit drops count.
    fn obsolete_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 32, "packet block")?;
        let id = self.order.u16(&self.buf, self.start + 8);
        self.timed_packet(offset, len, u32::from(id), "packet block")
    }

    /// The part EPB and the obsolete Packet Block share: from the timestamp
    /// on (offset 12 of the block).
    #[inline(always)]
    fn timed_packet(
        &self,
        offset: u64,
        len: usize,
        id: u32,
        what: &str,
    ) -> Result<PacketMeta, Error> {
        let o = self.order;
        let at = self.start;
        let header: [u8; 16] = array(&self.buf, at + 12);
        let units = (u64::from(o.u32(&header, 0)) << 32) | u64::from(o.u32(&header, 4));
        let cap_len = o.u32(&header, 8);
        let orig_len = o.u32(&header, 12);
        let room = len - 32;
        if cap_len as usize > room {
            return Err(self.corrupt(
                offset,
                format!("{what}: captured length {cap_len} exceeds the block body ({room} bytes)"),
            ));
        }
        let iface = self.interface(offset, id)?;
        Ok(PacketMeta {
            ts: iface.timestamp(units),
            link: iface.link,
            interface: id,
            orig_len,
            data: at + 28..at + 28 + cap_len as usize,
        })
    }

    /// pcapng §4.4: original length, data. Interface 0; captured length is
    /// min(original length, body room, interface 0's snaplen if nonzero).
    fn simple_packet(&self, offset: u64, len: usize) -> Result<PacketMeta, Error> {
        self.require_len(offset, len, 16, "simple packet block")?;
        let iface = self.interface(offset, 0)?;
        let orig_len = self.order.u32(&self.buf, self.start + 8);
        let mut cap_len = (orig_len as usize).min(len - 16);
        if iface.snaplen != 0 {
            cap_len = cap_len.min(iface.snaplen as usize);
        }
        let data = self.start + 12;
        Ok(PacketMeta {
            // An SPB carries no timestamp (pcapng §4.4). We reuse the
            // timestamp of the previous packet returned in this section
            // (Timestamp(0) if there was none) so that time-bucketed flow
            // accounting keeps the packet near its neighbours.
            ts: self.last_ts,
            link: iface.link,
            interface: 0,
            orig_len,
            data: data..data + cap_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::source::testing::FailAfter;

    // ---- byte builders -------------------------------------------------------

    /// Bytes written in one byte order.
    struct Bytes {
        le: bool,
        v: Vec<u8>,
    }

    impl Bytes {
        fn new(le: bool) -> Self {
            Bytes { le, v: Vec::new() }
        }
        fn u16(&mut self, x: u16) -> &mut Self {
            let b = if self.le {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            };
            self.v.extend_from_slice(&b);
            self
        }
        fn u32(&mut self, x: u32) -> &mut Self {
            let b = if self.le {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            };
            self.v.extend_from_slice(&b);
            self
        }
        fn raw(&mut self, b: &[u8]) -> &mut Self {
            self.v.extend_from_slice(b);
            self
        }
        fn pad4(&mut self) -> &mut Self {
            while self.v.len() % 4 != 0 {
                self.v.push(0);
            }
            self
        }
    }

    /// A record or block of a built file: where it starts and ends, and
    /// whether it holds a packet.
    #[derive(Debug, Clone, Copy)]
    struct Part {
        start: usize,
        end: usize,
        packet: bool,
    }

    /// A classic pcap file under construction.
    struct Pcap {
        b: Bytes,
        parts: Vec<Part>,
    }

    impl Pcap {
        /// Global header (pcap §4).
        fn new(le: bool, nanos: bool, network: u32) -> Self {
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
        fn packet(self, secs: u32, frac: u32, data: &[u8], orig: u32) -> Self {
            self.record(secs, frac, [data.len() as u32, orig], data)
        }
        /// Packet record with the two length fields as given.
        fn record(mut self, secs: u32, frac: u32, lengths: [u32; 2], data: &[u8]) -> Self {
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
        fn version(mut self, major: u16, minor: u16) -> Self {
            let mut v = Bytes::new(self.b.le);
            v.u16(major).u16(minor);
            self.b.v[4..8].copy_from_slice(&v.v);
            self
        }
        fn bytes(&self) -> Vec<u8> {
            self.b.v.clone()
        }
    }

    /// A pcapng file under construction (byte order chosen per section).
    struct Ng {
        le: bool,
        v: Vec<u8>,
        parts: Vec<Part>,
    }

    impl Ng {
        /// Starts with a Section Header Block.
        fn new(le: bool) -> Self {
            Ng {
                le,
                v: Vec::new(),
                parts: Vec::new(),
            }
            .shb(le)
        }
        /// Any block: type, total length, body padded to 4, total length.
        fn block(mut self, block_type: u32, packet: bool, body: impl FnOnce(&mut Bytes)) -> Self {
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
        fn shb(mut self, le: bool) -> Self {
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
        fn idb(self, link: u16, snaplen: u32, options: &[(u16, &[u8])]) -> Self {
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
        fn epb(self, iface: u32, units: u64, data: &[u8], orig: u32) -> Self {
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
        fn opb(self, iface: u16, units: u64, data: &[u8], orig: u32) -> Self {
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
        fn spb(self, orig: u32, data: &[u8]) -> Self {
            self.block(BT_SPB, true, |b| {
                b.u32(orig).raw(data);
            })
        }
        fn bytes(&self) -> Vec<u8> {
            self.v.clone()
        }
        /// A u32 in the current byte order: for hand corruption.
        fn word(&self, x: u32) -> [u8; 4] {
            if self.le {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            }
        }
    }

    // ---- reading helpers ---------------------------------------------------

    /// A packet copied out of the reader.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Got {
        ts: u64,
        link: u16,
        interface: u32,
        orig_len: u32,
        data: Vec<u8>,
    }

    fn reader(bytes: &[u8]) -> Result<CaptureReader, Error> {
        CaptureReader::from_reader(Box::new(io::Cursor::new(bytes.to_vec())), "test".into())
    }

    impl Got {
        fn of(p: &RawPacket<'_>) -> Got {
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
    fn walk(mut r: CaptureReader) -> (Vec<Got>, Option<Error>) {
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

    fn all(bytes: &[u8]) -> Vec<Got> {
        let (got, end) = walk(reader(bytes).unwrap());
        assert!(end.is_none(), "unexpected {end:?}");
        got
    }

    fn err(bytes: &[u8]) -> Error {
        match reader(bytes) {
            Err(e) => e,
            Ok(r) => walk(r).1.expect("an error"),
        }
    }

    fn corrupt_what(e: Error) -> (u64, String) {
        match e {
            Error::Corrupt { offset, what, .. } => (offset, what),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    /// Hands out at most one byte per `read()`, and every other call is
    /// `Interrupted`, like a slow pipe with signals.
    struct Trickle {
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

    fn trickle(bytes: &[u8]) -> CaptureReader {
        let t = Trickle {
            data: bytes.to_vec(),
            pos: 0,
            interrupt: false,
        };
        CaptureReader::from_reader(Box::new(t), "trickle".into()).unwrap()
    }

    fn payload(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    const SEC: u64 = 1_000_000_000;

    // ---- classic pcap --------------------------------------------------------

    #[test]
    fn pcap_micro_and_nano_magic_in_both_byte_orders() {
        for le in [true, false] {
            let micro = Pcap::new(le, false, 1)
                .packet(1_700_000_000, 123_456, &[1, 2, 3], 60)
                .bytes();
            let r = reader(&micro).unwrap();
            assert_eq!(r.format(), Format::Pcap);
            assert_eq!(r.bytes_consumed(), 24);
            let got = walk(r).0;
            assert_eq!(
                got,
                vec![Got {
                    ts: 1_700_000_000 * SEC + 123_456_000,
                    link: 1,
                    interface: 0,
                    orig_len: 60,
                    data: vec![1, 2, 3],
                }]
            );

            let nano = Pcap::new(le, true, 113)
                .packet(1_700_000_000, 123_456_789, &[9; 20], 20)
                .packet(u32::MAX, u32::MAX, &[], 0) // extreme values do not overflow
                .bytes();
            let got = all(&nano);
            assert_eq!(got[0].ts, 1_700_000_000 * SEC + 123_456_789);
            assert_eq!(got[0].link, 113);
            assert_eq!(got[1].ts, u64::from(u32::MAX) * SEC + u64::from(u32::MAX));
        }
    }

    #[test]
    fn pcap_link_type_ignores_fcs_bits() {
        // pcap §4: bits 28..31 FCS length, bit 26 "F" flag.
        let bytes = Pcap::new(true, false, 0x1400_0001)
            .packet(1, 2, &[0; 14], 14)
            .bytes();
        assert_eq!(all(&bytes)[0].link, 1);
    }

    #[test]
    fn pcap_unsupported_link_type_at_open() {
        let bytes = Pcap::new(false, false, 147)
            .packet(1, 2, &[0; 4], 4)
            .bytes();
        match reader(&bytes) {
            Err(Error::UnsupportedLinkType { link, .. }) => assert_eq!(link, LinkType(147)),
            other => panic!("{other:?}"),
        }
    }

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

    #[test]
    fn pcap_huge_record_length_is_corrupt_without_allocation() {
        let mut bytes = Pcap::new(true, false, 1).packet(1, 0, &[1; 10], 10).bytes();
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // ts
        bytes.extend_from_slice(&u32::MAX.to_le_bytes()); // incl_len
        bytes.extend_from_slice(&u32::MAX.to_le_bytes()); // orig_len
        let mut r = reader(&bytes).unwrap();
        assert!(r.next_packet().unwrap().is_some());
        let (offset, what) = corrupt_what(r.next_packet().unwrap_err());
        assert_eq!(offset, 24 + 16 + 10);
        assert_eq!(what, "record length 4294967295 exceeds 262144");
        assert_eq!(r.buf.len(), HEADROOM + CHUNK);
        assert!(r.next_packet().unwrap().is_none());

        // The largest allowed record (BIG TCP frames) is fine.
        let big = payload(262_144, 3);
        let bytes = Pcap::new(true, false, 1)
            .packet(1, 0, &big, 300_000)
            .bytes();
        assert_eq!(all(&bytes)[0].data, big);
        let bytes = Pcap::new(true, false, 1)
            .packet(1, 0, &[0; 262_145], 300_000)
            .bytes();
        assert!(matches!(err(&bytes), Error::Corrupt { offset: 24, .. }));
    }

    #[test]
    fn pcap_pre_2_4_versions_swap_the_length_fields() {
        // Before 2.3 the record header held the original length first.
        let file = |major, minor, second: u32| {
            Pcap::new(true, false, 1)
                .version(major, minor)
                .record(1, 0, [8, 100], &[7; 8])
                .record(2, 0, [second, 4], &[7; 4])
                .bytes()
        };
        let lens = |bytes: &[u8]| {
            let (got, end) = walk(reader(bytes).unwrap());
            let lens: Vec<_> = got.iter().map(|g| (g.data.len(), g.orig_len)).collect();
            (lens, end.map(|e| e.to_string()))
        };
        assert_eq!(lens(&file(2, 4, 4)), (vec![(8, 100), (4, 4)], None));
        // 2.3: swapped only where "captured" > "original".
        assert_eq!(lens(&file(2, 3, 60)), (vec![(8, 100), (4, 60)], None));
        // 2.2: always swapped; the first record then claims 100 bytes of
        // data and the file ends inside them.
        let (got, end) = lens(&file(2, 2, 4));
        assert_eq!(got, vec![]);
        assert!(end.unwrap().contains("byte offset 24: packet data"));
        let bytes = Pcap::new(false, true, 1)
            .version(543, 0) // DG/UX
            .packet(1, 0, &[7; 8], 8)
            .bytes();
        assert_eq!(lens(&bytes), (vec![(8, 8)], None));
    }

    // ---- pcapng --------------------------------------------------------------

    #[test]
    fn pcapng_interfaces_resolutions_and_offsets() {
        let ns = 1_700_000_000 * SEC + 987_654_321;
        let bytes = Ng::new(true)
            // if0: Ethernet, nanoseconds (if_tsresol = 9)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            // if1: Linux SLL, 2^-20 s units, if_tsoffset = 100 s
            .idb(
                113,
                0,
                &[
                    (IF_TSRESOL, &[0x80 | 20]),
                    (IF_TSOFFSET, &100i64.to_le_bytes()),
                ],
            )
            // if2: unsupported link type (USER0), default µs, if_tsoffset = -5 s
            .idb(147, 0, &[(IF_TSOFFSET, &(-5i64).to_le_bytes())])
            .epb(0, ns, &[0xAA; 5], 5)
            .epb(1, (5 << 20) + (1 << 19), &[0xBB; 7], 1500) // 5.5 s
            .epb(2, 7_000_001, &[0xCC; 1], 1) // 7.000001 s - 5 s
            .opb(1, 1 << 20, &[0xDD; 2], 2) // 1 s + 100 s
            .bytes();
        let r = reader(&bytes).unwrap();
        assert_eq!(r.format(), Format::Pcapng);
        assert_eq!(r.bytes_consumed(), 28);
        let got = walk(r).0;
        let summary: Vec<_> = got
            .iter()
            .map(|g| (g.ts, g.link, g.interface, g.orig_len, g.data.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ns, 1, 0, 5, 5),
                (105 * SEC + SEC / 2, 113, 1, 1500, 7),
                (2 * SEC + 1_000, 147, 2, 1, 1),
                (101 * SEC, 113, 1, 2, 2),
            ]
        );
        assert_eq!(got[1].data, [0xBB; 7]);
    }

    #[test]
    fn timestamp_units_never_overflow() {
        let iface = |res: u8, off: i64| Interface {
            link: LinkType(1),
            snaplen: 0,
            scale: TsScale::from_tsresol(res),
            offset_ns: i128::from(off) * 1_000_000_000,
        };
        let ts = |res: u8, off: i64, units: u64| iface(res, off).timestamp(units).0;
        assert_eq!(ts(6, 0, 1_500_000), 1_500_000_000);
        assert_eq!(ts(0, 0, u64::MAX), u64::MAX); // seconds saturate
        assert_eq!(ts(9, 0, u64::MAX), u64::MAX);
        assert_eq!(ts(12, 0, 5_000_000_000_000), 5_000_000_000); // picoseconds
        assert_eq!(ts(28, 0, u64::MAX), 1); // u64::MAX / 10^19
        assert_eq!(ts(29, 0, u64::MAX), 0);
        assert_eq!(ts(127, 0, u64::MAX), 0);
        assert_eq!(ts(0x80 | 30, 0, 3 << 30), 3 * SEC); // 2^-30
        assert_eq!(ts(0x80, 0, u64::MAX), u64::MAX); // 2^0 saturates
        assert_eq!(ts(0xFF, 0, u64::MAX), 0); // 2^-127
        assert_eq!(ts(6, i64::MIN, u64::MAX), 0);
        assert_eq!(ts(6, i64::MAX, 0), u64::MAX);
        assert_eq!(ts(6, -1, 2_000_000), SEC);
    }

    #[test]
    fn simple_packet_takes_previous_timestamp_and_snaplen() {
        let bytes = Ng::new(true)
            .idb(1, 64, &[]) // snaplen 64, µs
            .spb(100, &payload(100, 1)) // no packet before: ts 0, cut to 64
            .epb(0, 42, &[1; 3], 3)
            .spb(10, &payload(12, 2)) // orig 10 < body room: 10 bytes
            .spb(200, &payload(20, 3)) // body room 20 < orig and snaplen
            .bytes();
        let got = all(&bytes);
        let summary: Vec<_> = got
            .iter()
            .map(|g| (g.ts, g.interface, g.orig_len, g.data.len()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, 0, 100, 64),
                (42_000, 0, 3, 3),
                (42_000, 0, 10, 10),
                (42_000, 0, 200, 20)
            ]
        );
        assert_eq!(got[0].data, payload(64, 1));
    }

    #[test]
    fn big_endian_pcapng() {
        let bytes = Ng::new(false)
            .idb(
                101,
                0,
                &[(IF_TSRESOL, &[3]), (IF_TSOFFSET, &7i64.to_be_bytes())],
            )
            .epb(0, 1_234, &[0x45, 0, 0, 20], 20)
            .bytes();
        assert_eq!(&bytes[8..12], &[0x1A, 0x2B, 0x3C, 0x4D]);
        let got = all(&bytes);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].ts, got[0].link), (8 * SEC + 234_000_000, 101));
        assert_eq!(got[0].data, [0x45, 0, 0, 20]);
    }

    #[test]
    fn unknown_blocks_are_skipped() {
        let bytes = Ng::new(true)
            .block(4, false, |b| {
                b.raw(&[0; 8]); // NRB: nrb_record_end only
            })
            .idb(1, 0, &[(2, b"eth0"), (3, b"")]) // if_name, empty if_description
            .block(5, false, |b| {
                b.raw(&[0; 12]); // ISB
            })
            .epb(0, 1, &[7], 1)
            .block(0x0000_000A, false, |b| {
                b.raw(&[1, 2, 3, 4, 5]); // DSB
            })
            .block(0x4000_0BAD, false, |b| {
                b.raw(&[9; 9]); // custom block
            })
            .block(0x1234_5678, false, |_| {}) // unknown, empty body
            .epb(0, 2, &[8], 1)
            .bytes();
        let got = all(&bytes);
        assert_eq!(got.iter().map(|g| g.data[0]).collect::<Vec<_>>(), [7, 8]);
        let mut r = reader(&bytes).unwrap();
        while r.next_packet().unwrap().is_some() {}
        assert_eq!(r.bytes_consumed(), bytes.len() as u64);
    }

    #[test]
    fn second_section_resets_interfaces_and_may_switch_byte_order() {
        let two = Ng::new(true)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 5, &[1], 1)
            .shb(false) // big-endian section
            .spb(4, &[2; 4]) // interface 0 not yet described in this section
            .bytes();
        let (got, end) = walk(reader(&two).unwrap());
        assert_eq!(got.len(), 1);
        let (offset, what) = corrupt_what(end.unwrap());
        assert_eq!(what, "packet for undefined interface 0");
        assert_eq!(offset as usize, two.len() - 20);

        let ok = Ng::new(true)
            .idb(1, 0, &[(IF_TSRESOL, &[9])])
            .epb(0, 5, &[1], 1)
            .shb(false)
            .idb(229, 0, &[])
            .spb(4, &[2; 4]) // first packet of the section: ts 0
            .epb(0, 3, &[3], 1)
            .bytes();
        let got = all(&ok);
        let summary: Vec<_> = got.iter().map(|g| (g.ts, g.link)).collect();
        assert_eq!(summary, vec![(5, 1), (0, 229), (3_000, 229)]);
    }

    #[test]
    fn pcapng_corrupt_blocks() {
        let good = Ng::new(true).idb(1, 0, &[]);
        let at = good.v.len() as u64;
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut v = good.bytes();
            f(&mut v);
            corrupt_what(err(&v))
        };
        let w = |x: u32| good.word(x);

        for (len, why) in [
            (8, "is less than 12"),
            (14, "is not a multiple of 4"),
            (0xFFFF_FFFC, "exceeds 16777216"),
            ((16 << 20) + 4, "exceeds 16777216"),
        ] {
            let (offset, what) = with(&|v| {
                v.extend_from_slice(&w(6));
                v.extend_from_slice(&w(len));
                v.extend_from_slice(&[0; 64]);
            });
            assert_eq!(offset, at);
            assert!(what.ends_with(why), "{what}");
        }

        // Trailer differs from the leading length.
        let (offset, what) = with(&|v| {
            v.extend_from_slice(&w(4));
            v.extend_from_slice(&w(16));
            v.extend_from_slice(&w(0));
            v.extend_from_slice(&w(20));
        });
        assert_eq!(offset, at);
        assert!(what.contains("trailing block length 20 does not match leading length 16"));

        // EPB whose captured length exceeds its body.
        let epb = Ng::new(true).idb(1, 0, &[]).epb(0, 0, &[1; 8], 8);
        let mut v = epb.bytes();
        let cap = v.len() - 4 - 8 - 8; // captured-length field of the EPB
        v[cap..cap + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let (offset, what) = corrupt_what(err(&v));
        assert_eq!(offset, at);
        assert!(what.contains("captured length 4294967295 exceeds the block body (8 bytes)"));

        // EPB for an interface never described.
        let v = Ng::new(true).idb(1, 0, &[]).epb(1, 0, &[1], 1).bytes();
        assert_eq!(
            corrupt_what(err(&v)),
            (at, "packet for undefined interface 1".into())
        );

        // EPB too short for its fixed fields.
        let v = Ng::new(true).idb(1, 0, &[]).block(BT_EPB, true, |b| {
            b.raw(&[0; 8]);
        });
        assert!(corrupt_what(err(&v.v)).1.contains("less than 32"));

        // Option running past the IDB.
        let v = Ng::new(true).block(BT_IDB, false, |b| {
            b.u16(1)
                .u16(0)
                .u32(0)
                .u16(IF_TSRESOL)
                .u16(200)
                .raw(&[9, 0, 0, 0]);
        });
        assert!(corrupt_what(err(&v.v)).1.contains("runs past the block"));

        // Bad major version and bad byte-order magic in a later section.
        let mut v = Ng::new(true).shb(true).bytes();
        v[28 + 12] = 2;
        assert_eq!(
            corrupt_what(err(&v)),
            (28, "unsupported pcapng version 2.0".into())
        );
        let mut v = Ng::new(true).shb(true).bytes();
        v[28 + 8] = 0;
        assert_eq!(corrupt_what(err(&v)).0, 28);

        // A maximal claimed block in a short file: truncated, buffer capped.
        let mut v = good.bytes();
        v.extend_from_slice(&w(6));
        v.extend_from_slice(&w(16 << 20));
        v.extend_from_slice(&[0; 100]);
        let mut r = reader(&v).unwrap();
        assert!(matches!(
            r.next_packet(),
            Err(Error::Truncated { what: "block", .. })
        ));
        assert!(r.buf.len() <= MAX_BUFFER);
    }

    #[test]
    fn first_block_must_be_a_section_header() {
        let mut v = Ng::new(true).idb(1, 0, &[]).bytes();
        v.drain(..28);
        assert!(matches!(reader(&v), Err(Error::NotACapture { .. })));
    }

    // ---- truncation at every byte -------------------------------------------

    /// Cuts `bytes` at every offset and checks: the packets wholly before the
    /// cut come out, then `Ok(None)` if the cut is on a record boundary, else
    /// `Truncated` at the start of the cut record.
    fn check_every_cut(bytes: &[u8], header_len: usize, parts: &[Part], pcapng: bool) {
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

    #[test]
    fn pcap_truncated_at_every_byte() {
        for (le, nanos) in [(true, false), (false, true)] {
            let p = Pcap::new(le, nanos, 1)
                .packet(1, 2, &payload(30, 1), 30)
                .packet(3, 4, &[], 0)
                .packet(5, 6, &payload(17, 2), 99);
            check_every_cut(&p.bytes(), 24, &p.parts, false);
        }
    }

    #[test]
    fn pcapng_truncated_at_every_byte() {
        for le in [true, false] {
            let ng = Ng::new(le)
                .idb(1, 0, &[(IF_TSRESOL, &[9])])
                .epb(0, 10, &payload(30, 1), 30)
                .block(4, false, |b| {
                    b.raw(&[0; 4]);
                })
                .spb(17, &payload(17, 2))
                .opb(0, 12, &payload(3, 3), 3);
            let parts: Vec<Part> = ng.parts[1..].to_vec(); // all but the SHB read at open
            check_every_cut(&ng.v, 28, &parts, true);
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

    /// An endless capture (one record, repeated) that reports being dropped.
    struct Endless {
        bytes: Vec<u8>,
        pos: usize,
        dropped: std::sync::mpsc::Sender<()>,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.bytes.len() - self.pos);
            buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
            self.pos += n;
            if self.pos == self.bytes.len() {
                self.pos = PCAP_HEADER_LEN;
            }
            Ok(n)
        }
    }

    impl Drop for Endless {
        fn drop(&mut self) {
            let _ = self.dropped.send(());
        }
    }

    #[test]
    fn dropping_the_reader_stops_the_read_ahead_thread() {
        let (dropped, was_dropped) = std::sync::mpsc::channel();
        let endless = Endless {
            bytes: Pcap::new(true, false, 1)
                .packet(1, 0, &payload(100, 1), 100)
                .bytes(),
            pos: 0,
            dropped,
        };
        let mut r = CaptureReader::from_reader(Box::new(endless), "endless".into()).unwrap();
        for _ in 0..10_000 {
            assert!(r.next_packet().unwrap().is_some());
        }
        drop(r);
        // The thread, blocked sending a chunk, returns and drops the reader.
        let wait = std::time::Duration::from_secs(30);
        assert!(was_dropped.recv_timeout(wait).is_ok());
    }

    struct Panics;

    impl Read for Panics {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            panic!("reader broke");
        }
    }

    #[test]
    #[should_panic(expected = "reader broke")]
    fn a_panic_in_the_reader_reaches_the_caller() {
        let _ = CaptureReader::from_reader(Box::new(Panics), "panics".into());
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
