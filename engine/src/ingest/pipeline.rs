//! The work of one INGEST on every core: a reader thread cuts the source
//! into units in file order (raw CSV chunks, or batches of JSON and
//! Parquet, which decode in order), worker threads decode CSV, make the
//! rows fit the table and encode them into Parquet row groups, and the
//! calling thread writes the groups into the parts in file order. Units in
//! flight are bounded, so memory does not grow with the file; the first
//! error in file order is the one reported, and it stops the rest.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use datafusion::arrow::compute::{CastOptions, cast_with_options};

use super::decode::{self, Decoder, Unit};
use super::parts::{Codec, EncodedGroup, Encoders, Part, PartWriter, ROW_GROUP};
use super::{IngestError, IngestRequest, LiveIngest};

/// What a worker makes of one unit.
type Encoded = Result<Vec<EncodedGroup>, IngestError>;

/// How an ingest spreads its work.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spread {
    /// Worker threads.
    pub threads: usize,
    /// Bytes of CSV per unit.
    pub csv_chunk: usize,
}

impl Spread {
    /// A worker per core, [`decode::CSV_CHUNK`] units.
    pub fn all_cores() -> Spread {
        Spread {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            csv_chunk: decode::CSV_CHUNK,
        }
    }
}

/// Decodes the source into local Parquet parts of the table's schema
/// (`table`: the existing schema to append to). Runs on a blocking thread.
pub(super) fn encode(
    name: &str,
    req: &IngestRequest,
    table: Option<&Schema>,
    dir: &Path,
    live: &LiveIngest,
    spread: Spread,
    codec: Codec,
) -> Result<(SchemaRef, Vec<Part>), IngestError> {
    let read = live.read.clone();
    let (data, units, decoder) =
        decode::open_units(&req.source, &req.opts, read.clone(), spread.csv_chunk)
            .map_err(IngestError)?;
    let target = normalize(table.unwrap_or(&data));
    let idx = match table {
        Some(t) => fit(name, t, &data)?,
        None => (0..data.fields().len()).collect(),
    };
    let mut out = PartWriter::new(dir, target.clone(), codec).map_err(IngestError)?;
    let job = Job {
        name,
        target: &target,
        idx: &idx,
        decoder: &decoder,
        encoders: out.encoders(),
        stop: AtomicBool::new(false),
    };
    let threads = spread.threads.max(1);
    let total = req.source.len();
    let mut last_log = Instant::now();
    std::thread::scope(|s| -> Result<(), IngestError> {
        // Units handed out and not yet written: the reader waits for a
        // token before each one, the writer gives it back.
        let window = threads + 1;
        let (token_tx, token_rx) = sync_channel::<()>(window);
        for _ in 0..window {
            token_tx.send(()).expect("room for the window");
        }
        let (work_tx, work_rx) = sync_channel::<(u64, Unit)>(threads);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<(u64, Encoded)>();
        let reader_done = done_tx.clone();
        s.spawn(move || {
            for (seq, unit) in (0u64..).zip(units) {
                if token_rx.recv().is_err() {
                    return;
                }
                match unit {
                    Ok(u) => {
                        if work_tx.send((seq, u)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = reader_done.send((seq, Err(IngestError(e))));
                        return;
                    }
                }
            }
        });
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..threads {
            let (work_rx, done_tx, job) = (work_rx.clone(), done_tx.clone(), &job);
            s.spawn(move || job.work(&work_rx, &done_tx));
        }
        drop((work_rx, done_tx));
        let mut next = 0u64;
        let mut waiting: BTreeMap<u64, Encoded> = BTreeMap::new();
        let written = (|| {
            for (seq, encoded) in done_rx.iter() {
                waiting.insert(seq, encoded);
                while let Some(encoded) = waiting.remove(&next) {
                    for group in encoded? {
                        let n = group.rows;
                        out.append(group).map_err(IngestError)?;
                        live.rows.fetch_add(n, Ordering::Relaxed);
                    }
                    next += 1;
                    let _ = token_tx.send(());
                    if last_log.elapsed() >= Duration::from_secs(5) {
                        last_log = Instant::now();
                        tracing::info!(
                            table = name,
                            rows = live.rows.load(Ordering::Relaxed),
                            bytes_read = read.load(Ordering::Relaxed),
                            bytes_total = total,
                            "ingest progress"
                        );
                    }
                }
            }
            Ok(())
        })();
        if written.is_err() {
            job.stop.store(true, Ordering::Relaxed);
        }
        // Dropping the receiver and the tokens lets the reader and the
        // workers end.
        drop((done_rx, token_tx));
        written
    })?;
    let parts = out.finish().map_err(IngestError)?;
    if live.rows.load(Ordering::Relaxed) == 0 {
        return Err(IngestError("the file has no rows".into()));
    }
    Ok((target, parts))
}

/// What every worker of one ingest shares.
struct Job<'a> {
    name: &'a str,
    target: &'a SchemaRef,
    idx: &'a [usize],
    decoder: &'a Decoder,
    encoders: Encoders,
    /// Set when the ingest failed: units still queued are skipped.
    stop: AtomicBool,
}

