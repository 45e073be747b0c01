//! The report on a folder of runs (`gn report`): a Markdown table of every run's summary and
//! a check of the paper's claims on that data, each printed as holds / fails with the numbers
//! behind it. Folders of runs stopped at a flow time (the paper-flow preset's) get the
//! flow-time report (`flow.rs`): the step-equivalence study, GD's step in each run, and the
//! claims measured against the paper-flow grid ([`crate::analysis`]). Both end with what the
//! runs cost (`compute.rs`) and the table of every run.

pub mod compute;
mod flow;

use crate::analysis::{gn_first, hidden_learned, refit_record, test_losses_agree};
use crate::runs::{distinct, main_lr, stats, Run};
use crate::Method;
use serde::Serialize;
use std::fmt::Write as _;

/// (c): "close" means the larger final test loss is at most this factor times the smaller.
pub const CLOSE_FACTOR: f64 = 1.25;
/// (d): "well below" means the refit test loss is at most this fraction of the model's.
pub const WELL_BELOW: f64 = 0.5;
/// (d): the τ₀ counted as small.
pub const SMALL_TAU0: f64 = 0.1;

/// One claim and its verdict on the data: `holds` is None when the data cannot decide.
#[derive(Clone, Debug, Serialize)]
pub struct Claim {
    pub id: &'static str,
    pub statement: String,
    pub holds: Option<bool>,
    pub details: Vec<String>,
}

impl Claim {
    fn verdict(&self) -> &'static str {
        match self.holds {
            Some(true) => "holds",
            Some(false) => "fails",
            None => "no data",
        }
    }
}

fn num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.3e}"),
        Some(_) => "inf".into(),
        None => "–".into(),
    }
}

fn ratio(x: f64) -> String {
    if x.is_finite() && (0.01..100.0).contains(&x.abs()) {
        format!("{x:.3}")
    } else {
        format!("{x:.2e}")
    }
}

fn mean_of(runs: &[&Run], f: impl Fn(&Run) -> Option<f64>) -> Option<f64> {
    stats(runs.iter().filter_map(|r| f(r))).map(|s| s.0)
}

fn statuses(runs: &[&Run]) -> String {
    let mut names: Vec<&str> = runs.iter().map(|r| r.status().name()).collect();
    names.dedup();
    names.join("/")
}

fn sel(runs: &[Run], n: usize, tau0: f64, lr: f64, m: Method) -> Vec<&Run> {
    runs.iter()
        .filter(|r| r.n() == n && r.tau0() == tau0 && r.lr() == lr && r.method() == m)
        .collect()
}

/// (a) GN needs fewer iterations than GD for every τ₀ and N (at the main λ, seed by seed).
fn claim_a(runs: &[Run], lr: f64) -> Claim {
    let mut details = Vec::new();
    let (mut pairs, mut bad) = (0, 0);
    for n in distinct(runs, |r| r.n()) {
        for t in distinct(runs, |r| r.tau0()) {
            let gn = sel(runs, n, t, lr, Method::Gn);
            let gd = sel(runs, n, t, lr, Method::Gd);
            let mut ok_here = true;
            let mut here = 0;
            for g in &gn {
                if let Some(d) = gd.iter().find(|d| d.r.config.seed == g.r.config.seed) {
                    here += 1;
                    // GN must reach the tolerance, in fewer steps than GD took (to converge, or
                    // before stopping at its cap or diverging without reaching it).
                    let ok = gn_first(&g.r.summary, &d.r.summary);
                    ok_here &= ok;
                    if !ok {
                        bad += 1;
                    }
                }
            }
            if here == 0 {
                continue;
            }
            pairs += here;
            let gi = mean_of(&gn, |r| Some(r.r.summary.iterations as f64)).unwrap_or(f64::NAN);
            let di = mean_of(&gd, |r| Some(r.r.summary.iterations as f64)).unwrap_or(f64::NAN);
            details.push(format!(
                "N={n} τ₀={t}: GN {gi:.0} iterations ({}), GD {di:.0} ({}){}",
                statuses(&gn),
                statuses(&gd),
                if ok_here { "" } else { " ← fails" }
            ));
        }
    }
    details.insert(
        0,
        format!("{pairs} GN/GD pairs (same N, τ₀, seed, λ = {lr}); {bad} where GN did not reach the tolerance in fewer iterations. GD at max_iter or diverged never reached it: its count is a lower bound."),
    );
    Claim {
        id: "a",
        statement: "GN needs fewer iterations than GD to reach the tolerance, for every τ₀ and N"
            .into(),
        holds: (pairs > 0).then_some(bad == 0),
        details,
    }
}

