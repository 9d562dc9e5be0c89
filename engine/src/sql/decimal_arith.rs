//! Decimal `+`, `-` and `*` without checked 128-bit arithmetic per row.
//!
//! Arrow computes `a * b` of two Decimal128 arrays with `i128::checked_mul`
//! per row, and `a + b`, `a - b` of different scales by bringing each value
//! to the result's scale with a checked multiply first (TPC-H Q1's
//! `1 - l_discount`). Per row, these cost far more than the arithmetic:
//! they were a third of Q1's CPU. The logical optimizer rule
//! [`FastDecimalArith`] rewrites these expressions over two Decimal128
//! operands, in projections and aggregations, into the functions of
//! [`DecimalArith`]. They check once per batch, from the largest
//! magnitudes of the two sides, that no row can overflow, then compute
//! with plain (wrapping) arithmetic the compiler keeps in a tight loop; a
//! batch that could overflow goes to Arrow's checked kernel. Values,
//! result types (Arrow's), column names and errors stay those of the
//! original expression.
//!
//! Local queries only: Ballista's executors do not know the functions.

use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{ArrayRef, PrimitiveArray};
use arrow_schema::{DataType, Field, FieldRef};
use datafusion::arrow::compute::kernels::arity::binary;
use datafusion::arrow::compute::kernels::numeric::{add, mul, sub};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

/// The decimal operations this module takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Sub,
    Mul,
}

impl Op {
    fn of(op: Operator) -> Option<Op> {
        match op {
            Operator::Plus => Some(Op::Add),
            Operator::Minus => Some(Op::Sub),
            Operator::Multiply => Some(Op::Mul),
            _ => None,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
        }
    }

    /// Arrow's result type of `Decimal128(p1, s1) op Decimal128(p2, s2)`
    /// (`None` for other types, negative scales, or a scale over 38).
    fn result_type(self, left: &DataType, right: &DataType) -> Option<DataType> {
        let (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) = (left, right) else {
            return None;
        };
        let (p1, s1, p2, s2) = (*p1 as i32, *s1 as i32, *p2 as i32, *s2 as i32);
        if s1 < 0 || s2 < 0 {
            return None;
        }
        let (precision, scale) = match self {
            Op::Mul => (p1 + p2 + 1, s1 + s2),
            Op::Add | Op::Sub => {
                let scale = s1.max(s2);
                (scale + (p1 - s1).max(p2 - s2) + 1, scale)
            }
        };
        (scale <= 38).then(|| DataType::Decimal128(precision.min(38) as u8, scale as i8))
    }

    /// The factors the left and right values are multiplied by to reach
    /// the result's scale (1 for a product).
    fn rescale(self, left: &DataType, right: &DataType) -> (i128, i128) {
        match (self, left, right) {
            (Op::Add | Op::Sub, DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) => {
                let scale = (*s1).max(*s2);
                (
                    10i128.pow((scale - s1) as u32),
                    10i128.pow((scale - s2) as u32),
                )
            }
            _ => (1, 1),
        }
    }

    /// Whether no row can overflow, given the largest magnitudes `a`, `b`
    /// of the two sides and their rescale factors.
    fn cannot_overflow(self, a: u128, b: u128, (ma, mb): (i128, i128)) -> bool {
        let bound = match self {
            Op::Mul => a.checked_mul(b),
            Op::Add | Op::Sub => a
                .checked_mul(ma as u128)
                .zip(b.checked_mul(mb as u128))
                .and_then(|(x, y)| x.checked_add(y)),
        };
        bound.is_some_and(|m| m <= i128::MAX as u128)
    }
}

/// `decimal_add(a, b)`, `decimal_sub(a, b)`, `decimal_mul(a, b)`: `a + b`,
/// `a - b`, `a * b` of two Decimal128 values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DecimalArith {
    op: Op,
    signature: Signature,
}

impl DecimalArith {
    fn udf(op: Op) -> Arc<ScalarUDF> {
        static UDFS: OnceLock<[Arc<ScalarUDF>; 3]> = OnceLock::new();
        let udfs = UDFS.get_or_init(|| {
            [Op::Add, Op::Sub, Op::Mul].map(|op| {
                Arc::new(ScalarUDF::new_from_impl(DecimalArith {
                    op,
                    signature: Signature::any(2, Volatility::Immutable),
                }))
            })
        });
        udfs[op as usize].clone()
    }
}

/// One side of an operation: a batch's values or one value for all rows.
enum Side<'a> {
    Array(&'a PrimitiveArray<Decimal128Type>),
    Scalar(Option<i128>),
}

