"""Memory per element of big collections, VexLake next to redis-server.

Starts each server fresh for each type on a free 127.0.0.1 port (VexLake
with a fresh --dir; redis-server with no persistence), fills one hash, one
set or one sorted set of N elements through redis-cli --pipe, and prints
the growth of the server's resident memory (VmRSS) per element.

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


KINDS = {
    "hash": lambda i, per: ("HSET", f"h:{i // per}", f"field:{i}", f"value:{i}"),
    "set": lambda i, per: ("SADD", f"s:{i // per}", f"member:{i}"),
    "zset": lambda i, per: ("ZADD", f"z:{i // per}", i * 0.5, f"member:{i}"),
    "list": lambda i, per: ("RPUSH", f"l:{i // per}", f"element:{i}"),
}


def measure(pid, port, kind, n, small):
    """VmRSS growth per element while one kind is loaded."""
    per = small or n
    before = rss(pid)
    for start in range(0, n, 100_000):
        load(port, [resp(*KINDS[kind](i, per)) for i in range(start, min(n, start + 100_000))])
    time.sleep(1)
    return (rss(pid) - before) / n


def run(cmd, kind, n, small):
    """Starts `cmd` (a server) on a free port, measures `kind`, stops it."""
    port = free_port()
    proc = subprocess.Popen(cmd(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(port)
        return measure(proc.pid, port, kind, n, small)
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vexlake", required=True)
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=0, help="elements per key (default: one key of N)")
    ap.add_argument("--types", default=",".join(KINDS), help="comma-separated: hash,set,zset,list")
    a = ap.parse_args()
    version = subprocess.run([a.redis, "--version"], capture_output=True, text=True).stdout.split()[2]
    servers = {
        "vexlake": lambda port: [a.vexlake, "--port", str(port), "--bind", "127.0.0.1",
                                 "--dir", tempfile.mkdtemp(prefix="vexlake-mem-"), "--appendfsync", "everysec"],
        f"redis-server ({version})": lambda port: [a.redis, "--port", str(port), "--bind", "127.0.0.1",
                                                  "--save", "", "--appendonly", "no"],
    }
    # A fresh server per type, so one type's load does not leave memory
    # (allocator fragmentation, flush buffers) counted against the next.
    rows = [(name, kind, run(cmd, kind, a.n, a.small)) for kind in a.types.split(",") for name, cmd in servers.items()]
    shape = f"{a.n // a.small} keys of {a.small}" if a.small else "one key"
    print(f"{'server':<28} {'type':<6} bytes/element (VmRSS growth, {a.n} elements, {shape})")
    for name, kind, per in rows:
        print(f"{name:<28} {kind:<6} {per:8.1f}")


if __name__ == "__main__":
    main()
