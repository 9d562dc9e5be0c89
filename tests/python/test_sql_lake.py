"""SQL over the lake: tables scanned from the store (pruning by the
manifest's statistics, bounded memory), and table writes through the
manifest (CREATE TABLE AS, INSERT, UPDATE, DELETE, TRUNCATE, DROP, ALTER TABLE ADD
COLUMN), each one commit visible to time travel."""

import threading
import time

import pytest
import redis

from conftest import VexLake


def info(c, field):
    return int(c.info("storage")[field])


def rows(c, q, *args):
    return c.execute_command("SQL", q, *args)[1:]


def count(c, q, *args):
    got = c.execute_command("SQL", q, *args)
    assert got[0] == ["count"], got
    return got[1][0]


@pytest.fixture
def lake():
    s = VexLake()
    c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=120)
    try:
        yield s, c
    finally:
        c.close()
        s.stop()


def test_create_insert_delete_alter_drop_with_time_travel(lake):
    s, c = lake
    assert count(c, "CREATE TABLE t AS SELECT value AS id, value * 10 AS v FROM range(1, 6)") == 5
    v_created = info(c, "manifest_version")
    assert rows(c, "SELECT sum(id), sum(v) FROM t") == [[15, 150]]
    assert count(c, "INSERT INTO t VALUES (6, 60), ($1, $2)", 7, 70) == 2
    assert count(c, "INSERT INTO t SELECT id + 100, v FROM t WHERE id <= 2") == 2
    assert rows(c, "SELECT count(*), max(id) FROM t") == [[9, 102]]
    v_full = info(c, "manifest_version")
    # Three files now: rows 1-5, 6-7, 101-102. The DELETE matches part of
    # the first, all of the second, none of the third.
    assert count(c, "DELETE FROM t WHERE id BETWEEN 4 AND 7") == 4
    assert rows(c, "SELECT id FROM t ORDER BY id") == [[1], [2], [3], [101], [102]]
    assert count(c, "DELETE FROM t WHERE id > 1000") == 0
    # A column added later reads as NULL in older rows.
    assert count(c, "ALTER TABLE t ADD COLUMN note VARCHAR") == 0
    c.execute_command("SQL", "INSERT INTO t VALUES (8, 80, 'new')")
    assert rows(c, "SELECT id, note FROM t WHERE id IN (3, 8) ORDER BY id") == [[3, None], [8, "new"]]
    assert rows(c, "SELECT count(*) FROM t WHERE note IS NULL") == [[5]]
    v_altered = info(c, "manifest_version")
    assert count(c, "TRUNCATE TABLE t") == 0
    assert rows(c, "SELECT count(*) FROM t") == [[0]]
    assert count(c, "DROP TABLE t") == 0
    with pytest.raises(redis.ResponseError, match="not found|does not exist"):
        c.execute_command("SQL", "SELECT * FROM t")
    # Every statement was one version; the old ones still read.
    assert c.execute_command("SQL", "VERSION", str(v_created), "SELECT count(*) FROM t")[1] == [5]
    assert c.execute_command("SQL", "VERSION", str(v_full), "SELECT count(*) FROM t")[1] == [9]
    got = c.execute_command("SQL", "VERSION", str(v_altered), "SELECT count(*), count(note) FROM t")
    assert got[1] == [6, 1]
    # The table survives a restart, and is gone again after DROP.
    c.execute_command("SQL", "CREATE TABLE u AS SELECT 'x' AS k, 1.5 AS f")
    s.restart(kill=True)
    c2 = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
    [[k, f]] = rows(c2, "SELECT k, f FROM u")
    assert k == "x" and float(f) == 1.5
    assert c2.execute_command("SQL", "SHOW TABLES") is not None
    c2.close()


