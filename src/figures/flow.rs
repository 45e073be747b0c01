//! The figures of a flow-time folder (runs stopped at a flow time, e.g. the `paper-flow`
//! preset's): GD at several λ on one flow-time axis (step equivalence), and the paper's
//! final test loss against τ₀ ([`PAPER_FIGURE`]).

use super::{
    clip, figure, loss_cap, width, Ctx, Figure, Panel, Series, TauFigure, TauSeries, GD, GN,
    PALETTE, REFIT, RF,
};
use crate::analysis::{at_horizon, is_gd_horizon, is_gn_main};
use crate::flow::{HORIZON_T, STUDY_T};
use crate::runs::{distinct, Run};
use crate::{Method, Record};

/// The figures of a flow-time folder: step equivalence, then the paper's figure.
pub fn figures(runs: &[Run]) -> Vec<Figure> {
    let ctx = Ctx {
        n: 0,
        m: width(runs),
        lr: crate::flow::REFERENCE_LR,
        seed: 1,
    };
    [
        step_equivalence(runs, ctx.m),
        PAPER_FIGURE.build(runs, &ctx),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn gn_main(r: &Run, _: f64) -> bool {
    is_gn_main(&r.r.config)
}

fn gd_horizon(r: &Run, _: f64) -> bool {
    is_gd_horizon(&r.r.config, HORIZON_T)
}

/// The final test loss if finite and the run did not diverge.
fn finite_test(r: &Run) -> Option<f64> {
    if r.diverged() {
        None
    } else {
        r.r.summary.final_test_loss.filter(|x| x.is_finite())
    }
}

/// The paper's figure: final test loss against τ₀ of GN's main runs and GD's runs to the
/// horizon, one panel per N.
pub static PAPER_FIGURE: TauFigure = TauFigure {
    stem: "paper_test_loss_vs_tau0",
    title: |c| {
        format!(
            "Final test loss against τ₀ (the paper's figure) — M = {}, mean over seeds, bars: min–max",
            c.m
        )
    },
    ydesc: "final test loss",
    seeds_in_title: true,
    pool: &[gn_main, gd_horizon],
    series: &[
        TauSeries {
            label: "GN (λ = 10)",
            color: GN,
            dashed: false,
            select: |r| gn_main(r, 0.0),
            value: finite_test,
            hollow: |r| !r.converged(),
        },
        TauSeries {
            label: "random features",
            color: RF,
            dashed: true,
            select: |_| true,
            value: |r| r.r.summary.rf_test_loss,
            hollow: |_| false,
        },
        TauSeries {
            label: "GN refit",
            color: REFIT,
            dashed: true,
            select: |r| gn_main(r, 0.0),
            value: |r| {
                if r.diverged() {
                    None
                } else {
                    r.r.summary.refit_test_loss
                }
            },
            hollow: |r| !r.converged(),
        },
        // GD last, so that its markers are drawn on top where they meet GN's (τ₀ = 100).
        TauSeries {
            label: "GD (t = 2e7 or converged)",
            color: GD,
            dashed: false,
            select: |r| gd_horizon(r, 0.0),
            value: finite_test,
            hollow: |r| !at_horizon(&r.r, HORIZON_T),
        },
    ],
    hollow_if_seeds_missing: true,
    one_row_up_to: 3,
    note: Some("GD at its τ₀'s flow-equivalent step (or half its stability bound) to t = 2e7 or convergence; hollow: some run not there yet (a mean over fewer seeds than the panel's, GN not converged, GD short of the horizon); a line breaks across a τ₀ none of whose runs is in yet. Diverged runs left out."),
};

/// Step equivalence: GD's study runs (stopped at a flow time short of the horizon), one
/// panel per (N, τ₀), a colour per λ, train loss solid and test loss dashed.
fn step_equivalence(runs: &[Run], m: usize) -> Option<Figure> {
    let study: Vec<&Run> = runs
        .iter()
        .filter(|r| r.method() == Method::Gd && !r.r.config.refit)
        .filter(|r| r.r.config.max_flow_time.is_some_and(|t| t != HORIZON_T))
        .collect();
    let lrs = distinct(study.iter().copied(), |r| r.lr());
    let mut panels = Vec::new();
    for n in distinct(study.iter().copied(), |r| r.n()) {
        for t in distinct(study.iter().copied().filter(|r| r.n() == n), |r| r.tau0()) {
            let mut here: Vec<&Run> = study
                .iter()
                .copied()
                .filter(|r| r.n() == n && r.tau0() == t)
                .collect();
            here.sort_by(|a, b| a.lr().total_cmp(&b.lr()));
            panels.push(step_panel(&here, &lrs, n, t));
        }
    }
    figure(
        "step_equivalence".into(),
        format!("GD at several step sizes on one flow-time axis — M = {m}, seed 1: train (solid) and test (dashed) loss"),
        panels,
        3,
        Some(format!("Log axes (t = 0 not shown). Steps that follow the same flow overlap; runs end at their flow-time limit (the paper-flow study's: t = {STUDY_T:e}). Diverged runs are clipped at 1000× the initial loss.")),
    )
}

/// The panel of the runs `here` (one N and τ₀, by increasing λ) against flow time; the
/// colour of a λ is its place among `lrs`.
fn step_panel(here: &[&Run], lrs: &[f64], n: usize, t: f64) -> Panel {
    let mut series = Vec::new();
    let mut diverged = Vec::new();
    for r in here {
        let i = lrs.iter().position(|&l| l == r.lr()).unwrap_or(0);
        let color = PALETTE[i % PALETTE.len()];
        let lr = r.lr();
        let cap = loss_cap(r);
        let at_t = |f: &dyn Fn(&Record) -> Option<f64>| {
            clip(
                r.r.records
                    .iter()
                    .filter_map(|x| f(x).map(|y| (x.flow_time(lr), y)))
                    .collect(),
                cap,
            )
        };
        if r.diverged() {
            diverged.push(lr);
        }
        series.push(Series::line(
            format!("λ = {lr}"),
            color,
            false,
            at_t(&|x| Some(x.train_loss)),
        ));
        series.push(Series::line(None, color, true, at_t(&|x| x.test_loss)));
    }
    let title = if diverged.is_empty() {
        format!("N = {n}, τ₀ = {t}")
    } else {
        diverged.sort_by(f64::total_cmp);
        let list: Vec<String> = diverged.iter().map(|l| l.to_string()).collect();
        format!("N = {n}, τ₀ = {t} (λ = {} diverged)", list.join(", "))
    };
    Panel {
        title,
        xdesc: "flow time t = λ·k".into(),
        ydesc: "loss".into(),
        ylog: true,
        series,
    }
}
