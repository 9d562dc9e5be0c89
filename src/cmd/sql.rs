//! SQL: `SQL [FORMAT resp|arrow|json] [VERSION n] <query> [arg ...]`.
//!
//! The query runs on DataFusion's own runtime (engine/src/sql) against the
//! latest committed version, or version `n`. `$1`, `$2`, ... are bound to
//! the args: an arg that reads as an integer is bound as Int64, as a number
//! as Float64, anything else as a string.
//!
//! Reply (FORMAT resp, the default): an array whose first element is the
//! array of column names, followed by one array per row. Values: integers as
//! integers, floats as doubles (bulk strings in RESP2), NULL as null,
//! booleans as booleans (integers in RESP2), strings and binary as bulk
//! strings, lists and vectors as arrays, decimals, dates and times as bulk
//! strings of their text. FORMAT arrow: one bulk string holding an Arrow IPC
//! stream; FORMAT json: a JSON array of row objects.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use bytes::Bytes;
use vexlake_engine::sql::{QueryRequest, QueryResult, SqlError};

/// The ACL key check handed to SQL table functions.
type KeyCheck = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;
use vexlake_protocol::args::{is_keyword, parse_f64, parse_i64};

use datafusion::common::ScalarValue;

use super::persistence::block_on;
use super::table::{BASE, CommandSpec};
use super::{CmdResult, Ctx, uint_arg};
use crate::error::CmdError;

/// The SQL and INGEST commands.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sql",
        arity: -2,
        flags: &["readonly"],
        acl: &["@read", "@sql", "@slow"],
        group: "sql",
        since: "0.1.0",
        summary: "VexLake: runs a SQL query (DataFusion) over the committed tables, vset('key'), vsim(...) and keyspace(); $1.. are bound to the args.",
        complexity: "Depends on the query.",
        syntax: "[FORMAT (RESP | ARROW | JSON)] [VERSION version:integer] query [arg ...]",
        handler: sql,
        ..BASE
    },
    CommandSpec {
        name: "ingest",
        arity: -6,
        flags: &["write", "denyoom"],
        acl: &["@write", "@sql", "@slow"],
        group: "sql",
        since: "0.1.0",
        summary: "VexLake: loads a CSV, JSON or Parquet file (sent in the command, under --import-dir, or in the store's S3 bucket) into a table, as one commit.",
        complexity: "O(N) in the size of the data.",
        syntax: "table FORMAT (CSV | JSON | JSONL | PARQUET) [MODE (CREATE | APPEND | OVERWRITE)] [HEADER (YES | NO)] [DELIMITER char] [SCHEMA columns] (DATA data | FROM uri)",
        handler: super::ingest::ingest,
        ..BASE
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Resp,
    Arrow,
    Json,
}

fn bind(arg: &[u8]) -> ScalarValue {
    if let Some(i) = parse_i64(arg) {
        return ScalarValue::Int64(Some(i));
    }
    if let Some(f) = parse_f64(arg).filter(|f| f.is_finite()) {
        return ScalarValue::Float64(Some(f));
    }
    ScalarValue::Utf8(Some(String::from_utf8_lossy(arg).into_owned()))
}

/// SQL [FORMAT f] [VERSION n] query [arg ...].
pub fn sql(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut output = Output::Resp;
    let mut version = None;
    let mut i = 1;
    while i + 1 < args.len() {
        if is_keyword(&args[i], "format") {
            output = match &args[i + 1] {
                a if is_keyword(a, "resp") => Output::Resp,
                a if is_keyword(a, "arrow") => Output::Arrow,
                a if is_keyword(a, "json") => Output::Json,
                _ => return Err(CmdError::err("FORMAT must be RESP, ARROW or JSON")),
            };
        } else if is_keyword(&args[i], "version") {
            version = Some(uint_arg(&args[i + 1])?);
        } else {
            break;
        }
        i += 2;
    }
    let Some(query) = args.get(i) else {
        return Err(CmdError::WrongArity("sql"));
    };
    let query = std::str::from_utf8(query)
        .map_err(|_| CmdError::err("the query is not UTF-8 text"))?
        .to_string();
    let params: Vec<ScalarValue> = args[i + 1..].iter().map(|a| bind(a)).collect();
    let (Some(storage), Some(sql)) = (ctx.state.storage.get(), ctx.state.sql.get()) else {
        return Err(CmdError::err("storage is not open"));
    };
    let started = std::time::Instant::now();
    let result = block_on(sql.query(QueryRequest {
        storage: storage.clone(),
        engine: ctx.state.engine.clone(),
        db: ctx.conn.db,
        may_read: (!ctx.conn.user.allkeys).then(|| {
            let user = ctx.conn.user.clone();
            Arc::new(move |k: &[u8]| user.may_read(k)) as KeyCheck
        }),
        sql: query,
        params,
        version,
        may_write: may_write_tables(ctx),
    }));
    crate::metrics::timed(
        "vexlake_sql_query_duration_seconds",
        "vexlake_sql_queries_total",
        started,
        result.is_ok(),
    );
    let result = result.map_err(|e| match e {
        SqlError::Err(e) => CmdError::err(e),
        SqlError::Line(e) => CmdError::Line(e),
    })?;
    match output {
        Output::Resp => write_rows(ctx, &result),
        Output::Arrow => {
            let mut buf = Vec::new();
            {
                let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut buf, &result.schema)
                    .map_err(|e| CmdError::err(e.to_string()))?;
                for b in &result.batches {
                    w.write(b).map_err(|e| CmdError::err(e.to_string()))?;
                }
                w.finish().map_err(|e| CmdError::err(e.to_string()))?;
            }
            ctx.out.bulk(&buf);
        }
        Output::Json => {
            let mut w = arrow_json::ArrayWriter::new(Vec::new());
            let refs: Vec<&RecordBatch> = result.batches.iter().collect();
            w.write_batches(&refs)
                .map_err(|e| CmdError::err(e.to_string()))?;
            w.finish().map_err(|e| CmdError::err(e.to_string()))?;
            let mut text = w.into_inner();
            if text.is_empty() {
                text = b"[]".to_vec();
            }
            ctx.out.bulk(&text);
        }
    }
    Ok(())
}

