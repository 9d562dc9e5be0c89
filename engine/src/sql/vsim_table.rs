//! `vsim('key', <vector>, k [, 'filter'])`: a similarity search on a vector
//! set of the session's database as a table (element, score, attributes),
//! best first, so it can be joined with ingested tables in one query. The
//! vector is an array literal `[0.1, 0.2]` or a JSON array string; the
//! filter is a VSIM FILTER expression. The search runs on the set's HNSW
//! graph under its read lock while the query is planned.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{Array, Float64Array};
use arrow_schema::{DataType, Field, Schema};
use datafusion::arrow::compute::cast;
use datafusion::catalog::TableProvider;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::logical_expr::Expr;

use super::vset_table::{KeyScope, find_set};
use crate::vector::filter::Filter;
use crate::vector::set::{QueryInput, SearchParams};

/// Largest k.
const MAX_K: i64 = 10_000;

/// The table function.
#[derive(Debug)]
pub struct VsimFunction(pub KeyScope);

/// A constant number (literal, negated or cast literal).
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Literal(v, _) if !v.is_null() => match v.cast_to(&DataType::Float64).ok()? {
            ScalarValue::Float64(Some(x)) => Some(x),
            _ => None,
        },
        Expr::Negative(inner) => number(inner).map(|x| -x),
        Expr::Cast(c) => number(&c.expr),
        Expr::TryCast(c) => number(&c.expr),
        _ => None,
    }
}

/// The query vector: `[..]` (make_array of constants), a list literal, or
/// a JSON array string.
fn vector(e: &Expr) -> Option<Vec<f32>> {
    match e {
        Expr::ScalarFunction(f) if f.func.name() == "make_array" => {
            f.args.iter().map(|a| number(a).map(|x| x as f32)).collect()
        }
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _) => {
            let v: Vec<f64> = serde_json::from_str(s).ok()?;
            Some(v.into_iter().map(|x| x as f32).collect())
        }
        Expr::Literal(ScalarValue::List(l), _) if l.len() == 1 && !l.is_null(0) => {
            let values = cast(&l.value(0), &DataType::Float64).ok()?;
            let values = values.as_any().downcast_ref::<Float64Array>()?;
            if values.null_count() > 0 {
                return None;
            }
            Some(values.values().iter().map(|&x| x as f32).collect())
        }
        Expr::Cast(c) => vector(&c.expr),
        _ => None,
    }
}

fn string(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)), _) => Some(s),
        _ => None,
    }
}

impl TableFunctionImpl for VsimFunction {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::common::Result<Arc<dyn TableProvider>> {
        let usage = "vsim('key', [v1, v2, ...], k [, 'filter expression'])";
        let (key, query, k, filter) = match args.exprs() {
            [key, q, k] => (key, q, k, None),
            [key, q, k, f] => (key, q, k, Some(f)),
            _ => return plan_err!("usage: {usage}"),
        };
        let Some(key) = string(key) else {
            return plan_err!("vsim(): the key must be a string; usage: {usage}");
        };
        let Some(query) = vector(query) else {
            return plan_err!(
                "vsim(): the vector must be an array of numbers like [0.1, 0.2] or a JSON array string"
            );
        };
        let k = match number(k) {
            Some(k) if k.fract() == 0.0 && (1.0..=MAX_K as f64).contains(&k) => k as usize,
            _ => return plan_err!("vsim(): k must be an integer from 1 to {MAX_K}"),
        };
        let filter = match filter {
            None => None,
            Some(f) => {
                let Some(text) = string(f) else {
                    return plan_err!("vsim(): the filter must be a string");
                };
                match Filter::compile(text) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        return plan_err!(
                            "vsim(): syntax error in the filter at position {}",
                            e.pos
                        );
                    }
                }
            }
        };
        let set = find_set(&self.0, key)?;
        let hits = {
            let g = set.read();
            if let Err(e) = g.check_input(query.len()) {
                let e = e.to_string();
                return plan_err!("vsim(): {}", e.trim_start_matches("ERR "));
            }
            let params = SearchParams {
                count: k,
                ef: 0,
                filter: filter.as_ref(),
                filter_ef: 0,
                truth: false,
                epsilon: None,
            };
            match g.search(QueryInput::Vector(query), &params) {
                Ok(h) => h,
                Err(_) => return plan_err!("vsim(): element not found"),
            }
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("element", DataType::Utf8, false),
            Field::new("score", DataType::Float64, false),
            Field::new("attributes", DataType::Utf8, true),
        ]));
        let mut names = StringBuilder::new();
        let mut scores = Float64Builder::new();
        let mut attrs = StringBuilder::new();
        for h in hits {
            names.append_value(String::from_utf8_lossy(&h.element));
            scores.append_value(h.score);
            match h.attributes {
                Some(a) => attrs.append_value(String::from_utf8_lossy(&a)),
                None => attrs.append_null(),
            }
        }
        super::one_batch_table(
            schema,
            vec![
                Arc::new(names.finish()),
                Arc::new(scores.finish()),
                Arc::new(attrs.finish()),
            ],
        )
    }
}
