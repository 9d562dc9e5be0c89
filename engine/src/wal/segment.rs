//! WAL segment files: `<dir>/<first sequence, 20 digits>.wal`. A segment
//! holds consecutive records starting at the sequence in its name; a new
//! segment starts when the current one passes the configured size.

use std::path::{Path, PathBuf};

/// File name suffix of segments.
pub const SUFFIX: &str = ".wal";

/// Path of the segment whose first record is `first_seq`.
pub fn path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{first_seq:020}{SUFFIX}"))
}

/// Segments in `dir`, ordered by first sequence. Other files are ignored.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if stem.len() == 20
            && let Ok(seq) = stem.parse::<u64>()
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}