def test_update_rewrites_only_the_files_with_matching_rows(lake):
    s, c = lake
    c.execute_command("SQL", "CREATE TABLE t (id BIGINT, v BIGINT, tag VARCHAR)")
    c.execute_command("SQL", "INSERT INTO t SELECT value, value * 10, 'a' FROM range(1, 6)")
    c.execute_command("SQL", "INSERT INTO t VALUES (6, 60, 'b'), (7, 70, 'b')")
    c.execute_command("SQL", "INSERT INTO t VALUES (101, 1010, 'c')")
    v_before = info(c, "manifest_version")
    files_before = {f["path"] for f in latest_manifest(s)["tables"]["t"]["files"]}
    # Part of the first file: that file is rewritten, the other two stay.
    assert count(c, "UPDATE t SET v = v + 1, tag = upper(tag) WHERE id IN (2, 4)") == 2
    files_after = {f["path"] for f in latest_manifest(s)["tables"]["t"]["files"]}
    assert len(files_before - files_after) == 1 and len(files_after - files_before) == 1
    assert info(c, "manifest_version") == v_before + 1
    assert rows(c, "SELECT id, v, tag FROM t ORDER BY id") == [
        [1, 10, "a"], [2, 21, "A"], [3, 30, "a"], [4, 41, "A"], [5, 50, "a"],
        [6, 60, "b"], [7, 70, "b"], [101, 1010, "c"]]
    # All rows of a file, through an alias; nothing matches: no commit.
    assert count(c, "UPDATE t AS x SET tag = NULL WHERE x.tag = 'b'") == 2
    v = info(c, "manifest_version")
    assert count(c, "UPDATE t SET v = 0 WHERE id > 1000") == 0
    assert info(c, "manifest_version") == v
    # Rows where the condition is NULL keep their values.
    assert count(c, "UPDATE t SET v = -1 WHERE tag <> 'z'") == 6
    assert rows(c, "SELECT id, v FROM t WHERE v <> -1 ORDER BY id") == [[6, 60], [7, 70]]
    # A scalar subquery in SET reads the table as it was; values are cast
    # to the column's type.
    assert count(c, "UPDATE t SET v = (SELECT max(id) FROM t), tag = 7 WHERE tag IS NULL") == 2
    assert rows(c, "SELECT id, v, tag FROM t WHERE id IN (6, 7) ORDER BY id") == [[6, 101, "7"], [7, 101, "7"]]
    # A subquery in WHERE; the rest of the file keeps its values.
    c.execute_command("SQL", "CREATE TABLE pick AS SELECT 1 AS id UNION ALL SELECT 3")
    assert count(c, "UPDATE t SET v = 0 WHERE id IN (SELECT id FROM pick)") == 2
    assert rows(c, "SELECT id, v FROM t WHERE id <= 5 ORDER BY id") == [[1, 0], [2, -1], [3, 0], [4, -1], [5, -1]]
    # No WHERE: every row.
    assert count(c, "UPDATE t SET id = id * 2") == 8
    assert rows(c, "SELECT sum(id) FROM t") == [[2 * (sum(range(1, 8)) + 101)]]
    # Each UPDATE was one version; the one before them still reads.
    got = c.execute_command("SQL", "VERSION", str(v_before), "SELECT sum(v), count(tag) FROM t")
    assert got[1] == [sum(range(10, 80, 10)) + 1010, 8]
    s.restart(kill=True)
    c2 = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
    assert rows(c2, "SELECT id, v, tag FROM t WHERE id = 8") == [[8, -1, "A"]]
    c2.close()


