#!/bin/sh
# Installs the Debian packages mirrorflow needs, only those missing, as root
# or through sudo:
#   sh scripts/deps.sh        libpcap-dev (mirrorflow links libpcap for live capture)
#   sh scripts/deps.sh test   also what the test suite starts: tshark, iproute2,
#                             tcpreplay, python3 + pip, curl, GNU time, Java 17+,
#                             chromium (the report test)
#                             (Spark), the five compressors, nfdump and pmacct
#                             (IPFIX collectors), and the Python packages
#                             duckdb, pyarrow, pyspark and chdb (pinned),
#                             mmdb-writer (pinned, for the GeoIP tests)
set -eu

packages=libpcap-dev
if [ "${1:-}" = test ]; then
    # tests/live.rs: namespaces, veth pairs and tc (iproute2), fixtures sent
    # onto a veth (tcpreplay), senders and peers (python3), the metrics
    # endpoint (curl); tests/compressed.rs: gzip, zstd, xz, bzip2, lz4 and
    # GNU time (peak memory); tests/interop/check.py: pip, Java for Spark;
    # tests/ipfix.rs: the collectors nfcapd (nfdump) and nfacctd (pmacct);
    # tests/analyze.rs: DuckDB and ClickHouse (chdb) beside `mirrorflow top`;
    # tests/report.rs: headless Chromium opens `mirrorflow report`'s page.
    packages="$packages tshark iproute2 tcpreplay python3 python3-pip curl time gzip zstd xz-utils bzip2 lz4 nfdump pmacct chromium"
    java_ok=no
    if command -v java >/dev/null 2>&1; then
        # "17.0.15" or "1.8.0_392": the feature release is the first field,
        # except for the old "1.x" scheme.
        version=$(java -version 2>&1 | sed -n 's/.*version "\([0-9.]*\).*/\1/p' | head -n 1)
        major=${version%%.*}
        if [ -n "$major" ] && [ "$major" -ge 17 ] 2>/dev/null; then
            java_ok=yes
        fi
    fi
    [ "$java_ok" = yes ] || packages="$packages default-jre-headless"
fi

missing=
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        as_root=
    elif command -v sudo >/dev/null 2>&1; then
        as_root=sudo
    else
        echo "scripts/deps.sh: missing Debian packages:$missing; run this as root or install sudo" >&2
        exit 1
    fi
    echo "scripts/deps.sh: installing$missing" >&2
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

if [ "${1:-}" = test ]; then
    if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then
        echo "scripts/deps.sh: Spark needs Java 17 or later; 'java -version' says: $(java -version 2>&1 | head -n 1)" >&2
        exit 1
    fi
    # Versions the interop test was checked with. As root they go to the
    # system's site-packages, as a user to ~/.local.
    python3 -m pip install -q --break-system-packages duckdb==2.0.1 pyarrow==26.0.1 pyspark==4.3.0 chdb==4.4.0
    # The GeoIP tests build their own small MaxMind DBs (tests/fixtures/make_mmdb.py).
    python3 -m pip install -q --break-system-packages mmdb-writer==0.2.7
fi
