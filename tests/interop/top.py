"""`mirrorflow top` against DuckDB and ClickHouse (chdb) on one Parquet folder.

usage: python3 top.py MIRRORFLOW DIR

Five queries, each run three ways: `mirrorflow top DIR ... --format csv`, and
the same question in SQL in DuckDB and in chdb. All three must give the same
rows in the same order (metric descending, ties by the key ascending, nulls
last) and the same "other" row (the total less the rows shown). The SQL is
written here, independently of mirrorflow's code: networks and CIDR tests in
DuckDB by Python's ipaddress module, in ClickHouse by its own IP functions.
"""

import csv
import datetime
import io
import ipaddress
import json
import subprocess
import sys

import chdb
import duckdb

MIRRORFLOW, DIR = sys.argv[1], sys.argv[2]
GLOB = f"{DIR}/**/*.parquet"

FIVE_TUPLE = {
    "duckdb": "(connection.src_ip, connection.dest_ip, coalesce(connection.src_port, -1), "
    "coalesce(connection.dest_port, -1), connection.protocol)",
    "chdb": "connection.src_ip, connection.dest_ip, ifNull(connection.src_port, -1), "
    "ifNull(connection.dest_port, -1), connection.protocol",
}
METRIC = {
    "bytes": {"duckdb": "sum(bytes_sent)", "chdb": "sum(bytes_sent)"},
    "packets": {"duckdb": "sum(packets_sent)", "chdb": "sum(packets_sent)"},
    "records": {"duckdb": "count(*)", "chdb": "count()"},
    "flows": {
        "duckdb": f"count(DISTINCT {FIVE_TUPLE['duckdb']})",
        "chdb": f"uniqExact({FIVE_TUPLE['chdb']})",
    },
}


def net_duckdb(ip, bits):
    addr = ipaddress.ip_address(ip)
    bits = min(bits, addr.max_prefixlen)
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def in_net_duckdb(ip, cidr):
    net = ipaddress.ip_network(cidr)
    addr = ipaddress.ip_address(ip)
    return addr.version == net.version and addr in net


def net_chdb(column, bits):
    return (
        f"if(isIPv4String({column}), "
        f"concat(IPv4NumToString(IPv4CIDRToRange(toIPv4({column}), {min(bits, 32)}).1), '/{min(bits, 32)}'), "
        f"concat(toString(IPv6CIDRToRange(toIPv6({column}), {bits}).1), '/{bits}'))"
    )


