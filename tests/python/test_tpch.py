"""TPC-H SF 0.1 correctness: tpchgen-cli writes Parquet into the server's
import directory, INGEST ... FROM loads each table, and the 22 queries of
benches/tpch/ run through SQL (FORMAT arrow); every result must equal
DuckDB's on the same Parquet files (numbers to a relative 1e-9, decimals
to one unit of their last digit). The lake is a local directory, a
SeaweedFS bucket (tables are scanned from the store), and the same bucket
with every query run on a Ballista cluster of two executors."""

import datetime
import decimal
import math
import os
import shutil
import subprocess
import sys
import tempfile

import duckdb
import pyarrow.ipc
import pytest
import redis

from conftest import S3_BUCKET, Ballista, VexLake, Weed

QUERIES = os.path.join(os.path.dirname(__file__), "..", "..", "benches", "tpch")
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def tpchgen():
    exe = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    return exe if os.path.exists(exe) else shutil.which("tpchgen-cli")


@pytest.fixture(scope="module", params=["local", "seaweedfs", "ballista"])
def tpch(request):
    data = tempfile.mkdtemp(prefix="vexlake-tpch-")
    subprocess.run([tpchgen(), "parquet", "-s", "0.1", f"--output-dir={data}"], check=True,
                   stdout=subprocess.DEVNULL)
    weed = cluster = None
    if request.param != "local":
        weed = Weed()
        lake = ["--storage", f"s3://{S3_BUCKET}/tpch", "--s3-endpoint", weed.endpoint]
        engine = []
        if request.param == "ballista":
            cluster = Ballista(lake, env=weed.env)
            engine = ["--sql-engine", cluster.url]
        s = VexLake("--import-dir", data, "--sql-timeout", "300", *lake, *engine, env=weed.env)
    else:
        s = VexLake("--import-dir", data, "--sql-timeout", "300")
    c = redis.Redis(host="127.0.0.1", port=s.port, protocol=3)
    try:
        db = duckdb.connect()
        for t in TABLES:
            db.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}.parquet')")
            got = c.execute_command("INGEST", t, "FORMAT", "parquet", "MODE", "overwrite", "FROM", f"{t}.parquet")
            assert got[b"rows"] == db.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        yield c, db
    finally:
        c.close()
        s.stop()
        if cluster:
            cluster.stop()
        if weed:
            weed.stop()
        shutil.rmtree(data, ignore_errors=True)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float, decimal.Decimal)) and isinstance(b, (int, float, decimal.Decimal)):
        # A decimal result is exact to its scale (DataFusion's avg of a
        # decimal(15,2) is a decimal(19,6), DuckDB's a double): allow one
        # unit in its last place.
        ulp = max((10.0 ** x.as_tuple().exponent for x in (a, b) if isinstance(x, decimal.Decimal)), default=0.0)
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=max(ulp, 1e-9))
    if isinstance(a, datetime.datetime) and isinstance(b, datetime.date):
        return a.date() == b if not isinstance(b, datetime.datetime) else a == b
    return a == b


@pytest.mark.parametrize("n", range(1, 23))
def test_tpch_query_matches_duckdb(tpch, n):
    c, db = tpch
    sql = open(os.path.join(QUERIES, f"q{n:02}.sql")).read()
    remote = c.info("storage")["sql_remote_queries"]
    ours = pyarrow.ipc.open_stream(c.execute_command("SQL", "FORMAT", "arrow", sql)).read_all()
    if c.info("storage")["sql_engine"] != "local":
        assert c.info("storage")["sql_remote_queries"] == remote + 1
    ref = db.sql(sql).to_arrow_table()
    assert ours.num_columns == ref.num_columns
    assert [f.lower() for f in ours.column_names] == [f.lower() for f in ref.column_names]
    mine, theirs = ours.to_pylist(), ref.to_pylist()
    assert len(mine) == len(theirs), f"q{n}: {len(mine)} rows, DuckDB {len(theirs)}"
    assert len(mine) > 0, f"q{n} returned no rows"
    for i, (x, y) in enumerate(zip(mine, theirs)):
        for col in ours.column_names:
            other = next(k for k in y if k.lower() == col.lower())
            assert same(x[col], y[other]), f"q{n} row {i} column {col}: {x[col]!r} vs DuckDB {y[other]!r}"


def test_decimal_arithmetic_runs_unchecked_only_where_it_cannot_overflow(tpch):
    c, db = tpch
    q1 = open(os.path.join(QUERIES, "q01.sql")).read()
    plan = str(c.execute_command("SQL", "EXPLAIN " + q1))
    if c.info("storage")["sql_engine"] != "local":
        # Ballista's executors do not know the functions.
        assert "decimal_mul(" not in plan
        return
    # Q1's decimal products and its `1 - l_discount`, `1 + l_tax` are
    # planned as the functions that check each batch once.
    assert "decimal_mul(" in plan and "decimal_sub(" in plan and "decimal_add(" in plan, plan
    # A product that overflows is still an error, and nothing else breaks.
    big = "CAST('99999999999999999999999999999999999999' AS DECIMAL(38, 0))"
    with pytest.raises(redis.ResponseError, match="(?i)overflow"):
        c.execute_command("SQL", f"SELECT CAST(l_quantity AS DECIMAL(38, 0)) * {big} FROM lineitem "
                                 "WHERE l_quantity > 1")
    got = c.execute_command("SQL", f"SELECT CAST(l_quantity AS DECIMAL(38, 0)) * {big} AS p FROM lineitem "
                                   "WHERE l_quantity = 1 LIMIT 1")
    assert got[1] == [b"99999999999999999999999999999999999999"]
    # Names and values as DuckDB has them (test above); the sums of
    # products by hand for one group:
    want = db.sql("SELECT sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) FROM lineitem "
                  "WHERE l_returnflag = 'A'").fetchall()[0][0]
    got = c.execute_command("SQL", "SELECT sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS s "
                                   "FROM lineitem WHERE l_returnflag = 'A'")
    assert decimal.Decimal(got[1][0].decode()) == want
