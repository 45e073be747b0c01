//! The paper's claims checked in flow time on the paper-flow grid: (a) GN reaches the
//! tolerance in fewer steps than GD; (b) at the smallest τ₀ GD's test loss at the horizon is
//! lower than GN's; (c) at the largest τ₀ the two are close; (d) hidden learning, on the refit
//! probe's runs. Each is a [`Verdict`]: holds, fails, or incomplete until every run it needs
//! is there.

use crate::analysis::step_bound;
use crate::config::{Config, Method};
use crate::flow::{self, same_time};
use crate::results::{RunResult, Status};
use serde::Serialize;
use std::collections::BTreeSet;

/// One claim's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub id: String,
    pub statement: String,
    /// "holds", "fails", "incomplete" (runs missing) or "undecided" (every run it needs is
    /// there, but none can decide it, e.g. all diverged).
    pub verdict: String,
    /// `Some` only for holds / fails.
    pub holds: Option<bool>,
    /// Runs the claim needs that are finished, and how many it needs.
    pub found: usize,
    pub expected: usize,
    /// Names (as `method τ₀ N λ seed`) of up to 10 missing runs.
    pub missing: Vec<String>,
    pub details: Vec<String>,
}

/// The runs a claim needs: the expected configurations and the finished results among them.
pub struct Needed<'a> {
    pub expected: Vec<&'a Config>,
    pub found: Vec<&'a RunResult>,
}

fn short(c: &Config) -> String {
    format!(
        "{} τ₀={} N={} λ={} seed {}",
        c.method.name(),
        c.tau0,
        c.n,
        c.lr,
        c.seed
    )
}

/// The expected configurations `pick` selects, and the results among `found` that are one of them.
/// Whether a finished run is the planned run `c`: the same config but perhaps for the record
/// spacing (`eval_every` says where records are made, not what the run computes; e.g. GD at
/// τ₀ = 100 converges long before its preset spacing of 2·10⁴ in flow time, so it is run with
/// a finer one).
pub fn same_run(c: &Config, run: &Config) -> bool {
    *c == Config {
        eval_every: c.eval_every,
        ..run.clone()
    }
}

pub fn needed<'a>(
    expected: &'a [Config],
    found: &'a [RunResult],
    pick: impl Fn(&Config) -> bool,
) -> Needed<'a> {
    let expected: Vec<&Config> = expected.iter().filter(|c| pick(c)).collect();
    let found = found
        .iter()
        .filter(|r| {
            r.summary.status != Status::Running && expected.iter().any(|c| same_run(c, &r.config))
        })
        .collect();
    Needed { expected, found }
}

impl Needed<'_> {
    fn missing(&self) -> Vec<String> {
        self.expected
            .iter()
            .filter(|c| !self.found.iter().any(|r| same_run(c, &r.config)))
            .take(10)
            .map(|c| short(c))
            .collect()
    }
    fn complete(&self) -> bool {
        self.found.len() >= self.expected.len()
    }
    fn verdict(
        &self,
        id: &str,
        statement: &str,
        holds: Option<bool>,
        details: Vec<String>,
    ) -> Verdict {
        let (verdict, holds) = if !self.complete() {
            (
                format!(
                    "incomplete: {} of {} runs",
                    self.found.len(),
                    self.expected.len()
                ),
                None,
            )
        } else {
            match holds {
                Some(true) => ("holds".to_string(), Some(true)),
                Some(false) => ("fails".to_string(), Some(false)),
                None => ("undecided".to_string(), None),
            }
        };
        Verdict {
            id: id.into(),
            statement: statement.into(),
            verdict,
            holds,
            found: self.found.len(),
            expected: self.expected.len(),
            missing: self.missing(),
            details,
        }
    }
}

fn mean(xs: impl IntoIterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn e3(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3e}")).unwrap_or_else(|| "–".into())
}

/// Claim (a) on one GN/GD pair: GN reached the tolerance, in fewer steps than GD took (to
/// converge, or before stopping at its cap or diverging without reaching it). Shared by the
/// flow-time claims here and the iteration report ([`crate::report`]).
pub fn gn_first(gn: &crate::Summary, gd: &crate::Summary) -> bool {
    gn.status == Status::Converged
        && (gd.status != Status::Converged || gn.iterations < gd.iterations)
}

