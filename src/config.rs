//! Server configuration, Redis style: `vexlake [config-file] [--name value ...]`.
//!
//! The config file has redis.conf lines (`port 6380`, `requirepass "a b"`,
//! `# comments`); command-line options use the same names and override the
//! file. One table of names ([`NAMES`]) serves the file, the command line and
//! `CONFIG GET`, so they can never disagree. Only `main.rs` reads the process
//! arguments; everything else receives a [`Config`].

use std::path::PathBuf;

use vexlake_engine::glob::glob_match;
use vexlake_engine::ingest::parts::Codec;
use vexlake_protocol::inline::split_args;

/// When the write-ahead log is fsynced (Redis's `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppendFsync {
    /// Before every acknowledgement.
    #[default]
    Always,
    /// Once a second.
    Everysec,
    /// Left to the operating system.
    No,
}

/// Whether TLS clients must present a certificate (`tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsAuthClients {
    /// No client certificate is asked for.
    #[default]
    No,
    /// A certificate signed by `tls-ca-cert-file` is required.
    Yes,
    /// A certificate is verified when the client presents one.
    Optional,
}

/// `client-output-buffer-limit normal <hard> <soft> <soft-seconds>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    /// Pending reply bytes that close the client at once (0 = none).
    pub hard: u64,
    /// Pending reply bytes that close the client when they last `soft_seconds`.
    pub soft: u64,
    /// How long the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// All settings of a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// TCP port (`port`).
    pub port: u16,
    /// Addresses to listen on (`bind`, several allowed).
    pub bind: Vec<String>,
    /// Data directory (`dir`).
    pub dir: PathBuf,
    /// Password of the default user (`requirepass`); `None` = no AUTH needed.
    pub requirepass: Option<String>,
    /// WAL fsync policy (`appendfsync`).
    pub appendfsync: AppendFsync,
    /// Most simultaneous clients (`maxclients`).
    pub maxclients: usize,
    /// Number of databases (`databases`).
    pub databases: usize,
    /// Largest bulk argument (`proto-max-bulk-len`).
    pub proto_max_bulk_len: u64,
    /// Largest unparsed input a client may have buffered (`client-query-buffer-limit`).
    pub client_query_buffer_limit: u64,
    /// Log verbosity (`loglevel`: debug, verbose, notice, warning).
    pub loglevel: String,
    /// Default vector set of the bare `VSEARCH "[...]" k` form (`default-vset`).
    pub default_vset: String,
    /// Object storage root (`storage`); `None` = `<dir>/store`.
    pub storage: Option<String>,
    /// S3 endpoint (`s3-endpoint`).
    pub s3_endpoint: Option<String>,
    /// S3 region (`s3-region`).
    pub s3_region: Option<String>,
    /// Flush to the object store when this many WAL bytes are uncommitted
    /// (`flush-size`).
    pub flush_size: u64,
    /// Flush at least this often when something changed, seconds
    /// (`flush-interval`).
    pub flush_interval: u64,
    /// Manifests kept by GC (`retain-versions`).
    pub retain_versions: usize,
    /// Unreferenced files younger than this are not deleted, seconds
    /// (`gc-grace-seconds`).
    pub gc_grace_seconds: u64,
    /// Allow a store without conditional puts (`single-writer yes`).
    pub single_writer: bool,
    /// Keep the WAL in the lake instead of `<dir>/wal` (`wal-storage
    /// object`): a replacement node loses no acknowledged write.
    pub wal_objects: bool,
    /// Follow the lake as a read replica (`replica-of-lake yes`).
    pub replica_of_lake: bool,
    /// Become the lake's writer even if another writer is alive, fencing
    /// it (`takeover yes`).
    pub takeover: bool,
    /// A writer whose heartbeat is older than this is gone, seconds
    /// (`writer-lease-seconds`).
    pub writer_lease_seconds: u64,
    /// Deltas before a base is rewritten (`compact-deltas`).
    pub compact_deltas: usize,
    /// Flush when this many vector inserts are uncommitted, bounding what a
    /// restart re-inserts (`flush-vector-inserts`; 0 = no bound).
    pub flush_vector_inserts: u64,
    /// Upgrading a format-1 lake with several writers: whose data becomes
    /// the lake's (`lake-upgrade-writer`).
    pub lake_upgrade_writer: Option<String>,
    /// Memory one SQL query may use (`sql-memory-limit`).
    pub sql_memory_limit: u64,
    /// Longest a SQL query may run, seconds (`sql-timeout`).
    pub sql_timeout: u64,
    /// Table data SQL keeps in memory across queries (`sql-cache-size`).
    pub sql_cache_size: u64,
    /// Where SQL over lake tables runs (`sql-engine`): `local`, or a
    /// Ballista scheduler as `ballista://host:port`.
    pub sql_engine: String,
    /// Size table compaction merges small files into
    /// (`table-target-file-size`).
    pub table_target_file_size: u64,
    /// Compression of table files written from now on
    /// (`table-compression`); `None` = the lake's default (none on a
    /// local directory, LZ4 on S3).
    pub table_compression: Option<Codec>,
    /// Directory `INGEST ... FROM` may read server files from
    /// (`import-dir`); `None` = server files cannot be ingested.
    pub import_dir: Option<PathBuf>,
    /// Commands slower than this many µs go to the SLOWLOG
    /// (`slowlog-log-slower-than`; negative = off, 0 = every command).
    pub slowlog_log_slower_than: i64,
    /// Most SLOWLOG entries kept (`slowlog-max-len`).
    pub slowlog_max_len: u64,
    /// A script running longer than this many ms makes other clients'
    /// commands answer `-BUSY` and can be stopped with SCRIPT KILL
    /// (`busy-reply-threshold`, alias `lua-time-limit`; 0 = at once).
    pub busy_reply_threshold: u64,
    /// Prometheus listener (`metrics-addr`).
    pub metrics_addr: Option<String>,
    /// TLS port (`tls-port`), 0 = off.
    pub tls_port: u16,
    /// TLS certificate (`tls-cert-file`).
    pub tls_cert_file: Option<String>,
    /// TLS key (`tls-key-file`).
    pub tls_key_file: Option<String>,
    /// CA certificates that sign client certificates (`tls-ca-cert-file`).
    pub tls_ca_cert_file: Option<String>,
    /// Client certificates on the TLS port (`tls-auth-clients`).
    pub tls_auth_clients: TlsAuthClients,
    /// ACL file loaded at start and by ACL LOAD, written by ACL SAVE (`aclfile`).
    pub aclfile: Option<PathBuf>,
    /// Refuse non-loopback clients while the default user has no password
    /// (`protected-mode`).
    pub protected_mode: bool,
    /// Redis 8's `vset-force-single-threaded-execution`: accepted and
    /// reported; VexLake runs each VADD/VSIM on its connection's task
    /// either way (docs/operations.md).
    pub vset_force_single_threaded_execution: bool,
    /// Close clients idle this many seconds (`timeout`; 0 = never).
    pub timeout: u64,
    /// Output buffer limits of normal clients (`client-output-buffer-limit
    /// normal <hard> <soft> <soft-seconds>`; 0 = no limit).
    pub output_limit: OutputLimit,
    /// Output buffer limits of subscribed clients (`client-output-buffer-limit
    /// pubsub <hard> <soft> <soft-seconds>`).
    pub output_limit_pubsub: OutputLimit,
    /// Keyspace notification classes (`notify-keyspace-events`, see
    /// [`crate::notify`]).
    pub notify_keyspace_events: u32,
    /// Memory the keyspace may use before eviction or `-OOM` (`maxmemory`;
    /// 0 = no limit).
    pub maxmemory: u64,
    /// What happens at `maxmemory` (`maxmemory-policy`).
    pub maxmemory_policy: MaxmemoryPolicy,
    /// Keys sampled per eviction (`maxmemory-samples`).
    pub maxmemory_samples: u64,
    /// Who may run DEBUG (`enable-debug-command`: yes, no, or local =
    /// loopback clients only).
    pub enable_debug_command: String,
    /// Redis's compact-encoding limits (`hash-max-listpack-entries`,
    /// `set-max-intset-entries`, ...): what OBJECT ENCODING reports by;
    /// VexLake's memory layout does not change with them.
    pub encodings: Encodings,
    /// The config file this came from, if any.
    pub config_file: Option<PathBuf>,
}