def rfc3339(micros):
    t = datetime.datetime.fromtimestamp(micros // 1_000_000, datetime.timezone.utc)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    frac = micros % 1_000_000
    return text + (f".{frac:06d}".rstrip("0") if frac else "") + "Z"


def cell(value):
    return "" if value is None else str(value)


def interval_bounds():
    """A time window inside the data: from its 20th to its 80th interval start."""
    rows = duckdb.sql(
        f"SELECT DISTINCT epoch_us(interval_start) AS t FROM read_parquet('{GLOB}') ORDER BY t"
    ).fetchall()
    times = [r[0] for r in rows]
    return times[len(times) // 5], times[len(times) * 4 // 5]


SINCE, UNTIL = interval_bounds()

# Each case: mirrorflow's flags, and per engine the key expressions (with a
# formatter per key, applied to what SQL returns) and the WHERE clause.
CASES = [
    {
        "name": "GCP top talkers: default --by, bytes",
        "args": [],
        "metric": "bytes",
        "limit": 10,
        "keys": {
            "duckdb": ["connection.src_ip", "connection.dest_ip", "connection.dest_port", "connection.protocol"],
            "chdb": ["connection.src_ip", "connection.dest_ip", "connection.dest_port", "connection.protocol"],
        },
        "format": [cell, cell, cell, cell],
        "where": {"duckdb": "true", "chdb": "1"},
    },
    {
        "name": "UDP destination ports by packets",
        "args": ["--by", "dest_port", "--metric", "packets", "--where", "protocol=udp", "--limit", "5"],
        "metric": "packets",
        "limit": 5,
        "keys": {"duckdb": ["connection.dest_port"], "chdb": ["connection.dest_port"]},
        "format": [cell],
        "where": {"duckdb": "connection.protocol = 17", "chdb": "connection.protocol = 17"},
    },
    {
        "name": "destination /24s by flows, well-known ports",
        "args": ["--by", "dest_net/24", "--metric", "flows", "--where", "dest_port=0-1023", "--limit", "8"],
        "metric": "flows",
        "limit": 8,
        "keys": {"duckdb": ["net(connection.dest_ip, 24)"], "chdb": [net_chdb("connection.dest_ip", 24)]},
        "format": [cell],
        "where": {
            "duckdb": "connection.dest_port BETWEEN 0 AND 1023",
            "chdb": "connection.dest_port BETWEEN 0 AND 1023",
        },
    },
    {
        "name": "records per interval and protocol in a time window",
        "args": [
            "--by", "interval,connection.protocol", "--metric", "records",
            "--since", rfc3339(SINCE), "--until", rfc3339(UNTIL), "--limit", "20",
        ],
        "metric": "records",
        "limit": 20,
        "keys": {
            "duckdb": ["epoch_us(interval_start)", "connection.protocol"],
            "chdb": ["toUnixTimestamp64Micro(interval_start)", "connection.protocol"],
        },
        "format": [rfc3339, cell],
        "where": {
            "duckdb": f"epoch_us(interval_start) >= {SINCE} AND epoch_us(interval_start) < {UNTIL}",
            "chdb": f"toUnixTimestamp64Micro(interval_start) >= {SINCE} AND toUnixTimestamp64Micro(interval_start) < {UNTIL}",
        },
    },
    {
        "name": "sources and tunnels outside 10/8, not UDP",
        "args": [
            "--by", "connection.src_ip,mirror.encap", "--metric", "bytes",
            "--where", "connection.dest_ip!=10.0.0.0/8", "--where", "protocol!=17", "--limit", "7",
        ],
        "metric": "bytes",
        "limit": 7,
        "keys": {"duckdb": ["connection.src_ip", "mirror.encap"], "chdb": ["connection.src_ip", "mirror.encap"]},
        "format": [cell, cell],
        "where": {
            "duckdb": "NOT in_net(connection.dest_ip, '10.0.0.0/8') AND connection.protocol IS DISTINCT FROM 17",
            "chdb": "NOT isIPAddressInRange(connection.dest_ip, '10.0.0.0/8') AND connection.protocol != 17",
        },
    },
]


def sql(engine, case):
    keys = case["keys"][engine]
    names = [f"k{i}" for i in range(len(keys))]
    select = ", ".join(f"{k} AS {n}" for k, n in zip(keys, names))
    source = f"read_parquet('{GLOB}')" if engine == "duckdb" else f"file('{GLOB}', Parquet)"
    grouped = (
        f"SELECT {select}, {METRIC[case['metric']][engine]} AS m FROM {source} "
        f"WHERE {case['where'][engine]} GROUP BY {', '.join(names)}"
    )
    order = ", ".join(f"{n} ASC NULLS LAST" for n in names)
    top = f"SELECT {', '.join(names)}, m FROM ({grouped}) ORDER BY m DESC, {order} LIMIT {case['limit']}"
    rest = f"SELECT count(*) AS g, sum(m) AS total FROM ({grouped})"
    return top, rest


def run_duckdb(query):
    con = duckdb.connect()
    con.create_function("net", net_duckdb, ["VARCHAR", "INTEGER"], "VARCHAR")
    con.create_function("in_net", in_net_duckdb, ["VARCHAR", "VARCHAR"], "BOOLEAN")
    return con.sql(query).fetchall()


def run_chdb(query):
    return [tuple(r) for r in json.loads(chdb.query(query, "JSONCompact").bytes())["data"]]


def expected(engine, case):
    top_sql, rest_sql = sql(engine, case)
    run = run_duckdb if engine == "duckdb" else run_chdb
    rows = run(top_sql)
    groups, total = run(rest_sql)[0]
    out = [[f(v) for f, v in zip(case["format"], r[:-1])] + [str(int(r[-1]))] for r in rows]
    if int(groups) > len(rows):
        other = int(total) - sum(int(r[-1]) for r in rows)
        out.append(["(other)"] + [""] * (len(case["format"]) - 1) + [str(other)])
    return out


def mirrorflow(case):
    args = [MIRRORFLOW, "top", DIR, "--format", "csv"] + case["args"]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr}")
    rows = list(csv.reader(io.StringIO(done.stdout)))
    return rows[1:]


failed = False
for case in CASES:
    ours = mirrorflow(case)
    agree = len(ours) >= 3
    if not agree:
        print(f"too few rows to compare in '{case['name']}': {ours}")
    for engine in ("duckdb", "chdb"):
        theirs = expected(engine, case)
        if ours != theirs:
            agree = False
            print(f"MISMATCH {case['name']} vs {engine}:\n  mirrorflow {ours}\n  {engine:10} {theirs}")
    print(f"{'ok' if agree else 'FAILED'}: {case['name']}: {len(ours)} rows")
    failed |= not agree
if not failed:
    print("top: ok")
sys.exit(1 if failed else 0)