/// (b) and (c): GD vs GN final test loss at the smallest / largest τ₀, per N (seed means).
fn claim_bc(runs: &[Run], lr: f64, smallest: bool) -> Claim {
    let both = with_both_methods(runs, lr);
    let mut details = Vec::new();
    let verdicts: Vec<bool> = distinct(&both, |r| r.n())
        .into_iter()
        .map(|n| bc_at(&both, n, lr, smallest, &mut details))
        .collect();
    let note = if smallest {
        "Mean final test loss over seeds; GD's runs that stopped at max_iter are compared where they stopped."
    } else {
        "Close: the larger mean final test loss is at most 1.25× the smaller. A diverged run fails the check."
    };
    details.insert(0, format!("λ = {lr}. {note}"));
    Claim {
        id: if smallest { "b" } else { "c" },
        statement: if smallest {
            "At the smallest τ₀, GD's final test loss is lower than GN's (for every N)".into()
        } else {
            "At the largest τ₀, GN's and GD's final test losses are close (for every N)".into()
        },
        holds: (!verdicts.is_empty()).then(|| verdicts.iter().all(|&v| v)),
        details,
    }
}

/// The runs at step `lr` whose (N, τ₀) cell has a run of the other method too.
fn with_both_methods(runs: &[Run], lr: f64) -> Vec<Run> {
    runs.iter()
        .filter(|r| {
            r.lr() == lr
                && runs.iter().any(|o| {
                    o.lr() == lr
                        && o.n() == r.n()
                        && o.tau0() == r.tau0()
                        && o.method() != r.method()
                })
        })
        .cloned()
        .collect()
}

/// Claim (b) or (c) at one N, at its smallest or largest τ₀: whether it holds (a diverged
/// run fails it), with a detail line (and, for (c) with a divergence, a line of context).
fn bc_at(both: &[Run], n: usize, lr: f64, smallest: bool, details: &mut Vec<String>) -> bool {
    let taus = distinct(both.iter().filter(|r| r.n() == n), |r| r.tau0());
    let t = if smallest {
        taus[0]
    } else {
        *taus.last().unwrap()
    };
    let gn = sel(both, n, t, lr, Method::Gn);
    let gd = sel(both, n, t, lr, Method::Gd);
    let diverged = gn.iter().chain(&gd).any(|r| r.diverged());
    let lg = mean_of(&gn, |r| r.r.summary.final_test_loss);
    let ld = mean_of(&gd, |r| r.r.summary.final_test_loss);
    let ok = match (lg, ld, diverged) {
        (_, _, true) => false,
        (Some(a), Some(b), _) => test_losses_agree(a, b, smallest, CLOSE_FACTOR),
        _ => false,
    };
    let ratio_text = match (lg, ld) {
        (Some(a), Some(b)) if !diverged => format!(", GN/GD = {}", ratio(a / b)),
        _ => String::new(),
    };
    details.push(format!(
        "N={n} τ₀={t}: GN test loss {} ({}), GD {} ({}){ratio_text}{}",
        num(lg),
        statuses(&gn),
        num(ld),
        statuses(&gd),
        if ok { "" } else { " ← fails" }
    ));
    if !smallest && diverged {
        details.extend(largest_stable_context(both, &taus, n, lr));
    }
    ok
}

/// For context, not the verdict: how GN and GD compare at the largest τ₀ where neither
/// diverged.
fn largest_stable_context(both: &[Run], taus: &[f64], n: usize, lr: f64) -> Option<String> {
    let stable = |&t: &f64| {
        let a = sel(both, n, t, lr, Method::Gn);
        let b = sel(both, n, t, lr, Method::Gd);
        !a.is_empty() && !b.is_empty() && a.iter().chain(&b).all(|r| !r.diverged())
    };
    let t2 = *taus.iter().rev().find(|t| stable(t))?;
    let test = |r: &Run| r.r.summary.final_test_loss;
    let a = mean_of(&sel(both, n, t2, lr, Method::Gn), test)?;
    let b = mean_of(&sel(both, n, t2, lr, Method::Gd), test)?;
    Some(format!(
        "  (for context, not the verdict: at τ₀={t2}, the largest τ₀ where no run diverged, GN {} vs GD {}, GN/GD = {})",
        num(Some(a)),
        num(Some(b)),
        ratio(a / b)
    ))
}