/// `maxmemory-policy`: which keys go when memory is over `maxmemory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxmemoryPolicy {
    /// None: write commands get `-OOM`.
    NoEviction,
    /// Least recently used of all keys.
    AllKeysLru,
    /// Least frequently used of all keys.
    AllKeysLfu,
    /// Any key.
    AllKeysRandom,
    /// Least recently used of the keys with a TTL.
    VolatileLru,
    /// Least frequently used of the keys with a TTL.
    VolatileLfu,
    /// Any key with a TTL.
    VolatileRandom,
    /// The key with a TTL that expires first.
    VolatileTtl,
}

impl MaxmemoryPolicy {
    /// Every policy with its name.
    pub const ALL: [(&'static str, MaxmemoryPolicy); 8] = [
        ("noeviction", MaxmemoryPolicy::NoEviction),
        ("allkeys-lru", MaxmemoryPolicy::AllKeysLru),
        ("allkeys-lfu", MaxmemoryPolicy::AllKeysLfu),
        ("allkeys-random", MaxmemoryPolicy::AllKeysRandom),
        ("volatile-lru", MaxmemoryPolicy::VolatileLru),
        ("volatile-lfu", MaxmemoryPolicy::VolatileLfu),
        ("volatile-random", MaxmemoryPolicy::VolatileRandom),
        ("volatile-ttl", MaxmemoryPolicy::VolatileTtl),
    ];

    /// The policy's name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .unwrap_or("noeviction")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 6379,
            bind: vec!["127.0.0.1".to_string()],
            dir: PathBuf::from("./vexlake-data"),
            requirepass: None,
            appendfsync: AppendFsync::Always,
            maxclients: 10_000,
            databases: 16,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            loglevel: "notice".to_string(),
            default_vset: "default".to_string(),
            storage: None,
            s3_endpoint: None,
            s3_region: None,
            flush_size: 64 * 1024 * 1024,
            flush_interval: 60,
            retain_versions: 20,
            gc_grace_seconds: 600,
            single_writer: false,
            wal_objects: false,
            replica_of_lake: false,
            takeover: false,
            writer_lease_seconds: 10,
            compact_deltas: 8,
            flush_vector_inserts: 20_000,
            lake_upgrade_writer: None,
            sql_memory_limit: 1024 * 1024 * 1024,
            sql_timeout: 60,
            sql_cache_size: 256 * 1024 * 1024,
            sql_engine: "local".into(),
            table_target_file_size: 128 * 1024 * 1024,
            table_compression: None,
            import_dir: None,
            slowlog_log_slower_than: 10_000,
            slowlog_max_len: 128,
            busy_reply_threshold: 5000,
            metrics_addr: None,
            tls_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_ca_cert_file: None,
            tls_auth_clients: TlsAuthClients::No,
            aclfile: None,
            protected_mode: true,
            vset_force_single_threaded_execution: false,
            timeout: 0,
            output_limit: OutputLimit::default(),
            output_limit_pubsub: OutputLimit {
                hard: 32 * 1024 * 1024,
                soft: 8 * 1024 * 1024,
                soft_seconds: 60,
            },
            notify_keyspace_events: 0,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            encodings: Encodings::default(),
            enable_debug_command: "local".to_string(),
            config_file: None,
        }
    }
}