impl Side<'_> {
    /// The largest magnitude among the values (null slots of an array
    /// included: they only make the bound larger).
    fn max_abs(&self) -> u128 {
        match self {
            Side::Array(a) => a
                .values()
                .iter()
                .fold(0u128, |m, v| m.max(v.unsigned_abs())),
            Side::Scalar(v) => v.map_or(0, i128::unsigned_abs),
        }
    }
}

fn side(v: &ColumnarValue) -> Result<Side<'_>> {
    Ok(match v {
        ColumnarValue::Array(a) => Side::Array(a.as_primitive::<Decimal128Type>()),
        ColumnarValue::Scalar(ScalarValue::Decimal128(v, _, _)) => Side::Scalar(*v),
        ColumnarValue::Scalar(other) => {
            return exec_err!("decimal arithmetic of {}", other.data_type());
        }
    })
}

/// `f` over the rows of `a` and `b` (null where either is).
fn apply(
    a: &Side,
    b: &Side,
    rows: usize,
    f: impl Fn(i128, i128) -> i128,
) -> Result<PrimitiveArray<Decimal128Type>> {
    Ok(match (a, b) {
        (Side::Array(a), Side::Array(b)) => binary(*a, *b, f)?,
        (Side::Scalar(Some(x)), Side::Array(b)) => b.unary(|y| f(*x, y)),
        (Side::Array(a), Side::Scalar(Some(y))) => a.unary(|x| f(x, *y)),
        (Side::Scalar(Some(x)), Side::Scalar(Some(y))) => {
            PrimitiveArray::from_value(f(*x, *y), rows)
        }
        _ => PrimitiveArray::new_null(rows),
    })
}

impl ScalarUDFImpl for DecimalArith {
    fn name(&self) -> &str {
        match self.op {
            Op::Add => "decimal_add",
            Op::Sub => "decimal_sub",
            Op::Mul => "decimal_mul",
        }
    }

    /// The name `a op b` has, so the plan's columns keep their names.
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        match args {
            [a, b] => Ok(format!(
                "{} {} {}",
                a.schema_name(),
                self.op.symbol(),
                b.schema_name()
            )),
            _ => plan_err!("{} takes two arguments", self.name()),
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [a, b] => match self.op.result_type(a, b) {
                Some(t) => Ok(t),
                None => plan_err!("{} of {a} and {b}", self.name()),
            },
            _ => plan_err!("{} takes two arguments", self.name()),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        Ok(Arc::new(Field::new(
            self.name(),
            self.return_type(&types)?,
            nullable,
        )))
    }

