//! Where the bytes of an ingest come from: the DATA argument (already in
//! memory), a file under `--import-dir`, or an object of the configured S3
//! bucket (downloaded in chunks to a temporary file first). Every source can
//! be opened more than once (schema inference reads a sample, then the
//! whole file is read again) and is read as a stream.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::IngestError;

/// The data to ingest.
pub enum Source {
    /// The file's bytes, sent by the client.
    Bytes(Bytes),
    /// A local file; `temp` ones (downloads) are deleted with the source.
    File {
        /// Its path.
        path: PathBuf,
        /// Delete it when done.
        temp: bool,
    },
}

impl Source {
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::File { path, .. } => std::fs::metadata(path).map_or(0, |m| m.len()),
        }
    }

    /// True when there is nothing to read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader from the start.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Source::Bytes(b) => Box::new(Cursor::new(b.clone())),
            Source::File { path, .. } => Box::new(File::open(path)?),
        })
    }

    /// A reader from the start that adds what it reads to `counter`.
    pub fn open_counted(&self, counter: Arc<AtomicU64>) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(Counted {
            inner: self.open()?,
            counter,
        }))
    }

    /// Up to `n` bytes from the start.
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(n);
        self.open()?.take(n as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        if let Source::File { path, temp: true } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

struct Counted {
    inner: Box<dyn Read + Send>,
    counter: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Resolves `FROM <uri>` for a local file: `file:///abs`, `/abs` or a path
/// relative to `import_dir`. The canonical path (symlinks and `..`
/// resolved) must lie inside the import directory.
pub fn import_path(uri: &str, import_dir: Option<&Path>) -> Result<PathBuf, IngestError> {
    let Some(dir) = import_dir else {
        return Err(IngestError(
            "INGEST FROM a server file is disabled: start the server with --import-dir <dir>"
                .into(),
        ));
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| IngestError(format!("import-dir {}: {e}", dir.display())))?;
    let raw = uri.strip_prefix("file://").unwrap_or(uri);
    let path = Path::new(raw);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    };
    let real = match joined.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !joined.starts_with(&dir) {
                return Err(outside(uri));
            }
            return Err(IngestError(format!("no such file: {uri}")));
        }
        Err(e) => return Err(IngestError(format!("cannot open {uri}: {e}"))),
    };
    if !real.starts_with(&dir) {
        return Err(outside(uri));
    }
    if !real.is_file() {
        return Err(IngestError(format!("not a file: {uri}")));
    }
    Ok(real)
}

fn outside(uri: &str) -> IngestError {
    IngestError(format!(
        "'{uri}' is outside the import directory (--import-dir)"
    ))
}

/// Splits `s3://bucket/key`; the bucket must be the store's own.
pub fn s3_object<'a>(uri: &'a str, store_bucket: Option<&str>) -> Result<&'a str, IngestError> {
    let rest = uri.strip_prefix("s3://").unwrap_or(uri);
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(own) = store_bucket else {
        return Err(IngestError(
            "INGEST FROM s3:// needs S3 storage (--storage s3://bucket/prefix)".into(),
        ));
    };
    if bucket != own {
        return Err(IngestError(format!(
            "only objects of the configured bucket '{own}' can be ingested"
        )));
    }
    if key.is_empty() || key.ends_with('/') || key.split('/').any(|p| p == "..") {
        return Err(IngestError(format!("bad object key in '{uri}'")));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_stay_inside_the_import_dir() {
        let base = std::env::temp_dir().join(format!("vl-import-{:x}", fastrand::u64(..)));
        let dir = base.join("in");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.csv"), "a\n1\n").unwrap();
        std::fs::write(base.join("secret.csv"), "a\n1\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret.csv"), dir.join("link.csv")).unwrap();
        let d = Some(dir.as_path());
        assert!(import_path("sub/a.csv", d).is_ok());
        let abs = dir.join("sub/a.csv");
        assert!(import_path(abs.to_str().unwrap(), d).is_ok());
        assert!(import_path(&format!("file://{}", abs.display()), d).is_ok());
        for bad in [
            "../secret.csv",
            "sub/../../secret.csv",
            "/etc/passwd",
            "link.csv",
        ] {
            let e = import_path(bad, d).unwrap_err();
            assert!(e.0.contains("outside the import directory"), "{bad}: {e}");
        }
        assert!(
            import_path("nope.csv", d)
                .unwrap_err()
                .0
                .contains("no such file")
        );
        assert!(import_path("sub", d).unwrap_err().0.contains("not a file"));
        assert!(
            import_path("sub/a.csv", None)
                .unwrap_err()
                .0
                .contains("--import-dir")
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn s3_objects_only_from_the_own_bucket() {
        assert_eq!(s3_object("s3://b/x/y.csv", Some("b")).unwrap(), "x/y.csv");
        assert!(s3_object("s3://other/y.csv", Some("b")).is_err());
        assert!(s3_object("s3://b/y.csv", None).is_err());
        assert!(s3_object("s3://b/", Some("b")).is_err());
        assert!(s3_object("s3://b/../y", Some("b")).is_err());
    }
}
