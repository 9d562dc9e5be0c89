//! `vset('key')`: a vector set of the session's database as a table with
//! columns `element` (utf8), `vector` (fixed_size_list<float32>[dim], as
//! VEMB returns it) and `attributes` (utf8 JSON, null when none). The rows
//! are read under the set's read lock when the query is planned.

use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{DataFusionError, ScalarValue, plan_err};
use datafusion::logical_expr::Expr;

use crate::Engine;
use crate::EngineError;

/// Which keys a query may read (the client's ACL key patterns); `None`
/// allows every key.
pub type KeyFilter = Option<Arc<dyn Fn(&[u8]) -> bool + Send + Sync>>;

/// What the key-reading table functions (`vset`, `vsim`, `keyspace`) see:
/// the engine, the client's database and the keys it may read.
#[derive(Clone)]
pub struct KeyScope {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Database of the client that runs the query.
    pub db: usize,
    /// Keys the client may read.
    pub may_read: KeyFilter,
}

impl KeyScope {
    /// Whether the client may read `key`.
    pub fn allows(&self, key: &[u8]) -> bool {
        self.may_read.as_ref().is_none_or(|f| f(key))
    }
}

impl std::fmt::Debug for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "db {}", self.db)
    }
}

/// The vector set at `key` in the scope's database, or a planning error
/// (also when the client's ACL does not cover the key).
pub fn find_set(
    scope: &KeyScope,
    key: &str,
) -> datafusion::common::Result<crate::keyspace::SharedSet> {
    if !scope.allows(key.as_bytes()) {
        return plan_err!("No permissions to access a key");
    }
    let now = scope.engine.now_ms();
    match scope.engine.db(scope.db).vset(key.as_bytes(), now) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => plan_err!("no vector set at key '{key}'"),
        Err(EngineError::WrongType) => plan_err!("key '{key}' does not hold a vector set"),
        Err(e) => Err(DataFusionError::External(Box::new(e))),
    }
}

/// The table function.
#[derive(Debug)]
pub struct VsetFunction(pub KeyScope);

impl TableFunctionImpl for VsetFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let key = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(k)), _)] => k.clone(),
            _ => return plan_err!("vset() takes one argument: the key, as a string"),
        };
        let set = find_set(&self.0, &key)?;
        let g = set.read();
        let dim = g.dim() as i32;
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let schema = Arc::new(Schema::new(vec![
            Field::new("element", DataType::Utf8, false),
            Field::new("vector", DataType::FixedSizeList(item.clone(), dim), false),
            Field::new("attributes", DataType::Utf8, true),
        ]));
        let mut names = StringBuilder::new();
        let mut vecs = FixedSizeListBuilder::new(Float32Builder::new(), dim).with_field(item);
        let mut attrs = StringBuilder::new();
        let rows = g.rows();
        drop(g);
        for (name, v, a) in rows {
            names.append_value(String::from_utf8_lossy(&name));
            vecs.values().append_slice(&v);
            vecs.append(true);
            match a {
                Some(a) => attrs.append_value(String::from_utf8_lossy(&a)),
                None => attrs.append_null(),
            }
        }
        super::one_batch_table(
            schema,
            vec![
                Arc::new(names.finish()),
                Arc::new(vecs.finish()),
                Arc::new(attrs.finish()),
            ],
        )
    }
}
