//! Table writes in SQL, each one commit of the lake (whole or nothing,
//! visible to `VERSION n`):
//!
//! - `CREATE TABLE [IF NOT EXISTS] t AS SELECT ...` / `CREATE [OR REPLACE]
//!   TABLE t (columns)`: the query's rows become the table's files.
//! - `INSERT INTO t (VALUES ... | SELECT ...)`: new files are appended;
//!   `INSERT OVERWRITE t ...` replaces them.
//! - `DELETE FROM t [WHERE p]`: only files that hold matching rows are
//!   rewritten (the rows where `p` is not true), files where `p` matches
//!   every row are dropped, the others stay as they are. A file's min/max
//!   prune it without reading it.
//! - `UPDATE t [AS a] SET c = e, ... [WHERE p]`: as DELETE, only files
//!   that hold matching rows are rewritten, those rows with the new values.
//! - `TRUNCATE [TABLE] t`, `DROP TABLE [IF EXISTS] t`.
//! - `ALTER TABLE t ADD COLUMN c type`: the schema gains a nullable
//!   column; older files read it as nulls (no file is rewritten).
//! - `ALTER TABLE t CLUSTER BY (c, ...)`: the table's sort key; INSERTs
//!   and compaction write rows in that order, so range predicates prune.
//!
//! The reply is one row, `count`: rows written, updated or deleted (0 for DROP,
//! TRUNCATE and ALTER). Writes run on the latest version only, and are
//! refused on a read replica. Files are written by the same writer as
//! INGEST (with column statistics) into a scratch directory, uploaded,
//! then committed; a commit that finds the table changed by another writer
//! in between (files it rewrote are gone, the schema changed) fails with a
//! retry hint and its files are deleted.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::compute::cast;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{
    DdlStatement, DmlStatement, Expr, LogicalPlan, LogicalPlanBuilder, TableSource, WriteOp, col,
};
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{AlterTableOperation, ColumnOption, Statement};
use futures::StreamExt;

use super::manifest_table::ManifestTable;
use super::{SqlError, df_err};
use crate::ingest::parts::{Codec, Part, PartWriter};
use crate::storage::Storage;
use crate::storage::manifest::{Manifest, TableEntry, TableFile};
use crate::storage::tables::{columns, new_entry};

/// What a write needs.
pub struct WriteContext<'a> {
    /// The query's session (tables of the latest version registered).
    pub ctx: &'a SessionContext,
    /// The lake.
    pub storage: &'a Storage,
    /// The version the session was built from.
    pub manifest: &'a Manifest,
    /// Where parts are written before upload.
    pub scratch: &'a Path,
}

/// An `ALTER TABLE` statement.
pub enum Alter {
    /// `ADD COLUMN [IF NOT EXISTS] c type`.
    AddColumn {
        /// The table.
        table: String,
        /// The new (nullable) column.
        field: Field,
        /// No error when it exists.
        if_not_exists: bool,
    },
    /// `CLUSTER BY (c, ...)`: the sort key.
    SortKey {
        /// The table.
        table: String,
        /// Its columns.
        columns: Vec<String>,
    },
}

/// The `ALTER TABLE` statement `statement` is, if it is one (DataFusion
/// does not plan ALTER TABLE).
pub async fn alter_table(
    ctx: &SessionContext,
    statement: &DFStatement,
) -> Result<Option<Alter>, SqlError> {
    let DFStatement::Statement(st) = statement else {
        return Ok(None);
    };
    let Statement::AlterTable(alter) = st.as_ref() else {
        return Ok(None);
    };
    let table = alter
        .name
        .0
        .last()
        .map(|p| p.to_string())
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    match alter.operations.as_slice() {
        [
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            },
        ] => {
            if column_def
                .options
                .iter()
                .any(|o| !matches!(o.option, ColumnOption::Null))
            {
                return Err(SqlError::Err(
                    "a new column takes no constraints or default: it is NULL in existing rows"
                        .into(),
                ));
            }
            // DataFusion's own mapping of SQL types to Arrow types.
            let probe = format!("SELECT CAST(NULL AS {}) AS c", column_def.data_type);
            let data_type = ctx
                .sql(&probe)
                .await
                .map_err(df_err)?
                .schema()
                .field(0)
                .data_type()
                .clone();
            let field = Field::new(column_def.name.value.clone(), data_type, true);
            Ok(Some(Alter::AddColumn {
                table,
                field,
                if_not_exists: *if_not_exists,
            }))
        }
        [AlterTableOperation::ClusterBy { exprs }] => {
            let columns = exprs
                .iter()
                .map(|e| e.to_string().trim_matches('"').to_string())
                .collect();
            Ok(Some(Alter::SortKey { table, columns }))
        }
        _ => Err(SqlError::Err(
            "ALTER TABLE supports one ADD COLUMN or CLUSTER BY (columns) at a time".into(),
        )),
    }
}

