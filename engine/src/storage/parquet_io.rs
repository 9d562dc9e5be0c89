//! Parquet files of the store: string keys (`kv/*.parquet`) and vector-set
//! elements (`vsets/<key>/data/*.parquet`), written with the `parquet`
//! crate so any Parquet reader (pyarrow, DuckDB, DataFusion) can open them.
//!
//! - kv: `db` uint32, `key` binary, `value` binary (a string's value),
//!   `expire_at_ms` int64 (null = no expiry), `type` utf8 (`string`,
//!   `hash`, `set`, `list`; null = the key was removed: a tombstone, in
//!   deltas only), `items` list<struct<member binary, value binary, score
//!   float64, expire_at_ms int64>> (a collection's elements: a hash's
//!   fields with their values and deadlines, a set's members, a list's
//!   elements head first; null for strings). Files written before
//!   collections existed have neither `type` nor `items`: a null `value`
//!   is then the tombstone.
//! - vector set: `element` binary, `vector` fixed_size_list<float32>[dim]
//!   (the vector as VEMB returns it), `attributes` utf8 (null = none); a
//!   delta adds `deleted` bool (true = the element was removed; its vector
//!   is null).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, FixedSizeListBuilder, Float32Builder, StringBuilder,
};
use arrow_array::builder::{Float64Builder, Int64Builder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Fields, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::keyspace::hash::HashValue;
use crate::keyspace::list::ListValue;
use crate::keyspace::set::SetValue;
use crate::keyspace::stream::StreamValue;
use crate::keyspace::zset::ZSetValue;
use crate::keyspace::{Kind, Value};

/// Rows per record batch while writing.
const BATCH_ROWS: usize = 64 * 1024;

/// Elements written per record batch at most (besides [`BATCH_ROWS`]).
const BATCH_ITEMS: usize = 1 << 20;

/// A key as stored (a string or a collection, never a vector set).
#[derive(Debug, Clone)]
pub struct KvRow {
    /// Database number.
    pub db: u32,
    /// Key.
    pub key: Bytes,
    /// Value; `None` = removed (a tombstone in a delta).
    pub value: Option<Value>,
    /// Expiry, Unix ms.
    pub expire_at: Option<u64>,
}

fn props() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

fn item_fields() -> Fields {
    Fields::from(vec![
        Field::new("member", DataType::Binary, false),
        Field::new("value", DataType::Binary, true),
        Field::new("score", DataType::Float64, true),
        Field::new("expire_at_ms", DataType::Int64, true),
    ])
}

fn item_field() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(item_fields()), false))
}

fn kv_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("db", DataType::UInt32, false),
        Field::new("key", DataType::Binary, false),
        Field::new("value", DataType::Binary, true),
        Field::new("expire_at_ms", DataType::Int64, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("items", DataType::List(item_field()), true),
    ]))
}

/// The `items` column of `rows`.
fn items_column(rows: &[KvRow]) -> Result<ArrayRef, String> {
    let mut members = BinaryBuilder::new();
    let mut values = BinaryBuilder::new();
    let mut scores = Float64Builder::new();
    let mut exps = Int64Builder::new();
    let mut offsets: Vec<i32> = Vec::with_capacity(rows.len() + 1);
    let mut valid = Vec::with_capacity(rows.len());
    let mut n: usize = 0;
    offsets.push(0);
    for r in rows {
        let mut item = |m: &[u8], v: Option<&[u8]>, sc: Option<f64>, e: Option<u64>| {
            members.append_value(m);
            values.append_option(v);
            scores.append_option(sc);
            exps.append_option(e.map(|t| t as i64));
            n += 1;
        };
        match &r.value {
            Some(Value::Hash(h)) => {
                for (f, v) in h.iter() {
                    item(f, Some(v), None, h.expire_at(f));
                }
            }
            Some(Value::Set(set)) => set.iter().for_each(|m| item(m, None, None, None)),
            Some(Value::List(l)) => l.iter().for_each(|m| item(m, None, None, None)),
            Some(Value::ZSet(z)) => z.ordered().for_each(|(m, s)| item(m, None, Some(s), None)),
            _ => {}
        }
        valid.push(matches!(
            r.value,
            Some(Value::Hash(_) | Value::Set(_) | Value::List(_) | Value::ZSet(_))
        ));
        offsets.push(i32::try_from(n).map_err(|_| "too many elements in one batch")?);
    }
    let items = StructArray::try_new(
        item_fields(),
        vec![
            Arc::new(members.finish()),
            Arc::new(values.finish()),
            Arc::new(scores.finish()),
            Arc::new(exps.finish()),
        ],
        None,
    )
    .map_err(|e| e.to_string())?;
    let list = ListArray::try_new(
        item_field(),
        datafusion::arrow::buffer::OffsetBuffer::new(offsets.into()),
        Arc::new(items),
        Some(datafusion::arrow::buffer::NullBuffer::from(valid)),
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(list))
}

