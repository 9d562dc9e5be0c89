//! Object storage through OpenDAL: a local directory (`file://`, the
//! embedded default) or an S3-compatible bucket (`s3://bucket/prefix`).
//!
//! Everything is written with plain puts except manifests, which need a
//! *conditional* put (create only if absent) so two writers can never both
//! commit the same version. S3 does it with `If-None-Match: *` (through
//! OpenDAL's `if_not_exists`). For local directories OpenDAL's fs service
//! offers either an exclusive create written in place (a reader or a crash
//! can see half a manifest) or a temp file renamed over the target (not
//! exclusive), so the store does it itself: write a temp file, fsync, then
//! `link(2)` it to the final name, which fails if the name exists.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use bytes::Bytes;
use opendal::{ErrorKind, Operator};

/// Where and how to reach S3 (from `--s3-endpoint`, `--s3-region` and the
/// standard credential variables, which the server reads).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Endpoint URL, e.g. `http://127.0.0.1:8333`; AWS when empty.
    pub endpoint: Option<String>,
    /// Region (`us-east-1` when empty).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A malformed `--storage` URL or options.
    #[error("{0}")]
    Config(String),
    /// The backend failed.
    #[error("object store error: {0}")]
    Backend(#[from] opendal::Error),
    /// Local file system error.
    #[error("object store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The backend did not answer in time.
    #[error("object store did not answer within {0:?}")]
    Timeout(Duration),
}

/// Longest wait for one object-store call (a hung endpoint must not hang
/// SAVE or the flusher forever).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Chunk size of streamed uploads and downloads.
const CHUNK: usize = 8 << 20;

async fn timed<T>(f: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    within(CALL_TIMEOUT, f).await
}

async fn within<T>(
    limit: Duration,
    f: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or(Err(StoreError::Timeout(limit)))
}

enum Kind {
    Fs(PathBuf),
    S3,
}

/// An object store rooted at the configured location.
pub struct Store {
    op: Operator,
    kind: Kind,
    url: String,
}

static TRANSPORT: Once = Once::new();

/// OpenDAL is built without its default HTTP stack (which brings a second
/// TLS library); install reqwest on rustls with the ring provider once.
fn install_transport() {
    TRANSPORT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal_http_transport_reqwest::install_default();
    });
}

