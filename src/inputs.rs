//! Turning the command line's INPUT list into capture sources, in order.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use capture::{source::CaptureReader, Timestamp};

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A capture file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// Opens the capture (reads and checks its header).
    pub fn open(&self) -> Result<CaptureReader, capture::Error> {
        match self {
            Input::File(path) => CaptureReader::open(path),
            Input::Stdin => {
                CaptureReader::from_reader(Box::new(std::io::stdin()), PathBuf::from("-"))
            }
        }
    }

    /// The name to put in messages.
    pub fn name(&self) -> &Path {
        match self {
            Input::File(path) => path,
            Input::Stdin => Path::new("-"),
        }
    }

    /// Size in bytes, for the progress bar (unknown for stdin).
    pub fn len(&self) -> Option<u64> {
        match self {
            Input::File(path) => fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin => None,
        }
    }
}

/// Expands folders into the captures they hold, ordered by first packet time
/// (cli.md), and checks that every input opens, so a bad input stops the run
/// before any record is written.
pub fn resolve(args: &[PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for arg in args {
        if arg == Path::new("-") {
            if args.len() > 1 {
                bail!("'-' (stdin) cannot be combined with other inputs");
            }
            inputs.push(Input::Stdin);
        } else if arg.is_dir() {
            inputs.extend(folder(arg)?);
        } else {
            let input = Input::File(arg.clone());
            input.open()?;
            inputs.push(input);
        }
    }
    Ok(inputs)
}

/// Every capture in a folder, in time order of its first packet; files that
/// are not captures are skipped with a warning.
fn folder(dir: &Path) -> Result<Vec<Input>> {
    let mut found: Vec<(Timestamp, PathBuf)> = Vec::new();
    let entries =
        fs::read_dir(dir).with_context(|| format!("cannot read folder '{}'", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read folder '{}'", dir.display()))?
            .path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || !path.is_file() {
            continue;
        }
        match CaptureReader::open(&path) {
            Ok(mut reader) => {
                // A capture whose first packet is damaged still sorts (first);
                // the damage is reported when it is read.
                let first = match reader.next_packet() {
                    Ok(Some(p)) => p.ts,
                    _ => Timestamp(0),
                };
                found.push((first, path));
            }
            Err(capture::Error::NotACapture { .. }) => {
                eprintln!(
                    "mirrorflow: skipping '{}': not a pcap or pcapng capture",
                    path.display()
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    if found.is_empty() {
        bail!("folder '{}' holds no pcap or pcapng capture", dir.display());
    }
    found.sort();
    Ok(found
        .into_iter()
        .map(|(_, path)| Input::File(path))
        .collect())
}
