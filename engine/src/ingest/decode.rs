//! Turning the bytes of a CSV, JSON (array or lines) or Parquet file into
//! Arrow record batches, with schema inference or an explicit schema.

use std::io::Cursor;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

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

/// Decodes `data`; errors name what is wrong (and the line, for CSV).
pub fn decode(data: Bytes, opts: &DecodeOptions) -> Result<(SchemaRef, Vec<RecordBatch>), String> {
    if data.is_empty() {
        return Err("the file is empty".into());
    }
    match opts.format {
        Format::Parquet => {
            let reader = ParquetRecordBatchReaderBuilder::try_new(data)
                .map_err(|e| format!("not a valid Parquet file: {e}"))?
                .with_batch_size(BATCH)
                .build()
                .map_err(|e| format!("not a valid Parquet file: {e}"))?;
            let schema = reader.schema();
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("bad Parquet data: {e}"))?;
            Ok((schema, batches))
        }
        Format::Csv => {
            if std::str::from_utf8(&data[..data.len().min(4096)]).is_err()
                && std::str::from_utf8(&data).is_err()
            {
                return Err("the CSV data is not UTF-8 text".into());
            }
            let format = arrow_csv::reader::Format::default()
                .with_header(opts.header)
                .with_delimiter(opts.delimiter);
            let schema = match &opts.schema {
                Some(s) => s.clone(),
                None => {
                    let (s, _) = format
                        .infer_schema(Cursor::new(&data[..]), Some(opts.infer_rows))
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
                .build(Cursor::new(data))
                .map_err(|e| format!("cannot read the CSV: {e}"))?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("bad CSV row: {e}"))?;
            Ok((schema, batches))
        }
        Format::Json | Format::JsonLines => {
            let text = std::str::from_utf8(&data).map_err(|_| "the JSON data is not UTF-8 text")?;
            let lines: Bytes = if opts.format == Format::Json && text.trim_start().starts_with('[')
            {
                let rows: Vec<serde_json::Value> = serde_json::from_str(text)
                    .map_err(|e| format!("bad JSON at line {}: {e}", e.line()))?;
                let mut out = Vec::with_capacity(data.len());
                for r in rows {
                    if !r.is_object() {
                        return Err("a JSON array must hold objects (one per row)".into());
                    }
                    serde_json::to_writer(&mut out, &r).map_err(|e| e.to_string())?;
                    out.push(b'\n');
                }
                Bytes::from(out)
            } else {
                data
            };
            let schema = match &opts.schema {
                Some(s) => s.clone(),
                None => {
                    let (s, _) = arrow_json::reader::infer_json_schema_from_seekable(
                        Cursor::new(&lines[..]),
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
                .build(Cursor::new(lines))
                .map_err(|e| format!("cannot read the JSON: {e}"))?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("bad JSON row: {e}"))?;
            Ok((schema, batches))
        }
    }
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

    fn opts(format: Format) -> DecodeOptions {
        DecodeOptions {
            format,
            header: true,
            delimiter: b',',
            schema: None,
            infer_rows: 1000,
        }
    }

    #[test]
    fn csv_json_and_errors() {
        let (s, b) = decode(
            Bytes::from_static(b"id,name,score\n1,a,0.5\n2,b,1.5\n"),
            &opts(Format::Csv),
        )
        .unwrap();
        assert_eq!(s.field(0).data_type(), &DataType::Int64);
        assert_eq!(s.field(2).data_type(), &DataType::Float64);
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
        let (_, b) = decode(
            Bytes::from_static(b"[{\"a\":1},{\"a\":2,\"b\":\"x\"}]"),
            &opts(Format::Json),
        )
        .unwrap();
        assert_eq!(b[0].num_columns(), 2);
        let (_, b) = decode(
            Bytes::from_static(b"{\"a\":1}\n{\"a\":3}\n"),
            &opts(Format::JsonLines),
        )
        .unwrap();
        assert_eq!(b[0].num_rows(), 2);
        let mut o = opts(Format::Csv);
        o.schema = Some(parse_schema("id int, name text").unwrap());
        let e = decode(Bytes::from_static(b"id,name\n1,a\nx,b\n"), &o).unwrap_err();
        assert!(e.contains("line"), "{e}");
        assert!(decode(Bytes::new(), &opts(Format::Csv)).is_err());
        assert!(
            decode(
                Bytes::from_static(b"\xff\xfe\x00garbage"),
                &opts(Format::Parquet)
            )
            .is_err()
        );
        assert!(decode(Bytes::from_static(b"[1,2]"), &opts(Format::Json)).is_err());
        assert!(parse_schema("a blob").is_err());
    }
}
