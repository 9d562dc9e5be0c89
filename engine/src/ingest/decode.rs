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

use super::csv_chunks::{Chunk, CsvChunks};
use super::json_array::ArrayLines;
use super::parts::ROW_GROUP;
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

/// Bytes of CSV per unit of decoding work (about 32 Ki rows of TPC-H's
/// lineitem).
pub const CSV_CHUNK: usize = 4 << 20;

/// Record batches read one at a time from a source.
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, String>> + Send>;

/// A piece of the source that decodes on its own, in file order.
pub enum Unit {
    /// Raw CSV records, decoded by [`Decoder::decode`] on any thread.
    Csv(Chunk),
    /// Batches already decoded (JSON and Parquet decode in order).
    Batches(Vec<RecordBatch>),
}

/// The units of a source, in order.
pub type Units = Box<dyn Iterator<Item = Result<Unit, String>> + Send>;

/// Turns units into batches; shared by the threads of an ingest.
#[derive(Clone)]
pub struct Decoder {
    schema: SchemaRef,
    csv: arrow_csv::reader::Format,
    header: bool,
}

impl Decoder {
    /// The batches of one unit. CSV errors name the line of the file.
    pub fn decode(&self, unit: Unit) -> Batches {
        let chunk = match unit {
            Unit::Batches(b) => return Box::new(b.into_iter().map(Ok)),
            Unit::Csv(chunk) => chunk,
        };
        // The reader counts rows of its chunk from 0.
        let offset = chunk.lines_before + u64::from(self.header) + 1;
        let reader = arrow_csv::ReaderBuilder::new(self.schema.clone())
            .with_format(self.csv.clone())
            .with_batch_size(BATCH)
            .build(std::io::Cursor::new(chunk.data));
        match reader {
            Ok(r) => Box::new(r.map(move |b| {
                b.map_err(|e| format!("bad CSV row: {}", file_line(&e.to_string(), offset)))
            })),
            Err(e) => Box::new(std::iter::once(Err(format!("cannot read the CSV: {e}")))),
        }
    }
}

/// Opens `source` as a stream of batches (inferring the schema from a
/// sample unless given); errors name what is wrong (and the line, for CSV).
/// Bytes read are added to `read`. The tests' view of a whole decode; an
/// ingest runs the units through [`open_units`] on every core.
#[cfg(test)]
pub fn open(
    source: &Source,
    opts: &DecodeOptions,
    read: Arc<AtomicU64>,
) -> Result<(SchemaRef, Batches), String> {
    let (schema, units, decoder) = open_units(source, opts, read, CSV_CHUNK)?;
    let batches = units.flat_map(move |u| match u {
        Ok(u) => decoder.decode(u),
        Err(e) => Box::new(std::iter::once(Err(e))),
    });
    Ok((schema, Box::new(batches)))
}

/// Opens `source` as units of work of about `csv_chunk` bytes (CSV) or
/// half a [`ROW_GROUP`] of rows (JSON, Parquet), and the decoder for them.
/// Each unit becomes a row group; the size is a trade between row groups
/// and the memory of the units in flight.
pub fn open_units(
    source: &Source,
    opts: &DecodeOptions,
    read: Arc<AtomicU64>,
    csv_chunk: usize,
) -> Result<(SchemaRef, Units, Decoder), String> {
    if source.is_empty() {
        return Err("the file is empty".into());
    }
    let io = |e: std::io::Error| format!("cannot read the file: {e}");
    let batches = |schema: SchemaRef, batches: Batches| {
        let decoder = Decoder {
            schema: schema.clone(),
            csv: arrow_csv::reader::Format::default(),
            header: false,
        };
        let units: Units = Box::new(Grouped {
            inner: batches,
            failed: None,
        });
        (schema, units, decoder)
    };
    match opts.format {
        Format::Parquet => {
            let reader = match source {
                Source::Bytes(b) => parquet_reader(b.clone())?,
                Source::File { path, .. } => parquet_reader(File::open(path).map_err(io)?)?,
            };
            let schema = reader.schema();
            let rows = reader.map(|b| b.map_err(|e| format!("bad Parquet data: {e}")));
            Ok(batches(schema, Box::new(rows)))
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
            let chunks = CsvChunks::new(
                source.open_counted(read).map_err(io)?,
                csv_chunk,
                opts.header,
                QUOTE,
            );
            let units: Units = Box::new(chunks.map(move |c| c.map(Unit::Csv).map_err(io)));
            let decoder = Decoder {
                schema: schema.clone(),
                csv: format.with_header(false),
                header: opts.header,
            };
            Ok((schema, units, decoder))
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
            let rows = reader.map(|b| b.map_err(|e| format!("bad JSON row: {e}")));
            Ok(batches(schema, Box::new(rows)))
        }
    }
}

/// Rows per unit of decoded batches (a row group of the table's file).
const BATCH_UNIT: usize = ROW_GROUP / 2;

/// The CSV quote character (arrow-csv's default).
const QUOTE: u8 = b'"';

/// Decoded batches gathered into units of about a row group; an error
/// comes after the batches decoded before it.
struct Grouped {
    inner: Batches,
    failed: Option<String>,
}

impl Iterator for Grouped {
    type Item = Result<Unit, String>;

    fn next(&mut self) -> Option<Result<Unit, String>> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        let (mut unit, mut rows) = (Vec::new(), 0);
        while rows < BATCH_UNIT {
            match self.inner.next() {
                Some(Ok(b)) => {
                    rows += b.num_rows();
                    unit.push(b);
                }
                Some(Err(e)) if unit.is_empty() => return Some(Err(e)),
                Some(Err(e)) => {
                    self.failed = Some(e);
                    break;
                }
                None => break,
            }
        }
        (!unit.is_empty()).then_some(Ok(Unit::Batches(unit)))
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

/// The CSV reader counts the rows of its chunk; name the line of the file
/// instead (`offset`: added to the reader's count).
fn file_line(e: &str, offset: u64) -> String {
    let Some(at) = e.find("at line ") else {
        return e.to_string();
    };
    let start = at + "at line ".len();
    let digits = e[start..].bytes().take_while(u8::is_ascii_digit).count();
    match e[start..start + digits].parse::<u64>() {
        Ok(n) => format!("{}{}{}", &e[..start], n + offset, &e[start + digits..]),
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
