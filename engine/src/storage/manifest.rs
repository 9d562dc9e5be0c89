//! Manifests: one JSON file per committed version, `_metadata/v{N:020}.json`,
//! created with a conditional put so a version is written exactly once.
//!
//! A manifest describes the whole lake at one version: every live file with
//! its size and row count (string keys of every database as a base file
//! plus deltas, each vector set as a base graph plus deltas, tables), the
//! parameters of every vector set, the WAL position the files cover, and
//! the writer epoch that committed it (see `fencing`). Format 1, where each
//! server owned an entry of a `writers` map, is read only to upgrade it
//! ([`Legacy`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of this JSON layout.
pub const FORMAT_VERSION: u32 = 2;

/// The layout of lakes written before the lake became one database.
pub const LEGACY_FORMAT_VERSION: u32 = 1;

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

/// Whether a file holds a whole state or the changes on top of the files
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// The whole state up to `to`.
    Base,
    /// What changed after `from`, up to `to`.
    Delta,
}

/// A Parquet file of string keys (base or delta).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvFile {
    /// The file.
    #[serde(flatten)]
    pub file: FileRef,
    /// Base or delta.
    pub kind: FileKind,
    /// WAL position the state before this file ends at (0 for a base).
    pub from: u64,
    /// WAL position this file brings the state to.
    pub to: u64,
}

/// One commit's files of a vector set: the elements as Parquet and the
/// graph (`.hnsw` index file for a base, `.hnswd` index delta for a delta).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsetFiles {
    /// Parquet: element, vector, attributes (a delta adds `deleted`).
    pub data: FileRef,
    /// The graph file.
    pub index: FileRef,
    /// The set's position the files start from (0 for a base).
    pub from: u64,
    /// The set's position (last WAL record applied) they bring it to.
    pub to: u64,
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
    /// Last WAL record contained in the files (of the last delta, or of
    /// the base when there is none).
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
    /// The whole set at `base.to`.
    pub base: VsetFiles,
    /// Changes after the base, in order.
    #[serde(default)]
    pub deltas: Vec<VsetFiles>,
}

impl VsetEntry {
    /// Every file of the set (base first).
    pub fn files(&self) -> impl Iterator<Item = &FileRef> {
        std::iter::once(&self.base)
            .chain(&self.deltas)
            .flat_map(|f| [&f.data, &f.index])
    }

    /// Bytes of all its files.
    pub fn bytes(&self) -> u64 {
        self.files().map(|f| f.size).sum()
    }
}

/// The writer that committed a version: its id (`<dir>/writer-id`) and its
/// epoch, which grows by one each time a server becomes the lake's writer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    /// Writer id.
    pub id: String,
    /// Epoch (0 before any writer).
    pub epoch: u64,
}

/// The WAL position of a version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalState {
    /// Every WAL record up to here is in the files.
    pub position: u64,
    /// The first WAL object (`wal/{n:020}.wal`) that may hold a record
    /// after `position`; the object chain continues from it.
    pub object: u64,
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

/// One Parquet file of a table, with the statistics a query plans with
/// (so planning reads no footers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFile {
    /// Path relative to the storage root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Rows.
    pub rows: u64,
    /// Per column (by name): null count and exact min/max. Absent for
    /// files committed before statistics were recorded, and for a column
    /// added to the table after the file was written (all nulls).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnStats>,
}

/// Statistics of one column in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ColumnStats {
    /// Nulls in the column.
    pub nulls: u64,
    /// Smallest value, as text that casts back to the column's type
    /// (absent when unknown or inexact, e.g. truncated long strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    /// Largest value, like `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// An ingested table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Columns, for people.
    pub columns: Vec<ColumnDef>,
    /// The Arrow schema every file of the table has.
    pub arrow_schema: arrow_schema::Schema,
    /// Parquet files, in ingest order.
    pub files: Vec<TableFile>,
    /// Total rows.
    pub rows: u64,
    /// Manifest version that created the table.
    pub created_in: u64,
    /// Columns compaction and SQL inserts sort rows by (`ALTER TABLE t
    /// CLUSTER BY (c, ...)`); empty = unsorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort_key: Vec<String>,
    /// Manifest version that last changed it.
    pub changed_in: u64,
}

