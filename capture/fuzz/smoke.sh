#!/bin/sh
# A short run of every fuzz target (the CI smoke test; real runs are 30 min
# each, see README.md). cargo fuzz needs nightly flags: RUSTC_BOOTSTRAP=1
# lets the stable toolchain accept them. Seeds are read, never written: new
# inputs go to the ignored fuzz/corpus/<target>.
set -eu
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
SECS=${FUZZ_SECS:-15}
for target in decode read_capture differential replay; do
    seeds=fuzz/seeds/$target
    [ "$target" = replay ] && seeds=fuzz/seeds/read_capture
    mkdir -p "fuzz/corpus/$target"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus/$target" "$seeds" -- \
        -max_total_time="$SECS" -print_final_stats=1 2>&1 | grep -E "^(Done|stat::number_of_executed_units|==.*ERROR|SUMMARY)" || true
    # libFuzzer exits non-zero on a crash; `set -e` does not see it through the pipe.
    if ls "fuzz/artifacts/$target"/crash-* "fuzz/artifacts/$target"/timeout-* "fuzz/artifacts/$target"/oom-* >/dev/null 2>&1; then
        echo "fuzz target $target found a failing input: capture/fuzz/artifacts/$target" >&2
        exit 1
    fi
done