impl Job<'_> {
    /// Takes units until there are none (or nobody wants the results).
    fn work(
        &self,
        units: &Mutex<Receiver<(u64, Unit)>>,
        done: &std::sync::mpsc::Sender<(u64, Encoded)>,
    ) {
        loop {
            let next = units.lock().map(|rx| rx.recv());
            let Ok(Ok((seq, unit))) = next else {
                return;
            };
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            if done.send((seq, self.encode(unit))).is_err() {
                return;
            }
        }
    }

    /// Decodes a unit, fits its rows to the table and encodes them into
    /// row groups of at most [`ROW_GROUP`] rows.
    fn encode(&self, unit: Unit) -> Encoded {
        let mut groups = Vec::new();
        let mut group = self.encoders.group().map_err(IngestError)?;
        for batch in self.decoder.decode(unit) {
            let batch = conform(
                self.name,
                self.target,
                self.idx,
                &batch.map_err(IngestError)?,
            )?;
            group.write(&batch).map_err(IngestError)?;
            if group.rows() >= ROW_GROUP {
                let full =
                    std::mem::replace(&mut group, self.encoders.group().map_err(IngestError)?);
                groups.push(full.finish().map_err(IngestError)?);
            }
        }
        if group.rows() > 0 {
            groups.push(group.finish().map_err(IngestError)?);
        }
        Ok(groups)
    }
}

/// Checks that data of schema `data` fits `table` (same column names) and
/// returns, per table column, the data column it comes from.
fn fit(name: &str, table: &Schema, data: &Schema) -> Result<Vec<usize>, IngestError> {
    for f in data.fields() {
        if table.field_with_name(f.name()).is_err() {
            return Err(IngestError(format!(
                "schema mismatch: column '{}' is not in table '{name}'",
                f.name()
            )));
        }
    }
    table
        .fields()
        .iter()
        .map(|f| {
            data.index_of(f.name()).map_err(|_| {
                IngestError(format!(
                    "schema mismatch: column '{}' of table '{name}' is missing",
                    f.name()
                ))
            })
        })
        .collect()
}

/// `schema` with every column nullable and no metadata: what tables store
/// (appends of any file with the same column types fit it).
fn normalize(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_nullable(true)
                    .with_metadata(Default::default())
            })
            .collect::<Vec<_>>(),
    ))
}

/// Makes a batch fit the target schema: columns picked by `idx` and cast
/// where the type differs (every value must convert).
fn conform(
    name: &str,
    target: &SchemaRef,
    idx: &[usize],
    b: &RecordBatch,
) -> Result<RecordBatch, IngestError> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let cols = target
        .fields()
        .iter()
        .zip(idx)
        .map(|(f, &i)| {
            let col = b.column(i);
            if col.data_type() == f.data_type() {
                return Ok(col.clone());
            }
            cast_with_options(col, f.data_type(), &strict).map_err(|_| {
                IngestError(format!(
                    "schema mismatch: column '{}' is {} in table '{name}' but the data has {} values that do not convert",
                    f.name(),
                    f.data_type(),
                    col.data_type()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(target.clone(), cols)
        .map_err(|e| IngestError(format!("schema mismatch: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::decode::{DecodeOptions, Format};
    use crate::ingest::source::Source;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn request(text: String) -> IngestRequest {
        IngestRequest {
            table: "t".into(),
            mode: Default::default(),
            opts: DecodeOptions {
                format: Format::Csv,
                header: true,
                delimiter: b',',
                schema: None,
                infer_rows: 100,
            },
            source: Source::Bytes(text.into_bytes().into()),
            scratch: std::env::temp_dir(),
        }
    }

    fn run(text: &str, spread: Spread) -> Result<Vec<(i64, String)>, IngestError> {
        let dir = tempfile::tempdir().unwrap();
        let live = LiveIngest::default();
        let (_, parts) = encode(
            "t",
            &request(text.into()),
            None,
            dir.path(),
            &live,
            spread,
            Codec::None,
        )?;
        let mut rows = Vec::new();
        for p in parts {
            let file = std::fs::File::open(&p.path).unwrap();
            for b in ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap()
            {
                let b = b.unwrap();
                let ids = b.column(0).as_primitive::<Int64Type>();
                let names = b.column(1).as_string::<i32>();
                for i in 0..b.num_rows() {
                    rows.push((ids.value(i), names.value(i).to_string()));
                }
            }
        }
        assert_eq!(live.rows.load(Ordering::Relaxed), rows.len() as u64);
        Ok(rows)
    }

    #[test]
    fn parallel_ingest_keeps_file_order_and_names_the_first_bad_line() {
        let mut records = Vec::new();
        let mut want = Vec::new();
        for i in 0..30_000i64 {
            let name = if i % 7 == 0 {
                format!("multi\nline, \"{i}\"")
            } else {
                format!("n{i}")
            };
            records.push(format!("{i},\"{}\"\n", name.replace('"', "\"\"")));
            want.push((i, name));
        }
        let text = |records: &[String]| format!("id,name\n{}", records.concat());
        let one = Spread {
            threads: 1,
            csv_chunk: 1 << 30,
        };
        let many = Spread {
            threads: 4,
            csv_chunk: 3000,
        };
        assert_eq!(run(&text(&records), one).unwrap(), want);
        assert_eq!(run(&text(&records), many).unwrap(), want);
        // Two bad rows far apart: the first in the file is reported, by its
        // record number in the file (the header is line 1).
        records[29_990] = "oops,x\n".into();
        records[20_000] = "oops,y\n".into();
        let e = run(&text(&records), many).unwrap_err().0;
        assert!(e.contains("line 20002"), "{e}");
        assert_eq!(run(&text(&records), one).unwrap_err().0, e);
    }
}
