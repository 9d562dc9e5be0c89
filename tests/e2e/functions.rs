//! Functions over TCP: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/
//! KILL and FCALL/FCALL_RO with Redis's replies and error texts (checked
//! against Redis), libraries surviving `kill -9`, a restart and a fresh
//! node on the same lake, and a looping function stopped by FUNCTION KILL.

use std::time::{Duration, Instant};

use super::support::{Client, Reply, Server, bulk, err, simple};

const LIB1: &str = "#!lua name=lib1\n\
redis.register_function{function_name='incr2', callback=function(keys, args) \
redis.call('INCR', keys[1]) return redis.call('INCR', keys[1]) end, description='twice'}\n\
redis.register_function{function_name='get', callback=function(keys) \
return redis.call('GET', keys[1]) end, flags={'no-writes'}}";

const LIB2: &str =
    "#!lua name=lib2\nredis.register_function('hello', function(k, a) return 'hello ' .. a[1] end)";

fn load(c: &mut Client, code: &str) -> Reply {
    c.cmd(&["FUNCTION", "LOAD", code])
}

#[test]
fn function_load_call_list_and_errors() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(load(&mut c, LIB1), bulk("lib1"));
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "n"]), Reply::Int(2));
    assert_eq!(c.cmd(&["FCALL_RO", "get", "1", "n"]), bulk("2"));
    assert_eq!(c.cmd(&["FCALL", "get", "1", "n"]), bulk("2"));
    assert_eq!(
        c.cmd(&["FCALL_RO", "incr2", "1", "n"]),
        err("ERR Can not execute a script with write flag using *_ro command.")
    );
    assert_eq!(c.cmd(&["GET", "n"]), bulk("2"), "nothing ran");
    assert_eq!(
        c.cmd(&["FCALL", "nope", "0"]),
        err("ERR Function not found")
    );
    assert_eq!(
        c.cmd(&["FCALL", "get", "x"]),
        err("ERR Bad number of keys provided")
    );
    assert_eq!(
        c.cmd(&["FCALL", "get", "3", "a"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        c.cmd(&["FCALL", "get", "-1"]),
        err("ERR Number of keys can't be negative")
    );
    // Load errors, each leaving the libraries as they were.
    let cases: &[(&str, &str)] = &[
        ("return 1", "ERR Missing library metadata"),
        ("#!lua name=x", "ERR Invalid library metadata"),
        ("#!lua\nreturn 1", "ERR Library name was not given"),
        (
            "#!lua name=a-b\nreturn 1",
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ),
        ("#!js name=x\nreturn 1", "ERR Engine 'js' not found"),
        (LIB1, "ERR Library 'lib1' already exists"),
        (
            "#!lua name=lib3\nlocal x = 1",
            "ERR No functions registered",
        ),
        (
            "#!lua name=lib3\nredis.register_function('get', function() end)",
            "ERR Function get already exists",
        ),
        (
            "#!lua name=lib3\nredis.call('SET', 'a', 'b')",
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'",
        ),
        (
            "#!lua name=lib3\n foo(",
            "ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'",
        ),
        (
            "#!lua name=lib3\nwhile true do end",
            "ERR Error registering functions: ERR FUNCTION LOAD timeout",
        ),
        (
            "#!lua name=lib3\nredis.register_function{function_name='x', callback=function() end, flags={'bogus'}}",
            "ERR Error registering functions: ERR unknown flag given",
        ),
        (
            "#!lua name=lib3\nredis.register_function('a', function() end)\nredis.register_function('a', function() end)",
            "ERR Error registering functions: ERR Function already exists in the library",
        ),
    ];
    for (code, want) in cases {
        assert_eq!(load(&mut c, code), err(want), "{code}");
    }
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "FOO", LIB2]),
        err("ERR Unknown option given: FOO")
    );
    assert_eq!(load(&mut c, LIB2), bulk("lib2"));
    // Runtime errors name the function and its line.
    assert_eq!(
        load(
            &mut c,
            "#!lua name=lib4\nredis.register_function('kv', function() return KEYS end)"
        ),
        bulk("lib4")
    );
    assert_eq!(
        c.cmd(&["FCALL", "kv", "0"]),
        err(
            "ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS' script: kv, on @user_function:2."
        )
    );
    // LIST: RESP2 arrays, RESP3 maps and a set of flags.
    let list = c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "lib1"]);
    assert_eq!(
        list,
        Reply::Array(vec![Reply::Array(vec![
            bulk("library_name"),
            bulk("lib1"),
            bulk("engine"),
            bulk("LUA"),
            bulk("functions"),
            Reply::Array(vec![
                Reply::Array(vec![
                    bulk("name"),
                    bulk("incr2"),
                    bulk("description"),
                    bulk("twice"),
                    bulk("flags"),
                    Reply::Array(vec![]),
                ]),
                Reply::Array(vec![
                    bulk("name"),
                    bulk("get"),
                    bulk("description"),
                    Reply::Nil,
                    bulk("flags"),
                    Reply::Array(vec![simple("no-writes")]),
                ]),
            ]),
        ])])
    );
    let mut c3 = s.client();
    c3.send(&["HELLO", "3"]);
    c3.resp3 = true;
    c3.read();
    let all = c3.cmd(&["FUNCTION", "LIST", "WITHCODE"]);
    assert_eq!(all.items().len(), 3);
    let lib1 = &all.items()[0];
    assert_eq!(lib1.get("library_code"), Some(bulk(LIB1)));
    let get = &lib1.get("functions").unwrap().items()[1];
    assert_eq!(
        get.get("flags"),
        Some(Reply::Set(vec![simple("no-writes")]))
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME"]),
        err("ERR library name argument was not given")
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "BAD"]),
        err("ERR Unknown argument BAD")
    );
    // DELETE, REPLACE.
    assert_eq!(
        c.cmd(&["FUNCTION", "DELETE", "nope"]),
        err("ERR Library not found")
    );
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "lib4"]), simple("OK"));
    let replaced = LIB2.replace("'hello '", "'hi '");
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "REPLACE", &replaced]),
        bulk("lib2")
    );
    assert_eq!(c.cmd(&["FCALL", "hello", "0", "you"]), bulk("hi you"));
    // STATS when idle.
    let stats = c3.cmd(&["FUNCTION", "STATS"]);
    assert_eq!(stats.get("running_script"), Some(Reply::Nil));
    let lua = stats.get("engines").unwrap().get("LUA").unwrap();
    assert_eq!(lua.get("libraries_count"), Some(Reply::Int(2)));
    assert_eq!(lua.get("functions_count"), Some(Reply::Int(3)));
    // FLUSH.
    assert_eq!(
        c.cmd(&["FUNCTION", "FLUSH", "LATER"]),
        err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "FLUSH", "SYNC", "X"]),
        err("ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")
    );
    assert_eq!(c.cmd(&["FUNCTION", "FLUSH"]), simple("OK"));
    assert_eq!(c.cmd(&["FUNCTION", "LIST"]), Reply::Array(vec![]));
    assert_eq!(
        c.cmd(&["FCALL", "hello", "0", "x"]),
        err("ERR Function not found")
    );
    // Functions are not callable from scripts, FUNCTION neither.
    assert_eq!(load(&mut c, LIB2), bulk("lib2"));
    let Reply::Error(e) = c.cmd(&["EVAL", "return redis.call('FCALL', 'hello', 0, 'x')", "0"])
    else {
        panic!("FCALL from a script ran")
    };
    assert!(
        e.starts_with("ERR This Redis command is not allowed from script"),
        "{e}"
    );
}

