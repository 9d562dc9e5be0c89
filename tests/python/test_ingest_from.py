"""INGEST ... FROM: files under --import-dir (CSV, JSON array, Parquet),
streamed with bounded memory and progress in INFO; paths outside the
import directory refused; objects of the store's own bucket on a real
SeaweedFS; nothing committed by a refused ingest."""

import json
import os
import shutil
import tempfile
import threading
import time

import pyarrow as pa
import pyarrow.fs
import pyarrow.parquet as pq
import pytest
import redis

from conftest import S3_BUCKET, S3_KEY, S3_SECRET, VexLake, Weed


def vm_hwm_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def write_csv(path, rows):
    """id,name,score,note with a known sum of id and score."""
    with open(path, "w") as f:
        f.write("id,name,score,note\n")
        chunk = 100_000
        for start in range(0, rows, chunk):
            f.write("".join(f"{i},name{i % 1000},{i % 100}.5,some text for row {i}\n"
                            for i in range(start, min(rows, start + chunk))))


@pytest.fixture(scope="module")
def imports():
    d = tempfile.mkdtemp(prefix="vexlake-import-")
    outside = tempfile.mkdtemp(prefix="vexlake-outside-")
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(outside, "secret.csv"), "w") as f:
        f.write("a\n1\n")
    os.symlink(os.path.join(outside, "secret.csv"), os.path.join(d, "link.csv"))
    yield d, outside
    shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(outside, ignore_errors=True)


def info(c):
    return c.info("persistence")


def test_from_import_dir_formats_and_refusals(imports):
    d, outside = imports
    with open(os.path.join(d, "sub", "small.csv"), "w") as f:
        f.write("id,name\n1,a\n2,b\n")
    rows = [{"k": f"k{i}", "v": i, "tags": ["x", "y"] if i % 2 else [], "s": "a,]\"[b"} for i in range(5000)]
    with open(os.path.join(d, "events.json"), "w") as f:
        json.dump(rows, f)
    pq.write_table(pa.table({"k": ["p1", "p2"], "v": pa.array([7, 8], pa.int64())}), os.path.join(d, "more.parquet"))
    s = VexLake("--import-dir", d)
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, protocol=3, decode_responses=True)
        got = c.execute_command("INGEST", "small", "FORMAT", "csv", "FROM", "sub/small.csv")
        assert got["rows"] == 2
        got = c.execute_command("INGEST", "ev", "FORMAT", "json", "FROM", f"file://{d}/events.json")
        assert got["rows"] == 5000
        res = c.execute_command("SQL", "SELECT count(*), sum(v), count(DISTINCT s), max(s) FROM ev")
        assert res[1] == [5000, sum(range(5000)), 1, "a,]\"[b"]
        c.execute_command("INGEST", "pq", "FORMAT", "parquet", "FROM", os.path.join(d, "more.parquet"))
        assert c.execute_command("SQL", "SELECT count(*) FROM pq WHERE v >= 7 AND k LIKE 'p%'")[1][0] == 2
        with pytest.raises(redis.ResponseError, match="schema mismatch: column 's' of table 'ev' is missing"):
            c.execute_command("INGEST", "ev", "FORMAT", "parquet", "FROM", "more.parquet")
        versions = len(c.execute_command("VERSIONS", "COUNT", "100"))
        for bad, msg in [("../" + os.path.basename(outside) + "/secret.csv", "outside the import directory"),
                         (os.path.join(outside, "secret.csv"), "outside the import directory"),
                         ("/etc/passwd", "outside the import directory"),
                         ("link.csv", "outside the import directory"),
                         ("nope.csv", "no such file"),
                         ("sub", "not a file")]:
            with pytest.raises(redis.ResponseError, match=msg):
                c.execute_command("INGEST", "leak", "FORMAT", "csv", "FROM", bad)
        with pytest.raises(redis.ResponseError, match="either DATA or FROM"):
            c.execute_command("INGEST", "t", "FORMAT", "csv", "FROM", "sub/small.csv", "DATA", "a\n1\n")
        with pytest.raises(redis.ResponseError, match="S3 storage"):
            c.execute_command("INGEST", "t", "FORMAT", "csv", "FROM", "s3://b/x.csv")
        with open(os.path.join(d, "bad.csv"), "w") as f:
            f.write("id,name\n" + "".join(f"{i},n\n" for i in range(30000)) + "oops,x\n")
        with pytest.raises(redis.ResponseError, match="line 30002"):
            c.execute_command("INGEST", "small", "FORMAT", "csv", "FROM", "bad.csv")
        # Nothing of the refused ingests was committed.
        assert len(c.execute_command("VERSIONS", "COUNT", "100")) == versions
        assert c.execute_command("SQL", "SELECT count(*) FROM small")[1][0] == 2
        tables = [r[0] for r in c.execute_command("SQL", "SELECT table_name FROM information_schema.tables")[1:]]
        assert "leak" not in tables and "t" not in tables
        assert int(info(c)["vexlake_ingests"]) == 3
        assert not os.listdir(os.path.join(s.dir, "tmp")) or all(
            n == "sql" for n in os.listdir(os.path.join(s.dir, "tmp")))
        c.close()
    finally:
        s.stop()
    # Without --import-dir, FROM a server file is refused.
    s = VexLake()
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port)
        with pytest.raises(redis.ResponseError, match="--import-dir"):
            c.execute_command("INGEST", "t", "FORMAT", "csv", "FROM", os.path.join(d, "sub", "small.csv"))
    finally:
        s.stop()


