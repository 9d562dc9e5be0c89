//! Writes the batches of an ingest into local Parquet files ("parts") in a
//! scratch directory, starting a new file every [`ROWS_PER_FILE`] rows or
//! [`BYTES_PER_FILE`] bytes, with row groups of [`ROW_GROUP`] rows. Memory
//! holds one row group at most; the parts are uploaded afterwards. Each
//! part's column statistics come from the footer its writer produced.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::storage::manifest::ColumnStats;
use crate::storage::table_stats;

/// Rows per Parquet file.
pub const ROWS_PER_FILE: u64 = 4 << 20;
/// Bytes per Parquet file (checked between batches).
pub const BYTES_PER_FILE: u64 = 512 << 20;
/// Rows per row group.
pub const ROW_GROUP: usize = 128 * 1024;

/// A finished local Parquet file.
#[derive(Debug)]
pub struct Part {
    /// Where it is.
    pub path: PathBuf,
    /// Rows in it.
    pub rows: u64,
    /// Its column statistics (from its footer).
    pub columns: BTreeMap<String, ColumnStats>,
}

/// Batches in, Parquet files out.
pub struct PartWriter {
    dir: PathBuf,
    schema: SchemaRef,
    current: Option<(ArrowWriter<File>, Part)>,
    done: Vec<Part>,
}

impl PartWriter {
    /// Writes files of `schema` into `dir` (which exists).
    pub fn new(dir: &Path, schema: SchemaRef) -> PartWriter {
        PartWriter {
            dir: dir.to_path_buf(),
            schema,
            current: None,
            done: Vec::new(),
        }
    }

    /// Appends a batch (of the writer's schema).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        if self.current.is_none() {
            let path = self
                .dir
                .join(format!("part-{:04}.parquet", self.done.len()));
            let file = File::create(&path).map_err(|e| format!("scratch file: {e}"))?;
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROW_GROUP))
                .build();
            let w = ArrowWriter::try_new(file, self.schema.clone(), Some(props))
                .map_err(|e| e.to_string())?;
            let part = Part {
                path,
                rows: 0,
                columns: BTreeMap::new(),
            };
            self.current = Some((w, part));
        }
        let (w, part) = self.current.as_mut().expect("opened above");
        w.write(batch).map_err(|e| e.to_string())?;
        part.rows += batch.num_rows() as u64;
        let bytes = (w.bytes_written() + w.in_progress_size()) as u64;
        if part.rows >= ROWS_PER_FILE || bytes >= BYTES_PER_FILE {
            self.close_current()?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<(), String> {
        if let Some((w, mut part)) = self.current.take() {
            let footer = w.close().map_err(|e| e.to_string())?;
            part.columns = table_stats::from_parquet(&footer, &self.schema);
            self.done.push(part);
        }
        Ok(())
    }

    /// Closes the last file; the parts in order.
    pub fn finish(mut self) -> Result<Vec<Part>, String> {
        self.close_current()?;
        Ok(std::mem::take(&mut self.done))
    }
}
