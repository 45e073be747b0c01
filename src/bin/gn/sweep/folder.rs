//! Where each run of a sweep stands in its folder — finished (`NAME.json`, or `.json.gz`),
//! partial (`NAME.ckpt`: a checkpoint with the records so far and the seconds spent) or new —
//! checked against the grid's configuration; and running one run from wherever it stands to
//! its result.

use crate::files::{read, write_atomic};
use crate::run::{self, ExecOptions};
use gauss_newton::report::compute;
use gauss_newton::runs::{find_result, read_result_text};
use gauss_newton::sweep::Planned;
use gauss_newton::{Checkpoint, Config, Record, RunResult, Trainer};
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn result_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

pub fn checkpoint_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.ckpt"))
}

/// Where a run stands in the output folder.
#[derive(Debug, PartialEq)]
pub enum State {
    Done,
    Partial(u64),
    New,
}

/// A sweep checkpoint: a `gn-checkpoint-v1` file with the sweep's extra key `sweep`
/// holding the records made so far and the seconds spent.
struct Saved {
    checkpoint: Checkpoint,
    records: Vec<Record>,
    wall_s: f64,
}

fn load_saved(path: &Path) -> Result<Saved, String> {
    let text = read(path, "checkpoint")?;
    let checkpoint = Checkpoint::from_json(&text).map_err(|e| run::describe(&e, Some(path)))?;
    let root: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let extra = root.get("sweep").cloned().unwrap_or(Value::Null);
    let records = match extra.get("records") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("{}: sweep.records: {e}", path.display()))?,
        None => Vec::new(),
    };
    let wall_s = extra.get("wall_s").and_then(Value::as_f64).unwrap_or(0.0);
    Ok(Saved {
        checkpoint,
        records,
        wall_s,
    })
}

fn write_saved(
    path: &Path,
    trainer: &Trainer,
    records: &[Record],
    wall_s: f64,
) -> Result<(), String> {
    let mut root = serde_json::to_value(trainer.checkpoint()).map_err(|e| e.to_string())?;
    let extra = serde_json::json!({ "records": records, "wall_s": wall_s });
    root.as_object_mut()
        .expect("a checkpoint is an object")
        .insert("sweep".into(), extra);
    write_atomic(
        path,
        &serde_json::to_string(&root).map_err(|e| e.to_string())?,
    )
}

/// The fields of two configs that differ, as `field (a vs b)`.
fn config_diff(a: &Config, b: &Config) -> Vec<String> {
    let (va, vb) = (
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
    );
    let (oa, ob) = (va.as_object().unwrap(), vb.as_object().unwrap());
    oa.iter()
        .filter(|(k, v)| ob.get(*k) != Some(*v))
        .map(|(k, v)| {
            format!(
                "{k} ({} vs {})",
                v,
                ob.get(k).cloned().unwrap_or(Value::Null)
            )
        })
        .collect()
}

/// Reads a finished result (`NAME.json`, or `NAME.json.gz` as committed under `results/`).
pub fn load_result(path: &Path) -> Result<RunResult, String> {
    let text = read_result_text(path).map_err(|e| format!("result {e}"))?;
    RunResult::from_json(&text)
        .map_err(|e| format!("{}: not a gn run result ({e})", path.display()))
}

fn mismatch(path: &Path, diff: &[String]) -> String {
    format!(
        "{} was made with another configuration: {} (the file's vs this sweep's); use another --out folder or remove the file",
        path.display(),
        diff.join(", ")
    )
}

/// The state of one run in `dir`, checking that what is there is this run.
pub fn state(dir: &Path, p: &Planned) -> Result<State, String> {
    examine(dir, p).map(|(st, _)| st)
}

/// The state of one run in `dir`, and the seconds per step its result or checkpoint records
/// (None when new or untimed).
pub fn examine(dir: &Path, p: &Planned) -> Result<(State, Option<f64>), String> {
    if let Some(rp) = find_result(dir, &p.name) {
        let r = load_result(&rp)?;
        let diff = config_diff(&r.config, &p.config);
        if !diff.is_empty() {
            return Err(mismatch(&rp, &diff));
        }
        let pace = compute::seconds_per_step(r.summary.iterations, r.summary.wall_s);
        return Ok((State::Done, pace));
    }
    let cp = checkpoint_path(dir, &p.name);
    if cp.exists() {
        let s = load_saved(&cp)?;
        let mut stored = s.checkpoint.resolved_config();
        stored.max_iter = p.config.max_iter; // a new step limit is allowed
        let diff = config_diff(&stored, &p.config);
        if !diff.is_empty() {
            return Err(mismatch(&cp, &diff));
        }
        let k = s.checkpoint.iteration;
        return Ok((
            State::Partial(k),
            compute::seconds_per_step(k, Some(s.wall_s)),
        ));
    }
    Ok((State::New, None))
}

/// Runs (or finishes) one run of the grid and writes its result. Returns the result, and
/// whether it was resumed from a checkpoint.
/// `progress(steps, max_iter)` is called at each checkpoint.
pub fn run_one(
    dir: &Path,
    p: &Planned,
    checkpoint_every: u64,
    progress: &dyn Fn(u64, u64),
) -> Result<(RunResult, bool), String> {
    // Fault injection for the tests (tests/sweep.rs): a run whose name contains
    // GN_TEST_PANIC_RUN panics here, as a bug in the numerics would.
    if let Ok(pat) = std::env::var("GN_TEST_PANIC_RUN") {
        if !pat.is_empty() && p.name.contains(&pat) {
            panic!("injected panic for {}", p.name);
        }
    }
    let cp = checkpoint_path(dir, &p.name);
    let (mut trainer, prior, prior_wall, resumed) = if cp.exists() {
        let s = load_saved(&cp)?;
        let mut t =
            Trainer::from_checkpoint(&s.checkpoint).map_err(|e| run::describe(&e, Some(&cp)))?;
        t.set_max_iter(p.config.max_iter);
        (t, s.records, s.wall_s, true)
    } else {
        run::check_memory(&p.config)?;
        (
            Trainer::new(p.config.clone()).map_err(|e| run::describe(&e, None))?,
            Vec::new(),
            0.0,
            false,
        )
    };
    let opts = ExecOptions {
        checkpoint: Some(cp.clone()),
        checkpoint_every: Some(checkpoint_every),
        progress: false,
    };
    let shift = |r: &Record| {
        let mut r = r.clone();
        r.elapsed_s = r.elapsed_s.map(|t| t + prior_wall);
        r
    };
    let mut save = |t: &Trainer, new: &[Record], wall: f64| {
        progress(t.iteration(), t.config().max_iter);
        let all: Vec<Record> = prior.iter().cloned().chain(new.iter().map(shift)).collect();
        write_saved(&cp, t, &all, prior_wall + wall)
    };
    let mut result = run::execute_with(&mut trainer, &opts, &mut save)?;
    let mut records: Vec<Record> = prior.clone();
    records.extend(result.records.iter().map(shift));
    result.records = records;
    result.summary.wall_s = result.summary.wall_s.map(|w| w + prior_wall);
    write_atomic(&result_path(dir, &p.name), &result.to_json())?;
    let _ = std::fs::remove_file(&cp);
    Ok((result, resumed))
}