/// Sets the sort key of `table` (columns it has).
pub async fn set_sort_key(
    storage: &Storage,
    table: &str,
    key: Vec<String>,
) -> Result<(), SqlError> {
    storage
        .commit_tables("sql-alter", |tables, version| {
            let t = tables
                .get_mut(table)
                .ok_or_else(|| format!("table '{table}' does not exist"))?;
            if let Some(c) = key
                .iter()
                .find(|c| t.arrow_schema.field_with_name(c).is_err())
            {
                return Err(format!("column '{c}' is not in table '{table}'"));
            }
            t.sort_key = key.clone();
            t.changed_in = version;
            Ok(())
        })
        .await
        .map_err(refusal)?;
    Ok(())
}

/// Whether `plan` writes (and so goes to [`run`]).
pub fn is_write(plan: &LogicalPlan) -> bool {
    matches!(
        plan,
        LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(_) | DdlStatement::DropTable(_))
            | LogicalPlan::Dml(DmlStatement {
                op: WriteOp::Insert(_)
                    | WriteOp::Delete
                    | WriteOp::Update
                    | WriteOp::Truncate
                    | WriteOp::Ctas,
                ..
            })
    )
}

/// Runs a write plan; the rows it wrote or deleted.
pub async fn run(w: &WriteContext<'_>, plan: LogicalPlan) -> Result<u64, SqlError> {
    match plan {
        LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) => {
            let name = c.name.table().to_string();
            let exists = w.manifest.tables.contains_key(&name);
            if exists && c.if_not_exists {
                return Ok(0);
            }
            if exists && !c.or_replace {
                return Err(SqlError::Err(format!("table '{name}' already exists")));
            }
            let schema = table_schema(c.input.schema().as_arrow())?;
            let (files, rows) = write_files(w, &name, (*c.input).clone(), &schema).await?;
            let replace = c.or_replace;
            commit(w, "sql-create", files, |tables, files, version| {
                if tables.contains_key(&name) && !replace {
                    return Err(format!("table '{name}' already exists"));
                }
                tables.insert(name.clone(), new_entry(&schema, files.to_vec(), version));
                Ok(())
            })
            .await?;
            Ok(rows)
        }
        LogicalPlan::Ddl(DdlStatement::DropTable(d)) => {
            let name = d.name.table().to_string();
            let if_exists = d.if_exists;
            commit(w, "sql-drop", Vec::new(), |tables, _, _| {
                match (tables.remove(&name), if_exists) {
                    (None, false) => Err(format!("table '{name}' does not exist")),
                    _ => Ok(()),
                }
            })
            .await?;
            Ok(0)
        }
        LogicalPlan::Dml(dml) => {
            let name = dml.table_name.table().to_string();
            let entry = w
                .manifest
                .tables
                .get(&name)
                .cloned()
                .ok_or_else(|| SqlError::Err(format!("table '{name}' does not exist")))?;
            match dml.op {
                WriteOp::Insert(op) => insert(w, &name, &entry, &dml.input, op).await,
                WriteOp::Delete => delete(w, &dml.table_name, &entry, &dml.input).await,
                WriteOp::Update => update(w, &dml.table_name, &entry, &dml.input).await,
                WriteOp::Truncate => {
                    replace_files(w, "sql-truncate", &name, &entry, &entry.files, Vec::new())
                        .await?;
                    Ok(0)
                }
                WriteOp::Ctas => Err(SqlError::Err("CREATE TABLE AS: unexpected plan".into())),
                _ => Err(SqlError::Err(format!(
                    "{} is not supported; use UPDATE, DELETE and INSERT",
                    dml.op.name()
                ))),
            }
        }
        _ => Err(SqlError::Err("not a table write".into())),
    }
}

