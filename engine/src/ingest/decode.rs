//! Turning a CSV, JSON (array or lines) or Parquet source into a stream of
//! Arrow record batches, with schema inference from a sample or an
//! explicit schema. Nothing is read whole: batches of 8,192 rows.

use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::reader::ChunkReader;

use super::json_array::ArrayLines;
use super::source::Source;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma (or DELIMITER) separated values.
    Csv,
    /// A JSON array of objects, or objects one per line.
    Json,
    /// Objects one per line.
    JsonLines,
    /// Apache Parquet.
    Parquet,
}

/// Reading options.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// The format.
    pub format: Format,
    /// CSV: the first line names the columns (default yes).
    pub header: bool,
    /// CSV: field delimiter.
    pub delimiter: u8,
    /// Explicit schema (CSV, JSON); inferred from a sample when `None`.
    pub schema: Option<SchemaRef>,
    /// Rows read for inference.
    pub infer_rows: usize,
}

/// Rows per batch.
const BATCH: usize = 8192;

/// Record batches read one at a time from a source.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, String>> + Send>;

/// Opens `source` as a stream of batches (inferring the schema from a
/// sample unless given); errors name what is wrong (and the line, for CSV).
/// Bytes read are added to `read`.
pub fn open(
    source: &Source,
    opts: &DecodeOptions,
    read: Arc<AtomicU64>,
) -> Result<(SchemaRef, Batches), String> {
    if source.is_empty() {
        return Err("the file is empty".into());
    }
    let io = |e: std::io::Error| format!("cannot read the file: {e}");
    match opts.format {
        Format::Parquet => {
            let reader = match source {
                Source::Bytes(b) => parquet_reader(b.clone())?,
                Source::File { path, .. } => parquet_reader(File::open(path).map_err(io)?)?,
            };
            let schema = reader.schema();
            let batches = reader.map(|b| b.map_err(|e| format!("bad Parquet data: {e}")));
            Ok((schema, Box::new(batches)))
        }
        Format::Csv => {
            text_head(source, "CSV")?;
            let format = arrow_csv::reader::Format::default()
                .with_header(opts.header)
                .with_delimiter(opts.delimiter);
            let schema = match &opts.schema {
                Some(s) => s.clone(),
                None => {
                    let (s, _) = format
                        .infer_schema(source.open().map_err(io)?, Some(opts.infer_rows))
                        .map_err(|e| format!("cannot read the CSV: {e}"))?;
                    Arc::new(s)
                }
            };
            if schema.fields().is_empty() {
                return Err("the CSV has no columns".into());
            }
            let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                .with_format(format)
                .with_batch_size(BATCH)
                .build(source.open_counted(read).map_err(io)?)
                .map_err(|e| format!("cannot read the CSV: {e}"))?;
            let header = opts.header;
            let batches = reader.map(move |b| {
                b.map_err(|e| format!("bad CSV row: {}", file_line(&e.to_string(), header)))
            });
            Ok((schema, Box::new(batches)))
        }
        Format::Json | Format::JsonLines => {
            let head = text_head(source, "JSON")?;
            let array = opts.format == Format::Json
                && head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
            let lines = |r: Box<dyn Read + Send>| -> Box<dyn Read + Send> {
                if array {
                    Box::new(ArrayLines::new(r))
                } else {
                    r
                }
            };
            let schema = match &opts.schema {
                Some(s) => s.clone(),
                None => {
                    let (s, _) = arrow_json::reader::infer_json_schema(
                        BufReader::new(lines(source.open().map_err(io)?)),
                        Some(opts.infer_rows),
                    )
                    .map_err(|e| format!("cannot read the JSON: {e}"))?;
                    Arc::new(s)
                }
            };
            if schema.fields().is_empty() {
                return Err("the JSON has no fields".into());
            }
            let reader = arrow_json::ReaderBuilder::new(schema.clone())
                .with_batch_size(BATCH)
                .build(BufReader::new(lines(
                    source.open_counted(read).map_err(io)?,
                )))
                .map_err(|e| format!("cannot read the JSON: {e}"))?;
            let batches = reader.map(|b| b.map_err(|e| format!("bad JSON row: {e}")));
            Ok((schema, Box::new(batches)))
        }
    }
}

/// The first 4 KB of a text source, refused when they are not UTF-8 (a
/// character cut at the end is fine).
fn text_head(source: &Source, kind: &str) -> Result<Vec<u8>, String> {
    let head = source
        .head(4096)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if let Err(e) = std::str::from_utf8(&head)
        && e.error_len().is_some()
    {
        return Err(format!("the {kind} data is not UTF-8 text"));
    }
    Ok(head)
}

