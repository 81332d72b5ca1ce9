//! Compressed captures, recognised by their magic bytes and decompressed as a
//! stream on the read-ahead thread.
//!
//! Archives keep captures compressed (`tcpdump -z gzip`, rotated files
//! shipped to storage, captures attached to tickets). [`open`] looks at the
//! first bytes of any source, file or pipe, and when they are the magic of
//! gzip, zstd, xz, bzip2 or an LZ4 frame, puts a streaming decoder between
//! the source and the capture parser. The file name plays no part: a
//! `.pcap` that is really gzip is read, a `.gz` that is a plain pcap too.
//!
//! * **Where the work happens.** The decoder is only a `Read`; the
//!   read-ahead thread ([`super::chunks`]) owns it and calls it, so
//!   decompression runs beside the parsing and aggregation, not before them.
//! * **Bounded memory.** No temporary file, nothing held but the decoders'
//!   own state: a 256 KiB input buffer, and the format's window (gzip 32 KiB,
//!   bzip2 under 4 MB, LZ4 at most 4 MiB a block, zstd at most 128 MiB, xz
//!   held under [`XZ_MEMORY_LIMIT`]). A stream that asks for more (a
//!   `zstd --long=31` archive, an exotic xz preset) is refused as damaged,
//!   never allocated.
//! * **Concatenated streams** (`cat a.gz b.gz`, pbzip2, multi-frame zstd,
//!   multi-stream xz) read as one capture, as `zcat` reads them.
//! * **Damage.** An error of the decoder (a corrupt block, a bad checksum,
//!   a stream cut short) reaches the parser as a [`Damaged`] I/O error, after
//!   every byte decoded before it; the parser reports it with the offset in
//!   the decompressed stream ([`crate::Error::Decompress`]). An error of the
//!   source itself (the disk, the pipe) stays an I/O error.

use std::{
    fmt,
    io::{self, BufRead, BufReader, Read},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

/// Bytes read from the source per `read()` under a decoder.
const SOURCE_BUFFER: usize = 256 << 10;

/// Most decompressed bytes asked of a decoder at a time. A decoder that
/// fails returns the error, not what it wrote in that call (zstd checks a
/// frame's checksum in the call that decodes its last block, if the output
/// has room for it): small steps lose no more than one step before damage.
const DECODE_STEP: usize = 32 << 10;

/// The most memory an xz stream may ask of the decoder: `xz -9` (64 MiB
/// dictionary) needs 65 MiB; a stream asking for more is damaged for us.
pub const XZ_MEMORY_LIMIT: u64 = 256 << 20;

/// The longest magic number recognised.
const MAGIC_LEN: usize = 6;

/// A compression format, as found in a source's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// gzip (RFC 1952), one or more members.
    Gzip,
    /// Zstandard (RFC 8878), one or more frames.
    Zstd,
    /// xz (.xz container of LZMA2), one or more streams.
    Xz,
    /// bzip2, one or more streams.
    Bzip2,
    /// LZ4 frame format (`lz4` command line), not the legacy format.
    Lz4,
}

impl Compression {
    /// The format whose magic number `head` starts with.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        const MAGICS: [(&[u8], Compression); 5] = [
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (b"BZh", Compression::Bzip2),
            (&[0x04, 0x22, 0x4d, 0x18], Compression::Lz4),
        ];
        MAGICS
            .iter()
            .find(|(magic, _)| head.starts_with(magic))
            .map(|&(_, format)| format)
    }

    /// The format's usual name, as its command line tool calls it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Lz4 => "lz4",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoder's error: the compressed stream is damaged or cut short. Travels
/// inside an [`io::Error`] from the read-ahead thread to the parser.
#[derive(Debug)]
pub(super) struct Damaged {
    pub(super) format: Compression,
    pub(super) message: String,
}

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} stream damaged: {}", self.format, self.message)
    }
}

impl std::error::Error for Damaged {}

/// A source ready for the read-ahead thread: decompressed if it was
/// compressed.
pub(super) struct Opened {
    pub(super) reader: Box<dyn Read + Send>,
    pub(super) compression: Option<Compression>,
    /// A compressed source's reading so far (the decoder's input), for
    /// progress against the file's size.
    pub(super) source: Option<Arc<SourceState>>,
}