/// ALTER TABLE `table` ADD COLUMN `field`.
pub async fn add_column(
    storage: &Storage,
    table: &str,
    field: Field,
    if_not_exists: bool,
) -> Result<(), SqlError> {
    let name = field.name().clone();
    storage
        .commit_tables("sql-alter", |tables, version| {
            let t = tables
                .get_mut(table)
                .ok_or_else(|| format!("table '{table}' does not exist"))?;
            if t.arrow_schema.field_with_name(&name).is_ok() {
                return if if_not_exists {
                    Ok(())
                } else {
                    Err(format!("column '{name}' already exists in '{table}'"))
                };
            }
            let mut fields: Vec<Field> = t
                .arrow_schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(field.clone());
            t.arrow_schema = Schema::new_with_metadata(fields, t.arrow_schema.metadata().clone());
            t.columns = columns(&t.arrow_schema);
            t.changed_in = version;
            Ok(())
        })
        .await
        .map_err(refusal)?;
    Ok(())
}

async fn insert(
    w: &WriteContext<'_>,
    name: &str,
    entry: &TableEntry,
    input: &LogicalPlan,
    op: InsertOp,
) -> Result<u64, SqlError> {
    let schema = Arc::new(entry.arrow_schema.clone());
    let input = sorted(input.clone(), &entry.sort_key)?;
    let (files, rows) = write_files(w, name, input, &schema).await?;
    let overwrite = match op {
        InsertOp::Append => false,
        InsertOp::Overwrite => true,
        InsertOp::Replace => {
            w.storage.discard(&files).await;
            return Err(SqlError::Err("REPLACE INTO is not supported".into()));
        }
    };
    commit(w, "sql-insert", files, |tables, files, version| {
        let t = tables
            .get_mut(name)
            .ok_or_else(|| format!("table '{name}' was dropped while inserting; retry"))?;
        if t.arrow_schema.fields() != schema.fields() {
            return Err(format!("table '{name}' changed while inserting; retry"));
        }
        if overwrite {
            t.files = files.to_vec();
        } else {
            t.files.extend(files.iter().cloned());
        }
        t.rows = t.files.iter().map(|f| f.rows).sum();
        t.changed_in = version;
        Ok(())
    })
    .await?;
    Ok(rows)
}

async fn delete(
    w: &WriteContext<'_>,
    table: &TableReference,
    entry: &TableEntry,
    input: &LogicalPlan,
) -> Result<u64, SqlError> {
    let name = table.table().to_string();
    let predicate = match input {
        LogicalPlan::Filter(f) => Some(f.predicate.clone()),
        _ => None,
    };
    let Some(predicate) = predicate else {
        // Every row goes.
        replace_files(w, "sql-delete", &name, entry, &entry.files, Vec::new()).await?;
        return Ok(entry.rows);
    };
    let schema = Arc::new(entry.arrow_schema.clone());
    let mut gone: Vec<TableFile> = Vec::new();
    let mut kept_parts: Vec<TableFile> = Vec::new();
    let mut deleted = 0u64;
    let rewritten = async {
        for file in &entry.files {
            let scan =
                LogicalPlanBuilder::scan(table.clone(), file_source(&name, entry, file), None)
                    .map_err(df_err)?;
            let n = matching_rows(w, scan.clone(), &predicate).await?;
            if n == 0 {
                continue;
            }
            if n < file.rows {
                let rest = scan
                    .filter(predicate.clone().is_not_true())
                    .and_then(|b| b.build())
                    .map_err(df_err)?;
                kept_parts.extend(write_files(w, &name, rest, &schema).await?.0);
            }
            deleted += n;
            gone.push(file.clone());
        }
        Ok(())
    }
    .await;
    if let Err(e) = rewritten {
        w.storage.discard(&kept_parts).await;
        return Err(e);
    }
    if gone.is_empty() {
        return Ok(0);
    }
    replace_files(w, "sql-delete", &name, entry, &gone, kept_parts).await?;
    Ok(deleted)
}

