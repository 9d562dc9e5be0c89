//! INGEST: a CSV, JSON or Parquet file (sent by the client, under
//! `--import-dir`, or in the store's S3 bucket) becomes Parquet files of a
//! table, committed as one new version (all rows or none). The file is
//! streamed: decoded batch by batch into local Parquet parts, which are
//! uploaded in chunks, so memory stays bounded whatever its size; progress
//! is in INFO and in a log line every few seconds.
//!
//! Modes: `create` (the table must not exist), `append` (it must exist and
//! the data must fit its schema: same column names; a column whose type
//! differs is cast when every value converts, else refused), `overwrite`
//! (replace the rows, the schema may change), and the default: create
//! when missing, else append.
//!
//! # Layout
//! - [`source`]: where the bytes come from (DATA, import dir, S3).
//! - [`decode`]: source → units of work in file order → Arrow batches
//!   (inference or schema).
//! - [`csv_chunks`]: CSV cut where records end, so chunks decode apart.
//! - [`json_array`]: a JSON array streamed as JSON lines.
//! - `pipeline`: units decoded, fitted and encoded on every core, written
//!   in order.
//! - [`parts`]: encoded row groups → local Parquet files.

pub mod csv_chunks;
pub mod decode;
pub mod json_array;
pub mod parts;
mod pipeline;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::storage::tables::{columns, new_entry};
use crate::storage::{Storage, StorageError};
pub use decode::{DecodeOptions, Format, parse_schema};
pub use source::Source;

/// An ingest in progress.
#[derive(Debug, Default)]
pub struct LiveIngest {
    /// Its table.
    pub table: String,
    /// Rows decoded so far.
    pub rows: AtomicU64,
    /// Bytes read so far (CSV, JSON).
    pub read: Arc<AtomicU64>,
    /// Size of the file.
    pub total: u64,
}

/// What ingests are doing, for INFO.
#[derive(Debug, Default)]
pub struct IngestProgress {
    /// Ingests running.
    pub running: parking_lot::Mutex<Vec<Arc<LiveIngest>>>,
    /// Ingests committed since start.
    pub done: AtomicU64,
    /// Rows committed by ingests since start.
    pub rows_done: AtomicU64,
}

impl IngestProgress {
    /// Running ingests: (count, rows decoded, bytes read, bytes total).
    pub fn current(&self) -> (u64, u64, u64, u64) {
        let running = self.running.lock();
        running.iter().fold((0, 0, 0, 0), |(n, r, b, t), l| {
            (
                n + 1,
                r + l.rows.load(Ordering::Relaxed),
                b + l.read.load(Ordering::Relaxed),
                t + l.total,
            )
        })
    }
}

/// One INGEST.
pub struct IngestRequest {
    /// Table name (see [`table_name`]).
    pub table: String,
    /// Create/append/overwrite.
    pub mode: Mode,
    /// How to read the data.
    pub opts: DecodeOptions,
    /// The data.
    pub source: Source,
    /// Local directory for scratch files (created if missing).
    pub scratch: PathBuf,
}

/// Removes a scratch directory when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Lists an ingest as running until dropped.
struct Running<'a>(&'a IngestProgress, Arc<LiveIngest>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.lock().retain(|l| !Arc::ptr_eq(l, &self.1));
    }
}

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

impl Storage {
    /// Downloads `s3://bucket/key` (the store's own bucket only) into a
    /// scratch file, in chunks.
    pub async fn s3_source(&self, uri: &str, scratch: &Path) -> Result<Source, IngestError> {
        let key = source::s3_object(uri, self.store().bucket())?;
        let bucket = self.store().bucket().unwrap_or_default().to_string();
        let whole = crate::storage::Store::open(&format!("s3://{bucket}"), &self.config().s3)
            .map_err(StorageError::from)?;
        std::fs::create_dir_all(scratch).map_err(|e| IngestError(format!("scratch dir: {e}")))?;
        let path = scratch.join(format!("download-{:016x}", fastrand::u64(..)));
        let source = Source::File {
            path: path.clone(),
            temp: true,
        };
        whole.download(key, &path).await.map_err(|e| match e {
            crate::storage::StoreError::Backend(e) if e.kind() == opendal::ErrorKind::NotFound => {
                IngestError(format!("no such object: {uri}"))
            }
            e => IngestError(format!("cannot read {uri}: {e}")),
        })?;
        Ok(source)
    }

    /// Ingests `req` as one commit.
    pub async fn ingest(&self, req: IngestRequest) -> Result<Ingested, IngestError> {
        let start = Instant::now();
        let table = req.table.clone();
        let mode = req.mode;
        let table = table.as_str();
        let latest = self.latest().await?;
        let existing = latest.tables.get(table).map(|t| t.arrow_schema.clone());
        match (&existing, mode) {
            (Some(_), Mode::Create) => {
                return Err(IngestError(format!("table '{table}' already exists")));
            }
            (None, Mode::Append) => {
                return Err(IngestError(format!("table '{table}' does not exist")));
            }
            _ => {}
        }
        let append_to = match mode {
            Mode::Auto | Mode::Append => existing,
            _ => None,
        };
        let progress = &self.stats.ingest;
        let total = req.source.len();
        let live = Arc::new(LiveIngest {
            table: table.to_string(),
            total,
            ..Default::default()
        });
        progress.running.lock().push(live.clone());
        let running = Running(progress, live.clone());
        let dir = req
            .scratch
            .join(format!("ingest-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| IngestError(format!("scratch dir: {e}")))?;
        let scratch = Scratch(dir.clone());
        let name = table.to_string();
        let codec = self.config().table_codec;
        let (schema, parts) = tokio::task::spawn_blocking(move || {
            let spread = pipeline::Spread::all_cores();
            let r = pipeline::encode(&name, &req, append_to.as_ref(), &dir, &live, spread, codec);
            drop(req);
            r
        })
        .await
        .map_err(|e| IngestError(e.to_string()))??;
        let rows = running.1.rows.load(Ordering::Relaxed);
        let bytes = total;
        let files = self.upload_parts(table, &parts).await?;
        drop(scratch);
        let mut refused: Option<IngestError> = None;
        let table_schema = schema.as_ref().clone();
        let mut state = self.state.lock().await;
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
                            t.files.extend(files.iter().cloned());
                            t.rows += rows;
                            t.changed_in = version;
                        }
                    }
                    (Some(t), Mode::Overwrite) => {
                        t.columns = columns(&table_schema);
                        t.arrow_schema = table_schema.clone();
                        t.files = files.clone();
                        t.rows = rows;
                        t.changed_in = version;
                    }
                    (None, _) => {
                        let entry = new_entry(&table_schema, files.clone(), version);
                        next.tables.insert(table.to_string(), entry);
                    }
                }
                match &refused {
                    Some(e) => Err(StorageError::Format(e.0.clone())),
                    None => Ok(()),
                }
            })
            .await;
        drop(state);
        let version = match result {
            Ok(v) => v,
            Err(e) => {
                self.discard(&files).await;
                return Err(refused.unwrap_or_else(|| e.into()));
            }
        };
        progress.done.fetch_add(1, Ordering::Relaxed);
        progress.rows_done.fetch_add(rows, Ordering::Relaxed);
        drop(running);
        tracing::info!(
            table,
            rows,
            bytes,
            files = files.len(),
            version,
            ms = start.elapsed().as_millis() as u64,
            "ingested"
        );
        Ok(Ingested { rows, version })
    }
}
