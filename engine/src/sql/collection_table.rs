//! `hash('key')`, `zset('key')` and `stream('key')`: one collection of the
//! session's database as a table, so it can be joined with lake tables.
//!
//! - `hash('key')`: `field`, `value` (utf8), `ttl_ms` (int64, null when the
//!   field does not expire), in the hash's order;
//! - `zset('key')`: `member` (utf8), `score` (float64), `rank` (int64, from
//!   0), by score;
//! - `stream('key')`: one row per field of each entry: `id` (utf8), `ms`,
//!   `seq` (int64), `field`, `value` (utf8), in ID order.
//!
//! A missing key is an empty table; a key of another type, or one the
//! client's ACL does not cover, is a planning error. Bytes that are not
//! UTF-8 are shown with U+FFFD. The rows are copied under the key's shard
//! lock when the query is planned.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::logical_expr::Expr;

use super::vset_table::KeyScope;
use crate::keyspace::{Kind, Value};

/// Which collection the function reads.
#[derive(Debug, Clone, Copy)]
pub enum Collection {
    Hash,
    ZSet,
    Stream,
}

impl Collection {
    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            Collection::Hash => "hash",
            Collection::ZSet => "zset",
            Collection::Stream => "stream",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Collection::Hash => Kind::Hash,
            Collection::ZSet => Kind::ZSet,
            Collection::Stream => Kind::Stream,
        }
    }
}

/// The table function for one kind of collection.
#[derive(Debug)]
pub struct CollectionFunction(pub KeyScope, pub Collection);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl TableFunctionImpl for CollectionFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let (scope, what) = (&self.0, self.1);
        let name = what.name();
        let key = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(k)), _)] => k.clone(),
            _ => return plan_err!("{name}() takes one argument: the key, as a string"),
        };
        if !scope.allows(key.as_bytes()) {
            return plan_err!("No permissions to access a key");
        }
        let now = scope.engine.now_ms();
        // The value is shared (collections are behind an Arc), not copied.
        let value = scope
            .engine
            .db(scope.db)
            .view(key.as_bytes(), now, |v| v.cloned());
        if let Some(v) = &value
            && v.kind() != what.kind()
        {
            return plan_err!("key '{key}' does not hold a {name}");
        }
        let utf8 = |n: &str, null| Field::new(n, DataType::Utf8, null);
        let int = |n: &str, null| Field::new(n, DataType::Int64, null);
        let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = match (what, value) {
            (Collection::Hash, v) => {
                let (mut f, mut val, mut ttl) = (
                    StringBuilder::new(),
                    StringBuilder::new(),
                    Int64Builder::new(),
                );
                if let Some(Value::Hash(h)) = v {
                    for (k, x) in h.iter() {
                        f.append_value(text(k));
                        val.append_value(text(x));
                        ttl.append_option(h.expire_at(k).map(|t| t.saturating_sub(now) as i64));
                    }
                }
                (
                    vec![
                        utf8("field", false),
                        utf8("value", false),
                        int("ttl_ms", true),
                    ],
                    vec![
                        Arc::new(f.finish()),
                        Arc::new(val.finish()),
                        Arc::new(ttl.finish()),
                    ],
                )
            }
            (Collection::ZSet, v) => {
                let (mut m, mut s, mut r) = (
                    StringBuilder::new(),
                    Float64Builder::new(),
                    Int64Builder::new(),
                );
                if let Some(Value::ZSet(z)) = v {
                    for (i, (member, score)) in z.ordered().enumerate() {
                        m.append_value(text(member));
                        s.append_value(score);
                        r.append_value(i as i64);
                    }
                }
                (
                    vec![
                        utf8("member", false),
                        Field::new("score", DataType::Float64, false),
                        int("rank", false),
                    ],
                    vec![
                        Arc::new(m.finish()),
                        Arc::new(s.finish()),
                        Arc::new(r.finish()),
                    ],
                )
            }
            (Collection::Stream, v) => {
                let (mut id, mut ms, mut seq) = (
                    StringBuilder::new(),
                    Int64Builder::new(),
                    Int64Builder::new(),
                );
                let (mut f, mut val) = (StringBuilder::new(), StringBuilder::new());
                if let Some(Value::Stream(st)) = v {
                    for (eid, pairs) in &st.entries {
                        for p in pairs.chunks(2) {
                            id.append_value(eid.to_string());
                            ms.append_value(eid.ms as i64);
                            seq.append_value(eid.seq as i64);
                            f.append_value(text(&p[0]));
                            val.append_value(text(&p[1]));
                        }
                    }
                }
                (
                    vec![
                        utf8("id", false),
                        int("ms", false),
                        int("seq", false),
                        utf8("field", false),
                        utf8("value", false),
                    ],
                    vec![
                        Arc::new(id.finish()),
                        Arc::new(ms.finish()),
                        Arc::new(seq.finish()),
                        Arc::new(f.finish()),
                        Arc::new(val.finish()),
                    ],
                )
            }
        };
        super::one_batch_table(Arc::new(Schema::new(fields)), columns)
    }
}
