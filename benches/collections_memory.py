"""Memory per element of big collections, VexLake next to redis-server.

Starts each server on a free 127.0.0.1 port (VexLake with a fresh --dir;
redis-server with no persistence), fills one hash, one set and one sorted
set of N elements through redis-cli --pipe, and prints the growth of the
server's resident memory (VmRSS) per element for each.

With --small K, it instead fills N/K hashes, sets and sorted sets of K
elements each (the small collections Redis keeps as listpacks): the growth
per element then includes each key's own overhead.

    python3 benches/collections_memory.py --vexlake target/release/vexlake [-n 1000000] [--small 10]
"""

import argparse
import os
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def wait(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def resp(*args):
    out = [f"*{len(args)}\r\n"]
    for a in args:
        a = str(a)
        out.append(f"${len(a.encode())}\r\n{a}\r\n")
    return "".join(out)


def load(port, commands):
    p = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input="".join(commands).encode(),
                       capture_output=True, check=True)
    assert b"errors: 0" in p.stdout, p.stdout


def measure(name, pid, port, n, small):
    rows = []
    per = small or n
    kinds = {
        "hash": lambda i: ("HSET", f"h:{i // per}", f"field:{i}", f"value:{i}"),
        "set": lambda i: ("SADD", f"s:{i // per}", f"member:{i}"),
        "zset": lambda i: ("ZADD", f"z:{i // per}", i * 0.5, f"member:{i}"),
    }
    for kind, cmd in kinds.items():
        before = rss(pid)
        for start in range(0, n, 100_000):
            load(port, [resp(*cmd(i)) for i in range(start, min(n, start + 100_000))])
        time.sleep(1)
        after = rss(pid)
        rows.append((name, kind, (after - before) / n))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vexlake", required=True)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=0, help="elements per key (default: one key of N)")
    a = ap.parse_args()
    rows = []
    d = tempfile.mkdtemp(prefix="vexlake-mem-")
    port = free_port()
    v = subprocess.Popen([a.vexlake, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                          "--appendfsync", "everysec"], stderr=subprocess.DEVNULL)
    try:
        wait(port)
        rows += measure("vexlake", v.pid, port, a.n, a.small)
    finally:
        v.terminate()
        v.wait()
    port = free_port()
    r = subprocess.Popen([a.redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        wait(port)
        rows += measure(f"redis-server ({subprocess.run([a.redis, '--version'], capture_output=True, text=True).stdout.split()[2]})", r.pid, port, a.n, a.small)
    finally:
        r.terminate()
        r.wait()
    shape = f"{a.n // a.small} keys of {a.small}" if a.small else "one key"
    print(f"{'server':<28} {'type':<6} bytes/element (VmRSS growth, {a.n} elements, {shape})")
    for name, kind, per in rows:
        print(f"{name:<28} {kind:<6} {per:8.1f}")


if __name__ == "__main__":
    main()
