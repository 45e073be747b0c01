//! Tests of the figure specs: unique file names, and which runs and values each figure's
//! series take from a handmade folder of runs.

use super::*;
use crate::flow::{HORIZON_T, STUDY_T};
use crate::results::{RunResult, Status, Summary};
use crate::Config;

fn rec(iter: u64, train: f64, refit: Option<f64>) -> Record {
    Record {
        iter,
        train_loss: train,
        test_loss: Some(2.0 * train),
        sigma_min: Some(0.5),
        sigma_max: Some(2.0),
        eps: None,
        step_norm: None,
        alignment: Some(0.1),
        refit_test_loss: refit,
        elapsed_s: None,
    }
}

/// A finished run: records at iterations 0, 10, 20, 30, final test loss `test`.
fn run(c: Config, status: Status, test: f64) -> Run {
    let refit = c.refit.then_some(0.5 * test);
    let records: Vec<Record> = (0..4)
        .map(|k| rec(10 * k, 1.0 / (1 + k) as f64, refit))
        .collect();
    let summary = Summary {
        status,
        iterations: 30,
        final_train_loss: Some(0.25),
        final_test_loss: Some(test),
        rf_test_loss: Some(1.0),
        refit_test_loss: Some(0.5 * test),
        wall_s: None,
        gn_fallbacks: 0,
    };
    let name = format!(
        "{}-tau0_{}-n{}-lr{}-seed{}",
        c.method.name(),
        c.tau0,
        c.n,
        c.lr,
        c.seed
    );
    Run {
        name,
        r: RunResult {
            config: c,
            records,
            summary,
        },
    }
}

fn cfg(method: Method, tau0: f64, n: usize, seed: u64, lr: f64) -> Config {
    Config {
        method,
        tau0,
        n,
        seed,
        lr,
        m: 50,
        ..Config::default()
    }
}

/// GN and GD at τ₀ ∈ {0.01, 1}, N ∈ {10, 20}, seeds 1 and 2, λ = 10; GD diverges at
/// τ₀ = 1, N = 10, seed 2; GN's test loss is the seed, GD's 10 × the seed.
fn sweep_runs() -> Vec<Run> {
    let mut runs = Vec::new();
    for n in [10, 20] {
        for tau0 in [0.01, 1.0] {
            for seed in [1, 2] {
                runs.push(run(
                    cfg(Method::Gn, tau0, n, seed, 10.0),
                    Status::Converged,
                    seed as f64,
                ));
                let status = if (n, tau0, seed) == (10, 1.0, 2) {
                    Status::Diverged
                } else {
                    Status::MaxIter
                };
                runs.push(run(
                    cfg(Method::Gd, tau0, n, seed, 10.0),
                    status,
                    10.0 * seed as f64,
                ));
            }
        }
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    runs
}

fn stems(figs: &[Figure]) -> Vec<&str> {
    figs.iter().map(|f| f.stem.as_str()).collect()
}

fn find<'a>(figs: &'a [Figure], stem: &str) -> &'a Figure {
    figs.iter().find(|f| f.stem == stem).unwrap()
}

fn labels(p: &Panel) -> Vec<&str> {
    p.series
        .iter()
        .map(|s| s.label.as_deref().unwrap_or(""))
        .collect()
}

#[test]
fn every_figure_has_its_own_file_name() {
    let mut names: Vec<&str> = sweep::ITER_FIGURES.iter().map(|f| f.stem).collect();
    names.extend(sweep::TAU_FIGURES.iter().map(|f| f.stem));
    names.extend([
        flow::PAPER_FIGURE.stem,
        "lambda_sweep",
        "hidden_learning",
        "step_equivalence",
    ]);
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // The per-N names too, for several N.
    let figs = sweep::figures(&sweep_runs(), None, None);
    let mut made = stems(&figs);
    let count = made.len();
    made.sort_unstable();
    made.dedup();
    assert_eq!(made.len(), count);
}

