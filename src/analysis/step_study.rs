//! GD's step-equivalence study: which steps follow the same gradient flow (DESIGN.md §3),
//! compared at the flow times t = λ·k both runs recorded, and the step each GD run used
//! against its stability bound 2N/λ_max(A).

use crate::config::{Config, Method};
use crate::flow::{self, same_time};
use crate::results::{Record, RunResult, Status};
use serde::Serialize;

/// The configuration fields that make a step-equivalence cell: everything but the step, the
/// step limit and the record spacing (the flow-time limit is the same).
pub fn same_cell(a: &Config, b: &Config) -> bool {
    a.max_flow_time == b.max_flow_time
        && a.method == b.method
        && a.activation == b.activation
        && a.tau0 == b.tau0
        && a.n == b.n
        && a.m == b.m
        && a.d == b.d
        && a.m_teacher == b.m_teacher
        && a.n_test == b.n_test
        && a.eps0 == b.eps0
        && a.tol == b.tol
        && a.seed == b.seed
        && a.refit == b.refit
}

fn rel(a: f64, reference: f64) -> f64 {
    if !a.is_finite() || !reference.is_finite() {
        f64::INFINITY
    } else if reference == 0.0 {
        if a == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (a - reference).abs() / reference.abs()
    }
}

/// One larger step compared with the reference step in one cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepComparison {
    pub lr: f64,
    pub status: Status,
    /// Flow times where both runs have a record.
    pub common_times: usize,
    /// Largest relative difference of the train loss from the reference's, over those times.
    pub max_rel_train: f64,
    /// The same for the test loss.
    pub max_rel_test: f64,
    /// Where the larger of the two was reached.
    pub worst_t: Option<f64>,
    /// The last common flow time, and the relative differences there (context: a step can
    /// end on the same model yet stray during a fast drop of the loss).
    pub last_t: Option<f64>,
    pub last_rel_train: Option<f64>,
    pub last_rel_test: Option<f64>,
    /// Within the tolerance at every common time (and not diverged, ≥ 2 common times).
    pub equivalent: bool,
}

/// One cell of the study: the reference run and every larger step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EquivalenceCell {
    pub tau0: f64,
    pub n: usize,
    pub m: usize,
    pub seed: u64,
    pub reference_lr: f64,
    /// The reference run's flow time reached.
    pub reference_t: f64,
    pub comparisons: Vec<StepComparison>,
    /// The largest step such that it and every smaller step compared are equivalent
    /// (the reference step itself when the next one already is not).
    pub largest_equivalent: f64,
}

/// Compares `other` with `reference` at every flow time both recorded.
pub fn compare_steps(reference: &RunResult, other: &RunResult, tol: f64) -> StepComparison {
    let (lr0, lr1) = (reference.config.lr, other.config.lr);
    let mut common = 0;
    let (mut worst_train, mut worst_test, mut worst_t, mut worst) = (0.0f64, 0.0f64, None, -1.0f64);
    let mut j = 0;
    let mut last = None;
    let refs: &[Record] = &reference.records;
    for r in &other.records {
        let t = r.flow_time(lr1);
        while j < refs.len() && refs[j].flow_time(lr0) < t && !same_time(refs[j].flow_time(lr0), t)
        {
            j += 1;
        }
        let Some(q) = refs.get(j).filter(|q| same_time(q.flow_time(lr0), t)) else {
            continue;
        };
        common += 1;
        let dtrain = rel(r.train_loss, q.train_loss);
        let dtest = match (r.test_loss, q.test_loss) {
            (Some(a), Some(b)) => rel(a, b),
            (None, None) => 0.0,
            _ => f64::INFINITY,
        };
        last = Some((t, dtrain, dtest));
        worst_train = worst_train.max(dtrain);
        worst_test = worst_test.max(dtest);
        if dtrain.max(dtest) > worst {
            worst = dtrain.max(dtest);
            worst_t = Some(t);
        }
    }
    let status = other.summary.status;
    let equivalent =
        status != Status::Diverged && common >= 2 && worst_train <= tol && worst_test <= tol;
    StepComparison {
        lr: lr1,
        status,
        common_times: common,
        max_rel_train: worst_train,
        max_rel_test: worst_test,
        worst_t,
        last_t: last.map(|l| l.0),
        last_rel_train: last.map(|l| l.1),
        last_rel_test: last.map(|l| l.2),
        equivalent,
    }
}