/// Redis's limits for its compact encodings of small collections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encodings {
    pub hash_entries: i64,
    pub hash_value: i64,
    pub set_intset_entries: i64,
    pub set_entries: i64,
    pub set_value: i64,
    pub zset_entries: i64,
    pub zset_value: i64,
    /// Negative: a size class (-2 = 8 KB per node); positive: entries.
    pub list_size: i64,
}

impl Default for Encodings {
    fn default() -> Self {
        let d = vexlake_engine::keyspace::packed::Limits::DEFAULT;
        let n = |v: usize| v as i64;
        Encodings {
            hash_entries: n(d.hash_entries),
            hash_value: n(d.hash_value),
            set_intset_entries: n(d.set_intset_entries),
            set_entries: n(d.set_entries),
            set_value: n(d.set_value),
            zset_entries: n(d.zset_entries),
            zset_value: n(d.zset_value),
            list_size: d.list_size,
        }
    }
}

impl Encodings {
    /// The option names.
    pub const NAMES: &[&str] = &[
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "set-max-listpack-entries",
        "set-max-listpack-value",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "list-max-listpack-size",
    ];

    fn slot(&mut self, name: &str) -> &mut i64 {
        match name {
            "hash-max-listpack-entries" => &mut self.hash_entries,
            "hash-max-listpack-value" => &mut self.hash_value,
            "set-max-intset-entries" => &mut self.set_intset_entries,
            "set-max-listpack-entries" => &mut self.set_entries,
            "set-max-listpack-value" => &mut self.set_value,
            "zset-max-listpack-entries" => &mut self.zset_entries,
            "zset-max-listpack-value" => &mut self.zset_value,
            _ => &mut self.list_size,
        }
    }

    fn set(&mut self, name: &str, v: i64) {
        *self.slot(name) = v;
    }

    /// Makes these the limits of the packed form of hashes, sets,
    /// sorted sets and lists written from now on (the engine's [`Limits`]).
    ///
    /// [`Limits`]: vexlake_engine::keyspace::packed::Limits
    pub fn apply(&self) {
        let n = |v: i64| usize::try_from(v).unwrap_or(0);
        vexlake_engine::keyspace::packed::set_limits(vexlake_engine::keyspace::packed::Limits {
            hash_entries: n(self.hash_entries),
            hash_value: n(self.hash_value),
            set_intset_entries: n(self.set_intset_entries),
            set_entries: n(self.set_entries),
            set_value: n(self.set_value),
            zset_entries: n(self.zset_entries),
            zset_value: n(self.zset_value),
            list_size: self.list_size,
        });
    }