def test_large_csv_streams_with_bounded_memory_and_progress(imports):
    d, _ = imports
    rows = 5_000_000
    path = os.path.join(d, "big.csv")
    write_csv(path, rows)
    size = os.path.getsize(path)
    assert size > 200 << 20
    s = VexLake("--import-dir", d)
    try:
        c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        base = vm_hwm_kb(s.proc.pid)
        result = {}

        def run():
            w = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
            result["r"] = w.execute_command("INGEST", "big", "FORMAT", "csv", "FROM", "big.csv")

        t = threading.Thread(target=run)
        t.start()
        seen = []
        while t.is_alive():
            i = info(c)
            if int(i["vexlake_ingests_in_progress"]) == 1:
                seen.append((int(i["vexlake_ingest_rows_in_progress"]), int(i["vexlake_ingest_bytes_read"]),
                             int(i["vexlake_ingest_bytes_total"])))
            time.sleep(0.05)
        t.join()
        got = result["r"]
        got = got if isinstance(got, dict) else dict(zip(got[::2], got[1::2]))
        assert got["rows"] == rows
        # Progress was visible while it ran, and it grew.
        assert seen, "INFO never showed the ingest running"
        assert all(total == size for _, _, total in seen)
        assert max(r for r, _, _ in seen) > 0 and max(b for _, b, _ in seen) > 0
        i = info(c)
        assert int(i["vexlake_ingests_in_progress"]) == 0 and int(i["vexlake_ingested_rows"]) == rows
        # Streamed: the server's peak memory grew by much less than the file
        # (60-80 MB here on 2 cores: a 4 MB chunk per core being decoded and
        # encoded, one more waiting, and upload chunks, whatever the file's
        # size).
        grown = (vm_hwm_kb(s.proc.pid) - base) * 1024
        print(f"ingest of {size} bytes: peak memory +{grown} bytes, {len(seen)} progress samples")
        assert grown < size / 2, f"peak memory grew by {grown} bytes for a {size}-byte file"
        res = c.execute_command("SQL", "SELECT count(*), sum(id), min(name), max(note) FROM big")
        assert res[1][0] == rows and res[1][1] == rows * (rows - 1) // 2
        assert res[1][2] == "name0"
        c.close()
    finally:
        s.stop()
        os.remove(path)


def test_from_s3_object_of_the_store_bucket():
    weed = Weed()
    try:
        fs = pyarrow.fs.S3FileSystem(access_key=S3_KEY, secret_key=S3_SECRET, endpoint_override=weed.endpoint,
                                     scheme="http", region="us-east-1")
        with fs.open_output_stream(f"{S3_BUCKET}/incoming/orders.csv") as f:
            f.write(b"id,amount\n" + b"".join(f"{i},{i * 2}\n".encode() for i in range(10000)))
        s = VexLake("--storage", f"s3://{S3_BUCKET}/store", "--s3-endpoint", weed.endpoint, env=weed.env)
        try:
            c = redis.Redis(host="127.0.0.1", port=s.port, protocol=3, decode_responses=True)
            got = c.execute_command("INGEST", "orders", "FORMAT", "csv", "FROM", f"s3://{S3_BUCKET}/incoming/orders.csv")
            assert got["rows"] == 10000
            assert c.execute_command("SQL", "SELECT sum(amount) FROM orders")[1][0] == 2 * sum(range(10000))
            with pytest.raises(redis.ResponseError, match="configured bucket"):
                c.execute_command("INGEST", "x", "FORMAT", "csv", "FROM", "s3://another-bucket/orders.csv")
            with pytest.raises(redis.ResponseError, match="no such object"):
                c.execute_command("INGEST", "x", "FORMAT", "csv", "FROM", f"s3://{S3_BUCKET}/incoming/missing.csv")
            with pytest.raises(redis.ResponseError, match="import-dir"):
                c.execute_command("INGEST", "x", "FORMAT", "csv", "FROM", "/etc/passwd")
            # The table's files are in the bucket under the store prefix.
            files = fs.get_file_info(pyarrow.fs.FileSelector(f"{S3_BUCKET}/store/tables/orders", recursive=True))
            assert any(f.path.endswith(".parquet") for f in files)
            c.close()
        finally:
            s.stop()
    finally:
        weed.stop()