/// `UPDATE t [AS a] SET c = e, ... [WHERE p]`: as DELETE, only files that
/// hold rows where `p` is true are rewritten: those rows with the new
/// values, the others as they are (then in the table's sort order).
/// `input` is DataFusion's plan: the new row (every column, assigned ones
/// cast to their type) projected from the rows `p` keeps.
async fn update(
    w: &WriteContext<'_>,
    table: &TableReference,
    entry: &TableEntry,
    input: &LogicalPlan,
) -> Result<u64, SqlError> {
    let LogicalPlan::Projection(new_row) = input else {
        return Err(SqlError::Err("UPDATE: unexpected plan".into()));
    };
    let (predicate, rows) = match new_row.input.as_ref() {
        LogicalPlan::Filter(f) => (Some(&f.predicate), f.input.as_ref()),
        rows => (None, rows),
    };
    // The table's own rows, maybe under an alias; UPDATE ... FROM would
    // join them with others (a row could match twice).
    let scan_of_table = match rows {
        LogicalPlan::SubqueryAlias(a) => a.input.as_ref(),
        rows => rows,
    };
    if !matches!(scan_of_table, LogicalPlan::TableScan(s) if s.table_name == *table) {
        return Err(SqlError::Err(
            "UPDATE ... FROM is not supported; use a subquery in SET or WHERE".into(),
        ));
    }
    // Rows that keep their values, as the projection names them.
    let unchanged: Vec<Expr> = rows
        .schema()
        .columns()
        .into_iter()
        .map(|c| {
            let name = c.name.clone();
            Expr::Column(c).alias(name)
        })
        .collect();
    let name = table.table();
    let schema = Arc::new(entry.arrow_schema.clone());
    let mut gone: Vec<TableFile> = Vec::new();
    let mut written: Vec<TableFile> = Vec::new();
    let mut updated = 0u64;
    let rewritten = async {
        for file in &entry.files {
            let source = file_source(name, entry, file);
            let file_rows = rows
                .clone()
                .transform_up(|node| match node {
                    LogicalPlan::TableScan(s) => {
                        LogicalPlanBuilder::scan(s.table_name, source.clone(), None)
                            .and_then(|b| b.build())
                            .map(Transformed::yes)
                    }
                    node => Ok(Transformed::no(node)),
                })
                .map_err(df_err)?
                .data;
            let file_rows = LogicalPlanBuilder::from(file_rows);
            let n = match predicate {
                Some(p) => matching_rows(w, file_rows.clone(), p).await?,
                None => file.rows,
            };
            if n == 0 {
                continue;
            }
            let mut changed = file_rows.clone();
            if let Some(p) = predicate {
                changed = changed.filter(p.clone()).map_err(df_err)?;
            }
            let mut plan = changed.project(new_row.expr.clone()).map_err(df_err)?;
            if let (Some(p), true) = (predicate, n < file.rows) {
                let kept = file_rows
                    .filter(p.clone().is_not_true())
                    .and_then(|b| b.project(unchanged.clone()))
                    .and_then(|b| b.build())
                    .map_err(df_err)?;
                plan = plan.union(kept).map_err(df_err)?;
            }
            let plan = sorted(plan.build().map_err(df_err)?, &entry.sort_key)?;
            written.extend(write_files(w, name, plan, &schema).await?.0);
            updated += n;
            gone.push(file.clone());
        }
        Ok(())
    }
    .await;
    if let Err(e) = rewritten {
        w.storage.discard(&written).await;
        return Err(e);
    }
    if gone.is_empty() {
        return Ok(0);
    }
    replace_files(w, "sql-update", name, entry, &gone, written).await?;
    Ok(updated)
}

/// The table `name` (`entry`) reduced to one of its files, as a scan source.
fn file_source(name: &str, entry: &TableEntry, file: &TableFile) -> Arc<dyn TableSource> {
    let one = TableEntry {
        files: vec![file.clone()],
        rows: file.rows,
        ..entry.clone()
    };
    provider_as_source(Arc::new(ManifestTable::new(name, &one)))
}

/// How many of `rows` `predicate` is true for.
async fn matching_rows(
    w: &WriteContext<'_>,
    rows: LogicalPlanBuilder,
    predicate: &Expr,
) -> Result<u64, SqlError> {
    let matching = rows
        .filter(predicate.clone())
        .and_then(|b| b.build())
        .map_err(df_err)?;
    let n = DataFrame::new(w.ctx.state(), matching)
        .count()
        .await
        .map_err(df_err)?;
    Ok(n as u64)
}

/// `plan` sorted by `key` (nothing to do when empty).
pub(crate) fn sorted(plan: LogicalPlan, key: &[String]) -> Result<LogicalPlan, SqlError> {
    if key.is_empty() {
        return Ok(plan);
    }
    let order = key.iter().map(|c| col(c.as_str()).sort(true, true));
    LogicalPlanBuilder::from(plan)
        .sort(order)
        .and_then(|b| b.build())
        .map_err(df_err)
}