    fn get(&self, name: &str) -> i64 {
        *self.clone().slot(name)
    }
}

/// Every option name, in the order CONFIG GET lists them.
pub const NAMES: &[&str] = &[
    "port",
    "bind",
    "dir",
    "requirepass",
    "appendfsync",
    "maxclients",
    "databases",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "loglevel",
    "default-vset",
    "storage",
    "s3-endpoint",
    "s3-region",
    "flush-size",
    "flush-interval",
    "retain-versions",
    "gc-grace-seconds",
    "single-writer",
    "wal-storage",
    "replica-of-lake",
    "takeover",
    "writer-lease-seconds",
    "compact-deltas",
    "flush-vector-inserts",
    "lake-upgrade-writer",
    "sql-memory-limit",
    "sql-timeout",
    "sql-cache-size",
    "sql-engine",
    "table-target-file-size",
    "table-compression",
    "import-dir",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "busy-reply-threshold",
    "lua-time-limit",
    "metrics-addr",
    "tls-port",
    "tls-cert-file",
    "tls-key-file",
    "tls-ca-cert-file",
    "tls-auth-clients",
    "aclfile",
    "protected-mode",
    "timeout",
    "client-output-buffer-limit",
    "notify-keyspace-events",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "enable-debug-command",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "set-max-intset-entries",
    "set-max-listpack-entries",
    "set-max-listpack-value",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "list-max-listpack-size",
    "vset-force-single-threaded-execution",
    "save",
    "appendonly",
];

