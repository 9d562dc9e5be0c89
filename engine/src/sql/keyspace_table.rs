//! `keyspace()`: the keys of the session's database as a table: `key`,
//! `type` ('string' or 'vectorset'), `value` (the string's bytes as text,
//! null for other types), `ttl_ms` (null when the key does not expire).
//! Read one shard at a time when the query is planned; the values are
//! shared, not copied.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::plan_err;

use super::vset_table::KeyScope;
use crate::keyspace::Value;

/// The table function. Keys the client's ACL does not cover are left out.
#[derive(Debug)]
pub struct KeyspaceFunction(pub KeyScope);

impl TableFunctionImpl for KeyspaceFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("keyspace() takes no arguments");
        }
        let scope = &self.0;
        let now = scope.engine.now_ms();
        let mut entries = scope.engine.db(scope.db).entries(now);
        entries.retain(|(key, _, _)| scope.allows(key));
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
            Field::new("ttl_ms", DataType::Int64, true),
        ]));
        let mut keys = StringBuilder::new();
        let mut types = StringBuilder::new();
        let mut values = StringBuilder::new();
        let mut ttls = Int64Builder::new();
        for (key, value, expire_at) in &entries {
            keys.append_value(String::from_utf8_lossy(key));
            types.append_value(value.type_name());
            match value {
                Value::Str(b) => values.append_value(String::from_utf8_lossy(b)),
                _ => values.append_null(),
            }
            ttls.append_option(expire_at.map(|at| at.saturating_sub(now) as i64));
        }
        super::one_batch_table(
            schema,
            vec![
                Arc::new(keys.finish()),
                Arc::new(types.finish()),
                Arc::new(values.finish()),
                Arc::new(ttls.finish()),
            ],
        )
    }
}
