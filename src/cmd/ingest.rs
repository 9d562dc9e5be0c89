//! INGEST table FORMAT csv|json|jsonl|parquet [MODE create|append|overwrite]
//! [HEADER yes|no] [DELIMITER c] [SCHEMA "name type, ..."]
//! (DATA bytes | FROM uri)
//!
//! With DATA the client sends the file itself (no shared file system
//! needed); FROM names a file under `--import-dir` (a relative path,
//! `/abs/path` or `file:///abs/path`) or an `s3://` object of the store's
//! bucket. One INGEST is one commit: every row or none. Reply: a map
//! (RESP2: flat array) `rows`, `version`.

use bytes::Bytes;
use vexlake_engine::ingest::{
    DecodeOptions, Format, IngestError, IngestRequest, Mode, Source, parse_schema, table_name,
};
use vexlake_protocol::args::is_keyword;

use super::persistence::block_on;
use super::{CmdResult, Ctx};
use crate::error::CmdError;

fn yes_no(v: &[u8]) -> Result<bool, CmdError> {
    match () {
        _ if is_keyword(v, "yes") || is_keyword(v, "true") => Ok(true),
        _ if is_keyword(v, "no") || is_keyword(v, "false") => Ok(false),
        _ => Err(CmdError::err("HEADER must be YES or NO")),
    }
}

/// INGEST.
pub fn ingest(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let table = table_name(&args[1]).map_err(|IngestError(e)| CmdError::err(e))?;
    let mut format = None;
    let mut mode = Mode::Auto;
    let mut header = true;
    let mut delimiter = b',';
    let mut schema = None;
    let mut data = None;
    let mut from = None;
    let mut i = 2;
    while i < args.len() {
        let opt = &args[i];
        let Some(value) = args.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        match () {
            _ if is_keyword(opt, "format") => {
                format = Some(match value {
                    v if is_keyword(v, "csv") => Format::Csv,
                    v if is_keyword(v, "json") => Format::Json,
                    v if is_keyword(v, "jsonl") || is_keyword(v, "ndjson") => Format::JsonLines,
                    v if is_keyword(v, "parquet") => Format::Parquet,
                    _ => return Err(CmdError::err("FORMAT must be CSV, JSON, JSONL or PARQUET")),
                })
            }
            _ if is_keyword(opt, "mode") => {
                mode = match value {
                    v if is_keyword(v, "create") => Mode::Create,
                    v if is_keyword(v, "append") => Mode::Append,
                    v if is_keyword(v, "overwrite") => Mode::Overwrite,
                    _ => return Err(CmdError::err("MODE must be CREATE, APPEND or OVERWRITE")),
                }
            }
            _ if is_keyword(opt, "header") => header = yes_no(value)?,
            _ if is_keyword(opt, "delimiter") => {
                delimiter = match value.as_ref() {
                    [c] if c.is_ascii() && *c != b'\n' && *c != b'\r' && *c != b'"' => *c,
                    _ => return Err(CmdError::err("DELIMITER must be one ASCII character")),
                }
            }
            _ if is_keyword(opt, "schema") => {
                let text = std::str::from_utf8(value)
                    .map_err(|_| CmdError::err("SCHEMA is not UTF-8 text"))?;
                schema = Some(parse_schema(text).map_err(CmdError::err)?);
            }
            _ if is_keyword(opt, "data") => {
                if i + 2 != args.len() {
                    return Err(CmdError::err("DATA must be the last argument"));
                }
                data = Some(value.clone());
            }
            _ if is_keyword(opt, "from") => {
                from = Some(
                    std::str::from_utf8(value)
                        .map_err(|_| CmdError::err("FROM is not UTF-8 text"))?
                        .to_string(),
                );
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 2;
    }
    let Some(format) = format else {
        return Err(CmdError::err("FORMAT is required"));
    };
    let Some(storage) = ctx.state.storage.get() else {
        return Err(CmdError::err("storage is not open"));
    };
    let scratch = ctx.state.config().dir.join("tmp");
    let err = |IngestError(e)| CmdError::err(e);
    let source = match (data, from) {
        (Some(_), Some(_)) => return Err(CmdError::err("use either DATA or FROM, not both")),
        (None, None) => return Err(CmdError::err("DATA or FROM is required")),
        (Some(data), None) => Source::Bytes(data),
        (None, Some(uri)) if uri.starts_with("s3://") => {
            block_on(storage.s3_source(&uri, &scratch)).map_err(err)?
        }
        (None, Some(uri)) => Source::File {
            path: vexlake_engine::ingest::source::import_path(
                &uri,
                ctx.state.config().import_dir.as_deref(),
            )
            .map_err(err)?,
            temp: false,
        },
    };
    let opts = DecodeOptions {
        format,
        header,
        delimiter,
        schema,
        infer_rows: 1000,
    };
    let started = std::time::Instant::now();
    let done = block_on(storage.ingest(IngestRequest {
        table,
        mode,
        opts,
        source,
        scratch,
    }));
    crate::metrics::timed(
        "vexlake_ingest_duration_seconds",
        "vexlake_ingest_requests_total",
        started,
        done.is_ok(),
    );
    let done = done.map_err(err)?;
    ctx.out.map(2);
    ctx.out.bulk(b"rows");
    ctx.out.int(done.rows as i64);
    ctx.out.bulk(b"version");
    ctx.out.int(done.version as i64);
    Ok(())
}
