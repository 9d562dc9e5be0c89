"""VexLake's vector-set extensions through redis-py, in RESP2 and RESP3:
VSEARCH (JSON vector, seed form), VADDBATCH, METRIC, and key commands on
vector sets. (Redis's own vector-set API is covered by redis-py's
tests/test_vsets.py, see test_redis_py_vsets.py.)"""

import json
import struct

import pytest
import redis


def fp32(v):
    return struct.pack(f"<{len(v)}f", *v)


def test_vsearch_json_and_seed_form(r):
    r.vset().vadd("default", [0.1, 0.2, 0.3], "d1", attributes={"lang": "en"})
    r.vset().vadd("default", [-0.3, 0.2, -0.1], "d2", attributes={"lang": "fr"})
    assert r.execute_command("VSEARCH", "[0.1, 0.2, 0.3]", 1) == ["d1"]
    assert r.execute_command("VSEARCH", "default", json.dumps([-0.3, 0.2, -0.1]), 1) == ["d2"]
    hits = r.execute_command("VSEARCH", "default", "[0.1, 0.2, 0.3]", 2, "FILTER", ".lang == 'fr'")
    assert hits == ["d2"]
    with pytest.raises(redis.ResponseError, match="invalid vector specification"):
        r.execute_command("VSEARCH", "default", "[1, 'x']", 1)


def test_vaddbatch_and_search(r):
    args = []
    for i in range(100):
        args += [f"e{i}", fp32([1.0, i / 100.0, 0.5])]
    # NOQUANT: with Q8 these nearly equal vectors would quantize to ties.
    assert r.execute_command("VADDBATCH", "b", "FP32", 3, "NOQUANT", "ELEMENTS", *args) == 100
    assert r.vset().vcard("b") == 100
    assert r.vset().vsim("b", input="e50", count=1) == ["e50"]
    with pytest.raises(redis.ResponseError, match="invalid vector specification"):
        r.execute_command("VADDBATCH", "b", "FP32", 3, "NOQUANT", "ELEMENTS", "bad", b"xx")
    assert r.vset().vcard("b") == 100


def test_metric_l2(r):
    for name, v in [("near", [1, 1]), ("far", [10, 10]), ("mid", [3, 3])]:
        r.execute_command("VADD", "l2", "VALUES", 2, *v, name, "METRIC", "L2")
    assert r.vset().vsim("l2", input=[0, 0]) == ["near", "mid", "far"]
    scores = r.vset().vsim("l2", input=[0, 0], with_scores=True)
    assert scores["near"] == pytest.approx(1 / (1 + 2**0.5), abs=0.02)
    assert r.vset().vinfo("l2")["metric"] == "l2"