    fn is_strict(&self) -> bool {
        true
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let DataType::Decimal128(precision, scale) = *args.return_type() else {
            return exec_err!("{} returns a Decimal128", self.name());
        };
        let [a, b] = args.args.as_slice() else {
            return exec_err!("{} takes two arguments", self.name());
        };
        let (sa, sb) = (side(a)?, side(b)?);
        let factors = self.op.rescale(
            args.arg_fields[0].data_type(),
            args.arg_fields[1].data_type(),
        );
        let rows = args.number_rows;
        let result: ArrayRef = if self.op.cannot_overflow(sa.max_abs(), sb.max_abs(), factors) {
            let (ma, mb) = factors;
            let out = match self.op {
                Op::Mul => apply(&sa, &sb, rows, |x, y| x.wrapping_mul(y))?,
                Op::Add if (ma, mb) == (1, 1) => apply(&sa, &sb, rows, |x, y| x.wrapping_add(y))?,
                Op::Sub if (ma, mb) == (1, 1) => apply(&sa, &sb, rows, |x, y| x.wrapping_sub(y))?,
                Op::Add => apply(&sa, &sb, rows, |x, y| {
                    x.wrapping_mul(ma).wrapping_add(y.wrapping_mul(mb))
                })?,
                Op::Sub => apply(&sa, &sb, rows, |x, y| {
                    x.wrapping_mul(ma).wrapping_sub(y.wrapping_mul(mb))
                })?,
            };
            Arc::new(out.with_precision_and_scale(precision, scale)?)
        } else {
            // Arrow's checked kernels decide (and report an overflow).
            let arrays = ColumnarValue::values_to_arrays(&args.args)?;
            let (a, b) = (&arrays[0], &arrays[1]);
            match self.op {
                Op::Add => add(a, b)?,
                Op::Sub => sub(a, b)?,
                Op::Mul => mul(a, b)?,
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// Rewrites `a + b`, `a - b` and `a * b` of two Decimal128 operands into
/// [`DecimalArith`] in projections and aggregations (see the module
/// documentation).
#[derive(Debug, Default)]
pub struct FastDecimalArith;

impl OptimizerRule for FastDecimalArith {
    fn name(&self) -> &str {
        "fast_decimal_arith"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let input = match &plan {
            LogicalPlan::Projection(p) => p.input.schema().clone(),
            LogicalPlan::Aggregate(a) => a.input.schema().clone(),
            _ => return Ok(Transformed::no(plan)),
        };
        plan.map_expressions(|e| e.transform_up(|e| rewrite(e, &input)))
    }
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else {
        return Ok(Transformed::no(e));
    };
    let Some(op) = Op::of(*op) else {
        return Ok(Transformed::no(e));
    };
    let result = op.result_type(&left.get_type(schema)?, &right.get_type(schema)?);
    // Only where DataFusion gives the expression Arrow's type (it does for
    // two decimals; a mismatch would change the plan's schema).
    if result.is_none() || result != Some(e.get_type(schema)?) {
        return Ok(Transformed::no(e));
    }
    let args = vec![left.as_ref().clone(), right.as_ref().clone()];
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(DecimalArith::udf(op), args),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Decimal128Array};

    fn call(op: Op, a: ColumnarValue, b: ColumnarValue, rows: usize) -> Result<ArrayRef> {
        let (ta, tb) = (a.data_type(), b.data_type());
        let t = op.result_type(&ta, &tb).unwrap();
        let args = ScalarFunctionArgs {
            arg_fields: vec![
                Arc::new(Field::new("a", ta, true)),
                Arc::new(Field::new("b", tb, true)),
            ],
            args: vec![a, b],
            number_rows: rows,
            return_field: Arc::new(Field::new("r", t, true)),
            config_options: Default::default(),
        };
        match DecimalArith::udf(op).invoke_with_args(args)? {
            ColumnarValue::Array(a) => Ok(a),
            ColumnarValue::Scalar(_) => panic!("an array was expected"),
        }
    }

    fn decimals(v: Vec<Option<i128>>, p: u8, s: i8) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(
            Decimal128Array::from(v)
                .with_precision_and_scale(p, s)
                .unwrap(),
        ))
    }

    /// Arrow's own result for the same operation.
    fn arrow(op: Op, a: &ColumnarValue, b: &ColumnarValue, rows: usize) -> ArrayRef {
        let a = a.to_array(rows).unwrap();
        let b = b.to_array(rows).unwrap();
        match op {
            Op::Add => add(&a, &b),
            Op::Sub => sub(&a, &b),
            Op::Mul => mul(&a, &b),
        }
        .unwrap()
    }

    #[test]
    fn results_equal_arrows_checked_ones() {
        let a = decimals(vec![Some(12345), None, Some(-700), Some(99_999_999)], 15, 2);
        let b = decimals(vec![Some(96), Some(1), Some(104), Some(-99_999_999)], 20, 2);
        let one = ColumnarValue::Scalar(ScalarValue::Decimal128(Some(1), 20, 0));
        let none = ColumnarValue::Scalar(ScalarValue::Decimal128(None, 20, 0));
        for op in [Op::Add, Op::Sub, Op::Mul] {
            for (x, y) in [(&a, &b), (&one, &a), (&a, &one), (&none, &a), (&b, &a)] {
                let got = call(op, x.clone(), y.clone(), 4).unwrap();
                let want = arrow(op, x, y, 4);
                assert_eq!(got.data_type(), want.data_type(), "{op:?}");
                assert_eq!(got.as_ref(), want.as_ref(), "{op:?}");
            }
        }
        // `1 - l_discount` as TPC-H Q1 has it: scales 0 and 2.
        let got = call(Op::Sub, one, decimals(vec![Some(4)], 15, 2), 1).unwrap();
        assert_eq!(got.data_type(), &DataType::Decimal128(23, 2));
        assert_eq!(got.as_primitive::<Decimal128Type>().value(0), 96);
    }

    #[test]
    fn batches_that_could_overflow_take_arrows_checked_path() {
        // Too large for the plain arithmetic: Arrow's kernel decides, and
        // reports the overflow.
        let big = decimals(vec![Some(1), Some(i128::MAX / 2)], 38, 0);
        let three = decimals(vec![Some(2), Some(3)], 1, 0);
        let err = call(Op::Mul, big, three, 2).unwrap_err().to_string();
        assert!(err.contains("Overflow"), "{err}");
        let big = decimals(vec![Some(i128::MAX / 4)], 38, 0);
        let got = call(Op::Mul, big, decimals(vec![Some(3)], 1, 0), 1).unwrap();
        assert_eq!(
            got.as_primitive::<Decimal128Type>().value(0),
            i128::MAX / 4 * 3
        );
        // Rescaling by 100 would overflow.
        let big = decimals(vec![Some(i128::MAX / 10)], 38, 0);
        let cents = decimals(vec![Some(1)], 3, 2);
        let err = call(Op::Add, big, cents, 1).unwrap_err().to_string();
        assert!(err.contains("Overflow"), "{err}");
    }
}
