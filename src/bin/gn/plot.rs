//! `gn plot DIR --out FIGDIR`: the paper's figures from a sweep's results, each as SVG and
//! PNG (plotters; text in DejaVu Sans, shipped in `fonts/` and compiled in, so nothing is
//! looked up or downloaded at run time).

use clap::Args;
use gauss_newton::runs::{distinct, load_dir, main_lr, stats, Run};
use gauss_newton::{Method, Record};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A series of (x, y) points.
type Points = Vec<(f64, f64)>;
/// Error bars as (x, low, high).
type Bars = Vec<(f64, f64, f64)>;

static FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

#[derive(Args, Clone, Debug)]
pub struct PlotArgs {
    /// Folder of run results (a `gn sweep --out` folder)
    pub dir: PathBuf,
    /// Folder for the figures (created if missing)
    #[arg(long, value_name = "FIGDIR")]
    pub out: PathBuf,
    /// N of the per-iteration figures [default: every N present]
    #[arg(long)]
    pub n: Option<usize>,
    /// Seed of the per-iteration figures [default: the smallest present]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Image width in pixels of one panel (the figure is a grid of panels)
    #[arg(long, default_value_t = 420)]
    pub panel_width: u32,
}

const GN: RGBColor = RGBColor(31, 119, 180);
const GD: RGBColor = RGBColor(214, 39, 40);
const RF: RGBColor = RGBColor(110, 110, 110);
const REFIT: RGBColor = RGBColor(44, 160, 44);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn method_color(m: Method) -> RGBColor {
    match m {
        Method::Gn => GN,
        Method::Gd => GD,
    }
}

/// One line (or set of markers) of a panel.
#[derive(Clone, Debug)]
struct Series {
    label: Option<String>,
    color: RGBColor,
    dashed: bool,
    points: Vec<(f64, f64)>,
    /// Draw a marker at each point; hollow ones for `hollow[i]`.
    markers: bool,
    hollow: Vec<bool>,
    /// (x, low, high) spread bars.
    bars: Vec<(f64, f64, f64)>,
}

impl Series {
    fn line(
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
        }
    }
}

#[derive(Clone, Debug)]
struct Panel {
    title: String,
    xdesc: String,
    ydesc: String,
    ylog: bool,
    series: Vec<Series>,
}

#[derive(Clone, Debug)]
struct Figure {
    stem: String,
    title: String,
    panels: Vec<Panel>,
    cols: usize,
    note: Option<String>,
}

fn positive(points: &[(f64, f64)], ylog: bool) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(x, y)| *x > 0.0 && x.is_finite() && y.is_finite() && (!ylog || *y > 0.0))
        .collect()
}

fn range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        if hi / lo < 1.01 {
            (lo / 2.0, hi * 2.0)
        } else {
            let f = (hi / lo).powf(0.04);
            (lo / f, hi * f)
        }
    } else if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = 0.04 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

type DResult = Result<(), String>;

fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}