#[test]
fn function_dump_restore_policies_and_corrupt_payloads() {
    let s = Server::start();
    let mut c = s.client();
    assert_eq!(load(&mut c, LIB1), bulk("lib1"));
    let Reply::Bulk(payload) = c.cmd(&["FUNCTION", "DUMP"]) else {
        panic!("no payload")
    };
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "lib1"]), simple("OK"));
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &payload]),
        simple("OK")
    );
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "k"]), Reply::Int(2));
    // APPEND (the default) refuses a library that exists; REPLACE takes it.
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &payload]),
        err("ERR Library lib1 already exists")
    );
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &payload, b"REPLACE"]),
        simple("OK")
    );
    // FLUSH drops the others.
    assert_eq!(load(&mut c, LIB2), bulk("lib2"));
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &payload, b"FLUSH"]),
        simple("OK")
    );
    assert_eq!(
        c.cmd(&["FCALL", "hello", "0", "x"]),
        err("ERR Function not found")
    );
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &payload, b"MERGE"]),
        err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    );
    // Every flipped byte is refused and changes nothing.
    for i in 0..payload.len() {
        let mut bad = payload.clone();
        bad[i] ^= 0x20;
        assert_eq!(
            c.cmd_bin(&[b"FUNCTION", b"RESTORE", &bad, b"FLUSH"]),
            err("ERR DUMP payload version or checksum are wrong"),
            "byte {i}"
        );
    }
    // A key's DUMP payload is not a function payload.
    c.cmd(&["SET", "s", "v"]);
    let Reply::Bulk(key_payload) = c.cmd(&["DUMP", "s"]) else {
        panic!()
    };
    assert_eq!(
        c.cmd_bin(&[b"FUNCTION", b"RESTORE", &key_payload]),
        err("ERR given type is not a function")
    );
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "k"]), Reply::Int(4));
}