/// Reads the first bytes of `source` and, if they are a compression magic,
/// wraps it in that format's decoder. Either way nothing read is lost. The
/// decoder ends its read early, and the stream, once `stop` is raised (the
/// parser went away): a bomb is not decompressed for nobody.
pub(super) fn open(mut source: Box<dyn Read + Send>, stop: Arc<AtomicBool>) -> io::Result<Opened> {
    let mut head = [0; MAGIC_LEN];
    let mut got = 0;
    while got < MAGIC_LEN {
        match source.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..got];
    let whole = Prefixed {
        head: head.to_vec(),
        given: 0,
        source,
    };
    let Some(format) = Compression::detect(head) else {
        return Ok(Opened {
            reader: Box::new(whole),
            compression: None,
            source: None,
        });
    };
    let state = Arc::new(SourceState::default());
    let counted = BufReader::with_capacity(
        SOURCE_BUFFER,
        Counted {
            inner: whole,
            state: Arc::clone(&state),
        },
    );
    let decoder: Box<dyn Read + Send> = match format {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(counted)),
        Compression::Zstd => Box::new(ZstdStream::new(counted)?),
        Compression::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_LIMIT,
                liblzma::stream::CONCATENATED,
            )
            .map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(counted, stream))
        }
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(counted)),
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(counted)),
    };
    Ok(Opened {
        reader: Box::new(Decoded {
            decoder,
            format,
            state: Arc::clone(&state),
            pending: None,
            stop,
        }),
        compression: Some(format),
        source: Some(state),
    })
}

/// A source whose first bytes were read to look at them, given back first.
/// The read that gives them back reads on from the source into the rest of
/// the buffer, so the first chunk is a whole one and every later `read()`
/// starts at a multiple of the chunk size in the file. Reads at the file
/// offset the magic left (6) ran 3× slower here: the kernel's copy from the
/// page cache is slow when source and destination are not equally aligned
/// (`readpass` over 1.5 GB: 0.67 s against 0.16 s).
struct Prefixed {
    head: Vec<u8>,
    given: usize,
    source: Box<dyn Read + Send>,
}

impl Read for Prefixed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.head[self.given..];
        if rest.is_empty() {
            return self.source.read(buf);
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.given += n;
        if n == buf.len() {
            return Ok(n);
        }
        // An error here comes again at the next read, after the head.
        match self.source.read(&mut buf[n..]) {
            Ok(more) => Ok(n + more),
            Err(_) => Ok(n),
        }
    }
}

/// What the decoder's source has done: how far it read, and whether the
/// last error came from it (and not from the decoder).
#[derive(Debug, Default)]
pub(super) struct SourceState {
    read: AtomicU64,
    failed: AtomicBool,
}

impl SourceState {
    /// Bytes the source has given the decoder so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// The source under a decoder: counts the bytes it gives and marks its own
/// failures.
struct Counted {
    inner: Prefixed,
    state: Arc<SourceState>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let got = self.inner.read(buf);
        match &got {
            Ok(n) => {
                self.state.read.fetch_add(*n as u64, Ordering::Relaxed);
            }
            Err(e) if e.kind() != io::ErrorKind::Interrupted => {
                self.state.failed.store(true, Ordering::Relaxed);
            }
            Err(_) => {}
        }
        got
    }
}

/// zstd frames, one after another, decoded so that an error comes after the
/// bytes decoded before it. zstd reports no output from a call that fails,
/// and checks a frame's checksum in the call that decodes its last block if
/// both are in its input: a bad checksum would hide a whole block (up to
/// 128 KiB) before it. So each call gets at most the input zstd asks for
/// next (its hint: the next block, or the checksum alone).
struct ZstdStream<R> {
    source: R,
    decoder: zstd::stream::raw::Decoder<'static>,
    /// zstd's hint of the input it needs next.
    want: usize,
    /// Input was given since the last frame ended: the end of the source
    /// now would cut a frame.
    in_frame: bool,
    /// An error found after the bytes returned last.
    pending: Option<io::Error>,
}

impl<R: BufRead> ZstdStream<R> {
    fn new(source: R) -> io::Result<Self> {
        Ok(ZstdStream {
            source,
            // Refuses frames whose window is over 128 MiB (zstd's default
            // limit): memory stays bounded whatever the stream says.
            decoder: zstd::stream::raw::Decoder::new()?,
            want: usize::MAX,
            in_frame: false,
            pending: None,
        })
    }
}