/// What the command line asked for.
#[derive(Debug)]
pub enum Invocation {
    /// Run a server.
    Run(Box<Config>),
    /// Print help and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// Usage text for `--help`.
pub const USAGE: &str = "Usage: vexlake [/path/to/vexlake.conf] [--option value ...]
       vexlake --help | --version
       vexlake ballista-scheduler|ballista-executor [--option value ...]

Options use redis.conf names, e.g.:
  --port 6379 --bind 127.0.0.1 --dir ./vexlake-data --requirepass PW
  --maxclients 10000 --appendfsync always|everysec|no --proto-max-bulk-len 512mb
  --storage file:///path|s3://bucket/prefix --s3-endpoint URL --s3-region R
  --flush-size 64mb --flush-interval 60 --retain-versions 20 --single-writer no
  --wal-storage local|object --replica-of-lake no --takeover no
  --sql-engine local|ballista://host:port
A config file holds the same names, one per line: `port 6380`.";

impl Config {
    /// Parses process arguments (without the program name).
    pub fn from_args(args: &[String]) -> Result<Invocation, String> {
        let mut rest = args;
        if let Some(first) = rest.first() {
            match first.as_str() {
                "-h" | "--help" => return Ok(Invocation::Help),
                "-v" | "--version" => return Ok(Invocation::Version),
                _ => {}
            }
        }
        let mut config = Config::default();
        if let Some(first) = rest.first().filter(|a| !a.starts_with("--")) {
            let path = PathBuf::from(first);
            let text = std::fs::read(&path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
            config
                .apply_file(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            config.config_file = Some(path);
            rest = &rest[1..];
        }
        let mut i = 0;
        while i < rest.len() {
            let Some(name) = rest[i].strip_prefix("--") else {
                return Err(format!(
                    "unexpected argument '{}' (options look like --port 6379)",
                    rest[i]
                ));
            };
            if name == "help" || name == "version" {
                return Err(format!("--{name} must be the only argument"));
            }
            let mut values = Vec::new();
            i += 1;
            while i < rest.len() && !rest[i].starts_with("--") {
                values.push(rest[i].clone());
                i += 1;
            }
            config.set(name, &values).map_err(|e| {
                if e.contains(name) {
                    e
                } else {
                    format!("--{name}: {e}")
                }
            })?;
        }
        config.validate()?;
        Ok(Invocation::Run(Box::new(config)))
    }

    /// Applies redis.conf-style lines.
    pub fn apply_file(&mut self, text: &[u8]) -> Result<(), String> {
        for (n, line) in text.split(|&c| c == b'\n').enumerate() {
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                continue;
            }
            let words =
                split_args(trimmed).ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
            let words: Vec<String> = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect();
            let (name, values) = words.split_first().expect("non-empty line");
            self.set(&name.to_ascii_lowercase(), values)
                .map_err(|e| format!("line {} ({name}): {e}", n + 1))?;
        }
        Ok(())
    }

    /// Sets option `name` from its values.
    pub fn set(&mut self, name: &str, values: &[String]) -> Result<(), String> {
        let one = || -> Result<&str, String> {
            match values {
                [v] => Ok(v.as_str()),
                _ => Err(format!("'{name}' takes exactly one value")),
            }
        };
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match name {
            "port" => self.port = parse_num(name, one()?)?,
            "bind" => {
                if values.is_empty() {
                    return Err("'bind' needs at least one address".into());
                }
                self.bind = values.to_vec();
            }
            "dir" => self.dir = PathBuf::from(one()?),
            "requirepass" => self.requirepass = opt(one()?),
            "appendfsync" => {
                self.appendfsync = match one()?.to_ascii_lowercase().as_str() {
                    "always" => AppendFsync::Always,
                    "everysec" => AppendFsync::Everysec,
                    "no" => AppendFsync::No,
                    other => {
                        return Err(format!(
                            "'appendfsync' must be always, everysec or no, not '{other}'"
                        ));
                    }
                }
            }
            "maxclients" => self.maxclients = parse_num(name, one()?)?,
            "databases" => self.databases = parse_num(name, one()?)?,
            "proto-max-bulk-len" => self.proto_max_bulk_len = parse_memory(name, one()?)?,
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit = parse_memory(name, one()?)?
            }
            "loglevel" => {
                let v = one()?.to_ascii_lowercase();
                if !["debug", "verbose", "notice", "warning", "nothing"].contains(&v.as_str()) {
                    return Err(format!(
                        "'loglevel' must be debug, verbose, notice, warning or nothing, not '{v}'"
                    ));
                }
                self.loglevel = v;
            }
            "default-vset" => self.default_vset = one()?.to_string(),
            "storage" => self.storage = opt(one()?),
            "s3-endpoint" => self.s3_endpoint = opt(one()?),
            "s3-region" => self.s3_region = opt(one()?),
            "flush-size" => self.flush_size = parse_memory(name, one()?)?,
            "flush-interval" => self.flush_interval = parse_num(name, one()?)?,
            "retain-versions" => self.retain_versions = parse_num(name, one()?)?,
            "gc-grace-seconds" => self.gc_grace_seconds = parse_num(name, one()?)?,
            "single-writer" => self.single_writer = parse_bool(one()?)?,
            "wal-storage" => {
                self.wal_objects = match one()?.to_ascii_lowercase().as_str() {
                    "local" => false,
                    "object" => true,
                    other => {
                        return Err(format!(
                            "'wal-storage' must be local or object, not '{other}'"
                        ));
                    }
                }
            }
            "replica-of-lake" => self.replica_of_lake = parse_bool(one()?)?,
            "takeover" => self.takeover = parse_bool(one()?)?,
            "writer-lease-seconds" => self.writer_lease_seconds = parse_num(name, one()?)?,
            "compact-deltas" => self.compact_deltas = parse_num(name, one()?)?,
            "flush-vector-inserts" => self.flush_vector_inserts = parse_num(name, one()?)?,
            "lake-upgrade-writer" => self.lake_upgrade_writer = opt(one()?),
            "sql-memory-limit" => self.sql_memory_limit = parse_memory(name, one()?)?,
            "sql-timeout" => self.sql_timeout = parse_num(name, one()?)?,
            "sql-cache-size" => self.sql_cache_size = parse_memory(name, one()?)?,
            "sql-engine" => {
                let v = one()?;
                if v != "local" {
                    vexlake_engine::sql::distributed::Cluster::parse(v).map_err(|e| {
                        format!("'sql-engine' is local or ballista://host:port: {e}")
                    })?;
                }
                self.sql_engine = v.to_string();
            }
            "table-target-file-size" => self.table_target_file_size = parse_memory(name, one()?)?,
            "table-compression" => {
                let v = one()?;
                self.table_compression = if v.eq_ignore_ascii_case("auto") {
                    None
                } else {
                    Some(Codec::parse(v).ok_or_else(|| {
                        format!(
                            "'table-compression' must be auto, none, lz4, snappy or zstd, not '{v}'"
                        )
                    })?)
                };
            }
            "import-dir" => self.import_dir = opt(one()?).map(PathBuf::from),
            "slowlog-log-slower-than" => {
                self.slowlog_log_slower_than = one()?.parse().map_err(|_| {
                    format!("'{name}' must be an integer (microseconds; negative = off)")
                })?
            }
            "slowlog-max-len" => self.slowlog_max_len = parse_num(name, one()?)?,
            "busy-reply-threshold" | "lua-time-limit" => {
                self.busy_reply_threshold = parse_num(name, one()?)?
            }
            "metrics-addr" => self.metrics_addr = opt(one()?),
            "tls-port" => self.tls_port = parse_num(name, one()?)?,
            "tls-cert-file" => self.tls_cert_file = opt(one()?),
            "tls-key-file" => self.tls_key_file = opt(one()?),
            "tls-ca-cert-file" => self.tls_ca_cert_file = opt(one()?),
            "tls-auth-clients" => {
                self.tls_auth_clients = match one()?.to_ascii_lowercase().as_str() {
                    "yes" => TlsAuthClients::Yes,
                    "no" => TlsAuthClients::No,
                    "optional" => TlsAuthClients::Optional,
                    other => {
                        return Err(format!(
                            "'tls-auth-clients' must be yes, no or optional, not '{other}'"
                        ));
                    }
                }
            }
            "aclfile" => self.aclfile = opt(one()?).map(PathBuf::from),
            "protected-mode" => self.protected_mode = parse_bool(one()?)?,
            "vset-force-single-threaded-execution" => {
                self.vset_force_single_threaded_execution = parse_bool(one()?)?
            }
            "timeout" => self.timeout = parse_num(name, one()?)?,
            "client-output-buffer-limit" => {
                // One or more `class hard soft seconds` groups; the replica
                // class is accepted and has nothing to apply to.
                let words: Vec<&str> = values
                    .iter()
                    .flat_map(|v| v.split_ascii_whitespace())
                    .collect();
                if words.is_empty() || !words.len().is_multiple_of(4) {
                    return Err(format!(
                        "'{name}' takes groups of: class hard-limit soft-limit soft-seconds"
                    ));
                }
                for g in words.chunks(4) {
                    let limit = OutputLimit {
                        hard: parse_memory(name, g[1])?,
                        soft: parse_memory(name, g[2])?,
                        soft_seconds: parse_num(name, g[3])?,
                    };
                    match g[0].to_ascii_lowercase().as_str() {
                        "normal" => self.output_limit = limit,
                        "pubsub" => self.output_limit_pubsub = limit,
                        "replica" | "slave" => {}
                        other => {
                            return Err(format!("'{name}': unknown client class '{other}'"));
                        }
                    }
                }
            }
            "notify-keyspace-events" => {
                self.notify_keyspace_events = crate::notify::parse(one()?).ok_or_else(|| {
                    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()
                })?
            }
            "maxmemory" => self.maxmemory = parse_memory(name, one()?)?,
            "maxmemory-policy" => {
                let v = one()?.to_ascii_lowercase();
                self.maxmemory_policy = MaxmemoryPolicy::ALL
                    .iter()
                    .find(|(n, _)| *n == v)
                    .map(|(_, p)| *p)
                    .ok_or_else(|| format!("'maxmemory-policy' cannot be '{v}'"))?;
            }
            n if Encodings::NAMES.contains(&n) => {
                let v: i64 = parse_num(name, one()?)?;
                if v < 0 && n != "list-max-listpack-size" {
                    return Err(format!("'{n}' must not be negative"));
                }
                self.encodings.set(n, v);
            }
            "maxmemory-samples" => {
                self.maxmemory_samples = parse_num(name, one()?)?;
                if !(1..=64).contains(&self.maxmemory_samples) {
                    return Err("'maxmemory-samples' must be between 1 and 64".into());
                }
            }
            "enable-debug-command" => {
                let v = one()?.to_ascii_lowercase();
                if !["yes", "no", "local"].contains(&v.as_str()) {
                    return Err(format!(
                        "'enable-debug-command' must be yes, no or local, not '{v}'"
                    ));
                }
                self.enable_debug_command = v;
            }
            other => return Err(format!("unknown option '{other}'")),
        }
        Ok(())
    }