/// Elements of a row's value (for batching).
fn items_of(v: &Option<Value>) -> usize {
    match v {
        Some(Value::Hash(h)) => h.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::List(l)) => l.len(),
        Some(Value::ZSet(z)) => z.len(),
        Some(Value::Stream(s)) => s.len(),
        _ => 0,
    }
}

/// Writes string keys as Parquet into `out` (a file or a buffer), in
/// batches, so a base of any size is written with bounded memory.
pub struct KvWriter<W: std::io::Write + Send> {
    writer: ArrowWriter<W>,
    rows: Vec<KvRow>,
    /// Collection elements in `rows`.
    items: usize,
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
            items: 0,
            total: 0,
        })
    }

    /// Adds a row.
    pub fn push(&mut self, row: KvRow) -> Result<(), String> {
        if matches!(row.value, Some(Value::VectorSet(_))) {
            return Err("a vector set is not a kv row".into());
        }
        self.items += items_of(&row.value);
        self.rows.push(row);
        self.total += 1;
        if self.rows.len() >= BATCH_ROWS || self.items >= BATCH_ITEMS {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.rows);
        self.items = 0;
        let db: ArrayRef = Arc::new(UInt32Array::from_iter_values(chunk.iter().map(|r| r.db)));
        let key: ArrayRef = Arc::new(BinaryArray::from_iter_values(
            chunk.iter().map(|r| &r.key[..]),
        ));
        let value: ArrayRef = Arc::new(BinaryArray::from_iter(chunk.iter().map(
            |r| match &r.value {
                Some(Value::Str(b)) => Some(b.to_vec()),
                Some(Value::Stream(s)) => Some(s.encode()),
                _ => None,
            },
        )));
        let exp: ArrayRef = Arc::new(Int64Array::from_iter(
            chunk.iter().map(|r| r.expire_at.map(|t| t as i64)),
        ));
        let kind: ArrayRef = Arc::new(StringArray::from_iter(
            chunk
                .iter()
                .map(|r| r.value.as_ref().map(|v| v.type_name())),
        ));
        let items = items_column(&chunk)?;
        let batch = RecordBatch::try_new(kv_schema(), vec![db, key, value, exp, kind, items])
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
        let kind = match batch.column_by_name("type") {
            Some(c) => Some(
                c.as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or("kv column type is not utf8")?,
            ),
            None => None,
        };
        let items = match batch.column_by_name("items") {
            Some(c) => Some(Items::new(c)?),
            None => None,
        };
        for i in 0..batch.num_rows() {
            n += 1;
            let string =
                || (!value.is_null(i)).then(|| Value::Str(Bytes::copy_from_slice(value.value(i))));
            let v = match kind {
                None => string(),
                Some(k) if k.is_null(i) => None,
                Some(k) => match Kind::from_name(k.value(i)) {
                    Some(Kind::Str) => Some(string().ok_or("a string row without a value")?),
                    Some(Kind::Stream) => {
                        let data = (!value.is_null(i))
                            .then(|| value.value(i))
                            .ok_or("a stream row without a value")?;
                        let s = StreamValue::decode(data).ok_or("a malformed stream row")?;
                        Some(Value::Stream(Arc::new(s)))
                    }
                    Some(kind @ (Kind::Hash | Kind::Set | Kind::List | Kind::ZSet)) => Some(
                        items
                            .as_ref()
                            .ok_or("a collection row without items")?
                            .value(kind, i)?,
                    ),
                    _ => return Err(format!("unknown kv type {:?}", k.value(i))),
                },
            };
            f(KvRow {
                db: db.value(i),
                key: Bytes::copy_from_slice(key.value(i)),
                value: v,
                expire_at: (!exp.is_null(i)).then(|| exp.value(i) as u64),
            });
        }
    }
    Ok(n)
}

