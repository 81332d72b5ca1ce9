//! Turning the command line's INPUT list into capture sources, in order.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};
use capture::source::Input;

/// Expands folders into the captures they hold and orders every capture by
/// its first packet's time, for [`capture::source::Merge`] (docs/cli.md, "`replay`"). Checks
/// that every input opens, so a bad input stops the run before any record is
/// written.
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
            inputs.push(Input::file(arg.clone())?);
        }
    }
    // Stable: captures starting at the same time keep the command line's order.
    inputs.sort_by_key(Input::first);
    Ok(inputs)
}

/// Every capture in a folder; files that are not captures are skipped with
/// a warning.
fn folder(dir: &Path) -> Result<Vec<Input>> {
    let mut found = Vec::new();
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
        match Input::file(path.clone()) {
            Ok(input) => found.push(input),
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
    // Captures starting at the same time are taken in name order.
    found.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(found)
}
