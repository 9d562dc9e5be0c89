//! SQL on a Ballista cluster (`sql-engine ballista://host:port`).
//!
//! The server still parses and plans every query against the manifest
//! version it reads, exactly as for a local run, so a query sees the same
//! tables, files and statistics wherever it runs. When the physical plan
//! scans lake tables, it is sent whole to the Ballista scheduler
//! ([`execute_physical_plan`]): the scheduler cuts it into stages at its
//! repartitions, the executors run the stages and read the table files
//! straight from the lake, and the result batches stream back to the
//! server, which replies over RESP as for a local query.
//!
//! ```text
//! SQL ─► plan (server) ─► scans the lake? ─ no ──► run in the server
//!                               │ yes
//!                               ▼
//!          serialized plan ─► scheduler ─► stages ─► executors ─► lake
//!                               ◄──────────── result batches ◄──┘
//! ```
//!
//! The plan's scans name the lake as [`LAKE_URL`]; an executor knows it as
//! the same URL over its own OpenDAL operator ([`lake_runtime`]), opened
//! read-only on the lake the server uses; the scheduler too, since
//! decoding a scan binds its file reader to the store. Scheduler and executors know
//! the vector functions ([`cluster_state`]), so plans that call
//! `l2_distance` and friends decode there. Queries that read only live
//! keys (`vset()`, `vsim()`, `keyspace()`) or nothing at all, table writes
//! and EXPLAIN run in the server.
//!
//! [`LAKE_URL`]: super::manifest_table::LAKE_URL

use std::sync::Arc;

use arrow_array::RecordBatch;
use ballista_core::execution_plans::execute_physical_plan;
use ballista_core::extension::SessionConfigExt;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::SessionState;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::{FunctionRegistry, SessionStateBuilder};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::TryStreamExt;

use super::lake_store::LakeStore;
use super::manifest_table::LAKE_URL;
use super::{SqlError, df_err, vector_udf};

/// Where `sql-engine` sends queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The scheduler's gRPC address, `http://host:port`.
    pub scheduler: String,
    /// The Ballista session of this server's queries: one for the
    /// process, so executors keep its runtime (and footer cache) between
    /// queries.
    pub session_id: String,
}

impl Cluster {
    /// `ballista://host:port` (or `df://host:port`, Ballista's own name).
    pub fn parse(url: &str) -> Result<Cluster, String> {
        let rest = url
            .strip_prefix("ballista://")
            .or_else(|| url.strip_prefix("df://"))
            .ok_or_else(|| format!("'{url}' is not ballista://host:port"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("'{url}' has no port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!("'{url}' is not ballista://host:port"));
        }
        Ok(Cluster {
            scheduler: format!("http://{host}:{port}"),
            session_id: format!("vexlake-{}-{:x}", std::process::id(), fastrand::u64(..)),
        })
    }
}

/// Partitions of a plan for the cluster: stages of this many tasks.
pub const PARTITIONS: usize = 8;

/// `config` with Ballista's settings for plans it runs (see
/// `SessionConfigExt::upgrade_for_ballista`) and [`PARTITIONS`].
pub fn plan_config(config: SessionConfig) -> SessionConfig {
    config
        .upgrade_for_ballista()
        .with_target_partitions(PARTITIONS)
}

/// Whether `plan` scans a table of the lake (then it is worth sending).
pub fn scans_lake(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let lake = ObjectStoreUrl::parse(LAKE_URL).expect("valid URL");
    let here = plan
        .downcast_ref::<DataSourceExec>()
        .and_then(|d| d.data_source().downcast_ref::<FileScanConfig>())
        .is_some_and(|scan| scan.object_store_url == lake);
    here || plan.children().into_iter().any(scans_lake)
}

/// Runs `plan` on the cluster and collects its result. `config` is the
/// session's it was planned in, already [`plan_config`].
pub async fn run(
    cluster: &Cluster,
    plan: Arc<dyn ExecutionPlan>,
    config: &SessionConfig,
) -> Result<Vec<RecordBatch>, SqlError> {
    let ballista = config.ballista_config();
    let stream = execute_physical_plan::<PhysicalPlanNode>(
        cluster.scheduler.clone(),
        &ballista,
        plan,
        &BallistaPhysicalExtensionCodec::default(),
        cluster.session_id.clone(),
        config.clone(),
    )
    .await
    .map_err(|e| SqlError::Err(format!("ballista: {}", df_err(e))))?;
    stream
        .try_collect()
        .await
        .map_err(|e| SqlError::Err(format!("ballista: {}", df_err(e))))
}

/// The session scheduler and executors decode plans with: DataFusion's
/// functions, the vector functions, and `runtime` (which knows the lake).
pub fn cluster_state(config: SessionConfig, runtime: Arc<RuntimeEnv>) -> SessionState {
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    for f in vector_udf::functions() {
        // Replaces nothing: the names are ours.
        let _ = state.register_udf(Arc::new(f));
    }
    state
}

/// A scheduler's or executor's runtime: `lake` (see [`LakeStore`]) at
/// [`LAKE_URL`], spill files in `work_dir`.
pub fn lake_runtime(
    lake: &Arc<LakeStore>,
    work_dir: &std::path::Path,
) -> datafusion::common::Result<Arc<RuntimeEnv>> {
    let env = RuntimeEnvBuilder::new()
        .with_temp_file_path(work_dir)
        .build_arc()?;
    let url = ObjectStoreUrl::parse(LAKE_URL)?;
    env.register_object_store(url.as_ref(), lake.clone());
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls() {
        assert_eq!(
            Cluster::parse("ballista://127.0.0.1:50050")
                .unwrap()
                .scheduler,
            "http://127.0.0.1:50050"
        );
        assert_eq!(
            Cluster::parse("df://sched:1").unwrap().scheduler,
            "http://sched:1"
        );
        for bad in [
            "127.0.0.1:50050",
            "ballista://host",
            "ballista://:1",
            "ballista://h:x",
        ] {
            assert!(Cluster::parse(bad).is_err(), "{bad}");
        }
    }
}
