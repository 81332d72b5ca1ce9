//! Byte sources the readers' tests share.

use std::io::{self, Cursor, Read};

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
