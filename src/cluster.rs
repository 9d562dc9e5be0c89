//! The Ballista processes a server's `sql-engine ballista://host:port`
//! sends queries to, as subcommands of this binary:
//!
//! ```text
//! vexlake ballista-scheduler [--bind 127.0.0.1] [--port 50050] LAKE
//! vexlake ballista-executor --scheduler HOST:PORT [--bind 127.0.0.1]
//!     [--port 50051] [--concurrency N] [--work-dir DIR] [--sql-cache-size 256mb]
//!     [--sql-memory-limit SIZE] LAKE
//! LAKE: --dir DIR | --storage file:///path|s3://bucket/prefix
//!       [--s3-endpoint URL] [--s3-region R]
//! ```
//!
//! Both are Ballista's own scheduler and executor (crates
//! `ballista-scheduler` and `ballista-executor`), pull-based; this binary
//! only adds what they need to run VexLake's plans: the vector functions,
//! and the lake as DataFusion's object store at the URL the server's plans
//! name (read-only; on executors with the same range cache as the server).
//! Both read the lake the server writes: give them the server's
//! `--storage` (or `--dir`, whose `store/` is the default lake) and the
//! same S3 settings; credentials come from `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY`. On SIGTERM an executor finishes and prints
//! what it read from the lake.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::config::TaskSchedulingPolicy;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::prelude::SessionConfig;
use vexlake_engine::sql::distributed::{cluster_state, lake_runtime};
use vexlake_engine::sql::lake_store::{LakeStore, ScanStats};
use vexlake_engine::storage::{S3Options, Store};

use crate::config::parse_memory;

/// Usage of the subcommands.
pub const USAGE: &str = "Usage: vexlake ballista-scheduler [--bind 127.0.0.1] [--port 50050] LAKE
       vexlake ballista-executor --scheduler HOST:PORT [--bind 127.0.0.1] [--port 50051]
           [--concurrency N] [--work-dir DIR] [--sql-cache-size 256mb] [--sql-memory-limit SIZE] LAKE
LAKE: --dir DIR | --storage file:///path|s3://bucket/prefix [--s3-endpoint URL] [--s3-region R]";

/// Options naming the lake.
const LAKE: [&str; 4] = ["dir", "storage", "s3-endpoint", "s3-region"];

/// Whether `first` names a subcommand of this module.
pub fn is_subcommand(first: &str) -> bool {
    matches!(first, "ballista-scheduler" | "ballista-executor")
}

/// Runs the subcommand `args[0]` with its options `args[1..]` until it
/// stops (SIGTERM, Ctrl-C).
pub async fn run(args: &[String]) -> Result<(), String> {
    let opts = Options::parse(&args[1..])?;
    match args[0].as_str() {
        "ballista-scheduler" => scheduler(&opts).await,
        _ => executor(&opts).await,
    }
}

/// `--name value` pairs.
struct Options(Vec<(String, String)>);

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut out = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let name = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{a}'"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            out.push((name.to_string(), value.clone()));
        }
        Ok(Options(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            Some((n, _)) => Err(format!("unknown option --{n}")),
            None => Ok(()),
        }
    }

    fn port(&self, default: u16) -> Result<u16, String> {
        self.get("port").map_or(Ok(default), |p| {
            p.parse().map_err(|_| format!("--port: not a port: '{p}'"))
        })
    }

    fn addr(&self, default_port: u16) -> Result<SocketAddr, String> {
        let bind = self.get("bind").unwrap_or("127.0.0.1");
        format!("{bind}:{}", self.port(default_port)?)
            .parse()
            .map_err(|e| format!("--bind {bind}: {e}"))
    }
}

/// A session for decoding VexLake's plans.
fn session_config() -> SessionConfig {
    use ballista_core::extension::SessionConfigExt;
    SessionConfig::new_with_ballista()
}