macro_rules! draw_panel_body {
    ($area:expr, $p:expr, $xr:expr, $yr:expr, $legend:expr) => {{
        let p: &Panel = $p;
        let mut chart = ChartBuilder::on($area)
            .caption(&p.title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(38)
            .y_label_area_size(62)
            .build_cartesian_2d($xr, $yr)
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(p.xdesc.as_str())
            .y_desc(p.ydesc.as_str())
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v: &f64| fmt_tick(*v))
            .y_label_formatter(&|v: &f64| fmt_tick(*v))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(e)?;
        let mut any_label = false;
        for s in &p.series {
            let pts = positive(&s.points, p.ylog);
            let color = s.color;
            let style = ShapeStyle::from(&color).stroke_width(2);
            if !s.bars.is_empty() {
                let bars: Vec<_> = s
                    .bars
                    .iter()
                    .copied()
                    .filter(|(x, lo, hi)| {
                        *x > 0.0 && lo.is_finite() && hi.is_finite() && (!p.ylog || *lo > 0.0)
                    })
                    .collect();
                chart
                    .draw_series(bars.iter().map(|&(x, lo, hi)| {
                        ErrorBar::new_vertical(
                            x,
                            lo,
                            (lo * hi).sqrt().max(lo),
                            hi,
                            color.mix(0.7).stroke_width(1),
                            6,
                        )
                    }))
                    .map_err(e)?;
            }
            if pts.is_empty() {
                continue;
            }
            let ann = if s.markers && s.points.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(pts[0], 4, style.filled())))
                    .map_err(e)?
            } else if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                    .map_err(e)?
            } else {
                chart
                    .draw_series(LineSeries::new(pts.clone(), style))
                    .map_err(e)?
            };
            if let Some(label) = &s.label {
                any_label = true;
                let dashed = s.dashed;
                ann.label(label.as_str()).legend(move |(x, y)| {
                    if dashed {
                        PathElement::new(vec![(x, y), (x + 7, y)], color.stroke_width(2))
                    } else {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    }
                });
            }
            if s.markers {
                let hollow = &s.hollow;
                let filtered: Vec<((f64, f64), bool)> = s
                    .points
                    .iter()
                    .copied()
                    .zip(hollow.iter().copied().chain(std::iter::repeat(false)))
                    .filter(|((x, y), _)| *x > 0.0 && y.is_finite() && (!p.ylog || *y > 0.0))
                    .collect();
                chart
                    .draw_series(filtered.into_iter().map(|(pt, h)| {
                        if h {
                            Circle::new(pt, 5, color.stroke_width(2))
                        } else {
                            Circle::new(pt, 4, color.filled())
                        }
                    }))
                    .map_err(e)?;
            }
        }
        if any_label && $legend {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", 11))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(e)?;
        }
        Ok::<(), String>(())
    }};
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e4).contains(&a) {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.0e}")
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    legend: bool,
) -> DResult {
    let pts: Vec<(f64, f64)> = p
        .series
        .iter()
        .flat_map(|s| {
            let mut v = positive(&s.points, p.ylog);
            for &(x, lo, hi) in &s.bars {
                v.push((x, lo));
                v.push((x, hi));
            }
            v
        })
        .filter(|(x, y)| *x > 0.0 && y.is_finite() && (!p.ylog || *y > 0.0))
        .collect();
    if pts.is_empty() {
        area.draw(&Text::new(
            format!("{}: no data", p.title),
            (20, 20),
            ("sans-serif", 14),
        ))
        .map_err(e)?;
        return Ok(());
    }
    let (x0, x1) = range(pts.iter().map(|p| p.0), true);
    let (y0, y1) = range(pts.iter().map(|p| p.1), p.ylog);
    if p.ylog {
        draw_panel_body!(area, p, (x0..x1).log_scale(), (y0..y1).log_scale(), legend)
    } else {
        draw_panel_body!(area, p, (x0..x1).log_scale(), y0..y1, legend)
    }
}

fn render<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &Figure) -> DResult {
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(&fig.title, ("sans-serif", 20)).map_err(e)?;
    let root = match &fig.note {
        Some(note) => {
            let (h, w) = (root.dim_in_pixel().1, root.dim_in_pixel().0);
            let (body, foot) = root.split_vertically(h.saturating_sub(22));
            foot.draw(&Text::new(
                note.clone(),
                (10, 4),
                ("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
            ))
            .map_err(e)?;
            let _ = w;
            body
        }
        None => root,
    };
    let cols = fig.cols.max(1);
    let rows = fig.panels.len().div_ceil(cols).max(1);
    let areas = root.split_evenly((rows, cols));
    for (i, (area, p)) in areas.iter().zip(&fig.panels).enumerate() {
        draw_panel(area, p, i == 0)?;
    }
    Ok(())
}

/// Writes `fig` as FIGDIR/stem.svg and FIGDIR/stem.png; returns both paths.
fn save(fig: &Figure, dir: &Path, panel_w: u32) -> Result<Vec<PathBuf>, String> {
    let cols = fig.cols.max(1) as u32;
    let rows = fig.panels.len().div_ceil(fig.cols.max(1)).max(1) as u32;
    let panel_h = panel_w * 3 / 4;
    // Wide enough for the title and the note, however few panels.
    let size = (
        (panel_w * cols).max(900),
        panel_h * rows + 40 + if fig.note.is_some() { 22 } else { 0 },
    );
    let svg = dir.join(format!("{}.svg", fig.stem));
    let png = dir.join(format!("{}.png", fig.stem));
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        render(root.clone(), fig)?;
        root.present()
            .map_err(|x| format!("{}: {x}", svg.display()))?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        render(root.clone(), fig)?;
        root.present()
            .map_err(|x| format!("{}: {x}", png.display()))?;
    }
    Ok(vec![svg, png])
}