#[test]
fn sweep_figures_select_their_runs() {
    let runs = sweep_runs();
    let figs = sweep::figures(&runs, None, None);
    assert_eq!(
        stems(&figs),
        [
            "loss_vs_iter_n10",
            "sigma_min_vs_iter_n10",
            "alignment_vs_iter_n10",
            "loss_vs_iter_n20",
            "sigma_min_vs_iter_n20",
            "alignment_vs_iter_n20",
            "test_loss_vs_tau0",
            "iterations_vs_tau0",
        ]
    );
    // Per iteration: a panel per τ₀, seed 1 only, GN's lines then GD's.
    let loss = find(&figs, "loss_vs_iter_n10");
    assert_eq!(
        loss.title,
        "Train (solid) and test (dashed) loss, GN vs GD — N = 10, M = 50, λ = 10, seed 1"
    );
    assert_eq!(loss.panels.len(), 2);
    assert_eq!(loss.panels[1].title, "τ₀ = 1");
    assert_eq!(
        labels(&loss.panels[0]),
        ["GN train", "GN test", "GD train", "GD test"]
    );
    assert!(!loss.panels[0].series[0].dashed && loss.panels[0].series[1].dashed);
    assert_eq!(loss.panels[0].series[1].points[1], (10.0, 1.0));
    let seed2 = sweep::figures(&runs, Some(10), Some(2));
    assert_eq!(seed2[0].panels[1].title, "τ₀ = 1 (GD diverged)");
    let align = find(&figs, "alignment_vs_iter_n10");
    assert!(!align.panels[0].ylog);
    assert_eq!(labels(&align.panels[0]), ["GN", "GD"]);

    // Against τ₀: a panel per N, seed means; the diverged GD run left out of the loss.
    let test = find(&figs, "test_loss_vs_tau0");
    assert_eq!(test.panels.len(), 2);
    assert_eq!(test.panels[0].title, "N = 10 (2 seeds)");
    let p = &test.panels[0];
    assert_eq!(
        labels(p),
        ["GN", "GD", "random features", "GN refit (hidden)"]
    );
    assert_eq!(p.series[0].points, [(0.01, 1.5), (1.0, 1.5)]);
    assert_eq!(p.series[0].bars, [(0.01, 1.0, 2.0), (1.0, 1.0, 2.0)]);
    assert_eq!(p.series[1].points, [(0.01, 15.0), (1.0, 10.0)]);
    assert_eq!(p.series[1].bars.len(), 1);
    assert_eq!(p.series[3].points, [(0.01, 0.75), (1.0, 0.75)]);
    // Iterations: every run counts; hollow where a run did not converge.
    let iters = find(&figs, "iterations_vs_tau0");
    assert_eq!(iters.panels[0].title, "N = 10");
    assert_eq!(iters.panels[0].series[0].hollow, [false, false]);
    assert_eq!(iters.panels[0].series[1].hollow, [true, true]);
    assert_eq!(
        iters.panels[0].series[1].points,
        [(0.01, 30.0), (1.0, 30.0)]
    );
}

#[test]
fn several_steps_add_the_lambda_sweep_and_hidden_learning() {
    let mut runs = sweep_runs();
    for lr in [1.0, 10.0] {
        let mut c = cfg(Method::Gn, 0.01, 10, 1, lr);
        c.refit = true;
        runs.push(run(c, Status::Converged, lr));
    }
    let figs = sweep::figures(&runs, None, None);
    let sweep = find(&figs, "lambda_sweep");
    assert_eq!(
        labels(&sweep.panels[0]),
        ["GN test, τ₀ = 0.01", "GN refit test, τ₀ = 0.01"]
    );
    // λ = 10 has the main runs (seeds 1 and 2) and the refit run.
    assert_eq!(
        sweep.panels[0].series[0].points,
        [(1.0, 1.0), (10.0, (1.0 + 2.0 + 10.0) / 3.0)]
    );
    let hidden = find(&figs, "hidden_learning");
    assert_eq!(hidden.panels.len(), 2);
    assert_eq!(hidden.panels[0].title, "λ = 1 (converged)");
    assert_eq!(
        labels(&hidden.panels[0]),
        ["GN test", "GN refit test", "random features"]
    );
}