impl<R: BufRead> Read for ZstdStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.source.fill_buf()?;
            if input.is_empty() {
                if self.in_frame {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the stream ends inside a frame",
                    ));
                }
                return Ok(0);
            }
            let mut src = InBuffer::around(&input[..input.len().min(self.want)]);
            let mut dst = OutBuffer::around(buf);
            let result = self.decoder.run(&mut src, &mut dst);
            let (used, written) = (src.pos(), dst.pos());
            self.source.consume(used);
            match result {
                // 0: the frame is decoded and flushed; the next byte, if
                // any, starts another frame.
                Ok(hint) => {
                    self.in_frame = hint != 0;
                    self.want = if hint == 0 { usize::MAX } else { hint };
                    if hint == 0 {
                        self.decoder.reinit()?;
                    }
                }
                Err(e) if written > 0 => self.pending = Some(e),
                Err(e) => return Err(e),
            }
            // Input is never empty here and the output has room, so a call
            // that writes nothing has taken input: the loop advances.
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// A decoder whose reads fill the buffer they are given (decoders return a
/// few KiB a call; the read-ahead thread's chunks are 1 MiB), and whose
/// errors say whether the source or the stream failed.
struct Decoded {
    decoder: Box<dyn Read + Send>,
    format: Compression,
    state: Arc<SourceState>,
    /// An error met after some bytes of a read: returned by the next read,
    /// so the bytes before it arrive first.
    pending: Option<io::Error>,
    /// Raised when nobody reads on: checked between steps.
    stop: Arc<AtomicBool>,
}

