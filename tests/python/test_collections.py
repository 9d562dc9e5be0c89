"""Hashes, sets, lists and sorted sets over TCP with redis-py (RESP2 and RESP3): their
persistence (restart, kill -9, a fresh server on the same SeaweedFS
bucket, the kv Parquet files read by pyarrow), WRONGTYPE across types,
hash field expiry, the blocking list commands (timeouts, first blocked
first served, disconnects, MULTI/EXEC, CLIENT UNBLOCK), DUMP/RESTORE,
keyspace() in SQL, and bad input that changes nothing."""

import glob
import os
import socket
import threading
import time

import pyarrow.parquet as pq
import pytest
import redis

from conftest import S3_BUCKET, VexLake, Weed


def fill(c, c3):
    """Writes one value of each collection type (and a string) in db 0 (`c`)
    and db 3 (`c3`)."""
    c.hset("h", mapping={"f1": "v1", "f2": "v2", "n": "10"})
    c.hincrby("h", "n", 5)
    c.hpexpire("h", 3_600_000, "f2")
    c.sadd("s", "a", "b", "c")
    c.srem("s", "b")
    c.rpush("l", "x", "y", "z", "y")
    c.lpush("l", "w")
    c.lrem("l", 1, "y")
    c.linsert("l", "BEFORE", "z", "q")
    c.lset("l", 0, "W")
    c.set("str", "plain")
    c.expire("s", 3600)
    c.zadd("z", {"a": 1, "b": 2.5, "c": float("-inf"), "d": 3})
    c.zincrby("z", 10, "a")
    c.zrem("z", "d")
    c3.hset("h3", "a", "1")
    c3.rpush("l3", *[str(i) for i in range(300)])
    c3.ltrim("l3", 10, 209)
    c3.sadd("s3", *[str(i) for i in range(200)])
    c3.spop("s3", 50)
    c3.zadd("z3", {str(i): i / 4 for i in range(300)})
    c3.zremrangebyrank("z3", 0, 99)


def check(c, c3):
    assert c.hgetall("h") == {"f1": "v1", "f2": "v2", "n": "15"}
    assert 0 < c.hpttl("h", "f2")[0] <= 3_600_000
    assert c.httl("h", "f1") == [-1]
    assert c.smembers("s") == {"a", "c"}
    assert 0 < c.ttl("s") <= 3600
    assert c.lrange("l", 0, -1) == ["W", "x", "q", "z", "y"]
    assert c.get("str") == "plain"
    assert c.zrange("z", 0, -1, withscores=True) == [["c", float("-inf")], ["b", 2.5], ["a", 11.0]] or \
        c.zrange("z", 0, -1, withscores=True) == [("c", float("-inf")), ("b", 2.5), ("a", 11.0)]
    assert [c.type(k) for k in ("h", "s", "l", "str", "z")] == ["hash", "set", "list", "string", "zset"]
    assert c3.hgetall("h3") == {"a": "1"}
    assert c3.lrange("l3", 0, -1) == [str(i) for i in range(10, 210)]
    assert c3.scard("s3") == 150
    assert c3.zcard("z3") == 200 and c3.zscore("z3", "100") == 25.0


def client(s, protocol=3, db=0):
    return redis.Redis(host="127.0.0.1", port=s.port, protocol=protocol, db=db, decode_responses=True)


def clients(s, protocol=3):
    return client(s, protocol), client(s, protocol, db=3)


def test_every_type_survives_restart_kill_and_a_fresh_server_on_the_bucket():
    weed = Weed()
    args = ("--storage", f"s3://{S3_BUCKET}/coll", "--s3-endpoint", weed.endpoint, "--appendfsync", "always")
    s = VexLake(*args, env=weed.env)
    try:
        c, c3 = clients(s)
        fill(c, c3)
        check(c, c3)
        # Committed to the lake, then more edits that live only in the WAL.
        c.bgsave()
        time.sleep(1.5)
        c.hset("h", "late", "1")
        c.rpush("l", "tail")
        c.sadd("s", "d")
        c.zadd("z", {"late": 0})
        c.hdel("h", "late")
        s.restart(kill=True)
        c, c3 = clients(s, protocol=2)
        assert c.hget("h", "late") is None
        assert c.rpop("l") == "tail"
        assert c.srem("s", "d") == 1
        assert c.zrem("z", "late") == 1
        check(c, c3)
        s.restart()
        check(*clients(s))
        s.proc.terminate()
        s.proc.wait()
        # A server with an empty --dir on the same bucket reads it all.
        fresh = VexLake(*args, env=weed.env)
        try:
            check(*clients(fresh))
        finally:
            fresh.stop()
    finally:
        s.stop()
        weed.stop()


