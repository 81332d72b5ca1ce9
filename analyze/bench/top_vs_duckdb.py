"""`mirrorflow top` against DuckDB on one Parquet folder: medians of 5 runs.

usage: python3 top_vs_duckdb.py MIRRORFLOW[,MIRRORFLOW...] DIR [SINCE UNTIL]

Each query runs as `mirrorflow top DIR ... --format csv` (a process, start-up
included) with each binary named (a build before and after a change) and as
the same SQL in one DuckDB connection (no start-up), five times each,
alternating run by run. The load average is printed with each query, as the
machine is shared. SINCE/UNTIL (RFC 3339) bound the one-hour query; by
default the second hour of the data. Made the figures in docs/analyze.md
("Speed").
"""

import datetime
import os
import statistics
import subprocess
import sys
import time

import duckdb

BINARIES, DIR = sys.argv[1].split(","), sys.argv[2]
GLOB = f"{DIR}/**/*.parquet"
con = duckdb.connect()


def hour():
    if len(sys.argv) > 4:
        return sys.argv[3], sys.argv[4]
    first = con.sql(f"SELECT min(epoch(interval_start)) FROM read_parquet('{GLOB}')").fetchall()[0][0]
    start = (int(first) // 3600 + 1) * 3600
    fmt = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return fmt(start), fmt(start + 3600)


SINCE, UNTIL = hour()
TALKERS = "connection.src_ip, connection.dest_ip, connection.dest_port, connection.protocol"
QUERIES = [
    ("top talkers (4-tuple) by bytes", [], f"SELECT {TALKERS}, sum(bytes_sent) AS m FROM read_parquet('{GLOB}') GROUP BY ALL ORDER BY m DESC LIMIT 10"),
    ("destination ports by packets, TCP", ["--by", "dest_port", "--metric", "packets", "--where", "protocol=tcp"],
     f"SELECT connection.dest_port, sum(packets_sent) AS m FROM read_parquet('{GLOB}') WHERE connection.protocol = 6 GROUP BY ALL ORDER BY m DESC LIMIT 10"),
    ("top talkers, one hour", ["--since", SINCE, "--until", UNTIL],
     f"SELECT {TALKERS}, sum(bytes_sent) AS m FROM read_parquet('{GLOB}', hive_partitioning=true) "
     f"WHERE interval_start >= TIMESTAMPTZ '{SINCE}' AND interval_start < TIMESTAMPTZ '{UNTIL}' GROUP BY ALL ORDER BY m DESC LIMIT 10"),
]

print(f"{'query':40}", *(f"{os.path.basename(b):>15}" for b in BINARIES), f"{'DuckDB':>10}  load")
for name, flags, sql in QUERIES:
    ours, theirs = {b: [] for b in BINARIES}, []
    for _ in range(5):
        for binary in BINARIES:
            t = time.perf_counter()
            subprocess.run([binary, "top", DIR, "--format", "csv", *flags], check=True, capture_output=True)
            ours[binary].append(time.perf_counter() - t)
        t = time.perf_counter()
        con.sql(sql).fetchall()
        theirs.append(time.perf_counter() - t)
    figures = (f"{statistics.median(ours[b]):14.3f}s" for b in BINARIES)
    print(f"{name:40}", *figures, f"{statistics.median(theirs):9.3f}s  {os.getloadavg()[0]:.1f}")
