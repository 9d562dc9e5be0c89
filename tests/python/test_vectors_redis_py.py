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
