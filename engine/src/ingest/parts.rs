//! Writes table rows into local Parquet files ("parts") in a scratch
//! directory, starting a new file every [`ROWS_PER_FILE`] rows or
//! [`BYTES_PER_FILE`] bytes, with row groups of at most [`ROW_GROUP`] rows.
//! The parts are uploaded afterwards; each part's column statistics come
//! from the footer its writer produced.
//!
//! Pages are compressed with the lake's [`Codec`] (`table-compression`).
//!
//! Encoding a row group (the costly part: dictionaries, pages, compression) is
//! separate from writing it: a [`GroupEncoder`] turns batches into encoded
//! column chunks on any thread, and [`PartWriter::append`] puts finished
//! groups into the file in order. INGEST encodes on every core that way;
//! SQL writes use [`PartWriter::write`], which encodes on the caller's
//! thread. Memory holds the row groups being encoded, not the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::storage::manifest::ColumnStats;
use crate::storage::table_stats;

/// Rows per Parquet file.
pub const ROWS_PER_FILE: u64 = 4 << 20;
/// Bytes per Parquet file (checked between row groups).
pub const BYTES_PER_FILE: u64 = 512 << 20;
/// Rows per row group.
pub const ROW_GROUP: usize = 128 * 1024;
/// Largest dictionary of a column chunk; beyond it the rest of the chunk
/// is written plain. Parquet's default (1 MB) holds a whole row group of
/// unique 8-byte values (keys, prices), whose reading then becomes a
/// gather through a 1 MB table instead of a copy; at 64 KB, only columns
/// of at most 8 Ki distinct 8-byte values per row group (flags, dates,
/// quantities, categories) keep a dictionary. TPC-H SF 1 took 0.91-0.93x
/// the time for 3 % more bytes (docs/benchmarks.md).
const DICTIONARY_LIMIT: usize = 64 * 1024;

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

/// How the pages of table files are compressed (`table-compression`).
/// Readers need nothing to know: each column chunk names its codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Parquet's encodings only (dictionary, run length, bit packing):
    /// nothing to decompress when reading.
    None,
    /// LZ4 (Parquet's `LZ4_RAW`): about Snappy's size, decompressed
    /// faster.
    Lz4,
    /// Snappy.
    Snappy,
    /// Zstandard at its default level: smallest, slowest to read.
    Zstd,
}

impl Codec {
    /// The default for a lake at `url`: none on a local directory, where
    /// the OS page cache holds the bytes and decompressing them is what
    /// reading costs; LZ4 on an object store, where bytes cost requests,
    /// transfer and room in `sql-cache-size`.
    pub fn default_for(url: &str) -> Codec {
        if url.starts_with("s3://") {
            Codec::Lz4
        } else {
            Codec::None
        }
    }

    /// Parses `none`, `lz4`, `snappy` or `zstd` (any case).
    pub fn parse(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Codec::None),
            "lz4" => Some(Codec::Lz4),
            "snappy" => Some(Codec::Snappy),
            "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Its configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Snappy => "snappy",
            Codec::Zstd => "zstd",
        }
    }

    fn parquet(self) -> Compression {
        match self {
            Codec::None => Compression::UNCOMPRESSED,
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Snappy => Compression::SNAPPY,
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
        }
    }
}

fn properties(codec: Codec) -> WriterProperties {
    WriterProperties::builder()
        .set_dictionary_page_size_limit(DICTIONARY_LIMIT)
        .set_compression(codec.parquet())
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build()
}

/// A Parquet file writer for `schema` (with the Arrow schema in its
/// metadata, as `ArrowWriter` writes it) and the column writer factory
/// that goes with it.
fn file_writer<W: std::io::Write + Send>(
    out: W,
    schema: &SchemaRef,
    codec: Codec,
) -> Result<(SerializedFileWriter<W>, ArrowRowGroupWriterFactory), String> {
    ArrowWriter::try_new(out, schema.clone(), Some(properties(codec)))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| e.to_string())
}

/// Makes [`GroupEncoder`]s for one schema; cheap to clone, shared by
/// threads.
#[derive(Clone)]
pub struct Encoders {
    schema: SchemaRef,
    codec: Codec,
    factory: Arc<ArrowRowGroupWriterFactory>,
}

impl Encoders {
    /// Encoders of row groups of `schema`, compressed with `codec`.
    pub fn new(schema: SchemaRef, codec: Codec) -> Result<Encoders, String> {
        let (_, factory) = file_writer(std::io::sink(), &schema, codec)?;
        Ok(Encoders {
            schema,
            codec,
            factory: Arc::new(factory),
        })
    }

    /// A new, empty row group.
    pub fn group(&self) -> Result<GroupEncoder, String> {
        Ok(GroupEncoder {
            schema: self.schema.clone(),
            writers: self
                .factory
                .create_column_writers(0)
                .map_err(|e| e.to_string())?,
            rows: 0,
        })
    }
}

/// One row group being encoded.
pub struct GroupEncoder {
    schema: SchemaRef,
    writers: Vec<ArrowColumnWriter>,
    rows: usize,
}

/// A row group ready to be written into a file.
pub struct EncodedGroup {
    /// Its rows.
    pub rows: u64,
    chunks: Vec<ArrowColumnChunk>,
}

