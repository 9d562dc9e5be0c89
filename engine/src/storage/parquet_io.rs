//! Parquet files of the store: string keys (`kv/*.parquet`) and vector-set
//! elements (`vsets/<key>/data/*.parquet`), written with the `parquet`
//! crate so any Parquet reader (pyarrow, DuckDB, DataFusion) can open them.
//!
//! - kv: `db` uint32, `key` binary, `value` binary, `expire_at_ms` int64
//!   (null = no expiry).
//! - vector set: `element` binary, `vector` fixed_size_list<float32>[dim]
//!   (the vector as VEMB returns it), `attributes` utf8 (null = none).

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, FixedSizeListBuilder, Float32Builder, StringBuilder};
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
    /// Value.
    pub value: Bytes,
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
        Field::new("value", DataType::Binary, false),
        Field::new("expire_at_ms", DataType::Int64, true),
    ]))
}

/// Encodes string keys as a Parquet file.
pub fn write_kv(rows: &[KvRow]) -> Result<Vec<u8>, String> {
    let schema = kv_schema();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema.clone(), Some(props())).map_err(|e| e.to_string())?;
    for chunk in rows.chunks(BATCH_ROWS) {
        let db: ArrayRef = Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.db)));
        let key: ArrayRef = Arc::new(BinaryArray::from_iter_values(
            chunk.iter().map(|r| &r.key[..]),
        ));
        let value: ArrayRef = Arc::new(BinaryArray::from_iter_values(
            chunk.iter().map(|r| &r.value[..]),
        ));
        let exp: ArrayRef = Arc::new(Int64Array::from_iter(
            chunk.iter().map(|r| r.expire_at.map(|t| t as i64)),
        ));
        let batch = RecordBatch::try_new(schema.clone(), vec![db, key, value, exp])
            .map_err(|e| e.to_string())?;
        w.write(&batch).map_err(|e| e.to_string())?;
    }
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Decodes a kv Parquet file.
pub fn read_kv(data: Bytes) -> Result<Vec<KvRow>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(data)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
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
            out.push(KvRow {
                db: db.value(i),
                key: Bytes::copy_from_slice(key.value(i)),
                value: Bytes::copy_from_slice(value.value(i)),
                expire_at: (!exp.is_null(i)).then(|| exp.value(i) as u64),
            });
        }
    }
    Ok(out)
}

/// Encodes vector-set elements (name, vector of `dim` floats, attributes).
pub fn write_vset(
    dim: usize,
    rows: impl Iterator<Item = (Bytes, Vec<f32>, Option<Bytes>)>,
) -> Result<(Vec<u8>, u64), String> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("element", DataType::Binary, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, false)),
                dim as i32,
            ),
            false,
        ),
        Field::new("attributes", DataType::Utf8, true),
    ]));
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, schema.clone(), Some(props())).map_err(|e| e.to_string())?;
    let mut total = 0u64;
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let mut names = BinaryBuilder::new();
        let mut vecs = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32)
            .with_field(Arc::new(Field::new("item", DataType::Float32, false)));
        let mut attrs = StringBuilder::new();
        for (name, v, a) in rows.by_ref().take(BATCH_ROWS) {
            names.append_value(&name);
            vecs.values().append_slice(&v);
            vecs.append(true);
            match a {
                Some(a) => attrs.append_value(String::from_utf8_lossy(&a)),
                None => attrs.append_null(),
            }
            total += 1;
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(names.finish()),
                Arc::new(vecs.finish()),
                Arc::new(attrs.finish()),
            ],
        )
        .map_err(|e| e.to_string())?;
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
                value: Bytes::from(vec![i as u8; (i % 7) as usize]),
                expire_at: (i % 2 == 0).then_some(u64::from(i) * 1000),
            })
            .collect();
        let file = write_kv(&rows).unwrap();
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
        let (file, n) = write_vset(4, rows).unwrap();
        assert_eq!(n, 10);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file))
            .unwrap()
            .build()
            .unwrap();
        let total: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(total, 10);
    }
}
