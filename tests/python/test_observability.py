"""SLOWLOG and INFO commandstats / errorstats / latencystats through
redis-py (RESP2 and RESP3) and redis-cli."""

import socket
import subprocess
import time

import pytest
import redis

from conftest import VexLake


def text(v):
    return v.decode() if isinstance(v, bytes) else v


@pytest.fixture(scope="module")
def every():
    """A server that logs every command (slowlog-log-slower-than 0)."""
    s = VexLake("--slowlog-log-slower-than", "0", "--slowlog-max-len", "5")
    yield s
    s.stop()


@pytest.mark.parametrize("protocol", [2, 3])
def test_slowlog_entries_like_redis(every, protocol):
    r = redis.Redis(host="127.0.0.1", port=every.port, protocol=protocol, decode_responses=True)
    r.client_setname("observer")
    r.slowlog_reset()
    r.set("k", "v")
    r.execute_command("ECHO", "x" * 300)
    r.execute_command("MSET", *[f"a{i}" for i in range(40)])
    # redis-py leaves these fields as bytes even with decode_responses.
    entries = [dict(e, command=text(e["command"]), client_name=text(e["client_name"]),
                    client_address=text(e["client_address"])) for e in r.slowlog_get(10)]
    # Newest first; SLOWLOG RESET itself is the oldest.
    assert len(entries) == 4
    mset, echo, setcmd = entries[0], entries[1], entries[2]
    assert setcmd["command"] == "SET k v"
    assert setcmd["client_name"] == "observer"
    assert setcmd["client_address"].startswith("127.0.0.1:")
    assert setcmd["duration"] >= 0 and setcmd["start_time"] > 1_700_000_000
    assert echo["command"] == "ECHO " + "x" * 128 + "... (172 more bytes)"
    args = mset["command"].split(" ")
    # 31 arguments kept, then the note (as Redis: 32 entries in all).
    assert len(args) == 31 + 4 and args[-4:] == ["...", "(10", "more", "arguments)"]
    assert entries[0]["id"] > entries[1]["id"] > entries[2]["id"]
    # At most slowlog-max-len entries are kept.
    for i in range(10):
        r.get(f"x{i}")
    assert r.slowlog_len() == 5
    assert len(r.slowlog_get()) == 5
    assert len(r.execute_command("SLOWLOG", "GET", "-1")) == 5
    with pytest.raises(redis.ResponseError, match="count should be greater than or equal to -1"):
        r.execute_command("SLOWLOG", "GET", "-2")
    with pytest.raises(redis.ResponseError, match="unknown subcommand"):
        r.execute_command("SLOWLOG", "NOPE")
    r.close()


def test_slowlog_threshold_and_redis_cli():
    s = VexLake("--slowlog-log-slower-than", "50000")
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        for i in range(100):
            r.set(f"k{i}", i)
        assert r.slowlog_len() == 0
        r.execute_command("SQL", "SELECT count(*) FROM generate_series(1, 100000000)")
        entries = r.slowlog_get()
        assert len(entries) == 1 and text(entries[0]["command"]).startswith("SQL SELECT count(*)")
        assert entries[0]["duration"] >= 50000
        out = subprocess.run(["redis-cli", "-p", str(s.port), "SLOWLOG", "GET"], capture_output=True, text=True,
                             check=True).stdout
        assert "generate_series" in out
        r.close()
    finally:
        s.stop()


@pytest.mark.parametrize("protocol", [2, 3])
def test_commandstats_errorstats_latencystats(protocol):
    s = VexLake()
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, protocol=protocol, decode_responses=True)
        # What the client itself sent on connect (redis-py may probe
        # subcommands this server does not have) is the baseline.
        base = r.info("everything")

        def delta(info, key, field):
            return info.get(key, {}).get(field, 0) - base.get(key, {}).get(field, 0)

        for i in range(20):
            r.set(f"k{i}", i)
            r.get(f"k{i}")
        r.execute_command("VADD", "vs", "VALUES", "2", "1", "0", "e")
        with pytest.raises(redis.ResponseError):
            r.execute_command("GET")  # wrong arity: rejected
        with pytest.raises(redis.ResponseError):
            r.execute_command("INCR", "vs")  # WRONGTYPE: failed
        with pytest.raises(redis.ResponseError):
            r.execute_command("NOSUCHCOMMAND")
        with pytest.raises(redis.ResponseError):
            r.execute_command("CLIENT", "NOSUCH")
        cs = r.info("commandstats")
        assert cs["cmdstat_set"]["calls"] == 20 and cs["cmdstat_set"]["failed_calls"] == 0
        assert cs["cmdstat_get"]["calls"] == 20 and cs["cmdstat_get"]["rejected_calls"] == 1
        assert cs["cmdstat_incr"]["failed_calls"] == 1
        assert cs["cmdstat_vadd"]["calls"] == 1
        assert delta(cs, "cmdstat_client", "rejected_calls") == 1
        assert cs["cmdstat_set"]["usec"] >= 0
        assert not any("nosuchcommand" in k for k in cs)
        es = r.info("errorstats")
        assert delta(es, "errorstat_WRONGTYPE", "count") == 1
        assert delta(es, "errorstat_ERR", "count") == 3
        ls = r.info("latencystats")
        get = ls["latency_percentiles_usec_get"]
        assert float(get["p50"]) > 0 and float(get["p50"]) <= float(get["p99"])
        # Default INFO has errorstats but not commandstats/latencystats, as Redis.
        default = r.info()
        assert "errorstat_ERR" in default and "cmdstat_get" not in default
        everything = r.info("everything")
        assert "cmdstat_get" in everything and "latency_percentiles_usec_get" in everything
        r.close()
    finally:
        s.stop()