/// (d) Hidden learning: in GN runs at small τ₀ with the smallest λ, the refit test loss
/// recorded during training falls well below the model's test loss before the run ends;
/// and smaller λ gives GN a lower final test loss.
fn claim_d(runs: &[Run]) -> Claim {
    let gn: Vec<&Run> = runs
        .iter()
        .filter(|r| r.method() == Method::Gn && r.tau0() <= SMALL_TAU0)
        .collect();
    let mut details = vec![format!(
        "GN runs at τ₀ ≤ {SMALL_TAU0}. Part 1, at the smallest λ recorded with --refit: at some record during training (after iteration 0, before the last record), the refit test loss ≤ {WELL_BELOW} × the model's test loss at that record, and ≤ {WELL_BELOW} × the random-features test loss (the hidden layer has learned features); the record shown is the one with the lowest refit/model ratio among those. Part 2: mean final test loss over seeds at the smallest λ below that at the largest λ."
    )];
    let mut verdicts = Vec::new();
    hidden_probe(&gn, &mut details, &mut verdicts);
    smaller_step_lower_loss(&gn, &mut details, &mut verdicts);
    Claim {
        id: "d",
        statement: "Hidden learning: at small τ₀ and small λ, GN's refit test loss falls well below its own test loss before the run ends, and smaller λ gives GN a lower final test loss".into(),
        holds: if verdicts.len() == 2 { Some(verdicts.iter().all(|&v| v)) } else if verdicts.iter().any(|v| !v) { Some(false) } else { None },
        details,
    }
}

/// (d), part 1: the refit probe during training, for the smallest λ with refit records.
fn hidden_probe(gn: &[&Run], details: &mut Vec<String>, verdicts: &mut Vec<bool>) {
    // Part 1: the refit probe during training, for the smallest λ with refit records.
    let probed: Vec<&Run> = gn
        .iter()
        .copied()
        .filter(|r| {
            r.r.records
                .iter()
                .filter(|x| x.refit_test_loss.is_some())
                .count()
                >= 2
        })
        .collect();
    if probed.is_empty() {
        details.push(
            "part 1: no GN run at small τ₀ recorded the refit during training (run with --refit)"
                .into(),
        );
    } else {
        let lmin = probed.iter().map(|r| r.lr()).fold(f64::INFINITY, f64::min);
        let mut all = true;
        for r in probed.iter().filter(|r| r.lr() == lmin) {
            let rf = r.r.summary.rf_test_loss.unwrap_or(f64::INFINITY);
            let best = refit_record(&r.r, rf, WELL_BELOW);
            let ok =
                best.is_some_and(|(_, refit, test)| hidden_learned(refit, test, rf, WELL_BELOW));
            all &= ok;
            match best {
                Some((it, refit, test)) => details.push(format!(
                    "part 1, N={} τ₀={} λ={lmin} seed {}: at iteration {it} (the run {} at {}), refit test loss {} vs the model's {} (ratio {}) and random features {} (ratio {}){}",
                    r.n(),
                    r.tau0(),
                    r.r.config.seed,
                    r.status().name(),
                    r.r.summary.iterations,
                    num(Some(refit)),
                    num(Some(test)),
                    ratio(refit / test),
                    num(Some(rf)),
                    ratio(refit / rf),
                    if ok { "" } else { " ← fails" }
                )),
                None => details.push(format!("part 1, {}: no record with both losses during training ← fails", r.name)),
            }
        }
        verdicts.push(all);
    }
}