/// Claims (b) and (c) on mean test losses: at the smallest τ₀ GD's is lower than GN's; at the
/// largest the larger is at most `close` times the smaller.
pub fn test_losses_agree(gn: f64, gd: f64, smallest: bool, close: f64) -> bool {
    if smallest {
        gd < gn
    } else {
        gn.max(gd) <= close * gn.min(gd)
    }
}

/// The records of claim (d)'s refit probe during training, as (iteration, refit test loss,
/// model test loss): after initialisation (iteration 0 is the random-features baseline),
/// before the last record, both losses finite.
pub fn refit_during_training(r: &RunResult) -> Vec<(u64, f64, f64)> {
    let recs = &r.records;
    recs[..recs.len().saturating_sub(1)]
        .iter()
        .filter(|x| x.iter > 0)
        .filter_map(|x| Some((x.iter, x.refit_test_loss?, x.test_loss?)))
        .filter(|(_, a, b)| a.is_finite() && b.is_finite() && *b > 0.0)
        .collect()
}

/// Claim (d), part 1, on one record: the refit test loss is at most `well_below` times the
/// model's and the random-features test loss `rf`.
pub fn hidden_learned(refit: f64, test: f64, rf: f64, well_below: f64) -> bool {
    refit <= well_below * test && refit <= well_below * rf
}

/// Claim (d), part 1, on one run: the record during training ([`refit_during_training`]) that
/// decides it, as (iteration, refit test loss, model test loss) — of the records whose refit is
/// at most `well_below` × random features' `rf`, the one with the lowest refit/model ratio, so
/// part 1 holds for the run iff [`hidden_learned`] holds there; if there is no such record, the
/// lowest ratio of all (shown as the failure). `None` if no record has both losses.
pub fn refit_record(r: &RunResult, rf: f64, well_below: f64) -> Option<(u64, f64, f64)> {
    let during = refit_during_training(r);
    let by_ratio = |a: &&(u64, f64, f64), b: &&(u64, f64, f64)| (a.1 / a.2).total_cmp(&(b.1 / b.2));
    during
        .iter()
        .filter(|x| x.1 <= well_below * rf)
        .min_by(by_ratio)
        .or_else(|| during.iter().min_by(by_ratio))
        .copied()
}

/// Whether a GD run can stand for GD at the horizon: converged, or stopped by its step limit
/// at flow time ≥ `horizon`.
pub fn at_horizon(r: &RunResult, horizon: f64) -> bool {
    match r.summary.status {
        Status::Converged => true,
        Status::MaxIter => r.flow_time() >= horizon || same_time(r.flow_time(), horizon),
        _ => false,
    }
}

/// GD's comparison runs: GD without the refit probe that stop at flow time `horizon`.
pub fn is_gd_horizon(c: &Config, horizon: f64) -> bool {
    c.method == Method::Gd && !c.refit && c.max_flow_time == Some(horizon)
}

/// GN's comparison runs: GN at λ = 10 without the refit probe or a flow-time limit.
pub fn is_gn_main(c: &Config) -> bool {
    c.method == Method::Gn && !c.refit && c.max_flow_time.is_none() && c.lr == flow::REFERENCE_LR
}