/// The lake named by the options, as DataFusion's object store with a
/// range cache of `cache` bytes, and its URL.
fn lake(
    opts: &Options,
    cache: usize,
    stats: Arc<ScanStats>,
) -> Result<(Arc<LakeStore>, String), String> {
    let url = match (opts.get("storage"), opts.get("dir")) {
        (Some(s), _) => s.to_string(),
        (None, Some(d)) => format!("file://{}", PathBuf::from(d).join("store").display()),
        (None, None) => return Err("--dir or --storage is required (the lake to read)".into()),
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let s3 = S3Options {
        endpoint: opts.get("s3-endpoint").map(str::to_string),
        region: opts.get("s3-region").map(str::to_string),
        access_key_id: env("AWS_ACCESS_KEY_ID"),
        secret_access_key: env("AWS_SECRET_ACCESS_KEY"),
    };
    let store = Store::open(&url, &s3).map_err(|e| format!("cannot open the lake {url}: {e}"))?;
    Ok((
        Arc::new(LakeStore::new(store.operator(), cache, stats)),
        url,
    ))
}

async fn scheduler(opts: &Options) -> Result<(), String> {
    opts.only(&[&["bind", "port"][..], &LAKE].concat())?;
    let addr = opts.addr(50050)?;
    let (lake, url) = lake(opts, 0, Arc::default())?;
    let runtime = lake_runtime(&lake, &std::env::temp_dir()).map_err(|e| e.to_string())?;
    let mut config = SchedulerConfig {
        scheduler_id: addr.to_string(),
        bind_host: addr.ip().to_string(),
        external_host: addr.ip().to_string(),
        bind_port: addr.port(),
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        ..SchedulerConfig::default()
    };
    config = config
        .with_override_config_producer(Arc::new(session_config))
        .with_override_session_builder(Arc::new(move |c| Ok(cluster_state(c, runtime.clone()))));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| e.to_string())?;
    eprintln!("vexlake ballista-scheduler listening on {addr}, lake {url}");
    start_server(cluster, addr, Arc::new(config))
        .await
        .map_err(|e| e.to_string())
}

async fn executor(opts: &Options) -> Result<(), String> {
    let own = [
        "bind",
        "port",
        "scheduler",
        "concurrency",
        "work-dir",
        "sql-cache-size",
        "sql-memory-limit",
    ];
    opts.only(&[&own[..], &LAKE].concat())?;
    let addr = opts.addr(50051)?;
    let scheduler = opts
        .get("scheduler")
        .ok_or("--scheduler HOST:PORT is required")?;
    let (scheduler_host, scheduler_port) = scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("--scheduler: not HOST:PORT: '{scheduler}'"))?;
    let cache = match opts.get("sql-cache-size") {
        Some(v) => parse_memory("sql-cache-size", v)? as usize,
        None => 256 << 20,
    };
    let memory = match opts.get("sql-memory-limit") {
        Some(v) => Some(parse_memory("sql-memory-limit", v)?),
        None => None,
    };
    let concurrency = match opts.get("concurrency") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("--concurrency: not a positive number: '{v}'"))?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    let work_dir = match opts.get("work-dir") {
        Some(d) => PathBuf::from(d),
        None => std::env::temp_dir().join(format!("vexlake-executor-{}", addr.port())),
    };
    std::fs::create_dir_all(&work_dir)
        .map_err(|e| format!("--work-dir {}: {e}", work_dir.display()))?;
    let stats = Arc::new(ScanStats::default());
    let (lake, url) = lake(opts, cache, stats.clone())?;
    // One runtime for every session and task: one footer cache, one range
    // cache (Ballista gives each task its own memory pool on top).
    let runtime = lake_runtime(&lake, &work_dir).map_err(|e| e.to_string())?;
    let registry = ballista_core::registry::BallistaFunctionRegistry::from(&cluster_state(
        session_config(),
        runtime.clone(),
    ));
    let config = ExecutorProcessConfig {
        bind_host: addr.ip().to_string(),
        external_host: Some(addr.ip().to_string()),
        port: addr.port(),
        scheduler_host,
        scheduler_port,
        vcores: concurrency,
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        memory_pool_size: memory,
        override_config_producer: Some(Arc::new(session_config)),
        override_runtime_producer: Some(Arc::new(move |_| Ok(runtime.clone()))),
        override_function_registry: Some(Arc::new(registry)),
        ..ExecutorProcessConfig::default()
    };
    eprintln!("vexlake ballista-executor on {addr}, lake {url}, scheduler {scheduler}");
    let result = start_executor_process(Arc::new(config))
        .await
        .map_err(|e| e.to_string());
    eprintln!(
        "vexlake ballista-executor read {} requests, {} bytes from the lake",
        ScanStats::get(&stats.requests),
        ScanStats::get(&stats.bytes)
    );
    result
}
