#!/usr/bin/env python3
"""Reads a mirrorflow Parquet folder with DuckDB, pyarrow.dataset and Spark
(local mode), as their users would, and checks it against the NDJSON of the
same run: column types, totals, rows per partition, every address and
capture time (ClickHouse too, through chdb), and GCP's top-talkers query,
whose rows DuckDB and Spark SQL must return identically.

usage: check.py OUT_DIR FLOWS.json   (prints "interop: ok" and exits 0, or fails)

Needs duckdb, pyarrow, pyspark and chdb (pip; versions pinned in
scripts/deps.sh) and Java 17.
A missing module is a failure, never a skip.
"""

import datetime
import json
import os
import sys
from collections import Counter, defaultdict

import chdb
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyspark
from pyspark.sql import SparkSession
from pyspark.sql import types as T

out, ndjson = sys.argv[1], sys.argv[2]
records = [json.loads(line) for line in open(ndjson, encoding="utf-8")]
assert records, "no records in " + ndjson


def micros(text):
    """RFC 3339 with 9 fraction digits -> microseconds since the epoch (truncated)."""
    assert text.endswith("Z") and len(text) == 30, text
    whole = datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    whole = whole.replace(tzinfo=datetime.timezone.utc)
    return int(whole.timestamp()) * 1_000_000 + int(text[20:29]) // 1000


# ---- what the NDJSON says ------------------------------------------------
def totals_of(rows):
    return {
        "rows": len(rows),
        "bytes_sent": sum(r["bytes_sent"] for r in rows),
        "packets_sent": sum(r["packets_sent"] for r in rows),
        "payload_bytes": sum(r["payload_bytes"] for r in rows),
        "src_ports": sum(1 for r in rows if "src_port" in r["connection"]),
        "icmp_types": sum(1 for r in rows if "icmp_type" in r),
        "tcp_flags": sum(1 for r in rows if "tcp_flags" in r),
        "encaps": sum(1 for r in rows if "encap" in r["mirror"]),
        "start_us": sum(micros(r["start_time"]) for r in rows),
        "end_us": sum(micros(r["end_time"]) for r in rows),
        "interval_us": sum(micros(r["interval_start"]) for r in rows),
        "rtt_msec": sum(r.get("rtt_msec", 0) for r in rows),
        "rtts": sum(1 for r in rows if "rtt_msec" in r),
        "retransmitted": sum(r.get("retransmitted_packets", 0) for r in rows),
        "analysed": sum(1 for r in rows if "retransmitted_packets" in r),
    }


expected = totals_of(records)
# The inputs must exercise the TCP fields, or their columns go unchecked.
assert expected["rtts"] > 0 and expected["retransmitted"] > 0, expected
per_partition = Counter()
for r in records:
    t = r["interval_start"]
    per_partition[(t[:10], int(t[11:13]))] += 1

talkers = defaultdict(int)
for r in records:
    c = r["connection"]
    talkers[(c["src_ip"], c["dest_ip"], c.get("dest_port"), c["protocol"])] += r["bytes_sent"]


def talker_order(item):
    (src, dst, port, proto), total = item
    # bytes desc, then the key ascending with nulls last (as the SQL below)
    return (-total, src, dst, port is None, port or 0, proto)


expected_top = [k + (v,) for k, v in sorted(talkers.items(), key=talker_order)[:10]]

TOP_TALKERS = """
SELECT connection.src_ip AS src_ip, connection.dest_ip AS dest_ip,
       connection.dest_port AS dest_port, connection.protocol AS protocol,
       SUM(bytes_sent) AS bytes
FROM flows
GROUP BY connection.src_ip, connection.dest_ip, connection.dest_port, connection.protocol
ORDER BY bytes DESC, src_ip, dest_ip, dest_port NULLS LAST, protocol
LIMIT 10
"""

TOTALS = """
SELECT COUNT(*), SUM(bytes_sent), SUM(packets_sent), SUM(payload_bytes),
       COUNT(connection.src_port), COUNT(icmp_type), COUNT(tcp_flags), COUNT(mirror.encap),
       SUM(CAST({us}(start_time) AS DECIMAL(38, 0))), SUM(CAST({us}(end_time) AS DECIMAL(38, 0))),
       SUM(CAST({us}(interval_start) AS DECIMAL(38, 0))),
       COALESCE(SUM(rtt_msec), 0), COUNT(rtt_msec),
       COALESCE(SUM(retransmitted_packets), 0), COUNT(retransmitted_packets)
FROM flows
"""