/// (a) GN reaches the tolerance in fewer iterations than GD, for every (τ₀, N, seed) that has both.
pub fn claim_a(expected: &[Config], found: &[RunResult], horizon: f64) -> Verdict {
    let gd_cells: Vec<(u64, usize, u64)> = expected
        .iter()
        .filter(|c| is_gd_horizon(c, horizon))
        .map(|c| (c.tau0.to_bits(), c.n, c.seed))
        .collect();
    let paired = |c: &Config| gd_cells.contains(&(c.tau0.to_bits(), c.n, c.seed));
    let need = needed(expected, found, |c| {
        (is_gd_horizon(c, horizon) || is_gn_main(c)) && paired(c)
    });
    let mut details = Vec::new();
    let (mut pairs, mut bad) = (0, 0);
    for g in need.found.iter().filter(|r| r.config.method == Method::Gn) {
        let c = &g.config;
        let Some(d) = need.found.iter().find(|d| {
            d.config.method == Method::Gd
                && d.config.tau0 == c.tau0
                && d.config.n == c.n
                && d.config.seed == c.seed
        }) else {
            continue;
        };
        pairs += 1;
        let ok = gn_first(&g.summary, &d.summary);
        if !ok {
            bad += 1;
            details.push(format!(
                "τ₀={} N={} seed {}: GN {} after {} steps, GD {} after {} ← fails",
                c.tau0,
                c.n,
                c.seed,
                g.summary.status.name(),
                g.summary.iterations,
                d.summary.status.name(),
                d.summary.iterations
            ));
        }
    }
    details.insert(0, format!("{pairs} GN/GD pairs; {bad} where GN did not reach the tolerance in fewer steps than GD"));
    need.verdict(
        "a",
        "GN reaches the tolerance in fewer iterations than GD, for every τ₀ and N",
        (pairs > 0).then_some(bad == 0),
        details,
    )
}

/// (b) at the smallest τ₀ and (c) at the largest: GD's final test loss (at the horizon or at
/// convergence) against GN's, per N, means over the seeds where GN converged and GD reached
/// the horizon. (b) holds if GD's is lower for every N, (c) if the two are within `close` of
/// each other for every N. Diverged GD runs are reported with their step and bound and left
/// out of the means (and so is GN's run of the same seed); a run stopped short of the horizon
/// is left out too.
pub fn claim_bc(
    expected: &[Config],
    found: &[RunResult],
    horizon: f64,
    smallest: bool,
    close: f64,
) -> Verdict {
    let (pick_tau, gd_ns) = bc_cells(expected, horizon, smallest);
    let need = needed(expected, found, |c| {
        c.tau0 == pick_tau && gd_ns.contains(&c.n) && (is_gd_horizon(c, horizon) || is_gn_main(c))
    });
    let mut ns = gd_ns.clone();
    ns.sort_unstable();
    ns.dedup();
    let mut details = vec![format!(
        "τ₀ = {pick_tau}; GD compared at t = {horizon:e} or at convergence, GN at λ = 10 to convergence; means over the seeds both have"
    )];
    let verdicts: Vec<bool> = ns
        .into_iter()
        .filter_map(|n| bc_compare_at(&need, n, horizon, smallest, close, &mut details))
        .collect();
    let holds = if verdicts.is_empty() {
        None
    } else {
        Some(verdicts.iter().all(|&v| v))
    };
    let (id, statement) = if smallest {
        ("b", format!("At the smallest τ₀ ({pick_tau}), GD's test loss at the horizon is lower than GN's, for every N"))
    } else {
        ("c", format!("At the largest τ₀ ({pick_tau}), GN's and GD's test losses are within a factor {close}, GD at a stable step, for every N"))
    };
    need.verdict(id, &statement, holds, details)
}

/// The τ₀ of claim (b) (the smallest of GD's horizon runs) or (c) (the largest), and the N
/// of GD's horizon runs there (one per run).
fn bc_cells(expected: &[Config], horizon: f64, smallest: bool) -> (f64, Vec<usize>) {
    let taus = expected
        .iter()
        .filter(|c| is_gd_horizon(c, horizon))
        .map(|c| c.tau0);
    let pick_tau = if smallest {
        taus.fold(f64::INFINITY, f64::min)
    } else {
        taus.fold(f64::NEG_INFINITY, f64::max)
    };
    let gd_ns = expected
        .iter()
        .filter(|c| is_gd_horizon(c, horizon) && c.tau0 == pick_tau)
        .map(|c| c.n)
        .collect();
    (pick_tau, gd_ns)
}

