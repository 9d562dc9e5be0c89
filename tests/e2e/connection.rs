//! Connection commands over raw RESP: PING ECHO HELLO AUTH SELECT QUIT
//! RESET CLIENT, error texts, and a replay of Jedis's connect sequence.

use crate::support::{Client, Reply, Server, bulk, err, simple};

#[test]
fn ping_echo_exact_bytes() {
    let s = Server::start();
    let mut c = s.client();
    c.send_raw(
        b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nping\r\n$2\r\nhi\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
    );
    c.expect_bytes(b"+PONG\r\n$2\r\nhi\r\n$0\r\n\r\n");
    c.send_raw(b"*3\r\n$4\r\nPING\r\n$1\r\na\r\n$1\r\nb\r\n");
    c.expect_bytes(b"-ERR wrong number of arguments for 'ping' command\r\n");
}

#[test]
fn unknown_command_and_arity_errors_keep_connection() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["NOSUCH", "a", "b"]),
        err("ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ")
    );
    assert_eq!(
        c.cmd(&["nosuch"]),
        err("ERR unknown command 'nosuch', with args beginning with: ")
    );
    assert_eq!(
        c.cmd(&["GET"]),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        c.cmd(&["get", "a", "b"]),
        err("ERR wrong number of arguments for 'get' command")
    );
    assert_eq!(
        c.cmd(&["CLIENT"]),
        err("ERR wrong number of arguments for 'client' command")
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME"]),
        err("ERR wrong number of arguments for 'client|setname' command")
    );
    assert_eq!(
        c.cmd(&["client", "bogus"]),
        err("ERR unknown subcommand 'bogus'. Try CLIENT HELP.")
    );
    let long = "x".repeat(300);
    let Reply::Error(e) = c.cmd(&["FOO", &long]) else {
        panic!()
    };
    assert!(e.len() < 300, "quoted args are truncated: {}", e.len());
    let help = c.cmd(&["CLIENT", "HELP"]).items();
    assert!(help.iter().any(|l| l.text().starts_with("SETNAME")));
    assert_eq!(c.cmd(&["PING"]), simple("PONG"));
}

#[test]
fn hello_switches_protocol_and_reports_server() {
    let s = Server::start();
    let mut c = s.client();
    // RESP2 HELLO: flat array.
    let r = c.cmd(&["HELLO"]);
    assert!(matches!(r, Reply::Array(ref v) if v.len() == 14), "{r:?}");
    assert_eq!(r.get("proto"), Some(Reply::Int(2)));
    // HELLO 3: the reply itself is a RESP3 map.
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    let r = c.read();
    let Reply::Map(_) = r else { panic!("{r:?}") };
    assert_eq!(r.get("server"), Some(bulk("redis")));
    assert_eq!(r.get("version"), Some(bulk("8.4.0")));
    assert_eq!(r.get("proto"), Some(Reply::Int(3)));
    assert_eq!(r.get("mode"), Some(bulk("standalone")));
    assert_eq!(r.get("role"), Some(bulk("master")));
    assert_eq!(r.get("modules"), Some(Reply::Array(vec![])));
    let id = r.get("id").unwrap();
    assert_eq!(c.cmd(&["CLIENT", "ID"]), id);
    // RESP3 null for a missing key, raw.
    c.send(&["GET", "missing"]);
    c.expect_bytes(b"_\r\n");
    assert_eq!(
        c.cmd(&["HELLO", "4"]),
        err("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        c.cmd(&["HELLO", "x"]),
        err("ERR Protocol version is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "BOGUS"]),
        err("ERR Syntax error in HELLO option 'BOGUS'")
    );
    let r = c.cmd(&["HELLO", "3", "SETNAME", "myconn"]);
    assert_eq!(r.get("proto"), Some(Reply::Int(3)));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), bulk("myconn"));
    // Back to RESP2.
    c.send(&["HELLO", "2"]);
    c.resp3 = false;
    c.read();
    c.send(&["GET", "missing"]);
    c.expect_bytes(b"$-1\r\n");
}