# Every address and capture time, as a multiset: among the inputs, one of
# many flows has its addresses past their dictionary (DELTA_BYTE_ARRAY
# pages) and its capture times delta-coded (docs/parquet.md, "Encodings").
ROWS = "SELECT connection.src_ip, connection.dest_ip, {us}(start_time), {us}(end_time) FROM flows"
expected_rows = Counter(
    (r["connection"]["src_ip"], r["connection"]["dest_ip"], micros(r["start_time"]), micros(r["end_time"]))
    for r in records
)


def as_rows(rows):
    return Counter((src, dst, int(start), int(end)) for src, dst, start, end in rows)


def as_totals(row):
    return dict(zip(expected.keys(), (int(v) for v in row)))


def check(engine, got, want):
    if got == want:
        return
    if isinstance(got, Counter) and isinstance(want, Counter):
        extra, missing = list((got - want).items()), list((want - got).items())
        sys.exit(f"{engine}: {len(extra)} rows not expected, e.g. {extra[:3]}\n"
                 f"  {len(missing)} expected rows missing, e.g. {missing[:3]}")
    sys.exit(f"{engine}: got {got}\n  expected {want}")


INSTANCE_DUCKDB = 'STRUCT(vm_name VARCHAR, project_id VARCHAR, "zone" VARCHAR, region VARCHAR)'
VPC_DUCKDB = "STRUCT(project_id VARCHAR, vpc_name VARCHAR, subnetwork_name VARCHAR)"
LOCATION_DUCKDB = "STRUCT(continent VARCHAR, country VARCHAR, region VARCHAR, city VARCHAR, asn BIGINT)"

# ---- DuckDB ----------------------------------------------------------------
con = duckdb.connect()
glob = os.path.join(out, "**", "*.parquet")
con.execute(f"CREATE VIEW flows AS SELECT * FROM read_parquet('{glob}', hive_partitioning=true)")
types = {name: ty for name, ty, *_ in con.execute("DESCRIBE flows").fetchall()}
check(
    "duckdb types",
    types,
    {
        "connection": "STRUCT(src_ip VARCHAR, src_port INTEGER, dest_ip VARCHAR, dest_port INTEGER, protocol INTEGER)",
        "icmp_type": "INTEGER",
        "icmp_code": "INTEGER",
        "start_time": "TIMESTAMP WITH TIME ZONE",
        "end_time": "TIMESTAMP WITH TIME ZONE",
        "interval_start": "TIMESTAMP WITH TIME ZONE",
        "interval_secs": "INTEGER",
        "bytes_sent": "BIGINT",
        "payload_bytes": "BIGINT",
        "packets_sent": "BIGINT",
        "tcp_flags": "INTEGER",
        "mirror": "STRUCT(encap VARCHAR, vni BIGINT, session_id BIGINT, interface INTEGER)",
        "sampling": "STRUCT(flow_rate DOUBLE, packet_rate DOUBLE)",
        "partial": "BOOLEAN",
        "reporter": "VARCHAR",
        # DuckDB quotes "zone", a keyword of its own.
        "src_instance": INSTANCE_DUCKDB,
        "dest_instance": INSTANCE_DUCKDB,
        "src_vpc": VPC_DUCKDB,
        "dest_vpc": VPC_DUCKDB,
        "src_location": LOCATION_DUCKDB,
        "dest_location": LOCATION_DUCKDB,
        "rtt_msec": "BIGINT",
        "retransmitted_packets": "BIGINT",
        "date": "DATE",
        # DuckDB keeps a zero-padded partition value as text (hour=07);
        # hive_types={'hour': 'INTEGER'} reads it as a number.
        "hour": "VARCHAR",
    },
)
check("duckdb totals", as_totals(con.execute(TOTALS.format(us="epoch_us")).fetchone()), expected)
check(
    "duckdb partitions",
    Counter({(str(d), int(h)): n for d, h, n in con.execute(
        "SELECT date, hour, COUNT(*) FROM flows GROUP BY ALL").fetchall()}),
    per_partition,
)
check("duckdb rows", as_rows(con.execute(ROWS.format(us="epoch_us")).fetchall()), expected_rows)
duck_top = [tuple(r) for r in con.execute(TOP_TALKERS).fetchall()]
check("duckdb top talkers", duck_top, expected_top)