/// Claim (b) or (c) at one N: GN's converged runs against GD's runs at the horizon (means
/// over the seeds both have), with a detail line, and one for each diverged GD run; None if
/// no seed has both.
fn bc_compare_at(
    need: &Needed,
    n: usize,
    horizon: f64,
    smallest: bool,
    close: f64,
    details: &mut Vec<String>,
) -> Option<bool> {
    let of = |m: Method| -> Vec<&RunResult> {
        need.found
            .iter()
            .copied()
            .filter(|r| r.config.n == n && r.config.method == m)
            .collect()
    };
    let (gn, gd) = (of(Method::Gn), of(Method::Gd));
    for d in gd.iter().filter(|d| d.summary.status == Status::Diverged) {
        details.push(diverged_gd_note(n, d));
    }
    let usable: Vec<&&RunResult> = gd.iter().filter(|d| at_horizon(d, horizon)).collect();
    let converged: Vec<&&RunResult> = gn
        .iter()
        .filter(|r| r.summary.status == Status::Converged)
        .collect();
    // Paired: only the seeds both methods have count, so a claim that still misses runs
    // compares like with like (with every run in, that is every seed whose runs are usable).
    let both: Vec<u64> = usable
        .iter()
        .map(|d| d.config.seed)
        .filter(|&seed| converged.iter().any(|g| g.config.seed == seed))
        .collect();
    let paired = |runs: &[&&RunResult]| {
        mean(
            runs.iter()
                .filter(|r| both.contains(&r.config.seed))
                .filter_map(|r| r.summary.final_test_loss),
        )
    };
    let (lg, ld, seeds) = (paired(&converged), paired(&usable), both.len());
    let ok = match (lg, ld) {
        (Some(a), Some(b)) => Some(test_losses_agree(a, b, smallest, close)),
        _ => None,
    };
    let lrs: Vec<String> = usable.iter().map(|r| format!("{}", r.config.lr)).collect();
    details.push(format!(
        "N={n}: GN {}, GD {} over the {seeds} seed(s) both have (GN: {} finished run(s); GD: {} of {} finished run(s) at the horizon, λ = {}){}{}",
        e3(lg),
        e3(ld),
        gn.len(),
        usable.len(),
        gd.len(),
        if lrs.is_empty() {
            "–".into()
        } else {
            lrs.join("/")
        },
        match (lg, ld) {
            (Some(a), Some(b)) => format!(", GN/GD = {:.3}", a / b),
            _ => String::new(),
        },
        if ok == Some(false) { " ← fails" } else { "" }
    ));
    ok
}

/// The detail line of a diverged GD run: its step, and its stability bound if known.
fn diverged_gd_note(n: usize, d: &RunResult) -> String {
    let bound = step_bound(d)
        .map(|b| {
            format!(
                " (bound 2N/λ_max(A) = {:.3e}, λ·λ_max/N = {:.3})",
                b.bound, b.ratio
            )
        })
        .unwrap_or_default();
    format!(
        "N={n} seed {}: GD diverged at step {} with λ = {}{bound} — reported, not used",
        d.config.seed, d.summary.iterations, d.config.lr,
    )
}

/// (d) Hidden learning on the refit runs (GN with the refit probe at τ₀ ≤ `small_tau0`): at the
/// smallest λ, some record during training has a refit test loss ≤ `well_below` × the model's
/// and ≤ `well_below` × random features'; and the mean final test loss at the smallest λ is
/// below that at the largest, for every (N, τ₀).
pub fn claim_d(
    expected: &[Config],
    found: &[RunResult],
    small_tau0: f64,
    well_below: f64,
) -> Verdict {
    let need = needed(expected, found, |c| {
        c.method == Method::Gn && c.refit && c.tau0 <= small_tau0
    });
    let mut details = Vec::new();
    let lmin = need
        .expected
        .iter()
        .map(|c| c.lr)
        .fold(f64::INFINITY, f64::min);
    let lmax = need
        .expected
        .iter()
        .map(|c| c.lr)
        .fold(f64::NEG_INFINITY, f64::max);
    let part1 = refit_below_during_training(&need, lmin, well_below, &mut details);
    let part2 = smaller_step_lower_loss(&need, lmin, lmax, &mut details);
    let holds = if part1.is_empty() || part2.is_empty() {
        None
    } else {
        Some(part1.iter().chain(&part2).all(|&v| v))
    };
    details.insert(
        0,
        format!("GN with the refit probe, τ₀ ≤ {small_tau0}; part 1 at λ = {lmin} (refit ≤ {well_below}× model and random features during training), part 2 λ = {lmin} vs {lmax}"),
    );
    need.verdict(
        "d",
        "Hidden learning: at small τ₀ and small λ GN's refit test loss falls well below its own and random features', and smaller λ gives a lower final test loss",
        holds,
        details,
    )
}

