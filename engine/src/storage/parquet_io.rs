//! Parquet files of the store: string keys (`kv/*.parquet`) and vector-set
//! elements (`vsets/<key>/data/*.parquet`), written with the `parquet`
//! crate so any Parquet reader (pyarrow, DuckDB, DataFusion) can open them.
//!
//! - kv: `db` uint32, `key` binary, `value` binary (null = the key was
//!   removed: a tombstone, in deltas only), `expire_at_ms` int64 (null = no
//!   expiry).
//! - vector set: `element` binary, `vector` fixed_size_list<float32>[dim]
//!   (the vector as VEMB returns it), `attributes` utf8 (null = none); a
//!   delta adds `deleted` bool (true = the element was removed; its vector
//!   is null).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, FixedSizeListBuilder, Float32Builder, StringBuilder,
};
use arrow_array::{Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per record batch while writing.
const BATCH_ROWS: usize = 64 * 1024;

/// A string key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvRow {
    /// Database number.
    pub db: u32,
    /// Key.
    pub key: Bytes,
    /// Value; `None` = removed (a tombstone in a delta).
    pub value: Option<Bytes>,
    /// Expiry, Unix ms.
    pub expire_at: Option<u64>,
}

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

fn kv_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("db", DataType::UInt32, false),
        Field::new("key", DataType::Binary, false),
        Field::new("value", DataType::Binary, true),
        Field::new("expire_at_ms", DataType::Int64, true),
    ]))
}

/// Writes string keys as Parquet into `out` (a file or a buffer), in
/// batches, so a base of any size is written with bounded memory.
pub struct KvWriter<W: std::io::Write + Send> {
    writer: ArrowWriter<W>,
    rows: Vec<KvRow>,
    total: u64,
}

impl<W: std::io::Write + Send> KvWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Result<Self, String> {
        let writer =
            ArrowWriter::try_new(out, kv_schema(), Some(props())).map_err(|e| e.to_string())?;
        Ok(KvWriter {
            writer,
            rows: Vec::new(),
            total: 0,
        })
    }

    /// Adds a row.
    pub fn push(&mut self, row: KvRow) -> Result<(), String> {
        self.rows.push(row);
        self.total += 1;
        if self.rows.len() >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.rows);
        let db: ArrayRef = Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.db)));
        let key: ArrayRef = Arc::new(BinaryArray::from_iter_values(
            chunk.iter().map(|r| &r.key[..]),
        ));
        let value: ArrayRef = Arc::new(BinaryArray::from_iter(
            chunk.iter().map(|r| r.value.as_deref()),
        ));
        let exp: ArrayRef = Arc::new(Int64Array::from_iter(
            chunk.iter().map(|r| r.expire_at.map(|t| t as i64)),
        ));
        let batch = RecordBatch::try_new(kv_schema(), vec![db, key, value, exp])
            .map_err(|e| e.to_string())?;
        self.writer.write(&batch).map_err(|e| e.to_string())
    }

    /// Finishes the file; returns the rows written.
    pub fn finish(mut self) -> Result<u64, String> {
        self.write_batch()?;
        self.writer.close().map_err(|e| e.to_string())?;
        Ok(self.total)
    }
}

/// Encodes string keys as a Parquet file.
pub fn write_kv(rows: impl IntoIterator<Item = KvRow>) -> Result<(Vec<u8>, u64), String> {
    let mut buf = Vec::new();
    let mut w = KvWriter::new(&mut buf)?;
    for r in rows {
        w.push(r)?;
    }
    let n = w.finish()?;
    Ok((buf, n))
}

/// Decodes a kv Parquet file row by row (in file order), from memory or
/// a local file.
pub fn for_each_kv<R: parquet::file::reader::ChunkReader + 'static>(
    data: R,
    mut f: impl FnMut(KvRow),
) -> Result<u64, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)
        .and_then(|b| b.with_batch_size(8192).build())
        .map_err(|e| e.to_string())?;
    let mut n = 0;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| format!("kv file lacks column {name}"))
        };
        let db = col("db")?
            .as_any()
            .downcast_ref::<UInt32Array>()
            .ok_or("kv column db is not uint32")?;
        let key = col("key")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or("kv column key is not binary")?;
        let value = col("value")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or("kv column value is not binary")?;
        let exp = col("expire_at_ms")?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("kv column expire_at_ms is not int64")?;
        for i in 0..batch.num_rows() {
            n += 1;
            f(KvRow {
                db: db.value(i),
                key: Bytes::copy_from_slice(key.value(i)),
                value: (!value.is_null(i)).then(|| Bytes::copy_from_slice(value.value(i))),
                expire_at: (!exp.is_null(i)).then(|| exp.value(i) as u64),
            });
        }
    }
    Ok(n)
}

