//! Figures of markers against τ₀, a panel per N: each series a selection of runs and a
//! value, drawn at each τ₀ as the mean over the selected runs (seeds) with min–max bars,
//! hollow where some selected run is flagged (or, if the figure asks, where the series has
//! fewer seeds there than the panel: a mean of the runs that are in); the line breaks across
//! a τ₀ of the panel where the series has no value, rather than joining its neighbours as if
//! it were measured.
//! Declared as [`TauFigure`] specs; the sweep's final test loss and iterations and the flow
//! folder's paper figure are three of them.

use super::{figure, Ctx, Figure, Panel, Series};
use crate::runs::{distinct, stats, Run};
use plotters::style::RGBColor;

/// One series of a [`TauFigure`].
pub struct TauSeries {
    pub label: &'static str,
    pub color: RGBColor,
    pub dashed: bool,
    /// The runs of the series (among the figure's pool).
    pub select: fn(&Run) -> bool,
    /// The value of a run (None: left out of the mean).
    pub value: fn(&Run) -> Option<f64>,
    /// A marker is hollow if this holds for some selected run at its τ₀.
    pub hollow: fn(&Run) -> bool,
}

/// A figure of markers against τ₀, a panel per N of its pool.
pub struct TauFigure {
    /// The file name, without extension.
    pub stem: &'static str,
    pub title: fn(&Ctx) -> String,
    pub ydesc: &'static str,
    /// Panel titles `N = 100 (5 seeds)` rather than `N = 100`.
    pub seeds_in_title: bool,
    /// The runs the figure draws from, given the main step size: those of each predicate in
    /// turn (the order of the values a mean adds up).
    pub pool: &'static [fn(&Run, f64) -> bool],
    pub series: &'static [TauSeries],
    /// A marker is also hollow where the series' runs at that τ₀ have fewer seeds than the
    /// panel's runs (for results that land over time: the mean of the seeds that are in).
    pub hollow_if_seeds_missing: bool,
    /// Up to this many panels in one row, else two rows.
    pub one_row_up_to: usize,
    pub note: Option<&'static str>,
}

impl TauFigure {
    /// The figure from `runs` (None if its pool is empty); `ctx.lr` is the main step size.
    pub fn build(&self, runs: &[Run], ctx: &Ctx) -> Option<Figure> {
        let pool: Vec<&Run> = (self.pool.iter())
            .flat_map(|keep| runs.iter().filter(move |r| keep(r, ctx.lr)))
            .collect();
        let panels = distinct(pool.iter().copied(), |r| r.n())
            .into_iter()
            .map(|n| self.panel(&pool, n))
            .collect();
        figure(
            self.stem.into(),
            (self.title)(ctx),
            panels,
            self.one_row_up_to,
            self.note.map(String::from),
        )
    }

    fn panel(&self, pool: &[&Run], n: usize) -> Panel {
        let here: Vec<&Run> = pool.iter().copied().filter(|r| r.n() == n).collect();
        let seeds = distinct(here.iter().copied(), |r| r.r.config.seed).len();
        let title = if self.seeds_in_title {
            format!(
                "N = {n} ({seeds} seed{})",
                if seeds == 1 { "" } else { "s" }
            )
        } else {
            format!("N = {n}")
        };
        Panel {
            title,
            xdesc: "τ₀".into(),
            ydesc: self.ydesc.into(),
            ylog: true,
            series: (self.series.iter())
                .map(|s| s.build(&here, self.hollow_if_seeds_missing.then_some(seeds)))
                .collect(),
        }
    }
}

impl TauSeries {
    /// The series over the runs of one panel (one N); a marker is hollow where the selected
    /// runs have fewer than `seeds` seeds, if given.
    pub fn build(&self, here: &[&Run], seeds: Option<usize>) -> Series {
        let (mut points, mut bars, mut hollow) = (Vec::new(), Vec::new(), Vec::new());
        let (mut breaks_before, mut gap) = (Vec::new(), false);
        for t in distinct(here.iter().copied(), |r| r.tau0()) {
            let sel: Vec<&Run> = here
                .iter()
                .copied()
                .filter(|r| r.tau0() == t && (self.select)(r))
                .collect();
            let v: Vec<f64> = sel.iter().filter_map(|r| (self.value)(r)).collect();
            let Some((mean, lo, hi)) = stats(v.iter().copied()) else {
                gap = !points.is_empty();
                continue;
            };
            if gap {
                breaks_before.push(points.len());
                gap = false;
            }
            points.push((t, mean));
            let short =
                seeds.is_some_and(|k| distinct(sel.iter().copied(), |r| r.r.config.seed).len() < k);
            hollow.push(short || sel.iter().any(|r| (self.hollow)(r)));
            if v.len() > 1 {
                bars.push((t, lo, hi));
            }
        }
        Series {
            label: Some(self.label.into()),
            color: self.color,
            dashed: self.dashed,
            points,
            markers: true,
            hollow,
            bars,
            breaks_before,
        }
    }
}
