//! The lake as DataFusion's object store: the storage's own OpenDAL
//! operator (local directory or S3) behind `object_store_opendal`, plus
//! what a query engine wants in front of a bucket:
//!
//! - a bounded cache of byte ranges (`sql-cache-size`): column chunks and
//!   pages read by one query are served from memory to the next, least
//!   recently used first out; table files never change once written, so
//!   nothing is ever stale;
//! - counters of the requests and bytes that reached the store, and of
//!   cache hits (INFO `sql` section), which show how much a query pruned.
//!
//! Only reads are cached; everything else passes through.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    OBJECT_STORE_COALESCE_DEFAULT, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, Result, coalesce_ranges,
};
use object_store_opendal::OpendalStore;
use parking_lot::Mutex;

/// Counters of the reads SQL made.
#[derive(Debug, Default)]
pub struct ScanStats {
    /// GET requests that reached the store.
    pub requests: AtomicU64,
    /// Bytes those requests returned.
    pub bytes: AtomicU64,
    /// Ranges served from the cache.
    pub cache_hits: AtomicU64,
    /// Bytes served from the cache.
    pub cache_hit_bytes: AtomicU64,
}

impl ScanStats {
    /// Current value of one counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

type Key = (Path, u64, u64);

/// Byte ranges by file and range, least recently used evicted first.
struct RangeCache {
    limit: usize,
    used: usize,
    tick: u64,
    entries: HashMap<Key, (Bytes, ObjectMeta, u64)>,
    by_age: BTreeMap<u64, Key>,
}

impl RangeCache {
    fn get(&mut self, key: &Key) -> Option<(Bytes, ObjectMeta)> {
        self.tick += 1;
        let tick = self.tick;
        let (data, meta, at) = self.entries.get_mut(key)?;
        self.by_age.remove(at);
        *at = tick;
        self.by_age.insert(tick, key.clone());
        Some((data.clone(), meta.clone()))
    }

    fn put(&mut self, key: Key, data: Bytes, meta: ObjectMeta) {
        // One range bigger than an eighth of the cache would push out
        // everything else for little gain.
        if data.len() > self.limit / 8 || self.entries.contains_key(&key) {
            return;
        }
        self.tick += 1;
        self.used += data.len();
        self.by_age.insert(self.tick, key.clone());
        self.entries.insert(key, (data, meta, self.tick));
        while self.used > self.limit {
            let Some((_, old)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((d, _, _)) = self.entries.remove(&old) {
                self.used -= d.len();
            }
        }
    }
}

/// The lake's object store for DataFusion.
pub struct LakeStore {
    inner: OpendalStore,
    cache: Option<Mutex<RangeCache>>,
    stats: Arc<ScanStats>,
}

impl LakeStore {
    /// Reads through `op`, caching up to `cache_bytes` of ranges (none
    /// when 0).
    pub fn new(op: opendal::Operator, cache_bytes: usize, stats: Arc<ScanStats>) -> LakeStore {
        let cache = (cache_bytes > 0).then(|| {
            Mutex::new(RangeCache {
                limit: cache_bytes,
                used: 0,
                tick: 0,
                entries: HashMap::new(),
                by_age: BTreeMap::new(),
            })
        });
        LakeStore {
            inner: OpendalStore::new(op),
            cache,
            stats,
        }
    }

    fn cached(&self, key: &Key) -> Option<(Bytes, ObjectMeta)> {
        let hit = self.cache.as_ref()?.lock().get(key)?;
        self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .cache_hit_bytes
            .fetch_add(hit.0.len() as u64, Ordering::Relaxed);
        Some(hit)
    }

    fn keep(&self, key: Key, data: &Bytes, meta: &ObjectMeta) {
        if let Some(c) = &self.cache {
            c.lock().put(key, data.clone(), meta.clone());
        }
    }

    /// One ranged GET from the store, counted.
    async fn fetch(&self, location: &Path, range: Range<u64>) -> Result<(Bytes, ObjectMeta)> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..Default::default()
        };
        let got = self.inner.get_opts(location, options).await?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let meta = got.meta.clone();
        let data = got.bytes().await?;
        self.stats
            .bytes
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok((data, meta))
    }
}