def test_bad_writes_are_refused_and_change_nothing(lake):
    s, c = lake
    c.execute_command("SQL", "CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR)")
    c.execute_command("SQL", "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    before = info(c, "manifest_version")
    bad = {
        "CREATE TABLE t AS SELECT 1 AS x": "already exists",
        "DROP TABLE nope": "does not exist",
        "INSERT INTO t VALUES ('not a number', 'x')": "",
        "INSERT INTO t VALUES (NULL, 'x')": "",
        "INSERT INTO nope VALUES (1)": "",
        "UPDATE t SET id = 'not a number'": "",
        "UPDATE t SET id = NULL WHERE id = 1": "",
        "UPDATE t SET nope = 1": "nope",
        "UPDATE t SET name = u.x FROM (SELECT 1 AS x) u": "FROM is not supported",
        "MERGE INTO t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE": "",
        "ALTER TABLE t ADD COLUMN name VARCHAR": "already exists",
        "ALTER TABLE t ADD COLUMN z INT NOT NULL": "NULL",
        "ALTER TABLE nope ADD COLUMN z INT": "does not exist",
        "CREATE TABLE d AS SELECT 1 AS a, 2 AS a": "same name",
        "CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'": "",
        "COPY (SELECT 1) TO '/tmp/vexlake-copy.csv'": "",
        "CREATE VIEW w AS SELECT 1": "",
        "SELECT * FROM '/etc/passwd'": "",
        "DELETE FROM t WHERE no_such_column = 1": "",
    }
    for q, text in bad.items():
        with pytest.raises(redis.ResponseError, match=text or None):
            c.execute_command("SQL", q)
    with pytest.raises(redis.ResponseError, match="VERSION"):
        c.execute_command("SQL", "VERSION", str(before), "DELETE FROM t")
    assert c.ping()
    assert info(c, "manifest_version") == before
    assert rows(c, "SELECT id, name FROM t ORDER BY id") == [[1, "a"], [2, "b"]]
    # IF [NOT] EXISTS are no-ops, not errors.
    assert count(c, "CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x") == 0
    assert count(c, "DROP TABLE IF EXISTS nope") == 0
    assert count(c, "ALTER TABLE t ADD COLUMN IF NOT EXISTS name VARCHAR") == 0
    assert rows(c, "SELECT count(*) FROM t") == [[2]]


def test_table_writes_need_permission_to_ingest(lake):
    s, c = lake
    c.execute_command("SQL", "CREATE TABLE t AS SELECT 1 AS x")
    c.execute_command("ACL", "SETUSER", "reader", "on", ">pw", "~*", "+@read", "+@connection")
    r = redis.Redis(host="127.0.0.1", port=s.port, username="reader", password="pw", decode_responses=True)
    assert rows(r, "SELECT x FROM t") == [[1]]
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.execute_command("SQL", "INSERT INTO t VALUES (2)")
    with pytest.raises(redis.exceptions.NoPermissionError):
        r.execute_command("SQL", "DROP TABLE t")
    r.close()
    assert rows(c, "SELECT count(*) FROM t") == [[1]]


def big_state(c):
    """(rows of `big` or None when it does not exist, whether it has the
    column `extra`)."""
    try:
        n = rows(c, "SELECT count(*) FROM big")[0][0]
    except redis.ResponseError as e:
        assert "big" in str(e)
        return None, False
    cols = [r[0] for r in rows(c, "DESCRIBE big")]
    return n, "extra" in cols


def test_a_write_killed_midway_is_whole_or_nothing():
    s = VexLake("--appendfsync", "always")
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        c.execute_command("SQL", "CREATE TABLE base AS SELECT value AS id FROM range(0, 200000)")
        c.close()
        big = ("SELECT a.id * 1000 + b.value AS id, concat('row ', a.id) AS s "
               "FROM base a CROSS JOIN range(0, 20) b")
        # id % 3 == 0 <=> (a + b) % 3 == 0, as 1000 % 3 == 1; twice after
        # the INSERT.
        thirds = 2 * sum(len(range((-b) % 3, 200000, 3)) for b in range(20))
        steps = [
            ("CREATE TABLE big AS " + big, (None, False), (4_000_000, False)),
            ("INSERT INTO big " + big, (4_000_000, False), (8_000_000, False)),
            ("DELETE FROM big WHERE id % 3 = 0", (8_000_000, False), (8_000_000 - thirds, False)),
            ("ALTER TABLE big ADD COLUMN extra INT", (8_000_000 - thirds, False), (8_000_000 - thirds, True)),
            ("DROP TABLE big", (8_000_000 - thirds, True), (None, False)),
        ]
        seen = []
        for statement, before, after in steps:
            state = before
            for delay in [0.05, 0.4, 1.5]:
                acked = []

                def write():
                    try:
                        w = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
                        w.execute_command("SQL", statement)
                        acked.append(True)
                    except redis.RedisError:
                        pass

                t = threading.Thread(target=write)
                t.start()
                time.sleep(delay)
                s.restart(kill=True)
                t.join()
                c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=300)
                state = big_state(c)
                seen.append((statement.split()[0], delay, state))
                # All of it or none of it; all of it once acknowledged.
                assert state in (before, after), (statement, delay, state)
                assert state == after or not acked, (statement, delay, state)
                c.close()
                if state == after:
                    break
            if state != after:
                c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=300)
                c.execute_command("SQL", statement)
                assert big_state(c) == after
                c.close()
        print(seen)
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert rows(c, "SELECT count(*) FROM base") == [[200000]]
        c.close()
    finally:
        s.stop()


