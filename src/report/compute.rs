//! The report's compute section: what each kind of run cost where it ran — runs, steps, summed
//! run time, the longest run and the median time per step, per method, refit, step limit and
//! N — from the wall times the run files carry (a resumed run's sum its sittings). The same
//! rows and paces give `gn sweep --dry-run` its estimate of the time left.

use crate::runs::Run;
use crate::Config;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A row of the table: the kind of run (method, refit, flow-time limit) and N.
pub type Row = (String, usize);

/// The row a run of configuration `c` belongs to.
pub fn row(c: &Config) -> Row {
    (kind(c), c.n)
}

/// A kind of run as the table names it: method, refit, flow-time limit.
fn kind(c: &Config) -> String {
    let mut s = c.method.name().to_uppercase();
    if c.refit {
        s.push_str(" with refit");
    }
    if let Some(t) = c.max_flow_time {
        let _ = write!(s, " to t = {t:e}");
    }
    s
}

/// Seconds as the table shows them: s below a minute, min below an hour, then h.
pub fn duration(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// The median of `v` (the mean of the middle two for an even count); None if empty.
fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[k]
    } else {
        (v[k - 1] + v[k]) / 2.0
    })
}

/// Seconds per step of a run that took `steps` steps in `wall_s` seconds; None if it was not
/// timed or took no step.
pub fn seconds_per_step(steps: u64, wall_s: Option<f64>) -> Option<f64> {
    wall_s
        .filter(|w| steps > 0 && *w > 0.0)
        .map(|w| w / steps as f64)
}

/// The median seconds per step of each row, from `(row, seconds per step)` of its timed runs.
pub fn median_pace(paces: impl IntoIterator<Item = (Row, f64)>) -> BTreeMap<Row, f64> {
    let mut by_row: BTreeMap<Row, Vec<f64>> = BTreeMap::new();
    for (r, p) in paces {
        by_row.entry(r).or_default().push(p);
    }
    by_row
        .into_iter()
        .filter_map(|(r, v)| median(v).map(|m| (r, m)))
        .collect()
}

/// The section: one row per (kind, N), then the total.
pub fn section(runs: &[Run]) -> String {
    let mut groups: BTreeMap<Row, Vec<&Run>> = BTreeMap::new();
    for r in runs {
        groups.entry(row(&r.r.config)).or_default().push(r);
    }
    let pace = median_pace(runs.iter().filter_map(|r| {
        let s = &r.r.summary;
        seconds_per_step(s.iterations, s.wall_s).map(|p| (row(&r.r.config), p))
    }));
    let mut s = String::new();
    let _ = writeln!(s, "\n## Compute\n");
    let _ = writeln!(s, "Run time is each run's wall time (one run's sittings summed when it was resumed), on whatever machine ran it; a row's runs may have run side by side.\n");
    let _ = writeln!(
        s,
        "| runs of | N | runs | steps | run time, summed | longest run | ms per step (median) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for (key, rs) in &groups {
        let (k, n) = key;
        let steps: u64 = rs.iter().map(|r| r.r.summary.iterations).sum();
        let timed: Vec<(f64, u64)> = rs
            .iter()
            .filter_map(|r| r.r.summary.wall_s.map(|w| (w, r.r.summary.iterations)))
            .collect();
        let untimed = rs.len() - timed.len();
        let total: f64 = timed.iter().map(|t| t.0).sum();
        let longest = timed.iter().map(|t| t.0).reduce(f64::max);
        let per_step = pace.get(key).map(|p| p * 1e3);
        let note = if untimed > 0 {
            format!(" ({untimed} untimed)")
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "| {k} | {n} | {}{note} | {steps} | {} | {} | {} |",
            rs.len(),
            if timed.is_empty() {
                "–".to_string()
            } else {
                duration(total)
            },
            longest.map(duration).unwrap_or("–".into()),
            per_step.map(|x| format!("{x:.2}")).unwrap_or("–".into()),
        );
    }
    let total: f64 = runs.iter().filter_map(|r| r.r.summary.wall_s).sum();
    let _ = writeln!(
        s,
        "\nSum of the runs' wall times: {total:.0} s ({}).",
        duration(total)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{RunResult, Status, Summary};
    use crate::{Config, Method};

    fn run(method: Method, n: usize, t: Option<f64>, iters: u64, wall: Option<f64>) -> Run {
        let config = Config {
            method,
            n,
            max_flow_time: t,
            ..Config::default()
        };
        Run {
            name: String::new(),
            r: RunResult {
                config,
                records: Vec::new(),
                summary: Summary {
                    status: Status::Converged,
                    iterations: iters,
                    final_train_loss: None,
                    final_test_loss: None,
                    rf_test_loss: None,
                    refit_test_loss: None,
                    wall_s: wall,
                    gn_fallbacks: 0,
                },
            },
        }
    }

    #[test]
    fn rows_sum_each_kind_and_n_and_name_the_untimed() {
        let runs = vec![
            run(Method::Gd, 100, Some(2e7), 1000, Some(10.0)),
            run(Method::Gd, 100, Some(2e7), 4000, Some(30.0)),
            run(Method::Gd, 100, Some(2e7), 2000, Some(7200.0)),
            run(Method::Gd, 500, Some(2e7), 100, Some(1.0)),
            run(Method::Gn, 100, None, 90, None),
        ];
        let s = section(&runs);
        let row = |prefix: &str| {
            s.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no row {prefix}:\n{s}"))
                .to_string()
        };
        // 10 + 30 + 7200 s = 2.01 h; 7000 steps; per step 10, 7.5 and 3600 ms: median 10.
        assert_eq!(
            row("| GD to t = 2e7 | 100 |"),
            "| GD to t = 2e7 | 100 | 3 | 7000 | 2.0 h | 2.0 h | 10.00 |"
        );
        assert_eq!(
            row("| GD to t = 2e7 | 500 |"),
            "| GD to t = 2e7 | 500 | 1 | 100 | 1 s | 1 s | 10.00 |"
        );
        assert_eq!(
            row("| GN | 100 |"),
            "| GN | 100 | 1 (1 untimed) | 90 | – | – | – |"
        );
        assert!(
            s.contains("Sum of the runs' wall times: 7241 s (2.0 h)."),
            "{s}"
        );
    }

    #[test]
    fn paces_are_per_step_and_pooled_per_row() {
        assert_eq!(seconds_per_step(4, Some(2.0)), Some(0.5));
        assert_eq!(seconds_per_step(0, Some(2.0)), None);
        assert_eq!(seconds_per_step(4, Some(0.0)), None);
        assert_eq!(seconds_per_step(4, None), None);
        let gd = |n| {
            row(&Config {
                method: Method::Gd,
                n,
                max_flow_time: Some(2e7),
                ..Config::default()
            })
        };
        assert_eq!(gd(500), ("GD to t = 2e7".to_string(), 500));
        let m = median_pace([
            (gd(500), 3.0),
            (gd(100), 1.0),
            (gd(500), 1.0),
            (gd(500), 2.0),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[&gd(500)], 2.0);
        assert_eq!(m[&gd(100)], 1.0);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
