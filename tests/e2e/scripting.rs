//! EVAL/EVALSHA/SCRIPT over TCP: Redis's conversions in both directions and
//! both protocols, error texts, the sandbox, atomicity in the WAL (a
//! script's effects survive `kill -9` whole or not at all), and a script
//! that loops forever stopped with SCRIPT KILL while others get -BUSY.

use std::time::{Duration, Instant};

use super::support::{Client, Reply, Server, bulk, err, simple};

fn eval(c: &mut Client, script: &str, keys: &[&str], args: &[&str]) -> Reply {
    let n = keys.len().to_string();
    let mut a = vec!["EVAL", script, &n];
    a.extend_from_slice(keys);
    a.extend_from_slice(args);
    c.cmd(&a)
}

#[test]
fn conversions_both_ways() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(eval(&mut c, "return 1", &[], &[]), Reply::Int(1));
    assert_eq!(eval(&mut c, "return 3.99", &[], &[]), Reply::Int(3));
    assert_eq!(eval(&mut c, "return 'hi'", &[], &[]), bulk("hi"));
    assert_eq!(eval(&mut c, "return true", &[], &[]), Reply::Int(1));
    assert_eq!(eval(&mut c, "return false", &[], &[]), Reply::Nil);
    assert_eq!(eval(&mut c, "return nil", &[], &[]), Reply::Nil);
    assert_eq!(
        eval(&mut c, "return {1, 'a', {2}, nil, 5}", &[], &[]),
        Reply::Array(vec![
            Reply::Int(1),
            bulk("a"),
            Reply::Array(vec![Reply::Int(2)])
        ])
    );
    assert_eq!(
        eval(&mut c, "return redis.status_reply('FINE')", &[], &[]),
        simple("FINE")
    );
    assert_eq!(eval(&mut c, "return {ok='FINE'}", &[], &[]), simple("FINE"));
    assert_eq!(
        eval(
            &mut c,
            "return redis.error_reply('MY custom error')",
            &[],
            &[]
        ),
        err("MY custom error")
    );
    assert_eq!(
        eval(&mut c, "return redis.error_reply('boom')", &[], &[]),
        err("ERR boom")
    );
    // KEYS and ARGV.
    assert_eq!(
        eval(
            &mut c,
            "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}",
            &["k1", "k2"],
            &["a1", "a2"]
        ),
        Reply::Array(vec![bulk("k1"), bulk("k2"), bulk("a1"), Reply::Int(2)])
    );
    // Replies of commands as Lua sees them.
    c.cmd(&["SET", "s", "v"]);
    assert_eq!(
        eval(
            &mut c,
            "local r = redis.call('SET', 'x', 1) \
             local g = redis.call('GET', 'nosuch') \
             local i = redis.call('INCR', 'x') \
             local e = redis.pcall('INCR', 's') \
             return {r.ok, tostring(g), i, e.err, type(redis.call('MGET', 's', 'x'))}",
            &[],
            &[]
        ),
        Reply::Array(vec![
            bulk("OK"),
            bulk("false"),
            Reply::Int(2),
            bulk("ERR value is not an integer or out of range"),
            bulk("table"),
        ])
    );
    // RESP3 replies inside the script after setresp(3).
    assert_eq!(
        eval(
            &mut c,
            "redis.setresp(3) local g = redis.call('GET', 'nosuch') return tostring(g == nil)",
            &[],
            &[]
        ),
        bulk("true")
    );
    // A RESP3 client: booleans stay booleans when the script set RESP3.
    let mut c3 = s.client();
    c3.send(&["HELLO", "3"]);
    c3.resp3 = true;
    c3.read();
    assert_eq!(
        eval(&mut c3, "redis.setresp(3) return true", &[], &[]),
        Reply::Bool(true)
    );
    assert_eq!(eval(&mut c3, "return false", &[], &[]), Reply::Nil);
    assert_eq!(
        eval(&mut c3, "return {double=1.5}", &[], &[]),
        Reply::Double(1.5)
    );
    // Numbers as command arguments.
    eval(
        &mut c,
        "redis.call('SET', 'n', 10) redis.call('SET', 'f', 2.5)",
        &[],
        &[],
    );
    assert_eq!(c.cmd(&["GET", "n"]), bulk("10"));
    assert_eq!(c.cmd(&["GET", "f"]), bulk("2.5"));
    // cjson and bit.
    assert_eq!(
        eval(
            &mut c,
            "local t = cjson.decode(ARGV[1]) return {t.a, t.b[2], cjson.encode({x=1})}",
            &[],
            &[r#"{"a":"one","b":[1,2]}"#]
        ),
        Reply::Array(vec![bulk("one"), Reply::Int(2), bulk(r#"{"x":1}"#)])
    );
    assert_eq!(
        eval(&mut c, "return bit.band(12, 10)", &[], &[]),
        Reply::Int(8)
    );
    assert_eq!(
        eval(&mut c, "return redis.sha1hex('')", &[], &[]),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
}

#[test]
fn evalsha_script_commands_and_error_texts() {
    let s = Server::start();
    let mut c = s.client();
    let body = "return redis.call('GET', KEYS[1])";
    let sha = c.cmd(&["SCRIPT", "LOAD", body]).text();
    assert_eq!(sha, "d3c21d0c2b9ca22f82737626a27bcaf5d288f99f");
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["EVALSHA", &sha, "1", "k"]), bulk("v"));
    assert_eq!(
        c.cmd(&["EVALSHA", &sha.to_uppercase(), "1", "k"]),
        bulk("v")
    );
    assert_eq!(c.cmd(&["EVALSHA_RO", &sha, "1", "k"]), bulk("v"));
    assert_eq!(
        c.cmd(&[
            "SCRIPT",
            "EXISTS",
            &sha,
            "ffffffffffffffffffffffffffffffffffffffff"
        ]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0)])
    );
    assert_eq!(c.cmd(&["SCRIPT", "FLUSH"]), simple("OK"));
    assert_eq!(
        c.cmd(&["EVALSHA", &sha, "1", "k"]),
        err("NOSCRIPT No matching script. Please use EVAL.")
    );
    // EVAL caches the script for EVALSHA too.
    c.cmd(&["EVAL", body, "1", "k"]);
    assert_eq!(c.cmd(&["EVALSHA", &sha, "1", "k"]), bulk("v"));
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "2", "a"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "-1"]),
        err("ERR Number of keys can't be negative")
    );
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "x"]),
        err("ERR value is not an integer or out of range")
    );
    match c.cmd(&["EVAL", "return (", "0"]) {
        Reply::Error(e) => assert!(
            e.starts_with("ERR Error compiling script (new function): user_script:1:"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    // A failed redis.call ends the script with the command's error and where.
    let sha_incr = "return redis.call('INCR', KEYS[1])";
    let r = c.cmd(&["EVAL", sha_incr, "1", "k"]);
    assert_eq!(
        r,
        err(&format!(
            "ERR value is not an integer or out of range script: {}, on @user_script:1.",
            c.cmd(&["SCRIPT", "LOAD", sha_incr]).text()
        ))
    );
    let r = eval(&mut c, "\n\nerror('boom')", &[], &[]);
    match r {
        Reply::Error(e) => assert!(e.starts_with("ERR user_script:3: boom script: "), "{e}"),
        other => panic!("{other:?}"),
    }
    for (script, want) in [
        (
            "return redis.call('NOSUCH')",
            "ERR Unknown Redis command called from script",
        ),
        (
            "return redis.call('EVAL', 'return 1', 0)",
            "ERR This Redis command is not allowed from script",
        ),
        (
            "return redis.call('MULTI')",
            "ERR This Redis command is not allowed from script",
        ),
        (
            "return redis.call()",
            "ERR Please specify at least one argument for this redis lib call",
        ),
        (
            "return redis.call('GET', {})",
            "ERR Lua redis lib command arguments must be strings or integers",
        ),
        (
            "return redis.call('GET')",
            "ERR wrong number of arguments for 'get' command",
        ),
        (
            "return nosuchglobal",
            "Script attempted to access nonexistent global variable 'nosuchglobal'",
        ),
        ("x = 1", "Attempt to modify a readonly table"),
        (
            "return os.execute('true')",
            "nonexistent global variable 'os'",
        ),
        (
            "return io.open('/etc/passwd')",
            "nonexistent global variable 'io'",
        ),
        (
            "return loadfile('/etc/passwd')",
            "nonexistent global variable 'loadfile'",
        ),
        (
            "return require('os')",
            "nonexistent global variable 'require'",
        ),
    ] {
        match eval(&mut c, script, &[], &[]) {
            Reply::Error(e) => assert!(e.contains(want), "{script}: {e}"),
            other => panic!("{script}: {other:?}"),
        }
    }
    // Read-only scripts refuse writes; nothing changes.
    match c.cmd(&["EVAL_RO", "return redis.call('SET', 'k', 'x')", "0"]) {
        Reply::Error(e) => assert!(
            e.starts_with("ERR Write commands are not allowed from read-only scripts."),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v"));
    // SELECT in a script does not change the caller's database.
    eval(
        &mut c,
        "redis.call('SELECT', 5) redis.call('SET', 'in5', 1)",
        &[],
        &[],
    );
    assert_eq!(c.cmd(&["EXISTS", "in5"]), Reply::Int(0));
    c.cmd(&["SELECT", "5"]);
    assert_eq!(c.cmd(&["EXISTS", "in5"]), Reply::Int(1));
    // Inside MULTI, EVAL is queued and runs in EXEC.
    c.cmd(&["MULTI"]);
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('INCR', 'm')", "0"]),
        simple("QUEUED")
    );
    c.cmd(&["EVAL", "return redis.call('INCR', 'm')", "0"]);
    assert_eq!(
        c.cmd(&["EXEC"]),
        Reply::Array(vec![Reply::Int(1), Reply::Int(2)])
    );
    assert_eq!(
        c.cmd(&["SCRIPT", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
}

/// A read-only endless loop runs past busy-reply-threshold: other clients
/// get -BUSY, SCRIPT KILL stops it, and the server serves again. A script
/// that wrote cannot be killed.
#[test]
fn script_kill_stops_a_busy_script() {
    let s = Server::with_args(&["--busy-reply-threshold", "200"]);
    let port = s.port;
    let looping = std::thread::spawn(move || {
        let mut c = Client::connect(port);
        c.cmd(&["EVAL", "while true do end", "0"])
    });
    let mut other = s.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match other.cmd(&["GET", "x"]) {
            Reply::Error(e) if e.starts_with("BUSY ") => {
                assert_eq!(
                    e,
                    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
                );
                break;
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "never busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), simple("OK"));
    assert_eq!(
        looping.join().unwrap(),
        err("ERR Script killed by user with SCRIPT KILL...")
    );
    assert_eq!(other.cmd(&["PING"]), simple("PONG"));

    let writer = std::thread::spawn(move || {
        let mut c = Client::connect(port);
        c.cmd(&[
            "EVAL",
            "redis.call('SET', 'w', 1) local i = 0 while i < 3e8 do i = i + 1 end return i",
            "0",
        ])
    });
    loop {
        if let Reply::Error(e) = other.cmd(&["SCRIPT", "KILL"])
            && e.starts_with("UNKILLABLE")
        {
            break;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(20),
            "never unkillable"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(writer.join().unwrap(), Reply::Int(300_000_000));
    assert_eq!(other.cmd(&["GET", "w"]), bulk("1"));
}

/// Scripts that write 100 keys each run back to back while the server is
/// killed at random moments: after each restart every script's keys are
/// all there or none are, and every acknowledged script's are there.
#[test]
fn kill9_keeps_a_script_whole_or_not_at_all() {
    let mut s = Server::with_args(&["--appendfsync", "always"]);
    let script = "for i = 1, 100 do redis.call('SET', KEYS[1] .. ':' .. i, ARGV[1]) end return 1";
    let mut acked_total = 0;
    for round in 0..5u64 {
        let port = s.port;
        let writer = std::thread::spawn(move || {
            let mut c = Client::connect(port);
            let mut acked = Vec::new();
            for t in 0.. {
                let name = format!("sc:{}", round * 100_000 + t);
                match c.try_cmd(&["EVAL", script, "1", &name, "v"]) {
                    Ok(Reply::Int(1)) => acked.push(name),
                    _ => break,
                }
            }
            acked
        });
        std::thread::sleep(Duration::from_millis(150 + fastrand::u64(0..400)));
        s.kill9();
        let acked = writer.join().unwrap();
        s.restart();
        let mut c = s.client();
        let mut per_script = std::collections::BTreeMap::<String, usize>::new();
        for k in c.cmd(&["KEYS", "sc:*"]).items() {
            let k = k.text();
            let (name, _) = k.rsplit_once(':').unwrap();
            *per_script.entry(name.to_string()).or_default() += 1;
        }
        for (name, n) in &per_script {
            assert_eq!(*n, 100, "script {name} is partly there after kill -9");
        }
        for name in &acked {
            assert!(
                per_script.contains_key(name),
                "acknowledged script {name} lost"
            );
        }
        acked_total += acked.len();
    }
    assert!(acked_total > 5);
}
