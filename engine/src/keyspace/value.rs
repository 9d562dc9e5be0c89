//! The values a key can hold.
//!
//! Collections (hashes, sets, lists, sorted sets) are behind an `Arc`: a flush takes a
//! snapshot of a changed key by cloning the `Arc`, and a write that meets
//! a snapshot still in use copies the collection first
//! (`Arc::make_mut`), so neither waits for the other.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::zset::ZSetValue;
use crate::vector::VectorSet;

/// A stored value. Every command checks the variant and answers WRONGTYPE
/// for the others.
#[derive(Debug, Clone)]
pub enum Value {
    /// A Redis string (binary safe).
    Str(Bytes),
    /// A hash.
    Hash(Arc<HashValue>),
    /// A set.
    Set(Arc<SetValue>),
    /// A list.
    List(Arc<ListValue>),
    /// A sorted set.
    ZSet(Arc<ZSetValue>),
    /// A stream.
    Stream(Arc<StreamValue>),
    /// A vector set, shared so searches run outside the shard lock.
    VectorSet(Arc<RwLock<VectorSet>>),
}

/// The kinds of values, as `TYPE` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `string`.
    Str,
    /// `hash`.
    Hash,
    /// `set`.
    Set,
    /// `list`.
    List,
    /// `zset`.
    ZSet,
    /// `stream`.
    Stream,
    /// `vectorset`.
    VectorSet,
}

impl Kind {
    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Hash => "hash",
            Kind::Set => "set",
            Kind::List => "list",
            Kind::ZSet => "zset",
            Kind::Stream => "stream",
            Kind::VectorSet => "vectorset",
        }
    }

    /// The kind named `name` (as `TYPE` names it).
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Str,
            Kind::Hash,
            Kind::Set,
            Kind::List,
            Kind::ZSet,
            Kind::Stream,
            Kind::VectorSet,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }

    /// An empty collection of this kind (None for strings and vector sets).
    pub fn empty(self) -> Option<Value> {
        match self {
            Kind::Hash => Some(Value::Hash(Arc::new(HashValue::new()))),
            Kind::Set => Some(Value::Set(Arc::new(SetValue::new()))),
            Kind::List => Some(Value::List(Arc::new(ListValue::new()))),
            Kind::ZSet => Some(Value::ZSet(Arc::new(ZSetValue::new()))),
            Kind::Stream => Some(Value::Stream(Arc::new(StreamValue::new()))),
            Kind::Str | Kind::VectorSet => None,
        }
    }
}

impl Value {
    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Str(_) => Kind::Str,
            Value::Hash(_) => Kind::Hash,
            Value::Set(_) => Kind::Set,
            Value::List(_) => Kind::List,
            Value::ZSet(_) => Kind::ZSet,
            Value::Stream(_) => Kind::Stream,
            Value::VectorSet(_) => Kind::VectorSet,
        }
    }

    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        self.kind().name()
    }

    /// True for a collection with no element (the key is then removed;
    /// an empty stream stays, as in Redis).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::Str(_) | Value::Stream(_) | Value::VectorSet(_) => false,
        }
    }

    /// Bytes the value takes in memory (an estimate for collections).
    pub fn memory_bytes(&self) -> usize {
        match self {
            Value::Str(b) => b.len(),
            Value::Hash(h) => h.memory_bytes(),
            Value::Set(s) => s.memory_bytes(),
            Value::List(l) => l.memory_bytes(),
            Value::ZSet(z) => z.memory_bytes(),
            Value::Stream(s) => s.memory_bytes(),
            Value::VectorSet(set) => set.read().memory_bytes(),
        }
    }

    /// The hash, None when missing; WrongType for another kind.
    pub fn as_hash(v: Option<&Value>) -> Result<Option<&HashValue>, crate::EngineError> {
        match v {
            None => Ok(None),
            Some(Value::Hash(h)) => Ok(Some(h)),
            Some(_) => Err(crate::EngineError::WrongType),
        }
    }

    /// The set, None when missing; WrongType for another kind.
    pub fn as_set(v: Option<&Value>) -> Result<Option<&SetValue>, crate::EngineError> {
        match v {
            None => Ok(None),
            Some(Value::Set(s)) => Ok(Some(s)),
            Some(_) => Err(crate::EngineError::WrongType),
        }
    }

    /// The sorted set, None when missing; WrongType for another kind.
    pub fn as_zset(v: Option<&Value>) -> Result<Option<&ZSetValue>, crate::EngineError> {
        match v {
            None => Ok(None),
            Some(Value::ZSet(z)) => Ok(Some(z)),
            Some(_) => Err(crate::EngineError::WrongType),
        }
    }

    /// The stream, None when missing; WrongType for another kind.
    pub fn as_stream(v: Option<&Value>) -> Result<Option<&StreamValue>, crate::EngineError> {
        match v {
            None => Ok(None),
            Some(Value::Stream(s)) => Ok(Some(s)),
            Some(_) => Err(crate::EngineError::WrongType),
        }
    }

    /// The list, None when missing; WrongType for another kind.
    pub fn as_list(v: Option<&Value>) -> Result<Option<&ListValue>, crate::EngineError> {
        match v {
            None => Ok(None),
            Some(Value::List(l)) => Ok(Some(l)),
            Some(_) => Err(crate::EngineError::WrongType),
        }
    }
}
