"""Streams over TCP with redis-py (RESP2 and RESP3): entries, consumer groups,
pending entries and counters across a commit, kill -9, a restart and a fresh
server on the same SeaweedFS bucket; XREAD / XREADGROUP with BLOCK (the `$`
of a blocked XREAD is the last ID when it blocked, first blocked first
served, a deleted key wakes XREADGROUP with NOGROUP); trimming; DUMP /
RESTORE; keyspace() in SQL; and bad input that changes nothing."""

import json
import threading
import time

import pytest
import redis

from conftest import S3_BUCKET, VexLake, Weed


def client(s, protocol=3, db=0):
    return redis.Redis(host="127.0.0.1", port=s.port, protocol=protocol, db=db, decode_responses=True)


def fill(c):
    """A stream with a group, two consumers, pending and acknowledged
    entries, a deleted entry and a second group that read nothing."""
    for i in range(1, 8):
        c.xadd("s", {"n": str(i), "sq": str(i * i)}, id=f"{i}-0")
    c.xgroup_create("s", "g", id="0")
    c.xgroup_create("s", "lazy", id="$")
    c.xreadgroup("g", "alice", {"s": ">"}, count=3)
    c.xreadgroup("g", "bob", {"s": ">"}, count=2)
    c.xack("s", "g", "2-0")
    c.xdel("s", "7-0")
    c.xadd("s3", {"x": "y"}, id="5-5")
    c.execute_command("XSETID", "s3", "9-9", "ENTRIESADDED", 20, "MAXDELETEDID", "1-0")


def state(c):
    """Everything observable about the streams (but idle times)."""
    info = c.xinfo_stream("s")
    groups = c.xinfo_groups("s")
    pending = c.xpending_range("s", "g", min="-", max="+", count=100)
    return (
        c.xrange("s"),
        {k: info[k] for k in ("length", "last-generated-id", "max-deleted-entry-id", "entries-added",
                              "recorded-first-entry-id", "groups")},
        [{k: g[k] for k in ("name", "consumers", "pending", "last-delivered-id", "entries-read", "lag")}
         for g in groups],
        [(p["message_id"], p["consumer"], p["times_delivered"]) for p in pending],
        sorted(x["name"] for x in c.xinfo_consumers("s", "g")),
        c.xinfo_stream("s3")["last-generated-id"], c.xinfo_stream("s3")["entries-added"],
        c.xinfo_stream("s3")["max-deleted-entry-id"],
    )


def test_streams_survive_a_commit_kill_restart_and_a_fresh_server_on_the_bucket():
    weed = Weed()
    args = ("--storage", f"s3://{S3_BUCKET}/streams", "--s3-endpoint", weed.endpoint, "--appendfsync", "always")
    s = VexLake(*args, env=weed.env)
    try:
        c = client(s)
        fill(c)
        c.bgsave()
        time.sleep(1.5)
        # After the commit, changes that live only in the WAL.
        c.xadd("s", {"n": "8"}, id="8-0")
        c.xreadgroup("g", "carol", {"s": ">"})
        c.xclaim("s", "g", "carol", 0, ["1-0"])
        c.xack("s", "g", "3-0")
        c.xtrim("s", maxlen=6, approximate=False)
        before = state(c)
        assert before[0][0][0] == "2-0" and len(before[0]) == 6
        assert [p[:2] for p in before[3]] == [("1-0", "carol"), ("4-0", "bob"), ("5-0", "bob"),
                                              ("6-0", "carol"), ("8-0", "carol")]
        s.restart(kill=True)
        assert state(client(s, protocol=2)) == before
        s.restart()
        assert state(client(s)) == before
        s.proc.terminate()
        s.proc.wait()
        fresh = VexLake(*args, env=weed.env)
        try:
            assert state(client(fresh)) == before
        finally:
            fresh.stop()
    finally:
        s.stop()
        weed.stop()


def blocked_clients(c):
    return c.info("clients")["blocked_clients"]


def wait_blocked(c, n):
    deadline = time.time() + 10
    while blocked_clients(c) != n:
        assert time.time() < deadline, "clients did not block"
        time.sleep(0.02)