/// One committed version of the lake.
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
    /// What made it: `acquire`, `flush`, `save`, `bgsave`, `shutdown`,
    /// `compact`, `ingest`, `upgrade`.
    pub operation: String,
    /// The writer (and its epoch) that committed it.
    pub writer: Writer,
    /// The WAL position the files cover.
    pub wal: WalState,
    /// String keys of every database: a base file, then deltas, in order.
    pub kv: Vec<KvFile>,
    /// Vector sets.
    pub vsets: Vec<VsetEntry>,
    /// Ingested tables by name.
    #[serde(default)]
    pub tables: BTreeMap<String, TableEntry>,
    /// The server's function libraries (FUNCTION LOAD), in load order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<crate::functions::LibraryEntry>,
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
            writer: Writer::default(),
            wal: WalState::default(),
            kv: Vec::new(),
            vsets: Vec::new(),
            tables: BTreeMap::new(),
            functions: Vec::new(),
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

    /// Every file the version references.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.kv
            .iter()
            .map(|f| f.file.path.as_str())
            .chain(
                self.vsets
                    .iter()
                    .flat_map(|v| v.files().map(|f| f.path.as_str())),
            )
            .chain(
                self.tables
                    .values()
                    .flat_map(|t| t.files.iter().map(|f| f.path.as_str())),
            )
    }

    /// Rows of the kv base (an upper bound of the string keys when deltas
    /// follow it).
    pub fn kv_rows(&self) -> u64 {
        self.kv.iter().map(|f| f.file.rows).sum()
    }

    /// Encodes as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("manifest serializes")
    }

    /// Decodes and checks the layout version. A format-1 manifest is
    /// refused here; [`Legacy::from_json`] reads it for an upgrade.
    pub fn from_json(data: &[u8]) -> Result<Manifest, ManifestError> {
        #[derive(Deserialize)]
        struct Head {
            format_version: u32,
        }
        let head: Head =
            serde_json::from_slice(data).map_err(|e| ManifestError::Bad(e.to_string()))?;
        match head.format_version {
            FORMAT_VERSION => {
                serde_json::from_slice(data).map_err(|e| ManifestError::Bad(e.to_string()))
            }
            LEGACY_FORMAT_VERSION => Err(ManifestError::Legacy),
            v => Err(ManifestError::Bad(format!(
                "manifest format_version {v} is not supported (this server reads {FORMAT_VERSION}, and upgrades {LEGACY_FORMAT_VERSION})"
            ))),
        }
    }
}

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not valid JSON of a known layout.
    #[error("{0}")]
    Bad(String),
    /// A format-1 manifest (upgrade it).
    #[error("manifest in format 1 (per-writer snapshots)")]
    Legacy,
}

/// What one server had committed in a format-1 manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LegacyWriter {
    /// Every record of that server's WAL up to here is in its files.
    pub wal_position: u64,
    /// Its string keys.
    pub kv: Vec<FileRef>,
    /// Its vector sets.
    pub vsets: Vec<LegacyVset>,
}

/// A vector set of a format-1 manifest (one data and one index file);
/// the fields mean what [`VsetEntry`]'s do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct LegacyVset {
    pub db: u32,
    pub key_hex: String,
    pub key: String,
    pub expire_at: Option<u64>,
    pub uid: u64,
    pub applied_seq: u64,
    pub dim: u32,
    pub reduce_from: Option<u32>,
    pub quant: String,
    pub metric: String,
    pub m: u32,
    pub elements: u64,
    /// Its elements (Parquet).
    pub data: FileRef,
    /// Its whole graph (`.hnsw`).
    pub index: FileRef,
}

/// A format-1 manifest: per-server entries in `writers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Legacy {
    /// Its version.
    pub version: u64,
    /// Each server's committed state, by writer id.
    pub writers: BTreeMap<String, LegacyWriter>,
    /// Tables (shared by all servers; kept by an upgrade).
    #[serde(default)]
    pub tables: BTreeMap<String, TableEntry>,
}

impl Legacy {
    /// Reads a format-1 manifest.
    pub fn from_json(data: &[u8]) -> Result<Legacy, String> {
        serde_json::from_slice(data).map_err(|e| e.to_string())
    }