def test_kv_files_hold_collections_readable_by_pyarrow():
    s = VexLake()
    try:
        c, c3 = clients(s)
        fill(c, c3)
        c.save()
        rows = {}
        for f in sorted(glob.glob(os.path.join(s.dir, "store", "kv", "*.parquet"))):
            for r in pq.read_table(f).to_pylist():
                rows[(r["db"], r["key"])] = r
        h = rows[(0, b"h")]
        assert h["type"] == "hash" and h["value"] is None
        items = {i["member"]: (i["value"], i["expire_at_ms"]) for i in h["items"]}
        assert items[b"f1"] == (b"v1", None) and items[b"n"] == (b"15", None)
        assert items[b"f2"][0] == b"v2" and items[b"f2"][1] > time.time() * 1000
        assert [i["member"] for i in rows[(0, b"l")]["items"]] == [b"W", b"x", b"q", b"z", b"y"]
        assert sorted(i["member"] for i in rows[(0, b"s")]["items"]) == [b"a", b"c"]
        assert rows[(0, b"s")]["expire_at_ms"] is not None
        assert rows[(0, b"str")]["type"] == "string" and rows[(0, b"str")]["items"] is None
        assert rows[(3, b"l3")]["type"] == "list" and len(rows[(3, b"l3")]["items"]) == 200
        z = rows[(0, b"z")]
        assert z["type"] == "zset"
        assert [(i["member"], i["score"]) for i in z["items"]] == [(b"c", float("-inf")), (b"b", 2.5), (b"a", 11.0)]
    finally:
        s.stop()


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_wrongtype_across_every_type(r):
    r.set("string", "v")
    r.hset("hash", "f", "v")
    r.sadd("set", "m")
    r.rpush("list", "e")
    r.zadd("zset", {"m": 1})
    r.execute_command("VADD", "vset", "VALUES", 2, 1, 0, "e")
    r.xadd("stream", {"f": "v"}, id="1-0")
    probes = {
        "stream": ["XLEN", "stream"],
        "string": ["GET", "string"],
        "hash": ["HGET", "hash", "f"],
        "set": ["SISMEMBER", "set", "m"],
        "list": ["LINDEX", "list", 0],
        "zset": ["ZSCORE", "zset", "m"],
        "vset": ["VCARD", "vset"],
    }
    writes = {
        "string": lambda k: ["APPEND", k, "x"],
        "hash": lambda k: ["HSET", k, "f", "x"],
        "set": lambda k: ["SADD", k, "x"],
        "list": lambda k: ["LPUSH", k, "x"],
        "zset": lambda k: ["ZADD", k, 1, "x"],
        "vset": lambda k: ["VADD", k, "VALUES", 2, 0, 1, "x"],
        "stream": lambda k: ["XADD", k, "*", "f", "x"],
    }
    reads = {
        "stream": lambda k: ["XRANGE", k, "-", "+"],
        "string": lambda k: ["STRLEN", k],
        "hash": lambda k: ["HLEN", k],
        "set": lambda k: ["SCARD", k],
        "list": lambda k: ["LLEN", k],
        "zset": lambda k: ["ZCARD", k],
        "vset": lambda k: ["VCARD", k],
    }
    before = {k: r.execute_command(*p) for k, p in probes.items()}
    for key in probes:
        for family in probes:
            if family == key:
                continue
            for cmd in (writes[family](key), reads[family](key)):
                with pytest.raises(redis.ResponseError, match=WRONGTYPE):
                    r.execute_command(*cmd)
    for cmd in (["SMOVE", "set", "hash", "m"], ["LMOVE", "list", "set", "LEFT", "LEFT"],
                ["SUNIONSTORE", "dst", "set", "list"], ["BLPOP", "hash", 1], ["LMPOP", 2, "hash", "list", "LEFT"],
                ["ZUNIONSTORE", "dst", 2, "zset", "list"], ["BZPOPMIN", "list", 1], ["ZRANGESTORE", "dst", "list", 0, -1],
                ["XREAD", "STREAMS", "stream", "zset", "0", "0"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "hash", ">"],
                ["GEOSEARCH", "list", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "km"], ["XGROUP", "CREATE", "set", "g", "$"]):
        with pytest.raises(redis.ResponseError, match=WRONGTYPE):
            r.execute_command(*cmd)
    assert {k: r.execute_command(*p) for k, p in probes.items()} == before
    assert r.exists("dst") == 0
    # A *STORE replaces the destination whatever its type.
    assert r.sunionstore("string", "set") == 1 and r.type("string") == "set"
    assert sorted(r.scan_iter(_type="list")) == ["list"]