    /// Refuses combinations that cannot run.
    pub fn validate(&self) -> Result<(), String> {
        if self.port == 0 && self.tls_port == 0 {
            return Err("'port 0' turns the plain TCP port off; it needs a 'tls-port'".into());
        }
        if self.tls_port != 0 && (self.tls_cert_file.is_none() || self.tls_key_file.is_none()) {
            return Err("'tls-port' needs 'tls-cert-file' and 'tls-key-file'".into());
        }
        if self.tls_auth_clients != TlsAuthClients::No && self.tls_ca_cert_file.is_none() {
            return Err(
                "'tls-auth-clients yes|optional' needs 'tls-ca-cert-file' to verify client certificates"
                    .into(),
            );
        }
        if self.requirepass.is_some() && self.aclfile.is_some() {
            return Err("'requirepass' and 'aclfile' cannot both be set: give the default user its password in the ACL file".into());
        }
        if let Some(s) = &self.storage
            && !(s.starts_with("s3://") || s.starts_with("file://") || s.starts_with('/'))
        {
            return Err(format!(
                "'storage' must be file:///absolute/path or s3://bucket/prefix, not '{s}'"
            ));
        }
        if self.flush_interval == 0 || self.retain_versions == 0 || self.sql_timeout == 0 {
            return Err(
                "'flush-interval', 'retain-versions' and 'sql-timeout' must be at least 1".into(),
            );
        }
        if self.replica_of_lake && self.takeover {
            return Err("'replica-of-lake yes' and 'takeover yes' exclude each other: a replica never writes".into());
        }
        if self.compact_deltas == 0 {
            return Err("'compact-deltas' must be at least 1".into());
        }
        if let Some(d) = &self.import_dir
            && !d.is_dir()
        {
            return Err(format!("'import-dir' {} is not a directory", d.display()));
        }
        if self.databases == 0 || self.databases > 1024 {
            return Err("'databases' must be between 1 and 1024".into());
        }
        if self.maxclients == 0 {
            return Err("'maxclients' must be at least 1".into());
        }
        if self.proto_max_bulk_len < 1024 * 1024 {
            return Err("'proto-max-bulk-len' must be at least 1mb".into());
        }
        Ok(())
    }

