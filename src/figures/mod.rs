//! `gn plot`'s figures (native only: plotters): the paper's figures from a folder of run
//! results, each as SVG and PNG, text in DejaVu Sans (shipped in `fonts/` and compiled in,
//! so nothing is looked up or downloaded at run time).
//!
//! What each figure plots is declared in spec tables, one builder looped over each table:
//! - [`sweep`]: a `gn sweep` folder — [`sweep::ITER_FIGURES`] (a panel per τ₀, curves
//!   against iteration, one figure per N), [`sweep::TAU_FIGURES`] (a panel per N, markers
//!   against τ₀), and the λ sweep and hidden-learning figures when several λ are present;
//! - [`flow`]: a flow-time folder (the `paper-flow` preset's) — GD's step equivalence and
//!   [`flow::PAPER_FIGURE`], the paper's final test loss against τ₀;
//! - [`against_tau`]: the figures of markers against τ₀ that both share ([`TauFigure`]);
//! - `draw`: the plotters drawing of a [`Figure`].

pub mod against_tau;
mod draw;
pub mod flow;
pub mod sweep;
#[cfg(test)]
mod tests;

pub use against_tau::{TauFigure, TauSeries};
pub use draw::save;

use crate::runs::Run;
use crate::{Method, Record};
use plotters::style::{FontStyle, RGBColor};

static FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

pub const GN: RGBColor = RGBColor(31, 119, 180);
pub const GD: RGBColor = RGBColor(214, 39, 40);
pub const RF: RGBColor = RGBColor(110, 110, 110);
pub const REFIT: RGBColor = RGBColor(44, 160, 44);
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

pub fn method_color(m: Method) -> RGBColor {
    match m {
        Method::Gn => GN,
        Method::Gd => GD,
    }
}

/// One line (or set of markers) of a panel.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: Option<String>,
    pub color: RGBColor,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
    /// Draw a marker at each point; hollow ones for `hollow[i]`.
    pub markers: bool,
    pub hollow: Vec<bool>,
    /// (x, low, high) spread bars.
    pub bars: Vec<(f64, f64, f64)>,
    /// The indices i where the line does not join point i − 1 to point i: the panel has an x
    /// between them where this series has no value (e.g. a τ₀ whose runs are not in yet).
    pub breaks_before: Vec<usize>,
}

impl Series {
    pub fn line(
        label: impl Into<Option<String>>,
        color: RGBColor,
        dashed: bool,
        points: Vec<(f64, f64)>,
    ) -> Self {
        Series {
            label: label.into(),
            color,
            dashed,
            points,
            markers: false,
            hollow: Vec::new(),
            bars: Vec::new(),
            breaks_before: Vec::new(),
        }
    }
}

/// One chart of a figure; the x axis is always logarithmic.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub xdesc: String,
    pub ydesc: String,
    pub ylog: bool,
    pub series: Vec<Series>,
}

/// A figure: panels in a grid of `cols` columns, written as `stem.svg` and `stem.png`.
#[derive(Clone, Debug)]
pub struct Figure {
    pub stem: String,
    pub title: String,
    pub panels: Vec<Panel>,
    pub cols: usize,
    pub note: Option<String>,
}

/// What a figure's title is written from: the figure's N (per-N figures), the width M, the
/// main step size λ and the seed of the per-iteration figures.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub n: usize,
    pub m: usize,
    pub lr: f64,
    pub seed: u64,
}

/// `Figure` of `panels` (None if there are none), `k` panels in one row up to
/// `one_row_up_to`, else in two rows.
fn figure(
    stem: String,
    title: String,
    panels: Vec<Panel>,
    one_row_up_to: usize,
    note: Option<String>,
) -> Option<Figure> {
    if panels.is_empty() {
        return None;
    }
    let k = panels.len();
    let cols = if k <= one_row_up_to { k } else { k.div_ceil(2) };
    Some(Figure {
        stem,
        title,
        panels,
        cols,
        note,
    })
}

/// The (iteration, value) points of the records that have the value.
fn curve(records: &[Record], f: impl Fn(&Record) -> Option<f64>) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|r| f(r).map(|y| (r.iter as f64, y)))
        .collect()
}

fn mname(r: &Run) -> String {
    r.method().name().to_uppercase()
}

/// Clips a diverged run's blow-up so that it does not flatten the other curves.
fn clip(points: Vec<(f64, f64)>, cap: f64) -> Vec<(f64, f64)> {
    points.into_iter().filter(|(_, y)| *y <= cap).collect()
}

/// 1000× the run's first train loss: the clip of [`clip`].
fn loss_cap(r: &Run) -> f64 {
    r.r.records
        .first()
        .map(|x| x.train_loss * 1e3)
        .filter(|x| x.is_finite())
        .unwrap_or(f64::INFINITY)
}

/// The width M of the folder's runs (of the first one).
fn width(runs: &[Run]) -> usize {
    runs.first().map(|r| r.r.config.m).unwrap_or(0)
}

/// The figures of a folder: [`flow::figures`] if any run stops at a flow time, else
/// [`sweep::figures`] (`n` and `seed` choose the per-iteration figures').
pub fn figures(runs: &[Run], n: Option<usize>, seed: Option<u64>) -> Vec<Figure> {
    if runs.iter().any(|r| r.r.config.max_flow_time.is_some()) {
        flow::figures(runs)
    } else {
        sweep::figures(runs, n, seed)
    }
}

/// Makes the bundled font plotters' "sans-serif"; once, before [`save`].
pub fn register_font() -> Result<(), String> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font is invalid".to_string())
}
