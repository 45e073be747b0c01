//! Loading results: every run result of a folder (a `gn sweep` folder, the `gn run` format:
//! `NAME.json`, or `NAME.json.gz` as `results/` keeps the long runs), with small helpers to
//! group runs and summarise seeds, for the report and the figures.

use crate::{Method, RunResult, Status};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The two names a result file may have: `NAME.json` as `gn` writes it, `NAME.json.gz` as
/// committed under `results/` (gzip of the same text).
const RESULT_SUFFIXES: [&str; 2] = [".json", ".json.gz"];

/// The run name of a result file (`NAME` of `NAME.json` or `NAME.json.gz`), if it is one.
pub fn result_name(path: &Path) -> Option<String> {
    let file = path.file_name()?.to_str()?;
    RESULT_SUFFIXES
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .filter(|name| !name.is_empty())
        .map(String::from)
}

/// The result file of run `name` in `dir`, `NAME.json` or else `NAME.json.gz`, if either exists.
pub fn find_result(dir: &Path, name: &str) -> Option<PathBuf> {
    RESULT_SUFFIXES
        .iter()
        .map(|s| dir.join(format!("{name}{s}")))
        .find(|p| p.exists())
}

/// The text of a result file, gunzipped if its name ends in `.gz`.
pub fn read_result_text(path: &Path) -> Result<String, String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: cannot read ({e})", path.display());
    let bytes = std::fs::read(path).map_err(|e| fail(&e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| fail(&e))?;
        Ok(text)
    } else {
        String::from_utf8(bytes).map_err(|e| fail(&e))
    }
}

/// One result file.
#[derive(Clone, Debug)]
pub struct Run {
    pub name: String,
    pub r: RunResult,
}

impl Run {
    pub fn method(&self) -> Method {
        self.r.config.method
    }
    pub fn tau0(&self) -> f64 {
        self.r.config.tau0
    }
    pub fn n(&self) -> usize {
        self.r.config.n
    }
    pub fn lr(&self) -> f64 {
        self.r.config.lr
    }
    pub fn status(&self) -> Status {
        self.r.summary.status
    }
    pub fn converged(&self) -> bool {
        self.status() == Status::Converged
    }
    pub fn diverged(&self) -> bool {
        self.status() == Status::Diverged
    }
}

/// Every result in `dir` (not recursive), sorted by name. Files that are not results
/// (checkpoints end in `.ckpt`) are skipped with a note on stderr; a run present both as
/// `NAME.json` and `NAME.json.gz` is an error.
pub fn load_dir(dir: &Path) -> Result<Vec<Run>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read folder ({e})", dir.display()))?;
    let mut runs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        let Some(name) = result_name(&path) else {
            continue;
        };
        let text = match read_result_text(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("note: skipping {e}");
                continue;
            }
        };
        match RunResult::from_json(&text) {
            Ok(r) => runs.push(Run { name, r }),
            Err(e) => eprintln!(
                "note: skipping {} (not a gn run result: {e})",
                path.display()
            ),
        }
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = runs.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(format!(
            "{}: run {} is there twice ({0}/{1}.json and {0}/{1}.json.gz); keep one",
            dir.display(),
            w[0].name
        ));
    }
    if runs.is_empty() {
        return Err(format!(
            "{}: no run results (*.json or *.json.gz written by gn sweep or gn run --out)",
            dir.display()
        ));
    }
    Ok(runs)
}

/// The distinct values of `key` over `runs`, sorted.
pub fn distinct<'a, T: PartialOrd + Copy>(
    runs: impl IntoIterator<Item = &'a Run>,
    key: impl Fn(&Run) -> T,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for r in runs {
        let k = key(r);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// Mean, min and max of the finite values (None if there are none).
pub fn stats(xs: impl IntoIterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((mean, min, max))
}

/// The paper's step size if present among `runs`, else the most common one.
pub fn main_lr(runs: &[Run]) -> f64 {
    let lrs = distinct(runs, |r| r.lr());
    if lrs.contains(&10.0) {
        return 10.0;
    }
    lrs.iter()
        .copied()
        .max_by_key(|lr| runs.iter().filter(|r| r.lr() == *lr).count())
        .unwrap_or(10.0)
}
