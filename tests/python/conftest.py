"""Fixtures: a real vexlake server on a free 127.0.0.1 port, and redis-py
clients speaking RESP2 (protocol=2) and RESP3 (protocol=3) to it."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis


def _binary():
    explicit = os.environ.get("VEXLAKE_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "target")
    return os.path.join(target, "debug", "vexlake")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VexLake:
    """A running server process; stopped by stop()."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="vexlake-py-")
        for _ in range(5):
            self.port = _free_port()
            self.proc = subprocess.Popen(
                [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, *args],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return
                except OSError:
                    time.sleep(0.02)
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("vexlake did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    s = VexLake()
    yield s
    s.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, server):
    client = redis.Redis(host="127.0.0.1", port=server.port, protocol=request.param, decode_responses=True)
    client.flushall()
    yield client
    client.close()
