//! Names of everything VexLake writes in a lake, in one place
//! (docs/storage-format.md documents them):
//!
//! ```text
//! _metadata/v{N:020}.json                 manifest of version N
//! _lake/writer.json                       the writer's heartbeat (liveness)
//! wal/{n:020}.wal                         WAL object n (--wal-storage object)
//! kv/<name>.parquet                       string keys (base or delta)
//! vsets/<key>/data/<name>.parquet         vector-set elements (base or delta)
//! vsets/<key>/index/<name>.hnsw           vector-set graph (base)
//! vsets/<key>/index/<name>.hnswd          vector-set graph delta
//! tables/<table>/data/<name>.parquet      table data
//! ```
//!
//! `<name>` is `<creation time in ms, 13 digits>-<16 random hex digits>`;
//! GC reads the time back for its grace period.

/// Directory of string-key files.
pub const KV_DIR: &str = "kv";
/// Directory of vector-set files.
pub const VSETS_DIR: &str = "vsets";
/// Directory of table files.
pub const TABLES_DIR: &str = "tables";
/// Directory of WAL objects.
pub const WAL_DIR: &str = "wal";
/// The writer's heartbeat object.
pub const HEARTBEAT: &str = "_lake/writer.json";

/// A file name that sorts by creation time and says when it was made:
/// `<ms:013>-<random:016x>`.
pub fn new_file_name(now_ms: u64) -> String {
    format!("{now_ms:013}-{:016x}", fastrand::u64(..))
}

/// The creation time encoded by [`new_file_name`] in a path's file name.
pub fn file_time(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    name.split('-').next()?.parse().ok()
}

/// A new string-key file.
pub fn kv_file(now_ms: u64) -> String {
    format!("{KV_DIR}/{}.parquet", new_file_name(now_ms))
}

/// Path-safe form of a key: bytes outside `[A-Za-z0-9._-]` as `%XX`, and
/// `@dbN` for databases other than 0.
pub fn key_dir(db: u32, key: &[u8]) -> String {
    let mut s = String::new();
    for &b in key {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '%');
    }
    if db == 0 { s } else { format!("{s}@db{db}") }
}

/// A new pair of vector-set files (data, index) for the set at `key`; the
/// index is a delta (`.hnswd`) or a whole graph (`.hnsw`).
pub fn vset_files(db: u32, key: &[u8], now_ms: u64, delta: bool) -> (String, String) {
    let dir = format!("{VSETS_DIR}/{}", key_dir(db, key));
    let name = new_file_name(now_ms);
    let ext = if delta { "hnswd" } else { "hnsw" };
    (
        format!("{dir}/data/{name}.parquet"),
        format!("{dir}/index/{name}.{ext}"),
    )
}

/// A new data file of `table`.
pub fn table_file(table: &str, now_ms: u64) -> String {
    format!(
        "{TABLES_DIR}/{table}/data/{}.parquet",
        new_file_name(now_ms)
    )
}

/// WAL object `n`.
pub fn wal_object(n: u64) -> String {
    format!("{WAL_DIR}/{n:020}.wal")
}

/// The number of a WAL object path, if it is one.
pub fn wal_object_number(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    let digits = name.strip_suffix(".wal")?;
    (digits.len() == 20).then(|| digits.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(key_dir(0, b"a b/c"), "a%20b%2Fc");
        assert_eq!(key_dir(3, b".x"), "%.x@db3");
        assert_eq!(key_dir(0, b""), "%");
        let f = kv_file(1_795_325_788_910);
        assert!(f.starts_with("kv/1795325788910-"), "{f}");
        assert_eq!(file_time(&f), Some(1_795_325_788_910));
        let (d, i) = vset_files(0, b"vs", 5, true);
        assert!(d.starts_with("vsets/vs/data/0000000000005-") && i.ends_with(".hnswd"));
        assert_eq!(wal_object(42), "wal/00000000000000000042.wal");
        assert_eq!(wal_object_number(&wal_object(42)), Some(42));
        assert_eq!(wal_object_number("wal/42.wal"), None);
    }
}
