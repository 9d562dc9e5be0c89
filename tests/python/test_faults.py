"""Faults over TCP: clients that vanish mid-command and mid-pipeline, slow
readers against the output buffer limits, 1,000 idle connections,
maxclients, and malformed frames interleaved with valid traffic. After each,
the server answers, and no acknowledged write is lost."""

import resource
import socket
import struct
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import VexLake


def wait_for(cond, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_until_closed(sock, limit_s=20.0):
    """Reads until EOF or reset; returns (bytes read, closed by the server)."""
    sock.settimeout(limit_s)
    total = 0
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                return total, True
            total += len(chunk)
    except ConnectionResetError:
        return total, True
    except socket.timeout:
        return total, False


@pytest.fixture(scope="module")
def limited():
    """Normal clients: hard limit 1 MB; soft 32 KB for 1 s."""
    s = VexLake("--client-output-buffer-limit", "normal 1mb 32kb 1")
    yield s
    s.stop()


def test_slow_reader_is_dropped_by_the_soft_limit(limited):
    r = redis.Redis(host="127.0.0.1", port=limited.port)
    value = b"v" * 200_000
    r.set("big", value)
    before = int(r.info("stats")["client_output_buffer_limit_disconnections"])
    slow = socket.create_connection(("127.0.0.1", limited.port))
    # 500 GETs of 200 KB = 100 MB of replies; the client reads none of them.
    slow.sendall(resp("GET", "big") * 500)
    assert wait_for(lambda: int(r.info("stats")["client_output_buffer_limit_disconnections"]) > before)
    got, closed = read_until_closed(slow)
    assert closed and got < 100 * 200_000
    slow.close()
    # Everyone else is served, the data is intact.
    assert r.get("big") == value
    assert r.ping()
    r.close()


def test_a_reply_over_the_hard_limit_closes_the_client(limited):
    r = redis.Redis(host="127.0.0.1", port=limited.port)
    r.set("huge", b"h" * 2_000_000)
    before = int(r.info("stats")["client_output_buffer_limit_disconnections"])
    c = redis.Redis(host="127.0.0.1", port=limited.port,
                    retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.exceptions.ConnectionError):
        c.get("huge")
    assert int(r.info("stats")["client_output_buffer_limit_disconnections"]) == before + 1
    # Replies under the limit still flow, however many are pipelined.
    p = r.pipeline(transaction=False)
    r.set("small", b"s" * 100_000)
    for _ in range(200):
        p.get("small")
    assert all(v == b"s" * 100_000 for v in p.execute())
    r.close()


def test_slow_reader_without_limits_only_blocks_itself():
    s = VexLake()
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port)
        r.set("big", b"v" * 100_000)
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.setblocking(False)
        sent = 0
        payload = resp("GET", "big") * 1000
        deadline = time.time() + 3
        # Send until the server stops reading (its replies are not read).
        while time.time() < deadline and sent < len(payload):
            try:
                sent += slow.send(payload[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        rss = int(r.info("memory")["used_memory_rss"])
        # The server holds back instead of buffering 100 MB of replies.
        assert rss < 400 * 1024 * 1024, rss
        t0 = time.time()
        for _ in range(100):
            assert r.get("big") is not None
        assert time.time() - t0 < 5
        slow.close()
        r.close()
    finally:
        s.stop()


def test_clients_vanishing_mid_command_and_mid_pipeline():
    s = VexLake()
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        # Mid-command: half a frame, then close (and reset).
        for cut in [3, 10, 25, 31]:
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(resp("SET", "half", "0123456789")[:cut])
            c.close()
        c = socket.create_connection(("127.0.0.1", s.port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.sendall(resp("SET", "half", "x")[:12])
        c.close()
        assert r.exists("half") == 0
        # Mid-pipeline: 20,000 SETs sent, no reply read, connection gone.
        for attempt in range(3):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"".join(resp("SET", f"p{attempt}:{i}", i) for i in range(20_000)))
            c.close()
        # A pipelined client that reads its replies gets every one, and
        # each acknowledged write is there.
        c = socket.create_connection(("127.0.0.1", s.port))
        c.sendall(b"".join(resp("SET", f"ack:{i}", i) for i in range(5_000)))
        need = len(b"+OK\r\n") * 5_000
        got = b""
        c.settimeout(20)
        while len(got) < need:
            got += c.recv(1 << 16)
        assert got == b"+OK\r\n" * 5_000
        c.close()
        assert r.ping()
        assert all(r.get(f"ack:{i}") == str(i) for i in range(0, 5_000, 97))
        # The vanished pipelines ran a prefix of their commands, in order.
        for attempt in range(3):
            n = len(r.keys(f"p{attempt}:*"))
            if n:
                assert r.exists(f"p{attempt}:{n - 1}") and r.exists(f"p{attempt}:0")
        r.close()
    finally:
        s.stop()


def test_malformed_frames_interleaved_with_valid_traffic():
    s = VexLake()
    try:
        errors = []
        stop = threading.Event()
        acked = {}

        def writer(n):
            c = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
            i = 0
            while not stop.is_set():
                c.set(f"w{n}:{i}", i)
                acked[(n, i)] = True
                i += 1
            c.close()

        def vandal():
            # Each is a protocol error in Redis too (not an inline command).
            bad = [b"*2\r\n$3\r\nGET\r\n$-5\r\n", b"*1\r\n$abc\r\n", b"*abc\r\n",
                   b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999999\r\n", b"*2\r\n+GET\r\n"]
            k = 0
            while not stop.is_set():
                c = socket.create_connection(("127.0.0.1", s.port))
                c.settimeout(5)
                c.sendall(resp("SET", f"vandal:{k}", "ok") + bad[k % len(bad)] + resp("SET", "never", "1"))
                data = b""
                try:
                    while True:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                c.close()
                if not (data.startswith(b"+OK\r\n-ERR Protocol error") and data.endswith(b"\r\n")):
                    errors.append(data)
                k += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + \
                  [threading.Thread(target=vandal) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(3)
        stop.set()
        for t in threads:
            t.join()
        assert not errors, errors[:3]
        r = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert r.exists("never") == 0
        for (n, i) in acked:
            assert r.get(f"w{n}:{i}") == str(i)
        assert len(acked) > 100
        r.close()
    finally:
        s.stop()


def test_one_thousand_idle_connections():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    assert want >= 1100, f"this machine allows only {hard} open files"
    s = VexLake()
    conns = []
    try:
        r = redis.Redis(host="127.0.0.1", port=s.port)
        rss_before = int(r.info("memory")["used_memory_rss"])
        for _ in range(1000):
            c = socket.create_connection(("127.0.0.1", s.port))
            conns.append(c)
        # Every one of them is served.
        for c in conns[::50]:
            c.sendall(resp("PING"))
            assert c.recv(16) == b"+PONG\r\n"
        assert wait_for(lambda: int(r.info("clients")["connected_clients"]) == 1001)
        t0 = time.time()
        for i in range(200):
            r.set(f"k{i}", i)
        assert time.time() - t0 < 5
        rss = int(r.info("memory")["used_memory_rss"])
        assert rss - rss_before < 200 * 1024 * 1024, (rss_before, rss)
        for c in conns:
            c.close()
        conns.clear()
        assert wait_for(lambda: int(r.info("clients")["connected_clients"]) == 1)
        r.close()
    finally:
        for c in conns:
            c.close()
        s.stop()


def test_maxclients_with_redis_py():
    s = VexLake("--maxclients", "3")
    try:
        held = [redis.Redis(host="127.0.0.1", port=s.port) for _ in range(3)]
        for h in held:
            assert h.ping()
        extra = redis.Redis(host="127.0.0.1", port=s.port)
        with pytest.raises(redis.exceptions.ConnectionError, match="max number of clients reached"):
            extra.ping()
        assert int(held[0].info("stats")["rejected_connections"]) >= 1
        held[2].close()
        assert wait_for(lambda: int(held[0].info("clients")["connected_clients"]) == 2)
        assert redis.Redis(host="127.0.0.1", port=s.port).ping()
        for h in held[:2]:
            h.close()
    finally:
        s.stop()