def test_compaction_runs_under_concurrent_ingest_and_queries(lake):
    s, c = lake
    for i in range(6):
        c.execute_command("INGEST", "t", "FORMAT", "csv", "DATA", f"x\n{i}\n")
    stop = threading.Event()
    errors = []

    def ingest():
        w = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        for i in range(6, 40):
            w.execute_command("INGEST", "t", "FORMAT", "csv", "DATA", f"x\n{i}\n")
            time.sleep(0.25)
        w.close()
        stop.set()

    def query():
        q = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        while not stop.is_set():
            try:
                [[n, total]] = rows(q, "SELECT count(*), sum(x) FROM t")
                # Rows 0..n-1 ingested in order: no row lost or doubled.
                if total != n * (n - 1) // 2:
                    errors.append((n, total))
            except redis.RedisError as e:
                errors.append(str(e))
        q.close()

    threads = [threading.Thread(target=ingest), threading.Thread(target=query)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    deadline = time.time() + 30
    while info(c, "table_files") > 3:
        assert time.time() < deadline, info(c, "table_files")
        time.sleep(0.2)
    # 40 ingests made 40 files: only compaction merges them.
    assert rows(c, "SELECT count(*), sum(x) FROM t") == [[40, sum(range(40))]]


def test_selective_query_on_sorted_data_reads_a_small_part():
    s = VexLake()
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=120)
        # 2M rows sorted by id in 16 row groups (and 4 files); a wide text
        # column makes up most of the bytes.
        c.execute_command(
            "SQL", "CREATE TABLE ev AS SELECT value AS id, "
            "concat('event payload ', value * 7919 % 1000003, ' ', value) AS body "
            "FROM range(0, 2000000) ORDER BY id")
        total = info(c, "committed_bytes")
        before = info(c, "sql_store_bytes")
        requests = info(c, "sql_store_requests")
        got = rows(c, "SELECT count(*), min(body) FROM ev WHERE id BETWEEN 1234000 AND 1234099")
        assert got[0][0] == 100
        read = info(c, "sql_store_bytes") - before
        assert info(c, "sql_store_requests") > requests
        print(f"selective query read {read} of {total} bytes")
        assert 0 < read < total / 10, (read, total)
        # The same query again comes from the cache.
        hits = info(c, "sql_cache_hits")
        before = info(c, "sql_store_bytes")
        assert rows(c, "SELECT count(*), min(body) FROM ev WHERE id BETWEEN 1234000 AND 1234099") == got
        assert info(c, "sql_cache_hits") > hits
        assert info(c, "sql_store_bytes") == before
        c.close()
    finally:
        s.stop()


def test_a_2gb_table_ingests_and_scans_in_bounded_memory():
    """2 GB of Parquet (text that does not compress) is INGESTed and then
    scanned by a fresh server whose SQL memory limit and cache together are
    384 MB: both stay far below the table's size in peak memory."""
    import os
    import shutil
    import tempfile

    import duckdb

    imports = tempfile.mkdtemp(prefix="vexlake-big-")
    n = 21_500_000
    try:
        path = os.path.join(imports, "big.parquet")
        duck = duckdb.connect()
        duck.execute("SET threads = 2")
        duck.execute("SET enable_progress_bar = false")
        duck.execute(
            f"COPY (SELECT i AS id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) || md5((i * 13)::VARCHAR) AS a "
            f"FROM range(0, {n}) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 122880)")
        expect = duck.execute(
            f"SELECT count(*), max(a), sum(length(a)) FROM read_parquet('{path}') WHERE id % 3 = 1").fetchall()[0]
        duck.close()
        size = os.path.getsize(path)
        assert size > 2_000_000_000, size
        s = VexLake("--import-dir", imports, "--sql-memory-limit", "128mb", "--sql-cache-size", "256mb")
        try:
            c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=600)
            base = s.peak_rss()
            got = c.execute_command("INGEST", "big", "FORMAT", "parquet", "FROM", "big.parquet")
            assert got["rows"] == n, got
            ingest_peak = s.peak_rss()
            c.close()
            os.remove(path)
            stored = sum(f["size"] for f in latest_manifest(s)["tables"]["big"]["files"])
            assert stored > 2_000_000_000, stored
            # A fresh process, so its peak memory is the query's alone.
            s.restart()
            c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=600)
            scan_base = s.peak_rss()
            got = rows(c, "SELECT count(*), max(a), sum(length(a)) FROM big WHERE id % 3 = 1")
            scan_peak = s.peak_rss()
            assert [int(got[0][0]), got[0][1], int(got[0][2])] == [expect[0], expect[1], expect[2]]
            print(f"{stored} bytes of Parquet: ingest peak RSS {base} -> {ingest_peak}; "
                  f"scan peak RSS {scan_base} -> {scan_peak}")
            # Bounds: the cache (256 MB) plus a few row groups per core in
            # flight, against 2 GB stored (about 1.9 GB of text decoded).
            assert ingest_peak - base < 600_000_000, (base, ingest_peak)
            assert scan_peak - scan_base < 600_000_000, (scan_base, scan_peak)
            c.close()
        finally:
            s.stop()
    finally:
        shutil.rmtree(imports, ignore_errors=True)