/// The step-equivalence study over `runs`: for each GD run at `reference_lr`, every GD run of
/// the same cell (same everything but λ, step limit and record spacing) with a larger λ,
/// compared at common flow times. Cells in a fixed order (N, τ₀, seed).
pub fn step_equivalence(runs: &[&RunResult], reference_lr: f64, tol: f64) -> Vec<EquivalenceCell> {
    let mut cells = Vec::new();
    for r in runs
        .iter()
        .filter(|r| r.config.method == Method::Gd && r.config.lr == reference_lr)
    {
        let mut others: Vec<&RunResult> = runs
            .iter()
            .copied()
            .filter(|o| o.config.lr > reference_lr && same_cell(&o.config, &r.config))
            .collect();
        others.sort_by(|a, b| a.config.lr.total_cmp(&b.config.lr));
        others.dedup_by(|a, b| a.config.lr == b.config.lr);
        let comparisons: Vec<StepComparison> =
            others.iter().map(|o| compare_steps(r, o, tol)).collect();
        let largest_equivalent = comparisons
            .iter()
            .take_while(|c| c.equivalent)
            .last()
            .map(|c| c.lr)
            .unwrap_or(reference_lr);
        cells.push(EquivalenceCell {
            tau0: r.config.tau0,
            n: r.config.n,
            m: r.config.m,
            seed: r.config.seed,
            reference_lr,
            reference_t: r.flow_time(),
            comparisons,
            largest_equivalent,
        });
    }
    cells.sort_by(|a, b| {
        (a.n, a.tau0, a.seed)
            .partial_cmp(&(b.n, b.tau0, b.seed))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    cells
}

/// GD's flow-equivalent step at one τ₀: the smallest of the `largest_equivalent` of the
/// cells (one per N) measured there, so a step that is equivalent at every N measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowStep {
    pub tau0: f64,
    pub lr: f64,
    /// Cells (N) it was measured on.
    pub cells: usize,
}

/// [`FlowStep`] per τ₀ of the cells, in increasing τ₀.
pub fn flow_equivalent_steps(cells: &[EquivalenceCell]) -> Vec<FlowStep> {
    let mut out: Vec<FlowStep> = Vec::new();
    for c in cells {
        match out.iter_mut().find(|s| s.tau0 == c.tau0) {
            Some(s) => {
                s.lr = s.lr.min(c.largest_equivalent);
                s.cells += 1;
            }
            None => out.push(FlowStep {
                tau0: c.tau0,
                lr: c.largest_equivalent,
                cells: 1,
            }),
        }
    }
    out.sort_by(|a, b| a.tau0.total_cmp(&b.tau0));
    out
}

/// GD's step in one run against its stability bound, from the run's first record (at
/// iteration 0, v = 0, so its λ_max(A) is the initialisation's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepBound {
    pub lr: f64,
    pub lambda_max: f64,
    /// 2N / λ_max(A).
    pub bound: f64,
    /// λ·λ_max(A)/N: GD's output-space step is stable while this is < 2.
    pub ratio: f64,
}

