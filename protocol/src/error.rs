//! Protocol errors. Their `Display` text is exactly what Redis replies before
//! it closes a connection that sent a malformed request.

use thiserror::Error;

/// A malformed or over-limit request. The connection is answered with
/// `-ERR Protocol error: ...` and then closed, as Redis does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An inline command line longer than the inline limit (64 KiB).
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    /// Quotes in an inline command are not closed.
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    /// The `*<count>` line did not end within the inline limit.
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    /// The `$<len>` line did not end within the inline limit.
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    /// The `*<count>` value is not a number or is too large.
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    /// The `$<len>` value is not a number, negative, or above `proto-max-bulk-len`.
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    /// An unauthenticated client sent more arguments than Redis allows before AUTH.
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    /// An unauthenticated client sent an argument larger than Redis allows before AUTH.
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    /// Inside a multibulk request, an element did not start with `$`.
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedDollar(char),
}
