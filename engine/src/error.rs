//! Engine errors. The server turns each into its Redis error text in one place
//! (`src/error.rs`).

use thiserror::Error;

/// Why an engine operation was refused. Nothing is changed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The key holds a value of another type.
    #[error("wrong type")]
    WrongType,
    /// The stored value is not an integer (INCR family).
    #[error("value is not an integer")]
    NotInteger,
    /// The stored value is not a float (INCRBYFLOAT).
    #[error("value is not a valid float")]
    NotFloat,
    /// An integer increment would overflow 64 bits.
    #[error("increment or decrement would overflow")]
    Overflow,
    /// A float increment would produce NaN or infinity.
    #[error("increment would produce NaN or Infinity")]
    NanOrInfinity,
    /// The key does not exist (RENAME).
    #[error("no such key")]
    NoSuchKey,
    /// The resulting string would exceed the configured maximum length.
    #[error("string exceeds maximum allowed size")]
    StringTooLong,
    /// The change could not be written to the WAL (disk full, I/O error);
    /// it was not applied.
    #[error("{0}")]
    Persistence(String),
    /// A collection command refused the value it found (`ERR <text>`,
    /// e.g. `hash value is not an integer`).
    #[error("{0}")]
    Refused(&'static str),
    /// A command refused what it found with a whole error line of its own
    /// (`NOGROUP No such key ...`).
    #[error("{0}")]
    Line(String),
}
