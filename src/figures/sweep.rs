//! The figures of a `gn sweep` folder: curves against iteration, a panel per τ₀, one figure
//! per N ([`ITER_FIGURES`]); markers against τ₀, a panel per N ([`TAU_FIGURES`]); and, when
//! the folder has GN at several step sizes, the λ sweep and hidden learning during training.

use super::{
    clip, curve, figure, loss_cap, method_color, mname, width, Ctx, Figure, Panel, Series,
    TauFigure, TauSeries, GD, GN, PALETTE, REFIT, RF,
};
use crate::runs::{distinct, main_lr, stats, Run};
use crate::{Method, Record};
use plotters::style::RGBColor;

/// One line a run draws in a [`IterFigure`]'s panel.
pub struct IterLine {
    /// Appended to the method's name (`GN`, `GD`) for the legend.
    pub suffix: &'static str,
    pub dashed: bool,
    pub value: fn(&Record) -> Option<f64>,
    /// Clip at 1000× the first train loss (a diverged run's blow-up).
    pub clip: bool,
}

/// A figure of curves against iteration: one panel per τ₀ with GN's and GD's runs at the
/// figure's N, the seed and the main step size; one figure per N, file `{stem}_n{N}`.
pub struct IterFigure {
    pub stem: &'static str,
    /// The title, before ` — N = …, M = …, λ = …, seed …`.
    pub heading: &'static str,
    pub ydesc: &'static str,
    pub ylog: bool,
    pub lines: &'static [IterLine],
    pub note: Option<&'static str>,
}

/// The per-iteration figures, each drawn for every N.
pub static ITER_FIGURES: &[IterFigure] = &[
    IterFigure {
        stem: "loss_vs_iter",
        heading: "Train (solid) and test (dashed) loss, GN vs GD",
        ydesc: "loss",
        ylog: true,
        lines: &[
            IterLine {
                suffix: " train",
                dashed: false,
                value: |x| Some(x.train_loss),
                clip: true,
            },
            IterLine {
                suffix: " test",
                dashed: true,
                value: |x| x.test_loss,
                clip: true,
            },
        ],
        note: Some(
            "Log axes. Runs stop at the tolerance (L ≤ 1e-8·L₁), at max_iter, or on divergence.",
        ),
    },
    IterFigure {
        stem: "sigma_min_vs_iter",
        heading: "Smallest eigenvalue of the NTK Gram matrix A = JJᵀ",
        ydesc: "λ_min(A)",
        ylog: true,
        lines: &[IterLine {
            suffix: "",
            dashed: false,
            value: |x| x.sigma_min,
            clip: false,
        }],
        note: None,
    },
    IterFigure {
        stem: "alignment_vs_iter",
        heading: "Teacher alignment (0 = every unit along a teacher unit)",
        ydesc: "alignment",
        ylog: false,
        lines: &[IterLine {
            suffix: "",
            dashed: false,
            value: |x| x.alignment,
            clip: false,
        }],
        note: None,
    },
];

fn is_gn(r: &Run) -> bool {
    r.method() == Method::Gn
}

fn is_gd(r: &Run) -> bool {
    r.method() == Method::Gd
}

fn gn_ok(r: &Run) -> bool {
    is_gn(r) && !r.diverged()
}

fn at_main_lr(r: &Run, lr: f64) -> bool {
    r.lr() == lr
}

fn final_test(r: &Run) -> Option<f64> {
    r.r.summary.final_test_loss
}

fn iterations(r: &Run) -> Option<f64> {
    Some(r.r.summary.iterations.max(1) as f64)
}

/// The figures against τ₀, over the runs at the main step size.
pub static TAU_FIGURES: &[TauFigure] = &[
    TauFigure {
        stem: "test_loss_vs_tau0",
        title: |c| {
            format!(
                "Final test loss against τ₀ — M = {}, λ = {}, mean over seeds, bars: min–max",
                c.m, c.lr
            )
        },
        ydesc: "final test loss",
        seeds_in_title: true,
        pool: &[at_main_lr],
        series: &[
            TauSeries {
                label: "GN",
                color: GN,
                dashed: false,
                select: gn_ok,
                value: final_test,
                hollow: |_| false,
            },
            TauSeries {
                label: "GD",
                color: GD,
                dashed: false,
                select: |r| is_gd(r) && !r.diverged(),
                value: final_test,
                hollow: |_| false,
            },
            TauSeries {
                label: "random features",
                color: RF,
                dashed: true,
                select: is_gn,
                value: |r| r.r.summary.rf_test_loss,
                hollow: |_| false,
            },
            TauSeries {
                label: "GN refit (hidden)",
                color: REFIT,
                dashed: true,
                select: gn_ok,
                value: |r| r.r.summary.refit_test_loss,
                hollow: |_| false,
            },
        ],
        hollow_if_seeds_missing: true,
        one_row_up_to: 4,
        note: Some("Diverged runs are left out; hollow: a mean over fewer seeds than the panel's. GN refit: the last layer refit by least squares on GN's final hidden layer."),
    },
    TauFigure {
        stem: "iterations_vs_tau0",
        title: |c| {
            format!(
                "Iterations to reach the tolerance (L ≤ 1e-8·L₁) — M = {}, λ = {}",
                c.m, c.lr
            )
        },
        ydesc: "iterations",
        seeds_in_title: false,
        pool: &[at_main_lr],
        series: &[
            TauSeries {
                label: "GN",
                color: GN,
                dashed: false,
                select: is_gn,
                value: iterations,
                hollow: |r| !r.converged(),
            },
            TauSeries {
                label: "GD",
                color: GD,
                dashed: false,
                select: is_gd,
                value: iterations,
                hollow: |r| !r.converged(),
            },
        ],
        hollow_if_seeds_missing: false,
        one_row_up_to: 4,
        note: Some("Filled: every seed converged. Hollow: some seed stopped at max_iter or diverged (the value is a lower bound)."),
    },
];

