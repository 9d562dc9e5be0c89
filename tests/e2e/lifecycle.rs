//! Process lifecycle: startup refusals, the config file, graceful shutdown.

use std::process::Command;
use std::time::Duration;

use crate::support::{BIN, Reply, Server, free_port, simple};

fn run_expecting_failure(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn startup_refusals() {
    assert!(
        run_expecting_failure(&["--port", "0"]).contains("'port 0' turns the plain TCP port off")
    );
    assert!(
        run_expecting_failure(&["--requirepass", "a", "--aclfile", "/tmp/x.acl"])
            .contains("'requirepass' and 'aclfile' cannot both be set")
    );
    assert!(
        run_expecting_failure(&["--client-output-buffer-limit", "normal 1mb"])
            .contains("groups of: class hard-limit soft-limit soft-seconds")
    );
    assert!(
        run_expecting_failure(&["--tls-auth-clients", "maybe"])
            .contains("'tls-auth-clients' must be yes, no or optional")
    );
    assert!(run_expecting_failure(&["--bogus", "1"]).contains("unknown option 'bogus'"));
    assert!(
        run_expecting_failure(&["--maxclients", "many"]).contains("'maxclients' needs a number")
    );
    assert!(
        run_expecting_failure(&["/nonexistent/vexlake.conf"]).contains("cannot read config file")
    );
    // A port already in use.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let err = run_expecting_failure(&["--port", &port, "--dir", dir.path().to_str().unwrap()]);
    assert!(err.contains("cannot listen on 127.0.0.1:"), "{err}");
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("VexLake v="));
}

#[test]
fn config_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("vexlake.conf");
    let port = free_port();
    std::fs::write(
        &conf,
        format!("# test config\nport {port}\nbind 127.0.0.1\ndir {}\nrequirepass \"p w\"\nmaxclients 33\n", dir.path().display()),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg(&conf)
        .arg("--maxclients")
        .arg("44")
        .spawn()
        .unwrap();
    let mut c = None;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            c = Some(crate::support::Client::connect(port));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = c.expect("server from config file");
    assert_eq!(c.cmd(&["AUTH", "p w"]), simple("OK"));
    let r = c.cmd(&["CONFIG", "GET", "maxclients"]);
    assert_eq!(
        r.get("maxclients"),
        Some(crate::support::bulk("44")),
        "command line overrides the file"
    );
    let info = c.cmd(&["INFO", "server"]).text();
    assert!(info.contains(&format!("config_file:{}", conf.display())));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let mut s = Server::start();
    let mut c = s.client();
    assert_eq!(c.cmd(&["SET", "k", "v"]), simple("OK"));
    s.signal("TERM");
    let (code, stderr) = s.wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(c.is_closed(), "idle client is disconnected");
}

#[test]
fn shutdown_command_stops_the_server() {
    let mut s = Server::start();
    let mut other = s.client();
    other.cmd(&["PING"]);
    let mut c = s.client();
    c.send(&["SHUTDOWN", "NOSAVE"]);
    assert!(c.is_closed());
    let (code, _) = s.wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(0));
    assert!(other.is_closed());
    assert!(!s.is_running());
    let _ = Reply::Nil;
}
