//! Manifests: one JSON file per committed version, `_metadata/v{N:020}.json`,
//! created with a conditional put so a version is written exactly once.
//!
//! A manifest lists every live file with its size and row count, the
//! parameters of every vector set, and per writer (one server with its own
//! local WAL) the WAL position its files cover. Each server owns one entry
//! of `writers`; committing replaces only that entry, so two servers on one
//! bucket rebase onto each other's commits instead of overwriting them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of this JSON layout.
pub const FORMAT_VERSION: u32 = 1;

/// Directory of the manifests.
pub const METADATA_DIR: &str = "_metadata";

/// A data or index file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the storage root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows (Parquet) or elements (index).
    pub rows: u64,
}

/// A vector set at one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VsetEntry {
    /// Database number.
    pub db: u32,
    /// The key, hex-encoded (keys are binary).
    pub key_hex: String,
    /// The key as text, for people (lossy for non-UTF-8 keys).
    pub key: String,
    /// Expiry in Unix ms.
    pub expire_at: Option<u64>,
    /// The set's unique id.
    pub uid: u64,
    /// Last WAL record of this writer contained in the files.
    pub applied_seq: u64,
    /// Stored dimension.
    pub dim: u32,
    /// REDUCE input dimension (`null` = no projection).
    pub reduce_from: Option<u32>,
    /// `f32`, `int8` or `bin`.
    pub quant: String,
    /// `cosine`, `l2` or `ip`.
    pub metric: String,
    /// HNSW M.
    pub m: u32,
    /// Number of elements.
    pub elements: u64,
    /// Parquet: element, vector, attributes.
    pub data: FileRef,
    /// The graph file (`.hnsw`, docs/storage-format.md).
    pub index: FileRef,
}

/// What one server (writer) has committed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriterState {
    /// Every record of this writer's WAL up to here is in the files.
    pub wal_position: u64,
    /// String keys (Parquet: db, key, value, expire_at).
    pub kv: Vec<FileRef>,
    /// Vector sets.
    pub vsets: Vec<VsetEntry>,
}

/// A column of a table (for people and for checks; the Parquet files hold
/// the authoritative Arrow schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Arrow data type, as Arrow displays it (`Int64`, `Utf8`, ...).
    pub data_type: String,
    /// Whether nulls are allowed.
    pub nullable: bool,
}

/// An ingested table, shared by every writer of the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Columns, for people.
    pub columns: Vec<ColumnDef>,
    /// The Arrow schema every file of the table has.
    pub arrow_schema: arrow_schema::Schema,
    /// Parquet files, in ingest order.
    pub files: Vec<FileRef>,
    /// Total rows.
    pub rows: u64,
    /// Manifest version that created the table.
    pub created_in: u64,
    /// Manifest version that last changed it.
    pub changed_in: u64,
}

/// One committed version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// This version (1, 2, ...).
    pub version: u64,
    /// The version it was built on (0 for the first).
    pub parent: u64,
    /// Commit time, Unix ms.
    pub timestamp_ms: u64,
    /// What made it: `flush`, `save`, `shutdown`, `compact`.
    pub operation: String,
    /// The writer that committed it.
    pub committed_by: String,
    /// Per writer id.
    pub writers: BTreeMap<String, WriterState>,
    /// Ingested tables by name.
    #[serde(default)]
    pub tables: BTreeMap<String, TableEntry>,
}

impl Manifest {
    /// The empty state before the first commit.
    pub fn empty() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            version: 0,
            parent: 0,
            timestamp_ms: 0,
            operation: String::new(),
            committed_by: String::new(),
            writers: BTreeMap::new(),
            tables: BTreeMap::new(),
        }
    }

    /// Path of version `v`.
    pub fn path(v: u64) -> String {
        format!("{METADATA_DIR}/v{v:020}.json")
    }

    /// The version number of a manifest path, if it is one.
    pub fn version_of(path: &str) -> Option<u64> {
        let name = path.rsplit('/').next()?;
        let digits = name.strip_prefix('v')?.strip_suffix(".json")?;
        (digits.len() == 20).then(|| digits.parse().ok())?
    }

    /// Every file any writer or table references.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.writers
            .values()
            .flat_map(|w| {
                w.kv.iter().map(|f| f.path.as_str()).chain(
                    w.vsets
                        .iter()
                        .flat_map(|v| [v.data.path.as_str(), v.index.path.as_str()]),
                )
            })
            .chain(
                self.tables
                    .values()
                    .flat_map(|t| t.files.iter().map(|f| f.path.as_str())),
            )
    }

    /// Encodes as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("manifest serializes")
    }

    /// Decodes and checks the layout version.
    pub fn from_json(data: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(data).map_err(|e| e.to_string())?;
        if m.format_version != FORMAT_VERSION {
            return Err(format!(
                "manifest format_version {} is not supported (this server reads {FORMAT_VERSION})",
                m.format_version
            ));
        }
        Ok(m)
    }
}

/// Hex of a binary key.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Bytes of a hex string.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_json_round_trip() {
        assert_eq!(Manifest::path(42), "_metadata/v00000000000000000042.json");
        assert_eq!(Manifest::version_of(&Manifest::path(42)), Some(42));
        assert_eq!(Manifest::version_of("_metadata/probe-1"), None);
        assert_eq!(Manifest::version_of("_metadata/v42.json"), None);
        let mut m = Manifest::empty();
        m.version = 3;
        m.writers.insert(
            "w".into(),
            WriterState {
                wal_position: 9,
                kv: vec![FileRef {
                    path: "kv/a.parquet".into(),
                    size: 10,
                    rows: 2,
                }],
                vsets: vec![],
            },
        );
        let back = Manifest::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.files().collect::<Vec<_>>(), vec!["kv/a.parquet"]);
        let mut bad = m.clone();
        bad.format_version = 99;
        assert!(Manifest::from_json(&bad.to_json()).is_err());
        assert!(Manifest::from_json(b"{").is_err());
        assert_eq!(unhex(&hex(b"\x00\xffab")).unwrap(), b"\x00\xffab");
        assert_eq!(unhex("zz"), None);
    }
}