def test_prometheus_metrics_endpoint():
    import re
    import urllib.request

    from conftest import _free_port

    port = _free_port()
    s = VexLake("--metrics-addr", f"127.0.0.1:{port}")
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        for i in range(50):
            r.set(f"k{i}", i)
            r.get(f"k{i}")
        r.execute_command("VADD", "vs", "VALUES", "2", "1", "0", "a")
        r.execute_command("VADD", "vs", "VALUES", "2", "0", "1", "b")
        with pytest.raises(redis.ResponseError):
            r.execute_command("INCR", "vs")
        r.execute_command("INGEST", "t", "FORMAT", "csv", "HEADER", "yes", "DATA", "a\n1\n2\n")
        r.execute_command("SQL", "SELECT count(*) FROM t")
        with pytest.raises(redis.ResponseError):
            r.execute_command("SQL", "SELECT nope FROM t")
        r.save()
        time.sleep(11)  # vector-set gauges are sampled every 10 s
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()

        def value(pattern):
            m = re.search(r"^" + pattern + r" ([0-9.e+-]+)$", body, re.M)
            assert m, pattern
            return float(m.group(1))

        assert value(r'vexlake_command_duration_seconds_count\{cmd="set"\}') == 50
        assert value(r'vexlake_command_duration_seconds_count\{cmd="get"\}') == 50
        assert value(r'vexlake_command_duration_seconds_bucket\{cmd="get",le="\+Inf"\}') == 50
        assert value(r'vexlake_command_failed_total\{cmd="incr"\}') == 1
        assert value(r'vexlake_errors_total\{kind="WRONGTYPE"\}') == 1
        assert value(r"vexlake_connected_clients") >= 1
        assert value(r"vexlake_memory_rss_bytes") > 1_000_000
        assert value(r'vexlake_keys\{db="0"\}') == 51
        assert value(r'vexlake_vectorset_elements\{db="0",key="vs"\}') == 2
        assert value(r"vexlake_wal_bytes_total") > 0
        assert value(r"vexlake_wal_fsyncs_total") > 0
        assert value(r"vexlake_wal_fsync_microseconds_total") > 0
        assert value(r"vexlake_flushes_total") >= 1
        assert value(r'vexlake_sql_queries_total\{result="ok"\}') == 1
        assert value(r'vexlake_sql_queries_total\{result="error"\}') == 1
        assert value(r"vexlake_sql_query_duration_seconds_count") == 2
        assert value(r'vexlake_ingest_requests_total\{result="ok"\}') == 1
        assert "# TYPE vexlake_command_duration_seconds histogram" in body
        r.close()
    finally:
        s.stop()


def test_metrics_addr_refusals():
    from conftest import _binary, _free_port

    import tempfile
    tmp = tempfile.mkdtemp()
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    for addr, text in [("nonsense", "'metrics-addr' must be host:port"),
                       (f"127.0.0.1:{busy}", "cannot serve metrics on")]:
        out = subprocess.run([_binary(), "--port", str(_free_port()), "--dir", tmp, "--metrics-addr", addr],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode != 0 and text in out.stderr, out.stderr
    holder.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_memory_usage_info_vectorsets_storage_and_client_list(protocol):
    s = VexLake()
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, protocol=protocol, decode_responses=True)
        r.set("small", "x")
        r.set("large", "y" * 100_000)
        small, large = r.memory_usage("small"), r.memory_usage("large")
        assert 0 < small < 1_000 and 100_000 < large < 101_000
        assert r.memory_usage("missing") is None
        assert r.memory_usage("small", samples=5) == small
        with pytest.raises(redis.ResponseError, match="syntax error"):
            r.execute_command("MEMORY", "USAGE", "small", "SAMPLES")
        with pytest.raises(redis.ResponseError, match="unknown subcommand"):
            r.execute_command("MEMORY", "NOPE")
        for i in range(300):
            r.execute_command("VADD", "vs", "VALUES", "8", *[str((i * 7 + j) % 13) for j in range(8)], f"e{i}")
        vs = r.memory_usage("vs")
        assert vs > 300 * 8 * 4, vs
        info = r.info("vectorsets")
        assert info["vectorsets"] == 1 and info["vectorset_elements"] == 300
        assert info["vectorset_memory_bytes"] > 300 * 8 * 4
        assert info["db0"]["sets"] == 1 and info["db0"]["elements"] == 300
        r.execute_command("INGEST", "t", "FORMAT", "csv", "HEADER", "yes", "DATA", "a,b\n1,2\n3,4\n")
        r.save()
        st = r.info("storage")
        assert st["storage_url"].startswith("file://")
        assert st["manifest_version"] >= 2 and st["manifest_known_version"] == st["manifest_version"]
        assert st["tables"] == 1 and st["table_rows"] == 2 and st["table_files"] == 1
        assert st["kv_files"] == 1 and st["vectorset_files"] == 2 and st["committed_bytes"] > 0
        assert st["flushes"] >= 1 and st["wal_fsyncs"] > 0
        assert "vectorsets" in r.info("everything") and "storage_url" in r.info()
        r.acl_setuser("lister", enabled=True, nopass=True, categories=["+@all"], keys=["*"])
        other = redis.Redis(host="127.0.0.1", port=s.port, username="lister", password="x", decode_responses=True)
        other.client_setname("watcher")
        other.get("small")
        line = [c for c in r.client_list() if c["name"] == "watcher"][0]
        assert line["user"] == "lister" and line["cmd"] == "get" and line["db"] == "0"
        other.close()
        r.close()
    finally:
        s.stop()