impl IterFigure {
    /// The figure at `ctx.n`, from the runs at the main step size (None if none is there).
    pub fn build(&self, main: &[Run], ctx: &Ctx) -> Option<Figure> {
        let Ctx { n, m, lr, seed } = *ctx;
        let sel: Vec<&Run> = main
            .iter()
            .filter(|r| r.n() == n && r.r.config.seed == seed && r.lr() == lr)
            .collect();
        let panels = distinct(sel.iter().copied(), |r| r.tau0())
            .into_iter()
            .map(|t| self.panel(&sel, t))
            .collect();
        figure(
            format!("{}_n{n}", self.stem),
            format!("{} — N = {n}, M = {m}, λ = {lr}, seed {seed}", self.heading),
            panels,
            4,
            self.note.map(String::from),
        )
    }

    /// The panel at τ₀ = `t`: GN's runs' lines, then GD's.
    fn panel(&self, sel: &[&Run], t: f64) -> Panel {
        let here: Vec<&Run> = sel.iter().copied().filter(|r| r.tau0() == t).collect();
        let mut series = Vec::new();
        for m in [Method::Gn, Method::Gd] {
            for r in here.iter().filter(|r| r.method() == m) {
                series.extend(self.lines.iter().map(|line| line.series(r)));
            }
        }
        let diverged: Vec<&str> = here
            .iter()
            .filter(|r| r.diverged())
            .map(|r| r.method().name())
            .collect();
        let title = if diverged.is_empty() {
            format!("τ₀ = {t}")
        } else {
            let list = diverged.join(", ").to_uppercase();
            format!("τ₀ = {t} ({list} diverged)")
        };
        Panel {
            title,
            xdesc: "iteration".into(),
            ydesc: self.ydesc.into(),
            ylog: self.ylog,
            series,
        }
    }
}

impl IterLine {
    fn series(&self, r: &Run) -> Series {
        let mut points = curve(&r.r.records, self.value);
        if self.clip {
            points = clip(points, loss_cap(r));
        }
        let label = format!("{}{}", mname(r), self.suffix);
        Series::line(label, method_color(r.method()), self.dashed, points)
    }
}

/// The figures of a sweep folder: the per-iteration ones for each N (`n`: only that one) at
/// `seed` (default: the smallest), then those against τ₀, the λ sweep and hidden learning.
pub fn figures(runs: &[Run], n: Option<usize>, seed: Option<u64>) -> Vec<Figure> {
    let lr = main_lr(runs);
    let main: Vec<Run> = runs.iter().filter(|r| r.lr() == lr).cloned().collect();
    let ns = match n {
        Some(n) => vec![n],
        None => distinct(&main, |r| r.n()),
    };
    let seed = seed.unwrap_or_else(|| {
        distinct(runs, |r| r.r.config.seed)
            .first()
            .copied()
            .unwrap_or(1)
    });
    let ctx = Ctx {
        n: 0,
        m: width(runs),
        lr,
        seed,
    };
    let mut figs = Vec::new();
    for n in ns {
        let ctx = Ctx { n, ..ctx };
        figs.extend(ITER_FIGURES.iter().filter_map(|f| f.build(&main, &ctx)));
    }
    figs.extend(TAU_FIGURES.iter().filter_map(|f| f.build(runs, &ctx)));
    let gn: Vec<Run> = runs.iter().filter(|r| is_gn(r)).cloned().collect();
    let lrs = distinct(&gn, |r| r.lr());
    if lrs.len() >= 2 {
        figs.extend(lambda_sweep(&gn, &lrs, ctx.m));
        figs.extend(hidden_learning(&gn, &lrs, &ctx));
    }
    figs
}

