//! Command errors and their Redis error texts: the one place where engine
//! and argument errors become RESP error replies.

use std::borrow::Cow;

use vexlake_engine::EngineError;

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `ERR syntax error`.
    Syntax,
    /// `ERR value is not an integer or out of range`.
    NotInteger,
    /// `ERR value is not a valid float`.
    NotFloat,
    /// `ERR wrong number of arguments for '<name>' command`.
    WrongArity(&'static str),
    /// An engine refusal.
    Engine(EngineError),
    /// `ERR <text>`.
    Err(String),
    /// A whole error line with its own code (`NOAUTH ...`, `WRONGPASS ...`).
    Line(String),
}

/// Redis's reply to a write sent to a read-only replica.
pub const READONLY: &str = "READONLY You can't write against a read only replica.";

/// A write refused because this server does not write to the lake: a
/// replica (Redis's exact text), or a writer fenced by a newer one (the
/// same code, with why).
pub fn readonly(fenced: Option<&str>) -> CmdError {
    match fenced {
        None => CmdError::Line(READONLY.into()),
        Some(why) => CmdError::Line(format!("{READONLY} ({why})")),
    }
}

impl From<EngineError> for CmdError {
    fn from(e: EngineError) -> Self {
        CmdError::Engine(e)
    }
}

impl CmdError {
    /// `ERR <text>`.
    pub fn err(text: impl Into<String>) -> Self {
        CmdError::Err(text.into())
    }

    /// The error line sent to the client (without `-` and CRLF).
    pub fn line(&self) -> Cow<'static, str> {
        match self {
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::WrongArity(name) => {
                format!("ERR wrong number of arguments for '{name}' command").into()
            }
            CmdError::Err(text) => format!("ERR {text}").into(),
            CmdError::Line(line) => line.clone().into(),
            CmdError::Engine(e) => match e {
                EngineError::WrongType => {
                    "WRONGTYPE Operation against a key holding the wrong kind of value".into()
                }
                EngineError::NotInteger => "ERR value is not an integer or out of range".into(),
                EngineError::NotFloat => "ERR value is not a valid float".into(),
                EngineError::Overflow => "ERR increment or decrement would overflow".into(),
                EngineError::NanOrInfinity => "ERR increment would produce NaN or Infinity".into(),
                EngineError::NoSuchKey => "ERR no such key".into(),
                EngineError::StringTooLong => {
                    "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
                }
                EngineError::Persistence(why) => {
                    format!("MISCONF Errors writing to the AOF file: {why}").into()
                }
                EngineError::Line(line) => line.clone().into(),
                other => format!("ERR {other}").into(),
            },
        }
    }
}