    /// The value CONFIG GET reports for `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.join(" "),
            "dir" => self.dir.display().to_string(),
            "requirepass" => s(&self.requirepass),
            "appendfsync" => match self.appendfsync {
                AppendFsync::Always => "always",
                AppendFsync::Everysec => "everysec",
                AppendFsync::No => "no",
            }
            .to_string(),
            "maxclients" => self.maxclients.to_string(),
            "databases" => self.databases.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "loglevel" => self.loglevel.clone(),
            "default-vset" => self.default_vset.clone(),
            "storage" => self
                .storage
                .clone()
                .unwrap_or_else(|| format!("file://{}", self.dir.join("store").display())),
            "s3-endpoint" => s(&self.s3_endpoint),
            "s3-region" => s(&self.s3_region),
            "flush-size" => self.flush_size.to_string(),
            "flush-interval" => self.flush_interval.to_string(),
            "retain-versions" => self.retain_versions.to_string(),
            "gc-grace-seconds" => self.gc_grace_seconds.to_string(),
            "single-writer" => if self.single_writer { "yes" } else { "no" }.to_string(),
            "wal-storage" => if self.wal_objects { "object" } else { "local" }.to_string(),
            "replica-of-lake" => if self.replica_of_lake { "yes" } else { "no" }.to_string(),
            "takeover" => if self.takeover { "yes" } else { "no" }.to_string(),
            "writer-lease-seconds" => self.writer_lease_seconds.to_string(),
            "compact-deltas" => self.compact_deltas.to_string(),
            "flush-vector-inserts" => self.flush_vector_inserts.to_string(),
            "lake-upgrade-writer" => s(&self.lake_upgrade_writer),
            "sql-memory-limit" => self.sql_memory_limit.to_string(),
            "sql-timeout" => self.sql_timeout.to_string(),
            "sql-cache-size" => self.sql_cache_size.to_string(),
            "sql-engine" => self.sql_engine.clone(),
            "table-target-file-size" => self.table_target_file_size.to_string(),
            "table-compression" => self.table_compression.map_or("auto", Codec::name).into(),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than.to_string(),
            "slowlog-max-len" => self.slowlog_max_len.to_string(),
            "busy-reply-threshold" | "lua-time-limit" => self.busy_reply_threshold.to_string(),
            "import-dir" => self
                .import_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            "metrics-addr" => s(&self.metrics_addr),
            "tls-port" => self.tls_port.to_string(),
            "tls-cert-file" => s(&self.tls_cert_file),
            "tls-key-file" => s(&self.tls_key_file),
            "tls-ca-cert-file" => s(&self.tls_ca_cert_file),
            "tls-auth-clients" => match self.tls_auth_clients {
                TlsAuthClients::Yes => "yes",
                TlsAuthClients::No => "no",
                TlsAuthClients::Optional => "optional",
            }
            .to_string(),
            "aclfile" => self
                .aclfile
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            "protected-mode" => if self.protected_mode { "yes" } else { "no" }.to_string(),
            "vset-force-single-threaded-execution" => {
                if self.vset_force_single_threaded_execution {
                    "yes"
                } else {
                    "no"
                }
                .to_string()
            }
            "timeout" => self.timeout.to_string(),
            "client-output-buffer-limit" => format!(
                "normal {} {} {} slave 0 0 0 pubsub {} {} {}",
                self.output_limit.hard,
                self.output_limit.soft,
                self.output_limit.soft_seconds,
                self.output_limit_pubsub.hard,
                self.output_limit_pubsub.soft,
                self.output_limit_pubsub.soft_seconds
            ),
            "notify-keyspace-events" => crate::notify::format(self.notify_keyspace_events),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.name().to_string(),
            "maxmemory-samples" => self.maxmemory_samples.to_string(),
            n if Encodings::NAMES.contains(&n) => self.encodings.get(n).to_string(),
            "enable-debug-command" => self.enable_debug_command.clone(),
            // Read-only, for tools that probe Redis persistence (redis-benchmark):
            // there are no RDB snapshots; the WAL plays the AOF's part.
            "save" => String::new(),
            "appendonly" => "yes".to_string(),
            _ => return None,
        })
    }

    /// (name, value) pairs for every option matching the glob `pattern`
    /// (matched case-insensitively, as Redis does).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let pattern = pattern.to_ascii_lowercase();
        NAMES
            .iter()
            .filter(|n| glob_match(&pattern, n.as_bytes()))
            .filter_map(|n| self.get(n).map(|v| (*n, v)))
            .collect()
    }
}

