//! The tables of a manifest as DataFusion sees them. Each is registered by
//! its schema alone and decoded from its Parquet files on its first scan,
//! then kept while its file list is unchanged, so a query decodes only the
//! tables it reads (an INGEST into one table does not make queries of
//! another decode anything). SHOW TABLES, DESCRIBE and information_schema
//! need only the schema.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{MemTable, Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use parking_lot::Mutex;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::storage::Storage;
use crate::storage::manifest::TableEntry;

/// Rows per decoded batch. The Parquet reader's default (1,024 rows) makes
/// every operator run 8x as many, smaller batches.
const BATCH_ROWS: usize = 8192;

/// A decoded table and the files it came from.
type Decoded = (Vec<String>, Arc<MemTable>);

/// Decoded tables by name, with the file list they were decoded from.
#[derive(Default)]
pub struct TableCache {
    tables: Mutex<HashMap<String, Decoded>>,
}

impl TableCache {
    /// The decoded table for `entry`: from the cache when its files are
    /// the same, else read and decoded now.
    pub async fn get(
        &self,
        storage: &Storage,
        name: &str,
        entry: &TableEntry,
    ) -> Result<Arc<MemTable>> {
        let files: Vec<String> = entry.files.iter().map(|f| f.path.clone()).collect();
        if let Some((f, t)) = self.tables.lock().get(name)
            && *f == files
        {
            return Ok(t.clone());
        }
        let schema = Arc::new(entry.arrow_schema.clone());
        let mut batches = Vec::new();
        for path in &files {
            let err =
                |e: &dyn std::fmt::Display| DataFusionError::Execution(format!("{path}: {e}"));
            let data = storage
                .store()
                .read(path)
                .await
                .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(data)
                .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
                .map_err(|e| err(&e))?;
            for b in reader {
                let b = b.map_err(|e| err(&e))?;
                batches.push(b.with_schema(schema.clone()).map_err(|e| err(&e))?);
            }
        }
        // Two partitions so both cores scan.
        let half = batches.len().div_ceil(2);
        let parts: Vec<Vec<RecordBatch>> = if batches.len() > 1 {
            let rest = batches.split_off(half);
            vec![batches, rest]
        } else {
            vec![batches]
        };
        let table = Arc::new(MemTable::try_new(schema, parts)?);
        self.tables
            .lock()
            .insert(name.to_string(), (files, table.clone()));
        Ok(table)
    }
}

/// One table of the manifest, decoded when a query scans it.
pub struct ManifestTable {
    /// Decoded tables.
    pub cache: Arc<TableCache>,
    /// Where its files are.
    pub storage: Arc<Storage>,
    /// Table name.
    pub name: String,
    /// Its manifest entry (schema and files).
    pub entry: TableEntry,
    /// Its schema.
    pub schema: SchemaRef,
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

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self
            .cache
            .get(&self.storage, &self.name, &self.entry)
            .await?;
        table.scan(state, projection, filters, limit).await
    }
}
