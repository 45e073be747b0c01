//! Drawing the figures with plotters: a [`Figure`]'s panels laid out in a grid, written as
//! SVG and PNG (log x axis; log or linear y axis; lines, dashed lines, markers, spread bars).

use super::{Figure, Panel, Series};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

fn positive(points: &[(f64, f64)], ylog: bool) -> Vec<(f64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(x, y)| *x > 0.0 && x.is_finite() && y.is_finite() && (!ylog || *y > 0.0))
        .collect()
}

/// The pieces of the series' line: its points split at `breaks_before`, each piece keeping
/// the points an axis can show ([`positive`]).
fn segments(s: &Series, ylog: bool) -> Vec<Vec<(f64, f64)>> {
    let mut cuts = s.breaks_before.clone();
    cuts.retain(|&i| i > 0 && i < s.points.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for end in cuts.into_iter().chain(std::iter::once(s.points.len())) {
        pieces.push(positive(&s.points[start..end], ylog));
        start = end;
    }
    pieces.retain(|p| !p.is_empty());
    pieces
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

/// Draws one panel: title, axes with their ticks and descriptions, series, and (`legend`)
/// the legend if a series has a label.
fn draw_chart<DB, XR, YR>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    xr: XR,
    yr: YR,
    legend: bool,
) -> DResult
where
    DB: DrawingBackend,
    XR: AsRangedCoord<Value = f64>,
    YR: AsRangedCoord<Value = f64>,
    XR::CoordDescType: ValueFormatter<f64>,
    YR::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(38)
        .y_label_area_size(62)
        .build_cartesian_2d(xr, yr)
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
    if draw_series(&mut chart, p)? && legend {
        draw_legend(&mut chart)?;
    }
    Ok(())
}

/// A panel's chart: the x axis `X` (log), the y axis `Y` (log or linear).
type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// Draws the panel's series (bars, lines, markers); whether any has a legend label.
fn draw_series<'a, DB, X, Y>(chart: &mut Chart<'a, DB, X, Y>, p: &Panel) -> Result<bool, String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut any_label = false;
    for s in &p.series {
        let pts = positive(&s.points, p.ylog);
        let color = s.color;
        let style = ShapeStyle::from(&color).stroke_width(2);
        draw_bars(chart, s, p.ylog)?;
        if pts.is_empty() {
            continue;
        }
        let ann = if s.markers && s.points.len() == 1 {
            chart
                .draw_series(std::iter::once(Circle::new(pts[0], 4, style.filled())))
                .map_err(e)?
        } else if s.dashed {
            chart
                .draw_series(
                    segments(s, p.ylog)
                        .into_iter()
                        .flat_map(|seg| DashedLineSeries::new(seg, 6, 4, style)),
                )
                .map_err(e)?
        } else {
            chart
                .draw_series(
                    segments(s, p.ylog)
                        .into_iter()
                        .map(|seg| PathElement::new(seg, style)),
                )
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
            draw_markers(chart, s, p.ylog)?;
        }
    }
    Ok(any_label)
}

/// The series' spread bars (x, low, high), those a log axis can show: a vertical line from low
/// to high with a cap at each end, and nothing in between (plotters' `ErrorBar` draws a circle
/// at a middle value, which reads as a hollow marker: a run not there yet).
fn draw_bars<'a, DB, X, Y>(chart: &mut Chart<'a, DB, X, Y>, s: &Series, ylog: bool) -> DResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    if s.bars.is_empty() {
        return Ok(());
    }
    let color = s.color;
    let bars: Vec<_> = s
        .bars
        .iter()
        .copied()
        .filter(|(x, lo, hi)| *x > 0.0 && lo.is_finite() && hi.is_finite() && (!ylog || *lo > 0.0))
        .collect();
    let style = color.mix(0.7).stroke_width(1);
    chart
        .draw_series(
            bars.iter()
                .map(|&(x, lo, hi)| PathElement::new(vec![(x, lo), (x, hi)], style)),
        )
        .map_err(e)?;
    // A cap: 6 pixels wide, centred on (x, y).
    let cap =
        |x: f64, y: f64| EmptyElement::at((x, y)) + PathElement::new(vec![(-3, 0), (3, 0)], style);
    chart
        .draw_series(
            bars.iter()
                .flat_map(|&(x, lo, hi)| [cap(x, lo), cap(x, hi)]),
        )
        .map_err(e)?;
    Ok(())
}

