//! SQL over the committed tables and the live vector sets, run by
//! DataFusion on its own runtime (never on the RESP I/O threads).
//!
//! A query reads one manifest version (the latest, or `VERSION n` for time
//! travel): every table of it is registered as a Parquet scan of its files
//! straight from the lake ([`manifest_table`], through [`lake_store`]),
//! and `vset('key')` is a table function over a vector set (element,
//! vector, attributes). Table writes ([`write`]) commit new versions of
//! the lake; other DDL, DML and statements are refused, so SQL cannot
//! read or write files or buckets outside the catalog. Each query has a
//! memory limit and a timeout.
//!
//! # Layout
//! - [`manifest_table`]: a table of the manifest, scanned from the lake.
//! - [`early_filter`]: join and TopK filters applied right after a scan.
//! - [`decimal_arith`]: decimal `+ - *` without checked arithmetic per row.
//! - [`lake_store`]: the lake as DataFusion's object store (range cache,
//!   read counters).
//! - [`vset_table`]: the `vset('key')` table function.
//! - [`vsim_table`]: the `vsim('key', vector, k [, filter])` search.
//! - [`keyspace_table`]: the `keyspace()` table function.
//! - [`compact`]: small table files merged in the background.
//! - [`distributed`]: queries run on a Ballista cluster.
//! - [`write`]: CREATE TABLE AS, INSERT, DELETE, DROP, TRUNCATE, ALTER.
//! - [`vector_udf`]: `l2_distance`, `cosine_distance`, ... (SIMD).

pub mod collection_table;
pub mod compact;
pub mod decimal_arith;
pub mod distributed;
pub mod early_filter;
pub mod keyspace_table;
pub mod lake_store;
pub mod manifest_table;
pub mod vector_udf;
pub mod vset_table;
pub mod vsim_table;
pub mod write;

use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::catalog::MemTable;
use datafusion::common::ScalarValue;
use datafusion::execution::cache::cache_manager::{CacheManagerConfig, FileMetadataCache};
use datafusion::execution::cache::default_cache::DefaultCache;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::Engine;
use crate::storage::Storage;

/// SQL settings.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// Memory one query may use (bytes); sorts, joins and aggregations
    /// that can spill write to `spill_dir` beyond it, others fail.
    pub memory_limit: usize,
    /// Where spill files go (OS temp dir when `None`).
    pub spill_dir: Option<std::path::PathBuf>,
    /// Longest a query may run.
    pub timeout: Duration,
    /// Bytes of table data kept in memory across queries: a quarter (at
    /// most 64 MB) for Parquet footers and page indexes, the rest for byte
    /// ranges read from the store.
    pub cache_size: usize,
    /// The Ballista cluster that runs queries over lake tables
    /// (`sql-engine`); in this process when `None`.
    pub cluster: Option<distributed::Cluster>,
}

impl SqlConfig {
    fn metadata_cache_size(&self) -> usize {
        (self.cache_size / 4).min(64 << 20)
    }
}

/// One query to run.
pub struct QueryRequest {
    /// Where the tables are.
    pub storage: Arc<Storage>,
    /// The vector sets and keys (`vset()`, `vsim()`, `keyspace()`).
    pub engine: Arc<Engine>,
    /// The client's database.
    pub db: usize,
    /// Keys the client may read through `vset()`, `vsim()`, `keyspace()`.
    pub may_read: vset_table::KeyFilter,
    /// The SQL text.
    pub sql: String,
    /// Bound to `$1`, `$2`, ...
    pub params: Vec<ScalarValue>,
    /// Version to read (latest when `None`).
    pub version: Option<u64>,
    /// Whether the client may write tables (CREATE TABLE AS, INSERT, ...);
    /// the error reply line when not.
    pub may_write: Result<(), String>,
}

/// A query's result.
pub struct QueryResult {
    /// Columns.
    pub schema: SchemaRef,
    /// Rows.
    pub batches: Vec<RecordBatch>,
}

/// A query refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The error reply after `ERR `.
    #[error("{0}")]
    Err(String),
    /// A whole error reply with its own code (`READONLY ...`).
    #[error("{0}")]
    Line(String),
}

/// The SQL engine: a runtime for queries and what they share (the lake's
/// object store with its range cache, the footer cache, read counters).
pub struct SqlEngine {
    config: SqlConfig,
    runtime: Option<tokio::runtime::Runtime>,
    /// The lake for DataFusion, made on the first query.
    lake: OnceLock<Arc<lake_store::LakeStore>>,
    /// Parquet footers and page indexes of table files.
    footers: Arc<FileMetadataCache>,
    /// What queries read from the store.
    stats: Arc<lake_store::ScanStats>,
    /// Queries run on the cluster.
    remote_queries: std::sync::atomic::AtomicU64,
}