def test_blocking_reads(server):
    c = client(server)
    c.xadd("s", {"a": "1"}, id="1-0")
    got = {}

    def read(name, **kw):
        r = client(server, protocol=2)
        got[name] = r.xread(block=0, **kw)

    # `$` means after the last ID when the client blocked.
    t = threading.Thread(target=read, args=("dollar",), kwargs={"streams": {"s": "$"}})
    t.start()
    wait_blocked(c, 1)
    c.xadd("other", {"b": "2"})
    time.sleep(0.1)
    assert t.is_alive()
    c.xadd("s", {"c": "3"}, id="2-0")
    t.join(5)
    assert got["dollar"] == [["s", [("2-0", {"c": "3"})]]]

    # A timeout is a null reply; COUNT and several streams.
    assert client(server, protocol=2).xread({"s": "$"}, block=100) == []
    assert c.xread({"s": "0", "other": "0"}, count=1) == {
        "s": [[("1-0", {"a": "1"})]], "other": [[(c.xrange("other")[0][0], {"b": "2"})]]}

    # Group readers blocked on `>` are served in the order they blocked.
    c.xgroup_create("s", "g", id="$")
    order = []

    def group_read(name):
        r = client(server, protocol=2)
        res = r.xreadgroup("g", name, {"s": ">"}, count=1, block=0)
        order.append((name, res[0][1][0][0]))

    threads = [threading.Thread(target=group_read, args=(n,)) for n in ("c1", "c2")]
    threads[0].start()
    wait_blocked(c, 1)
    threads[1].start()
    wait_blocked(c, 2)
    c.xadd("s", {"d": "4"}, id="3-0")
    c.xadd("s", {"e": "5"}, id="4-0")
    for t in threads:
        t.join(5)
    assert order == [("c1", "3-0"), ("c2", "4-0")]
    assert [(p["message_id"], p["consumer"]) for p in c.xpending_range("s", "g", "-", "+", 10)] == [
        ("3-0", "c1"), ("4-0", "c2")]

    # Deleting the key wakes a blocked XREADGROUP with NOGROUP.
    errors = []

    def doomed():
        try:
            client(server).xreadgroup("g", "c3", {"s": ">"}, block=0)
        except redis.ResponseError as e:
            errors.append(str(e))

    t = threading.Thread(target=doomed)
    t.start()
    wait_blocked(c, 1)
    c.delete("s")
    t.join(5)
    assert errors and errors[0] == (
        "NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option")
    # Inside MULTI a blocking read does not wait.
    p = client(server, protocol=2).pipeline(transaction=True)
    p.xread({"nothing": "$"}, block=0)
    assert p.execute() == [[]]


def test_trimming_ids_and_deletion_strategies(r):
    for i in range(250):
        r.xadd("t", {"i": i}, id=f"{i + 1}-0")
    # `~` trims whole nodes of 100 entries only; `=` is exact.
    assert r.xtrim("t", maxlen=120, approximate=True) == 100
    assert r.xlen("t") == 150
    assert r.xtrim("t", maxlen=120, approximate=False) == 30
    assert r.xtrim("t", minid="200-0", approximate=False) == 69
    assert r.xrange("t", count=1)[0][0] == "200-0"
    assert r.xadd("t", {"x": 1}, maxlen=10, approximate=False) and r.xlen("t") == 10
    # IDs: `ms-*`, explicit, and the errors for going back.
    assert r.xadd("ids", {"a": 1}, id="5-*") == "5-0"
    assert r.xadd("ids", {"a": 1}, id="5-*") == "5-1"
    assert r.xadd("ids", {"a": 1}, id="7") == "7-0"
    with pytest.raises(redis.ResponseError, match="equal or smaller than the target stream top item"):
        r.xadd("ids", {"a": 1}, id="6-*")
    assert r.xadd("nomk", {"a": 1}, nomkstream=True) is None and r.exists("nomk") == 0
    # ACKED keeps entries a group still needs; DELREF drops their PEL references.
    r.xadd("d", {"a": 1}, id="1-0")
    r.xadd("d", {"a": 2}, id="2-0")
    r.xgroup_create("d", "g", id="0")
    r.xreadgroup("g", "c", {"d": ">"}, count=1)
    assert r.execute_command("XDELEX", "d", "ACKED", "IDS", 2, "1-0", "2-0") == [2, 2]
    assert r.execute_command("XACKDEL", "d", "g", "ACKED", "IDS", 1, "1-0") == [1]
    assert r.xrange("d") == [["2-0", {"a": "2"}]] or r.xrange("d") == [("2-0", {"a": "2"})]
    r.xreadgroup("g", "c", {"d": ">"})
    assert r.execute_command("XDELEX", "d", "DELREF", "IDS", 2, "2-0", "9-0") == [1, -1]
    assert r.xpending("d", "g")["pending"] == 0
    # An empty stream stays (TYPE stream) and keeps its counters.
    assert r.type("d") == "stream" and r.xlen("d") == 0
    assert r.xinfo_stream("d")["entries-added"] == 2


def test_dump_restore_and_keyspace_table(r):
    r.xadd("s", {"f": "v", "g": "w"}, id="1-1")
    r.xgroup_create("s", "grp", id="0")
    r.xreadgroup("grp", "c", {"s": ">"})
    payload = r.dump("s")
    assert r.restore("copy", 0, payload)
    assert r.xrange("copy") == r.xrange("s")
    assert r.xpending("copy", "grp")["pending"] == 1
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        r.restore("bad", 0, payload[:-3] + b"xyz")
    assert r.debug_digest_value("s") if hasattr(r, "debug_digest_value") else True
    rows = r.execute_command("SQL", "SELECT key, type, value FROM keyspace() WHERE key = 's'")
    assert rows[1][:2] == ["s", "stream"]
    assert json.loads(rows[1][2]) == [["1-1", [["f", "v"], ["g", "w"]]]]


