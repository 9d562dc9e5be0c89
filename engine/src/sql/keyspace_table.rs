//! `keyspace()`: the keys of the session's database as a table: `key`,
//! `type` (as TYPE names it), `value` (a string's bytes as text; a hash as
//! a JSON object of fields, a set or list as a JSON array of members or
//! elements, head first, a sorted set as a JSON array of `[member,
//! score]` in order (an infinite score as the string `inf` / `-inf`), a
//! stream as a JSON array of `[id, [[field, value], ...]]`; null
//! for vector sets), `ttl_ms` (null when the key does not expire). Bytes that are not UTF-8 are shown with U+FFFD.
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
            match value_text(value) {
                Some(t) => values.append_value(t),
                None => values.append_null(),
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

/// The `value` column of a key: a string as text, a collection as JSON.
pub(crate) fn value_text(value: &Value) -> Option<String> {
    use serde_json::Value as J;
    let text = |b: &[u8]| J::String(String::from_utf8_lossy(b).into_owned());
    let json = match value {
        Value::Str(b) => return Some(String::from_utf8_lossy(b).into_owned()),
        Value::VectorSet(_) => return None,
        Value::Hash(h) => J::Object(
            h.iter()
                .map(|(f, v)| (String::from_utf8_lossy(f).into_owned(), text(v)))
                .collect(),
        ),
        Value::Set(s) => J::Array(s.iter().map(text).collect()),
        Value::List(l) => J::Array(l.iter().map(text).collect()),
        Value::Stream(st) => J::Array(
            st.entries
                .iter()
                .map(|(id, f)| {
                    let fields = f
                        .chunks(2)
                        .map(|p| J::Array(vec![text(&p[0]), text(&p[1])]))
                        .collect();
                    J::Array(vec![J::String(id.to_string()), J::Array(fields)])
                })
                .collect(),
        ),
        Value::ZSet(z) => J::Array(
            z.ordered()
                .map(|(m, s)| {
                    let score = serde_json::Number::from_f64(s)
                        .map_or_else(|| J::String(s.to_string()), J::Number);
                    J::Array(vec![text(m), score])
                })
                .collect(),
        ),
    };
    Some(json.to_string())
}