#[test]
fn functions_survive_kill9_restart_and_a_fresh_node() {
    let lake = tempfile::tempdir().unwrap();
    let storage = format!("file://{}", lake.path().display());
    let args = ["--storage", &storage, "--appendfsync", "always"];
    let mut a = Server::with_args(&args);
    let mut c = a.client();
    assert_eq!(load(&mut c, LIB1), bulk("lib1"));
    assert_eq!(load(&mut c, LIB2), bulk("lib2"));
    // Acknowledged, then killed: the WAL has it.
    a.kill9();
    a.restart();
    let mut c = a.client();
    assert_eq!(c.cmd(&["FCALL", "hello", "0", "wal"]), bulk("hello wal"));
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "lib2"]), simple("OK"));
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "k"]), Reply::Int(2));
    a.kill9();
    a.restart();
    let mut c = a.client();
    assert_eq!(
        c.cmd(&["FCALL", "hello", "0", "x"]),
        err("ERR Function not found")
    );
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "k"]), Reply::Int(4));
    // Committed to the lake: a fresh node (new data directory) has them.
    assert_eq!(c.cmd(&["SAVE"]), simple("OK"));
    drop(c);
    a.stop();
    let b = Server::with_args(&args);
    let mut c = b.client();
    assert_eq!(c.cmd(&["FCALL", "incr2", "1", "k"]), Reply::Int(6));
    let listed = c.cmd(&["FUNCTION", "LIST"]);
    assert_eq!(listed.items().len(), 1);
}

#[test]
fn function_kill_stops_a_looping_function() {
    let s = Server::with_args(&["--busy-reply-threshold", "200"]);
    let mut c = s.client();
    let code = "#!lua name=loops\n\
        redis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}\n\
        redis.register_function('spinw', function(k) redis.call('SET', k[1], 1) local i = 0 while i < 2e8 do i = i + 1 end return i end)";
    assert_eq!(load(&mut c, code), bulk("loops"));
    let port = s.port;
    let looping = std::thread::spawn(move || Client::connect(port).cmd(&["FCALL", "spin", "0"]));
    let mut other = s.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Reply::Error(e) = other.cmd(&["GET", "x"]) {
            assert_eq!(
                e,
                "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            );
            break;
        }
        assert!(Instant::now() < deadline, "never busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = other.cmd(&["FUNCTION", "STATS"]);
    let running = stats.items()[1].clone();
    assert_eq!(running.get("name"), Some(bulk("spin")));
    assert_eq!(
        running.get("command"),
        Some(Reply::Array(vec![bulk("FCALL"), bulk("spin"), bulk("0")]))
    );
    assert!(
        matches!(other.cmd(&["SCRIPT", "KILL"]), Reply::Error(e) if e.contains("FUNCTION KILL")),
        "SCRIPT KILL does not stop a function"
    );
    assert_eq!(other.cmd(&["FUNCTION", "KILL"]), simple("OK"));
    assert_eq!(
        looping.join().unwrap(),
        err("ERR Script killed by user with SCRIPT KILL...")
    );
    assert_eq!(
        other.cmd(&["FUNCTION", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
    // One that wrote cannot be killed.
    let writer =
        std::thread::spawn(move || Client::connect(port).cmd(&["FCALL", "spinw", "1", "w"]));
    loop {
        if let Reply::Error(e) = other.cmd(&["FUNCTION", "KILL"])
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
    assert_eq!(writer.join().unwrap(), Reply::Int(200_000_000));
    assert_eq!(other.cmd(&["GET", "w"]), bulk("1"));
}
