//! Column statistics of table files. They are taken from a Parquet footer
//! when the file is written, kept in the manifest ([`TableFile::columns`]),
//! and turned back into DataFusion [`Statistics`] when a query plans: no
//! footer is read to plan, whole files are pruned by min/max, and the
//! optimizer knows row counts for join order.
//!
//! A value is kept as text that casts back to its column's type; a value
//! that does not round-trip exactly (or is inexact, like a truncated long
//! string) is left out, so the statistics never claim more than is true.

use std::collections::BTreeMap;

use arrow_schema::{DataType, Schema};
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use parquet::arrow::parquet_column;
use parquet::file::metadata::ParquetMetaData;

use super::manifest::{ColumnStats, TableFile};

/// Statistics of every column of `schema` in a file with footer `meta`.
/// A column is left out when a row group has no null count for it.
pub fn from_parquet(meta: &ParquetMetaData, schema: &Schema) -> BTreeMap<String, ColumnStats> {
    let schema_ref = std::sync::Arc::new(schema.clone());
    let df = DFParquetMetadata::statistics_from_parquet_metadata(meta, &schema_ref).ok();
    let parquet_schema = meta.file_metadata().schema_descr();
    let mut out = BTreeMap::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let Some((leaf, _)) = parquet_column(parquet_schema, schema, field.name()) else {
            continue;
        };
        let nulls: Option<u64> = meta
            .row_groups()
            .iter()
            .map(|rg| {
                rg.column(leaf)
                    .statistics()
                    .and_then(|s| s.null_count_opt())
            })
            .sum();
        let Some(nulls) = nulls else { continue };
        let (min, max) = match df.as_ref().map(|s| &s.column_statistics[i]) {
            Some(c) => (
                text(&c.min_value, field.data_type()),
                text(&c.max_value, field.data_type()),
            ),
            None => (None, None),
        };
        out.insert(field.name().clone(), ColumnStats { nulls, min, max });
    }
    out
}

/// `v` as text, when it is exact and casts back to the same value.
fn text(v: &Precision<ScalarValue>, data_type: &DataType) -> Option<String> {
    let Precision::Exact(v) = v else { return None };
    if v.is_null() {
        return None;
    }
    let s = v.to_string();
    (value(&s, data_type)? == *v).then_some(s)
}

fn value(s: &str, data_type: &DataType) -> Option<ScalarValue> {
    ScalarValue::try_from_string(s.to_string(), data_type)
        .ok()
        .filter(|v| !v.is_null())
}

/// The DataFusion statistics of `file` under the table's `schema`.
pub fn to_datafusion(file: &TableFile, schema: &Schema) -> Statistics {
    let mut stats = Statistics::new_unknown(schema);
    stats.num_rows = Precision::Exact(file.rows as usize);
    stats.total_byte_size = Precision::Inexact(file.size as usize);
    for (field, col) in schema.fields().iter().zip(&mut stats.column_statistics) {
        let Some(c) = file.columns.get(field.name()) else {
            continue;
        };
        let bound = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| value(t, field.data_type()))
                .map_or(Precision::Absent, Precision::Exact)
        };
        *col = ColumnStatistics {
            null_count: Precision::Exact(c.nulls as usize),
            min_value: bound(&c.min),
            max_value: bound(&c.max),
            ..ColumnStatistics::new_unknown()
        };
    }
    stats
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;

    #[test]
    fn footer_statistics_round_trip_through_the_manifest() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new("long", DataType::Utf8, true),
        ]));
        let long = "x".repeat(200);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(-5), None, Some(42)])),
            Arc::new(Float64Array::from(vec![Some(0.1), Some(2.5e-300), None])),
            Arc::new(StringArray::from(vec![Some("b"), Some("a, \"q\""), None])),
            Arc::new(Date32Array::from(vec![Some(0), Some(19000), Some(-1)])),
            Arc::new(StringArray::from(vec![Some(long.as_str()), None, None])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), None).unwrap();
        w.write(&batch).unwrap();
        let footer = w.close().unwrap();
        let stats = from_parquet(&footer, &schema);
        let c = |n: &str| stats[n].clone();
        assert_eq!(c("i").nulls, 1);
        assert_eq!(
            (c("i").min.unwrap(), c("i").max.unwrap()),
            ("-5".into(), "42".into())
        );
        assert_eq!(c("f").max.as_deref(), Some("0.1"));
        assert_eq!(c("s").min.as_deref(), Some("a, \"q\""));
        assert_eq!(c("d").min.as_deref(), Some("1969-12-31"));
        assert_eq!(c("long").nulls, 2);
        // A truncated (inexact) bound is left out rather than claimed.
        assert!(c("long").max.is_none() || c("long").max.as_deref() == Some(long.as_str()));

        let file = TableFile {
            path: "p".into(),
            size: 100,
            rows: 3,
            columns: stats,
        };
        let df = to_datafusion(&file, &schema);
        assert_eq!(df.num_rows, Precision::Exact(3));
        let i = &df.column_statistics[0];
        assert_eq!(i.min_value, Precision::Exact(ScalarValue::Int64(Some(-5))));
        assert_eq!(i.null_count, Precision::Exact(1));
        let f = &df.column_statistics[1];
        assert_eq!(
            f.min_value,
            Precision::Exact(ScalarValue::Float64(Some(2.5e-300)))
        );
        // A file written before a column existed says nothing about it.
        let wider = Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .chain([Field::new("new", DataType::Int64, true)])
                .collect::<Vec<_>>(),
        );
        let df = to_datafusion(&file, &wider);
        assert_eq!(df.column_statistics[5].null_count, Precision::Absent);
    }
}