/// GN's final test loss and refit test loss against λ, one panel per N, a colour per τ₀
/// (those with at least two λ).
fn lambda_sweep(gn: &[Run], lrs: &[f64], m: usize) -> Option<Figure> {
    let mut panels = Vec::new();
    for n in distinct(gn, |r| r.n()) {
        let sel: Vec<&Run> = gn.iter().filter(|r| r.n() == n).collect();
        let taus: Vec<f64> = distinct(sel.iter().copied(), |r| r.tau0())
            .into_iter()
            .filter(|&t| {
                distinct(sel.iter().copied().filter(|r| r.tau0() == t), |r| r.lr()).len() >= 2
            })
            .collect();
        if taus.is_empty() {
            continue;
        }
        let mut series = Vec::new();
        for (i, &t) in taus.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            for refit in [false, true] {
                series.push(lambda_series(&sel, lrs, t, refit, color));
            }
        }
        panels.push(Panel {
            title: format!("N = {n}"),
            xdesc: "step size λ".into(),
            ydesc: "final test loss".into(),
            ylog: true,
            series,
        });
    }
    figure(
        "lambda_sweep".into(),
        format!("GN: speed vs implicit bias — final test loss (solid) and refit test loss (dashed) against λ, M = {m}"),
        panels,
        4,
        Some("Hollow markers: the run stopped at max_iter before the tolerance. Mean over seeds.".into()),
    )
}

/// GN's test loss (or refit test loss) at τ₀ = `t` against λ: the mean over the seeds that
/// did not diverge, hollow where one did not converge.
fn lambda_series(sel: &[&Run], lrs: &[f64], t: f64, refit: bool, color: RGBColor) -> Series {
    let (mut points, mut hollow) = (Vec::new(), Vec::new());
    for &lr in lrs {
        let v: Vec<&Run> = sel
            .iter()
            .copied()
            .filter(|r| r.tau0() == t && r.lr() == lr && !r.diverged())
            .collect();
        let vals = v.iter().filter_map(|r| {
            if refit {
                r.r.summary.refit_test_loss
            } else {
                r.r.summary.final_test_loss
            }
        });
        if let Some((mean, _, _)) = stats(vals) {
            points.push((lr, mean));
            hollow.push(v.iter().any(|r| !r.converged()));
        }
    }
    let label = if refit { "GN refit test" } else { "GN test" };
    Series {
        label: Some(format!("{label}, τ₀ = {t}")),
        color,
        dashed: refit,
        points,
        markers: true,
        hollow,
        bars: Vec::new(),
        breaks_before: Vec::new(),
    }
}

/// Hidden learning during training: GN's test loss and refit test loss against iteration
/// at the smallest τ₀ (and its smallest N) with refit records, one panel per λ.
fn hidden_learning(gn: &[Run], lrs: &[f64], ctx: &Ctx) -> Option<Figure> {
    let with_refit: Vec<&Run> = gn
        .iter()
        .filter(|r| {
            r.r.records
                .iter()
                .filter(|x| x.refit_test_loss.is_some())
                .count()
                > 2
        })
        .collect();
    let t = with_refit
        .iter()
        .map(|r| r.tau0())
        .fold(f64::INFINITY, f64::min);
    let n = with_refit
        .iter()
        .filter(|r| r.tau0() == t)
        .map(|r| r.n())
        .min()?;
    let seed = ctx.seed;
    let sel: Vec<&Run> = with_refit
        .into_iter()
        .filter(|r| r.tau0() == t && r.n() == n && r.r.config.seed == seed)
        .collect();
    let panels = lrs
        .iter()
        .filter_map(|&lr| sel.iter().find(|r| r.lr() == lr))
        .map(|r| hidden_panel(r))
        .collect();
    let m = ctx.m;
    figure(
        "hidden_learning".into(),
        format!("Hidden learning: GN at τ₀ = {t}, N = {n}, M = {m}, seed {seed} — model vs last-layer refit"),
        panels,
        4,
        None,
    )
}

/// One run's test loss and refit test loss against iteration, random features' level flat.
fn hidden_panel(r: &Run) -> Panel {
    let mut series = vec![
        Series::line(
            "GN test".to_string(),
            GN,
            false,
            curve(&r.r.records, |x| x.test_loss),
        ),
        Series::line(
            "GN refit test".to_string(),
            REFIT,
            true,
            curve(&r.r.records, |x| x.refit_test_loss),
        ),
    ];
    if let Some(rf) = r.r.summary.rf_test_loss {
        let last =
            r.r.records
                .last()
                .map(|x| x.iter as f64)
                .unwrap_or(1.0)
                .max(2.0);
        series.push(Series::line(
            "random features".to_string(),
            RF,
            true,
            vec![(1.0, rf), (last, rf)],
        ));
    }
    Panel {
        title: format!("λ = {} ({})", r.lr(), r.status().name()),
        xdesc: "iteration".into(),
        ydesc: "test loss".into(),
        ylog: true,
        series,
    }
}