/// The CSV reader counts data lines; name the line of the file instead
/// (one more when there is a header).
fn file_line(e: &str, header: bool) -> String {
    let Some(at) = e.find("at line ") else {
        return e.to_string();
    };
    let start = at + "at line ".len();
    let digits = e[start..].bytes().take_while(u8::is_ascii_digit).count();
    match e[start..start + digits].parse::<u64>() {
        Ok(n) => format!(
            "{}{}{}",
            &e[..start],
            n + u64::from(header),
            &e[start + digits..]
        ),
        Err(_) => e.to_string(),
    }
}

/// A Parquet reader over the client's bytes or a file.
fn parquet_reader<T: ChunkReader + 'static>(data: T) -> Result<ParquetRecordBatchReader, String> {
    ParquetRecordBatchReaderBuilder::try_new(data)
        .map_err(|e| format!("not a valid Parquet file: {e}"))?
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| format!("not a valid Parquet file: {e}"))
}

/// Parses `SCHEMA "name type, name type, ..."`. Types: int/integer/bigint,
/// int32, double/float8, float/real, text/string/varchar, bool/boolean,
/// date, timestamp.
pub fn parse_schema(text: &str) -> Result<SchemaRef, String> {
    let mut fields = Vec::new();
    for part in text.split(',') {
        let mut words = part.split_whitespace();
        let (Some(name), Some(ty), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "bad SCHEMA entry '{}': use 'name type'",
                part.trim()
            ));
        };
        let dt = match ty.to_ascii_lowercase().as_str() {
            "int" | "integer" | "bigint" | "int64" | "long" => DataType::Int64,
            "int32" | "smallint" => DataType::Int32,
            "double" | "float8" | "float64" => DataType::Float64,
            "float" | "real" | "float4" | "float32" => DataType::Float32,
            "text" | "string" | "varchar" | "utf8" => DataType::Utf8,
            "bool" | "boolean" => DataType::Boolean,
            "date" => DataType::Date32,
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            other => return Err(format!("unknown type '{other}' in SCHEMA")),
        };
        fields.push(Field::new(name, dt, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn opts(format: Format) -> DecodeOptions {
        DecodeOptions {
            format,
            header: true,
            delimiter: b',',
            schema: None,
            infer_rows: 1000,
        }
    }

    fn decode(
        data: &'static [u8],
        o: &DecodeOptions,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
        let (s, b) = open(&Source::Bytes(Bytes::from_static(data)), o, Arc::default())?;
        Ok((s, b.collect::<Result<Vec<_>, _>>()?))
    }

    #[test]
    fn csv_json_and_errors() {
        let (s, b) = decode(b"id,name,score\n1,a,0.5\n2,b,1.5\n", &opts(Format::Csv)).unwrap();
        assert_eq!(s.field(0).data_type(), &DataType::Int64);
        assert_eq!(s.field(2).data_type(), &DataType::Float64);
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        let (_, b) = decode(b"[{\"a\":1},{\"a\":2,\"b\":\"x\"}]", &opts(Format::Json)).unwrap();
        assert_eq!(b[0].num_columns(), 2);
        assert_eq!(b[0].num_rows(), 2);
        let (_, b) = decode(b"{\"a\":1}\n{\"a\":3}\n", &opts(Format::JsonLines)).unwrap();
        assert_eq!(b[0].num_rows(), 2);
        let mut o = opts(Format::Csv);
        o.schema = Some(parse_schema("id int, name text").unwrap());
        let e = decode(b"id,name\n1,a\nx,b\n", &o).unwrap_err();
        assert!(e.contains("line"), "{e}");
        assert!(decode(b"", &opts(Format::Csv)).is_err());
        assert!(decode(b"\xff\xfe\x00garbage", &opts(Format::Parquet)).is_err());
        assert!(decode(b"\xff\xfe\x00garbage", &opts(Format::Csv)).is_err());
        assert!(decode(b"[1,2]", &opts(Format::Json)).is_err());
        assert!(parse_schema("a blob").is_err());
    }

    #[test]
    fn csv_streams_in_batches_and_names_the_bad_line() {
        let mut text = String::from("id,v\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},{}\n", i * 2));
        }
        text.push_str("oops,1\n");
        let data: &'static [u8] = Box::leak(text.into_bytes().into_boxed_slice());
        let mut o = opts(Format::Csv);
        o.schema = Some(parse_schema("id int, v int").unwrap());
        let read = Arc::new(AtomicU64::new(0));
        let (_, batches) =
            open(&Source::Bytes(Bytes::from_static(data)), &o, read.clone()).unwrap();
        let mut rows = 0;
        let mut err = None;
        for b in batches {
            match b {
                Ok(b) => {
                    assert!(b.num_rows() <= BATCH);
                    rows += b.num_rows();
                }
                Err(e) => err = Some(e),
            }
        }
        assert!(rows >= 16_384, "{rows}");
        let e = err.expect("the bad row fails");
        assert!(e.contains("20002"), "{e}");
        assert!(read.load(std::sync::atomic::Ordering::Relaxed) > 0);
    }
}