/// The `items` column of a batch, decoded into collections.
struct Items<'a> {
    list: &'a ListArray,
    member: &'a BinaryArray,
    value: &'a BinaryArray,
    exp: &'a Int64Array,
    score: Option<&'a Float64Array>,
}

impl<'a> Items<'a> {
    fn new(c: &'a ArrayRef) -> Result<Self, String> {
        let list = c
            .as_any()
            .downcast_ref::<ListArray>()
            .ok_or("kv column items is not a list")?;
        let st = list
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or("kv items are not structs")?;
        let field = |name: &str| {
            st.column_by_name(name)
                .ok_or_else(|| format!("kv items lack {name}"))
        };
        let member = field("member")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or("kv item member is not binary")?;
        let value = field("value")?
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or("kv item value is not binary")?;
        let exp = field("expire_at_ms")?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or("kv item expire_at_ms is not int64")?;
        let score = match st.column_by_name("score") {
            Some(s) => Some(
                s.as_any()
                    .downcast_ref::<Float64Array>()
                    .ok_or("kv item score is not float64")?,
            ),
            None => None,
        };
        Ok(Items {
            list,
            member,
            value,
            exp,
            score,
        })
    }

    /// The collection of kind `kind` in row `i`.
    fn value(&self, kind: Kind, i: usize) -> Result<Value, String> {
        if self.list.is_null(i) {
            return Err("a collection row with null items".into());
        }
        let offsets = self.list.value_offsets();
        let range = offsets[i] as usize..offsets[i + 1] as usize;
        Ok(match kind {
            Kind::Hash => {
                let mut h = HashValue::new();
                for j in range {
                    let f = self.member.value(j);
                    h.set(f, self.value.value(j));
                    if !self.exp.is_null(j) {
                        h.set_expire(f, Some(self.exp.value(j) as u64));
                    }
                }
                Value::Hash(Arc::new(h))
            }
            Kind::Set => {
                let mut s = SetValue::new();
                for j in range {
                    s.insert(self.member.value(j));
                }
                Value::Set(Arc::new(s))
            }
            Kind::ZSet => {
                let scores = self.score.ok_or("kv items lack score")?;
                let mut z = ZSetValue::new();
                for j in range {
                    if scores.is_null(j) || scores.value(j).is_nan() {
                        return Err("a sorted-set member without a score".into());
                    }
                    z.insert(self.member.value(j), scores.value(j));
                }
                Value::ZSet(Arc::new(z))
            }
            _ => {
                let mut l = ListValue::new();
                for j in range {
                    l.push_back(self.member.value(j));
                }
                Value::List(Arc::new(l))
            }
        })
    }
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

    /// A comparable form of a row: (db, key, kind, elements, expiry).
    type Canon = (
        u32,
        Bytes,
        Option<&'static str>,
        Vec<(Vec<u8>, Vec<u8>, Option<u64>)>,
        Option<u64>,
    );