# ---- pyarrow.dataset ---------------------------------------------------------
dataset = ds.dataset(out, format="parquet", partitioning="hive")
utc_us = pa.timestamp("us", tz="UTC")
want_schema = {
    "connection": pa.struct([
        pa.field("src_ip", pa.string(), nullable=False),
        pa.field("src_port", pa.int32()),
        pa.field("dest_ip", pa.string(), nullable=False),
        pa.field("dest_port", pa.int32()),
        pa.field("protocol", pa.int32(), nullable=False),
    ]),
    "icmp_type": pa.int32(),
    "icmp_code": pa.int32(),
    "start_time": utc_us,
    "end_time": utc_us,
    "interval_start": utc_us,
    "interval_secs": pa.int32(),
    "bytes_sent": pa.int64(),
    "payload_bytes": pa.int64(),
    "packets_sent": pa.int64(),
    "tcp_flags": pa.int32(),
    "mirror": pa.struct([
        pa.field("encap", pa.string()),
        pa.field("vni", pa.int64()),
        pa.field("session_id", pa.int64()),
        pa.field("interface", pa.int32(), nullable=False),
    ]),
    "sampling": pa.struct([
        pa.field("flow_rate", pa.float64(), nullable=False),
        pa.field("packet_rate", pa.float64(), nullable=False),
    ]),
    "partial": pa.bool_(),
    "reporter": pa.string(),
    **{end + "_instance": pa.struct([pa.field(n, pa.string()) for n in ("vm_name", "project_id", "zone", "region")])
       for end in ("src", "dest")},
    **{end + "_vpc": pa.struct([pa.field(n, pa.string()) for n in ("project_id", "vpc_name", "subnetwork_name")])
       for end in ("src", "dest")},
    **{end + "_location": pa.struct([pa.field(n, pa.string()) for n in ("continent", "country", "region", "city")]
                                    + [pa.field("asn", pa.int64())])
       for end in ("src", "dest")},
    "rtt_msec": pa.int64(),
    "retransmitted_packets": pa.int64(),
}
got_schema = {f.name: f.type for f in dataset.schema if f.name not in ("date", "hour")}
check("pyarrow types", got_schema, want_schema)
table = dataset.to_table()


def total(column):
    return pc.sum(column).as_py() or 0


def exact_total(column):
    """A sum past 64 bits (microsecond times of many records), in Python integers."""
    return sum(v for v in column.to_pylist() if v is not None)


def count(column):
    return len(column) - column.null_count


conn = pc.struct_field
arrow_totals = {
    "rows": table.num_rows,
    "bytes_sent": total(table["bytes_sent"]),
    "packets_sent": total(table["packets_sent"]),
    "payload_bytes": total(table["payload_bytes"]),
    "src_ports": count(conn(table["connection"], "src_port")),
    "icmp_types": count(table["icmp_type"]),
    "tcp_flags": count(table["tcp_flags"]),
    "encaps": count(conn(table["mirror"], "encap")),
    "start_us": exact_total(table["start_time"].cast(pa.int64())),
    "end_us": exact_total(table["end_time"].cast(pa.int64())),
    "interval_us": exact_total(table["interval_start"].cast(pa.int64())),
    "rtt_msec": total(table["rtt_msec"]),
    "rtts": count(table["rtt_msec"]),
    "retransmitted": total(table["retransmitted_packets"]),
    "analysed": count(table["retransmitted_packets"]),
}
check("pyarrow totals", arrow_totals, expected)
check(
    "pyarrow rows",
    as_rows(zip(
        conn(table["connection"], "src_ip").to_pylist(),
        conn(table["connection"], "dest_ip").to_pylist(),
        table["start_time"].cast(pa.int64()).to_pylist(),
        table["end_time"].cast(pa.int64()).to_pylist(),
    )),
    expected_rows,
)
meta = dataset.schema.metadata or {}
for fragment in dataset.get_fragments():
    kv = fragment.metadata.metadata
    for key in (b"mirrorflow.version", b"mirrorflow.interval_secs", b"mirrorflow.flow_rate",
                b"mirrorflow.packet_rate", b"mirrorflow.inputs"):
        assert key in kv, (fragment.path, key)

