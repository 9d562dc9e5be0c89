//! The values a key can hold.

use bytes::Bytes;

/// A stored value. Vector sets join strings here when they land; every
/// command checks the variant and answers WRONGTYPE for the others.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A Redis string (binary safe).
    Str(Bytes),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }
}
