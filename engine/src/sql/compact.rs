//! Compaction of table files: small files of a table (each INGEST, INSERT
//! or DELETE rewrite adds files) are merged into files of about the
//! target size (`table-target-file-size`), in the background, as a normal
//! commit (operation `compact-table`).
//!
//! A table is compacted when it has at least [`MIN_SMALL_FILES`] files
//! smaller than half the target. Small files are taken in their order in
//! the manifest and grouped until a group reaches the target; each group
//! of two or more files becomes new files (rows sorted by the table's sort
//! key when it has one, so range predicates prune). Readers keep reading
//! the versions they planned with; INGEST and SQL writes go on: the commit
//! re-applies to the newest version as long as the merged files are still
//! there (a DELETE that rewrote one of them wins; the group is retried on
//! the next round). Rows are read through the same scan as queries, so
//! memory stays bounded.

use std::sync::Arc;

use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::SessionConfig;

use super::manifest_table::ManifestTable;
use super::write::{WriteContext, replace_files, sorted, write_files};
use super::{SqlEngine, SqlError};
use crate::storage::Storage;
use crate::storage::manifest::{TableEntry, TableFile};

/// Small files a table needs before it is compacted.
pub const MIN_SMALL_FILES: usize = 4;

/// Groups of small files of `entry` to merge, for files of `target` bytes.
pub fn plan(entry: &TableEntry, target: u64) -> Vec<Vec<TableFile>> {
    let small: Vec<&TableFile> = entry.files.iter().filter(|f| f.size < target / 2).collect();
    if small.len() < MIN_SMALL_FILES {
        return Vec::new();
    }
    let mut groups = Vec::new();
    let mut group: Vec<TableFile> = Vec::new();
    let mut bytes = 0;
    for f in small {
        group.push(f.clone());
        bytes += f.size;
        if bytes >= target {
            groups.push(std::mem::take(&mut group));
            bytes = 0;
        }
    }
    if group.len() >= 2 {
        groups.push(group);
    }
    groups
}

impl SqlEngine {
    /// One round of table compaction on the latest version; the number of
    /// files merged away. Runs on the SQL runtime.
    pub async fn compact_tables(
        self: &Arc<Self>,
        storage: Arc<Storage>,
        target: u64,
    ) -> Result<usize, SqlError> {
        let me = self.clone();
        let runtime = self.runtime.as_ref().expect("runtime until drop");
        runtime
            .spawn(async move { me.compact_round(&storage, target).await })
            .await
            .map_err(|e| SqlError::Err(format!("compaction failed: {e}")))?
    }

    async fn compact_round(&self, storage: &Arc<Storage>, target: u64) -> Result<usize, SqlError> {
        let manifest = storage
            .latest_shared()
            .await
            .map_err(|e| SqlError::Err(e.to_string()))?;
        let mut merged = 0;
        for (name, entry) in &manifest.tables {
            for group in plan(entry, target) {
                let started = std::time::Instant::now();
                let ctx = self.session(storage, SessionConfig::new())?;
                let one = TableEntry {
                    rows: group.iter().map(|f| f.rows).sum(),
                    files: group.clone(),
                    ..entry.clone()
                };
                let source = provider_as_source(Arc::new(ManifestTable::new(name, &one)));
                let scan = LogicalPlanBuilder::scan(name.as_str(), source, None)
                    .and_then(|b| b.build())
                    .map_err(super::df_err)?;
                let plan = sorted(scan, &entry.sort_key)?;
                let w = WriteContext {
                    ctx: &ctx,
                    storage,
                    manifest: &manifest,
                    scratch: &self.scratch(),
                };
                let schema = Arc::new(entry.arrow_schema.clone());
                let (files, _) = write_files(&w, name, plan, &schema).await?;
                let new_files = files.len();
                match replace_files(&w, "compact-table", name, entry, &group, files).await {
                    Ok(()) => {
                        merged += group.len();
                        tracing::info!(
                            table = name.as_str(),
                            merged = group.len(),
                            into = new_files,
                            ms = started.elapsed().as_millis() as u64,
                            "compacted table files"
                        );
                    }
                    // The table changed under us: the next round retries.
                    Err(e) => {
                        tracing::info!(table = name.as_str(), error = %e, "table compaction skipped")
                    }
                }
            }
        }
        Ok(merged)
    }
}