def latest_manifest(s):
    import glob
    import json
    import os

    newest = sorted(glob.glob(os.path.join(s.dir, "store", "_metadata", "v*.json")))[-1]
    with open(newest) as f:
        return json.load(f)


def test_small_files_are_compacted_in_the_background_sorted_by_the_key(lake):
    import os

    import pyarrow.parquet as pq

    s, c = lake
    c.execute_command("SQL", "CREATE TABLE t (id BIGINT, tag VARCHAR)")
    c.execute_command("SQL", "ALTER TABLE t CLUSTER BY (id)")
    assert latest_manifest(s)["tables"]["t"]["sort_key"] == ["id"]
    # Eight small files, ids interleaved across them.
    for i in range(8):
        values = ", ".join(f"({j * 8 + i}, 'r{j * 8 + i}')" for j in range(50, 0, -1))
        assert count(c, f"INSERT INTO t VALUES {values}") == 50
    # An INSERT writes its rows in key order.
    first = latest_manifest(s)["tables"]["t"]["files"][0]
    ids = pq.read_table(os.path.join(s.dir, "store", first["path"])).column("id").to_pylist()
    assert ids == sorted(ids)
    # Each file's min/max are in the manifest.
    assert first["columns"]["id"]["min"] == str(min(ids))
    assert first["columns"]["id"]["max"] == str(max(ids))
    before = info(c, "manifest_version")
    deadline = time.time() + 30
    while info(c, "table_files") > 1:
        assert rows(c, "SELECT count(*), sum(id) FROM t") == [[400, sum(range(8, 408))]]
        assert time.time() < deadline, "no compaction"
        time.sleep(0.2)
    files = latest_manifest(s)["tables"]["t"]["files"]
    assert len(files) == 1 and files[0]["rows"] == 400
    ids = pq.read_table(os.path.join(s.dir, "store", files[0]["path"])).column("id").to_pylist()
    assert ids == sorted(ids)
    assert rows(c, "SELECT count(*), sum(id), min(tag) FROM t") == [[400, sum(range(8, 408)), "r10"]]
    # The versions before compaction still read.
    assert c.execute_command("SQL", "VERSION", str(before), "SELECT count(*) FROM t")[1] == [400]
    with pytest.raises(redis.ResponseError, match="not in table"):
        c.execute_command("SQL", "ALTER TABLE t CLUSTER BY (nope)")


def test_table_files_are_compressed_as_configured():
    import os
    import subprocess

    import pyarrow.parquet as pq

    from conftest import _binary

    def codecs(s, table):
        out = []
        for f in latest_manifest(s)["tables"][table]["files"]:
            meta = pq.ParquetFile(os.path.join(s.dir, "store", f["path"])).metadata
            out.append({meta.row_group(g).column(i).compression
                        for g in range(meta.num_row_groups) for i in range(meta.num_columns)})
        return out

    # A local lake stores Parquet's encodings only by default.
    s = VexLake()
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert c.config_get("table-compression") == {"table-compression": "auto"}
        c.execute_command("SQL", "CREATE TABLE t AS SELECT v AS id, 'row ' || v AS tag FROM unnest(range(1000)) AS u(v)")
        assert codecs(s, "t") == [{"UNCOMPRESSED"}]
        # Another codec applies to files written after it; the old ones
        # keep theirs, and a query reads both.
        s.args = ("--table-compression", "ZSTD")
        s.restart()
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert c.config_get("table-compression") == {"table-compression": "zstd"}
        assert count(c, "INSERT INTO t SELECT id + 1000, tag FROM t") == 1000
        assert codecs(s, "t") == [{"UNCOMPRESSED"}, {"ZSTD"}]
        s.args = ("--table-compression", "lz4")
        s.restart()
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert count(c, "INSERT INTO t SELECT id + 2000, tag FROM t WHERE id < 1000") == 1000
        # (pyarrow names Parquet's LZ4_RAW "LZ4", the Hadoop framing "LZ4_HADOOP".)
        assert codecs(s, "t") == [{"UNCOMPRESSED"}, {"ZSTD"}, {"LZ4"}]
        assert rows(c, "SELECT count(*), sum(id), max(tag) FROM t") == [[3000, sum(range(3000)), "row 999"]]
    finally:
        s.stop()
    # An unknown codec stops the server before it starts.
    bad = subprocess.run([_binary(), "--table-compression", "brotli"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "'table-compression' must be auto, none, lz4, snappy or zstd" in bad.stderr
