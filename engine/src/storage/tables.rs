//! Changes to tables as commits: local Parquet parts are uploaded as
//! table files, then one manifest commit changes the table map. Used by
//! INGEST and by SQL's table writes (CREATE TABLE AS, INSERT, DELETE,
//! DROP, TRUNCATE, ALTER TABLE ADD COLUMN).
//!
//! The change is re-applied to the newest manifest if another commit got
//! in first (it must check its own preconditions each time). Files of a
//! change that does not commit are deleted; a crash between upload and
//! commit leaves files no manifest names, which GC removes.

use std::collections::BTreeMap;

use arrow_schema::Schema;

use super::manifest::{ColumnDef, TableEntry, TableFile};
use super::{Storage, StorageError, layout, unix_ms};
use crate::ingest::parts::Part;

/// The column list of a table, for people.
pub fn columns(schema: &Schema) -> Vec<ColumnDef> {
    schema
        .fields()
        .iter()
        .map(|f| ColumnDef {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// A new table entry of `schema` and `files`, created in `version`.
pub fn new_entry(schema: &Schema, files: Vec<TableFile>, version: u64) -> TableEntry {
    TableEntry {
        columns: columns(schema),
        arrow_schema: schema.clone(),
        rows: files.iter().map(|f| f.rows).sum(),
        files,
        created_in: version,
        changed_in: version,
        sort_key: Vec::new(),
    }
}

impl Storage {
    /// Uploads local `parts` as files of `table`; on a failure the ones
    /// already uploaded are deleted.
    pub async fn upload_parts(
        &self,
        table: &str,
        parts: &[Part],
    ) -> Result<Vec<TableFile>, StorageError> {
        let mut files: Vec<TableFile> = Vec::new();
        for part in parts {
            let path = layout::table_file(table, unix_ms());
            match self.store().upload(&path, &part.path).await {
                Ok(size) => files.push(TableFile {
                    path,
                    size,
                    rows: part.rows,
                    columns: part.columns.clone(),
                }),
                Err(e) => {
                    self.discard(&files).await;
                    return Err(e.into());
                }
            }
        }
        Ok(files)
    }

    /// Deletes files that no commit took.
    pub async fn discard(&self, files: &[TableFile]) {
        for f in files {
            let _ = self.store().delete(&f.path).await;
        }
    }

    /// Commits `change` to the tables of the newest manifest as one
    /// version (`operation` names it). `change` gets the tables and the
    /// new version number; its error refuses the commit and is returned.
    pub async fn commit_tables(
        &self,
        operation: &str,
        mut change: impl FnMut(&mut BTreeMap<String, TableEntry>, u64) -> Result<(), String>,
    ) -> Result<u64, StorageError> {
        let mut state = self.state.lock().await;
        self.commit_with(&mut state, operation, |next| {
            let version = next.version;
            change(&mut next.tables, version).map_err(StorageError::Format)
        })
        .await
    }
}
