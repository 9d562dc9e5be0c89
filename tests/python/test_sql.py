"""SQL and INGEST through redis-py, RESP2 and RESP3: reply shapes and types,
parameters, FORMAT arrow / json, vset('key'), time travel, bad input, and
tables surviving a restart."""

import io
import os
import json

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq
import pytest
import redis

from conftest import VexLake

CSV = b"id,name,score,ok\n1,ann,0.5,true\n2,bob,1.25,false\n3,cy,,true\n"


def test_ingest_csv_and_query_types(r):
    got = r.execute_command("INGEST", "people", "FORMAT", "csv", "MODE", "overwrite", "DATA", CSV)
    rows = dict(zip(got[::2], got[1::2])) if isinstance(got, list) else got
    assert rows["rows"] == 3 and rows["version"] >= 1
    res = r.execute_command("SQL", "SELECT id, name, score, ok FROM people ORDER BY id")
    assert res[0] == ["id", "name", "score", "ok"]
    assert res[1][0] == 1 and res[1][1] == "ann"
    proto3 = r.connection_pool.connection_kwargs.get("protocol") == 3
    if proto3:
        assert res[1][2] == 0.5 and res[1][3] is True
        assert res[2][3] is False
    else:
        assert float(res[1][2]) == 0.5 and res[1][3] == 1
    assert res[3][2] is None
    # Parameters are bound, not spliced.
    res = r.execute_command("SQL", "SELECT name FROM people WHERE id = $1 OR name = $2", "2", "cy")
    assert sorted(x[0] for x in res[1:]) == ["bob", "cy"]
    res = r.execute_command("SQL", "SELECT count(*) AS n FROM people WHERE name = $1", "x' OR '1'='1")
    assert res[1][0] == 0
    # Lists come back as arrays.
    res = r.execute_command("SQL", "SELECT [1, 2, 3] AS l")
    assert res[1][0] == [1, 2, 3]


def test_formats_arrow_and_json(r, server):
    r.execute_command("INGEST", "people", "FORMAT", "csv", "MODE", "overwrite", "DATA", CSV)
    raw = redis.Redis(host="127.0.0.1", port=server.port, protocol=r.connection_pool.connection_kwargs.get("protocol"))
    blob = raw.execute_command("SQL", "FORMAT", "arrow", "SELECT * FROM people ORDER BY id")
    raw.close()
    table = pa.ipc.open_stream(blob).read_all()
    assert table.num_rows == 3 and table.column("name").to_pylist() == ["ann", "bob", "cy"]
    text = r.execute_command("SQL", "FORMAT", "json", "SELECT id, name FROM people ORDER BY id")
    assert json.loads(text)[0] == {"id": 1, "name": "ann"}