def test_bad_input_gets_errors_and_changes_nothing(r):
    r.xadd("s", {"f": "v"}, id="5-0")
    r.xgroup_create("s", "g", id="0")
    r.set("str", "x")
    cases = [
        (["XADD", "s", "5-0", "f", "v"], "The ID specified in XADD is equal or smaller than the target stream top item"),
        (["XADD", "s", "0-0", "f", "v"], "The ID specified in XADD must be greater than 0-0"),
        (["XADD", "s", "*", "f"], "wrong number of arguments for 'xadd' command"),
        (["XADD", "s", "x-1", "f", "v"], "Invalid stream ID specified as stream command argument"),
        (["XADD", "s", "MAXLEN", "-1", "*", "f", "v"], "The MAXLEN argument must be >= 0."),
        (["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"], "MAXLEN and MINID options at the same time"),
        (["XADD", "s", "MAXLEN", "1", "LIMIT", "5", "*", "f", "v"], "LIMIT cannot be used without the special ~ option"),
        (["XADD", "s", "LIMIT", "5", "*", "f", "v"], "LIMIT cannot be used without specifying a trimming strategy"),
        (["XADD", "str", "*", "f", "v"], "WRONGTYPE"),
        (["XTRIM", "s", "LIMIT", "0"], "XTRIM must be called with a trimming strategy"),
        (["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"], "invalid start ID for the interval"),
        (["XRANGE", "s", "-", "+", "COUNT"], "syntax error"),
        (["XREAD", "STREAMS", "s", "t", "0"], "Unbalanced 'xread' list of streams"),
        (["XREAD", "STREAMS", "s", ">"], "The > ID can be specified only when calling XREADGROUP"),
        (["XREAD", "BLOCK", "-1", "STREAMS", "s", "$"], "timeout is negative"),
        (["XREAD", "NOACK", "STREAMS", "s", "$"], "The NOACK option is only supported by XREADGROUP"),
        (["XREADGROUP", "GROUP", "nope", "c", "STREAMS", "s", ">"], "NOGROUP No such key 's' or consumer group 'nope'"),
        (["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"], "The $ ID is meaningless in the context of XREADGROUP"),
        (["XREADGROUP", "COUNT", "1", "STREAMS", "s", "t", ">", ">"], "Missing GROUP option for XREADGROUP"),
        (["XREADGROUP", "GROUP", "g", "c", "CLAIM", "-1", "STREAMS", "s", ">"], "min-idle-time must be a positive integer"),
        (["XGROUP", "CREATE", "s", "g", "$"], "BUSYGROUP Consumer Group name already exists"),
        (["XGROUP", "CREATE", "nokey", "g", "$"], "The XGROUP subcommand requires the key to exist"),
        (["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "-5"], "value for ENTRIESREAD must be positive or -1"),
        (["XGROUP", "SETID", "s", "nope", "$"], "NOGROUP No such consumer group 'nope' for key name 's'"),
        (["XGROUP", "CREATE", "s", "g3", "$", "BOGUS"], "unknown subcommand or wrong number of arguments for 'CREATE'"),
        (["XCLAIM", "s", "g", "c", "x", "5-0"], "Invalid min-idle-time argument for XCLAIM"),
        (["XCLAIM", "s", "g", "c", "0", "5-0", "BOGUS"], "Unrecognized XCLAIM option 'BOGUS'"),
        (["XCLAIM", "s", "nope", "c", "0", "5-0"], "NOGROUP No such key 's' or consumer group 'nope'"),
        (["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0"], "COUNT must be > 0"),
        (["XPENDING", "s", "g", "-", "+"], "syntax error"),
        (["XPENDING", "s", "nope"], "NOGROUP No such key 's' or consumer group 'nope'"),
        (["XSETID", "s", "1-0"], "The ID specified in XSETID is smaller than the target stream top item"),
        (["XSETID", "s", "9-0", "ENTRIESADDED", "-1"], "entries_added must be positive"),
        (["XSETID", "nokey", "9-0"], "no such key"),
        (["XDELEX", "s", "IDS", "2", "5-0"], "The `numids` parameter must match the number of arguments"),
        (["XDELEX", "s", "5-0", "6-0", "7-0"], "syntax error"),
        (["XACKDEL", "s", "g", "IDS", "0", "5-0"], "Number of IDs must be a positive integer"),
        (["XINFO", "STREAM", "nokey"], "no such key"),
        (["XINFO", "STREAM", "s", "FULL", "COUNT", "x"], "value is not an integer or out of range"),
    ]
    before = (r.xrange("s"), r.xinfo_groups("s"), r.get("str"), r.dbsize())
    for cmd, text in cases:
        with pytest.raises(redis.ResponseError) as e:
            r.execute_command(*cmd)
        assert text in str(e.value), (cmd, str(e.value))
    assert (r.xrange("s"), r.xinfo_groups("s"), r.get("str"), r.dbsize()) == before
    assert r.ping()
