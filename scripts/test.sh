#!/bin/sh
# The whole test suite, as CI runs it (.ci/run calls this script):
# the packages it needs (scripts/deps.sh test), then formatting, lints,
# unit, property and integration tests, and a short run of every fuzz target.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
capture/fuzz/smoke.sh