def test_json_parquet_append_and_schema_errors(r):
    r.execute_command("INGEST", "ev", "FORMAT", "json", "MODE", "overwrite", "DATA",
                      json.dumps([{"k": "a", "v": 1}, {"k": "b", "v": 2}]))
    r.execute_command("INGEST", "ev", "FORMAT", "jsonl", "MODE", "append", "DATA", b'{"k":"c","v":3}\n')
    buf = io.BytesIO()
    pq.write_table(pa.table({"k": ["d"], "v": pa.array([4], pa.int64())}), buf)
    r.execute_command("INGEST", "ev", "FORMAT", "parquet", "DATA", buf.getvalue())
    res = r.execute_command("SQL", "SELECT sum(v) AS s, count(*) AS n FROM ev")
    assert res[1] == [10, 4]
    with pytest.raises(redis.ResponseError, match="schema mismatch: column 'x' is not in table 'ev'"):
        r.execute_command("INGEST", "ev", "FORMAT", "jsonl", "DATA", b'{"k":"e","v":5,"x":1}\n')
    with pytest.raises(redis.ResponseError, match="schema mismatch: column 'v' of table 'ev' is missing"):
        r.execute_command("INGEST", "ev", "FORMAT", "jsonl", "DATA", b'{"k":"e"}\n')
    with pytest.raises(redis.ResponseError, match="schema mismatch: column 'v'"):
        r.execute_command("INGEST", "ev", "FORMAT", "jsonl", "DATA", b'{"k":"e","v":"not a number"}\n')
    with pytest.raises(redis.ResponseError, match="already exists"):
        r.execute_command("INGEST", "ev", "FORMAT", "jsonl", "MODE", "create", "DATA", b'{"k":"e","v":5}\n')
    with pytest.raises(redis.ResponseError, match="line"):
        r.execute_command("INGEST", "nums", "FORMAT", "csv", "SCHEMA", "a int, b text", "DATA", b"a,b\n1,x\noops,y\n")
    with pytest.raises(redis.ResponseError, match="empty"):
        r.execute_command("INGEST", "nums", "FORMAT", "csv", "DATA", b"")
    with pytest.raises(redis.ResponseError, match="Parquet"):
        r.execute_command("INGEST", "nums", "FORMAT", "parquet", "DATA", b"\x00\x01garbage\xff")
    with pytest.raises(redis.ResponseError, match="invalid table name"):
        r.execute_command("INGEST", "bad-name", "FORMAT", "csv", "DATA", CSV)
    # Nothing of the refused ingests is visible.
    assert r.execute_command("SQL", "SELECT count(*) FROM ev")[1][0] == 4
    assert "nums" not in [t[0] for t in r.execute_command("SQL", "SELECT table_name FROM information_schema.tables")[1:]]


def test_sql_errors_and_safety(r):
    with pytest.raises(redis.ResponseError):
        r.execute_command("SQL", "SELEC nonsense")
    with pytest.raises(redis.ResponseError):
        r.execute_command("SQL", "SELECT * FROM no_such_table")
    for q in ["CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '/etc/passwd'",
              "SELECT * FROM '/etc/passwd'",
              "COPY (SELECT 1) TO '/tmp/x.csv'",
              "CREATE VIEW v AS SELECT 1",
              "SET datafusion.execution.target_partitions = 1"]:
        with pytest.raises(redis.ResponseError):
            r.execute_command("SQL", q)
    assert r.ping()


def test_vset_table_function_and_show_tables(r):
    for i in range(5):
        r.execute_command("VADD", "docs", "VALUES", "2", str(i), "1", f"d{i}", "SETATTR", json.dumps({"n": i}))
    res = r.execute_command("SQL", "SELECT element, vector, attributes FROM vset('docs') ORDER BY element")
    assert res[0] == ["element", "vector", "attributes"]
    assert [row[0] for row in res[1:]] == [f"d{i}" for i in range(5)]
    assert len(res[1][1]) == 2
    with pytest.raises(redis.ResponseError, match="no vector set"):
        r.execute_command("SQL", "SELECT * FROM vset('missing')")
    r.execute_command("INGEST", "people", "FORMAT", "csv", "MODE", "overwrite", "DATA", CSV)
    tables = [row for row in r.execute_command("SQL", "SHOW TABLES")[1:]]
    assert any("people" in row for row in tables)
    desc = r.execute_command("SQL", "DESCRIBE people")
    assert [row[0] for row in desc[1:]] == ["id", "name", "score", "ok"]


def test_time_travel_and_restart():
    s = VexLake()
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, protocol=3)
        v1 = c.execute_command("INGEST", "t", "FORMAT", "csv", "DATA", b"a\n1\n2\n")[b"version"]
        c.execute_command("INGEST", "t", "FORMAT", "csv", "DATA", b"a\n3\n")
        assert c.execute_command("SQL", "SELECT sum(a) FROM t")[1][0] == 6
        assert c.execute_command("SQL", "VERSION", str(v1), "SELECT sum(a) FROM t")[1][0] == 3
        with pytest.raises(redis.ResponseError, match="version"):
            c.execute_command("SQL", "VERSION", "99999", "SELECT 1")
        c.close()
        s.proc.kill()
        s.proc.wait()
        s2 = VexLake.__new__(VexLake)
        s2.dir = s.dir
        # Same data directory, new process.
        import subprocess, socket, time
        from conftest import _binary, _free_port
        s2.port = _free_port()
        s2.proc = subprocess.Popen([_binary(), "--port", str(s2.port), "--bind", "127.0.0.1", "--dir", s.dir],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", s2.port), timeout=0.2).close()
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.02)
        c = redis.Redis(host="127.0.0.1", port=s2.port, protocol=2)
        assert c.execute_command("SQL", "SELECT sum(a) FROM t")[1][0] == 6
        c.close()
        s = s2
    finally:
        s.stop()


