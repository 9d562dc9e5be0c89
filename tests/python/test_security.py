"""Security over TCP with real clients: ACL users (redis-py RESP2 and RESP3,
redis-cli), requirepass, the ACL file, TLS (redis-py ssl=True and
redis-cli --tls, with a CA and certificates made by openssl here, mutual
TLS, the plain port off), and idle-client timeouts."""

import hashlib
import os
import socket
import subprocess
import tempfile
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import VexLake, _binary, _free_port


def info_stat(r, name):
    return int(r.info("stats")[name])


@pytest.fixture(scope="module")
def srv():
    s = VexLake()
    yield s
    s.stop()


def admin(srv, protocol=2):
    return redis.Redis(host="127.0.0.1", port=srv.port, protocol=protocol, decode_responses=True)


def as_user(srv, user, password, protocol=2):
    # No retries: each failed AUTH must be exactly one attempt.
    return redis.Redis(host="127.0.0.1", port=srv.port, protocol=protocol, decode_responses=True,
                       username=user, password=password, retry=Retry(NoBackoff(), 0))


@pytest.mark.parametrize("protocol", [2, 3])
def test_acl_user_with_categories_and_key_patterns(srv, protocol):
    a = admin(srv, protocol)
    a.acl_deluser("alice")
    a.set("cache:1", "one")
    a.set("secret", "s")
    assert a.acl_setuser("alice", enabled=True, passwords=["+pw1"], categories=["+@read", "+@connection"],
                         commands=["+acl|whoami"], keys=["cache:*"])
    u = a.acl_getuser("alice")
    assert "on" in u["flags"]
    assert u["passwords"] == [hashlib.sha256(b"pw1").hexdigest()]
    assert "pw1" not in str(u)
    alice = as_user(srv, "alice", "pw1", protocol)
    assert alice.acl_whoami() == "alice"
    assert alice.get("cache:1") == "one"
    assert alice.exists("cache:2") == 0
    with pytest.raises(redis.exceptions.NoPermissionError, match="^No permissions to access a key$"):
        alice.get("secret")
    with pytest.raises(redis.exceptions.NoPermissionError,
                       match="^User alice has no permissions to run the 'set' command$"):
        alice.set("cache:1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError, match="'acl\\|setuser' command"):
        alice.acl_setuser("alice", enabled=True, categories=["+@all"])
    assert a.get("cache:1") == "one", "a refused command changes nothing"
    # Changes apply to the open connection at its next command.
    a.acl_setuser("alice", enabled=True, commands=["+set"])
    assert alice.set("cache:1", "two") is True
    assert a.get("cache:1") == "two"
    a.acl_setuser("alice", enabled=True, commands=["-set"])
    with pytest.raises(redis.exceptions.NoPermissionError):
        alice.set("cache:1", "three")
    alice.close()
    a.close()


def test_getuser_list_users_and_describe_like_redis(srv):
    a = admin(srv)
    a.acl_deluser("bob")
    a.execute_command("ACL", "SETUSER", "bob", "on", ">p", "~k:*", "%R~ro:*", "&chan", "+@read", "-get", "+set")
    raw = a.execute_command("ACL", "GETUSER", "bob")
    d = dict(zip(raw[::2], raw[1::2]))
    h = hashlib.sha256(b"p").hexdigest()
    assert d["flags"] == ["on", "sanitize-payload"]
    assert d["passwords"] == [h]
    assert d["commands"] == "-@all +@read -get +set"
    assert d["keys"] == "~k:* %R~ro:*"
    assert d["channels"] == "&chan"
    assert d["selectors"] == []
    lines = a.execute_command("ACL", "LIST")
    assert "user default on nopass sanitize-payload ~* &* +@all" in lines
    assert f"user bob on sanitize-payload #{h} ~k:* %R~ro:* resetchannels &chan -@all +@read -get +set" in lines
    assert {"default", "bob"} <= set(a.acl_users())
    assert a.execute_command("ACL", "GETUSER", "nobody") is None
    assert "vector" in a.acl_cat() and "sql" in a.acl_cat() and "read" in a.acl_cat()
    vec = a.acl_cat("vector")
    assert "vadd" in vec and "vsim" in vec and "get" not in vec
    assert set(a.acl_cat("sql")) == {"sql", "ingest"}
    assert len(a.acl_genpass()) == 64 and len(a.acl_genpass(100)) == 25
    assert a.execute_command("ACL", "DRYRUN", "bob", "SET", "k:1", "v") == "OK"
    assert a.execute_command("ACL", "DRYRUN", "bob", "GET", "k:1") == \
        "User bob has no permissions to run the 'get' command"
    assert a.execute_command("ACL", "DRYRUN", "bob", "SET", "x", "v") == \
        "User bob has no permissions to access the 'x' key"
    a.acl_deluser("bob")
    a.close()


def test_acl_errors_change_nothing(srv):
    a = admin(srv)
    a.acl_deluser("carol")
    a.execute_command("ACL", "SETUSER", "carol", "on", ">pw", "+get", "~*")
    before = a.execute_command("ACL", "LIST")
    cases = [
        (["carol", "+set", "+nosuch"],
         "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"),
        (["carol", "+@nosuch"], "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL"),
        (["carol", "bogus"], "Error in ACL SETUSER modifier 'bogus': Syntax error"),
        (["carol", "~more"], "Error in ACL SETUSER modifier '~more': Adding a pattern after the * pattern "
                             "(or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' "
                             "to start with an empty list of patterns"),
        (["carol", "<nopw"], "Error in ACL SETUSER modifier '<nopw': The password you are trying to remove "
                             "from the user does not exist"),
        (["carol", "#abc"], "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 "
                            "characters and contain only lowercase hexadecimal characters"),
        (["bad name"], "Usernames can't contain spaces or null characters"),
    ]
    for args, text in cases:
        with pytest.raises(redis.ResponseError) as e:
            a.execute_command("ACL", "SETUSER", *args)
        assert str(e.value) == text
    with pytest.raises(redis.ResponseError, match="^The 'default' user cannot be removed$"):
        a.execute_command("ACL", "DELUSER", "carol", "default")
    with pytest.raises(redis.ResponseError, match="^This Redis instance is not configured to use an ACL file"):
        a.execute_command("ACL", "SAVE")
    with pytest.raises(redis.ResponseError, match="^This Redis instance is not configured to use an ACL file"):
        a.execute_command("ACL", "LOAD")
    with pytest.raises(redis.ResponseError, match="^Unknown category 'nope'$"):
        a.execute_command("ACL", "CAT", "nope")
    with pytest.raises(redis.ResponseError, match=r"wrong number of arguments for 'acl\|getuser' command"):
        a.execute_command("ACL", "GETUSER")
    with pytest.raises(redis.ResponseError, match="must be the number of bits"):
        a.execute_command("ACL", "GENPASS", "0")
    assert a.execute_command("ACL", "LIST") == before
    a.acl_deluser("carol")
    a.close()


def test_failed_auth_is_counted_and_logged_without_the_password(srv):
    a = admin(srv)
    a.acl_setuser("dave", enabled=True, passwords=["+right-password"], categories=["+@all"], keys=["*"])
    before = info_stat(a, "acl_access_denied_auth")
    for user, pw in [("dave", "wrong-password-1"), ("nobody", "wrong-password-2")]:
        with pytest.raises(redis.exceptions.AuthenticationError,
                           match="invalid username-password pair or user is disabled"):
            as_user(srv, user, pw).ping()
    c = redis.Redis(host="127.0.0.1", port=srv.port, decode_responses=True, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.exceptions.AuthenticationError):
        c.execute_command("HELLO", "3", "AUTH", "dave", "wrong-password-3")
    assert info_stat(a, "acl_access_denied_auth") == before + 3
    # A disabled user cannot log in; its password is still right.
    a.acl_setuser("dave", enabled=False)
    with pytest.raises(redis.exceptions.AuthenticationError):
        as_user(srv, "dave", "right-password").ping()
    a.acl_setuser("dave", enabled=True)
    assert as_user(srv, "dave", "right-password").ping()
    time.sleep(0.2)
    log = srv.log_text()
    assert "AUTH failed" in log and "dave" in log
    for secret in ["wrong-password-1", "wrong-password-2", "wrong-password-3", "right-password"]:
        assert secret not in log
    a.acl_deluser("dave")
    a.close()


def test_deleting_a_user_closes_its_connections(srv):
    a = admin(srv)
    a.acl_setuser("erin", enabled=True, passwords=["+pw"], categories=["+@all"], keys=["*"])
    erin = as_user(srv, "erin", "pw")
    assert erin.ping()
    assert a.acl_deluser("erin") == 1
    with pytest.raises((redis.exceptions.NoPermissionError, redis.exceptions.ConnectionError)):
        erin.ping()
    with pytest.raises(redis.exceptions.AuthenticationError):
        as_user(srv, "erin", "pw").ping()
    a.close()


def test_sql_table_functions_respect_key_patterns(srv):
    a = admin(srv)
    a.flushall()
    a.execute_command("VADD", "pub:v", "VALUES", "2", "1", "0", "e1")
    a.execute_command("VADD", "priv:v", "VALUES", "2", "0", "1", "e2")
    a.set("pub:s", "visible")
    a.set("priv:s", "hidden")
    a.acl_setuser("frank", enabled=True, passwords=["+pw"], categories=["+@read", "+@connection"],
                  commands=["+sql"], keys=["pub:*"])
    f = as_user(srv, "frank", "pw")
    rows = f.execute_command("SQL", "SELECT key FROM keyspace() ORDER BY key")
    assert rows == [["key"], ["pub:s"], ["pub:v"]]
    assert f.execute_command("SQL", "SELECT element FROM vset('pub:v')") == [["element"], ["e1"]]
    for q in ["SELECT * FROM vset('priv:v')", "SELECT * FROM vsim('priv:v', [0, 1], 1)"]:
        with pytest.raises(redis.ResponseError, match="No permissions to access a key"):
            f.execute_command("SQL", q)
    with pytest.raises(redis.exceptions.NoPermissionError, match="'ingest' command"):
        f.execute_command("INGEST", "t", "FORMAT", "csv", "HEADER", "yes", "DATA", "a\n1\n")
    f.close()
    a.acl_deluser("frank")
    a.close()


def test_redis_cli_with_user_and_noperm():
    s = VexLake()
    try:
        a = admin(s)
        a.acl_setuser("gina", enabled=True, passwords=["+pw"], categories=["+@read", "+@connection"],
                      commands=["+acl|whoami"], keys=["*"])
        a.set("k", "v")
        cli = ["redis-cli", "-p", str(s.port), "--user", "gina", "--pass", "pw", "--no-auth-warning"]
        out = subprocess.run(cli + ["GET", "k"], capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "v"
        out = subprocess.run(cli + ["SET", "k", "w"], capture_output=True, text=True, timeout=10)
        assert "NOPERM User gina has no permissions to run the 'set' command" in out.stdout
        out = subprocess.run(cli + ["ACL", "WHOAMI"], capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "gina"
        assert a.get("k") == "v"
        a.close()
    finally:
        s.stop()


def test_requirepass_is_the_default_users_password():
    s = VexLake("--requirepass", "s3cret")
    try:
        raw = socket.create_connection(("127.0.0.1", s.port))
        raw.settimeout(5)
        for cmd, reply in [(b"GET k", b"-NOAUTH Authentication required.\r\n"),
                           (b"AUTH wrong", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
                           (b"AUTH nobody s3cret",
                            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
                           (b"AUTH s3cret", b"+OK\r\n"), (b"ACL WHOAMI", b"$7\r\ndefault\r\n")]:
            raw.sendall(cmd + b"\r\n")
            assert raw.recv(200) == reply, cmd
        raw.close()
        c = redis.Redis(host="127.0.0.1", port=s.port, password="s3cret", decode_responses=True)
        assert c.acl_getuser("default")["passwords"] == [hashlib.sha256(b"s3cret").hexdigest()]
        d = redis.Redis(host="127.0.0.1", port=s.port, password="s3cret", protocol=3, decode_responses=True)
        assert d.ping()
        c.close()
        d.close()
    finally:
        s.stop()


def test_acl_file_load_save_and_restart():
    tmp = tempfile.mkdtemp(prefix="vexlake-acl-")
    path = os.path.join(tmp, "users.acl")
    with open(path, "w") as f:
        f.write("# application users\nuser app on >app-pw ~app:* +@read +@write -@dangerous\n"
                "user default on nopass ~* &* +@all\n")
    s = VexLake("--aclfile", path)
    try:
        a = admin(s)
        app = as_user(s, "app", "app-pw")
        app.set("app:1", "x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.set("other", "x")
        a.acl_setuser("ops", enabled=True, passwords=["+ops-pw"], categories=["+@admin"])
        assert a.execute_command("ACL", "SAVE") == "OK"
        saved = open(path).read()
        assert "user ops on sanitize-payload #" + hashlib.sha256(b"ops-pw").hexdigest() in saved
        assert "ops-pw" not in saved and "app-pw" not in saved
        # A broken file: LOAD refuses it and changes nothing.
        good = saved
        with open(path, "w") as f:
            f.write(good + "user broken on +nosuch\nnot a user line\n")
        with pytest.raises(redis.ResponseError) as e:
            a.execute_command("ACL", "LOAD")
        assert f"{path}:4: Error in applying operation '+nosuch': Unknown command or category name in ACL" \
            in str(e.value)
        assert f"{path}:5 should start with user keyword followed by the username" in str(e.value)
        assert "no change to the previously active ACL rules was performed" in str(e.value)
        assert "ops" in a.acl_users() and "broken" not in a.acl_users()
        with open(path, "w") as f:
            f.write(good)
        assert a.execute_command("ACL", "LOAD") == "OK"
        a.close()
        app.close()
    finally:
        s.stop()
    # The saved users are there after a restart.
    s = VexLake("--aclfile", path)
    try:
        assert as_user(s, "ops", "ops-pw").acl_users()
        assert as_user(s, "app", "app-pw").get("app:1") is None
    finally:
        s.stop()
    with open(path, "w") as f:
        f.write("user x on +nosuch\n")
    bad = subprocess.run([_binary(),
                          "--port", str(_free_port()), "--aclfile", path, "--dir", tmp],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode != 0 and "Unknown command or category name in ACL" in bad.stderr


# ---------------------------------------------------------------- TLS


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki():
    """A test CA, a server certificate for 127.0.0.1/localhost, a client
    certificate signed by the CA, and one signed by another CA."""
    d = tempfile.mkdtemp(prefix="vexlake-pki-")
    for ca in ["ca", "other-ca"]:
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                "-keyout", f"{ca}.key", "-out", f"{ca}.crt", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    with open(os.path.join(d, "client.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, ca, ext in [("server", "ca", "server.ext"), ("client", "ca", "client.ext"),
                          ("rogue", "other-ca", "client.ext")]:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", ext, cwd=d)
    return lambda n: os.path.join(d, n)


def tls_server(pki, *extra, plain=True):
    port = _free_port()
    args = ["--tls-port", str(port), "--tls-cert-file", pki("server.crt"), "--tls-key-file", pki("server.key"),
            *extra]
    if not plain:
        args += ["--port", "0"]
    s = VexLake(*args, ready_port=port)
    s.tls_port = port
    return s


@pytest.mark.parametrize("protocol", [2, 3])
def test_tls_with_redis_py_and_plain_port_side_by_side(pki, protocol):
    s = tls_server(pki)
    try:
        t = redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=pki("ca.crt"),
                        protocol=protocol, decode_responses=True)
        assert t.set("k", "over tls") is True
        assert t.get("k") == "over tls"
        t.execute_command("VADD", "v", "VALUES", "2", "1", "0", "e")
        assert t.execute_command("VCARD", "v") == 1
        big = "x" * 300_000
        t.set("big", big)
        assert t.get("big") == big
        p = redis.Redis(host="127.0.0.1", port=s.port, decode_responses=True)
        assert p.get("k") == "over tls"
        assert int(p.info("server")["tls_port"]) == s.tls_port
        # A plain client on the TLS port fails its handshake; the server is fine.
        before = int(p.info("stats")["vexlake_tls_handshake_failures"])
        raw = socket.create_connection(("127.0.0.1", s.tls_port))
        raw.sendall(b"PING\r\n")
        raw.settimeout(5)
        try:
            raw.recv(100)
        except OSError:
            pass
        raw.close()
        deadline = time.time() + 5
        while int(p.info("stats")["vexlake_tls_handshake_failures"]) == before and time.time() < deadline:
            time.sleep(0.05)
        assert int(p.info("stats")["vexlake_tls_handshake_failures"]) == before + 1
        # A client that does not trust the server's CA refuses it.
        with pytest.raises(redis.exceptions.ConnectionError):
            redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=pki("other-ca.crt")).ping()
        assert t.ping()
        t.close()
        p.close()
    finally:
        s.stop()


def test_mutual_tls_and_plain_port_off(pki):
    s = tls_server(pki, "--tls-ca-cert-file", pki("ca.crt"), "--tls-auth-clients", "yes", plain=False)
    try:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", s.port), timeout=1).close()
        ok = redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=pki("ca.crt"),
                         ssl_certfile=pki("client.crt"), ssl_keyfile=pki("client.key"), decode_responses=True)
        assert ok.set("m", "1") and ok.get("m") == "1"
        for cert in [None, "rogue"]:
            kw = {} if cert is None else {"ssl_certfile": pki(f"{cert}.crt"), "ssl_keyfile": pki(f"{cert}.key")}
            bad = redis.Redis(host="127.0.0.1", port=s.tls_port, ssl=True, ssl_ca_certs=pki("ca.crt"), **kw)
            with pytest.raises(redis.exceptions.ConnectionError):
                bad.ping()
        cli = ["redis-cli", "-p", str(s.tls_port), "--tls", "--cacert", pki("ca.crt")]
        out = subprocess.run(cli + ["--cert", pki("client.crt"), "--key", pki("client.key"), "GET", "m"],
                             capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "1", out.stderr
        out = subprocess.run(cli + ["PING"], capture_output=True, text=True, timeout=10)
        assert "PONG" not in out.stdout
        assert ok.get("m") == "1"
        ok.close()
    finally:
        s.stop()


def test_tls_startup_refusals(pki):
    binary = _binary()
    tmp = tempfile.mkdtemp(prefix="vexlake-tls-")
    cases = [
        (["--tls-port", "1"], "'tls-port' needs 'tls-cert-file' and 'tls-key-file'"),
        (["--port", "0"], "'port 0' turns the plain TCP port off; it needs a 'tls-port'"),
        (["--tls-port", str(_free_port()), "--tls-cert-file", pki("server.crt"), "--tls-key-file",
          pki("server.key"), "--tls-auth-clients", "yes"], "needs 'tls-ca-cert-file'"),
        (["--tls-port", str(_free_port()), "--tls-cert-file", pki("server.crt"), "--tls-key-file",
          pki("client.key")], "do not make a key pair"),
        (["--tls-port", str(_free_port()), "--tls-cert-file", pki("nope.crt"), "--tls-key-file",
          pki("server.key")], "cannot read tls-cert-file"),
    ]
    for args, text in cases:
        out = subprocess.run([binary, "--port", str(_free_port()), "--dir", tmp, *args], capture_output=True,
                             text=True, timeout=20)
        assert out.returncode != 0 and text in out.stderr, (args, out.stderr)


# ------------------------------------------------------------ timeouts


def test_idle_clients_are_closed_after_timeout():
    s = VexLake("--timeout", "1")
    try:
        idle = socket.create_connection(("127.0.0.1", s.port))
        busy = redis.Redis(host="127.0.0.1", port=s.port)
        start = time.time()
        idle.settimeout(10)
        while time.time() - start < 3:
            assert busy.ping()
            time.sleep(0.2)
        # The idle socket was closed by the server (EOF), the busy one not.
        assert idle.recv(10) == b""
        assert busy.ping()
        assert int(busy.info("stats")["vexlake_idle_disconnections"]) >= 1
        idle.close()
        busy.close()
    finally:
        s.stop()


def test_a_user_without_commands_can_still_switch_user(srv):
    a = admin(srv)
    a.execute_command("ACL", "SETUSER", "mute", "on", ">pw")
    raw = socket.create_connection(("127.0.0.1", srv.port))
    raw.settimeout(5)
    for cmd, reply in [(b"AUTH mute pw", b"+OK\r\n"),
                       (b"PING", b"-NOPERM User mute has no permissions to run the 'ping' command\r\n"),
                       (b"AUTH default anything", b"+OK\r\n"), (b"PING", b"+PONG\r\n")]:
        raw.sendall(cmd + b"\r\n")
        assert raw.recv(200) == reply, cmd
    raw.close()
    a.acl_deluser("mute")
    a.close()
