//! Encoding and compressing record batches on a thread of their own.
//!
//! Turning Arrow arrays into Parquet pages (dictionaries, statistics, zstd)
//! is most of a Parquet writer's work. Done on the thread that also merges
//! and sorts what the shards close, it set the pace of a run with many
//! records (docs/design.md, "Measured choices"). The writer hands each batch
//! to this thread and goes on with the next one; at most [`queue`] batches
//! wait, which bounds the memory.
//!
//! What needs the thread's answer waits for it: committing a file (footer,
//! fsync, rename) and the size of the file being written (for
//! `--rotate-mb`). A batch that fails to encode or write is reported by the
//! next call, naming the file; the file's temporary name is removed. Nothing
//! here panics; a panic of the thread itself is passed on to the writer.

use std::{
    io,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, SyncSender},
        Arc,
    },
    thread::{self, JoinHandle},
};

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;

use super::io_or_parquet;
use crate::{AtomicFile, Error};

/// Batches waiting for the thread at most, when the writer has a thread of
/// its own (`on_reading_thread` false) or shares the one that reads the
/// packets. A closing hands over a burst of batches. A writer thread of its
/// own may wait for the encoder while the reader goes on, and a short queue
/// keeps each batch in cache until it is encoded; a writer that also reads
/// would stop reading, so it gets room for a closing's burst (up to 128
/// batches of 4 096 records, about 60 MB; docs/design.md, "Measured choices").
pub fn queue(on_reading_thread: bool) -> usize {
    if on_reading_thread {
        128
    } else {
        2
    }
}

/// A Parquet file being written under its temporary name.
#[derive(Debug)]
pub struct FileWriter {
    /// The final path, for messages.
    pub path: PathBuf,
    /// The encoder, writing into the atomic file.
    pub writer: ArrowWriter<AtomicFile>,
}

impl FileWriter {
    /// Writes the footer, then commits the file (fsync, rename, folder fsync).
    fn commit(mut self) -> Result<(), Error> {
        self.writer
            .finish()
            .map_err(|e| io_or_parquet(&self.path, e, true))?;
        self.writer.inner_mut().commit()
    }

    /// Bytes written so far plus the encoded estimate of the row group in progress.
    fn size(&self) -> u64 {
        (self.writer.bytes_written() + self.writer.in_progress_size()) as u64
    }
}

enum Job {
    /// Write the following batches into this file.
    Open(Box<FileWriter>),
    Write(RecordBatch),
    /// Reply with the size of the file being written, or the failure.
    Size(SyncSender<Result<u64, Error>>),
    /// Close the file being written and reply how it went.
    Commit(SyncSender<Result<(), Error>>),
}

/// The handle of the encoding thread. Dropped, it stops the thread and
/// waits for it, so a file not committed has lost its temporary name when
/// the drop returns.
#[derive(Debug)]
pub struct Encoder {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Set by the thread when a job failed; the next call collects the error.
    failed: Arc<AtomicBool>,
}

impl Encoder {
    /// Starts the thread, with room for `queue` batches.
    pub fn start(queue: usize) -> io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel(queue);
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let thread = thread::Builder::new()
            .name("parquet".into())
            .spawn(move || run(&queue, &flag))?;
        Ok(Encoder {
            jobs: Some(jobs),
            thread: Some(thread),
            failed,
        })
    }

    /// Writes the following batches into `file`; the file before it must
    /// have been committed.
    pub fn open(&mut self, file: FileWriter) -> Result<(), Error> {
        self.send(Job::Open(Box::new(file)));
        self.check()
    }

    /// Queues a batch for the file opened last.
    pub fn write(&mut self, batch: RecordBatch) -> Result<(), Error> {
        self.check()?;
        self.send(Job::Write(batch));
        Ok(())
    }

    /// The size of the file being written, once every queued batch is in it.
    pub fn size(&mut self) -> Result<u64, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Size(reply));
        self.answer(&answer)
    }

    /// Writes the footer of the file being written and commits it.
    pub fn commit(&mut self) -> Result<(), Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Job::Commit(reply));
        self.answer(&answer)
    }

    /// The failure of an earlier batch, if any.
    pub fn check(&mut self) -> Result<(), Error> {
        if self.failed.load(Ordering::Relaxed) {
            self.size().map(drop)
        } else {
            Ok(())
        }
    }

    fn send(&mut self, job: Job) {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job));
        if !matches!(sent, Some(Ok(()))) {
            self.rethrow();
        }
    }

    fn answer<T>(&mut self, answer: &Receiver<Result<T, Error>>) -> Result<T, Error> {
        match answer.recv() {
            Ok(result) => result,
            Err(_) => self.rethrow(),
        }
    }

    /// The thread hung up, which it does only by panicking: pass the panic on.
    fn rethrow(&mut self) -> ! {
        self.jobs = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            _ => unreachable!("the Parquet encoder stopped without a panic"),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: jobs in order until the handle hangs up.
fn run(queue: &Receiver<Job>, failed: &AtomicBool) {
    let mut file: Option<FileWriter> = None;
    let mut failure: Option<Error> = None;
    for job in queue {
        match job {
            Job::Open(next) => file = Some(*next),
            Job::Write(batch) => {
                let Some(open) = file.as_mut().filter(|_| failure.is_none()) else {
                    continue;
                };
                if let Err(e) = open.writer.write(&batch) {
                    failure = Some(io_or_parquet(&open.path, e, false));
                    failed.store(true, Ordering::Relaxed);
                    // Dropped: its temporary name is removed.
                    file = None;
                }
            }
            Job::Size(reply) => {
                let size = match failure.take() {
                    Some(e) => Err(e),
                    None => Ok(file.as_ref().map_or(0, FileWriter::size)),
                };
                failed.store(false, Ordering::Relaxed);
                let _ = reply.send(size);
            }
            Job::Commit(reply) => {
                let done = match (failure.take(), file.take()) {
                    (Some(e), _) => Err(e),
                    (None, Some(open)) => open.commit(),
                    (None, None) => Ok(()),
                };
                failed.store(false, Ordering::Relaxed);
                let _ = reply.send(done);
            }
        }
    }
}
