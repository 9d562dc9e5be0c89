#!/usr/bin/env python3
"""The lake's costs, measured on a release build (docs/benchmarks.md):

  commits   bytes and time of a commit vs dataset size: N string keys, then
            1 % of them changed, each followed by SAVE (local directory).
  wal       SET and VADD throughput, 50 clients (redis-benchmark), with the
            WAL on local disk vs in the lake on SeaweedFS (appendfsync
            always), beside Debian's redis-server with AOF always for SET.
  recovery  time from process start to the first VSIM answer after
            `kill -9` with N vector inserts in the WAL tail, without a bound
            (--flush-vector-inserts 0) and with the default bound.
  replicas  GET throughput of 1 replica vs 2 replicas of one lake
            (redis-benchmark, 50 clients per replica, run at once).

    python benches/lake_bench.py --bin ~/.cache/vexlake-target/release/vexlake \\
        [commits wal recovery replicas] [--keys 100000,1000000] [--vectors 100000]
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples", "python"))
from restart_bench import Weed, first_vsim, free_port, load_vectors, start  # noqa: E402

ENV = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait()


def commits(a):
    print("\n## commits: bytes and time vs dataset size (local directory)")
    print("| keys | full commit | bytes | 1 % changed: commit | bytes | ratio of bytes |")
    print("|---|---|---|---|---|---|")
    for n in [int(x) for x in a.keys.split(",")]:
        d = tempfile.mkdtemp(prefix="vexlake-commits-")
        try:
            proc, port, _ = start(a.bin, d, ["--flush-interval", "3600"], ENV)
            r = redis.Redis(port=port)
            for lo in range(0, n, 10_000):
                p = r.pipeline(transaction=False)
                for i in range(lo, min(n, lo + 10_000)):
                    p.set(f"key:{i:08d}", f"value-{i}-{i * 7919 % 100_003}")
                p.execute()
            t = time.perf_counter()
            r.execute_command("SAVE")
            full_s = time.perf_counter() - t
            full_b = int(r.info("storage")["last_commit_bytes"])
            p = r.pipeline(transaction=False)
            for i in range(0, n, 100):
                p.set(f"key:{i:08d}", "changed")
            p.execute()
            t = time.perf_counter()
            r.execute_command("SAVE")
            delta_s = time.perf_counter() - t
            delta_b = int(r.info("storage")["last_commit_bytes"])
            print(f"| {n:,} | {full_s * 1000:.0f} ms | {full_b:,} | {delta_s * 1000:.0f} ms | "
                  f"{delta_b:,} | {delta_b / full_b:.4f} |")
            r.close()
            stop(proc)
        finally:
            shutil.rmtree(d, ignore_errors=True)


def bench_rps(port, *args, n=100_000):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(n), "--csv", "-q", *args],
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()
    return float(out[-1].split(",")[1].strip('"'))


def median_rps(port, args, rounds, n=100_000):
    return statistics.median(bench_rps(port, *args, n=n) for _ in range(rounds))


def wal(a):
    print("\n## wal: throughput, 50 clients, appendfsync always (median of "
          f"{a.rounds} rounds; 100,000 requests a round, {a.object_requests:,} with the WAL in the lake)")
    set_args = ["-t", "set", "-r", "1000000"]
    vadd_args = ["-r", "1000000", "VADD", "vset", "VALUES", "4", "__rand_int__", "1", "2", "3", "e:__rand_int__"]
    weed = Weed(a.weed)
    rows = []
    try:
        for label, extra, n in [
            ("VexLake, WAL on local disk, lake on SeaweedFS", [], 100_000),
            ("VexLake, WAL in the lake (SeaweedFS)", ["--wal-storage", "object"], a.object_requests),
        ]:
            d = tempfile.mkdtemp(prefix="vexlake-wal-")
            lake = ["--storage", f"s3://bench/wal-{len(rows)}", "--s3-endpoint", f"http://127.0.0.1:{weed.s3_port}"]
            proc, port, _ = start(a.bin, d, lake + extra, ENV)
            objects_before = int(redis.Redis(port=port).info("storage")["wal_fsyncs"])
            row = (label, median_rps(port, set_args, a.rounds, n), median_rps(port, vadd_args, a.rounds, n))
            uploads = int(redis.Redis(port=port).info("storage")["wal_fsyncs"]) - objects_before
            print(f"{label}: SET {row[1]:,.0f} rps, VADD {row[2]:,.0f} rps; "
                  f"{uploads:,} fsyncs/uploads for {2 * a.rounds * n:,} writes", flush=True)
            rows.append(row)
            stop(proc)
            shutil.rmtree(d, ignore_errors=True)
    finally:
        weed.stop()
    if shutil.which("redis-server"):
        d = tempfile.mkdtemp(prefix="redis-aof-")
        port = free_port()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                                 "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                 "--loglevel", "warning"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        rows.append(("Debian redis-server, AOF always", median_rps(port, set_args, a.rounds), None))
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)
    print("| server | SET rps | VADD rps (4-dim, growing set) |")
    print("|---|---|---|")
    for label, s, v in rows:
        print(f"| {label} | {s:,.0f} | {'-' if v is None else f'{v:,.0f}'} |")


def recovery(a):
    print(f"\n## recovery: kill -9 with {a.vectors:,} vector inserts in the WAL tail (GloVe 50d, Q8)")
    vecs = load_vectors("glove", a.vectors, 50)
    query = vecs[12345 % len(vecs)]
    print("| flush-vector-inserts | inserts in the tail at kill -9 | start -> first VSIM |")
    print("|---|---|---|")
    for bound in ["0", "20000"]:
        d = tempfile.mkdtemp(prefix="vexlake-recovery-")
        try:
            extra = ["--flush-vector-inserts", bound, "--flush-interval", "3600"]
            proc, port, _ = start(a.bin, d, extra, ENV)
            r = redis.Redis(port=port)
            for i in range(0, len(vecs), 1000):
                args = ["VADDBATCH", "bench", "FP32", "50", "ELEMENTS"]
                for j in range(i, min(len(vecs), i + 1000)):
                    args += [str(j), vecs[j].tobytes()]
                r.execute_command(*args)
            info = r.info("persistence")  # killed right after the last insert
            tail = int(info["rdb_changes_since_last_save"])
            r.close()
            proc.kill()
            proc.wait()
            # Every run starts from the directory as the kill left it (a
            # run's own recovery commits, so the next would find no tail).
            killed = d + "-killed"
            shutil.copytree(d, killed)
            times = []
            for _ in range(a.rounds):
                shutil.rmtree(d)
                shutil.copytree(killed, d)
                proc, port, t0 = start(a.bin, d, extra, ENV)
                secs, _ = first_vsim(port, query, t0)
                times.append(secs)
                proc.kill()
                proc.wait()
            print(f"| {bound} | {tail:,} records | {statistics.median(times):.2f} s "
                  f"(runs {' / '.join(f'{t:.2f}' for t in times)}) |")
        finally:
            shutil.rmtree(d, ignore_errors=True)
            shutil.rmtree(d + "-killed", ignore_errors=True)


def replicas(a):
    print("\n## replicas: GET throughput, 1 vs 2 replicas of one lake (WAL in the lake, SeaweedFS)")
    weed = Weed(a.weed)
    procs, dirs = [], []
    try:
        lake = ["--storage", "s3://bench/replicas", "--s3-endpoint", f"http://127.0.0.1:{weed.s3_port}",
                "--wal-storage", "object"]
        d = tempfile.mkdtemp(prefix="vexlake-writer-")
        dirs.append(d)
        w, wport, _ = start(a.bin, d, lake, ENV)
        procs.append(w)
        subprocess.run(["redis-benchmark", "-p", str(wport), "-c", "50", "-n", "100000", "-r", "100000",
                        "-t", "set", "-q"], check=True, capture_output=True)
        ports = []
        for _ in range(2):
            d = tempfile.mkdtemp(prefix="vexlake-replica-")
            dirs.append(d)
            p, port, _ = start(a.bin, d, lake + ["--replica-of-lake", "yes"], ENV)
            procs.append(p)
            ports.append(port)
        time.sleep(1)
        args = ["-t", "get", "-r", "100000", "-n", "200000"]
        one = statistics.median(bench_rps(ports[0], *args[:-2], n=200_000) for _ in range(a.rounds))
        both = []
        for _ in range(a.rounds):
            runs = [subprocess.Popen(["redis-benchmark", "-p", str(p), "-c", "50", "-n", "200000", "-r", "100000",
                                      "-t", "get", "--csv", "-q"], stdout=subprocess.PIPE, text=True)
                    for p in ports]
            total = 0.0
            for run in runs:
                out, _ = run.communicate()
                total += float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
            both.append(total)
        print("| replicas | GET rps (sum) |")
        print("|---|---|")
        print(f"| 1 | {one:,.0f} |")
        print(f"| 2 (two redis-benchmark processes at once) | {statistics.median(both):,.0f} |")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
        weed.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("what", nargs="*", default=["commits", "wal", "recovery", "replicas"])
    ap.add_argument("--keys", default="100000,1000000")
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--object-requests", type=int, default=20_000)
    ap.add_argument("--weed", default=os.path.expanduser("~/.cache/vexlake-venv/bin/weed"))
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, "
          f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    print(subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip())
    for what in a.what:
        globals()[what](a)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