/// A yes/no option; the error is Redis's (the caller names the option).
fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".to_string()),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("'{name}' needs a number, got '{v}'"))
}

/// Parses a size with Redis's units: `1k` = 1000, `1kb` = 1024, `m`, `mb`, `g`, `gb`.
pub fn parse_memory(name: &str, v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return Err(format!("'{name}' has an unknown unit in '{v}'")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("'{name}' needs a size like 512mb, got '{v}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match Config::from_args(&args)? {
            Invocation::Run(c) => Ok(*c),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults_and_overrides() {
        let c = run(&[]).unwrap();
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, vec!["127.0.0.1"]);
        let c = run(&[
            "--port",
            "7000",
            "--requirepass",
            "pw",
            "--proto-max-bulk-len",
            "2mb",
        ])
        .unwrap();
        assert_eq!(
            (c.port, c.requirepass.as_deref(), c.proto_max_bulk_len),
            (7000, Some("pw"), 2 * 1024 * 1024)
        );
    }

    #[test]
    fn refusals() {
        assert!(run(&["--port", "0"]).unwrap_err().contains("port 0"));
        assert!(
            run(&["--nope", "1"])
                .unwrap_err()
                .contains("unknown option 'nope'")
        );
        assert!(run(&["--port"]).unwrap_err().contains("exactly one value"));
        assert!(run(&["--appendfsync", "sometimes"]).is_err());
        assert!(run(&["--metrics-addr", "127.0.0.1:9"]).is_ok());
        assert!(
            run(&["--tls-port", "6380"])
                .unwrap_err()
                .contains("needs 'tls-cert-file'")
        );
        assert!(run(&["--storage", "gs://b"]).unwrap_err().contains("s3://"));
        assert!(run(&["--single-writer", "maybe"]).is_err());
        assert!(run(&["--storage", "s3://b/p", "--single-writer", "yes"]).is_ok());
    }

    #[test]
    fn config_file_then_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.conf");
        std::fs::write(
            &path,
            "# comment\nport 6400\nrequirepass \"a b\"\n\nmaxclients 5\n",
        )
        .unwrap();
        let c = run(&[path.to_str().unwrap(), "--maxclients", "7"]).unwrap();
        assert_eq!(
            (c.port, c.requirepass.as_deref(), c.maxclients),
            (6400, Some("a b"), 7)
        );
        assert_eq!(c.config_file.as_deref(), Some(path.as_path()));
        std::fs::write(&path, "port\n").unwrap();
        assert!(
            run(&[path.to_str().unwrap()])
                .unwrap_err()
                .contains("line 1")
        );
    }

    #[test]
    fn config_get_patterns() {
        let c = Config::default();
        let got: Vec<&str> = c.matching(b"*max*").iter().map(|(n, _)| *n).collect();
        assert_eq!(
            got,
            vec![
                "maxclients",
                "proto-max-bulk-len",
                "slowlog-max-len",
                "maxmemory",
                "maxmemory-policy",
                "maxmemory-samples",
                "hash-max-listpack-entries",
                "hash-max-listpack-value",
                "set-max-intset-entries",
                "set-max-listpack-entries",
                "set-max-listpack-value",
                "zset-max-listpack-entries",
                "zset-max-listpack-value",
                "list-max-listpack-size"
            ]
        );
        assert_eq!(c.matching(b"PORT"), vec![("port", "6379".to_string())]);
    }
}