/// Whether SQL may write tables for this client: as for INGEST, the server
/// must write to the lake and the user must be allowed INGEST.
fn may_write_tables(ctx: &Ctx<'_>) -> Result<(), String> {
    if let Err(e) = ctx.state.check_writable() {
        return Err(e.line().into_owned());
    }
    if !ctx.conn.user.may_run("ingest") {
        return Err(format!(
            "NOPERM User {} has no permissions to write tables (it may not run 'ingest')",
            ctx.conn.user.name
        ));
    }
    Ok(())
}

fn write_rows(ctx: &mut Ctx<'_>, r: &QueryResult) {
    let rows: usize = r.batches.iter().map(|b| b.num_rows()).sum();
    let out = &mut *ctx.out;
    out.array(rows + 1);
    out.array(r.schema.fields().len());
    for f in r.schema.fields() {
        out.bulk(f.name().as_bytes());
    }
    for b in &r.batches {
        for row in 0..b.num_rows() {
            out.array(b.num_columns());
            for col in b.columns() {
                match ScalarValue::try_from_array(col.as_ref(), row) {
                    Ok(v) => write_value(out, &v),
                    Err(_) => out.null(),
                }
            }
        }
    }
}

fn write_value(out: &mut vexlake_protocol::ReplyBuf, v: &ScalarValue) {
    use ScalarValue as S;
    if v.is_null() {
        out.null();
        return;
    }
    match v {
        S::Boolean(Some(b)) => out.bool(*b),
        S::Int8(Some(i)) => out.int(i64::from(*i)),
        S::Int16(Some(i)) => out.int(i64::from(*i)),
        S::Int32(Some(i)) => out.int(i64::from(*i)),
        S::Int64(Some(i)) => out.int(*i),
        S::UInt8(Some(i)) => out.int(i64::from(*i)),
        S::UInt16(Some(i)) => out.int(i64::from(*i)),
        S::UInt32(Some(i)) => out.int(i64::from(*i)),
        S::UInt64(Some(i)) => match i64::try_from(*i) {
            Ok(i) => out.int(i),
            Err(_) => out.bulk(i.to_string().as_bytes()),
        },
        S::Float32(Some(f)) => out.double(f64::from(*f)),
        S::Float64(Some(f)) => out.double(*f),
        S::Utf8(Some(s)) | S::LargeUtf8(Some(s)) | S::Utf8View(Some(s)) => out.bulk(s.as_bytes()),
        S::Binary(Some(b)) | S::LargeBinary(Some(b)) | S::BinaryView(Some(b)) => out.bulk(b),
        S::List(a) => write_list(out, a.as_ref()),
        S::LargeList(a) => write_list(out, a.as_ref()),
        S::FixedSizeList(a) => write_list(out, a.as_ref()),
        other => out.bulk(other.to_string().as_bytes()),
    }
}

fn write_list(out: &mut vexlake_protocol::ReplyBuf, list: &dyn Array) {
    // A one-row list array: its single value's elements.
    let values: Arc<dyn Array> = match list.data_type() {
        arrow_schema::DataType::List(_) => {
            let l = list
                .as_any()
                .downcast_ref::<arrow_array::ListArray>()
                .expect("list");
            l.value(0)
        }
        arrow_schema::DataType::LargeList(_) => {
            let l = list
                .as_any()
                .downcast_ref::<arrow_array::LargeListArray>()
                .expect("large list");
            l.value(0)
        }
        arrow_schema::DataType::FixedSizeList(_, _) => {
            let l = list
                .as_any()
                .downcast_ref::<arrow_array::FixedSizeListArray>()
                .expect("fixed size list");
            l.value(0)
        }
        _ => {
            out.null();
            return;
        }
    };
    out.array(values.len());
    for i in 0..values.len() {
        match ScalarValue::try_from_array(values.as_ref(), i) {
            Ok(v) => write_value(out, &v),
            Err(_) => out.null(),
        }
    }
}