/// Commits: `table` loses files `gone` and gains `added`.
pub(crate) async fn replace_files(
    w: &WriteContext<'_>,
    operation: &str,
    name: &str,
    entry: &TableEntry,
    gone: &[TableFile],
    added: Vec<TableFile>,
) -> Result<(), SqlError> {
    let gone: HashSet<&str> = gone.iter().map(|f| f.path.as_str()).collect();
    let schema = entry.arrow_schema.clone();
    commit(w, operation, added, |tables, added, version| {
        let t = tables
            .get_mut(name)
            .ok_or_else(|| format!("table '{name}' was dropped meanwhile; retry"))?;
        let present = t
            .files
            .iter()
            .filter(|f| gone.contains(f.path.as_str()))
            .count();
        if present != gone.len() || t.arrow_schema != schema {
            return Err(format!("table '{name}' changed meanwhile; retry"));
        }
        t.files.retain(|f| !gone.contains(f.path.as_str()));
        t.files.extend(added.iter().cloned());
        t.rows = t.files.iter().map(|f| f.rows).sum();
        t.changed_in = version;
        Ok(())
    })
    .await
}

/// One commit of `change` with new `files`; they are deleted when it fails.
async fn commit(
    w: &WriteContext<'_>,
    operation: &str,
    files: Vec<TableFile>,
    mut change: impl FnMut(
        &mut std::collections::BTreeMap<String, TableEntry>,
        &[TableFile],
        u64,
    ) -> Result<(), String>,
) -> Result<(), SqlError> {
    let result = w
        .storage
        .commit_tables(operation, |tables, version| change(tables, &files, version))
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) => {
            w.storage.discard(&files).await;
            Err(refusal(e))
        }
    }
}

/// The schema a new table gets from a query's output: string and binary
/// views are stored as plain strings and binaries.
fn table_schema(out: &Schema) -> Result<SchemaRef, SqlError> {
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    for f in out.fields() {
        if !seen.insert(f.name().as_str()) {
            return Err(SqlError::Err(format!(
                "column '{}' appears twice; name the columns with AS",
                f.name()
            )));
        }
        let t = match f.data_type() {
            DataType::Utf8View => DataType::Utf8,
            DataType::BinaryView => DataType::Binary,
            t => t.clone(),
        };
        fields.push(Field::new(f.name(), t, f.is_nullable()));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Runs `plan` and writes its rows (cast to `schema`) as files of `table`,
/// uploaded but not committed.
pub(crate) async fn write_files(
    w: &WriteContext<'_>,
    table: &str,
    plan: LogicalPlan,
    schema: &SchemaRef,
) -> Result<(Vec<TableFile>, u64), SqlError> {
    let dir = w.scratch.join(format!("write-{:016x}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).map_err(|e| SqlError::Err(format!("scratch dir: {e}")))?;
    let _cleanup = RemoveDir(dir.clone());
    let codec = w.storage.config().table_codec;
    let parts = write_parts(w.ctx, plan, schema, &dir, codec).await?;
    let rows = parts.iter().map(|p| p.rows).sum();
    let files = w
        .storage
        .upload_parts(table, &parts)
        .await
        .map_err(|e| SqlError::Err(e.to_string()))?;
    Ok((files, rows))
}

async fn write_parts(
    ctx: &SessionContext,
    plan: LogicalPlan,
    schema: &SchemaRef,
    dir: &Path,
    codec: Codec,
) -> Result<Vec<Part>, SqlError> {
    let mut stream = DataFrame::new(ctx.state(), plan)
        .execute_stream()
        .await
        .map_err(df_err)?;
    let mut writer = PartWriter::new(dir, schema.clone(), codec).map_err(SqlError::Err)?;
    while let Some(batch) = stream.next().await {
        let batch = conform(batch.map_err(df_err)?, schema).map_err(df_err)?;
        if batch.num_rows() > 0 {
            writer.write(&batch).map_err(SqlError::Err)?;
        }
    }
    writer.finish().map_err(SqlError::Err)
}

/// `batch` with the columns cast to `schema`'s types.
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, DataFusionError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A failed commit as the client sees it: Redis's `READONLY` on a replica
/// or a fenced writer, else the reason.
fn refusal(e: crate::storage::StorageError) -> SqlError {
    const READONLY: &str = "READONLY You can't write against a read only replica.";
    match e {
        crate::storage::StorageError::ReadOnly => SqlError::Line(READONLY.into()),
        crate::storage::StorageError::Fenced(why) => SqlError::Line(format!("{READONLY} ({why})")),
        e => SqlError::Err(e.to_string()),
    }
}