impl SqlEngine {
    /// Starts the query runtime (2 worker threads).
    pub fn new(config: SqlConfig) -> Result<SqlEngine, SqlError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sql")
            .enable_all()
            .build()
            .map_err(|e| SqlError::Err(e.to_string()))?;
        if let Some(d) = &config.spill_dir {
            std::fs::create_dir_all(d).map_err(|e| SqlError::Err(format!("spill dir: {e}")))?;
        }
        let footers: Arc<FileMetadataCache> =
            Arc::new(DefaultCache::new(config.metadata_cache_size()).with_name("vexlake-footers"));
        Ok(SqlEngine {
            config,
            runtime: Some(runtime),
            lake: OnceLock::new(),
            footers,
            stats: Arc::default(),
            remote_queries: Default::default(),
        })
    }

    /// What queries have read from the store so far.
    pub fn scan_stats(&self) -> &lake_store::ScanStats {
        &self.stats
    }

    /// Queries run on the Ballista cluster so far.
    pub fn remote_queries(&self) -> u64 {
        self.remote_queries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts `q` on the SQL runtime. Await the result from any runtime.
    pub async fn query(self: &Arc<Self>, q: QueryRequest) -> Result<QueryResult, SqlError> {
        let me = self.clone();
        let timeout = self.config.timeout;
        let runtime = self.runtime.as_ref().expect("runtime until drop");
        let handle = runtime.spawn(async move {
            tokio::time::timeout(timeout, me.run(q))
                .await
                .unwrap_or_else(|_| {
                    Err(SqlError::Err(format!(
                        "query timed out after {} ms (sql-timeout)",
                        timeout.as_millis()
                    )))
                })
        });
        handle
            .await
            .map_err(|e| SqlError::Err(format!("query failed: {e}")))?
    }

    async fn run(&self, q: QueryRequest) -> Result<QueryResult, SqlError> {
        let QueryRequest {
            storage,
            engine,
            db,
            may_read,
            sql,
            params,
            version,
            may_write,
        } = q;
        let gone = |v| {
            crate::storage::StorageError::Format(format!(
                "version {v} does not exist or is no longer retained"
            ))
        };
        let manifest = match version {
            None => storage.latest_shared().await,
            Some(v) => match storage.retained(v).await {
                Ok(Some(m)) => Ok(m),
                _ => Err(gone(v)),
            },
        }
        .map_err(|e| SqlError::Err(e.to_string()))?;
        // Memory a sort keeps back for merging its spill files: DataFusion's
        // 10 MB default would not fit a small --sql-memory-limit.
        let merge_reserve = (self.config.memory_limit / 16).min(10 << 20);
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(2)
            .with_sort_spill_reservation_bytes(merge_reserve);
        // Whether predicates are evaluated while decoding is decided per
        // scan (manifest_table::late_materialization_pays); when they are,
        // cheapest first.
        let parquet = &mut config.options_mut().execution.parquet;
        parquet.pushdown_filters = false;
        parquet.reorder_filters = true;
        if self.config.cluster.is_none() {
            // Joins whose build side is estimated under 1 Mi rows or 64 MB
            // build one hash table (CollectLeft) instead of repartitioning
            // both sides by hash: on two cores the repartition of the probe
            // side cost more than building on one core (TPC-H SF 1: 0.93x
            // the total with DataFusion's 128 Ki rows / 1 MB,
            // docs/benchmarks.md).
            let joins = &mut config.options_mut().optimizer;
            joins.hash_join_single_partition_threshold = 64 << 20;
            joins.hash_join_single_partition_threshold_rows = 1 << 20;
        } else {
            // Planned as Ballista runs plans: no dynamic filters or
            // physical scalar subqueries (they cannot cross its stages),
            // sort-merge joins (they spill), more partitions to spread.
            config = distributed::plan_config(config);
        }
        let ctx = self.session(&storage, config)?;
        for (name, entry) in &manifest.tables {
            let table = manifest_table::ManifestTable::new(name, entry);
            ctx.register_table(name.as_str(), Arc::new(table))
                .map_err(|e| SqlError::Err(e.to_string()))?;
        }
        let scope = vset_table::KeyScope {
            engine,
            db,
            may_read,
        };
        ctx.register_udtf("vset", Arc::new(vset_table::VsetFunction(scope.clone())));
        ctx.register_udtf("vsim", Arc::new(vsim_table::VsimFunction(scope.clone())));
        for c in [
            collection_table::Collection::Hash,
            collection_table::Collection::ZSet,
            collection_table::Collection::Stream,
        ] {
            let f = collection_table::CollectionFunction(scope.clone(), c);
            ctx.register_udtf(c.name(), Arc::new(f));
        }
        ctx.register_udtf(
            "keyspace",
            Arc::new(keyspace_table::KeyspaceFunction(scope)),
        );
        for f in vector_udf::functions() {
            ctx.register_udf(f);
        }
        // Parsed once: ALTER TABLE is ours (DataFusion does not plan it),
        // everything else is planned by DataFusion.
        let state = ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(&sql, &dialect).map_err(df_err)?;
        if let Some(alter) = write::alter_table(&ctx, &statement).await? {
            check_write(version, &may_write)?;
            match alter {
                write::Alter::AddColumn {
                    table,
                    field,
                    if_not_exists,
                } => write::add_column(&storage, &table, field, if_not_exists).await?,
                write::Alter::SortKey { table, columns } => {
                    write::set_sort_key(&storage, &table, columns).await?
                }
            }
            return Ok(count(0));
        }
        let plan = state.statement_to_plan(statement).await.map_err(df_err)?;
        let plan = if params.is_empty() {
            plan
        } else {
            plan.with_param_values(params).map_err(df_err)?
        };
        if write::is_write(&plan) {
            check_write(version, &may_write)?;
            let scratch = self.scratch();
            let w = write::WriteContext {
                ctx: &ctx,
                storage: &storage,
                manifest: &manifest,
                scratch: &scratch,
            };
            return Ok(count(write::run(&w, plan).await?));
        }
        // Anything else that is not a query (external tables, COPY, views,
        // SET) could reach outside the lake: refused.
        SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false)
            .verify_plan(&plan)
            .map_err(df_err)?;
        let df = ctx.execute_logical_plan(plan).await.map_err(df_err)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let Some(cluster) = &self.config.cluster else {
            let batches = df.collect().await.map_err(df_err)?;
            return Ok(QueryResult { schema, batches });
        };
        let physical = df.create_physical_plan().await.map_err(df_err)?;
        let batches = if distributed::scans_lake(&physical) {
            let batches = distributed::run(cluster, physical, state.config()).await?;
            self.remote_queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            batches
        } else {
            datafusion::physical_plan::collect(physical, ctx.task_ctx())
                .await
                .map_err(df_err)?
        };
        Ok(QueryResult { schema, batches })
    }

    /// A session with its own memory pool that reads the lake.
    pub(crate) fn session(
        &self,
        storage: &Storage,
        config: SessionConfig,
    ) -> Result<SessionContext, SqlError> {
        let env = self.query_env()?;
        self.register_lake(storage, &env);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(env)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(early_filter::KeepFiltersThatPay));
        if self.config.cluster.is_none() {
            // Ballista's executors would not know its functions.
            state = state.with_optimizer_rule(Arc::new(decimal_arith::FastDecimalArith));
        }
        Ok(SessionContext::new_with_state(state.build()))
    }

    /// Makes the lake readable as [`manifest_table::LAKE_URL`] in `env`.
    fn register_lake(&self, storage: &Storage, env: &RuntimeEnv) {
        let lake = self.lake.get_or_init(|| {
            Arc::new(lake_store::LakeStore::new(
                storage.store().operator(),
                self.config.cache_size - self.config.metadata_cache_size(),
                self.stats.clone(),
            ))
        });
        let url = ObjectStoreUrl::parse(manifest_table::LAKE_URL).expect("valid URL");
        env.register_object_store(url.as_ref(), lake.clone());
    }

    /// Where table writes put their files before upload.
    fn scratch(&self) -> std::path::PathBuf {
        self.config
            .spill_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir)
    }

    /// A runtime for one query: its own memory pool of `memory_limit`
    /// (spilling operators share it fairly) and the spill directory.
    fn query_env(&self) -> Result<Arc<RuntimeEnv>, SqlError> {
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(self.config.memory_limit),
            NonZeroUsize::new(3).expect("nonzero"),
        );
        let caches = CacheManagerConfig::default()
            .with_file_metadata_cache(Some(self.footers.clone()))
            .with_metadata_cache_limit(self.config.metadata_cache_size());
        let mut b = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(pool))
            .with_cache_manager(caches);
        if let Some(d) = &self.config.spill_dir {
            b = b.with_temp_file_path(d);
        }
        b.build_arc().map_err(|e| SqlError::Err(e.to_string()))
    }
}