impl Decoded {
    /// The source's own error as it is; anything else as [`Damaged`].
    fn classify(&self, e: io::Error) -> io::Error {
        if self.state.failed.swap(false, Ordering::Relaxed) {
            return e;
        }
        io::Error::new(
            io::ErrorKind::InvalidData,
            Damaged {
                format: self.format,
                message: e.to_string(),
            },
        )
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut filled = 0;
        while filled < buf.len() && !self.stop.load(Ordering::Relaxed) {
            let step = buf.len().min(filled + DECODE_STEP);
            match self.decoder.read(&mut buf[filled..step]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let e = self.classify(e);
                    if filled == 0 {
                        return Err(e);
                    }
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::{
        source::{testing::FailAfter, CaptureReader},
        Error,
    };

    /// A real classic pcap (a SYN scan, 148 KB), the reference for every
    /// compressed copy.
    fn capture() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ndpi-synscan.pcap"
        );
        std::fs::read(path).unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn zstd(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(bytes, 1).unwrap()
    }

    /// Time, original length and data of one packet.
    type Packet = (u64, u32, Vec<u8>);

    /// Every packet, and the error that ended the walk.
    fn walk(source: impl Read + Send + 'static) -> (Vec<Packet>, Option<Error>) {
        let mut reader = match CaptureReader::from_reader(Box::new(source), "t".into()) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut got = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => got.push((p.ts.nanos(), p.orig_len, p.data.to_vec())),
                Ok(None) => return (got, None),
                Err(e) => return (got, Some(e)),
            }
        }
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(
            Compression::detect(&[0x1f, 0x8b, 8, 0]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::detect(b"\xfd7zXZ\x00"), Some(Compression::Xz));
        assert_eq!(Compression::detect(b"BZh9"), Some(Compression::Bzip2));
        assert_eq!(
            Compression::detect(&[4, 0x22, 0x4d, 0x18]),
            Some(Compression::Lz4)
        );
        // pcap, pcapng, a short file, xz's magic one byte short.
        assert_eq!(Compression::detect(&0xa1b2_c3d4u32.to_le_bytes()), None);
        assert_eq!(Compression::detect(&0x0a0d_0d0au32.to_le_bytes()), None);
        assert_eq!(Compression::detect(&[0x1f]), None);
        assert_eq!(Compression::detect(b"\xfd7zXZ"), None);
    }

    #[test]
    fn gzip_and_zstd_give_the_packets_of_the_plain_capture() {
        let plain = capture();
        let (want, end) = walk(Cursor::new(plain.clone()));
        assert!(end.is_none() && want.len() > 1000, "{end:?} {}", want.len());
        for (format, bytes) in [
            (Compression::Gzip, gzip(&plain)),
            (Compression::Zstd, zstd(&plain)),
        ] {
            let reader =
                CaptureReader::from_reader(Box::new(Cursor::new(bytes.clone())), "t".into())
                    .unwrap();
            assert_eq!(reader.compression(), Some(format));
            let (got, end) = walk(Cursor::new(bytes));
            assert!(end.is_none(), "{format}: {end:?}");
            assert!(got == want, "{format}: packets differ");
        }
    }

    #[test]
    fn concatenated_members_read_as_one_capture() {
        let plain = capture();
        let (half_a, half_b) = plain.split_at(plain.len() / 2);
        let mut two = gzip(half_a);
        two.extend(gzip(half_b));
        assert_eq!(walk(Cursor::new(two)).0, walk(Cursor::new(plain.clone())).0);
        let mut two = zstd(half_a);
        two.extend(zstd(half_b));
        assert_eq!(walk(Cursor::new(two)).0, walk(Cursor::new(plain)).0);
    }

    #[test]
    fn a_cut_stream_is_damage_at_the_decompressed_offset_after_every_packet_before_it() {
        let plain = capture();
        let (all, _) = walk(Cursor::new(plain.clone()));
        for compressed in [gzip(&plain), zstd(&plain)] {
            // zstd gives nothing of a block until it is whole (128 KiB
            // here): cut into the last one.
            let cut = compressed[..compressed.len() * 9 / 10].to_vec();
            let (got, end) = walk(Cursor::new(cut));
            let Some(Error::Decompress { offset, format, .. }) = end else {
                panic!("{end:?}");
            };
            // The packets before the damage, in order, none invented.
            assert!(!got.is_empty() && got.len() < all.len(), "{}", got.len());
            assert_eq!(got[..], all[..got.len()]);
            // The offset is in the decompressed capture: past the packets
            // read, before its end.
            let read: usize = 24 + got.iter().map(|(_, _, d)| 16 + d.len()).sum::<usize>();
            assert!(
                (read as u64) <= offset && offset < plain.len() as u64,
                "{format} {offset}"
            );
        }
    }

    /// A wrong checksum is found at the end of the stream, after every
    /// packet (garbage inside a block may be found earlier, by the capture
    /// parser, as a corrupt record: damage either way).
    #[test]
    fn a_wrong_checksum_is_damage_at_the_end() {
        let plain = capture();
        let (all, _) = walk(Cursor::new(plain.clone()));
        let mut zstd_checked = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        zstd_checked.include_checksum(true).unwrap();
        zstd_checked.write_all(&plain).unwrap();
        for (format, mut bytes) in [
            (Compression::Gzip, gzip(&plain)),
            (Compression::Zstd, zstd_checked.finish().unwrap()),
        ] {
            // gzip: CRC-32 then length; zstd: the last 4 bytes are the checksum.
            let at = bytes.len() - if format == Compression::Gzip { 8 } else { 4 };
            bytes[at] ^= 0x5a;
            let (got, end) = walk(Cursor::new(bytes));
            let Some(Error::Decompress {
                format: f, offset, ..
            }) = end
            else {
                panic!("{format}: {end:?}");
            };
            assert_eq!((f, offset), (format, plain.len() as u64));
            assert!(got == all, "{format}: every packet before the damage");
        }
    }

    #[test]
    fn a_failing_source_stays_an_io_error() {
        let plain = capture();
        let compressed = gzip(&plain);
        let cut = compressed[..compressed.len() / 2].to_vec();
        let (_, end) = walk(FailAfter(Cursor::new(cut)));
        let Some(Error::Io { source, .. }) = end else {
            panic!("{end:?}");
        };
        assert_eq!(source.to_string(), "disk on fire");
    }

    #[test]
    fn progress_counts_compressed_bytes() {
        let bytes = gzip(&capture());
        let mut reader =
            CaptureReader::from_reader(Box::new(Cursor::new(bytes.clone())), "t".into()).unwrap();
        while reader.next_packet().unwrap().is_some() {}
        assert_eq!(reader.source_bytes_read(), bytes.len() as u64);
        assert_eq!(reader.bytes_consumed(), capture().len() as u64);
    }

    /// The first read gives the magic back and goes on reading: a whole
    /// chunk, so later reads stay aligned in the file (see [`Prefixed`]).
    #[test]
    fn the_first_read_of_a_plain_source_is_a_whole_buffer() {
        let plain = capture();
        let mut opened = open(Box::new(Cursor::new(plain.clone())), Arc::default()).unwrap();
        assert_eq!(opened.compression, None);
        let mut buf = vec![0; 4096];
        assert_eq!(opened.reader.read(&mut buf).unwrap(), 4096);
        assert_eq!(buf, plain[..4096]);
        let mut rest = Vec::new();
        opened.reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, plain[4096..]);
    }

    #[test]
    fn not_a_capture_inside_says_so() {
        let (_, end) = walk(Cursor::new(gzip(b"hello, not a capture")));
        let e = end.unwrap();
        assert!(e.to_string().contains("after gzip decompression"), "{e}");
    }
}
