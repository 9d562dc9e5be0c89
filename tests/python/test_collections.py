"""Hashes, sets and lists over TCP with redis-py (RESP2 and RESP3): their
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
    c3.hset("h3", "a", "1")
    c3.rpush("l3", *[str(i) for i in range(300)])
    c3.ltrim("l3", 10, 209)
    c3.sadd("s3", *[str(i) for i in range(200)])
    c3.spop("s3", 50)


def check(c, c3):
    assert c.hgetall("h") == {"f1": "v1", "f2": "v2", "n": "15"}
    assert 0 < c.hpttl("h", "f2")[0] <= 3_600_000
    assert c.httl("h", "f1") == [-1]
    assert c.smembers("s") == {"a", "c"}
    assert 0 < c.ttl("s") <= 3600
    assert c.lrange("l", 0, -1) == ["W", "x", "q", "z", "y"]
    assert c.get("str") == "plain"
    assert [c.type(k) for k in ("h", "s", "l", "str")] == ["hash", "set", "list", "string"]
    assert c3.hgetall("h3") == {"a": "1"}
    assert c3.lrange("l3", 0, -1) == [str(i) for i in range(10, 210)]
    assert c3.scard("s3") == 150


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
        c.hdel("h", "late")
        s.restart(kill=True)
        c, c3 = clients(s, protocol=2)
        assert c.hget("h", "late") is None
        assert c.rpop("l") == "tail"
        assert c.srem("s", "d") == 1
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
    finally:
        s.stop()


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


def test_wrongtype_across_every_type(r):
    r.set("string", "v")
    r.hset("hash", "f", "v")
    r.sadd("set", "m")
    r.rpush("list", "e")
    r.execute_command("VADD", "vset", "VALUES", 2, 1, 0, "e")
    probes = {
        "string": ["GET", "string"],
        "hash": ["HGET", "hash", "f"],
        "set": ["SISMEMBER", "set", "m"],
        "list": ["LINDEX", "list", 0],
        "vset": ["VCARD", "vset"],
    }
    writes = {
        "string": lambda k: ["APPEND", k, "x"],
        "hash": lambda k: ["HSET", k, "f", "x"],
        "set": lambda k: ["SADD", k, "x"],
        "list": lambda k: ["LPUSH", k, "x"],
        "vset": lambda k: ["VADD", k, "VALUES", 2, 0, 1, "x"],
    }
    reads = {
        "string": lambda k: ["STRLEN", k],
        "hash": lambda k: ["HLEN", k],
        "set": lambda k: ["SCARD", k],
        "list": lambda k: ["LLEN", k],
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
                ["SUNIONSTORE", "dst", "set", "list"], ["BLPOP", "hash", 1], ["LMPOP", 2, "hash", "list", "LEFT"]):
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
        (["RESTORE", "new", 0, b"\x03garbage\x01\x00\x00\x00\x00\x00"], "DUMP payload version or checksum are wrong"),
    ]
    before = (r.hgetall("h"), r.lrange("l", 0, -1), r.dbsize())
    for cmd, text in cases:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*cmd)
        assert text in str(e.value), (cmd, str(e.value))
    assert (r.hgetall("h"), r.lrange("l", 0, -1), r.dbsize()) == before
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
    for key in ("h", "s", "l"):
        payload = redis.Redis(host=r.connection_pool.connection_kwargs["host"],
                              port=r.connection_pool.connection_kwargs["port"]).dump(key)
        r.restore(key + "2", 0, payload)
        assert r.copy(key, key + "3")
    for suffix in ("2", "3"):
        assert r.hgetall("h" + suffix) == {"a": "1", "b": "2"}
        assert 0 < r.httl("h" + suffix, "a")[0] <= 1000
        assert r.smembers("s" + suffix) == {"x", "y"}
        assert r.lrange("l" + suffix, 0, -1) == ["1", "2", "3"]
    # The copy is independent of its source.
    r.rpush("l3", "4")
    assert r.llen("l") == 3


def test_keyspace_table_shows_collections_as_json(r):
    r.hset("h", "f", "v")
    r.sadd("s", "m")
    r.rpush("l", "a", "b")
    rows = r.execute_command("SQL", "SELECT key, type, value FROM keyspace() ORDER BY key")
    flat = rows if isinstance(rows, list) else rows
    text = str(flat)
    assert '{"f":"v"}' in text and '["m"]' in text and '["a","b"]' in text


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