/// A marker at each of the series' points: filled, or hollow where `s.hollow` says so.
fn draw_markers<'a, DB, X, Y>(chart: &mut Chart<'a, DB, X, Y>, s: &Series, ylog: bool) -> DResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let color = s.color;
    let hollow = &s.hollow;
    let filtered: Vec<((f64, f64), bool)> = s
        .points
        .iter()
        .copied()
        .zip(hollow.iter().copied().chain(std::iter::repeat(false)))
        .filter(|((x, y), _)| *x > 0.0 && y.is_finite() && (!ylog || *y > 0.0))
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
    Ok(())
}

/// The legend box, upper right.
fn draw_legend<'a, DB, X, Y>(chart: &mut Chart<'a, DB, X, Y>) -> DResult
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 11))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(e)?;
    Ok(())
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
        draw_chart(area, p, (x0..x1).log_scale(), (y0..y1).log_scale(), legend)
    } else {
        draw_chart(area, p, (x0..x1).log_scale(), y0..y1, legend)
    }
}

/// The note's font, and the height of one of its lines in pixels.
const NOTE_FONT: (&str, u32) = ("sans-serif", 12);
const NOTE_LINE: u32 = 16;

/// `note` broken at spaces into lines at most `width` pixels wide in [`NOTE_FONT`] (a word
/// wider than that stands alone on its line).
fn note_lines(note: &str, width: u32) -> Vec<String> {
    let font: FontDesc = NOTE_FONT.into_font();
    let fits = |s: &str| font.box_size(s).map_or(true, |(w, _)| w <= width);
    let mut lines: Vec<String> = Vec::new();
    for word in note.split_whitespace() {
        match lines.last_mut() {
            Some(line) if fits(&format!("{line} {word}")) => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The note's lines for a figure `width` pixels wide (10 pixels of margin each side).
fn note_lines_for(fig: &Figure, width: u32) -> Vec<String> {
    fig.note
        .as_deref()
        .map(|n| note_lines(n, width.saturating_sub(20)))
        .unwrap_or_default()
}

fn render<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, fig: &Figure) -> DResult {
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(&fig.title, ("sans-serif", 20)).map_err(e)?;
    let (w, h) = root.dim_in_pixel();
    let lines = note_lines_for(fig, w);
    let root = if lines.is_empty() {
        root
    } else {
        let foot_h = NOTE_LINE * lines.len() as u32 + 6;
        let (body, foot) = root.split_vertically(h.saturating_sub(foot_h));
        let style = NOTE_FONT.into_font().color(&RGBColor(90, 90, 90));
        for (i, line) in lines.iter().enumerate() {
            let y = 4 + (NOTE_LINE * i as u32) as i32;
            foot.draw(&Text::new(line.clone(), (10, y), style.clone()))
                .map_err(e)?;
        }
        body
    };
    let cols = fig.cols.max(1);
    let rows = fig.panels.len().div_ceil(cols).max(1);
    let areas = root.split_evenly((rows, cols));
    // The legend (the first panel's labels) goes in the grid's first empty cell if it has one,
    // where it hides no data; otherwise in the first panel's upper right corner.
    let spare = areas
        .get(fig.panels.len())
        .filter(|_| !fig.panels.is_empty());
    for (i, (area, p)) in areas.iter().zip(&fig.panels).enumerate() {
        draw_panel(area, p, i == 0 && spare.is_none())?;
    }
    if let Some(area) = spare {
        draw_legend_cell(area, &fig.panels[0])?;
    }
    Ok(())
}

/// The panel's labelled series as a legend filling an empty cell of the grid: per series a
/// sample of its line (dashed or not, with its marker if it has markers) and its label, in a
/// box at the cell's upper left.
fn draw_legend_cell<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> DResult {
    let labelled: Vec<(&Series, &str)> = p
        .series
        .iter()
        .filter_map(|s| Some((s, s.label.as_deref()?)))
        .collect();
    if labelled.is_empty() {
        return Ok(());
    }
    const ROW: i32 = 24;
    const SAMPLE: i32 = 36;
    let font = ("sans-serif", 14).into_font();
    let widest = labelled
        .iter()
        .filter_map(|(_, label)| font.box_size(label).ok())
        .map(|(w, _)| w as i32)
        .max()
        .unwrap_or(0);
    let (x0, y0) = (40, 48);
    let (w, h) = (SAMPLE + 30 + widest, ROW * labelled.len() as i32 + 12);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        RGBColor(180, 180, 180).stroke_width(1),
    ))
    .map_err(e)?;
    for (i, &(s, label)) in labelled.iter().enumerate() {
        let y = y0 + 6 + ROW / 2 + ROW * i as i32;
        let (a, b) = (x0 + 10, x0 + 10 + SAMPLE);
        let style = s.color.stroke_width(2);
        if s.dashed {
            for k in (a..b).step_by(10) {
                area.draw(&PathElement::new(vec![(k, y), ((k + 6).min(b), y)], style))
                    .map_err(e)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(a, y), (b, y)], style))
                .map_err(e)?;
        }
        if s.markers {
            area.draw(&Circle::new(((a + b) / 2, y), 4, s.color.filled()))
                .map_err(e)?;
        }
        let text = Text::new(
            label,
            (b + 12, y),
            font.clone()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        );
        area.draw(&text).map_err(e)?;
    }
    Ok(())
}