impl GroupEncoder {
    /// Encodes a batch (of the encoder's schema) into the group.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let mut writers = self.writers.iter_mut();
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, column).map_err(|e| e.to_string())? {
                let w = writers.next().ok_or("more columns than the schema")?;
                w.write(&leaf).map_err(|e| e.to_string())?;
            }
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    /// Rows encoded so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Finishes the group's column chunks.
    pub fn finish(self) -> Result<EncodedGroup, String> {
        let chunks = self
            .writers
            .into_iter()
            .map(ArrowColumnWriter::close)
            .collect::<parquet::errors::Result<Vec<_>>>()
            .map_err(|e| e.to_string())?;
        Ok(EncodedGroup {
            rows: self.rows as u64,
            chunks,
        })
    }
}

/// Row groups in, Parquet files out.
pub struct PartWriter {
    dir: PathBuf,
    schema: SchemaRef,
    encoders: Encoders,
    current: Option<(SerializedFileWriter<File>, Part)>,
    /// The group [`PartWriter::write`] is filling.
    open: Option<GroupEncoder>,
    done: Vec<Part>,
}

impl PartWriter {
    /// Writes files of `schema` into `dir` (which exists), compressed
    /// with `codec`.
    pub fn new(dir: &Path, schema: SchemaRef, codec: Codec) -> Result<PartWriter, String> {
        Ok(PartWriter {
            dir: dir.to_path_buf(),
            encoders: Encoders::new(schema.clone(), codec)?,
            schema,
            current: None,
            open: None,
            done: Vec::new(),
        })
    }

    /// Encoders for groups to [`append`](PartWriter::append).
    pub fn encoders(&self) -> Encoders {
        self.encoders.clone()
    }

    /// Encodes a batch (of the writer's schema) on this thread; a group
    /// is appended whenever it is full.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        if self.open.is_none() {
            self.open = Some(self.encoders.group()?);
        }
        let group = self.open.as_mut().expect("opened above");
        group.write(batch)?;
        if group.rows() >= ROW_GROUP {
            let group = self.open.take().expect("filled above");
            self.append(group.finish()?)?;
        }
        Ok(())
    }

    /// Appends an encoded row group to the current file (opening one if
    /// needed, closing it when it is big enough).
    pub fn append(&mut self, group: EncodedGroup) -> Result<(), String> {
        if group.rows == 0 {
            return Ok(());
        }
        if self.current.is_none() {
            let path = self
                .dir
                .join(format!("part-{:04}.parquet", self.done.len()));
            let file = File::create(&path).map_err(|e| format!("scratch file: {e}"))?;
            let (w, _) = file_writer(file, &self.schema, self.encoders.codec)?;
            let part = Part {
                path,
                rows: 0,
                columns: BTreeMap::new(),
            };
            self.current = Some((w, part));
        }
        let (w, part) = self.current.as_mut().expect("opened above");
        let mut rg = w.next_row_group().map_err(|e| e.to_string())?;
        for chunk in group.chunks {
            chunk
                .append_to_row_group(&mut rg)
                .map_err(|e| e.to_string())?;
        }
        rg.close().map_err(|e| e.to_string())?;
        part.rows += group.rows;
        if part.rows >= ROWS_PER_FILE || w.bytes_written() as u64 >= BYTES_PER_FILE {
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
        if let Some(group) = self.open.take() {
            self.append(group.finish()?)?;
        }
        self.close_current()?;
        Ok(std::mem::take(&mut self.done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    /// The encodings of the data pages of column `i` in the first row group.
    fn data_page_encodings(path: &Path, i: usize) -> Vec<Encoding> {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        let column = reader.metadata().row_group(0).column(i).clone();
        column
            .page_encoding_stats_mask()
            .expect("encoding stats written")
            .encodings()
            .collect()
    }

    #[test]
    fn only_columns_of_few_distinct_values_keep_a_dictionary() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("tag", DataType::Utf8, false),
        ]));
        let n = 100_000;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("tag {}", i % 7)),
                )),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut w = PartWriter::new(dir.path(), schema, Codec::Lz4).unwrap();
        w.write(&batch).unwrap();
        let parts = w.finish().unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].rows, n as u64);
        // Unique ids outgrow the dictionary after its first 8 Ki values:
        // the rest of the chunk is plain.
        let ids = data_page_encodings(&parts[0].path, 0);
        assert!(ids.contains(&Encoding::PLAIN), "{ids:?}");
        // Seven tags stay dictionary-encoded.
        let tags = data_page_encodings(&parts[0].path, 1);
        assert_eq!(tags, vec![Encoding::RLE_DICTIONARY]);
        let reader = SerializedFileReader::new(File::open(&parts[0].path).unwrap()).unwrap();
        let chunk = reader.metadata().row_group(0).column(1).clone();
        assert_eq!(chunk.compression(), Compression::LZ4_RAW);
    }

    #[test]
    fn codec_names_and_the_default_per_store() {
        assert_eq!(Codec::default_for("file:///var/lake"), Codec::None);
        assert_eq!(Codec::default_for("/var/lake"), Codec::None);
        assert_eq!(Codec::default_for("s3://bucket/prefix"), Codec::Lz4);
        for c in [Codec::None, Codec::Lz4, Codec::Snappy, Codec::Zstd] {
            assert_eq!(Codec::parse(c.name()), Some(c));
            assert_eq!(Codec::parse(&c.name().to_uppercase()), Some(c));
        }
        assert_eq!(Codec::parse("brotli"), None);
        assert_eq!(Codec::parse("auto"), None);
    }
}
