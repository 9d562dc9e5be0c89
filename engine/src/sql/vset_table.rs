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

/// The vector set at `key` in database `db`, or a planning error.
pub fn find_set(
    engine: &Engine,
    db: usize,
    key: &str,
) -> datafusion::common::Result<crate::keyspace::SharedSet> {
    let now = engine.now_ms();
    match engine.db(db).vset(key.as_bytes(), now) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => plan_err!("no vector set at key '{key}'"),
        Err(EngineError::WrongType) => plan_err!("key '{key}' does not hold a vector set"),
        Err(e) => Err(DataFusionError::External(Box::new(e))),
    }
}

/// The table function.
pub struct VsetFunction {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Database of the client that runs the query.
    pub db: usize,
}

impl std::fmt::Debug for VsetFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vset(db {})", self.db)
    }
}

impl TableFunctionImpl for VsetFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let key = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(k)), _)] => k.clone(),
            _ => return plan_err!("vset() takes one argument: the key, as a string"),
        };
        let set = find_set(&self.engine, self.db, &key)?;
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
        g.for_each_element(|name, v, a| {
            names.append_value(String::from_utf8_lossy(name));
            vecs.values().append_slice(&v);
            vecs.append(true);
            match a {
                Some(a) => attrs.append_value(String::from_utf8_lossy(a)),
                None => attrs.append_null(),
            }
        });
        drop(g);
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