impl fmt::Debug for LakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LakeStore({})", self.inner)
    }
}

impl fmt::Display for LakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LakeStore({})", self.inner)
    }
}

fn one_range(data: Bytes, meta: ObjectMeta, range: Range<u64>) -> GetResult {
    GetResult {
        payload: GetResultPayload::Stream(Box::pin(stream::once(async move { Ok(data) }))),
        meta,
        range,
        attributes: Default::default(),
    }
}

#[async_trait]
impl ObjectStore for LakeStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let plain = options.if_match.is_none()
            && options.if_none_match.is_none()
            && options.if_modified_since.is_none()
            && options.if_unmodified_since.is_none()
            && options.version.is_none()
            && !options.head;
        if let (true, Some(GetRange::Bounded(r))) = (plain, &options.range) {
            let key = (location.clone(), r.start, r.end);
            let (data, meta) = match self.cached(&key) {
                Some(hit) => hit,
                None => {
                    let (data, meta) = self.fetch(location, r.clone()).await?;
                    self.keep(key, &data, &meta);
                    (data, meta)
                }
            };
            // The object may end before the requested range does.
            let range = r.start..r.start + data.len() as u64;
            return Ok(one_range(data, meta, range));
        }
        let got = self.inner.get_opts(location, options).await?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes
            .fetch_add(got.range.end - got.range.start, Ordering::Relaxed);
        Ok(got)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let mut out: Vec<Option<Bytes>> = ranges
            .iter()
            .map(|r| {
                self.cached(&(location.clone(), r.start, r.end))
                    .map(|(d, _)| d)
            })
            .collect();
        let missing: Vec<Range<u64>> = ranges
            .iter()
            .zip(&out)
            .filter(|(_, hit)| hit.is_none())
            .map(|(r, _)| r.clone())
            .collect();
        if !missing.is_empty() {
            let meta: Mutex<Option<ObjectMeta>> = Mutex::new(None);
            let fetched = coalesce_ranges(
                &missing,
                |r| {
                    let meta = &meta;
                    async move {
                        let (data, m) = self.fetch(location, r).await?;
                        *meta.lock() = Some(m);
                        Ok::<_, object_store::Error>(data)
                    }
                },
                OBJECT_STORE_COALESCE_DEFAULT,
            )
            .await?;
            let meta = meta.into_inner();
            let mut fetched = missing.iter().zip(fetched);
            for slot in out.iter_mut().filter(|s| s.is_none()) {
                let (r, data) = fetched.next().expect("one result per missing range");
                if let Some(m) = &meta {
                    self.keep((location.clone(), r.start, r.end), &data, m);
                }
                *slot = Some(data);
            }
        }
        Ok(out.into_iter().map(|d| d.unwrap_or_default()).collect())
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> ObjectMeta {
        ObjectMeta {
            location: Path::from("f"),
            last_modified: Default::default(),
            size: 100,
            e_tag: None,
            version: None,
        }
    }

    #[test]
    fn range_cache_evicts_least_recently_used_within_its_limit() {
        let mut c = RangeCache {
            limit: 80,
            used: 0,
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
        };
        let key = |i: u64| (Path::from("f"), i * 10, i * 10 + 10);
        for i in 0..8 {
            c.put(key(i), Bytes::from(vec![i as u8; 10]), meta());
        }
        assert_eq!(c.used, 80);
        // Touch 0, then add one more: 1 (now the oldest) goes.
        assert!(c.get(&key(0)).is_some());
        c.put(key(8), Bytes::from(vec![8u8; 10]), meta());
        assert_eq!(c.used, 80);
        assert!(c.get(&key(1)).is_none());
        assert_eq!(c.get(&key(0)).unwrap().0[0], 0);
        assert_eq!(c.get(&key(8)).unwrap().0[0], 8);
        // A range over an eighth of the limit is not kept.
        c.put(key(9), Bytes::from(vec![9u8; 11]), meta());
        assert!(c.get(&key(9)).is_none());
        assert_eq!(c.entries.len(), c.by_age.len());
    }
}