/// The [`StepBound`] of a GD run, if its first record is at iteration 0 with λ_max(A).
pub fn step_bound(r: &RunResult) -> Option<StepBound> {
    let first = r.records.first().filter(|x| x.iter == 0)?;
    let lambda_max = first.sigma_max.filter(|x| x.is_finite() && *x > 0.0)?;
    let n = r.config.n as f64;
    Some(StepBound {
        lr: r.config.lr,
        lambda_max,
        bound: flow::gd_step_bound(r.config.n, lambda_max),
        ratio: r.config.lr * lambda_max / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::rec;
    use crate::results::Summary;

    /// A GD run at step `lr` whose losses follow the flow exp(−t/τ) (plus `bump` × t/T at the
    /// records), recorded every flow time `dt` up to `t_end`.
    fn run(lr: f64, dt: f64, t_end: f64, bump: f64, status: Status) -> RunResult {
        let config = Config {
            method: Method::Gd,
            lr,
            m: 50,
            n: 10,
            max_flow_time: Some(t_end),
            ..Config::default()
        };
        let every = (dt / lr).round() as u64;
        let last = (t_end / lr).ceil() as u64;
        let mut records = Vec::new();
        let mut k = 0;
        while k <= last {
            let t = lr * k as f64;
            let f = (-t / 5e4).exp() * (1.0 + bump * t / t_end);
            records.push(rec(k, f, 2.0 * f));
            k += every;
        }
        let iterations = last;
        let summary = Summary {
            status,
            iterations,
            final_train_loss: records.last().map(|r| r.train_loss),
            final_test_loss: records.last().and_then(|r| r.test_loss),
            rf_test_loss: None,
            refit_test_loss: None,
            wall_s: None,
            gn_fallbacks: 0,
        };
        RunResult {
            config,
            records,
            summary,
        }
    }

    #[test]
    fn equal_flows_are_equivalent_and_a_one_percent_drift_is_not() {
        let r10 = run(10.0, 3000.0, 2e5, 0.0, Status::MaxIter);
        let r30 = run(30.0, 3000.0, 2e5, 0.005, Status::MaxIter);
        let r100 = run(100.0, 3000.0, 2e5, 0.02, Status::MaxIter);
        let c = compare_steps(&r10, &r30, 0.01);
        assert_eq!(c.common_times, 67);
        assert!(
            c.equivalent && c.max_rel_train > 0.004 && c.max_rel_train < 0.005,
            "{c:?}"
        );
        // The drift grows with t, so the last common time (t = 198 000, not 2·10⁵: 2·10⁵/3000
        // is not whole) carries the largest difference: 0.005 · 198 000 / 200 000.
        assert_eq!(c.last_t, Some(198_000.0));
        assert!(
            (c.last_rel_train.unwrap() - 0.005 * 0.99).abs() < 1e-12,
            "{c:?}"
        );
        let c = compare_steps(&r10, &r100, 0.01);
        assert!(!c.equivalent && c.max_rel_test > 0.019, "{c:?}");
        let cells = step_equivalence(&[&r10, &r30, &r100], 10.0, 0.01);
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].largest_equivalent, 30.0);
        let steps = flow_equivalent_steps(&cells);
        assert_eq!(steps.len(), 1);
        assert_eq!((steps[0].lr, steps[0].cells), (30.0, 1));
        // A second N at the same τ₀ with a smaller equivalent step sets the τ₀'s step.
        let mut other = cells[0].clone();
        other.n += 1;
        other.largest_equivalent = 10.0;
        let two = [cells[0].clone(), other.clone()];
        let steps = flow_equivalent_steps(&two);
        assert_eq!((steps[0].lr, steps[0].cells), (10.0, 2));
        other.tau0 *= 10.0;
        let steps = flow_equivalent_steps(&[other, cells[0].clone()]);
        assert_eq!(steps.iter().map(|s| s.lr).collect::<Vec<_>>(), [30.0, 10.0]);
    }

    #[test]
    fn a_diverged_or_unmatched_step_is_never_equivalent_and_stops_the_prefix() {
        let r10 = run(10.0, 3000.0, 2e5, 0.0, Status::MaxIter);
        let div = run(300.0, 3000.0, 2e5, 0.0, Status::Diverged);
        assert!(!compare_steps(&r10, &div, 0.01).equivalent);
        // Records at flow times that never coincide with the reference's: nothing to compare.
        let off = run(70.0, 3010.0, 2e5, 0.0, Status::MaxIter);
        let c = compare_steps(&r10, &off, 0.01);
        assert!(c.common_times <= 1 && !c.equivalent, "{c:?}");
        // An equivalent step above a failed one does not count.
        let big = run(1000.0, 3000.0, 2e5, 0.0, Status::MaxIter);
        let cells = step_equivalence(&[&r10, &div, &big], 10.0, 0.01);
        assert_eq!(cells[0].largest_equivalent, 10.0);
        assert!(cells[0].comparisons[1].equivalent);
    }

    #[test]
    fn step_bound_reads_the_first_record() {
        let mut r = run(10.0, 3000.0, 2e5, 0.0, Status::MaxIter);
        r.records[0].sigma_max = Some(4.0);
        let b = step_bound(&r).unwrap();
        assert_eq!((b.bound, b.ratio), (5.0, 4.0));
        r.records[0].iter = 1;
        assert!(step_bound(&r).is_none());
    }
}
