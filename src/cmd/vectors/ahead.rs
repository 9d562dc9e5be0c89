//! Planning ahead for pipelined VADDs, so that one client's pipeline uses
//! every core. When a connection's buffer holds a run of VADDs into one
//! key, the graph searches of all of them (step 1 of an insert, see engine
//! `vector/hnsw/insert.rs`) run side by side under the set's read lock
//! before the first one executes. The VADDs then execute one by one as
//! usual, each taking its plan from the connection instead of searching;
//! linking, under the write lock, sees the VADDs before it, as it does for
//! VADDs from concurrent clients. The searches are shared out vector by
//! vector between the connection's thread and helpers from the blocking
//! pool (one per other core). Replies, order, logging and statistics
//! are those of plain VADDs.
//!
//! A plan is only a hint: one that does not match the VADD as it executes
//! (another database, key, element, vector or EF, or a set replaced
//! meanwhile) is dropped and the VADD plans for itself.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use bytes::Bytes;
use vexlake_engine::keyspace::SharedSet;
use vexlake_engine::vector::set::AddPlan;

use super::write::{Vadd, parse_vadd, plannable};
use crate::cmd::{Conn, Ctx, offload};
use crate::server::ServerState;
use crate::stats::Stats;

/// Most VADDs planned at once. Their plans are made blind to each other
/// (linking makes up for that), and the set's writers wait for the whole
/// run: 32 plans are a few milliseconds on two cores.
pub const MAX_RUN: usize = 32;

/// A VADD planned ahead, and what it was planned for.
#[derive(Debug)]
struct Planned {
    db: usize,
    key: Bytes,
    element: Bytes,
    vector: Vec<f32>,
    ef: usize,
    uid: u64,
    plan: AddPlan,
}

/// A connection's plans, in pipeline order.
#[derive(Debug, Default)]
pub struct PlansAhead(VecDeque<Planned>);

impl PlansAhead {
    /// Drops the plans left over (VADDs that did not take theirs).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Whether `args` may start a run: a VADD with a key.
pub fn is_vadd(args: &[Bytes]) -> bool {
    args.len() > 1 && args[0].eq_ignore_ascii_case(b"vadd")
}

/// Whether `next` continues the run that `first` starts: a VADD into the
/// same key.
pub fn continues(first: &[Bytes], next: &[Bytes]) -> bool {
    is_vadd(next) && next[1] == first[1]
}

/// Plans the VADDs of `run` (into one key, received but not yet executed)
/// that insert new elements into the existing set, on all cores, and keeps
/// the plans for them. VADDs with an EF other than the first's, malformed
/// ones and those that do not fit the set are left to plan for themselves.
pub fn plan(state: &ServerState, conn: &mut Conn, run: &[&[Bytes]]) {
    conn.plans_ahead.clear();
    if run.len() < 2 {
        return;
    }
    let key = &run[0][1];
    let Ok(Some(set)) = state.engine.db(conn.db).vset(key, state.engine.now_ms()) else {
        return;
    };
    let parsed: Vec<Vadd> = run.iter().filter_map(|a| parse_vadd(a).ok()).collect();
    let Some(ef) = parsed.first().map(|v| v.params.ef) else {
        return;
    };
    let (uid, todo): (u64, Vec<Vadd>) = {
        let g = set.read();
        let todo = parsed
            .into_iter()
            .filter(|v| {
                v.params.ef == ef && plannable(&g, v.params, v.vector.len(), v.reduce, &v.element)
            })
            .collect();
        (g.uid(), todo)
    };
    if todo.len() < 2 {
        return;
    }
    let db = conn.db;
    let vectors = todo.iter().map(|v| v.vector.clone()).collect();
    let plans = offload(true, || plan_shared(&set, uid, vectors, ef));
    let planned = todo.into_iter().zip(plans).filter_map(|(v, plan)| {
        Some(Planned {
            db,
            key: key.clone(),
            element: v.element,
            vector: v.vector,
            ef,
            uid,
            plan: plan?,
        })
    });
    conn.plans_ahead.0.extend(planned);
}

/// Plans `vectors` on all cores: this thread and one helper per other
/// core, from the blocking pool, each take the next vector not yet taken, so a helper that starts late takes fewer; one that has not
/// started when the work is done is called off and not waited for. Each
/// search holds the set's read lock alone, so a writer waits for one
/// search, not for the run. Returns the plan of each vector (none when
/// the set, `uid`, was deleted or replaced meanwhile).
fn plan_shared(
    set: &SharedSet,
    uid: u64,
    vectors: Vec<Vec<f32>>,
    ef: usize,
) -> Vec<Option<AddPlan>> {
    let n = vectors.len();
    let work = Arc::new(Work {
        set: set.clone(),
        uid,
        vectors,
        ef,
        next: AtomicUsize::new(0),
    });
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut helpers = Vec::new();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        for _ in 1..cores.min(n) {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let state = Arc::new(AtomicU8::new(WAITING));
            let (work, st) = (work.clone(), state.clone());
            rt.spawn_blocking(move || {
                if st
                    .compare_exchange(WAITING, RUNNING, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    let _ = tx.send(work.plan());
                }
            });
            helpers.push((state, rx));
        }
    }
    let mut slots: Vec<Option<AddPlan>> = (0..n).map(|_| None).collect();
    for (i, planned) in work.plan() {
        slots[i] = Some(planned);
    }
    for (state, rx) in helpers {
        let called_off = state
            .compare_exchange(WAITING, CALLED_OFF, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !called_off && let Ok(done) = rx.recv() {
            for (i, planned) in done {
                slots[i] = Some(planned);
            }
        }
    }
    slots
}

/// Vectors planned side by side by [`plan_shared`].
struct Work {
    set: SharedSet,
    uid: u64,
    vectors: Vec<Vec<f32>>,
    ef: usize,
    /// The next vector no thread has taken.
    next: AtomicUsize,
}

impl Work {
    /// Plans vectors not yet taken until none is left (skipped when the
    /// set is gone or replaced).
    fn plan(&self) -> Vec<(usize, AddPlan)> {
        let mut done = Vec::new();
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(v) = self.vectors.get(i) else {
                return done;
            };
            let g = self.set.read();
            if !g.dead && g.uid() == self.uid {
                done.push((i, g.plan_add(v.clone(), self.ef)));
            }
        }
    }
}

/// A helper's state: not started yet, planning, or called off.
const WAITING: u8 = 0;
const RUNNING: u8 = 1;
const CALLED_OFF: u8 = 2;

/// The plan made ahead for this VADD, with the set it was made on; plans
/// of VADDs before it that did not take theirs are dropped.
pub(super) fn take(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    element: &[u8],
    vector: &[f32],
    ef: usize,
) -> Option<(u64, AddPlan)> {
    let plans = &mut ctx.conn.plans_ahead.0;
    let db = ctx.conn.db;
    let at = plans
        .iter()
        .position(|p| p.db == db && p.key == key && p.element == element)?;
    plans.drain(..at);
    let p = plans.pop_front()?;
    if p.vector != vector || p.ef != ef {
        return None;
    }
    Stats::add(&ctx.state.stats.vadd_planned_ahead, 1);
    Some((p.uid, p.plan))
}
