"""Distributed SQL: a server with `--sql-engine ballista://...` sends
queries over lake tables to a real Ballista cluster (`vexlake
ballista-scheduler` and two `vexlake ballista-executor`s) whose executors
read the same SeaweedFS bucket; results come back over RESP as for a local
query. Queries over live keys only, table writes and time travel keep
working; a cluster without executors gives a clean error."""

import subprocess

import pytest
import redis

from conftest import S3_BUCKET, Ballista, VexLake, Weed, _binary


@pytest.fixture(scope="module")
def cluster():
    weed = Weed()
    lake = ["--storage", f"s3://{S3_BUCKET}/dist", "--s3-endpoint", weed.endpoint]
    b = Ballista(lake, env=weed.env)
    s = VexLake(*lake, "--sql-engine", b.url, "--sql-timeout", "10", env=weed.env)
    c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True, socket_timeout=120)
    try:
        yield b, s, c
    finally:
        c.close()
        s.stop()
        b.stop()
        weed.stop()


def stat(c, field):
    v = c.info("storage")[field]
    return v if isinstance(v, str) else int(v)


def rows(c, q, *args):
    return c.execute_command("SQL", q, *args)[1:]


def test_lake_queries_run_on_the_cluster(cluster):
    b, s, c = cluster
    assert stat(c, "sql_engine") == b.url
    # Table writes plan and commit in the server.
    c.execute_command("SQL", "CREATE TABLE pts AS SELECT value AS id, value % 7 AS g FROM range(0, 20000)")
    c.execute_command("SQL", "INSERT INTO pts SELECT value AS id, value % 7 AS g FROM range(20000, 30000)")
    v_before_delete = stat(c, "manifest_version")
    c.execute_command("SQL", "DELETE FROM pts WHERE id >= 29000")
    remote, read = stat(c, "sql_remote_queries"), stat(c, "sql_store_bytes")

    got = rows(c, "SELECT g, count(*), sum(id) FROM pts GROUP BY g ORDER BY g")
    ids = range(29000)
    assert got == [[g, sum(1 for i in ids if i % 7 == g), sum(i for i in ids if i % 7 == g)] for g in range(7)]
    # A join with a sort, and the vector functions, on the executors.
    got = rows(c, "SELECT a.id FROM pts a JOIN pts b ON a.id = b.id + 1 "
                  "ORDER BY l2_distance([CAST(a.id AS DOUBLE), 0.0], [10.4, 0.0]) LIMIT 3")
    assert got == [[10], [11], [9]]
    # Parameters are bound before the plan leaves.
    assert rows(c, "SELECT count(*) FROM pts WHERE id < $1", 100) == [[100]]
    # Time travel: the plan names the files of that version.
    got = c.execute_command("SQL", "VERSION", str(v_before_delete), "SELECT count(*) FROM pts WHERE g = 0")
    assert got[1:] == [[len(range(0, 30000, 7))]]
    assert stat(c, "sql_remote_queries") == remote + 4
    # The executors read the table files, not the server.
    assert stat(c, "sql_store_bytes") == read

    # Queries that scan no lake table run in the server.
    c.execute_command("VADD", "vs", "VALUES", "2", "1", "0", "a")
    c.execute_command("VADD", "vs", "VALUES", "2", "0", "1", "b")
    assert rows(c, "SELECT count(*) FROM vset('vs')") == [[2]]
    assert rows(c, "SELECT 1 + 1") == [[2]]
    # A count answered from the manifest's row counts scans nothing.
    assert rows(c, "SELECT count(*) FROM pts") == [[29000]]
    assert stat(c, "sql_remote_queries") == remote + 4
    # A lake table joined with a vector set: the set's rows travel in the plan.
    got = rows(c, "SELECT v.element, p.g FROM vset('vs') v JOIN pts p ON p.id = length(v.element) + 4")
    assert got == [["a", 5], ["b", 5]] or got == [["b", 5], ["a", 5]]
    assert stat(c, "sql_remote_queries") == remote + 5


def test_bad_sql_is_an_error_and_the_server_stays_up(cluster):
    _, _, c = cluster
    with pytest.raises(redis.ResponseError, match="not found|does not exist"):
        c.execute_command("SQL", "SELECT * FROM no_such_table")
    with pytest.raises(redis.ResponseError):
        c.execute_command("SQL", "SELECT g FROM pts WHERE")
    # A run-time error on an executor comes back as an error reply.
    with pytest.raises(redis.ResponseError, match="ballista"):
        c.execute_command("SQL", "SELECT l2_distance([CAST(id AS DOUBLE)], [1.0, 2.0]) FROM pts")
    assert c.ping()
    assert rows(c, "SELECT count(*) FROM pts WHERE g = 1") == [[len(range(1, 29000, 7))]]


def test_executors_read_the_lake_and_their_loss_is_a_clean_error(cluster):
    b, s, c = cluster
    logs = b.stop_executors()
    read = []
    for log in logs:
        line = next(x for x in log.splitlines() if "bytes from the lake" in x)
        read.append(int(line.split(", ")[1].split()[0]))
    assert sum(read) > 0, logs
    # No executor: the query waits, then times out (sql-timeout 10).
    with pytest.raises(redis.ResponseError, match="timed out"):
        c.execute_command("SQL", "SELECT count(*) FROM pts WHERE g = 1")
    assert c.ping()
    assert rows(c, "SELECT 40 + 2") == [[42]]


def test_bad_cluster_options_are_refused():
    bad = subprocess.run([_binary(), "--sql-engine", "http://x:1"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "sql-engine" in bad.stderr
    bad = subprocess.run([_binary(), "ballista-executor", "--dir", "/tmp"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 1 and "--scheduler" in bad.stderr
    bad = subprocess.run([_binary(), "ballista-scheduler", "--port", "x"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 1 and "--port" in bad.stderr