    fn canon(r: &KvRow) -> Canon {
        let mut items = Vec::new();
        match &r.value {
            Some(Value::Str(b)) => items.push((b.to_vec(), Vec::new(), None)),
            Some(Value::Hash(h)) => {
                for (f, v) in h.iter() {
                    items.push((f.to_vec(), v.to_vec(), h.expire_at(f)));
                }
            }
            Some(Value::Set(s)) => items.extend(s.iter().map(|m| (m.to_vec(), Vec::new(), None))),
            Some(Value::List(l)) => items.extend(l.iter().map(|m| (m.to_vec(), Vec::new(), None))),
            Some(Value::ZSet(z)) => items.extend(
                z.ordered()
                    .map(|(m, s)| (m.to_vec(), s.to_bits().to_le_bytes().to_vec(), None)),
            ),
            _ => {}
        }
        (
            r.db,
            r.key.clone(),
            r.value.as_ref().map(|v| v.type_name()),
            items,
            r.expire_at,
        )
    }

    #[test]
    fn kv_round_trip() {
        let rows: Vec<KvRow> = (0..100_000u32)
            .map(|i| KvRow {
                db: i % 3,
                key: Bytes::from(format!("k{i}")),
                value: (i % 11 != 0)
                    .then(|| Value::Str(Bytes::from(vec![i as u8; (i % 7) as usize]))),
                expire_at: (i % 2 == 0).then_some(u64::from(i) * 1000),
            })
            .collect();
        let (file, n) = write_kv(rows.iter().cloned()).unwrap();
        assert_eq!(n, 100_000);
        let back: Vec<Canon> = read_kv(Bytes::from(file))
            .unwrap()
            .iter()
            .map(canon)
            .collect();
        assert_eq!(back, rows.iter().map(canon).collect::<Vec<_>>());
        assert!(read_kv(Bytes::from_static(b"not parquet")).is_err());
    }

    #[test]
    fn collections_round_trip_in_order() {
        let mut h = HashValue::new();
        h.set(b"f1", b"v1");
        h.set(b"f2", b"");
        h.set_expire(b"f2", Some(77));
        let mut set = SetValue::new();
        set.insert(b"a");
        set.insert(b"\x00b");
        let mut l = ListValue::new();
        for e in [&b"x"[..], b"y", b"x", b""] {
            l.push_back(e);
        }
        let mut z = ZSetValue::new();
        z.insert(b"b", 2.5);
        z.insert(b"a", f64::NEG_INFINITY);
        let mut rows = vec![
            KvRow {
                db: 2,
                key: Bytes::from_static(b"z"),
                value: Some(Value::ZSet(Arc::new(z))),
                expire_at: None,
            },
            KvRow {
                db: 0,
                key: Bytes::from_static(b"h"),
                value: Some(Value::Hash(Arc::new(h))),
                expire_at: Some(5),
            },
            KvRow {
                db: 1,
                key: Bytes::from_static(b"s"),
                value: Some(Value::Set(Arc::new(set))),
                expire_at: None,
            },
            KvRow {
                db: 0,
                key: Bytes::from_static(b"l"),
                value: Some(Value::List(Arc::new(l))),
                expire_at: None,
            },
            KvRow {
                db: 0,
                key: Bytes::from_static(b"str"),
                value: Some(Value::Str(Bytes::from_static(b"v"))),
                expire_at: None,
            },
            KvRow {
                db: 0,
                key: Bytes::from_static(b"gone"),
                value: None,
                expire_at: None,
            },
        ];
        // Enough big lists to split the file into several batches.
        for i in 0..3u32 {
            let mut big = ListValue::new();
            for j in 0..(BATCH_ITEMS as u32 / 2 + 7) {
                big.push_back(&j.to_le_bytes());
            }
            rows.push(KvRow {
                db: 0,
                key: Bytes::from(format!("big{i}")),
                value: Some(Value::List(Arc::new(big))),
                expire_at: None,
            });
        }
        let (file, n) = write_kv(rows.iter().cloned()).unwrap();
        assert_eq!(n, rows.len() as u64);
        let back: Vec<Canon> = read_kv(Bytes::from(file))
            .unwrap()
            .iter()
            .map(canon)
            .collect();
        assert_eq!(back, rows.iter().map(canon).collect::<Vec<_>>());
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
