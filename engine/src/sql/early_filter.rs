//! Join and TopK filters applied to a scan's rows as soon as they are
//! decoded, while they pay.
//!
//! A hash join, once its build side is complete, and a TopK, as it runs,
//! push a *dynamic filter* down into the scans below them. DataFusion's
//! Parquet source uses it to skip row groups, and evaluates it row by row
//! only when predicates are evaluated while decoding — which VexLake turns
//! off for most scans, as it costs decoding twice
//! (`manifest_table::late_materialization_pays`). Without it every row of
//! the scan flows on to the operators between the scan and the join: in
//! TPC-H Q17 the correlated average aggregates all 6 M `lineitem` rows by
//! part when only the 6 k rows of the 200 parts the outer query wants can
//! match.
//!
//! [`EarlyFilterExec`] sits right above each such scan and applies, to
//! every decoded batch:
//! - first the query's own filters the scan does not evaluate row by row
//!   (it takes them over from the `FilterExec` that would otherwise run
//!   above it), so the costlier dynamic filters see fewer rows;
//! - then the dynamic filters that pay, each judged on its own.
//!
//! The rows that pass are gathered into full batches again.
//!
//! Which dynamic filters pay is decided twice:
//! - **When planning** ([`KeepFiltersThatPay`], run after DataFusion's own
//!   rules): evaluating a join's dynamic filter costs DataFusion 55 several
//!   times the join's own probe of the same row, so a filter is kept only
//!   when an aggregation, sort or window ([`Between::Aggregation`]) or
//!   another join ([`Between::Joins`]) lies between the scan and the
//!   operator that made it, never when that operator is right above.
//! - **While running**: each stream measures what each filter lets
//!   through and what it costs over its first [`TRIAL_ROWS`] rows, and
//!   stops evaluating one that does not pay ([`KEEP_RATIO`],
//!   [`JOIN_KEEP_RATIO`], [`JOIN_NANOS_PER_ROW`]) until it changes (a
//!   TopK's bound tightening).
//!
//! Results never depend on a dynamic filter being applied here: the
//! operator that made it still applies it.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arrow_schema::SchemaRef;
use datafusion::arrow::array::{BooleanArray, RecordBatch};
use datafusion::arrow::compute::{BatchCoalescer, filter_record_batch};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result, Statistics};
use datafusion::config::ConfigOptions;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::expressions::DynamicFilterPhysicalExpr;
use datafusion::physical_expr_common::physical_expr::snapshot_generation;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
    PushedDown,
};
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, Time,
};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PhysicalExpr, PlanProperties, RecordBatchStream,
    SendableRecordBatchStream,
};
use futures::{Stream, StreamExt};

/// Rows a stream evaluates a filter on before judging whether it pays.
pub const TRIAL_ROWS: usize = 100_000;

/// A filter with an aggregation, sort or window between it and its maker
/// that lets more than this share of rows through is not worth evaluating
/// early.
pub const KEEP_RATIO: f64 = 0.8;

/// A filter with only joins between it and its maker must let at most
/// this share of rows through ...
pub const JOIN_KEEP_RATIO: f64 = 0.5;

/// ... and cost at most this per row (a small IN list does; a probe of a
/// large hash table, routed per partition, costs 40-150 ns).
pub const JOIN_NANOS_PER_ROW: f64 = 15.0;

/// Applies to every batch the scan below it decodes the query's filters
/// the scan does not evaluate row by row, then the dynamic filters that
/// pay.
#[derive(Debug, Clone)]
pub struct EarlyFilterExec {
    input: Arc<dyn ExecutionPlan>,
    /// The filters of the query the scan does not evaluate row by row,
    /// applied to every row first (a `FilterExec` above would otherwise).
    fixed: Vec<Arc<dyn PhysicalExpr>>,
    /// The dynamic filters the scan does not evaluate row by row, with
    /// the work that lies between the scan and the operator that made them.
    filters: Vec<(Arc<dyn PhysicalExpr>, Between)>,
    metrics: ExecutionPlanMetricsSet,
}

impl EarlyFilterExec {
    /// Above `scan`, with no filter until pushdown brings some.
    pub fn new(scan: Arc<dyn ExecutionPlan>) -> EarlyFilterExec {
        EarlyFilterExec {
            input: scan,
            fixed: Vec::new(),
            filters: Vec::new(),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }

    /// The dynamic filters it evaluates.
    pub fn filters(&self) -> impl Iterator<Item = &Arc<dyn PhysicalExpr>> {
        self.filters.iter().map(|(f, _)| f)
    }
}

impl DisplayAs for EarlyFilterExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "EarlyFilterExec: filters=[")?;
        for (i, e) in self.fixed.iter().enumerate() {
            write!(f, "{}{e}", if i == 0 { "" } else { ", " })?;
        }
        write!(f, "], dynamic filters={}", self.filters.len())
    }
}

