//! The server's function libraries (Redis's `FUNCTION LOAD`): their code,
//! kept by the engine so they are journaled, committed and restored like
//! the keyspace. Compiling and running them is the server's job; the
//! engine only stores `(library name, code)` pairs.
//!
//! Every change (load, delete, flush, restore) is one WAL record holding
//! the whole new list ([`Op::Functions`](crate::journal::Op::Functions)):
//! libraries are few and small, and replaying a record never depends on
//! the one before. A commit writes the list into the manifest
//! ([`LibraryEntry`]); restore and a replica's refresh read it back. A
//! generation number tells the server when its compiled copy is stale.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{RwLock, RwLockReadGuard};
use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::journal::Op;

/// One library: its name and its whole code (shebang line included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// Library name (from `#!lua name=...`).
    pub name: String,
    /// The code as given to FUNCTION LOAD.
    pub code: Bytes,
}

/// The libraries and a counter of changes.
#[derive(Debug, Default)]
pub struct Functions {
    inner: RwLock<(u64, Arc<Vec<Library>>)>,
}

impl Functions {
    /// The current libraries and their generation (bumped by every
    /// change).
    pub fn get(&self) -> (u64, Arc<Vec<Library>>) {
        let g = self.inner.read();
        (g.0, g.1.clone())
    }

    /// The generation alone (cheap: checked before each FCALL).
    pub fn generation(&self) -> u64 {
        self.inner.read().0
    }

    /// Replaces the list (replay, restore, a replica's refresh).
    pub fn replace(&self, libs: Vec<Library>) {
        let mut g = self.inner.write();
        g.0 += 1;
        g.1 = Arc::new(libs);
    }

    /// Held by a commit while it reads the WAL position, so a change is
    /// either in the commit or after its position.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, (u64, Arc<Vec<Library>>)> {
        self.inner.read()
    }
}

impl crate::Engine {
    /// Makes `libs` the server's libraries: logged as one WAL record, then
    /// applied. Returns the new generation.
    pub fn set_functions(&self, libs: Vec<Library>) -> Result<u64, EngineError> {
        let store = self.functions();
        let mut g = store.inner.write();
        let payload = encode(&libs);
        self.db(0).log_op(&Op::Functions {
            libraries: &payload,
        })?;
        g.0 += 1;
        g.1 = Arc::new(libs);
        Ok(g.0)
    }
}

/// The list as bytes (WAL records and FUNCTION DUMP): for each library,
/// name and code, each a `u32` little-endian length and its bytes.
pub fn encode(libs: &[Library]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in libs {
        for part in [l.name.as_bytes(), &l.code[..]] {
            out.extend_from_slice(&(part.len() as u32).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

/// Reads what [`encode`] wrote; None when malformed.
pub fn decode(mut data: &[u8]) -> Option<Vec<Library>> {
    let mut take = || -> Option<Option<&[u8]>> {
        if data.is_empty() {
            return Some(None);
        }
        let n = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
        let part = data.get(4..4 + n)?;
        data = &data[4 + n..];
        Some(Some(part))
    };
    let mut libs = Vec::new();
    while let Some(name) = take()? {
        let code = take()??;
        libs.push(Library {
            name: String::from_utf8(name.to_vec()).ok()?,
            code: Bytes::copy_from_slice(code),
        });
    }
    Some(libs)
}

/// A library in the manifest: its code as text, or as hex when it is not
/// UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LibraryEntry {
    /// Library name.
    pub name: String,
    /// The code, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The code in hex, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hex: Option<String>,
}

impl LibraryEntry {
    /// The manifest form of `lib`.
    pub fn of(lib: &Library) -> LibraryEntry {
        match std::str::from_utf8(&lib.code) {
            Ok(text) => LibraryEntry {
                name: lib.name.clone(),
                code: Some(text.to_string()),
                code_hex: None,
            },
            Err(_) => LibraryEntry {
                name: lib.name.clone(),
                code: None,
                code_hex: Some(crate::storage::manifest::hex(&lib.code)),
            },
        }
    }

    /// The library back; None when the entry has no readable code.
    pub fn library(&self) -> Option<Library> {
        let code = match (&self.code, &self.code_hex) {
            (Some(text), _) => Bytes::from(text.clone().into_bytes()),
            (None, Some(h)) => Bytes::from(crate::storage::manifest::unhex(h)?),
            (None, None) => return None,
        };
        Some(Library {
            name: self.name.clone(),
            code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_malformed() {
        let libs = vec![
            Library {
                name: "a".into(),
                code: Bytes::from_static(
                    b"#!lua name=a\nredis.register_function('f', function() end)",
                ),
            },
            Library {
                name: "b".into(),
                code: Bytes::from_static(b"\xff\x00"),
            },
        ];
        let bytes = encode(&libs);
        assert_eq!(decode(&bytes), Some(libs.clone()));
        assert_eq!(decode(&[]), Some(vec![]));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&bytes[..6]), None, "a name without code");
        for l in &libs {
            assert_eq!(LibraryEntry::of(l).library().as_ref(), Some(l));
        }
        assert!(LibraryEntry::of(&libs[1]).code.is_none());
    }
}
