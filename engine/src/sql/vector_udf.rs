//! Vector functions for SQL, SIMD through simsimd: `l2_distance(a, b)`,
//! `cosine_distance(a, b)`, `cosine_similarity(a, b)`,
//! `inner_product(a, b)`, `vector_norm(a)`. A vector is a list or
//! fixed-size list of numbers (`[0.1, 0.2]` literals, `vset()` vectors,
//! Parquet list columns) or a JSON array string (`'[0.1, 0.2]'`). Results
//! are Float64; NULL in, NULL out; vectors of different lengths are an
//! error.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float32Array, Float64Array, ListArray, StringArray};
use arrow_schema::{DataType, Field};
use datafusion::arrow::compute::cast;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use simsimd::SpatialSimilarity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    L2,
    CosineDistance,
    CosineSimilarity,
    Inner,
    Norm,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct VectorFn {
    name: &'static str,
    kind: Kind,
    signature: Signature,
}

/// Every vector function, ready to register.
pub fn functions() -> Vec<ScalarUDF> {
    [
        ("l2_distance", Kind::L2, 2),
        ("cosine_distance", Kind::CosineDistance, 2),
        ("cosine_similarity", Kind::CosineSimilarity, 2),
        ("inner_product", Kind::Inner, 2),
        ("vector_norm", Kind::Norm, 1),
    ]
    .into_iter()
    .map(|(name, kind, n)| {
        ScalarUDF::from(VectorFn {
            name,
            kind,
            signature: Signature::any(n, Volatility::Immutable),
        })
    })
    .collect()
}

/// Rows of a vector argument as f32 vectors (None for NULL).
fn vectors(arr: &ArrayRef) -> Result<Vec<Option<Vec<f32>>>> {
    match arr.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let s = cast(arr, &DataType::Utf8)?;
            let s = s
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("utf8 after cast");
            (0..s.len())
                .map(|i| {
                    if s.is_null(i) {
                        return Ok(None);
                    }
                    match serde_json::from_str::<Vec<f32>>(s.value(i)) {
                        Ok(v) => Ok(Some(v)),
                        Err(_) => {
                            exec_err!("'{}' is not a vector (a JSON array of numbers)", s.value(i))
                        }
                    }
                })
                .collect()
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _) => {
            let target = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
            let l = cast(arr, &target)?;
            let l = l
                .as_any()
                .downcast_ref::<ListArray>()
                .expect("list after cast");
            Ok((0..l.len())
                .map(|i| {
                    if l.is_null(i) {
                        return None;
                    }
                    let v = l.value(i);
                    let f = v
                        .as_any()
                        .downcast_ref::<Float32Array>()
                        .expect("f32 values");
                    Some(f.iter().map(|x| x.unwrap_or(f32::NAN)).collect())
                })
                .collect())
        }
        DataType::Null => Ok(vec![None; arr.len()]),
        other => exec_err!("expected a vector (list of numbers or JSON array text), got {other}"),
    }
}

impl ScalarUDFImpl for VectorFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .into_iter()
            .map(|a| a.into_array(n))
            .collect::<Result<_>>()?;
        let a = vectors(&arrays[0])?;
        let mut out = Vec::with_capacity(n);
        if self.kind == Kind::Norm {
            for v in &a {
                out.push(
                    v.as_ref()
                        .map(|v| <f32 as SpatialSimilarity>::dot(v, v).unwrap_or(0.0).sqrt()),
                );
            }
            return Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))));
        }
        let b = vectors(&arrays[1])?;
        for (x, y) in a.iter().zip(&b) {
            let (Some(x), Some(y)) = (x, y) else {
                out.push(None);
                continue;
            };
            if x.len() != y.len() {
                return exec_err!(
                    "{}: vectors of different dimensions ({} and {})",
                    self.name,
                    x.len(),
                    y.len()
                );
            }
            let d = match self.kind {
                Kind::L2 => <f32 as SpatialSimilarity>::sqeuclidean(x, y).map(f64::sqrt),
                Kind::CosineDistance => <f32 as SpatialSimilarity>::cos(x, y),
                Kind::CosineSimilarity => <f32 as SpatialSimilarity>::cos(x, y).map(|d| 1.0 - d),
                Kind::Inner => <f32 as SpatialSimilarity>::dot(x, y),
                Kind::Norm => unreachable!("handled above"),
            };
            out.push(d);
        }
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }
}