impl ExecutionPlan for EarlyFilterExec {
    fn name(&self) -> &str {
        "EarlyFilterExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for filter in self.fixed.iter().chain(self.filters()) {
            if f(filter)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut me = (*self).clone();
        me.input = children.swap_remove(0);
        me.metrics = ExecutionPlanMetricsSet::new();
        Ok(Arc::new(me))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batch_size = context.session_config().batch_size();
        let input = self.input.execute(partition, context)?;
        if self.filters.is_empty() && self.fixed.is_empty() {
            return Ok(input);
        }
        Ok(Box::pin(EarlyFilterStream {
            // Batches of at least half the size pass as they are.
            coalescer: BatchCoalescer::new(input.schema(), batch_size)
                .with_biggest_coalesce_batch_size(Some(batch_size / 2)),
            input,
            done: false,
            fixed: self.fixed.clone(),
            filters: self.filters.iter().cloned().map(Trial::new).collect(),
            dropped: MetricBuilder::new(&self.metrics).counter("early_filtered_rows", partition),
            elapsed: MetricBuilder::new(&self.metrics).subset_time("early_filter_time", partition),
        }))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    #[allow(deprecated)]
    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        self.input.partition_statistics(partition)
    }

    fn child_stats_requests(
        &self,
        partition: Option<usize>,
    ) -> Vec<datafusion::physical_plan::statistics::ChildStats> {
        vec![datafusion::physical_plan::statistics::ChildStats::At(
            partition,
        )]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &datafusion::physical_plan::statistics::StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(input_stats[0].clone())
    }

    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        // The filters the scan does not evaluate row by row. The query's
        // own are applied to every row and so reported as applied (the
        // FilterExec above drops them); dynamic ones are reported as not
        // applied, as this node may stop evaluating them.
        let mut me = self.clone();
        let mut applied = Vec::new();
        for pushed in &child_pushdown_result.parent_filters {
            let mut here = pushed.all();
            if matches!(here, PushedDown::No) {
                if is_dynamic(&pushed.filter) {
                    // Judged by KeepFiltersThatPay once the plan is done.
                    me.filters
                        .push((pushed.filter.clone(), Between::Aggregation));
                } else {
                    me.fixed.push(pushed.filter.clone());
                    here = PushedDown::Yes;
                }
            }
            applied.push(here);
        }
        let propagation = FilterPushdownPropagation::with_parent_pushdown_result(applied);
        if me.filters.len() == self.filters.len() && me.fixed.len() == self.fixed.len() {
            return Ok(propagation);
        }
        Ok(propagation.with_updated_node(Arc::new(me)))
    }
}

/// Whether `expr` holds a dynamic filter.
fn is_dynamic(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.exists(|e| Ok(e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some()))
        .unwrap_or(false)
}

/// One partition's batches, filtered while it pays.
struct EarlyFilterStream {
    input: SendableRecordBatchStream,
    done: bool,
    /// Gathers the rows that pass into full batches.
    coalescer: BatchCoalescer,
    fixed: Vec<Arc<dyn PhysicalExpr>>,
    filters: Vec<Trial>,
    dropped: Count,
    elapsed: Time,
}

/// One filter of a stream and what it let through, judged on its own: a
/// scan below several joins gets a filter from each, and one that drops
/// most rows must not keep another that drops none (and costs a probe of
/// a large hash table per row) alive.
struct Trial {
    filter: Arc<dyn PhysicalExpr>,
    between: Between,
    /// Time spent evaluating it this generation.
    spent: Duration,
    /// The filter's generation the counts below are for.
    generation: Option<u64>,
    rows_in: usize,
    rows_out: usize,
    /// Judged not to pay for this generation.
    off: bool,
}

impl Trial {
    fn new((filter, between): (Arc<dyn PhysicalExpr>, Between)) -> Trial {
        Trial {
            filter,
            between,
            spent: Duration::ZERO,
            generation: None,
            rows_in: 0,
            rows_out: 0,
            off: false,
        }
    }

    /// `batch` without the rows the filter drops, while it pays.
    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let generation = snapshot_generation(&self.filter);
        if self.generation != Some(generation) {
            self.generation = Some(generation);
            (self.rows_in, self.rows_out, self.off) = (0, 0, false);
            self.spent = Duration::ZERO;
        }
        if self.off || batch.num_rows() == 0 {
            return Ok(batch);
        }
        let started = Instant::now();
        let out = keep_rows(&self.filter, &batch)?;
        self.spent += started.elapsed();
        self.rows_in += batch.num_rows();
        self.rows_out += out.num_rows();
        if self.rows_in >= TRIAL_ROWS && !self.pays() {
            self.off = true;
        }
        Ok(out)
    }

    /// Whether what it drops is worth what it costs, from what it did.
    fn pays(&self) -> bool {
        let passed = self.rows_out as f64 / self.rows_in as f64;
        match self.between {
            Between::Nothing => false,
            Between::Aggregation => passed <= KEEP_RATIO,
            Between::Joins => {
                let nanos = self.spent.as_nanos() as f64 / self.rows_in as f64;
                passed <= JOIN_KEEP_RATIO && nanos <= JOIN_NANOS_PER_ROW
            }
        }
    }
}