def test_bad_input_gets_errors_and_changes_nothing(r):
    r.hset("h", mapping={"f": "v", "n": "abc", "big": str(2**63 - 1)})
    r.rpush("l", "a", "b")
    cases = [
        (["HSET", "h", "f"], "wrong number of arguments for 'hset' command"),
        (["HSET", "h", "f", "v", "g"], "wrong number of arguments for 'hset' command"),
        (["HINCRBY", "h", "n", 1], "hash value is not an integer"),
        (["HINCRBY", "h", "big", 1], "increment or decrement would overflow"),
        (["HINCRBY", "h", "f", "x"], "value is not an integer or out of range"),
        (["HINCRBYFLOAT", "h", "n", 1], "hash value is not a float"),
        (["HINCRBYFLOAT", "h", "f", "inf"], "value is NaN or Infinity"),
        (["HEXPIRE", "h", -1, "FIELDS", 1, "f"], "invalid expire time, must be >= 0"),
        (["HEXPIRE", "h", 10, "FIELDS", 0, "f"], "Parameter `numFields` should be greater than 0"),
        (["HEXPIRE", "h", 10, "FIELDS", 2, "f"], "wrong number of arguments"),
        (["HEXPIRE", "h", 10, "NX", "XX", "FIELDS", 1, "f"], "Multiple condition flags specified"),
        (["HEXPIRE", "h", 10, "f", "FIELDS", 1], "unknown argument: f"),
        (["HTTL", "h", "FIELDS", 2, "f"], "The `numfields` parameter must match the number of arguments"),
        (["HTTL", "h", "NOFIELDS", 1, "f"], "Mandatory argument FIELDS is missing or not at the right position"),
        (["HSETEX", "h", "FNX", "FXX", "FIELDS", 1, "f", "v"], "Only one of FXX or FNX arguments can be specified"),
        (["HSETEX", "h", "EX", 1, "KEEPTTL", "FIELDS", 1, "f", "v"],
         "Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"),
        (["HGETEX", "h", "PERSIST", "EX", 1, "FIELDS", 1, "f"],
         "Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified"),
        (["HEXPIRE", "h", 10, "NX", "XX", "GT"], "missing FIELDS argument"),
        (["HGETEX", "h", "EX", 1, "NOFIELDS"], "unknown argument: NOFIELDS"),
        (["HRANDFIELD", "h", 1, "WITHVALUES", "x"], "syntax error"),
        (["LSET", "l", 5, "x"], "index out of range"),
        (["LSET", "nosuch", 0, "x"], "no such key"),
        (["LINSERT", "l", "MIDDLE", "a", "x"], "syntax error"),
        (["LPOS", "l", "a", "RANK", 0], "RANK can't be zero"),
        (["LPOP", "l", -1], "value is out of range, must be positive"),
        (["LMPOP", 0, "l", "LEFT"], "numkeys should be greater than 0"),
        (["LMPOP", 1, "l", "UP"], "syntax error"),
        (["LMPOP", 1, "l", "LEFT", "COUNT", 0], "count should be greater than 0"),
        (["BLPOP", "l", "x"], "timeout is not a float or out of range"),
        (["BLPOP", "l", -1], "timeout is negative"),
        (["SPOP", "s", -1], "value is out of range, must be positive"),
        (["SINTERCARD", 3, "a", "b"], "Number of keys can't be greater than number of args"),
        (["SINTERCARD", 1, "a", "LIMIT", -1], "LIMIT can't be negative"),
        (["HSCAN", "h", "x"], "invalid cursor"),
        (["SSCAN", "s", 0, "COUNT", 0], "syntax error"),
        (["ZADD", "z", "XX", "NX", 1, "m"], "XX and NX options at the same time are not compatible"),
        (["ZADD", "z", "GT", "LT", 1, "m"], "GT, LT, and/or NX options at the same time are not compatible"),
        (["ZADD", "z", "INCR", 1, "m", 2, "n"], "INCR option supports a single increment-element pair"),
        (["ZADD", "z", 1, "m", 2], "syntax error"),
        (["ZADD", "z", "nan", "m"], "value is not a valid float"),
        (["ZINCRBY", "zinf", "-inf", "m"], "resulting score is not a number (NaN)"),
        (["ZRANGEBYSCORE", "z", "x", 1], "min or max is not a float"),
        (["ZRANGEBYLEX", "z", "a", "+"], "min or max not valid string range item"),
        (["ZRANGE", "z", 0, 1, "LIMIT", 0, 1], "LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        (["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"], "WITHSCORES not supported in combination with BYLEX"),
        (["ZUNIONSTORE", "d", 0, "z"], "at least 1 input key is needed for 'zunionstore' command"),
        (["ZUNION", 1, "z", "WEIGHTS", "x"], "weight value is not a float"),
        (["ZINTER", 2, "z"], "syntax error"),
        (["ZMPOP", 1, "z", "MIDDLE"], "syntax error"),
        (["ZPOPMIN", "z", -1], "value is out of range, must be positive"),
        (["GEOADD", "g", 200, 10, "m"], "invalid longitude,latitude pair 200.000000,10.000000"),
        (["GEOADD", "g", 1, 2], "wrong number of arguments for 'geoadd' command"),
        (["GEOADD", "g", "NX", "XX", 1, 2, "m"], "syntax error"),
        (["GEOADD", "g", "x", 2, "m"], "value is not a valid float"),
        (["GEODIST", "g", "a", "b", "parsec"], "unsupported unit provided. please use M, KM, FT, MI"),
        (["GEOSEARCH", "g", "FROMLONLAT", 1, 2, "BYRADIUS", -1, "km"], "radius cannot be negative"),
        (["GEOSEARCH", "g", "FROMLONLAT", 1, 2, "BYBOX", 1, "x", "km"], "need numeric height"),
        (["GEOSEARCH", "g", "BYRADIUS", 1, "km", "ASC", "WITHDIST"], "exactly one of FROMMEMBER or FROMLONLAT"),
        (["GEOSEARCH", "g", "FROMLONLAT", 1, 2, "ASC", "DESC"], "exactly one of BYRADIUS and BYBOX"),
        (["GEOSEARCH", "g", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km", "ANY"], "the ANY argument requires COUNT argument"),
        (["GEOSEARCH", "g", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km", "COUNT", 0], "COUNT must be > 0"),
        (["GEOSEARCH", "g", "FROMMEMBER", "nope", "BYRADIUS", 1, "km"], "could not decode requested zset member"),
        (["GEORADIUS", "g", 1, 2, 10, "km", "WITHDIST", "STORE", "d"],
         "STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (["GEORADIUS_RO", "g", 1, 2, 10, "km", "STORE", "d"], "syntax error"),
        (["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", 1, 2, "BYRADIUS", 1, "km", "WITHDIST"],
         "GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"),
        (["RESTORE", "new", 0, b"\x03garbage\x01\x00\x00\x00\x00\x00"], "DUMP payload version or checksum are wrong"),
    ]
    r.zadd("zinf", {"m": float("inf")})
    r.geoadd("g", (13.361389, 38.115556, "Palermo"))
    before = (r.hgetall("h"), r.lrange("l", 0, -1), r.zrange("zinf", 0, -1, withscores=True),
              r.zrange("g", 0, -1, withscores=True), r.dbsize())
    for cmd, text in cases:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*cmd)
        assert text in str(e.value), (cmd, str(e.value))
    assert (r.hgetall("h"), r.lrange("l", 0, -1), r.zrange("zinf", 0, -1, withscores=True),
            r.zrange("g", 0, -1, withscores=True), r.dbsize()) == before
    assert r.ping()


def test_hash_field_expiry(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hpexpire("h", 150, "a", "nosuch") == [1, -2]
    assert r.hexpire("h", 100, "a", nx=True) == [0]
    assert r.hexpire("h", 100, "b", xx=True) == [0]
    assert r.hexpire("h", 100, "b", lt=True) == [1]
    assert r.hexpire("h", 50, "b", gt=True) == [0]
    assert r.hexpire("h", 200, "b", gt=True) == [1]
    assert r.hexpire("h", 0, "c") == [2]
    assert r.hexists("h", "c") is False
    assert r.hpersist("h", "b", "nosuch") == [1, -2]
    assert r.hpersist("h", "b") == [-1]
    assert r.httl("h", "b") == [-1]
    assert r.hexpiretime("h", "a")[0] >= int(time.time())
    assert r.hpexpiretime("nosuch", "a") == [-2]
    time.sleep(0.3)
    # The field is gone for every command.
    assert r.hget("h", "a") is None and r.hlen("h") == 1 and r.hgetall("h") == {"b": "2"}
    assert r.httl("h", "a") == [-2]
    # HSET clears a field's TTL; HSETEX sets and keeps it; HGETEX changes it.
    r.hpexpire("h", 100_000, "b")
    r.hset("h", "b", "again")
    assert r.httl("h", "b") == [-1]
    assert r.hsetex("h", "x", "1", px=100_000) == 1
    assert r.execute_command("HSETEX", "h", "FNX", "FIELDS", 1, "x", "2") == 0
    assert r.execute_command("HSETEX", "h", "FXX", "KEEPTTL", "FIELDS", 1, "x", "3") == 1
    assert r.hget("h", "x") == "3" and r.hpttl("h", "x")[0] > 90_000
    assert r.hgetex("h", "x", persist=True) == ["3"]
    assert r.httl("h", "x") == [-1]
    assert r.hgetex("h", "x", "b", px=100) == ["3", "again"]
    assert r.hgetdel("h", "nosuch") == [None]
    time.sleep(0.3)
    # Every field expired: the key is gone.
    assert r.exists("h") == 0 and r.type("h") == "none"


def test_field_deadlines_survive_a_kill_and_expire_after_it():
    s = VexLake("--appendfsync", "always")
    try:
        c = client(s)
        c.hset("h", mapping={"short": "1", "long": "2", "plain": "3"})
        c.hpexpire("h", 1500, "short")
        c.hexpire("h", 3600, "long")
        s.restart(kill=True)
        c = client(s)
        assert 0 < c.hpttl("h", "short")[0] <= 1500
        assert 3500 < c.httl("h", "long")[0] <= 3600
        time.sleep(1.6)
        assert c.hgetall("h") == {"long": "2", "plain": "3"}
        s.restart(kill=True)
        assert client(s).hgetall("h") == {"long": "2", "plain": "3"}
    finally:
        s.stop()


def test_collection_commands_reply_like_redis(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert not r.hsetnx("h", "a", "x")
    assert r.hrandfield("h", -5, withvalues=True) and len(r.hrandfield("h", 5)) == 2
    assert r.hincrbyfloat("h", "fl", "10.5") == 10.5 and r.hincrbyfloat("h", "fl", "0.1") == 10.6
    assert r.hstrlen("h", "a") == 1 and r.hmget("h", "a", "zz") == ["1", None]
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.smismember("s", "a", "z") == [1, 0]
    assert r.sintercard(2, ["s", "nosuch"]) == 0
    assert r.sinterstore("dst", ["s", "nosuch"]) == 0 and r.exists("dst") == 0
    assert r.smove("s", "s2", "a") is True and r.smembers("s2") == {"a"}
    assert len(r.srandmember("s", -10)) == 10 and len(r.srandmember("s", 10)) == 2
    assert r.rpush("l", *"abcab") == 5
    assert r.lpos("l", "b", rank=-1) == 4 and r.lpos("l", "a", count=0) == [0, 3]
    assert r.lrem("l", -1, "a") == 1 and r.lrange("l", 0, -1) == list("abcb")
    assert r.lmove("l", "l", "LEFT", "RIGHT") == "a" and r.lrange("l", 0, -1) == list("bcba")
    assert r.lmpop(2, "nosuch", "l", direction="RIGHT", count=10) == ["l", list("abcb")]
    assert r.exists("l") == 0
    assert r.lpop("l", 2) is None and r.lpop("l") is None
    # A big set scans in steps and every member comes exactly once or more.
    r.sadd("big", *range(1000))
    seen, cursor = set(), 0
    while True:
        cursor, members = r.sscan("big", cursor, count=100)
        seen.update(members)
        if cursor == 0:
            break
    assert len(seen) == 1000
    assert r.object("encoding", "big") == "hashtable"
    assert r.object("encoding", "s2") == "listpack"
    r.sadd("ints", 1, 2, 3)
    assert r.object("encoding", "ints") == "intset"


def test_dump_restore_and_copy_of_collections(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.hexpire("h", 1000, "a")
    r.sadd("s", "x", "y")
    r.rpush("l", "1", "2", "3")
    r.zadd("z", {"a": 1.5, "b": float("inf")})
    for key in ("h", "s", "l", "z"):
        payload = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                              port=r.connection_pool.connection_kwargs["port"]).dump(key)
        r.restore(key + "2", 0, payload)
        assert r.copy(key, key + "3")
    for suffix in ("2", "3"):
        assert r.hgetall("h" + suffix) == {"a": "1", "b": "2"}
        assert 0 < r.httl("h" + suffix, "a")[0] <= 1000
        assert r.smembers("s" + suffix) == {"x", "y"}
        assert r.lrange("l" + suffix, 0, -1) == ["1", "2", "3"]
        assert r.zscore("z" + suffix, "a") == 1.5 and r.zscore("z" + suffix, "b") == float("inf")
    # The copy is independent of its source.
    r.rpush("l3", "4")
    assert r.llen("l") == 3


def test_keyspace_table_shows_collections_as_json(r):
    r.hset("h", "f", "v")
    r.sadd("s", "m")
    r.rpush("l", "a", "b")
    r.zadd("z", {"x": 2, "y": 1})
    text = str(r.execute_command("SQL", "SELECT key, type, value FROM keyspace() ORDER BY key"))
    assert '{"f":"v"}' in text and '["m"]' in text and '["a","b"]' in text
    assert '[["y",1.0],["x",2.0]]' in text and "zset" in text


def blocked_clients(c):
    return int(c.info("clients")["blocked_clients"])


def wait_blocked(c, n):
    deadline = time.time() + 5
    while blocked_clients(c) != n:
        assert time.time() < deadline, f"expected {n} blocked clients"
        time.sleep(0.01)


def test_blocking_pops_timeouts_fairness_and_disconnects(server):
    c = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    c.flushall()
    start = time.time()
    assert c.blpop("q", timeout=0.3) is None
    assert 0.25 <= time.time() - start < 3
    assert c.blmove("q", "d", 0.1, "LEFT", "RIGHT") is None
    # Three clients block in order on one key; pushes serve them in order.
    results = {}

    def waiter(name):
        w = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
        results[name] = w.brpop(["other", "q"], timeout=10)
        w.close()

    threads = []
    for i, name in enumerate(["first", "second", "third"]):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        wait_blocked(c, i + 1)
    for v in ("a", "b", "c"):
        c.rpush("q", v)
        time.sleep(0.1)
    for t in threads:
        t.join(10)
    assert results == {"first": ("q", "a"), "second": ("q", "b"), "third": ("q", "c")}
    assert c.exists("q") == 0 and blocked_clients(c) == 0
    # A client that disconnects while blocked takes nothing with it.
    raw = socket.create_connection(("127.0.0.1", server.port))
    raw.sendall(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
    wait_blocked(c, 1)
    t = threading.Thread(target=waiter, args=("after",))
    t.start()
    wait_blocked(c, 2)
    raw.close()
    wait_blocked(c, 1)
    c.rpush("q", "x")
    t.join(10)
    assert results["after"] == ("q", "x") and c.exists("q") == 0
    # A transaction's push unblocks when EXEC has run, with its final state.
    t = threading.Thread(target=waiter, args=("multi",))
    t.start()
    wait_blocked(c, 1)
    with c.pipeline(transaction=True) as p:
        p.rpush("q", "1", "2")
        p.lpop("q")
        p.execute()
    t.join(10)
    assert results["multi"] == ("q", "2")
    # Inside MULTI a blocking pop never waits.
    with c.pipeline(transaction=True) as p:
        p.blpop("q", timeout=0)
        assert p.execute() == [None]
    # BLMPOP and BLMOVE are served by a later push, and CLIENT UNBLOCK
    # ends a wait with a timeout or an error.
    out = {}

    def blmpop():
        w = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
        out["id"] = w.client_id()
        out["blmpop"] = w.blmpop(5, 2, "a", "b", direction="LEFT", count=5)
        try:
            w.blmove("src", "dst", 5, "RIGHT", "LEFT")
        except redis.ResponseError as e:
            out["unblocked"] = str(e)
        w.close()

    t = threading.Thread(target=blmpop)
    t.start()
    wait_blocked(c, 1)
    c.rpush("b", "1", "2")
    deadline = time.time() + 5
    while "blmpop" not in out:
        assert time.time() < deadline
        time.sleep(0.01)
    assert out["blmpop"] == ["b", ["1", "2"]]
    wait_blocked(c, 1)
    assert c.client_unblock(out["id"], error=True) == 1
    t.join(10)
    assert out["unblocked"] == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert c.client_unblock(out["id"]) == 0
    c.close()


def test_sorted_set_replies_in_both_protocols(r):
    resp3 = r.connection_pool.connection_kwargs.get("protocol") == 3
    assert r.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert r.zadd("z", {"a": 5}, gt=True, ch=True) == 1
    assert r.zadd("z", {"a": 1}, gt=True, ch=True) == 0
    assert r.zadd("z", {"d": 4}, xx=True) == 0 and r.zscore("z", "d") is None
    assert r.zadd("z", {"a": 1}, incr=True) == 6.0
    assert r.zadd("z", {"a": 1}, nx=True, incr=True) is None
    assert r.zrange("z", 0, -1) == ["b", "c", "a"]
    assert r.zrevrange("z", 0, 0, withscores=True) in ([("a", 6.0)], [["a", 6.0]])
    assert r.zrangebyscore("z", "(2", "+inf") == ["c", "a"]
    assert r.zrevrangebyscore("z", 6, 3, start=0, num=1) == ["a"]
    assert r.zrange("z", "+inf", 3, byscore=True, desc=True, offset=1, num=5) == ["c"]
    assert r.zrank("z", "c") == 1 and r.zrevrank("z", "c", withscore=True) in ([1, 3.0], [1, "3"])
    assert r.zcount("z", 2, 3) == 2 and r.zmscore("z", ["a", "x"]) == [6.0, None]
    r.zadd("lex", {m: 0 for m in "abcde"})
    assert r.zrangebylex("lex", "[b", "(d") == ["b", "c"]
    assert r.zrevrangebylex("lex", "+", "[d") == ["e", "d"]
    assert r.zlexcount("lex", "-", "+") == 5 and r.zremrangebylex("lex", "[a", "[b") == 2
    assert r.zpopmin("z") in ([("b", 2.0)], ["b", 2.0])
    assert r.zpopmax("z", 5) in ([("a", 6.0), ("c", 3.0)], [["a", 6.0], ["c", 3.0]])
    assert r.exists("z") == 0 and r.zpopmin("z") == []
    r.zadd("z1", {"a": 1, "b": 2})
    r.zadd("z2", {"b": 3, "c": 4})
    r.sadd("plain", "a", "c")
    assert r.zunion(["z1", "z2"], withscores=True) in ([("a", 1.0), ("c", 4.0), ("b", 5.0)], [["a", 1.0], ["c", 4.0], ["b", 5.0]])
    assert r.zinterstore("out", {"z1": 2, "z2": 1}, aggregate="MAX") == 1 and r.zscore("out", "b") == 4.0
    assert r.zunionstore("out", ["z1", "plain"], aggregate="SUM") == 3 and r.zscore("out", "a") == 2.0
    assert r.zdiff(["z1", "z2"]) == ["a"] and r.zintercard(2, ["z1", "z2"]) == 1
    assert r.zrangestore("copy", "z1", 0, -1) == 2
    assert r.zmpop(2, ["none", "z1"], max=True, count=5) in (["z1", [["b", 2.0], ["a", 1.0]]], ["z1", [["b", "2"], ["a", "1"]]])
    assert len(r.zrandmember("copy", -5, withscores=True)) == (5 if resp3 else 10)
    cursor, items = r.zscan("copy", 0)
    assert cursor == 0 and dict(items) == {"a": 1.0, "b": 2.0}
    r.zadd("big", {str(i): i for i in range(500)})
    assert r.object("encoding", "big") == "skiplist" and r.object("encoding", "copy") == "listpack"
    assert r.zremrangebyscore("big", "(100", 1000) == 399 and r.zremrangebyrank("big", 0, 9) == 10
    assert r.zrange("big", 0, 1) == ["10", "11"]


def test_blocking_sorted_set_pops(server):
    c = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    c.flushall()
    assert c.bzpopmin("z", timeout=0.1) is None
    out = {}

    def waiter():
        w = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
        out["max"] = w.bzpopmax(["y", "z"], timeout=10)
        out["mpop"] = w.bzmpop(10, 1, ["z"], min=True, count=2)
        w.close()

    t = threading.Thread(target=waiter)
    t.start()
    wait_blocked(c, 1)
    c.zadd("z", {"a": 1, "b": 2})
    deadline = time.time() + 5
    while "max" not in out:
        assert time.time() < deadline
        time.sleep(0.01)
    assert out["max"] == ("z", "b", 2.0)
    t.join(10)
    key, [(member, score)] = out["mpop"]
    assert (key, member, float(score)) == ("z", "a", 1.0)
    assert c.exists("z") == 0
    c.close()


def test_bitmaps_patch_strings_and_survive_a_kill():
    s = VexLake("--appendfsync", "always")
    try:
        c = client(s)
        assert c.setbit("b", 7, 1) == 0 and c.setbit("b", 7, 1) == 1
        assert c.get("b") == "\x01" and c.getbit("b", 7) == 1 and c.getbit("b", 100) == 0
        c.set("k", "foobar")
        c.expire("k", 1000)
        assert c.bitcount("k") == 26 and c.bitcount("k", 1, 1) == 6 and c.bitcount("k", 5, 30, "BIT") == 17
        assert c.bitpos("k", 0) == 0 and c.bitpos("b", 1) == 7 and c.bitpos("nosuch", 0) == 0
        c.setbit("k", 1000, 1)
        assert c.ttl("k") > 900 and c.strlen("k") == 126
        assert c.bitop("AND", "and", "k", "b") == 126 and c.bitop("NOT", "not", "b") == 1
        assert redis.Redis(host="127.0.0.1", port=s.port).get("not") == b"\xfe"
        assert c.bitop("OR", "gone", "nosuch1", "nosuch2") == 0 and c.exists("gone") == 0
        bf = c.bitfield("f")
        assert bf.set("u8", 0, 255).incrby("u8", 0, 10).get("i8", 0).execute() == [0, 9, 9]
        assert c.bitfield("f").overflow("FAIL").incrby("u8", 0, 250).execute() == [None]
        assert c.bitfield("f").overflow("SAT").incrby("i8", "#1", 200).execute() == [127]
        assert c.bitfield_ro("f", "u8", 0, items=[("u8", 8)]) == [9, 127]
        for cmd, text in [
            (["SETBIT", "b", -1, 1], "bit offset is not an integer or out of range"),
            (["SETBIT", "b", 1, 2], "bit is not an integer or out of range"),
            (["BITPOS", "b", 2], "The bit argument must be 1 or 0."),
            (["BITOP", "NOT", "d", "a", "b"], "BITOP NOT must be called with a single source key."),
            (["BITOP", "DIFF", "d", "a"], "BITOP DIFF must be called with at least two source keys."),
            (["BITFIELD", "f", "GET", "u64", 0], "Invalid bitfield type"),
            (["BITFIELD", "f", "OVERFLOW", "NOPE"], "Invalid OVERFLOW type specified"),
            (["BITFIELD_RO", "f", "SET", "u8", 0, 1], "BITFIELD_RO only supports the GET subcommand"),
            (["BITCOUNT", "k", 1], "syntax error"),
        ]:
            with pytest.raises(redis.ResponseError, match=text):
                c.execute_command(*cmd)
        raw = redis.Redis(host="127.0.0.1", port=s.port)
        before = (raw.get("k"), raw.get("f"), raw.get("b"))
        s.restart(kill=True)
        c = client(s)
        raw = redis.Redis(host="127.0.0.1", port=s.port)
        assert (raw.get("k"), raw.get("f"), raw.get("b")) == before
        assert c.ttl("k") > 900
    finally:
        s.stop()


def test_hyperloglog_counts_within_its_error_and_refuses_other_strings(r):
    assert r.pfadd("h1", *[f"a{i}" for i in range(5000)]) == 1
    assert r.pfadd("h1", "a1", "a2") == 0
    assert r.pfadd("empty") == 1 and r.pfcount("empty") == 0
    r.pfadd("h2", *[f"a{i}" for i in range(2500, 10000)])
    assert abs(r.pfcount("h1") - 5000) < 5000 * 0.03
    assert abs(r.pfcount("h1", "h2", "nosuch") - 10000) < 10000 * 0.03
    assert r.pfmerge("m", "h1", "h2") and r.pfcount("m") == r.pfcount("h1", "h2")
    r.set("s", "plain")
    for cmd in (["PFADD", "s", "x"], ["PFCOUNT", "s"], ["PFMERGE", "m", "s"]):
        with pytest.raises(redis.ResponseError, match="WRONGTYPE Key is not a valid HyperLogLog string value."):
            r.execute_command(*cmd)
    r.rpush("l", "x")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.pfcount("l")
    # The registers are a string: it copies like one.
    r.set("copy", r.get("h1"))
    assert r.pfcount("copy") == r.pfcount("h1")


def test_sort_by_and_get_patterns_and_store(r):
    r.rpush("ids", "3", "1", "2")
    r.mset({"w_1": "30", "w_2": "10", "w_3": "20", "name_1": "one", "name_2": "two"})
    r.hset("h_3", "name", "three")
    assert r.sort("ids") == ["1", "2", "3"]
    assert r.sort("ids", desc=True, start=0, num=2) == ["3", "2"]
    assert r.sort("ids", by="w_*") == ["2", "3", "1"]
    assert r.sort("ids", by="w_*", get=["#", "name_*", "h_*->name"]) == \
        ["2", "two", None, "3", None, "three", "1", "one", None]
    assert r.sort("ids", by="nosort") == ["3", "1", "2"]
    r.sadd("names", "b", "a", "c")
    assert r.sort("names", alpha=True) == ["a", "b", "c"]
    with pytest.raises(redis.ResponseError, match="One or more scores can't be converted into double"):
        r.sort("names")
    assert r.sort("ids", store="out") == 3 and r.lrange("out", 0, -1) == ["1", "2", "3"]
    assert r.sort("nosuch", store="out") == 0 and r.exists("out") == 0
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SORT_RO", "ids", "STORE", "x")
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match=WRONGTYPE):
        r.sort("s")
    assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "128"}
    r.hset("small", mapping={str(i): "v" for i in range(3)})
    assert r.object("encoding", "small") == "listpack"
    r.config_set("hash-max-listpack-entries", 2)
    try:
        # As in Redis, a hash moves to a table when a write outgrows the
        # new limit, not when the limit changes.
        assert r.object("encoding", "small") == "listpack"
        r.hset("small", "another", "v")
        assert r.object("encoding", "small") == "hashtable"
        r.hdel("small", "0", "1", "2")
        assert r.object("encoding", "small") == "hashtable" and r.hgetall("small") == {"another": "v"}
    finally:
        r.config_set("hash-max-listpack-entries", 128)


def test_geo_matches_redis_documented_results(r):
    """The examples of Redis's GEO* documentation give these exact replies."""
    assert r.geoadd("Sicily", (13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")) == 2
    assert r.zscore("Sicily", "Palermo") == 3479099956230698
    assert r.geodist("Sicily", "Palermo", "Catania") == 166274.1516
    assert r.geodist("Sicily", "Palermo", "Catania", "km") == 166.2742
    assert r.geohash("Sicily", "Palermo", "Catania", "nope") == ["sqc8b49rny0", "sqdtr74hyu0", None]
    assert r.georadius("Sicily", 15, 37, 200, "km", withdist=True, sort="ASC") == [
        ["Catania", 56.4413], ["Palermo", 190.4424]]
    r.geoadd("Sicily", (12.758489, 38.788135, "edge1", 17.241510, 38.788135, "edge2"))
    got = r.geosearch("Sicily", longitude=15, latitude=37, width=400, height=400, unit="km",
                      sort="ASC", withcoord=True, withdist=True)
    assert [(m, d) for m, d, _ in got] == [
        ("Catania", 56.4413), ("Palermo", 190.4424), ("edge2", 279.7403), ("edge1", 279.7405)]
    assert got[0][2] == pytest.approx((15.087267458438873, 37.50266842333162), abs=1e-12)
    assert r.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="km", sort="ASC",
                       count=1) == ["Catania"]
    # The stored result is a sorted set: geohash scores, or distances with STOREDIST.
    assert r.geosearchstore("near", "Sicily", member="Palermo", radius=200, unit="km", storedist=True) == 3
    assert [list(p) for p in r.zrange("near", 0, -1, withscores=True)] == [
        ["Palermo", 0.0], ["edge1", pytest.approx(91.4006586)], ["Catania", pytest.approx(166.2741515)]]
    assert r.geosearchstore("near", "nosuch", member="Palermo", radius=1, unit="km") == 0
    assert r.exists("near") == 0
    assert r.geopos("Sicily", "nope") == [None]


def test_sql_table_functions_read_collections_and_join_lake_tables(r):
    r.hset("stock", mapping={"apple": 3, "pear": 0, "fig": 7})
    r.hpexpire("stock", 60_000, "fig")
    r.zadd("ranking", {"fig": 1.5, "apple": 2.5, "pear": -1})
    r.xadd("orders", {"item": "apple", "qty": "2"}, id="5-1")
    r.xadd("orders", {"item": "fig", "qty": "1"}, id="6-0")
    prices = f"prices_{r.connection_pool.connection_kwargs['protocol']}"
    r.execute_command("SQL", f"CREATE TABLE {prices} AS SELECT * FROM (VALUES ('apple', 1.25), ('fig', 4.0), "
                             "('pear', 2.0)) AS t(item, price)")
    rows = r.execute_command("SQL", "SELECT field, value, ttl_ms IS NOT NULL FROM hash('stock') ORDER BY field")
    assert rows == [["field", "value", "(hash('stock').ttl_ms IS NOT NULL)"],
                    ["apple", "3", 0], ["fig", "7", 1], ["pear", "0", 0]] or rows[1:] == [
        ["apple", "3", False], ["fig", "7", True], ["pear", "0", False]]
    rows = r.execute_command("SQL", "SELECT member, score, rank FROM zset('ranking') ORDER BY rank")
    assert [row[0] for row in rows[1:]] == ["pear", "fig", "apple"]
    assert [float(row[1]) for row in rows[1:]] == [-1.0, 1.5, 2.5]
    # A stream joined with a lake table and a hash: the value of each order in stock.
    rows = r.execute_command(
        "SQL",
        "SELECT o.id, o.value AS item, p.price * CAST(q.value AS DOUBLE) AS total, CAST(h.value AS BIGINT) AS stock "
        "FROM stream('orders') o JOIN stream('orders') q ON o.id = q.id AND q.field = 'qty' "
        f"JOIN {prices} p ON p.item = o.value JOIN hash('stock') h ON h.field = o.value "
        "WHERE o.field = 'item' ORDER BY o.id")
    assert [[row[0], row[1], float(row[2]), int(row[3])] for row in rows[1:]] == [
        ["5-1", "apple", 2.5, 3], ["6-0", "fig", 4.0, 7]]
    assert r.execute_command("SQL", "SELECT count(*) FROM hash('nosuch')")[1] == [0]
    for query, text in [("SELECT * FROM hash('ranking')", "key 'ranking' does not hold a hash"),
                        ("SELECT * FROM zset(1)", "zset() takes one argument: the key, as a string"),
                        ("SELECT * FROM stream('stock')", "key 'stock' does not hold a stream")]:
        with pytest.raises(redis.ResponseError, match=text.replace("(", r"\(").replace(")", r"\)")):
            r.execute_command("SQL", query)


def test_expired_hash_fields_are_swept_and_notified_without_access(server):
    c = client(server)
    c.config_set("notify-keyspace-events", "Khg")
    p = client(server).pubsub()
    p.psubscribe("__keyspace@0__:*")
    assert p.get_message(timeout=2)["type"] == "psubscribe"
    c.hset("h", mapping={"keep": 1, "soon": 2})
    c.hset("gone", mapping={"a": 1, "b": 2})
    c.hpexpire("h", 150, "soon")
    c.hpexpire("gone", 150, "a", "b")
    expired_before = c.info("stats")["expired_subkeys"]
    events = []
    deadline = time.time() + 5
    while time.time() < deadline and len([e for e in events if e[1] in ("hexpired", "del")]) < 3:
        m = p.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            events.append((m["channel"].split(":", 1)[1], m["data"]))
    # Nothing read the keys: the active sweep removed the fields.
    assert ("h", "hexpired") in events and ("gone", "hexpired") in events and ("gone", "del") in events
    assert c.info("stats")["expired_subkeys"] == expired_before + 3
    assert c.hgetall("h") == {"keep": "1"} and c.exists("gone") == 0
    p.close()


def test_packed_and_table_forms_agree_with_a_model(r):
    """Hashes, sets and sorted sets start packed and move to a table when
    a write outgrows the *-max-listpack-* limits (lowered here so random
    edits cross them often); every reply stays what a plain model says."""
    import random
    rng = random.Random(5)
    limits = {"hash-max-listpack-entries": 8, "set-max-listpack-entries": 8,
              "set-max-intset-entries": 12, "zset-max-listpack-entries": 8,
              "hash-max-listpack-value": 6, "zset-max-listpack-value": 6, "set-max-listpack-value": 6}
    old = r.config_get("*-max-*")
    r.execute_command("CONFIG", "SET", *[x for kv in limits.items() for x in kv])
    try:
        hashes, sets, zsets = {}, {}, {}
        seen = {"hash": set(), "set": set(), "zset": set()}
        for _ in range(1200):
            k = str(rng.randrange(6))
            m = rng.choice([str(rng.randrange(-20, 20)), f"m{rng.randrange(14)}", "long-member-" + str(rng.randrange(3))])
            op = rng.randrange(10)
            if op < 6:
                hashes.setdefault(k, {})[m] = str(rng.randrange(100))
                r.hset("h" + k, m, hashes[k][m])
                sets.setdefault(k, set()).add(m)
                r.sadd("s" + k, m)
                s = float(rng.randrange(-5, 5))
                zsets.setdefault(k, {})[m] = s
                r.zadd("z" + k, {m: s})
            else:
                assert r.hdel("h" + k, m) == int(hashes.get(k, {}).pop(m, None) is not None)
                assert r.srem("s" + k, m) == int(m in sets.get(k, set()))
                sets.get(k, set()).discard(m)
                assert r.zrem("z" + k, m) == int(zsets.get(k, {}).pop(m, None) is not None)
            for kind in ("hash", "set", "zset"):
                key = kind[0] + k
                if r.exists(key):
                    seen[kind].add(r.object("encoding", key))
        for k in hashes:
            assert r.hgetall("h" + k) == hashes[k]
            assert r.smembers("s" + k) == sets[k]
            want = sorted(zsets[k].items(), key=lambda e: (e[1], e[0]))
            got = r.zrange("z" + k, 0, -1, withscores=True)
            assert [(m, float(s)) for m, s in got] == want
            assert r.zrangebyscore("z" + k, -2, "(3") == [m for m, s in want if -2 <= s < 3]
            for i, (m, _) in enumerate(want):
                assert r.zrank("z" + k, m) == i
            # DUMP/RESTORE and COPY keep the contents, whatever the form.
            for key in ("h" + k, "s" + k, "z" + k):
                if r.exists(key):
                    payload = r.dump(key)
                    r.restore(key + "copy", 0, payload)
                    r.copy(key, key + "copy2")
                    for c in (key + "copy", key + "copy2"):
                        assert r.type(c) == r.type(key)
                    assert r.execute_command("DEBUG", "DIGEST-VALUE", key, key + "copy", key + "copy2")[1:] == \
                        [r.execute_command("DEBUG", "DIGEST-VALUE", key)[0]] * 2
        assert seen == {"hash": {"listpack", "hashtable"}, "set": {"intset", "listpack", "hashtable"},
                        "zset": {"listpack", "skiplist"}}
    finally:
        r.execute_command("CONFIG", "SET", *[x for k in limits for x in (k, old[k])])


def test_packed_and_deque_lists_agree_with_a_model(r):
    """Lists start packed and become a deque past list-max-listpack-size
    (6 entries here); random edits at both ends and in the middle, and a
    restore of each, keep what a Python list says."""
    import random
    rng = random.Random(9)
    r.config_set("list-max-listpack-size", 6)
    try:
        lists = {str(k): [] for k in range(5)}
        for step in range(1500):
            k = str(rng.randrange(5))
            key, model = "l" + k, lists[k]
            v = f"v{step}"
            op = rng.randrange(8)
            if op == 0:
                r.lpush(key, v)
                model.insert(0, v)
            elif op in (1, 2):
                r.rpush(key, v)
                model.append(v)
            elif op == 3:
                assert r.lpop(key) == (model.pop(0) if model else None)
            elif op == 4:
                assert r.rpop(key) == (model.pop() if model else None)
            elif op == 5 and model:
                i = rng.randrange(len(model))
                r.lset(key, i, v)
                model[i] = v
            elif op == 6 and model:
                pivot = rng.choice(model)
                r.linsert(key, "BEFORE", pivot, v)
                model.insert(model.index(pivot), v)
            elif op == 7 and model:
                start, stop = rng.randrange(-3, 3), rng.randrange(-3, 8)
                r.ltrim(key, start, stop)
                n = len(model)
                a = max(start + n if start < 0 else start, 0)
                b = min(stop + n if stop < 0 else stop, n - 1)
                model[:] = model[a:b + 1] if a <= b else []
            assert r.llen(key) == len(model)
        for k, model in lists.items():
            assert r.lrange("l" + k, 0, -1) == model
            assert [r.lindex("l" + k, i) for i in range(len(model))] == model
            if model:
                r.restore("copy" + k, 0, r.dump("l" + k))
                assert r.lrange("copy" + k, 0, -1) == model
    finally:
        r.config_set("list-max-listpack-size", -2)