/// (d), part 2: smaller λ, lower final test loss (mean over seeds), per (N, τ₀).
fn smaller_step_lower_loss(gn: &[&Run], details: &mut Vec<String>, verdicts: &mut Vec<bool>) {
    // Part 2: smaller λ, lower final test loss (mean over seeds), per (N, τ₀).
    let mut any = false;
    let mut all = true;
    let owned: Vec<Run> = gn.iter().map(|r| (*r).clone()).collect();
    for n in distinct(&owned, |r| r.n()) {
        for t in distinct(&owned, |r| r.tau0()) {
            let here: Vec<&Run> = gn
                .iter()
                .copied()
                .filter(|r| r.n() == n && r.tau0() == t && !r.diverged())
                .collect();
            let lrs = distinct(
                &here.iter().map(|r| (*r).clone()).collect::<Vec<_>>(),
                |r| r.lr(),
            );
            if lrs.len() < 2 {
                continue;
            }
            any = true;
            let losses: Vec<(f64, Option<f64>, String)> = lrs
                .iter()
                .map(|&lr| {
                    let v: Vec<&Run> = here.iter().copied().filter(|r| r.lr() == lr).collect();
                    (
                        lr,
                        mean_of(&v, |r| r.r.summary.final_test_loss),
                        statuses(&v),
                    )
                })
                .collect();
            let (lo, hi) = (&losses[0], losses.last().unwrap());
            let ok = matches!((lo.1, hi.1), (Some(a), Some(b)) if a < b);
            all &= ok;
            let monotone = losses
                .windows(2)
                .all(|w| matches!((w[0].1, w[1].1), (Some(a), Some(b)) if a <= b));
            details.push(format!(
                "part 2, N={n} τ₀={t}: final test loss {}{}{}",
                losses
                    .iter()
                    .map(|(lr, l, st)| format!("λ={lr}: {} ({st})", num(*l)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if monotone {
                    "; decreasing with λ throughout"
                } else {
                    "; not monotone in λ"
                },
                if ok {
                    ""
                } else {
                    " ← fails (smallest λ not lower than largest)"
                }
            ));
        }
    }
    if any {
        verdicts.push(all);
    } else {
        details.push("part 2: no (N, τ₀) with GN at two or more λ".into());
    }
}

pub fn claims(runs: &[Run]) -> Vec<Claim> {
    let lr = main_lr(runs);
    vec![
        claim_a(runs, lr),
        claim_bc(runs, lr, true),
        claim_bc(runs, lr, false),
        claim_d(runs),
    ]
}

pub fn markdown(runs: &[Run], claims: &[Claim], title: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Report: {title}\n");
    let _ = writeln!(s, "{} runs. Losses are L = (1/2N)Σ(f−y)²; “refit” is the last layer refit by least squares on the run's final hidden layer, “RF” the same at initialisation (random features).\n", runs.len());
    let _ = writeln!(s, "## The paper's claims on this data\n");
    for c in claims {
        let _ = writeln!(s, "- **({}) {}** — {}", c.id, c.verdict(), c.statement);
        for d in &c.details {
            let _ = writeln!(s, "  - {d}");
        }
    }
    s.push_str(&compute::section(runs));
    s.push_str(&run_table_with(runs, false));
    s
}

fn run_table(runs: &[Run]) -> String {
    run_table_with(runs, true)
}

/// The table of every run; with `flow`, also the step limit and the flow time reached.
fn run_table_with(runs: &[Run], flow: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n## Runs\n");
    if flow {
        let _ = writeln!(s, "| method | act. | τ₀ | N | M | λ | seed | refit | status | iterations | t = λ·k | step limit | train loss | test loss | RF test | refit test | wall s |");
        let _ = writeln!(
            s,
            "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
    } else {
        let _ = writeln!(s, "| method | act. | τ₀ | N | M | λ | seed | refit | status | iterations | train loss | test loss | RF test | refit test | wall s |");
        let _ = writeln!(
            s,
            "|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"
        );
    }
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by(|a, b| {
        (a.n(), a.lr(), a.method().name(), a.tau0(), a.r.config.seed)
            .partial_cmp(&(b.n(), b.lr(), b.method().name(), b.tau0(), b.r.config.seed))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for r in sorted {
        let c = &r.r.config;
        let m = &r.r.summary;
        let flow_cells = if flow {
            format!(" {:.4e} | {} |", r.r.flow_time(), c.max_iter)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{flow_cells} {} | {} | {} | {} | {} |",
            c.method.name().to_uppercase(),
            c.activation.name(),
            c.tau0,
            c.n,
            c.m,
            c.lr,
            c.seed,
            if c.refit { "yes" } else { "no" },
            m.status.name(),
            m.iterations,
            num(m.final_train_loss),
            num(m.final_test_loss),
            num(m.rf_test_loss),
            num(m.refit_test_loss),
            m.wall_s.map(|w| format!("{w:.1}")).unwrap_or("–".into()),
        );
    }
    s
}

fn pretty<T: Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

/// The report on `runs` titled `title`: the Markdown, and the claim checks as JSON.
pub fn report(runs: &[Run], title: &str) -> Result<(String, String), String> {
    if runs.iter().any(|r| r.r.config.max_flow_time.is_some()) {
        let (flow, json) = flow::flow_report(runs)?;
        let mut md = String::new();
        let _ = writeln!(md, "# Report: {title}\n");
        let _ = writeln!(md, "{} runs. Losses are L = (1/2N)Σ(f−y)²; t = λ·k is the flow time after k steps of size λ.\n", runs.len());
        md.push_str(&flow);
        md.push_str(&compute::section(runs));
        md.push_str(&run_table(runs));
        return Ok((md, pretty(&json)?));
    }
    let claims = claims(runs);
    Ok((markdown(runs, &claims, title), pretty(&claims)?))
}