def test_vector_functions(r):
    for i in range(5):
        r.execute_command("VADD", "pts", "VALUES", "2", str(i), "0", f"p{i}", "NOQUANT", "METRIC", "L2")
    res = r.execute_command(
        "SQL", "SELECT element, l2_distance(vector, [3.2, 0.0]) AS d FROM vset('pts') ORDER BY d LIMIT 2")
    assert [row[0] for row in res[1:]] == ["p3", "p4"]
    assert float(res[1][1]) == pytest.approx(0.2, abs=1e-5)
    res = r.execute_command(
        "SQL", "SELECT cosine_similarity('[1, 0]', [1.0, 0.0]) AS s, cosine_distance([1, 0], [0, 1]) AS c, "
        "inner_product([1, 2], [3, 4]) AS i, vector_norm([3, 4]) AS n")
    s, c, i, n = (float(x) for x in res[1])
    assert s == pytest.approx(1.0) and c == pytest.approx(1.0) and i == pytest.approx(11.0) and n == pytest.approx(5.0)
    # A Parquet list column works too.
    buf = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2], "emb": [[0.0, 1.0], [1.0, 0.0]]}), buf)
    r.execute_command("INGEST", "docs_emb", "FORMAT", "parquet", "MODE", "overwrite", "DATA", buf.getvalue())
    res = r.execute_command("SQL", "SELECT id FROM docs_emb ORDER BY l2_distance(emb, $1) LIMIT 1", "[0.9, 0.1]")
    assert res[1][0] == 2
    with pytest.raises(redis.ResponseError, match="different dimensions"):
        r.execute_command("SQL", "SELECT l2_distance([1, 2], [1, 2, 3])")


def test_vsim_table_function_joins_tables(r):
    for i in range(20):
        r.execute_command("VADD", "pts", "VALUES", "2", str(i), str(i % 3), f"p{i}", "NOQUANT", "METRIC", "L2",
                          "SETATTR", json.dumps({"n": i}))
    r.execute_command("INGEST", "docs", "FORMAT", "csv", "MODE", "overwrite", "DATA",
                      "id,title\n" + "".join(f"p{i},title {i}\n" for i in range(0, 20, 2)))
    want = r.execute_command("VSIM", "pts", "VALUES", "2", "7.2", "1", "COUNT", "5", "WITHSCORES")
    if isinstance(want, dict):
        want = [x for kv in want.items() for x in kv]
    res = r.execute_command("SQL", "SELECT element, score FROM vsim('pts', [7.2, 1], 5)")
    assert res[0] == ["element", "score"]
    assert [row[0] for row in res[1:]] == want[::2]
    assert [float(row[1]) for row in res[1:]] == pytest.approx([float(s) for s in want[1::2]])
    # Joined with an ingested table (only even elements have a document).
    res = r.execute_command(
        "SQL", "SELECT v.element, d.title FROM vsim('pts', [7.2, 1], 5) v JOIN docs d ON d.id = v.element "
               "ORDER BY v.score DESC")
    assert [row[0] for row in res[1:]] == [e for e in want[::2] if int(e[1:]) % 2 == 0]
    assert all(row[1] == f"title {row[0][1:]}" for row in res[1:])
    # FILTER expression and a JSON vector.
    res = r.execute_command("SQL", "SELECT element, attributes FROM vsim('pts', '[7.2, 1]', 3, '.n >= 15')")
    assert [row[0] for row in res[1:]] == ["p15", "p16", "p17"]
    assert json.loads(res[1][1]) == {"n": 15}
    for q, msg in [("SELECT * FROM vsim('pts', [7.2], 5)", "dimension mismatch"),
                   ("SELECT * FROM vsim('pts', [7.2, 1], 0)", "k must be an integer"),
                   ("SELECT * FROM vsim('pts', [7.2, 1], 5, '.n >')", "syntax error in the filter"),
                   ("SELECT * FROM vsim('pts', 'not json', 5)", "the vector must be"),
                   ("SELECT * FROM vsim('missing', [1, 1], 5)", "no vector set"),
                   ("SELECT * FROM vsim('pts')", "usage")]:
        with pytest.raises(redis.ResponseError, match=msg):
            r.execute_command("SQL", q)