def test_vector_sets_are_keys(r):
    r.vset().vadd("vs", [1, 2], "a")
    assert r.type("vs") == "vectorset"
    assert list(r.scan_iter(_type="vectorset")) == ["vs"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.get("vs")
    assert r.rename("vs", "vs2")
    assert r.vset().vcard("vs2") == 1
    assert r.delete("vs2") == 1


def test_redis_8_8_details_filter_vinfo_config_and_acl(r):
    """The Redis 8.8 wire details of vector sets, with upstream's fixes
    where 8.8.0 has a bug (docs/commands.md, Vector sets)."""
    vs = r.vset()
    vs.vadd("p", [1, 0], "a", attributes={"q": 'say "hi"\n', "p": "a\\b", "tags": ["x", "b"], "n": [1, 2]})
    vs.vadd("p", [0, 1], "b", attributes={"q": "plain", "tags": ["y"], "n": 5})

    def hits(expr):
        return sorted(vs.vsim("p", [1, 0], filter=expr))

    # String literals take JSON's escapes (8.8.0 kept the backslashes).
    assert hits(r'.q == "say \"hi\"\n"') == ["a"]
    assert hits(r""".q == 'say "hi"\n'""") == ["a"]
    assert hits(r'.p == "a\\b"') == ["a"]
    assert hits(r'.q == "say \"hi\"n"') == []
    # `!!x` is x as a boolean (a syntax error in 8.8.0).
    assert hits("!!.q") == ["a", "b"] and hits("!!.missing") == []
    # An array attribute on the left of `in`: any of its elements in the
    # list (8.8.0 matched every element with an array there).
    assert hits(".tags in ['a', 'b']") == ["a"]
    assert hits(".tags in ['zz']") == []
    assert hits(".n in [2, 7]") == ["a"] and hits(".n in [5]") == ["b"]
    with pytest.raises(redis.ResponseError, match="syntax error in FILTER expression"):
        vs.vsim("p", [1, 0], filter=r'.q == "\u12"')

    # VINFO: Redis 8.8's fields in its order, then VexLake's metric; the
    # attribute count follows CAS SETATTR and VSETATTR with "".
    r.execute_command("VADD", "p", "VALUES", 2, 1, 1, "c", "CAS", "SETATTR", '{"w": 1}')
    r.execute_command("VADD", "p", "VALUES", 2, 1, 1, "c", "CAS", "SETATTR", '{"w": 2}')
    r.execute_command("VADD", "p", "VALUES", 2, 1, 1, "d", "CAS")
    info = r.execute_command("VINFO", "p")
    if isinstance(info, list):
        info = dict(zip(info[::2], info[1::2]))
    assert list(info) == ["quant-type", "hnsw-m", "vector-dim", "projection-input-dim", "size", "max-level",
                          "attributes-count", "vset-uid", "hnsw-max-node-uid", "metric"]
    assert info["attributes-count"] == 3 and info["size"] == 4 and info["quant-type"] == "int8"
    vs.vsetattr("p", "a", "")
    r.execute_command("VADD", "p", "VALUES", 2, 1, 1, "c", "CAS", "SETATTR", "")
    info = r.execute_command("VINFO", "p")
    count = info["attributes-count"] if isinstance(info, dict) else info[info.index("attributes-count") + 1]
    assert count == 1

    # Redis 8's switch is accepted and reported.
    assert r.config_get("vset-force-single-threaded-execution") == {"vset-force-single-threaded-execution": "no"}
    assert r.config_set("vset-force-single-threaded-execution", "yes")
    try:
        assert r.config_get("vset-*")["vset-force-single-threaded-execution"] == "yes"
        assert vs.vsim("p", [0, 1], count=1) == ["b"]
        with pytest.raises(redis.ResponseError, match="argument must be 'yes' or 'no'"):
            r.config_set("vset-force-single-threaded-execution", "maybe")
    finally:
        r.config_set("vset-force-single-threaded-execution", "no")

    # The V* commands are in @vectorset (as upstream names the category)
    # as well as VexLake's @vector.
    assert "vectorset" in r.acl_cat()
    assert set(r.acl_cat("vectorset")) == set(r.acl_cat("vector")) >= {"vadd", "vsim", "vinfo", "vrem"}


def test_digest_value_of_vector_sets_is_stable_across_restarts():
    """DEBUG DIGEST-VALUE of a vector set (each quantization, REDUCE,
    attributes) is the same after a WAL replay (kill -9), a clean restart
    and a restart from the lake after BGSAVE."""
    import random
    import time
    from conftest import VexLake
    s = VexLake("--appendfsync", "always")
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        rng = random.Random(3)
        keys = {"q8": [], "noquant": ["NOQUANT"], "bin": ["BIN"], "reduced": ["REDUCE", 4]}
        for key, opts in keys.items():
            for i in range(300):
                vec = [rng.uniform(-1, 1) for _ in range(8)]
                extra = ["SETATTR", json.dumps({"i": i})] if i % 3 == 0 else []
                args = ["VADD", key] + (opts[:2] if opts[:1] == ["REDUCE"] else []) + ["VALUES", 8, *vec, f"e{i}"]
                r.execute_command(*args, *([] if opts[:1] == ["REDUCE"] else opts), *extra)
            for i in range(0, 300, 7):
                r.execute_command("VREM", key, f"e{i}")
        def digests():
            return r.execute_command("DEBUG", "DIGEST-VALUE", *keys)
        want = digests()
        assert len(set(want)) == len(keys) and "0" * 40 not in want
        s.restart(kill=True)
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert digests() == want
        s.restart()
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert digests() == want
        r.bgsave()
        time.sleep(1.5)
        s.restart(kill=True)
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert digests() == want
        r.execute_command("VSETATTR", "q8", "e1", '{"changed": true}')
        assert digests()[0] != want[0]
    finally:
        s.stop()


def test_dump_restore_of_vector_sets_survives_kill_and_refuses_bad_payloads():
    """DUMP/RESTORE of a vector set (each quantization, REDUCE, attributes)
    gives the same elements, vectors, attributes and search results; the
    restored set is durable (kill -9 right after, then a restart from the
    lake); damaged payloads are refused and change nothing."""
    import random
    import time
    import zlib
    from conftest import VexLake
    s = VexLake("--appendfsync", "always")
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        rb = redis.Redis(host="127.0.0.1", port=s.port)
        rng = random.Random(4)
        sets = {"q8": [], "noquant": ["NOQUANT"], "bin": ["BIN"], "reduced": []}
        for key, opts in sets.items():
            for i in range(200):
                vec = [rng.uniform(-1, 1) for _ in range(8)]
                head = ["VADD", key] + (["REDUCE", 4] if key == "reduced" else [])
                extra = ["SETATTR", json.dumps({"i": i})] if i % 4 == 0 else []
                r.execute_command(*head, "VALUES", 8, *vec, f"e{i}", *opts, *extra)
        queries = [[rng.uniform(-1, 1) for _ in range(8)] for _ in range(5)]

        def view(key):
            info = r.execute_command("VINFO", key)
            if isinstance(info, list):
                info = dict(zip(info[::2], info[1::2]))
            info.pop("vset-uid")
            elements = r.execute_command("VRANGE", key, "-", "+", 1000)
            return (info, r.execute_command("DEBUG", "DIGEST-VALUE", key),
                    [r.vset().vsim(key, q, count=10, with_scores=True) for q in queries],
                    {e: (r.vset().vemb(key, e), r.vset().vgetattr(key, e)) for e in elements})

        want = {key: view(key) for key in sets}
        payloads = {key: rb.dump(key) for key in sets}
        for key, p in payloads.items():
            assert r.restore("copy:" + key, 0, p)
            assert view("copy:" + key) == want[key]
        uid = lambda k: dict(zip(*[iter(r.execute_command("VINFO", k))] * 2))["vset-uid"] \
            if isinstance(r.execute_command("VINFO", k), list) else r.execute_command("VINFO", k)["vset-uid"]
        assert uid("copy:q8") != uid("q8")
        # The restored set is a set like any other: VADD, VREM, a TTL.
        r.execute_command("VADD", "copy:q8", "VALUES", 8, *queries[0], "new")
        assert r.vset().vrem("copy:q8", "e1") == 1
        assert r.restore("ttl:q8", 60_000, payloads["q8"]) and 0 < r.pttl("ttl:q8") <= 60_000
        after = view("copy:q8")
        # Acknowledged means durable: kill -9 replays the VLoad records.
        s.restart(kill=True)
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        rb = redis.Redis(host="127.0.0.1", port=s.port)
        assert view("copy:q8") == after
        for key in ("noquant", "bin", "reduced"):
            assert view("copy:" + key) == want[key]
        assert 0 < r.pttl("ttl:q8") <= 60_000
        r.bgsave()
        time.sleep(1.5)
        s.restart()
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        rb = redis.Redis(host="127.0.0.1", port=s.port)
        assert view("copy:q8") == after and view("copy:reduced") == want["reduced"]

        # Damaged payloads: a flipped byte (checksum), a damaged graph that
        # passes the payload's CRC (its own index checksum then fails), an
        # unknown type; BUSYKEY without REPLACE; nothing changes.
        before = r.execute_command("DEBUG", "DIGEST")
        p = bytearray(payloads["q8"])
        p[40] ^= 1
        with pytest.raises(redis.ResponseError, match="payload version or checksum are wrong"):
            rb.restore("bad", 0, bytes(p))
        body = bytearray(payloads["q8"][:-6])
        body[40] ^= 1
        resealed = bytes(body) + payloads["q8"][-6:-4] + zlib.crc32(bytes(body) + payloads["q8"][-6:-4]).to_bytes(4, "little")
        with pytest.raises(redis.ResponseError, match="Bad data format"):
            rb.restore("bad", 0, resealed)
        with pytest.raises(redis.ResponseError, match="BUSYKEY"):
            rb.restore("q8", 0, payloads["bin"])
        assert r.execute_command("DEBUG", "DIGEST") == before and r.exists("bad") == 0
        assert rb.restore("q8", 0, payloads["bin"], replace=True)
        assert view("q8") == want["bin"]
    finally:
        s.stop()


def _embeddings(n, queries, dim, seed):
    """`n` base and `queries` query vectors (float32) that, like real
    embeddings and unlike uniform noise, lie near a low-dimensional
    subspace (8 latent dimensions mixed into `dim`)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(8, dim))
    x = rng.normal(size=(n + queries, 8)) @ mix + 0.05 * rng.normal(size=(n + queries, dim))
    x = x.astype(np.float32)
    return x[:n], x[n:]


def _load(port, key, vectors, names, clients):
    """VADDs of `vectors` (FP32, EF 100) from `clients` connections at once,
    each pipelining its share (interleaved), the way several loaders fill
    one set."""
    import threading
    errors = []

    def run(part):
        try:
            c = redis.Redis(host="127.0.0.1", port=port)
            for start in range(part, len(vectors), clients * 500):
                p = c.pipeline(transaction=False)
                for i in range(start, min(start + clients * 500, len(vectors)), clients):
                    p.execute_command("VADD", key, "FP32", vectors[i].tobytes(), names[i], "EF", 100)
                p.execute()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _recall(r, key, base, queries, ef):
    import numpy as np
    unit = base / np.linalg.norm(base, axis=1, keepdims=True)
    hits = 0
    for q in queries:
        truth = set(np.argsort(-(unit @ (q / np.linalg.norm(q))))[:10].tolist())
        got = r.execute_command("VSIM", key, "FP32", q.tobytes(), "COUNT", 10, "EF", ef)
        hits += len(truth & {int(g) for g in got})
    return hits / (10 * len(queries))


def test_concurrent_vadd_keeps_recall_and_replays_by_links():
    """50,000 vectors VADDed into one set from 4 connections at once reach
    the recall@10 (EF 200) of the same vectors loaded from one connection
    (within 0.01); after kill -9 the WAL tail is replayed by the logged
    links (no VADD or VADDBATCH element searched again) and every VSIM
    answers as before."""
    import re
    import time
    from conftest import VexLake
    n, dim = 50_000, 24
    base, queries = _embeddings(n, 200, dim, 5)
    names = [str(i).encode() for i in range(n)]
    # No commit during the test: all 100,000 VADDs stay in the WAL tail.
    s = VexLake("--appendfsync", "always", "--flush-vector-inserts", "0", "--flush-interval", "3600",
                "--flush-size", "1gb")
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        _load(s.port, "one", base, names, 1)
        _load(s.port, "four", base, names, 4)
        assert r.execute_command("VCARD", "one") == n == r.execute_command("VCARD", "four")
        single, concurrent = _recall(r, "one", base, queries, 200), _recall(r, "four", base, queries, 200)
        assert single > 0.9, single
        assert concurrent >= single - 0.01, (single, concurrent)
        # VADDBATCH of new elements is logged with links too.
        batch = ["VADDBATCH", "batch", "FP32", dim, "ELEMENTS"]
        for i in range(2000):
            batch += [names[i], base[i].tobytes()]
        assert r.execute_command(*batch) == 2000
        def answers():
            return [r.execute_command("VSIM", key, "FP32", q.tobytes(), "COUNT", 10, "EF", 200, "WITHSCORES")
                    for key in ("four", "batch") for q in queries[:50]]
        before = answers()
        s.restart(kill=True)
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert r.execute_command("VCARD", "four") == n
        deadline = time.time() + 30
        while len(found := re.findall(r"vadd_relinked=(\d+) vadd_reinserted=(\d+)", s.log_text())) < 2:
            assert time.time() < deadline, "no recovery line in the log"
            time.sleep(0.05)
        assert [tuple(map(int, f)) for f in found] == [(0, 0), (2 * n + 2000, 0)], found
        assert answers() == before
    finally:
        s.stop()