impl Store {
    /// Opens `url`: `file:///abs/path`, a plain path, or
    /// `s3://bucket[/prefix]`.
    pub fn open(url: &str, s3: &S3Options) -> Result<Store, StoreError> {
        if let Some(rest) = url.strip_prefix("s3://") {
            install_transport();
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StoreError::Config(format!(
                    "storage '{url}': the bucket name is missing"
                )));
            }
            let mut b = opendal::services::S3::default()
                .bucket(bucket)
                .root(&format!("/{}", prefix.trim_matches('/')))
                .region(s3.region.as_deref().unwrap_or("us-east-1"))
                .disable_config_load()
                .disable_ec2_metadata();
            if let Some(e) = &s3.endpoint {
                b = b.endpoint(e);
            }
            if let Some(k) = &s3.access_key_id {
                b = b.access_key_id(k);
            }
            if let Some(k) = &s3.secret_access_key {
                b = b.secret_access_key(k);
            }
            let op = Operator::new(b)?;
            return Ok(Store {
                op,
                kind: Kind::S3,
                url: url.to_string(),
            });
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.contains("://") {
            return Err(StoreError::Config(format!(
                "storage '{url}': use file:///path or s3://bucket/prefix"
            )));
        }
        let root = PathBuf::from(path);
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        let b = opendal::services::Fs::default().root(&root.to_string_lossy());
        let op = Operator::new(b)?;
        Ok(Store {
            op,
            kind: Kind::Fs(root),
            url: url.to_string(),
        })
    }

    /// The OpenDAL operator (for readers that bring their own adapter, like
    /// SQL's object store).
    pub fn operator(&self) -> Operator {
        self.op.clone()
    }

    /// The URL the store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Reads a whole object.
    pub async fn read(&self, path: &str) -> Result<Bytes, StoreError> {
        timed(async { Ok(self.op.read(path).await?.to_bytes()) }).await
    }

    /// Reads a whole object, or `None` when it does not exist.
    pub async fn read_if_exists(&self, path: &str) -> Result<Option<Bytes>, StoreError> {
        timed(async {
            match self.op.read(path).await {
                Ok(b) => Ok(Some(b.to_bytes())),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Whether an object exists.
    pub async fn exists(&self, path: &str) -> Result<bool, StoreError> {
        timed(async {
            match self.op.stat(path).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Writes a whole object (replacing it).
    pub async fn write(&self, path: &str, data: Bytes) -> Result<(), StoreError> {
        timed(async {
            self.op.write(path, data).await?;
            Ok(())
        })
        .await
    }

    /// Creates `path` with `data` only if it does not exist; false if it
    /// did. Atomic: readers see the whole object or nothing.
    pub async fn put_if_absent(&self, path: &str, data: Bytes) -> Result<bool, StoreError> {
        timed(self.put_if_absent_inner(path, data)).await
    }

    /// [`Store::put_if_absent`] that gives up after `limit` (WAL uploads
    /// wait for it before acknowledging writes).
    pub async fn put_if_absent_within(
        &self,
        path: &str,
        data: Bytes,
        limit: Duration,
    ) -> Result<bool, StoreError> {
        within(limit, self.put_if_absent_inner(path, data)).await
    }

    async fn put_if_absent_inner(&self, path: &str, data: Bytes) -> Result<bool, StoreError> {
        match &self.kind {
            Kind::S3 => match self.op.write_with(path, data).if_not_exists(true).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::ConditionNotMatch => Ok(false),
                Err(e) => Err(e.into()),
            },
            Kind::Fs(root) => {
                let target = root.join(path);
                let data = data.clone();
                tokio::task::spawn_blocking(move || link_if_absent(&target, &data))
                    .await
                    .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
            }
        }
    }

    /// Streams the local file `local` into the object `path` in chunks
    /// (memory stays bounded whatever the file's size).
    pub async fn upload(&self, path: &str, local: &Path) -> Result<u64, StoreError> {
        use tokio::io::AsyncReadExt;
        let mut file = tokio::fs::File::open(local).await?;
        let mut w = timed(async { Ok(self.op.writer_with(path).chunk(CHUNK).await?) }).await?;
        let mut total = 0u64;
        loop {
            let mut buf = Vec::with_capacity(CHUNK);
            let n = (&mut file).take(CHUNK as u64).read_to_end(&mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if let Err(e) = timed(async { Ok(w.write(buf).await?) }).await {
                let _ = w.abort().await;
                return Err(e);
            }
        }
        timed(async { Ok(w.close().await.map(|_| ())?) }).await?;
        Ok(total)
    }

    /// Streams the object `path` into the new local file `local`, chunk by
    /// chunk; returns its size.
    pub async fn download(&self, path: &str, local: &Path) -> Result<u64, StoreError> {
        use tokio::io::AsyncWriteExt;
        let size = timed(async { Ok(self.op.stat(path).await?.content_length()) }).await?;
        let reader = timed(async { Ok(self.op.reader(path).await?) }).await?;
        let mut file = tokio::fs::File::create(local).await?;
        let mut at = 0u64;
        while at < size {
            let end = (at + CHUNK as u64).min(size);
            let buf = timed(async { Ok(reader.read(at..end).await?) }).await?;
            file.write_all(&buf.to_bytes()).await?;
            at = end;
        }
        file.flush().await?;
        Ok(size)
    }

    /// For an S3 store, its bucket.
    pub fn bucket(&self) -> Option<&str> {
        match self.kind {
            Kind::S3 => self
                .url
                .strip_prefix("s3://")
                .map(|r| r.split('/').next().unwrap_or(r)),
            Kind::Fs(_) => None,
        }
    }

    /// Paths of every object under `dir` (recursively), relative to the root.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        timed(self.list_inner(dir)).await
    }

    async fn list_inner(&self, dir: &str) -> Result<Vec<String>, StoreError> {
        let dir = format!("{}/", dir.trim_end_matches('/'));
        let entries = match self.op.list_with(&dir).recursive(true).await {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(entries
            .into_iter()
            .filter(|e| !e.path().ends_with('/'))
            .map(|e| e.path().to_string())
            .collect())
    }

    /// Deletes an object (missing is fine).
    pub async fn delete(&self, path: &str) -> Result<(), StoreError> {
        timed(async {
            match self.op.delete(path).await {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Deletes many objects (batched where the backend can; missing ones
    /// are fine).
    pub async fn delete_many(&self, paths: Vec<String>) -> Result<(), StoreError> {
        if paths.is_empty() {
            return Ok(());
        }
        timed(async {
            match self.op.delete_iter(paths).await {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Checks that conditional puts really are conditional: creates a probe
    /// object twice; the second attempt must be refused.
    pub async fn supports_conditional_put(&self) -> Result<bool, StoreError> {
        let probe = format!("_metadata/probe-{:016x}", fastrand::u64(..));
        let first = self.put_if_absent(&probe, Bytes::from_static(b"1")).await?;
        let second = self.put_if_absent(&probe, Bytes::from_static(b"2")).await?;
        self.delete(&probe).await?;
        Ok(first && !second)
    }
}

/// Writes `data` to a temp file next to `target`, fsyncs it, and links it
/// to `target` (EEXIST = someone else won).
fn link_if_absent(target: &Path, data: &[u8]) -> Result<bool, StoreError> {
    use std::io::Write;
    let dir = target
        .parent()
        .ok_or_else(|| StoreError::Config("bad object path".into()))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{:016x}", fastrand::u64(..)));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, target) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(result?)
}
