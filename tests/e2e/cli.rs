//! The real `redis-cli` (Debian's redis-tools) against VexLake: one-shot
//! commands in RESP2 and RESP3 (`-3`), errors, AUTH, and piped input.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::Server;

fn cli(s: &Server, args: &[&str]) -> (String, bool) {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &s.port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli is installed (the test command installs redis-tools)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.success(),
    )
}

#[test]
fn one_shot_commands() {
    let s = Server::start();
    assert_eq!(cli(&s, &["PING"]).0, "PONG\n");
    assert_eq!(
        cli(&s, &["SET", "greeting", "hello world", "EX", "60"]).0,
        "OK\n"
    );
    assert_eq!(cli(&s, &["GET", "greeting"]).0, "hello world\n");
    assert_eq!(cli(&s, &["TTL", "greeting"]).0, "60\n");
    assert_eq!(cli(&s, &["INCRBY", "n", "5"]).0, "5\n");
    assert_eq!(cli(&s, &["GET", "missing"]).0, "\n");
    assert_eq!(cli(&s, &["MGET", "greeting", "n"]).0, "hello world\n5\n");
    assert_eq!(
        cli(&s, &["--no-raw", "MGET", "greeting", "missing"]).0,
        "1) \"hello world\"\n2) (nil)\n"
    );
    assert_eq!(cli(&s, &["--no-raw", "EXISTS", "n"]).0, "(integer) 1\n");
    let (out, _) = cli(&s, &["NOSUCH", "x"]);
    // redis-cli prints an empty line after an error, as with Redis itself.
    assert_eq!(
        out,
        "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n"
    );
    let (out, _) = cli(&s, &["INFO", "server"]);
    assert!(out.contains("redis_version:8.4.0"));
    let (out, _) = cli(&s, &["CONFIG", "GET", "maxclients"]);
    assert_eq!(out, "maxclients\n10000\n");
}

#[test]
fn resp3_mode() {
    let s = Server::start();
    cli(&s, &["SET", "k", "v"]);
    let (out, ok) = cli(&s, &["-3", "--no-raw", "HELLO", "3"]);
    assert!(ok);
    assert!(out.contains("1# \"server\" => \"redis\""), "{out}");
    assert!(out.contains("\"proto\" => (integer) 3"), "{out}");
    assert_eq!(cli(&s, &["-3", "--no-raw", "GET", "missing"]).0, "(nil)\n");
    assert_eq!(
        cli(&s, &["-3", "--no-raw", "CONFIG", "GET", "maxclients"]).0,
        "1# \"maxclients\" => \"10000\"\n"
    );
    assert_eq!(cli(&s, &["-3", "GET", "k"]).0, "v\n");
}

#[test]
fn auth_and_piped_input() {
    let s = Server::with_args(&["--requirepass", "pw"]);
    assert_eq!(
        cli(&s, &["GET", "k"]).0,
        "NOAUTH Authentication required.\n\n"
    );
    assert_eq!(
        cli(&s, &["-a", "pw", "--no-auth-warning", "SET", "k", "1"]).0,
        "OK\n"
    );
    assert_eq!(
        cli(
            &s,
            &[
                "--user",
                "default",
                "--pass",
                "pw",
                "--no-auth-warning",
                "GET",
                "k"
            ]
        )
        .0,
        "1\n"
    );
    let out = Command::new("redis-cli")
        .args([
            "-p",
            &s.port.to_string(),
            "-a",
            "wrong",
            "--no-auth-warning",
            "PING",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("AUTH failed: WRONGPASS invalid username-password pair"),
        "{stderr}"
    );
    let mut child = Command::new("redis-cli")
        .args(["-p", &s.port.to_string(), "-a", "pw", "--no-auth-warning"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"INCR k\nINCR k\nGET k\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n3\n3\n");
}