# ---- ClickHouse (chdb) ---------------------------------------------------------
chdb_rows = json.loads(chdb.query(
    f"SELECT connection.src_ip, connection.dest_ip, toUnixTimestamp64Micro(start_time), "
    f"toUnixTimestamp64Micro(end_time) FROM file('{glob}', Parquet)",
    "JSONCompact",
).bytes())["data"]
check("chdb rows", as_rows(chdb_rows), expected_rows)

# ---- Spark (local mode) --------------------------------------------------------
# Loopback only: the driver must not bind to the machine's network address.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
spark = (
    SparkSession.builder.master("local[2]")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .appName("mirrorflow-interop")
    .config("spark.ui.enabled", "false")
    .config("spark.ui.showConsoleProgress", "false")
    .config("spark.sql.session.timeZone", "UTC")
    .config("spark.driver.memory", "1g")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
try:
    frame = spark.read.parquet(out)
    frame.createOrReplaceTempView("flows")
    spark_types = {f.name: f.dataType for f in frame.schema.fields}
    # Spark reads every column of a file source as nullable.
    S = lambda *fields: T.StructType([T.StructField(n, t, True) for n, t, _ in fields])
    check(
        "spark types",
        spark_types,
        {
            "connection": S(("src_ip", T.StringType(), False), ("src_port", T.IntegerType(), True),
                            ("dest_ip", T.StringType(), False), ("dest_port", T.IntegerType(), True),
                            ("protocol", T.IntegerType(), False)),
            "icmp_type": T.IntegerType(),
            "icmp_code": T.IntegerType(),
            "start_time": T.TimestampType(),
            "end_time": T.TimestampType(),
            "interval_start": T.TimestampType(),
            "interval_secs": T.IntegerType(),
            "bytes_sent": T.LongType(),
            "payload_bytes": T.LongType(),
            "packets_sent": T.LongType(),
            "tcp_flags": T.IntegerType(),
            "mirror": S(("encap", T.StringType(), True), ("vni", T.LongType(), True),
                        ("session_id", T.LongType(), True), ("interface", T.IntegerType(), False)),
            "sampling": S(("flow_rate", T.DoubleType(), False), ("packet_rate", T.DoubleType(), False)),
            "partial": T.BooleanType(),
            "reporter": T.StringType(),
            **{end + "_instance": S(*((n, T.StringType(), True) for n in ("vm_name", "project_id", "zone", "region")))
               for end in ("src", "dest")},
            **{end + "_vpc": S(*((n, T.StringType(), True) for n in ("project_id", "vpc_name", "subnetwork_name")))
               for end in ("src", "dest")},
            **{end + "_location": S(*((n, T.StringType(), True) for n in ("continent", "country", "region", "city")),
                                    ("asn", T.LongType(), True))
               for end in ("src", "dest")},
            "rtt_msec": T.LongType(),
            "retransmitted_packets": T.LongType(),
            "date": T.DateType(),
            "hour": T.IntegerType(),
        },
    )
    check("spark totals", as_totals(spark.sql(TOTALS.format(us="unix_micros")).first()), expected)
    check(
        "spark partitions",
        Counter({(str(r[0]), r[1]): r[2] for r in spark.sql(
            "SELECT date, hour, COUNT(*) FROM flows GROUP BY date, hour").collect()}),
        per_partition,
    )
    check("spark rows", as_rows(spark.sql(ROWS.format(us="unix_micros")).collect()), expected_rows)
    spark_top = [tuple(r) for r in spark.sql(TOP_TALKERS).collect()]
    check("spark top talkers", spark_top, expected_top)
    check("duckdb vs spark top talkers", duck_top, spark_top)
    spark_version = spark.version
finally:
    spark.stop()

print(f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}, spark {spark_version} (pyspark {pyspark.__version__})")
print(f"{expected['rows']} records in {len(per_partition)} partitions; top talker: {duck_top[0]}")
print("interop: ok")
