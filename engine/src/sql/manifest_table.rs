//! The tables of a manifest as DataFusion sees them: each is a Parquet
//! scan of its files, read straight from the lake through [`LakeStore`]
//! (registered under [`LAKE_URL`]).
//!
//! Planning reads nothing from the store: the file list, sizes, row counts
//! and per-column min/max/null counts come from the manifest, so files are
//! pruned by their ranges and the optimizer knows table sizes for join
//! order. At run time DataFusion's Parquet source prunes row groups by
//! their statistics and pages by the page index, evaluates pushed-down
//! predicates while decoding (late materialization, where it pays: see
//! [`late_materialization_pays`]; elsewhere [`EarlyFilterExec`] applies
//! them right after decoding) and reads only the projected columns;
//! footers are kept in the shared metadata cache and byte ranges in the
//! lake store's cache. A query holds a few batches per
//! partition in memory, not the table.
//!
//! [`LakeStore`]: super::lake_store::LakeStore

use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, Statistics, project_schema};
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use super::early_filter::EarlyFilterExec;
use crate::storage::manifest::TableEntry;
use crate::storage::table_stats;

/// Where table files are, for DataFusion.
pub const LAKE_URL: &str = "vexlake://lake/";

/// One table of the manifest.
pub struct ManifestTable {
    /// Table name.
    pub name: String,
    /// Its manifest entry (schema and files).
    pub entry: TableEntry,
    /// Its schema.
    pub schema: SchemaRef,
}

impl ManifestTable {
    /// The table `name` of a manifest.
    pub fn new(name: &str, entry: &TableEntry) -> ManifestTable {
        ManifestTable {
            name: name.to_string(),
            schema: Arc::new(entry.arrow_schema.clone()),
            entry: entry.clone(),
        }
    }

    /// Its files with their statistics.
    fn files(&self) -> Vec<PartitionedFile> {
        self.entry
            .files
            .iter()
            .map(|f| {
                let stats = table_stats::to_datafusion(f, &self.schema);
                PartitionedFile::new(f.path.clone(), f.size).with_statistics(Arc::new(stats))
            })
            .collect()
    }

    fn merged(&self, files: &[PartitionedFile]) -> Result<Statistics> {
        Statistics::try_merge_iter(
            files.iter().filter_map(|f| f.statistics.as_deref()),
            &self.schema,
        )
    }
}

/// `files` in `n` groups of about equal bytes (largest first, each to the
/// lightest group), so every core has a share of the scan. DataFusion
/// splits big files further by byte range.
fn balanced(mut files: Vec<PartitionedFile>, n: usize) -> Vec<FileGroup> {
    files.sort_by_key(|f| std::cmp::Reverse(f.object_meta.size));
    let mut groups: Vec<(u64, Vec<PartitionedFile>)> = vec![(0, Vec::new()); n.max(1)];
    for f in files {
        let g = groups
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("at least one group");
        g.0 += f.object_meta.size;
        g.1.push(f);
    }
    groups
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(_, files)| FileGroup::new(files))
        .collect()
}

impl std::fmt::Debug for ManifestTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "table {} ({} files)", self.name, self.entry.files.len())
    }
}

#[async_trait]
impl TableProvider for ManifestTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn statistics(&self) -> Option<Statistics> {
        self.merged(&self.files()).ok()
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Used to prune and to filter while decoding; DataFusion still
        // checks every row that comes out.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let files = self.files();
        if files.is_empty() {
            let schema = project_schema(&self.schema, projection)?;
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let statistics = self.merged(&files)?;
        let groups = balanced(files, state.config().target_partitions());
        let source = Arc::new(ParquetSource::new(self.schema.clone()));
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::parse(LAKE_URL)?, source)
            .with_file_groups(groups)
            .with_statistics(statistics)
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        let mut options = state.table_options().parquet.clone();
        let late = late_materialization_pays(&self.schema, projection, filters);
        options.global.pushdown_filters = late;
        let scan = ParquetFormat::default()
            .with_options(options)
            .create_physical_plan(state, config)
            .await?;
        // Join and TopK filters of a scan that does not evaluate them while
        // decoding are applied right after it, while they pay.
        let dynamic = &state.config_options().optimizer;
        if late
            || !dynamic.enable_dynamic_filter_pushdown
            || !(dynamic.enable_join_dynamic_filter_pushdown
                || dynamic.enable_topk_dynamic_filter_pushdown)
        {
            return Ok(scan);
        }
        Ok(Arc::new(EarlyFilterExec::new(scan)))
    }
}

/// Whether evaluating `filters` while decoding (and decoding the other
/// projected columns only for the rows that pass) is worth it for a scan.
///
/// The decoder then reads each predicate column twice, once to filter and
/// once for the output, which costs DataFusion 55 about 2x on scans of
/// fixed-width columns (TPC-H Q6). It pays when the scan outputs a
/// variable-width column (text, binary) that no filter needs: those bytes
/// are decoded only for the rows that pass. Scans without filters of
/// their own stay off too: a join's dynamic filter pushed into them won
/// on TPC-H Q17 but lost 2x on Q9 (docs/benchmarks.md); such filters are
/// applied after decoding instead, where they pay ([`EarlyFilterExec`]).
fn late_materialization_pays(
    schema: &SchemaRef,
    projection: Option<&Vec<usize>>,
    filters: &[Expr],
) -> bool {
    if filters.is_empty() {
        return false;
    }
    let mut used = std::collections::HashSet::new();
    for filter in filters {
        for column in filter.column_refs() {
            used.insert(column.name.clone());
        }
    }
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    projection.unwrap_or(&all).iter().any(|&i| {
        let field = schema.field(i);
        use arrow_schema::DataType::*;
        !used.contains(field.name())
            && matches!(
                field.data_type(),
                Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};
    use datafusion::prelude::{col, lit};

    #[test]
    fn late_materialization_only_for_unfiltered_text_outputs() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("price", DataType::Float64, false),
            Field::new("body", DataType::Utf8, true),
        ]));
        let by_id = [col("id").gt(lit(5i64))];
        let by_body = [col("body").eq(lit("x"))];
        // Text output that no filter needs: decoded only for passing rows.
        assert!(late_materialization_pays(&schema, None, &by_id));
        assert!(late_materialization_pays(
            &schema,
            Some(&vec![0, 2]),
            &by_id
        ));
        // Fixed-width outputs only, or the text is the filter's own column.
        assert!(!late_materialization_pays(
            &schema,
            Some(&vec![0, 1]),
            &by_id
        ));
        assert!(!late_materialization_pays(
            &schema,
            Some(&vec![1, 2]),
            &by_body
        ));
        // No filter of its own.
        assert!(!late_materialization_pays(&schema, None, &[]));
    }
}
