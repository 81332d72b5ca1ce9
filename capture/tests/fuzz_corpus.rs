//! Replays the fuzz seeds and every saved crash input through the fuzz
//! targets' own checks, on the stable toolchain and without libFuzzer, so that
//! `cargo test -p capture` catches a regression that fuzzing once found.
//!
//! Inputs: `fuzz/seeds/<target>/*` (seed corpora) and
//! `fuzz/regressions/<target>-<name>` (minimised crash inputs). The checks are
//! `fuzz/fuzz_targets/common.rs`, the file the libFuzzer targets call.

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

use std::{
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
};

/// A target's check: arbitrary bytes in, a panic on a broken promise.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 3] = [
    ("decode", common::decode_frame),
    ("read_capture", common::read_capture),
    ("differential", common::differential),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn target(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(t, _)| *t == name).map(|(_, f)| *f)
}

/// Files directly in `dir`, sorted (none if it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every (target, file) pair, collecting failures instead of stopping at
/// the first, and fails with the whole list.
fn replay(cases: &[(Check, PathBuf)]) {
    let mut failures = Vec::new();
    for (run, path) in cases {
        let data = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn seeds_pass_every_target_check() {
    let mut cases = Vec::new();
    for (name, run) in TARGETS {
        let seeds = files(&fuzz_dir().join("seeds").join(name));
        // A renamed or emptied seed folder must not turn this into a no-op.
        assert!(
            seeds.len() >= 5,
            "only {} seeds in fuzz/seeds/{name}",
            seeds.len()
        );
        cases.extend(seeds.into_iter().map(|p| (run, p)));
    }
    replay(&cases);
}

#[test]
fn saved_crash_inputs_stay_fixed() {
    let mut cases = Vec::new();
    for path in files(&fuzz_dir().join("regressions")) {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        // `replay` needs flowagg and export, which this crate's tests cannot
        // use: the integration tests in tests/robustness.rs replay its
        // inputs, through its checks and through the binary.
        if file.starts_with("README") || file.starts_with("replay-") {
            continue;
        }
        // `<target>-<short-name>`; target names contain `_`, never `-`.
        let name = file.split('-').next().unwrap_or_default();
        let run = target(name).unwrap_or_else(|| {
            panic!("fuzz/regressions/{file}: no target {name:?} (expected <target>-<name>)")
        });
        cases.push((run, path));
    }
    replay(&cases);
}

#[test]
fn link_selector_reaches_every_link_type() {
    // Seeds spell the link type directly; other values still map somewhere.
    for &value in &common::LINK_TYPES {
        assert_eq!(common::link_for(value.to_be_bytes()).0, value);
    }
    let mut reached: Vec<u16> = (0..=u16::MAX)
        .map(|v| common::link_for(v.to_be_bytes()).0)
        .collect();
    reached.sort_unstable();
    reached.dedup();
    assert_eq!(reached.len(), common::LINK_TYPES.len());
    assert!(!capture::LinkType(common::UNSUPPORTED_LINK).is_supported());
}