#[test]
fn auth_required() {
    let s = Server::with_args(&["--requirepass", "s3cret"]);
    let mut c = s.client();
    assert_eq!(c.cmd(&["GET", "a"]), err("NOAUTH Authentication required."));
    assert_eq!(
        c.cmd(&["NOSUCH"]),
        err("ERR unknown command 'NOSUCH', with args beginning with: ")
    );
    assert_eq!(
        c.cmd(&["AUTH", "bad"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        c.cmd(&["AUTH", "other", "s3cret"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    let Reply::Error(e) = c.cmd(&["HELLO", "3"]) else {
        panic!()
    };
    assert!(
        e.starts_with("NOAUTH HELLO must be called with the client already authenticated"),
        "{e}"
    );
    assert_eq!(c.cmd(&["AUTH", "a", "b", "c"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), simple("OK"));
    assert_eq!(c.cmd(&["SET", "a", "1"]), simple("OK"));
    // RESET drops authentication.
    assert_eq!(c.cmd(&["RESET"]), simple("RESET"));
    assert_eq!(c.cmd(&["GET", "a"]), err("NOAUTH Authentication required."));
    // HELLO with AUTH authenticates and switches in one step.
    let mut c2 = s.client();
    c2.send(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    c2.resp3 = true;
    assert_eq!(c2.read().get("proto"), Some(Reply::Int(3)));
    assert_eq!(c2.cmd(&["GET", "a"]), bulk("1"));
    let mut c3 = s.client();
    assert_eq!(
        c3.cmd(&["HELLO", "3", "AUTH", "default", "nope"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(c3.cmd(&["AUTH", "default", "s3cret"]), simple("OK"));
}

#[test]
fn auth_without_password_configured() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(
        c.cmd(&["AUTH", "x"]),
        err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        )
    );
    assert_eq!(c.cmd(&["AUTH", "default", "anything"]), simple("OK"));
}

#[test]
fn select_isolates_databases() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SET", "k", "db0"]);
    assert_eq!(c.cmd(&["SELECT", "15"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "k"]), Reply::Nil);
    c.cmd(&["SET", "k", "db15"]);
    assert_eq!(c.cmd(&["DBSIZE"]), Reply::Int(1));
    assert_eq!(
        c.cmd(&["SELECT", "16"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        c.cmd(&["SELECT", "-1"]),
        err("ERR DB index is out of range")
    );
    assert_eq!(
        c.cmd(&["SELECT", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["GET", "k"]),
        bulk("db15"),
        "failed SELECT keeps the database"
    );
    assert_eq!(c.cmd(&["SELECT", "0"]), simple("OK"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("db0"));
}

#[test]
fn quit_replies_then_closes() {
    let s = Server::start();
    let mut c = s.client();
    c.send_raw(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
    c.expect_bytes(b"+OK\r\n");
    assert!(c.is_closed(), "nothing after QUIT is answered");
}

#[test]
fn reset_restores_defaults() {
    let s = Server::start();
    let mut c = s.client();
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["CLIENT", "SETNAME", "n1"]);
    c.send(&["HELLO", "3"]);
    c.resp3 = true;
    c.read();
    c.send(&["RESET"]);
    c.expect_bytes(b"+RESET\r\n");
    c.resp3 = false;
    c.send(&["CLIENT", "GETNAME"]);
    c.expect_bytes(b"$-1\r\n");
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2 "),
        "{info}"
    );
}

#[test]
fn client_subcommands() {
    let s = Server::start();
    let mut a = s.client();
    let mut b = s.client();
    let Reply::Int(id_a) = a.cmd(&["CLIENT", "ID"]) else {
        panic!()
    };
    let Reply::Int(id_b) = b.cmd(&["CLIENT", "ID"]) else {
        panic!()
    };
    assert_ne!(id_a, id_b);
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Reply::Nil);
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "worker-1"]), simple("OK"));
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), bulk("worker-1"));
    assert_eq!(
        a.cmd(&["CLIENT", "SETNAME", "has space"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        simple("OK")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "lib-ver", "1.2.3"]),
        simple("OK")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "bad name"]),
        err("ERR LIB-NAME cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETINFO", "FOO", "x"]),
        err("ERR Unrecognized option 'FOO'")
    );
    a.cmd(&["SELECT", "2"]);
    let list = b.cmd(&["CLIENT", "LIST"]).text();
    let line_a = list
        .lines()
        .find(|l| l.starts_with(&format!("id={id_a} ")))
        .expect("a listed");
    for field in [
        "name=worker-1",
        "lib-name=mylib",
        "lib-ver=1.2.3",
        "db=2",
        "cmd=select",
        "resp=2",
        "laddr=127.0.0.1:",
    ] {
        assert!(line_a.contains(field), "{field} missing in {line_a}");
    }
    assert_eq!(list.lines().count(), 2);
    let only_b = b.cmd(&["CLIENT", "LIST", "ID", &id_b.to_string()]).text();
    assert_eq!(only_b.lines().count(), 1);
    assert!(only_b.contains("cmd=client|list"));
    assert_eq!(
        b.cmd(&["CLIENT", "LIST", "ID", "abc"]),
        err("ERR Invalid client ID")
    );
    assert_eq!(b.cmd(&["CLIENT", "LIST", "BOGUS"]), err("ERR syntax error"));
    let info = a.cmd(&["CLIENT", "INFO"]).text();
    assert!(info.starts_with(&format!("id={id_a} ")) && info.ends_with('\n'));
}

/// Jedis 6 connects with optional AUTH, then pipelines CLIENT SETNAME,
/// CLIENT SETINFO LIB-NAME/LIB-VER and SELECT; every reply must be +OK.
#[test]
fn jedis_connect_sequence() {
    for with_auth in [false, true] {
        let s = if with_auth {
            Server::with_args(&["--requirepass", "pw"])
        } else {
            Server::start()
        };
        let mut c = s.client();
        let mut bytes = Vec::new();
        if with_auth {
            bytes.extend(Client::encode(&[b"AUTH", b"default", b"pw"]));
        }
        bytes.extend(Client::encode(&[b"CLIENT", b"SETNAME", b"jedis-app"]));
        bytes.extend(Client::encode(&[
            b"CLIENT",
            b"SETINFO",
            b"LIB-NAME",
            b"jedis",
        ]));
        bytes.extend(Client::encode(&[
            b"CLIENT", b"SETINFO", b"LIB-VER", b"6.2.0",
        ]));
        bytes.extend(Client::encode(&[b"SELECT", b"1"]));
        c.send_raw(&bytes);
        let n = if with_auth { 5 } else { 4 };
        c.expect_bytes(&b"+OK\r\n".repeat(n));
        let info = c.cmd(&["CLIENT", "INFO"]).text();
        assert!(
            info.contains("name=jedis-app")
                && info.contains("lib-name=jedis")
                && info.contains("lib-ver=6.2.0")
                && info.contains("db=1"),
            "{info}"
        );
    }
}
