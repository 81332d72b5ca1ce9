//! A byte stream cut into chunks for [`super::CaptureReader`], read on a
//! thread of its own so that the parsing thread only parses.
//!
//! Reading a cached capture file costs nearly nothing but the kernel's copy
//! from the page cache (a 1.5 GB file: ~0.16 s of `read()`). A thread named
//! `read-ahead` owns the `Read`, fills chunks and sends them over a bounded
//! channel; the parser takes each chunk whole as its buffer (no copy) and
//! sends back the one it has finished with, so the steady state allocates
//! nothing. Each chunk keeps `headroom` free bytes before its data, where the
//! parser puts the start of a record that began in the previous chunk.
//!
//! Errors come through the channel after the chunks read before them, so the
//! parser meets them at the same point in the stream as a direct `read()`
//! would. A panic in the reader is resumed on the parsing thread.
//!
//! Memory: at most `depth + 3` chunk buffers of `headroom + chunk` bytes (the
//! channel's `depth`, the one being filled, the parser's buffer and a chunk it
//! took in part), allocated on first need and then reused.
//!
//! Shutdown: dropping [`Chunks`] raises the stop flag (which a decompressing
//! reader checks between its steps) and disconnects the channel, so the
//! thread returns at its next step or send, dropping the reader, and waits up
//! to [`SHUTDOWN_WAIT`] for it: a file or a stream in memory is done within
//! one `read()` or one decompression step. On a pipe the `read()` in
//! progress waits for the writer, so after that wait the thread is left to
//! end by itself. (Left running, a thread still decompressing a large chunk
//! was reported as a leak by the fuzzers' leak checker.)

use std::{
    io::{self, Read},
    mem,
    ops::Range,
    panic,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use crossbeam_channel::{bounded, never, Receiver, RecvTimeoutError, Sender};

/// How long dropping [`Chunks`] waits for the thread to return.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(250);

/// Bytes of a stream in `buf[data]`; `buf[..data.start]` is free room for
/// the parser.
pub(super) struct Chunk {
    pub(super) buf: Vec<u8>,
    pub(super) data: Range<usize>,
}

/// The chunks of one stream, in order.
pub(super) struct Chunks {
    filled: Receiver<io::Result<Chunk>>,
    empty: Sender<Vec<u8>>,
    /// Joined at the end of the stream, to tell a panic from the end.
    thread: Option<JoinHandle<()>>,
    /// Raised when the parser goes away before the end.
    stop: Arc<AtomicBool>,
    /// Disconnected when the thread returns.
    exited: Receiver<()>,
    /// The part of a chunk the parser could not take yet.
    rest: Option<Chunk>,
    /// Length of every chunk buffer: the only buffers worth giving back.
    len: usize,
}

impl Chunks {
    /// Starts the `read-ahead` thread: `read()`s of at most `chunk` bytes,
    /// each after `headroom` free bytes, at most `depth` chunks ahead.
    /// `stop` is raised when the [`Chunks`] are dropped; `reader` may watch
    /// it too.
    pub(super) fn spawn(
        reader: Box<dyn Read + Send>,
        chunk: usize,
        headroom: usize,
        depth: usize,
        stop: Arc<AtomicBool>,
    ) -> io::Result<Chunks> {
        let len = headroom + chunk;
        let (filled_tx, filled) = bounded(depth);
        // Room for every chunk buffer that can exist, so a give-back never
        // finds the channel full.
        let (empty, empty_rx) = bounded(depth + 3);
        let (exited_tx, exited) = bounded::<()>(0);
        let stopped = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("read-ahead".into())
            .spawn(move || {
                let _exited = exited_tx;
                read_ahead(reader, headroom, len, &filled_tx, &empty_rx, &stopped);
            })?;
        Ok(Chunks {
            filled,
            empty,
            thread: Some(thread),
            stop,
            exited,
            rest: None,
            len,
        })
    }

    /// The next chunk (never empty), or `Ok(None)` at the end of the stream.
    /// Nothing comes after an error.
    pub(super) fn next(&mut self) -> io::Result<Option<Chunk>> {
        if let Some(rest) = self.rest.take() {
            return Ok(Some(rest));
        }
        match self.filled.recv() {
            Ok(chunk) => chunk.map(Some),
            // Disconnected: the thread returned at the end of the stream, or
            // panicked inside `read()`.
            Err(_) => {
                if let Some(Err(payload)) = self.thread.take().map(JoinHandle::join) {
                    panic::resume_unwind(payload);
                }
                Ok(None)
            }
        }
    }

    /// Keeps the untaken part of a chunk for the next [`Chunks::next`].
    pub(super) fn unread(&mut self, rest: Chunk) {
        self.rest = Some(rest);
    }

    /// Gives a buffer back for the thread to fill again (buffers of another
    /// size, grown for a large record, are dropped).
    pub(super) fn give_back(&self, buf: Vec<u8>) {
        if buf.len() == self.len {
            // Fails only once the thread has returned: the buffer is dropped.
            let _ = self.empty.try_send(buf);
        }
    }
}

impl Drop for Chunks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Disconnects the thread's sends now, not after this function.
        drop(mem::replace(&mut self.filled, never()));
        if let Some(thread) = self.thread.take() {
            // Disconnected: the thread is returning, so joining it is
            // immediate (a panic in it is of no interest now). A time-out:
            // it is blocked on a pipe, and is left to end by itself.
            if let Err(RecvTimeoutError::Disconnected) = self.exited.recv_timeout(SHUTDOWN_WAIT) {
                let _ = thread.join();
            }
        }
    }
}

/// The `read-ahead` thread: fills chunks until the end of the stream, the
/// first error, or the parser going away.
fn read_ahead(
    mut reader: Box<dyn Read + Send>,
    headroom: usize,
    len: usize,
    filled: &Sender<io::Result<Chunk>>,
    empty: &Receiver<Vec<u8>>,
    stop: &AtomicBool,
) {
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let buf = empty.try_recv().unwrap_or_else(|_| vec![0; len]);
        // At the end, returning drops `filled`: the parser sees the
        // disconnection after the chunks before it.
        let Some(chunk) = read_chunk(reader.as_mut(), buf, headroom).transpose() else {
            return;
        };
        let failed = chunk.is_err();
        if filled.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// One `read()` into `buf[headroom..]`, retried on EINTR; `Ok(None)` at the
/// end of the stream.
fn read_chunk(
    reader: &mut dyn Read,
    mut buf: Vec<u8>,
    headroom: usize,
) -> io::Result<Option<Chunk>> {
    loop {
        match reader.read(&mut buf[headroom..]) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                // `min` guards against a reader that claims more than it got.
                let end = headroom.saturating_add(n).min(buf.len());
                return Ok(Some(Chunk {
                    buf,
                    data: headroom..end,
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    // Through the reader, which owns the chunks: what matters is that its
    // drop and its caller see the thread's end.
    use std::io::{self, Read};

    use crate::source::{
        classic::PCAP_HEADER_LEN,
        testing::{payload, Pcap},
        CaptureReader,
    };

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
}
