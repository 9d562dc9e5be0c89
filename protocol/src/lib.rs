//! `vexlake-protocol`: the Redis wire protocol as VexLake speaks it, without I/O.
//!
//! Clients send commands as RESP arrays of bulk strings (or, from a terminal,
//! as inline text lines); the server answers in RESP2 or RESP3, chosen per
//! connection with `HELLO`. This crate turns bytes into argument vectors and
//! replies into bytes; it knows nothing about sockets or commands.
//!
//! # Layout
//! - [`request`]: incremental parser for client requests (multibulk and
//!   inline), enforcing Redis's limits before buffering large arguments.
//! - [`inline`]: splitting of inline command lines and config-file lines with
//!   Redis's quoting rules.
//! - [`reply`]: [`ReplyBuf`], a writer of RESP2/RESP3 replies straight into a
//!   byte buffer (maps become flat arrays in RESP2, doubles become bulk
//!   strings, and so on).
//! - [`frame`]: decoding a reply back into a [`frame::Frame`] (scripts read
//!   the replies of the commands they call).
//! - [`args`]: strict number parsing and case-insensitive matching used by
//!   every command's argument parser.
//! - [`error`]: [`ProtocolError`], whose text is what Redis sends.
//!
//! # Request path
//! ```text
//! socket bytes ─► request::RequestParser ─► Vec<Bytes> args ─► (server: command)
//!                                                            ─► reply::ReplyBuf ─► socket
//! ```

pub mod args;
pub mod error;
pub mod frame;
pub mod inline;
pub mod reply;
pub mod request;

pub use error::ProtocolError;
pub use reply::{Protocol, ReplyBuf};
pub use request::{Limits, Parsed, RequestParser};