/// Decodes a whole kv Parquet file.
pub fn read_kv(data: Bytes) -> Result<Vec<KvRow>, String> {
    let mut out = Vec::new();
    for_each_kv(data, |r| out.push(r))?;
    Ok(out)
}

/// Encodes vector-set elements (name, vector of `dim` floats,
/// attributes). With `deleted` (a delta) the file has a `deleted` column
/// and a row per removed element after the others.
pub fn write_vset(
    dim: usize,
    rows: impl Iterator<Item = (Bytes, Vec<f32>, Option<Bytes>)>,
    deleted: Option<&[Bytes]>,
) -> Result<(Vec<u8>, u64), String> {
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let mut fields = vec![
        Field::new("element", DataType::Binary, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(item.clone(), dim as i32),
            deleted.is_some(),
        ),
        Field::new("attributes", DataType::Utf8, true),
    ];
    if deleted.is_some() {
        fields.push(Field::new("deleted", DataType::Boolean, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema.clone(), Some(props())).map_err(|e| e.to_string())?;
    let mut total = 0u64;
    let removed: Vec<(Bytes, Option<Vec<f32>>, Option<Bytes>)> = deleted
        .unwrap_or_default()
        .iter()
        .map(|e| (e.clone(), None, None))
        .collect();
    let mut rows = rows
        .map(|(e, v, a)| (e, Some(v), a))
        .chain(removed)
        .peekable();
    while rows.peek().is_some() {
        let mut names = BinaryBuilder::new();
        let mut vecs =
            FixedSizeListBuilder::new(Float32Builder::new(), dim as i32).with_field(item.clone());
        let mut attrs = StringBuilder::new();
        let mut dels = BooleanBuilder::new();
        for (name, v, a) in rows.by_ref().take(BATCH_ROWS) {
            names.append_value(&name);
            match &v {
                Some(v) => {
                    vecs.values().append_slice(v);
                    vecs.append(true);
                }
                None => {
                    vecs.values().append_slice(&vec![0.0; dim]);
                    vecs.append(false);
                }
            }
            dels.append_value(v.is_none());
            match a {
                Some(a) => attrs.append_value(String::from_utf8_lossy(&a)),
                None => attrs.append_null(),
            }
            total += 1;
        }
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(names.finish()),
            Arc::new(vecs.finish()),
            Arc::new(attrs.finish()),
        ];
        if deleted.is_some() {
            cols.push(Arc::new(dels.finish()));
        }
        let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok((buf, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_round_trip() {
        let rows: Vec<KvRow> = (0..100_000u32)
            .map(|i| KvRow {
                db: i % 3,
                key: Bytes::from(format!("k{i}")),
                value: (i % 11 != 0).then(|| Bytes::from(vec![i as u8; (i % 7) as usize])),
                expire_at: (i % 2 == 0).then_some(u64::from(i) * 1000),
            })
            .collect();
        let (file, n) = write_kv(rows.iter().cloned()).unwrap();
        assert_eq!(n, 100_000);
        assert_eq!(read_kv(Bytes::from(file)).unwrap(), rows);
        assert!(read_kv(Bytes::from_static(b"not parquet")).is_err());
    }

    #[test]
    fn vset_file_has_every_row() {
        let rows = (0..10u8).map(|i| {
            (
                Bytes::from(vec![b'e', i]),
                vec![f32::from(i); 4],
                (i % 2 == 0).then(|| Bytes::from_static(b"{\"a\":1}")),
            )
        });
        let (file, n) = write_vset(4, rows.clone(), None).unwrap();
        assert_eq!(n, 10);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
            .unwrap()
            .build()
            .unwrap();
        let total: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(total, 10);
        let gone = [Bytes::from_static(b"x")];
        let (file, n) = write_vset(4, rows, Some(&gone)).unwrap();
        assert_eq!(n, 11);
        let batch = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let deleted = batch.column_by_name("deleted").unwrap();
        assert_eq!(deleted.null_count(), 0);
        assert!(batch.column_by_name("vector").unwrap().is_null(10));
    }
}