/// Claim (d), part 1: for each run at the smallest λ, whether some record during training has
/// a refit test loss well below the model's and random features' (a detail line each).
fn refit_below_during_training(
    need: &Needed,
    lmin: f64,
    well_below: f64,
    details: &mut Vec<String>,
) -> Vec<bool> {
    let mut part1 = Vec::new();
    for r in need.found.iter().filter(|r| r.config.lr == lmin) {
        let rf = r.summary.rf_test_loss.unwrap_or(f64::INFINITY);
        let best = refit_record(r, rf, well_below);
        let ok = best.is_some_and(|(_, refit, test)| hidden_learned(refit, test, rf, well_below));
        part1.push(ok);
        if let Some((it, refit, test)) = best {
            details.push(format!(
                "N={} τ₀={} λ={} seed {}: at step {it} (t = {}) refit {:.3e} vs model {:.3e} (ratio {:.1e}), random features {:.3e}{}",
                r.config.n,
                r.config.tau0,
                r.config.lr,
                r.config.seed,
                r.config.flow_time(it),
                refit,
                test,
                refit / test,
                rf,
                if ok { "" } else { " ← fails" }
            ));
        }
    }
    part1
}

/// Claim (d), part 2: for each (N, τ₀), whether the mean final test loss at λ = `lmin` is below
/// that at `lmax`, both over the seeds that have a finished, not diverged run at each step (so a
/// claim still missing runs compares like with like; a detail line each).
fn smaller_step_lower_loss(
    need: &Needed,
    lmin: f64,
    lmax: f64,
    details: &mut Vec<String>,
) -> Vec<bool> {
    let mut part2 = Vec::new();
    let mut cells: Vec<(usize, u64)> = need
        .found
        .iter()
        .map(|r| (r.config.n, r.config.tau0.to_bits()))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    for (n, tb) in cells {
        let runs_at = |lr: f64| {
            need.found.iter().filter(move |r| {
                r.config.n == n
                    && r.config.tau0.to_bits() == tb
                    && r.config.lr == lr
                    && r.summary.status != Status::Diverged
                    && r.summary.final_test_loss.is_some()
            })
        };
        let seeds_at = |lr: f64| {
            runs_at(lr)
                .map(|r| r.config.seed)
                .collect::<BTreeSet<u64>>()
        };
        let both: Vec<u64> = seeds_at(lmin)
            .intersection(&seeds_at(lmax))
            .copied()
            .collect();
        let at = |lr: f64| {
            mean(
                runs_at(lr)
                    .filter(|r| both.contains(&r.config.seed))
                    .filter_map(|r| r.summary.final_test_loss),
            )
        };
        if let (Some(a), Some(b)) = (at(lmin), at(lmax)) {
            part2.push(a < b);
            let seeds: Vec<String> = both.iter().map(u64::to_string).collect();
            details.push(format!(
                "N={n} τ₀={}: final test loss λ={lmin}: {a:.3e}, λ={lmax}: {b:.3e} (mean over seed(s) {}){}",
                f64::from_bits(tb),
                seeds.join(", "),
                if a < b { "" } else { " ← fails" }
            ));
        }
    }
    part2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::rec;
    use crate::results::{Record, Summary};

    fn finished(c: &Config, status: Status, iters: u64, test: f64) -> RunResult {
        let summary = Summary {
            status,
            iterations: iters,
            final_train_loss: Some(1e-9),
            final_test_loss: Some(test),
            rf_test_loss: Some(1.0),
            refit_test_loss: None,
            wall_s: None,
            gn_fallbacks: 0,
        };
        RunResult {
            config: c.clone(),
            records: vec![rec(0, 1.0, 1.0)],
            summary,
        }
    }

    fn grid() -> Vec<Config> {
        let mut out = Vec::new();
        for tau0 in [0.01, 100.0] {
            for seed in [1, 2] {
                out.push(Config {
                    method: Method::Gn,
                    tau0,
                    seed,
                    n: 100,
                    ..Config::default()
                });
                let mut gd = Config {
                    method: Method::Gd,
                    tau0,
                    seed,
                    n: 100,
                    lr: 100.0,
                    max_flow_time: Some(2e7),
                    ..Config::default()
                };
                gd.apply_max_flow_time();
                out.push(gd);
            }
        }
        out
    }

    #[test]
    fn a_run_with_another_record_spacing_is_the_same_run() {
        let c = Config::default();
        let finer = Config {
            eval_every: c.eval_every + 7,
            ..c.clone()
        };
        assert!(same_run(&c, &finer));
        let other_step = Config {
            lr: c.lr * 2.0,
            ..finer.clone()
        };
        assert!(!same_run(&c, &other_step));
        let other_seed = Config {
            seed: c.seed + 1,
            ..finer
        };
        assert!(!same_run(&c, &other_seed));
    }

    #[test]
    fn claims_are_incomplete_until_every_run_is_there_then_hold_or_fail() {
        let g = grid();
        let gn = |i: usize, t: f64| finished(&g[i], Status::Converged, 90, t);
        let gd = |i: usize, t: f64| finished(&g[i], Status::MaxIter, g[i].max_iter, t);
        // (b): τ₀ = 0.01 is g[0..4]. Three of four runs: incomplete, naming the missing one.
        let some = vec![gn(0, 0.03), gd(1, 0.01), gn(2, 0.03)];
        let v = claim_bc(&g, &some, 2e7, true, 1.25);
        assert_eq!(
            (v.verdict.as_str(), v.found, v.expected),
            ("incomplete: 3 of 4 runs", 3, 4)
        );
        assert_eq!(v.missing, vec!["gd τ₀=0.01 N=100 λ=100 seed 2".to_string()]);
        // Means over the seeds both have: GN's seed 2 does not count while GD's is missing
        // (all seeds: GN 0.03 against GD 0.011; paired: 0.01 against 0.011).
        let unpaired = vec![gn(0, 0.01), gd(1, 0.011), gn(2, 0.05)];
        let v = claim_bc(&g, &unpaired, 2e7, true, 1.25);
        assert!(
            v.details
                .iter()
                .any(|d| d.contains("GN 1.000e-2, GD 1.100e-2 over the 1 seed(s)")),
            "{v:?}"
        );
        let all = vec![gn(0, 0.03), gd(1, 0.01), gn(2, 0.03), gd(3, 0.02)];
        assert_eq!(claim_bc(&g, &all, 2e7, true, 1.25).holds, Some(true));
        let worse = vec![gn(0, 0.03), gd(1, 0.05), gn(2, 0.03), gd(3, 0.06)];
        assert_eq!(claim_bc(&g, &worse, 2e7, true, 1.25).holds, Some(false));
        // A GD run stopped short of the horizon is not the horizon: undecided, not a verdict.
        let short = vec![
            gn(0, 0.03),
            finished(&g[1], Status::MaxIter, 10, 0.01),
            gn(2, 0.03),
            finished(&g[3], Status::MaxIter, 10, 0.01),
        ];
        assert_eq!(claim_bc(&g, &short, 2e7, true, 1.25).verdict, "undecided");
        // (c) at τ₀ = 100: one GD seed diverged — reported with its step, left out of the mean.
        let mut div = finished(&g[5], Status::Diverged, 3, f64::NAN);
        div.records[0].sigma_max = Some(1e4);
        let c = vec![gn(4, 0.05), div, gn(6, 0.05), gd(7, 0.055)];
        let v = claim_bc(&g, &c, 2e7, false, 1.25);
        assert_eq!(v.holds, Some(true), "{v:?}");
        assert!(
            v.details
                .iter()
                .any(|d| d.contains("diverged") && d.contains("bound")),
            "{v:?}"
        );
        // (a): GN converged in fewer steps than GD's cap everywhere.
        let every: Vec<RunResult> = (0..8)
            .map(|i| if i % 2 == 0 { gn(i, 0.1) } else { gd(i, 0.1) })
            .collect();
        assert_eq!(claim_a(&g, &every, 2e7).holds, Some(true));
        let mut slow = every.clone();
        slow[0].summary.status = Status::MaxIter;
        assert_eq!(claim_a(&g, &slow, 2e7).holds, Some(false));
    }
    /// A finished GN run with the refit probe at `c`, recording (iteration, model test loss,
    /// refit test loss) and random features' test loss 0.1.
    fn probed(c: &Config, test: f64, recs: &[(u64, f64, f64)]) -> RunResult {
        let mut r = finished(c, Status::Converged, 1000, test);
        r.summary.rf_test_loss = Some(0.1);
        r.records = recs
            .iter()
            .map(|&(it, model, refit)| Record {
                refit_test_loss: Some(refit),
                ..rec(it, model, model)
            })
            .collect();
        r
    }

    #[test]
    fn claim_d_takes_a_record_that_shows_learned_features_and_compares_like_with_like() {
        let cfg = |lr: f64, seed: u64| Config {
            method: Method::Gn,
            tau0: 0.01,
            n: 100,
            lr,
            seed,
            refit: true,
            ..Config::default()
        };
        let g = vec![cfg(0.1, 1), cfg(0.1, 2), cfg(10.0, 1), cfg(10.0, 2)];
        // Records are (iteration, model, refit); refit_record gives (iteration, refit, model).
        // Seed 1 at λ = 0.1: its lowest refit/model ratio (iteration 10: 0.06/0.9) is not
        // below half of random features' 0.1, but iteration 20 (0.02 against 0.1) is both;
        // iteration 0 (the baseline) and the last record do not count.
        let learned = [
            (0, 1.0, 0.001),
            (10, 0.9, 0.06),
            (20, 0.1, 0.02),
            (30, 0.01, 0.001),
        ];
        let r1 = probed(&g[0], 0.010, &learned);
        assert_eq!(refit_record(&r1, 0.1, 0.5), Some((20, 0.02, 0.1)));
        // Not learned: every record's refit is above half of random features'.
        let flat = [
            (0, 1.0, 0.1),
            (10, 0.9, 0.08),
            (20, 0.5, 0.07),
            (30, 0.01, 0.001),
        ];
        let r2 = probed(&g[1], 0.010, &flat);
        assert_eq!(refit_record(&r2, 0.1, 0.5), Some((10, 0.08, 0.9)));
        // λ = 10: seed 1 0.02, seed 2 0.005 (mean 0.0125).
        let big1 = probed(&g[2], 0.020, &learned);
        let big2 = probed(&g[3], 0.005, &learned);
        // Three of four: incomplete; part 2 over seed 1 only (0.010 against 0.020, not the
        // mean over both λ = 10 seeds).
        let v = claim_d(&g, &[r1.clone(), big1.clone(), big2.clone()], 0.1, 0.5);
        assert_eq!(v.verdict, "incomplete: 3 of 4 runs");
        assert!(
            v.details
                .iter()
                .any(|d| d.contains("λ=0.1: 1.000e-2, λ=10: 2.000e-2 (mean over seed(s) 1)")),
            "{v:?}"
        );
        // All four with seed 2 learned too: holds (means 0.010 against 0.0125).
        let r2_learned = probed(&g[1], 0.010, &learned);
        let v = claim_d(
            &g,
            &[r1.clone(), r2_learned, big1.clone(), big2.clone()],
            0.1,
            0.5,
        );
        assert_eq!(v.holds, Some(true), "{v:?}");
        // Seed 2 whose refit never beats random features by half: part 1 fails.
        let v = claim_d(&g, &[r1.clone(), r2, big1.clone(), big2.clone()], 0.1, 0.5);
        assert_eq!(v.holds, Some(false), "{v:?}");
        // Smaller λ worse at the end: part 2 fails.
        let worse = probed(&g[1], 0.05, &learned);
        let v = claim_d(&g, &[r1, worse, big1, big2], 0.1, 0.5);
        assert_eq!(v.holds, Some(false), "{v:?}");
    }
}
