//! Outputs that never exist half-written under their final name
//! (docs/record.md, "Files and runs").

use std::{
    fs::{self, File},
    io::{self, BufWriter, Stdout, Write},
    path::{Path, PathBuf},
};

use crate::Error;

/// A file written under a temporary name in its target folder, then flushed,
/// fsynced and renamed: a reader scanning the folder never sees a partial file.
/// Dropped without [`AtomicFile::commit`], the temporary file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file now, so an unwritable folder fails before
    /// any packet is read.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let name = path.file_name().ok_or_else(|| Error::Create {
            path: path.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
        })?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let file = File::create(&tmp).map_err(|source| Error::Create {
            path: path.to_owned(),
            source,
        })?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp,
            file: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, fsyncs, renames to the final name and fsyncs the folder.
    /// A failure before the rename removes the temporary file. Taking
    /// `&mut self` lets a writer that owns the file (Parquet's) commit it
    /// after writing its footer; once committed, writes go nowhere and
    /// dropping the file leaves it in place.
    pub fn commit(&mut self) -> Result<(), Error> {
        let finish = |source| Error::Finish {
            path: self.path.clone(),
            source,
        };
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        let renamed = file
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.tmp, &self.path));
        if let Err(e) = renamed {
            let _ = fs::remove_file(&self.tmp);
            return Err(finish(e));
        }
        let folder = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(folder)
            .and_then(|d| d.sync_all())
            .map_err(finish)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().map_or(Ok(0), |f| f.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Where records go: stdout (`-`), a device or pipe, or an atomic file.
#[derive(Debug)]
pub enum Output {
    /// Standard output, buffered.
    Stdout(BufWriter<Stdout>),
    /// Something that exists and is not a regular file (`/dev/null`, a FIFO):
    /// written in place, since renaming over it would replace it.
    Stream(PathBuf, BufWriter<File>),
    /// A file that appears when the run finishes.
    File(AtomicFile),
}

impl Output {
    /// Opens `-` as stdout, a device or FIFO in place, anything else as an
    /// atomic file.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if path == Path::new("-") {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            )));
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(Error::Create {
                path: path.to_owned(),
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a folder, not a file"),
            }),
            // An earlier run's records are never replaced silently.
            Ok(meta) if meta.is_file() => Err(Error::Create {
                path: path.to_owned(),
                source: io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists already; remove it or choose another name",
                ),
            }),
            Ok(meta) if !meta.is_file() => {
                let file = fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|source| Error::Create {
                        path: path.to_owned(),
                        source,
                    })?;
                Ok(Output::Stream(
                    path.to_owned(),
                    BufWriter::with_capacity(1 << 16, file),
                ))
            }
            _ => AtomicFile::create(path).map(Output::File),
        }
    }

    /// The name to put in messages.
    pub fn path(&self) -> &Path {
        match self {
            Output::Stdout(_) => Path::new("-"),
            Output::Stream(path, _) => path,
            Output::File(f) => f.path(),
        }
    }

    /// Turns a write failure into an error naming this output.
    pub fn write_error(&self, source: io::Error) -> Error {
        Error::Write {
            path: self.path().to_owned(),
            source,
        }
    }

    /// Flushes stdout or commits the file.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Output::Stdout(mut out) => out.flush().map_err(|source| Error::Finish {
                path: PathBuf::from("-"),
                source,
            }),
            Output::Stream(path, mut out) => {
                out.flush().map_err(|source| Error::Finish { path, source })
            }
            Output::File(mut file) => file.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::Stream(_, out) => out.write(buf),
            Output::File(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::Stream(_, out) => out.flush(),
            Output::File(file) => file.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mirrorflow-export-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = scratch("commit");
        let path = dir.join("flows.json");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"{}\n").unwrap();
        assert!(!path.exists());
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "only the temporary file"
        );
        f.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{}\n");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            1,
            "temporary file renamed away"
        );
    }

    #[test]
    fn atomic_file_dropped_uncommitted_leaves_nothing() {
        let dir = scratch("drop");
        let f = AtomicFile::create(&dir.join("flows.json")).unwrap();
        drop(f);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        let mut out = Output::open(Path::new("/dev/null")).unwrap();
        assert!(matches!(out, Output::Stream(..)));
        out.write_all(b"{}\n").unwrap();
        out.finish().unwrap();
        assert!(
            !fs::metadata("/dev/null").unwrap().is_file(),
            "still the device"
        );
    }

    #[test]
    fn a_full_device_fails_naming_it() {
        let mut out = Output::open(Path::new("/dev/full")).unwrap();
        let err = out
            .write_all(&[b'x'; 1 << 17])
            .map_err(|e| out.write_error(e))
            .unwrap_err();
        assert!(err.to_string().contains("/dev/full"), "{err}");
    }

    #[test]
    fn a_folder_removed_before_the_end_fails_naming_the_path() {
        let dir = scratch("vanished");
        let path = dir.join("flows.json");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"{}\n").unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let err = f.commit().unwrap_err().to_string();
        assert!(err.contains("flows.json"), "{err}");
        assert!(!dir.exists(), "not recreated");
    }

    #[test]
    fn an_existing_file_is_refused_not_overwritten() {
        let dir = scratch("exists");
        let path = dir.join("flows.json");
        fs::write(&path, b"earlier records\n").unwrap();
        let err = Output::open(&path).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(err.to_string().contains("flows.json"), "{err}");
        assert!(cause.contains("exists already"), "{cause}");
        assert_eq!(fs::read(&path).unwrap(), b"earlier records\n");
    }

    #[test]
    fn create_in_missing_folder_names_the_path() {
        let dir = scratch("missing");
        let path = dir.join("nope").join("flows.json");
        let err = AtomicFile::create(&path).unwrap_err().to_string();
        assert!(err.contains("nope/flows.json"), "{err}");
    }
}
