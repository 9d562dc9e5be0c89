"""redis-py against VexLake in both protocols: connect handshake, caching
commands, introspection, errors."""

import time

import pytest
import redis
from conftest import VexLake


def test_handshake_sends_setinfo_and_hello(r):
    assert r.ping() is True
    me = r.client_info()
    assert me["lib-name"] == "redis-py"
    assert me["lib-ver"] == redis.__version__
    assert int(me["resp"]) == r.connection_pool.connection_kwargs.get("protocol", 2)
    hello = r.execute_command("HELLO")
    if isinstance(hello, list):  # RESP2: a flat key/value array
        hello = dict(zip(hello[::2], hello[1::2]))
    assert hello["server"] == "redis"
    assert hello["version"] == "8.4.0"


def test_set_get_and_options(r):
    assert r.set("k", "v") is True
    assert r.get("k") == "v"
    assert r.set("k", "v2", nx=True) is None
    assert r.set("k", "v2", xx=True, get=True) == "v"
    assert r.set("k", "v3", ex=100) is True
    assert r.ttl("k") == 100
    assert r.set("k", "v4", keepttl=True) is True
    assert r.ttl("k") == 100
    assert r.set("k", "v5", px=50_000) is True
    assert 49_000 < r.pttl("k") <= 50_000
    assert r.set("k", "v6", exat=int(time.time()) + 30) is True
    assert 28 <= r.ttl("k") <= 30
    assert r.getex("k", persist=True) == "v6"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=5) == "v6"
    assert r.getdel("k") == "v6"
    assert r.get("k") is None
    assert r.execute_command("SETEX", "s", 10, "x") is True
    assert r.psetex("p", 10_000, "x") is True
    assert r.execute_command("SETNX", "s", "y") == 0
    assert r.get("s") == "x"


def test_multi_key_and_counters(r):
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "missing", "b") == ["1", None, "2"]
    assert r.msetnx({"a": "x", "c": "3"}) is False
    assert r.get("c") is None
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.decr("n") == 41
    assert r.decrby("n", 1) == 40
    r.set("f", "10.5")
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.append("t", "Hello") == 5
    assert r.append("t", " World") == 11
    assert r.strlen("t") == 11
    assert r.getrange("t", 0, 4) == "Hello"
    assert r.setrange("t", 6, "Redis") == 11
    assert r.get("t") == "Hello Redis"


def test_keys_expiry_scan(r):
    for i in range(300):
        r.set(f"user:{i}", i)
    r.set("other", 1)
    assert r.exists("user:1", "user:2", "nope") == 2
    assert r.type("user:1") == "string"
    assert r.type("nope") == "none"
    assert len(r.keys("user:*")) == 300
    assert sorted(r.scan_iter(match="user:2?", count=7)) == sorted(f"user:{i}" for i in range(20, 30))
    assert len(list(r.scan_iter(_type="string", count=50))) == 301
    assert r.expire("other", 100, nx=True) is True
    assert r.expire("other", 50, gt=True) is False
    assert r.expire("other", 200, gt=True) is True
    assert r.ttl("other") == 200
    assert r.expiretime("other") >= int(time.time()) + 199
    assert r.persist("other") is True
    assert r.rename("other", "renamed") is True
    assert r.renamenx("renamed", "user:1") is False
    assert r.randomkey() is not None
    assert r.delete("renamed", "nope") == 1
    assert r.unlink("user:1") == 1
    assert r.dbsize() == 299
    r.set("short", "v", px=100)
    time.sleep(0.3)
    assert r.get("short") is None


def test_server_introspection(r):
    info = r.info()
    assert info["redis_version"] == "8.4.0"
    assert info["arch_bits"] == 64
    assert info["cluster_enabled"] == 0
    r.set("x", 1)
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert r.config_get("maxclients") == {"maxclients": "10000"}
    assert "port" in r.config_get("*")
    secs, micros = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= micros < 1_000_000
    assert r.command_count() >= 50
    cmds = r.command()
    assert cmds["get"]["arity"] == 2
    assert r.client_setname("py-client") is True
    assert r.client_getname() == "py-client"
    assert isinstance(r.client_id(), int)
    assert any(c["name"] == "py-client" for c in r.client_list())
    r.flushdb()
    assert r.dbsize() == 0


def test_pipeline_without_transaction(r):
    with r.pipeline(transaction=False) as p:
        for i in range(1000):
            p.set(f"k{i}", i)
            p.incr("count")
        results = p.execute()
    assert results[0] is True
    assert results[-1] == 1000
    assert r.get("k999") == "999"


def test_errors_are_redis_errors(r):
    with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
        r.execute_command("NOSUCH", "x")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        r.execute_command("GET")
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("s")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SET", "s", "v", "NX", "XX")
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("missing", "x")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", "99")
    assert r.get("s") == "abc"
    assert r.ping()


@pytest.mark.parametrize("protocol", [2, 3])
def test_auth_and_select(protocol):
    s = VexLake("--requirepass", "pw")
    try:
        ok = redis.Redis(port=s.port, password="pw", protocol=protocol, db=3, decode_responses=True)
        assert ok.set("k", "v")
        assert int(ok.client_info()["db"]) == 3
        # No retries: redis-py retries failed AUTHs with backoff (seconds) by default.
        no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
        bad = redis.Redis(port=s.port, password="wrong", protocol=protocol, retry=no_retry)
        with pytest.raises(redis.AuthenticationError):
            bad.ping()
        anon = redis.Redis(port=s.port, protocol=protocol, retry=no_retry)
        with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
            anon.get("k")
    finally:
        s.stop()
