"""The files VexLake commits are open formats: pyarrow reads the Parquet
files named by the latest JSON manifest (a base, then deltas applied in
order, as docs/storage-format.md says) and finds exactly the data written
through redis-py."""

import glob
import json
import os
import struct

import pyarrow.parquet as pq
import pytest
import redis

from conftest import VexLake


def _latest_manifest(store):
    paths = sorted(glob.glob(os.path.join(store, "_metadata", "v*.json")))
    assert paths, "no manifest committed"
    with open(paths[-1]) as f:
        return json.load(f)


def test_pyarrow_reads_committed_parquet():
    s = VexLake()
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, protocol=3)
        r.set("plain", "value")
        r.set("binary\x00key", b"\xff\x00bytes")
        r.set("ttl", "soon", ex=3600)
        r.select(2)
        r.set("in-db2", "two")
        r.select(0)
        vectors = {f"e{i}": [float(i), 1.0, -2.0, 0.5 * i] for i in range(300)}
        for name, v in vectors.items():
            attrs = json.dumps({"i": int(name[1:])}) if int(name[1:]) % 2 == 0 else None
            args = ["VADD", "vs", "VALUES", "4", *map(str, v), name, "NOQUANT"]
            if attrs:
                args += ["SETATTR", attrs]
            assert r.execute_command(*args) == 1
        assert r.save() is True

        store = os.path.join(s.dir, "store")
        m = _latest_manifest(store)
        assert m["format_version"] == 2
        assert m["writer"]["epoch"] >= 1

        by_key = _kv_state(store, m)
        assert by_key[(0, b"plain")]["value"] == b"value"
        assert by_key[(0, b"binary\x00key")]["value"] == b"\xff\x00bytes"
        assert by_key[(2, b"in-db2")]["value"] == b"two"
        assert by_key[(0, b"plain")]["expire_at_ms"] is None
        ttl_ms = r.pexpiretime("ttl")
        assert by_key[(0, b"ttl")]["expire_at_ms"] == ttl_ms
        assert len(by_key) == 4

        (entry,) = m["vsets"]
        assert entry["key"] == "vs" and entry["elements"] == 300 and entry["quant"] == "f32"
        t = pq.read_table(os.path.join(store, entry["base"]["data"]["path"]))
        assert t.num_rows == 300
        for row in t.to_pylist():
            name = row["element"].decode()
            # As VEMB returns it: the input, up to float rounding.
            assert row["vector"] == pytest.approx(vectors[name], rel=1e-5, abs=1e-6)
            assert row["vector"] == pytest.approx([float(x) for x in r.execute_command("VEMB", "vs", name)])
            want = r.execute_command("VGETATTR", "vs", name)
            assert (row["attributes"] is None) == (want is None)
            if want is not None:
                assert json.loads(row["attributes"]) == json.loads(want)
        # The index file is the documented .hnsw format.
        with open(os.path.join(store, entry["base"]["index"]["path"]), "rb") as f:
            head = f.read(12)
        assert head[:8] == b"VXLVSET1" and struct.unpack("<I", head[8:12])[0] == 1

        # A second commit writes only what changed: a kv delta with the new
        # value and a tombstone, and a vector-set delta.
        r.set("plain", "changed")
        r.delete("binary\x00key")
        r.execute_command("VREM", "vs", "e3")
        r.execute_command("VADD", "vs", "VALUES", "4", "9", "9", "9", "9", "new", "NOQUANT")
        assert r.save() is True
        m2 = _latest_manifest(store)
        assert [f["kind"] for f in m2["kv"]] == ["base", "delta"]
        delta = pq.read_table(os.path.join(store, m2["kv"][1]["path"])).to_pylist()
        assert {(row["key"], row["value"]) for row in delta} == {(b"plain", b"changed"), (b"binary\x00key", None)}
        by_key = _kv_state(store, m2)
        assert by_key[(0, b"plain")]["value"] == b"changed" and (0, b"binary\x00key") not in by_key
        (entry,) = m2["vsets"]
        assert len(entry["deltas"]) == 1 and entry["elements"] == 300
        d = pq.read_table(os.path.join(store, entry["deltas"][0]["data"]["path"])).to_pylist()
        changed = {row["element"]: row for row in d}
        assert changed[b"e3"]["deleted"] is True and changed[b"e3"]["vector"] is None
        assert changed[b"new"]["deleted"] is False and changed[b"new"]["vector"] == pytest.approx([9.0] * 4)
        with open(os.path.join(store, entry["deltas"][0]["index"]["path"]), "rb") as f:
            assert f.read(8) == b"VXLVSDL1"
        r.close()
    finally:
        s.stop()


def _kv_state(store, manifest):
    """The keys of a version: the base, then each delta in order (a null
    `type` is a tombstone)."""
    state = {}
    for f in manifest["kv"]:
        t = pq.read_table(os.path.join(store, f["path"]))
        assert t.num_rows == f["rows"]
        assert t.schema.names == ["db", "key", "value", "expire_at_ms", "type", "items"]
        for row in t.to_pylist():
            assert (row["type"] is None) == (row["value"] is None)
            if row["type"] is None:
                state.pop((row["db"], row["key"]), None)
            else:
                state[(row["db"], row["key"])] = row
    return state