    /// The lake state of writer `id`'s entry (the other entries are left
    /// out), as a format-2 manifest of the same version: its files become
    /// base files, its WAL position the lake's.
    pub fn upgrade(&self, id: &str) -> Option<Manifest> {
        let w = self.writers.get(id)?;
        let mut m = Manifest::empty();
        m.version = self.version;
        m.parent = self.version.saturating_sub(1);
        m.operation = "upgrade".into();
        m.wal.position = w.wal_position;
        m.kv =
            w.kv.iter()
                .map(|f| KvFile {
                    file: f.clone(),
                    kind: FileKind::Base,
                    from: 0,
                    to: w.wal_position,
                })
                .collect();
        m.vsets = w
            .vsets
            .iter()
            .map(|v| VsetEntry {
                db: v.db,
                key_hex: v.key_hex.clone(),
                key: v.key.clone(),
                expire_at: v.expire_at,
                uid: v.uid,
                applied_seq: v.applied_seq,
                dim: v.dim,
                reduce_from: v.reduce_from,
                quant: v.quant.clone(),
                metric: v.metric.clone(),
                m: v.m,
                elements: v.elements,
                base: VsetFiles {
                    data: v.data.clone(),
                    index: v.index.clone(),
                    from: 0,
                    to: v.applied_seq,
                },
                deltas: Vec::new(),
            })
            .collect();
        m.tables = self.tables.clone();
        Some(m)
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

    fn file(path: &str) -> FileRef {
        FileRef {
            path: path.into(),
            size: 10,
            rows: 2,
        }
    }

    #[test]
    fn names_and_json_round_trip() {
        assert_eq!(Manifest::path(42), "_metadata/v00000000000000000042.json");
        assert_eq!(Manifest::version_of(&Manifest::path(42)), Some(42));
        assert_eq!(Manifest::version_of("_metadata/probe-1"), None);
        assert_eq!(Manifest::version_of("_metadata/v42.json"), None);
        let mut m = Manifest::empty();
        m.version = 3;
        m.writer = Writer {
            id: "w".into(),
            epoch: 2,
        };
        m.wal = WalState {
            position: 9,
            object: 4,
        };
        m.kv = vec![
            KvFile {
                file: file("kv/a.parquet"),
                kind: FileKind::Base,
                from: 0,
                to: 5,
            },
            KvFile {
                file: file("kv/b.parquet"),
                kind: FileKind::Delta,
                from: 5,
                to: 9,
            },
        ];
        let json = String::from_utf8(m.to_json()).unwrap();
        assert!(json.contains("\"kind\": \"delta\""), "{json}");
        let back = Manifest::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, m);
        assert_eq!(
            back.files().collect::<Vec<_>>(),
            vec!["kv/a.parquet", "kv/b.parquet"]
        );
        let mut bad = m.clone();
        bad.format_version = 99;
        assert!(matches!(
            Manifest::from_json(&bad.to_json()),
            Err(ManifestError::Bad(_))
        ));
        assert!(Manifest::from_json(b"{").is_err());
        assert_eq!(unhex(&hex(b"\x00\xffab")).unwrap(), b"\x00\xffab");
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn format_1_is_recognized_and_upgraded() {
        let v1 = br#"{"format_version":1,"version":7,"parent":6,"timestamp_ms":1,
            "operation":"flush","committed_by":"w-a","writers":{"w-a":{"wal_position":40,
            "kv":[{"path":"kv/x.parquet","size":5,"rows":1}],
            "vsets":[{"db":0,"key_hex":"7673","key":"vs","expire_at":null,"uid":3,
              "applied_seq":38,"dim":2,"reduce_from":null,"quant":"int8","metric":"cosine",
              "m":16,"elements":1,"data":{"path":"vsets/vs/data/d.parquet","size":9,"rows":1},
              "index":{"path":"vsets/vs/index/d.hnsw","size":9,"rows":1}}]}},"tables":{}}"#;
        assert_eq!(Manifest::from_json(v1), Err(ManifestError::Legacy));
        let legacy = Legacy::from_json(v1).unwrap();
        assert!(legacy.upgrade("w-b").is_none());
        let m = legacy.upgrade("w-a").unwrap();
        assert_eq!(m.version, 7);
        assert_eq!(m.wal.position, 40);
        assert_eq!(m.kv[0].kind, FileKind::Base);
        assert_eq!(m.vsets[0].base.to, 38);
        assert_eq!(m.files().count(), 3);
    }
}