/// Refuses a write at `VERSION n` or by a client that may not write.
fn check_write(version: Option<u64>, allowed: &Result<(), String>) -> Result<(), SqlError> {
    if version.is_some() {
        return Err(SqlError::Err(
            "VERSION reads an older version; table writes go to the latest".into(),
        ));
    }
    allowed.clone().map_err(SqlError::Line)
}

/// The reply of a write: one row, `count`.
fn count(n: u64) -> QueryResult {
    let schema = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "count",
        arrow_schema::DataType::UInt64,
        false,
    )]));
    let rows = Arc::new(arrow_array::UInt64Array::from(vec![n])) as arrow_array::ArrayRef;
    let batch = RecordBatch::try_new(schema.clone(), vec![rows]).expect("one u64 column");
    QueryResult {
        schema,
        batches: vec![batch],
    }
}

/// A table of one batch (what the table functions return).
pub(crate) fn one_batch_table(
    schema: SchemaRef,
    columns: Vec<arrow_array::ArrayRef>,
) -> datafusion::common::Result<Arc<dyn datafusion::catalog::TableProvider>> {
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
}

/// A DataFusion error as the client's `ERR` text.
pub(crate) fn df_err(e: impl std::fmt::Display) -> SqlError {
    SqlError::Err(clean(&e.to_string()))
}

/// DataFusion error texts without their internal prefixes and newlines.
fn clean(e: &str) -> String {
    let e = e
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("SQL error: ");
    e.replace(['\r', '\n'], " ")
}

impl Drop for SqlEngine {
    fn drop(&mut self) {
        // Dropping a runtime may happen inside another runtime's task.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
