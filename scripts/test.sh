#!/bin/sh
# The whole test suite, as CI runs it (.ci/run calls this script):
# the packages it needs (scripts/deps.sh test), then formatting, lints,
# unit, property and integration tests (those that need root only as root),
# and a short run of every fuzz target.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh test
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The GeoIP tests need python3's mmdb-writer (deps.sh installed it above) to
# build their databases, so a plain `cargo test` lists them as ignored.
cargo test --locked -p export -- --ignored geoip
# The tests that need root (live capture in network namespaces, a full
# tmpfs) are #[ignore]d by a plain `cargo test`, and run here when we are.
if [ "$(id -u)" = 0 ]; then
    cargo test --locked --test integration -- --ignored
else
    cargo test --locked --test integration -- --ignored annotate::geoip
    echo "scripts/test.sh: not root, so the tests that need it (listed as ignored above) did not run" >&2
fi
capture/fuzz/smoke.sh