/// The rows of `batch` that `filter` keeps.
fn keep_rows(filter: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<RecordBatch> {
    match filter.evaluate(batch)? {
        ColumnarValue::Scalar(v) if v == true.into() => Ok(batch.clone()),
        ColumnarValue::Scalar(_) => Ok(batch.slice(0, 0)),
        ColumnarValue::Array(a) => match a.as_any().downcast_ref::<BooleanArray>() {
            Some(mask) => Ok(filter_record_batch(batch, mask)?),
            None => Err(datafusion::error::DataFusionError::Internal(format!(
                "filter {filter} is not boolean"
            ))),
        },
    }
}

impl EarlyFilterStream {
    fn apply(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let _timer = self.elapsed.timer();
        let rows = batch.num_rows();
        let mut batch = batch;
        for filter in &self.fixed {
            batch = keep_rows(filter, &batch)?;
        }
        for trial in &mut self.filters {
            batch = trial.apply(batch)?;
        }
        self.dropped.add(rows - batch.num_rows());
        Ok(batch)
    }
}

impl Stream for EarlyFilterStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(batch) = self.coalescer.next_completed_batch() {
                return Poll::Ready(Some(Ok(batch)));
            }
            if self.done {
                return Poll::Ready(None);
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => {
                    let out = self.apply(batch)?;
                    self.coalescer.push_batch(out)?;
                }
                Poll::Ready(None) => {
                    self.done = true;
                    self.coalescer.finish_buffered_batch()?;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl RecordBatchStream for EarlyFilterStream {
    fn schema(&self) -> SchemaRef {
        self.input.schema()
    }
}

/// Keeps in each [`EarlyFilterExec`] only the dynamic filters that have
/// costly work to save between the scan and the operator that made them.
///
/// Evaluating a join's dynamic filter costs DataFusion 55 several times
/// the join's own probe of the same row (per-row hashing for partition
/// routing, batches split by partition and merged again), so dropping a
/// row early only pays when the row would otherwise go through an
/// aggregation, another join, a sort or a window first — TPC-H Q17, Q18,
/// Q20, Q21 — not when the join right above would drop it anyway (Q4).
/// Runs after DataFusion's own rules, once the filters are pushed down.
#[derive(Debug, Default)]
pub struct KeepFiltersThatPay;

impl PhysicalOptimizerRule for KeepFiltersThatPay {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut paying = HashMap::new();
        paying_filters(&plan, &[], &mut paying);
        plan.transform_up(|node| {
            let Some(early) = node.downcast_ref::<EarlyFilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let mut kept = early.clone();
            for (filter, between) in &mut kept.filters {
                *between = filter_ids(filter)
                    .iter()
                    .map(|id| paying.get(id).copied().unwrap_or(Between::Nothing))
                    .min()
                    .unwrap_or(Between::Nothing);
            }
            kept.filters
                .retain(|(_, between)| *between != Between::Nothing);
            if kept.filters.is_empty() && kept.fixed.is_empty() {
                return Ok(Transformed::yes(kept.input));
            }
            Ok(Transformed::yes(Arc::new(kept)))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "keep_early_filters_that_pay"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Collects into `paying`, for each dynamic filter that reaches an
/// [`EarlyFilterExec`], the costliest work between. `above` holds the
/// filters made above `plan`, each with the work between so far.
fn paying_filters(
    plan: &Arc<dyn ExecutionPlan>,
    above: &[(u64, Between)],
    paying: &mut HashMap<u64, Between>,
) {
    if plan.downcast_ref::<EarlyFilterExec>().is_some() {
        for &(id, between) in above {
            let known = paying.entry(id).or_insert(between);
            *known = (*known).max(between);
        }
        return;
    }
    let here = Between::of(plan.name());
    let mut below: Vec<(u64, Between)> = above.iter().map(|&(id, b)| (id, b.max(here))).collect();
    for made in plan.dynamic_expressions_produced() {
        below.extend(made.expression_id().map(|id| (id, Between::Nothing)));
    }
    for child in plan.children() {
        paying_filters(child, &below, paying);
    }
}

/// The work that lies between a scan and the operator that made one of
/// its dynamic filters, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Between {
    /// Nothing worth saving: the operator right above drops the rows
    /// anyway, and more cheaply.
    Nothing,
    /// Other joins: it pays when it is cheap and drops most rows.
    Joins,
    /// An aggregation, sort or window: it pays when it drops a fifth.
    Aggregation,
}

impl Between {
    /// What an operator named `name` costs per row it is spared.
    fn of(name: &str) -> Between {
        match name {
            "AggregateExec" | "SortExec" | "BoundedWindowAggExec" | "WindowAggExec" => {
                Between::Aggregation
            }
            "HashJoinExec"
            | "SortMergeJoinExec"
            | "NestedLoopJoinExec"
            | "CrossJoinExec"
            | "SymmetricHashJoinExec" => Between::Joins,
            _ => Between::Nothing,
        }
    }
}

/// The ids of the dynamic filters in `expr`.
fn filter_ids(expr: &Arc<dyn PhysicalExpr>) -> Vec<u64> {
    let mut ids = Vec::new();
    let _ = expr.apply(|e| {
        if let Some(d) = e.downcast_ref::<DynamicFilterPhysicalExpr>() {
            ids.extend(d.expression_id());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    ids
}