/// Writes `fig` as FIGDIR/stem.svg and FIGDIR/stem.png; returns both paths.
pub fn save(fig: &Figure, dir: &Path, panel_w: u32) -> Result<Vec<PathBuf>, String> {
    let cols = fig.cols.max(1) as u32;
    let rows = fig.panels.len().div_ceil(fig.cols.max(1)).max(1) as u32;
    let panel_h = panel_w * 3 / 4;
    // Wide enough for the title, however few panels; tall enough for the note's lines.
    let width = (panel_w * cols).max(900);
    let note = note_lines_for(fig, width).len() as u32;
    let size = (
        width,
        panel_h * rows + 40 + if note > 0 { NOTE_LINE * note + 6 } else { 0 },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_note_is_broken_into_lines_that_fit() {
        super::super::register_font().unwrap();
        let font: FontDesc = NOTE_FONT.into_font();
        let note = "GD at its flow-equivalent step to t = 2e7 or convergence; hollow: some run not there yet. ".repeat(4);
        let lines = note_lines(&note, 400);
        assert!(lines.len() >= 3, "{lines:?}");
        for l in &lines {
            assert!(font.box_size(l).unwrap().0 <= 400, "{l}");
        }
        // Nothing lost, nothing added: the words in order.
        assert_eq!(
            lines.join(" "),
            note.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        assert_eq!(note_lines("short", 400), vec!["short".to_string()]);
        assert!(note_lines("", 400).is_empty());
    }

    #[test]
    fn a_spread_bar_has_no_mark_between_its_ends() {
        super::super::register_font().unwrap();
        let mut s = Series::line(
            None,
            RGBColor(0, 0, 0),
            false,
            vec![(1.0, 2.0), (10.0, 3.0)],
        );
        s.markers = true;
        s.hollow = vec![false, false];
        s.bars = vec![(1.0, 1.0, 4.0), (10.0, 2.0, 5.0)];
        let fig = Figure {
            stem: "bars".into(),
            title: "bars".into(),
            panels: vec![Panel {
                title: "p".into(),
                xdesc: "x".into(),
                ydesc: "y".into(),
                ylog: true,
                series: vec![s],
            }],
            cols: 1,
            note: None,
        };
        let dir = std::env::temp_dir().join(format!("gn-bars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = save(&fig, &dir, 400).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        // The two filled markers and nothing else round: no circle inside a bar.
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        let mut circles = svg.lines().filter(|l| l.contains("<circle"));
        assert!(circles.all(|l| !l.contains("fill=\"none\"")), "{svg}");
    }

    /// How many SVG text elements read `label`, and the x, in pixels, of the first (plotters
    /// writes a text's content on the line after its `<text x=".." …>`).
    fn texts(svg: &str, label: &str) -> (usize, f64) {
        let lines: Vec<&str> = svg.lines().collect();
        let at: Vec<usize> = (1..lines.len())
            .filter(|&i| lines[i].trim() == label && lines[i - 1].starts_with("<text"))
            .collect();
        let Some(&i) = at.first() else {
            return (0, f64::NAN);
        };
        let open = lines[i - 1];
        let x = open.find(" x=\"").unwrap() + 4;
        let end = x + open[x..].find('"').unwrap();
        (at.len(), open[x..end].parse().unwrap())
    }

    #[test]
    fn the_legend_takes_the_grids_empty_cell_and_else_the_first_panel() {
        super::super::register_font().unwrap();
        let panel = |title: &str| {
            let mut gn = Series::line(
                Some("GN legend".to_string()),
                RGBColor(0, 0, 255),
                false,
                vec![(1.0, 2.0), (10.0, 3.0)],
            );
            gn.markers = true;
            let rf = Series::line(
                Some("RF legend".to_string()),
                RGBColor(9, 9, 9),
                true,
                vec![(1.0, 1.0), (10.0, 1.5)],
            );
            Panel {
                title: title.into(),
                xdesc: "x".into(),
                ydesc: "y".into(),
                ylog: true,
                series: vec![gn, rf],
            }
        };
        let dir = std::env::temp_dir().join(format!("gn-legend-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let svg_of = |n: usize| {
            let fig = Figure {
                stem: format!("legend{n}"),
                title: "legend".into(),
                panels: (0..n).map(|i| panel(&format!("p{i}"))).collect(),
                cols: 3,
                note: None,
            };
            let files = save(&fig, &dir, 300).unwrap();
            std::fs::read_to_string(&files[0]).unwrap()
        };
        // Two panels in three columns: the legend is in the third cell, once.
        let spare = svg_of(2);
        for label in ["GN legend", "RF legend"] {
            let (count, x) = texts(&spare, label);
            assert_eq!(count, 1, "{label}");
            assert!(x > 600.0, "{label} at x = {x}, not in the empty cell");
        }
        // Three panels fill the row: the legend is in the first panel, once.
        let full = svg_of(3);
        for label in ["GN legend", "RF legend"] {
            let (count, x) = texts(&full, label);
            assert_eq!(count, 1, "{label}");
            assert!(x < 300.0, "{label} at x = {x}, not in the first panel");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_line_breaks_where_the_series_has_a_gap() {
        let mut s = Series::line(None, RGBColor(0, 0, 0), false, vec![]);
        s.points = vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, -1.0), (5.0, 5.0)];
        // Without breaks one piece; a point a log axis cannot show is left out, not a break.
        assert_eq!(
            segments(&s, true),
            vec![vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (5.0, 5.0)]]
        );
        s.breaks_before = vec![2, 0, 9];
        assert_eq!(
            segments(&s, false),
            vec![s.points[..2].to_vec(), s.points[2..].to_vec()]
        );
        assert_eq!(
            segments(&s, true),
            vec![s.points[..2].to_vec(), vec![(3.0, 3.0), (5.0, 5.0)]]
        );
    }
}
