//! The values a key can hold.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::vector::VectorSet;

/// A stored value. Every command checks the variant and answers WRONGTYPE
/// for the others.
#[derive(Debug, Clone)]
pub enum Value {
    /// A Redis string (binary safe).
    Str(Bytes),
    /// A vector set, shared so searches run outside the shard lock.
    VectorSet(Arc<RwLock<VectorSet>>),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::VectorSet(_) => "vectorset",
        }
    }
}