fn tau_label(t: f64) -> String {
    format!("τ₀ = {t}")
}

fn curve(records: &[Record], f: impl Fn(&Record) -> Option<f64>) -> Vec<(f64, f64)> {
    records
        .iter()
        .filter_map(|r| f(r).map(|y| (r.iter as f64, y)))
        .collect()
}

/// Runs at one N, seed and step size, grouped by τ₀.
fn per_tau_panels(
    runs: &[Run],
    n: usize,
    seed: u64,
    lr: f64,
    ylog: bool,
    ydesc: &str,
    lines: &dyn Fn(&Run) -> Vec<Series>,
) -> Vec<Panel> {
    let sel: Vec<&Run> = runs
        .iter()
        .filter(|r| r.n() == n && r.r.config.seed == seed && r.lr() == lr)
        .collect();
    let taus = distinct(&sel.iter().map(|r| (*r).clone()).collect::<Vec<_>>(), |r| {
        r.tau0()
    });
    taus.iter()
        .map(|&t| {
            let mut series = Vec::new();
            for m in [Method::Gn, Method::Gd] {
                for r in sel.iter().filter(|r| r.tau0() == t && r.method() == m) {
                    series.extend(lines(r));
                }
            }
            let diverged: Vec<&str> = sel
                .iter()
                .filter(|r| r.tau0() == t && r.diverged())
                .map(|r| r.method().name())
                .collect();
            let title = if diverged.is_empty() {
                tau_label(t)
            } else {
                format!(
                    "{} ({} diverged)",
                    tau_label(t),
                    diverged.join(", ").to_uppercase()
                )
            };
            Panel {
                title,
                xdesc: "iteration".into(),
                ydesc: ydesc.into(),
                ylog,
                series,
            }
        })
        .collect()
}

fn mname(r: &Run) -> String {
    r.method().name().to_uppercase()
}

/// Clips a diverged run's blow-up so that it does not flatten the other curves.
fn clip(points: Vec<(f64, f64)>, cap: f64) -> Vec<(f64, f64)> {
    points.into_iter().filter(|(_, y)| *y <= cap).collect()
}

fn loss_cap(r: &Run) -> f64 {
    r.r.records
        .first()
        .map(|x| x.train_loss * 1e3)
        .filter(|x| x.is_finite())
        .unwrap_or(f64::INFINITY)
}

