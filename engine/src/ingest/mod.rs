//! INGEST: a CSV, JSON or Parquet file sent by the client becomes Parquet
//! files of a table, committed as one new version (all rows or none).
//!
//! Modes: `create` (the table must not exist), `append` (it must exist and
//! the data must fit its schema: same column names; a column whose type
//! differs is cast when every value converts, else refused), `overwrite`
//! (replace the rows, the schema may change), and the default: create
//! when missing, else append.
//!
//! # Layout
//! - [`decode`]: bytes → Arrow batches (inference or explicit schema).

pub mod decode;

use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use bytes::Bytes;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::storage::manifest::{ColumnDef, FileRef, TableEntry};
use crate::storage::{Storage, StorageError, new_file_name, unix_ms};
pub use decode::{DecodeOptions, Format, parse_schema};

/// What to do with an existing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Create when missing, else append.
    #[default]
    Auto,
    /// The table must not exist.
    Create,
    /// The table must exist.
    Append,
    /// Replace the table's rows.
    Overwrite,
}

/// Result of an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// Rows added.
    pub rows: u64,
    /// The committed version.
    pub version: u64,
}

/// An ingest refused; the text is the error reply (after `ERR `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IngestError(pub String);

impl From<StorageError> for IngestError {
    fn from(e: StorageError) -> Self {
        IngestError(format!("storage error: {e}"))
    }
}

/// Table names: a letter or `_`, then letters, digits, `_` (at most 128);
/// kept in lower case, as SQL folds unquoted names.
pub fn table_name(name: &[u8]) -> Result<String, IngestError> {
    let s = std::str::from_utf8(name).unwrap_or("");
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(IngestError(
            "invalid table name (letters, digits and _, starting with a letter or _)".into(),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

fn columns(schema: &Schema) -> Vec<ColumnDef> {
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

/// Makes `batches` fit `table` (the existing schema): same names, cast
/// where needed, in the table's column order.
fn conform(
    name: &str,
    table: &Schema,
    data: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<Vec<RecordBatch>, IngestError> {
    for f in data.fields() {
        if table.field_with_name(f.name()).is_err() {
            return Err(IngestError(format!(
                "schema mismatch: column '{}' is not in table '{name}'",
                f.name()
            )));
        }
    }
    let mut idx = Vec::new();
    for f in table.fields() {
        match data.index_of(f.name()) {
            Ok(i) => idx.push(i),
            Err(_) => {
                return Err(IngestError(format!(
                    "schema mismatch: column '{}' of table '{name}' is missing",
                    f.name()
                )));
            }
        }
    }
    let target = Arc::new(Schema::new(
        table
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    batches
        .into_iter()
        .map(|b| {
            let cols = table
                .fields()
                .iter()
                .zip(&idx)
                .map(|(f, &i)| {
                    let col = b.column(i);
                    if col.data_type() == f.data_type() {
                        return Ok(col.clone());
                    }
                    cast_with_options(col, f.data_type(), &strict).map_err(|_| {
                        IngestError(format!(
                            "schema mismatch: column '{}' is {} in table '{name}' but the data has {} values that do not convert",
                            f.name(),
                            f.data_type(),
                            col.data_type()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            RecordBatch::try_new(target.clone(), cols)
                .map_err(|e| IngestError(format!("schema mismatch: {e}")))
        })
        .collect()
}

fn parquet_bytes(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, String> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema.clone(), Some(props)).map_err(|e| e.to_string())?;
    for b in batches {
        w.write(b).map_err(|e| e.to_string())?;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

impl Storage {
    /// Ingests `data` into `table` as one commit.
    pub async fn ingest(
        &self,
        table: &str,
        mode: Mode,
        opts: DecodeOptions,
        data: Bytes,
    ) -> Result<Ingested, IngestError> {
        let start = Instant::now();
        let bytes = data.len();
        let decoded = tokio::task::spawn_blocking(move || decode::decode(data, &opts))
            .await
            .map_err(|e| IngestError(e.to_string()))?;
        let (schema, batches) = decoded.map_err(IngestError)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        if rows == 0 {
            return Err(IngestError("the file has no rows".into()));
        }
        let mut state = self.state.lock().await;
        let latest = self.latest().await?;
        let existing = latest.tables.get(table).cloned();
        let (schema, batches) = match (&existing, mode) {
            (Some(_), Mode::Create) => {
                return Err(IngestError(format!("table '{table}' already exists")));
            }
            (None, Mode::Append) => {
                return Err(IngestError(format!("table '{table}' does not exist")));
            }
            (Some(t), Mode::Auto | Mode::Append) => {
                let conformed = conform(table, &t.arrow_schema, &schema, batches)?;
                (
                    conformed
                        .first()
                        .map(|b| b.schema())
                        .unwrap_or_else(|| Arc::new(t.arrow_schema.clone())),
                    conformed,
                )
            }
            _ => (schema, batches),
        };
        let file_schema = schema.clone();
        let encoded = tokio::task::spawn_blocking(move || parquet_bytes(&file_schema, &batches))
            .await
            .map_err(|e| IngestError(e.to_string()))?
            .map_err(IngestError)?;
        let file = FileRef {
            path: format!("tables/{table}/data/{}.parquet", new_file_name(unix_ms())),
            size: encoded.len() as u64,
            rows,
        };
        self.store()
            .write(&file.path, Bytes::from(encoded))
            .await
            .map_err(StorageError::from)?;
        let mut refused: Option<IngestError> = None;
        let table_schema = schema.as_ref().clone();
        let result = self
            .commit_with(&mut state, "ingest", |next| {
                let version = next.version;
                let current = next.tables.get_mut(table);
                match (current, mode) {
                    (Some(_), Mode::Create) => {
                        refused = Some(IngestError(format!("table '{table}' already exists")));
                    }
                    (None, Mode::Append) => {
                        refused = Some(IngestError(format!("table '{table}' does not exist")));
                    }
                    (Some(t), Mode::Auto | Mode::Append) => {
                        if t.arrow_schema.fields().len() != table_schema.fields().len()
                            || t.arrow_schema
                                .fields()
                                .iter()
                                .zip(table_schema.fields())
                                .any(|(a, b)| {
                                    a.name() != b.name() || a.data_type() != b.data_type()
                                })
                        {
                            refused = Some(IngestError(format!(
                                "schema mismatch: table '{table}' changed while ingesting; retry"
                            )));
                        } else {
                            t.files.push(file.clone());
                            t.rows += rows;
                            t.changed_in = version;
                        }
                    }
                    (Some(t), Mode::Overwrite) => {
                        t.columns = columns(&table_schema);
                        t.arrow_schema = table_schema.clone();
                        t.files = vec![file.clone()];
                        t.rows = rows;
                        t.changed_in = version;
                    }
                    (None, _) => {
                        next.tables.insert(
                            table.to_string(),
                            TableEntry {
                                columns: columns(&table_schema),
                                arrow_schema: table_schema.clone(),
                                files: vec![file.clone()],
                                rows,
                                created_in: version,
                                changed_in: version,
                            },
                        );
                    }
                }
                match &refused {
                    Some(e) => Err(StorageError::Format(e.0.clone())),
                    None => Ok(()),
                }
            })
            .await;
        let version = match result {
            Ok(v) => v,
            Err(e) => {
                // The file is an orphan now; GC removes it.
                return Err(refused.unwrap_or_else(|| e.into()));
            }
        };
        tracing::info!(
            table,
            rows,
            bytes,
            version,
            ms = start.elapsed().as_millis() as u64,
            "ingested"
        );
        Ok(Ingested { rows, version })
    }
}