def test_keyspace_table_function(r):
    r.set("a", "1")
    r.set("b", "two", ex=100)
    r.execute_command("VADD", "vs", "VALUES", "2", "1", "0", "e")
    r.execute_command("SELECT", "0")
    res = r.execute_command("SQL", "SELECT key, type, value, ttl_ms FROM keyspace() ORDER BY key")
    assert res[0] == ["key", "type", "value", "ttl_ms"]
    rows = res[1:]
    assert [row[:3] for row in rows] == [["a", "string", "1"], ["b", "string", "two"], ["vs", "vectorset", None]]
    assert rows[0][3] is None and 90_000 < rows[1][3] <= 100_000
    assert r.execute_command("SQL", "SELECT sum(CAST(value AS BIGINT)) FROM keyspace() WHERE key = 'a'")[1][0] == 1


def test_sql_memory_limit_spills_or_fails_cleanly():
    s = VexLake("--sql-memory-limit", "32mb")
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=None)
        n = 1_000_000
        csv = "id,note\n" + "".join(f"{i},a note that makes the rows wider {i * 7919 % n}\n" for i in range(n))
        c.execute_command("INGEST", "big", "FORMAT", "csv", "DATA", csv)
        q = "SELECT count(*), max(rn) FROM (SELECT row_number() OVER (ORDER BY note DESC) AS rn FROM big)"
        assert c.execute_command("SQL", q)[1] == [n, n]
        # The sort of ~60 MB spilled to disk under the 32 MB limit.
        plan = "\n".join(row[1] for row in c.execute_command("SQL", "EXPLAIN ANALYZE " + q)[1:])
        sort = next(line for line in plan.splitlines() if "SortExec" in line)
        spills = int(sort.split("spill_count=")[1].split(",")[0])
        assert spills > 0, sort
        # A hash join cannot spill: it fails with a clear error, the server
        # and other queries are fine.
        with pytest.raises(redis.ResponseError, match="Resources exhausted"):
            c.execute_command("SQL", "SELECT count(*) FROM big a JOIN big b ON a.note = b.note")
        assert c.ping()
        assert c.execute_command("SQL", "SELECT count(*) FROM big")[1][0] == n
        c.close()
    finally:
        s.stop()


def test_a_query_decodes_only_the_tables_it_reads():
    import glob

    s = VexLake()
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        c.execute_command("INGEST", "a", "FORMAT", "csv", "HEADER", "yes", "DATA", "x\n1\n2\n")
        c.execute_command("INGEST", "b", "FORMAT", "csv", "HEADER", "yes", "DATA", "y\n3\n")
        # Take b's only data file away: queries of a never read it.
        for f in glob.glob(os.path.join(s.dir, "store", "tables", "b", "data", "*")):
            os.remove(f)
        assert c.execute_command("SQL", "SELECT sum(x) FROM a")[1] == [3]
        assert any("b" in row for row in c.execute_command("SQL", "SHOW TABLES")[1:])
        assert c.execute_command("SQL", "DESCRIBE b")[1][0] == "y"
        with pytest.raises(redis.ResponseError):
            c.execute_command("SQL", "SELECT * FROM b")
        c.close()
    finally:
        s.stop()