fn figures(runs: &[Run], n_sel: Option<usize>, seed_sel: Option<u64>) -> Vec<Figure> {
    let lr = main_lr(runs);
    let main: Vec<Run> = runs.iter().filter(|r| r.lr() == lr).cloned().collect();
    let ns = match n_sel {
        Some(n) => vec![n],
        None => distinct(&main, |r| r.n()),
    };
    let seed = seed_sel.unwrap_or_else(|| {
        distinct(runs, |r| r.r.config.seed)
            .first()
            .copied()
            .unwrap_or(1)
    });
    let m = runs.first().map(|r| r.r.config.m).unwrap_or(0);
    let mut figs = Vec::new();
    let cols_for = |k: usize| if k <= 4 { k.max(1) } else { k.div_ceil(2) };

    for &n in &ns {
        // 1. Train and test loss against iteration, GN and GD overlaid, one panel per τ₀.
        let panels = per_tau_panels(&main, n, seed, lr, true, "loss", &|r| {
            let cap = loss_cap(r);
            vec![
                Series::line(
                    format!("{} train", mname(r)),
                    method_color(r.method()),
                    false,
                    clip(curve(&r.r.records, |x| Some(x.train_loss)), cap),
                ),
                Series::line(
                    format!("{} test", mname(r)),
                    method_color(r.method()),
                    true,
                    clip(curve(&r.r.records, |x| x.test_loss), cap),
                ),
            ]
        });
        if !panels.is_empty() {
            let cols = cols_for(panels.len());
            figs.push(Figure {
                stem: format!("loss_vs_iter_n{n}"),
                title: format!("Train (solid) and test (dashed) loss, GN vs GD — N = {n}, M = {m}, λ = {lr}, seed {seed}"),
                cols,
                panels,
                note: Some("Log axes. Runs stop at the tolerance (L ≤ 1e-8·L₁), at max_iter, or on divergence.".into()),
            });
        }
        // 2. λ_min(A) against iteration.
        let panels = per_tau_panels(&main, n, seed, lr, true, "λ_min(A)", &|r| {
            vec![Series::line(
                mname(r),
                method_color(r.method()),
                false,
                curve(&r.r.records, |x| x.sigma_min),
            )]
        });
        if !panels.is_empty() {
            let cols = cols_for(panels.len());
            figs.push(Figure {
                stem: format!("sigma_min_vs_iter_n{n}"),
                title: format!("Smallest eigenvalue of the NTK Gram matrix A = JJᵀ — N = {n}, M = {m}, λ = {lr}, seed {seed}"),
                cols,
                panels,
                note: None,
            });
        }
        // 5. Teacher alignment against iteration.
        let panels = per_tau_panels(&main, n, seed, lr, false, "alignment", &|r| {
            vec![Series::line(
                mname(r),
                method_color(r.method()),
                false,
                curve(&r.r.records, |x| x.alignment),
            )]
        });
        if !panels.is_empty() {
            let cols = cols_for(panels.len());
            figs.push(Figure {
                stem: format!("alignment_vs_iter_n{n}"),
                title: format!("Teacher alignment (0 = every unit along a teacher unit) — N = {n}, M = {m}, λ = {lr}, seed {seed}"),
                cols,
                panels,
                note: None,
            });
        }
    }

    // 3. Final test loss against τ₀: GN, GD, random features, GN refit; one panel per N.
    let all_ns = distinct(&main, |r| r.n());
    let taus = distinct(&main, |r| r.tau0());
    let agg = |sel: &dyn Fn(&Run) -> bool,
               val: &dyn Fn(&Run) -> Option<f64>,
               n: usize|
     -> (Points, Bars) {
        let mut pts = Vec::new();
        let mut bars = Vec::new();
        for &t in &taus {
            let v: Vec<f64> = main
                .iter()
                .filter(|r| r.n() == n && r.tau0() == t && sel(r))
                .filter_map(val)
                .collect();
            if let Some((mean, lo, hi)) = stats(v.iter().copied()) {
                pts.push((t, mean));
                if v.len() > 1 {
                    bars.push((t, lo, hi));
                }
            }
        }
        (pts, bars)
    };
    let mut panels = Vec::new();
    for &n in &all_ns {
        let mut series = Vec::new();
        let mk = |label: &str,
                  color: RGBColor,
                  dashed: bool,
                  sel: &dyn Fn(&Run) -> bool,
                  val: &dyn Fn(&Run) -> Option<f64>| {
            let (pts, bars) = agg(sel, val, n);
            Series {
                label: Some(label.into()),
                color,
                dashed,
                points: pts,
                markers: true,
                hollow: Vec::new(),
                bars,
            }
        };
        let ok = |r: &Run| !r.diverged();
        series.push(mk(
            "GN",
            GN,
            false,
            &|r| r.method() == Method::Gn && ok(r),
            &|r| r.r.summary.final_test_loss,
        ));
        series.push(mk(
            "GD",
            GD,
            false,
            &|r| r.method() == Method::Gd && ok(r),
            &|r| r.r.summary.final_test_loss,
        ));
        series.push(mk(
            "random features",
            RF,
            true,
            &|r| r.method() == Method::Gn,
            &|r| r.r.summary.rf_test_loss,
        ));
        series.push(mk(
            "GN refit (hidden)",
            REFIT,
            true,
            &|r| r.method() == Method::Gn && ok(r),
            &|r| r.r.summary.refit_test_loss,
        ));
        let seeds = distinct(main.iter().filter(|r| r.n() == n), |r| r.r.config.seed).len();
        let title = format!(
            "N = {n} ({seeds} seed{})",
            if seeds == 1 { "" } else { "s" }
        );
        panels.push(Panel {
            title,
            xdesc: "τ₀".into(),
            ydesc: "final test loss".into(),
            ylog: true,
            series,
        });
    }
    if !panels.is_empty() {
        let cols = cols_for(panels.len());
        figs.push(Figure {
            stem: "test_loss_vs_tau0".into(),
            title: format!("Final test loss against τ₀ — M = {m}, λ = {lr}, mean over seeds, bars: min–max"),
            cols,
            panels,
            note: Some("Diverged runs are left out. GN refit: the last layer refit by least squares on GN's final hidden layer.".into()),
        });
    }

    // 4. Iterations to reach the tolerance against τ₀ (hollow: not reached — max_iter or diverged).
    let mut panels = Vec::new();
    for &n in &all_ns {
        let mut series = Vec::new();
        for meth in [Method::Gn, Method::Gd] {
            let mut pts = Vec::new();
            let mut hollow = Vec::new();
            let mut bars = Vec::new();
            for &t in &taus {
                let sel: Vec<&Run> = main
                    .iter()
                    .filter(|r| r.n() == n && r.tau0() == t && r.method() == meth)
                    .collect();
                if sel.is_empty() {
                    continue;
                }
                let v: Vec<f64> = sel
                    .iter()
                    .map(|r| r.r.summary.iterations.max(1) as f64)
                    .collect();
                let (mean, lo, hi) = stats(v.iter().copied()).unwrap();
                pts.push((t, mean));
                hollow.push(sel.iter().any(|r| !r.converged()));
                if v.len() > 1 {
                    bars.push((t, lo, hi));
                }
            }
            series.push(Series {
                label: Some(meth.name().to_uppercase()),
                color: method_color(meth),
                dashed: false,
                points: pts,
                markers: true,
                hollow,
                bars,
            });
        }
        panels.push(Panel {
            title: format!("N = {n}"),
            xdesc: "τ₀".into(),
            ydesc: "iterations".into(),
            ylog: true,
            series,
        });
    }
    if !panels.is_empty() {
        let cols = cols_for(panels.len());
        figs.push(Figure {
            stem: "iterations_vs_tau0".into(),
            title: format!("Iterations to reach the tolerance (L ≤ 1e-8·L₁) — M = {m}, λ = {lr}"),
            cols,
            panels,
            note: Some("Filled: every seed converged. Hollow: some seed stopped at max_iter or diverged (the value is a lower bound).".into()),
        });
    }

    // 6. λ sweep: GN's test loss and refit test loss against λ, one panel per N, a line per τ₀.
    let gn: Vec<Run> = runs
        .iter()
        .filter(|r| r.method() == Method::Gn)
        .cloned()
        .collect();
    let lrs = distinct(&gn, |r| r.lr());
    if lrs.len() >= 2 {
        let mut panels = Vec::new();
        for &n in &distinct(&gn, |r| r.n()) {
            let sel: Vec<Run> = gn.iter().filter(|r| r.n() == n).cloned().collect();
            let taus: Vec<f64> = distinct(&sel, |r| r.tau0())
                .into_iter()
                .filter(|t| {
                    distinct(
                        &sel.iter()
                            .filter(|r| r.tau0() == *t)
                            .cloned()
                            .collect::<Vec<_>>(),
                        |r| r.lr(),
                    )
                    .len()
                        >= 2
                })
                .collect();
            if taus.is_empty() {
                continue;
            }
            let mut series = Vec::new();
            for (i, &t) in taus.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                for (refit, label) in [(false, "GN test"), (true, "GN refit test")] {
                    let mut pts = Vec::new();
                    let mut hollow = Vec::new();
                    for &lr in &lrs {
                        let v: Vec<&Run> = sel
                            .iter()
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
                            pts.push((lr, mean));
                            hollow.push(v.iter().any(|r| !r.converged()));
                        }
                    }
                    series.push(Series {
                        label: Some(format!("{label}, τ₀ = {t}")),
                        color,
                        dashed: refit,
                        points: pts,
                        markers: true,
                        hollow,
                        bars: Vec::new(),
                    });
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
        if !panels.is_empty() {
            let cols = cols_for(panels.len());
            figs.push(Figure {
                stem: "lambda_sweep".into(),
                title: format!("GN: speed vs implicit bias — final test loss (solid) and refit test loss (dashed) against λ, M = {m}"),
                cols,
                panels,
                note: Some("Hollow markers: the run stopped at max_iter before the tolerance. Mean over seeds.".into()),
            });
        }

        // 7. Hidden learning during training: GN test loss and refit test loss against
        //    iteration at the smallest τ₀, one panel per λ.
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
        if !with_refit.is_empty() {
            let t = with_refit
                .iter()
                .map(|r| r.tau0())
                .fold(f64::INFINITY, f64::min);
            let n = with_refit
                .iter()
                .filter(|r| r.tau0() == t)
                .map(|r| r.n())
                .min()
                .unwrap();
            let sel: Vec<&Run> = with_refit
                .iter()
                .copied()
                .filter(|r| r.tau0() == t && r.n() == n && r.r.config.seed == seed)
                .collect();
            let mut panels = Vec::new();
            for &lr in &lrs {
                if let Some(r) = sel.iter().find(|r| r.lr() == lr) {
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
                    panels.push(Panel {
                        title: format!("λ = {lr} ({})", r.status().name()),
                        xdesc: "iteration".into(),
                        ydesc: "test loss".into(),
                        ylog: true,
                        series,
                    });
                }
            }
            if !panels.is_empty() {
                let cols = cols_for(panels.len());
                figs.push(Figure {
                    stem: "hidden_learning".into(),
                    title: format!("Hidden learning: GN at τ₀ = {t}, N = {n}, M = {m}, seed {seed} — model vs last-layer refit"),
                    cols,
                    panels,
                    note: None,
                });
            }
        }
    }
    figs
}

/// Figures of a flow-time folder (runs stopped at a flow time, e.g. the paper-flow preset's):
/// GD at several λ on one flow-time axis, and the paper's final test loss against τ₀.
fn flow_figures(runs: &[Run]) -> Vec<Figure> {
    use gauss_newton::analysis::{at_horizon, is_gd_horizon, is_gn_main};
    use gauss_newton::flow::{HORIZON_T, STUDY_T};
    let mut figs = Vec::new();
    let m = runs.first().map(|r| r.r.config.m).unwrap_or(0);
    // 1. Step equivalence: one panel per (N, τ₀), a colour per λ, train solid, test dashed.
    let study: Vec<&Run> = runs
        .iter()
        .filter(|r| r.method() == Method::Gd && !r.r.config.refit)
        .filter(|r| r.r.config.max_flow_time.is_some_and(|t| t != HORIZON_T))
        .collect();
    let lrs = distinct(study.iter().copied(), |r| r.lr());
    let mut panels = Vec::new();
    for n in distinct(study.iter().copied(), |r| r.n()) {
        for t in distinct(study.iter().copied().filter(|r| r.n() == n), |r| r.tau0()) {
            let mut series = Vec::new();
            let mut diverged = Vec::new();
            let mut here: Vec<&&Run> = study
                .iter()
                .filter(|r| r.n() == n && r.tau0() == t)
                .collect();
            here.sort_by(|a, b| a.lr().total_cmp(&b.lr()));
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
            panels.push(Panel {
                title,
                xdesc: "flow time t = λ·k".into(),
                ydesc: "loss".into(),
                ylog: true,
                series,
            });
        }
    }
    if !panels.is_empty() {
        let cols = if panels.len() <= 3 {
            panels.len()
        } else {
            panels.len().div_ceil(2)
        };
        figs.push(Figure {
            stem: "step_equivalence".into(),
            title: format!("GD at several step sizes on one flow-time axis — M = {m}, seed 1: train (solid) and test (dashed) loss"),
            cols,
            panels,
            note: Some(format!("Log axes (t = 0 not shown). Steps that follow the same flow overlap; runs end at their flow-time limit (the paper-flow study's: t = {STUDY_T:e}). Diverged runs are clipped at 1000× the initial loss.")),
        });
    }
    // 2. The paper's figure: final test loss against τ₀, one panel per N.
    let gn: Vec<&Run> = runs.iter().filter(|r| is_gn_main(&r.r.config)).collect();
    let gd: Vec<&Run> = runs
        .iter()
        .filter(|r| is_gd_horizon(&r.r.config, HORIZON_T))
        .collect();
    let ns = distinct(gn.iter().chain(gd.iter()).copied(), |r| r.n());
    let mut panels = Vec::new();
    for &n in &ns {
        let point = |sel: &[&Run],
                     t: f64,
                     val: &dyn Fn(&Run) -> Option<f64>|
         -> Option<(f64, f64, f64, usize)> {
            let v: Vec<f64> = sel
                .iter()
                .filter(|r| r.n() == n && r.tau0() == t)
                .filter_map(|r| val(r))
                .collect();
            stats(v.iter().copied()).map(|(mean, lo, hi)| (mean, lo, hi, v.len()))
        };
        let taus = distinct(
            gn.iter().chain(gd.iter()).copied().filter(|r| r.n() == n),
            |r| r.tau0(),
        );
        let mut series = Vec::new();
        let mut mk = |label: &str,
                      color: RGBColor,
                      dashed: bool,
                      sel: &[&Run],
                      val: &dyn Fn(&Run) -> Option<f64>,
                      hollow_if: &dyn Fn(&Run) -> bool| {
            let (mut points, mut bars, mut hollow) = (Vec::new(), Vec::new(), Vec::new());
            for &t in &taus {
                if let Some((mean, lo, hi, k)) = point(sel, t, val) {
                    points.push((t, mean));
                    hollow.push(
                        sel.iter()
                            .any(|r| r.n() == n && r.tau0() == t && hollow_if(r)),
                    );
                    if k > 1 {
                        bars.push((t, lo, hi));
                    }
                }
            }
            series.push(Series {
                label: Some(label.into()),
                color,
                dashed,
                points,
                markers: true,
                hollow,
                bars,
            });
        };
        let finite = |r: &Run| r.r.summary.final_test_loss.filter(|x| x.is_finite());
        mk(
            "GN (λ = 10)",
            GN,
            false,
            &gn,
            &|r| if r.diverged() { None } else { finite(r) },
            &|r| !r.converged(),
        );
        mk(
            "GD (t = 2e7 or converged)",
            GD,
            false,
            &gd,
            &|r| if r.diverged() { None } else { finite(r) },
            &|r| !at_horizon(&r.r, HORIZON_T),
        );
        let both: Vec<&Run> = gn.iter().chain(gd.iter()).copied().collect();
        mk(
            "random features",
            RF,
            true,
            &both,
            &|r| r.r.summary.rf_test_loss,
            &|_| false,
        );
        mk(
            "GN refit",
            REFIT,
            true,
            &gn,
            &|r| {
                if r.diverged() {
                    None
                } else {
                    r.r.summary.refit_test_loss
                }
            },
            &|r| !r.converged(),
        );
        let seeds = distinct(
            gn.iter().chain(gd.iter()).copied().filter(|r| r.n() == n),
            |r| r.r.config.seed,
        )
        .len();
        panels.push(Panel {
            title: format!(
                "N = {n} ({seeds} seed{})",
                if seeds == 1 { "" } else { "s" }
            ),
            xdesc: "τ₀".into(),
            ydesc: "final test loss".into(),
            ylog: true,
            series,
        });
    }
    if !panels.is_empty() {
        let cols = if panels.len() <= 3 {
            panels.len()
        } else {
            panels.len().div_ceil(2)
        };
        figs.push(Figure {
            stem: "paper_test_loss_vs_tau0".into(),
            title: format!("Final test loss against τ₀ (the paper's figure) — M = {m}, mean over seeds, bars: min–max"),
            cols,
            panels,
            note: Some("GD at λ* (or half its stability bound) to t = 2e7 or convergence; hollow: some run not there yet (GN not converged, GD short of the horizon). Diverged runs left out.".into()),
        });
    }
    figs
}

pub fn main(args: PlotArgs) -> Result<(), String> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font is invalid".to_string())?;
    let runs = load_dir(&args.dir)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|x| format!("--out {}: cannot create ({x})", args.out.display()))?;
    let figs = if runs.iter().any(|r| r.r.config.max_flow_time.is_some()) {
        flow_figures(&runs)
    } else {
        figures(&runs, args.n, args.seed)
    };
    if figs.is_empty() {
        return Err(format!("{}: nothing to plot", args.dir.display()));
    }
    for fig in &figs {
        for p in save(fig, &args.out, args.panel_width.max(200))? {
            println!("{}", p.display());
        }
    }
    Ok(())
}