#[test]
fn flow_figures_select_their_runs() {
    let mut runs = Vec::new();
    for lr in [1.0, 4.0] {
        let mut c = cfg(Method::Gd, 0.01, 10, 1, lr);
        c.max_flow_time = Some(STUDY_T);
        runs.push(run(c, Status::MaxIter, 3.0));
    }
    for seed in [1, 2] {
        let mut c = cfg(Method::Gd, 0.01, 10, seed, 2.0);
        c.max_flow_time = Some(HORIZON_T);
        runs.push(run(c, Status::Converged, 4.0));
        runs.push(run(
            cfg(Method::Gn, 0.01, 10, seed, 10.0),
            Status::MaxIter,
            2.0,
        ));
    }
    let figs = super::figures(&runs, None, None);
    assert_eq!(
        stems(&figs),
        ["step_equivalence", "paper_test_loss_vs_tau0"]
    );
    let step = &figs[0].panels;
    assert_eq!(step.len(), 1);
    assert_eq!(step[0].title, "N = 10, τ₀ = 0.01");
    assert_eq!(labels(&step[0]), ["λ = 1", "", "λ = 4", ""]);
    assert_eq!(step[0].series[2].color, PALETTE[1]);
    // Flow time on the x axis: λ · iteration.
    assert_eq!(step[0].series[2].points[1].0, 40.0);
    let paper = &figs[1].panels[0];
    assert_eq!(paper.title, "N = 10 (2 seeds)");
    assert_eq!(
        labels(paper),
        [
            "GN (λ = 10)",
            "random features",
            "GN refit",
            "GD (t = 2e7 or converged)"
        ]
    );
    assert_eq!(paper.series[0].points, [(0.01, 2.0)]);
    assert_eq!(paper.series[0].hollow, [true]);
    assert_eq!(paper.series[3].points, [(0.01, 4.0)]);
    assert_eq!(paper.series[3].hollow, [false]);
    assert_eq!(paper.series[2].points, [(0.01, 1.0)]);
}

#[test]
fn the_paper_figure_breaks_a_line_across_a_missing_tau0() {
    let mut runs = Vec::new();
    for tau0 in [0.01, 1.0, 100.0] {
        runs.push(run(
            cfg(Method::Gn, tau0, 10, 1, 10.0),
            Status::Converged,
            tau0,
        ));
    }
    // GD has τ₀ = 0.01 and 100 only (τ₀ = 1 still running).
    for tau0 in [0.01, 100.0] {
        let mut c = cfg(Method::Gd, tau0, 10, 1, 2.0);
        c.max_flow_time = Some(HORIZON_T);
        runs.push(run(c, Status::Converged, 3.0));
    }
    let figs = super::figures(&runs, None, None);
    let paper = &find(&figs, "paper_test_loss_vs_tau0").panels[0];
    assert_eq!(paper.series[0].points.len(), 3);
    assert!(paper.series[0].breaks_before.is_empty());
    assert_eq!(paper.series[3].points, [(0.01, 3.0), (100.0, 3.0)]);
    assert_eq!(paper.series[3].breaks_before, [1]);
}

#[test]
fn the_paper_figure_marks_a_mean_over_fewer_seeds_than_the_panel_hollow() {
    let mut runs = Vec::new();
    for seed in [1, 2, 3] {
        for tau0 in [0.01, 0.1] {
            runs.push(run(
                cfg(Method::Gn, tau0, 10, seed, 10.0),
                Status::Converged,
                1.0,
            ));
        }
    }
    // GD: all three seeds at τ₀ = 0.01, two of them at τ₀ = 0.1.
    for (tau0, seeds) in [(0.01, &[1, 2, 3][..]), (0.1, &[1, 3][..])] {
        for &seed in seeds {
            let mut c = cfg(Method::Gd, tau0, 10, seed, 2.0);
            c.max_flow_time = Some(HORIZON_T);
            runs.push(run(c, Status::Converged, 3.0));
        }
    }
    let figs = super::figures(&runs, None, None);
    let paper = &find(&figs, "paper_test_loss_vs_tau0").panels[0];
    assert_eq!(paper.title, "N = 10 (3 seeds)");
    assert_eq!(paper.series[0].hollow, [false, false]);
    assert_eq!(paper.series[3].points, [(0.01, 3.0), (0.1, 3.0)]);
    assert_eq!(paper.series[3].hollow, [false, true]);
}
