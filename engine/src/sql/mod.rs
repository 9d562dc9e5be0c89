//! SQL over the committed tables and the live vector sets, run by
//! DataFusion on its own runtime (never on the RESP I/O threads).
//!
//! A query reads one manifest version (the latest, or `VERSION n` for time
//! travel): every ingested table of it is registered as an in-memory table
//! (decoded once per set of files and kept warm), and `vset('key')` is a
//! table function over a vector set (element, vector, attributes). Only
//! queries run: DDL, DML and statements are refused, so SQL cannot read
//! files or buckets outside the catalog. Each query has a memory limit and
//! a timeout.
//!
//! # Layout
//! - [`vset_table`]: the `vset('key')` table function.
//! - [`vsim_table`]: the `vsim('key', vector, k [, filter])` search.
//! - [`keyspace_table`]: the `keyspace()` table function.
//! - [`vector_udf`]: `l2_distance`, `cosine_distance`, ... (SIMD).

pub mod keyspace_table;
pub mod manifest_table;
pub mod vector_udf;
pub mod vset_table;
pub mod vsim_table;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::catalog::MemTable;
use datafusion::common::ScalarValue;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
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
}

/// A query's result.
pub struct QueryResult {
    /// Columns.
    pub schema: SchemaRef,
    /// Rows.
    pub batches: Vec<RecordBatch>,
}

/// A query refused or failed; the text is the error reply after `ERR `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SqlError(pub String);

/// The SQL engine: a runtime for queries and the cache of decoded tables.
pub struct SqlEngine {
    config: SqlConfig,
    runtime: Option<tokio::runtime::Runtime>,
    /// Table name -> its files and the decoded table.
    cache: Arc<manifest_table::TableCache>,
}

impl SqlEngine {
    /// Starts the query runtime (2 worker threads).
    pub fn new(config: SqlConfig) -> Result<SqlEngine, SqlError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sql")
            .enable_all()
            .build()
            .map_err(|e| SqlError(e.to_string()))?;
        if let Some(d) = &config.spill_dir {
            std::fs::create_dir_all(d).map_err(|e| SqlError(format!("spill dir: {e}")))?;
        }
        Ok(SqlEngine {
            config,
            runtime: Some(runtime),
            cache: Arc::default(),
        })
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
                    Err(SqlError(format!(
                        "query timed out after {} ms (sql-timeout)",
                        timeout.as_millis()
                    )))
                })
        });
        handle
            .await
            .map_err(|e| SqlError(format!("query failed: {e}")))?
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
        .map_err(|e| SqlError(e.to_string()))?;
        // Memory a sort keeps back for merging its spill files: DataFusion's
        // 10 MB default would not fit a small --sql-memory-limit.
        let merge_reserve = (self.config.memory_limit / 16).min(10 << 20);
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(2)
            .with_sort_spill_reservation_bytes(merge_reserve);
        let ctx = SessionContext::new_with_config_rt(config, self.query_env()?);
        for (name, entry) in &manifest.tables {
            let table = manifest_table::ManifestTable {
                cache: self.cache.clone(),
                storage: storage.clone(),
                name: name.clone(),
                entry: entry.clone(),
                schema: Arc::new(entry.arrow_schema.clone()),
            };
            ctx.register_table(name.as_str(), Arc::new(table))
                .map_err(|e| SqlError(e.to_string()))?;
        }
        let scope = vset_table::KeyScope {
            engine,
            db,
            may_read,
        };
        ctx.register_udtf("vset", Arc::new(vset_table::VsetFunction(scope.clone())));
        ctx.register_udtf("vsim", Arc::new(vsim_table::VsimFunction(scope.clone())));
        ctx.register_udtf(
            "keyspace",
            Arc::new(keyspace_table::KeyspaceFunction(scope)),
        );
        for f in vector_udf::functions() {
            ctx.register_udf(f);
        }
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(&sql, options)
            .await
            .map_err(|e| SqlError(clean(&e.to_string())))?;
        let df = if params.is_empty() {
            df
        } else {
            df.with_param_values(params)
                .map_err(|e| SqlError(clean(&e.to_string())))?
        };
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df
            .collect()
            .await
            .map_err(|e| SqlError(clean(&e.to_string())))?;
        Ok(QueryResult { schema, batches })
    }

    /// A runtime for one query: its own memory pool of `memory_limit`
    /// (spilling operators share it fairly) and the spill directory.
    fn query_env(&self) -> Result<Arc<RuntimeEnv>, SqlError> {
        let pool = TrackConsumersPool::new(
            FairSpillPool::new(self.config.memory_limit),
            NonZeroUsize::new(3).expect("nonzero"),
        );
        let mut b = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(pool));
        if let Some(d) = &self.config.spill_dir {
            b = b.with_temp_file_path(d);
        }
        b.build_arc().map_err(|e| SqlError(e.to_string()))
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
