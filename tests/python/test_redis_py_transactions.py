"""redis-py's transaction and scripting helpers against VexLake in both
protocols: pipeline() (MULTI/EXEC by default), transaction() with WATCH
retries, Lock (SET NX PX + EVALSHA scripts), register_script (EVALSHA with
a NOSCRIPT fallback to SCRIPT LOAD)."""

import threading

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError, ResponseError, WatchError


def test_pipeline_is_a_transaction(r):
    with r.pipeline() as p:  # transaction=True is redis-py's default
        p.set("a", 1).incr("a").get("a").incrby("a", 5)
        assert p.execute() == [True, 2, "2", 7]
    # A command failing while running is reported in its place.
    r.set("s", "text")
    with r.pipeline() as p:
        p.set("b", 1).incr("s").get("b")
        res = p.execute(raise_on_error=False)
        assert res[0] is True and res[2] == "1"
        assert isinstance(res[1], ResponseError)
    # A command refused while queueing aborts the whole transaction.
    with r.pipeline() as p:
        p.set("c", 1)
        p.execute_command("NOSUCHCOMMAND")
        with pytest.raises(ResponseError):
            p.execute()
    assert r.exists("c") == 0


def test_watch_transaction_retries_until_it_wins(r, server):
    r.set("counter", 0)

    def bump(pipe):
        v = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", v + 1)

    proto = r.connection_pool.connection_kwargs.get("protocol", 2)

    def worker():
        c = redis.Redis(port=server.port, protocol=proto, decode_responses=True)
        for _ in range(50):
            c.transaction(bump, "counter")
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get("counter") == "200"
    # A watched key changed by another client: WatchError.
    with r.pipeline() as p:
        p.watch("counter")
        r.set("counter", "changed")
        p.multi()
        p.set("counter", "mine")
        with pytest.raises(WatchError):
            p.execute()
    assert r.get("counter") == "changed"


def test_lock(r):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert r.lock("resource").acquire(blocking=False) is False
    assert lock.owned()
    assert lock.extend(10)
    assert 5000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    lock.release()
    assert r.exists("resource") == 0
    with pytest.raises(LockError):
        lock.release()
    # Released by someone else's token: not owned.
    lock2 = r.lock("resource", timeout=5)
    assert lock2.acquire(blocking=False)
    r.set("resource", "stolen")
    with pytest.raises(LockNotOwnedError):
        lock2.release()
    with r.lock("ctx", timeout=5, blocking_timeout=1):
        assert r.exists("ctx") == 1
    assert r.exists("ctx") == 0


def test_register_script_and_script_commands(r):
    incr_by = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert incr_by(keys=["n"], args=[5]) == 5
    r.script_flush()  # the next call gets NOSCRIPT and loads it again
    assert incr_by(keys=["n"], args=[2]) == 7
    sha = r.script_load("return {1, 'two', {3}}")
    assert r.script_exists(sha, "0" * 40) == [True, False]
    assert r.evalsha(sha, 0) == [1, "two", [3]]
    assert r.eval("return redis.status_reply('FINE')", 0) in ("FINE", True)
    with pytest.raises(ResponseError, match="my error"):
        r.eval("return redis.error_reply('my error')", 0)
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("f" * 40, 0)
    # Scripts in a transaction pipeline.
    with r.pipeline() as p:
        incr_by(keys=["n"], args=[1], client=p)
        p.get("n")
        assert p.execute() == [8, "8"]
