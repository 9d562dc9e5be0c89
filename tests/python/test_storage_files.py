"""The files VexLake commits are open formats: pyarrow reads the Parquet
files named by the latest JSON manifest and finds exactly the data written
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
        vectors = {f"e{i}": [float(i), 1.0, -2.0, 0.5 * i] for i in range(50)}
        for name, v in vectors.items():
            attrs = json.dumps({"i": int(name[1:])}) if int(name[1:]) % 2 == 0 else None
            args = ["VADD", "vs", "VALUES", "4", *map(str, v), name, "NOQUANT"]
            if attrs:
                args += ["SETATTR", attrs]
            assert r.execute_command(*args) == 1
        assert r.save() is True

        store = os.path.join(s.dir, "store")
        m = _latest_manifest(store)
        assert m["format_version"] == 1
        (writer,) = m["writers"].values()

        rows = []
        for f in writer["kv"]:
            t = pq.read_table(os.path.join(store, f["path"]))
            assert t.num_rows == f["rows"]
            assert t.schema.names == ["db", "key", "value", "expire_at_ms"]
            rows += t.to_pylist()
        by_key = {(row["db"], row["key"]): row for row in rows}
        assert by_key[(0, b"plain")]["value"] == b"value"
        assert by_key[(0, b"binary\x00key")]["value"] == b"\xff\x00bytes"
        assert by_key[(2, b"in-db2")]["value"] == b"two"
        assert by_key[(0, b"plain")]["expire_at_ms"] is None
        ttl_ms = r.pexpiretime("ttl")
        assert by_key[(0, b"ttl")]["expire_at_ms"] == ttl_ms
        assert len(rows) == 4

        (entry,) = writer["vsets"]
        assert entry["key"] == "vs" and entry["elements"] == 50 and entry["quant"] == "f32"
        t = pq.read_table(os.path.join(store, entry["data"]["path"]))
        assert t.num_rows == 50
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
        with open(os.path.join(store, entry["index"]["path"]), "rb") as f:
            head = f.read(12)
        assert head[:8] == b"VXLVSET1" and struct.unpack("<I", head[8:12])[0] == 1
        r.close()
    finally:
        s.stop()
