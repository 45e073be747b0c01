//! `gn sweep`: a grid of runs into one folder, one `gn run` JSON per run, named from its
//! configuration. Finished runs (`NAME.json`, or `NAME.json.gz` as committed under `results/`)
//! are skipped, unfinished ones resume from their checkpoint
//! (`NAME.ckpt` beside `NAME.json`, which also keeps the records made so far), and
//! `--shard I/K` picks a fixed, disjoint share of the grid (the Slurm array tasks use it).
//! Sweeps into one folder share it: each run is claimed by the sweep that runs it and skipped
//! by the others (`claim`).

pub use crate::args::GridArgs;
use crate::claim::{self, Claimed};
use crate::files::{read, write_atomic};
use crate::run::{self, ExecOptions};
use clap::builder::TypedValueParser;
use clap::Args;
use gauss_newton::report::compute;
use gauss_newton::runs::{find_result, read_result_text};
use gauss_newton::sweep::{blocks, expand, shard_runs, Planned, Preset, Request, Shard};
use gauss_newton::{Checkpoint, Config, Record, RunResult, Trainer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use crate::run::{parse_count, parse_count_u64, parse_number};

/// The preset names and what each runs, from the library's [`Preset`].
fn preset_parser() -> impl TypedValueParser<Value = Preset> {
    let values = Preset::ALL
        .iter()
        .map(|p| clap::builder::PossibleValue::new(p.name()).help(p.about()));
    clap::builder::PossibleValuesParser::new(values)
        .map(|s| Preset::parse(&s).expect("one of the possible values"))
}

/// `gn sweep` flags.
#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub grid: GridArgs,
    /// Parts of the preset, comma-separated (paper-flow: study, horizon, gn, hidden)
    #[arg(long, value_delimiter = ',', value_parser = Preset::PARTS)]
    pub part: Vec<String>,
    /// Record every DT of flow time: --eval-every round(DT/λ) per λ (so runs at different λ
    /// record at common flow times when DT/λ is whole)
    #[arg(long, value_name = "DT", value_parser = parse_number, conflicts_with = "eval_every")]
    pub record_every_t: Option<f64>,
    /// Start from a preset grid; the flags above replace its values
    #[arg(long, value_parser = preset_parser())]
    pub preset: Option<Preset>,
    /// Output folder (created if missing): one NAME.json per run, NAME.ckpt while unfinished
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Run only the I-th of K fixed, disjoint shares of the grid (I in 1..=K)
    #[arg(long, value_name = "I/K")]
    pub shard: Option<Shard>,
    /// Runs at a time, each with cores/JOBS threads [default: one run per core]
    #[arg(long, value_name = "J", value_parser = parse_count)]
    pub jobs: Option<usize>,
    /// Checkpoint each run every K steps
    #[arg(long, value_name = "K", default_value_t = 100, value_parser = parse_count_u64)]
    pub checkpoint_every: u64,
    /// Print the runs of this shard (name and state) and exit
    #[arg(long)]
    pub list: bool,
    /// Print the runs of this shard with their step, step limit, flow-time limit, record
    /// spacing and why GD uses its step, then the run count, and exit
    #[arg(long)]
    pub dry_run: bool,
    /// No progress display (one line per finished run is still printed)
    #[arg(long, short)]
    pub quiet: bool,
}

impl SweepArgs {
    /// The grid asked for, as the library plans it.
    pub fn request(&self) -> Request {
        Request {
            preset: self.preset,
            parts: self.part.clone(),
            axes: self.grid.axes.clone(),
            scalars: self.grid.scalars.clone(),
            record_every_t: self.record_every_t,
        }
    }

    /// Every run of the grid, in its fixed order.
    pub fn plan(&self) -> Result<Vec<Planned>, String> {
        expand(&blocks(&self.request()))
    }
}

/// `--dry-run`: one line per run (name, method, λ and why, step limit, flow-time limit,
/// record spacing, state), then the count and the steps left, then the time those steps take
/// at the pace measured in the folder: an unfinished run's own (its checkpoint's seconds per
/// step), else the median of the finished runs of its row (kind and N, as `gn report`'s
/// Compute table groups them).
fn dry_run_text(
    runs: &[Planned],
    dir: &Path,
    total_grid: usize,
    shard: Option<Shard>,
) -> Result<String, String> {
    let mut out = String::new();
    out.push_str("name\tmethod\tlr\tmax_iter\tmax_flow_time\teval_every\tstate\tstep\n");
    let (mut steps, mut left, mut not_done): (u128, u128, usize) = (0, 0, 0);
    let mut finished = Vec::new(); // (row, seconds per step) of the finished, timed runs
    let mut pending = Vec::new(); // (row, steps left, own seconds per step) of the others
    for p in runs {
        let c = &p.config;
        let (st, state, pace) = state_text(dir, p)?;
        let taken = match state {
            State::Done => None,
            State::Partial(k) => Some(k),
            State::New => Some(0),
        };
        match taken {
            Some(k) => {
                let k_left = c.max_iter.saturating_sub(k);
                not_done += 1;
                left += k_left as u128;
                pending.push((compute::row(c), k_left, pace));
            }
            None => finished.extend(pace.map(|x| (compute::row(c), x))),
        }
        let why = match p.step {
            Some(s) if s.lowered => format!(
                "lowered: flow step {} > half of GD's bound 2N/λ_max(A) = {:.4e} (λ_max(A) at init = {:.4e})",
                s.wanted, s.bound, s.lambda_max
            ),
            Some(s) => format!("flow step (bound 2N/λ_max(A) = {:.4e}, λ_max(A) at init = {:.4e})", s.bound, s.lambda_max),
            None => String::new(),
        };
        steps += c.max_iter as u128;
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            p.name,
            c.method.name(),
            c.lr,
            c.max_iter,
            c.max_flow_time
                .map(|t| format!("{t:e}"))
                .unwrap_or_else(|| "-".into()),
            c.eval_every,
            st,
            why
        ));
    }
    let shard_text = shard
        .map(|s| format!(" (shard {s} of a {total_grid}-run grid)"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{} runs{shard_text}, at most {steps} steps in all; {not_done} not done, at most {left} steps left\n",
        runs.len()
    ));
    if not_done > 0 {
        out.push_str(&time_left_text(&finished, &pending));
    }
    Ok(out)
}

/// The dry run's last line: the time the steps left take on one thread at the pace measured
/// in the folder, and how many runs each pace timed (see [`dry_run_text`]).
fn time_left_text(
    finished: &[(compute::Row, f64)],
    pending: &[(compute::Row, u64, Option<f64>)],
) -> String {
    let median = compute::median_pace(finished.iter().cloned());
    let (mut seconds, mut own, mut pooled, mut unknown) = (0.0, 0, 0, 0);
    for (row, k_left, pace) in pending {
        match (pace, median.get(row)) {
            (Some(p), _) => {
                own += 1;
                seconds += p * *k_left as f64;
            }
            (None, Some(p)) => {
                pooled += 1;
                seconds += p * *k_left as f64;
            }
            (None, None) => unknown += 1,
        }
    }
    if own + pooled == 0 {
        return format!("at the pace measured here: none yet ({unknown} run(s) left, none with a checkpoint or a finished run of its kind and N)\n");
    }
    let untimed = if unknown > 0 {
        format!("; {unknown} with neither, not counted")
    } else {
        String::new()
    };
    format!(
        "at the pace measured here, at most {} of one thread ({seconds:.4e} s): {own} run(s) at their checkpoint's own pace, {pooled} at the median of the finished runs of their kind and N{untimed}\n",
        compute::duration(seconds)
    )
}

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
fn examine(dir: &Path, p: &Planned) -> Result<(State, Option<f64>), String> {
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

/// Default runs at a time: one per core, each with one thread. Measured on this 2-core machine
/// (shared, so noisy): 12 quick-preset runs took 43 s two at a time with one thread each
/// against 71 s one at a time with two threads (24 runs: 3m32s against 6m24s), and at
/// M = 5000, N = 500 a GN step took 0.29 s on one thread against 0.39 s on two (GD: 0.05 s
/// against 0.07 s), so side by side wins at every size measured. Fewer runs than cores get
/// the spare cores.
fn auto_jobs(_runs: &[Planned], cores: usize) -> usize {
    cores.max(1)
}

/// Cores to use: Slurm's allocation inside a Slurm job, else every core.
fn cores() -> usize {
    if let Some(c) = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return c.max(1);
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The text of a caught panic (`panic!("…")` payloads are `&str` or `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

/// Locks the sweep's shared state even if a thread panicked while holding it (its data —
/// counters and names — stays consistent at every point a panic could occur).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The progress line's list of runs under way, with their steps at the last checkpoint.
fn running(active: &[(String, u64, u64)]) -> String {
    let parts: Vec<String> = active
        .iter()
        .map(|(n, k, max)| format!("{n} [{k}/{max} steps]"))
        .collect();
    format!("running {}", parts.join(", "))
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A run's state as `--list` and `--dry-run` print it (`new` where the folder is missing),
/// the state itself, and the seconds per step the folder records for it.
fn state_text(dir: &Path, p: &Planned) -> Result<(String, State, Option<f64>), String> {
    let (st, pace) = if dir.exists() {
        examine(dir, p)?
    } else {
        (State::New, None)
    };
    let elsewhere = st != State::Done && dir.exists() && claim::held_elsewhere(dir, &p.name);
    let text = match (&st, elsewhere) {
        (State::Done, _) => "done".to_string(),
        (State::Partial(k), false) => format!("partial ({k} steps)"),
        (State::Partial(k), true) => format!("partial ({k} steps), running in another sweep"),
        (State::New, false) => "new".to_string(),
        (State::New, true) => "new, running in another sweep".to_string(),
    };
    Ok((text, st, pace))
}

/// The sweep's progress bar on a terminal (hidden otherwise), at `done` of `total` runs.
fn progress_bar(tty: bool, total: u64, done: u64) -> ProgressBar {
    if !tty {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(2));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} runs {pos}/{len} [{elapsed_precise}] ETA {eta} {wide_msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(done);
    bar.reset_eta();
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    bar
}

/// What the sweep's workers share, behind one lock.
struct Shared {
    queue: std::vec::IntoIter<Planned>,
    /// Runs under way: name, steps taken (at the last checkpoint), step limit.
    active: Vec<(String, u64, u64)>,
    done: usize,
    ran: usize,
    /// Runs left to other sweeps: all of them, and those still under way there.
    skipped: usize,
    elsewhere: usize,
    errors: Vec<String>,
}

/// The sweep under way: its options, shared state, progress bar and clock.
struct Sweep<'a> {
    dir: &'a Path,
    checkpoint_every: u64,
    threads: usize,
    total: u64,
    to_run: usize,
    tty: bool,
    shared: Mutex<Shared>,
    bar: ProgressBar,
    start: Instant,
}

impl Sweep<'_> {
    fn log(&self, line: String) {
        if self.tty {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// The next run of the queue, marked as under way.
    fn next(&self) -> Option<Planned> {
        let mut s = lock(&self.shared);
        let next = s.queue.next();
        if let Some(p) = &next {
            s.active.push((p.name.clone(), 0, p.config.max_iter));
            self.bar.set_message(running(&s.active));
        }
        next
    }

    /// One worker: takes runs from the queue until it is empty, each on a pool of
    /// `threads` threads. A run that panics is reported as failed with the panic's message;
    /// the others go on (the lock is never held while a run computes).
    fn worker(&self) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .build()
            .expect("a thread pool");
        while let Some(p) = self.next() {
            let held = match claim::claim(self.dir, &p.name) {
                Ok(Claimed::Mine(c)) => Some(c),
                Ok(Claimed::Elsewhere) => {
                    self.skipped(&p, false);
                    continue;
                }
                Ok(Claimed::Unlockable(why)) => {
                    self.log(format!("{}: {why}; running it unclaimed", p.name));
                    None
                }
                Err(e) => {
                    self.finished(&p, Err(e), 0.0);
                    continue;
                }
            };
            // Another sweep may have finished it since this one listed it.
            if matches!(state(self.dir, &p), Ok(State::Done)) {
                if let Some(c) = held {
                    c.release_finished();
                }
                self.skipped(&p, true);
                continue;
            }
            let t0 = Instant::now();
            let progress = |k: u64, max: u64| {
                let mut s = lock(&self.shared);
                if let Some(a) = s.active.iter_mut().find(|a| a.0 == p.name) {
                    a.1 = k;
                    a.2 = max;
                }
                self.bar.set_message(running(&s.active));
            };
            let outcome = pool
                .install(|| {
                    std::panic::catch_unwind(AssertUnwindSafe(|| {
                        run_one(self.dir, &p, self.checkpoint_every, &progress)
                    }))
                })
                .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))));
            if let (Ok(_), Some(c)) = (&outcome, held) {
                c.release_finished();
            }
            self.finished(&p, outcome, t0.elapsed().as_secs_f64());
        }
    }

    /// Records a run left to another sweep: under way there, or already `done` by it.
    fn skipped(&self, p: &Planned, done: bool) {
        let mut s = lock(&self.shared);
        s.active.retain(|a| a.0 != p.name);
        s.skipped += 1;
        let what = if done {
            s.done += 1;
            "done by another sweep"
        } else {
            s.elsewhere += 1;
            "running in another sweep: skipped"
        };
        self.log(format!("[{}/{}] {}: {what}", s.done, self.total, p.name));
        self.bar.set_position(s.done as u64);
        self.bar.set_message(running(&s.active));
    }

    /// Records a finished (or failed) run and prints its line.
    fn finished(&self, p: &Planned, outcome: Result<(RunResult, bool), String>, secs: f64) {
        let mut s = lock(&self.shared);
        s.active.retain(|a| a.0 != p.name);
        s.done += 1;
        s.ran += 1;
        let elapsed = self.start.elapsed().as_secs_f64();
        let left = self.to_run.saturating_sub(s.ran + s.skipped);
        let eta = elapsed / s.ran as f64 * left as f64;
        let line = match outcome {
            Ok((r, resumed)) => format!(
                "[{}/{}] {}: {} after {} iterations, test loss {} ({:.1} s{}) ETA {}",
                s.done,
                self.total,
                p.name,
                r.summary.status.name(),
                r.summary.iterations,
                r.summary
                    .final_test_loss
                    .map(|x| format!("{x:.4e}"))
                    .unwrap_or("-".into()),
                secs,
                if resumed { ", resumed" } else { "" },
                fmt_secs(eta)
            ),
            Err(e) => {
                s.errors.push(format!("{}: {e}", p.name));
                format!("[{}/{}] {}: FAILED: {e}", s.done, self.total, p.name)
            }
        };
        self.log(line);
        self.bar.set_position(s.done as u64);
        self.bar.set_message(running(&s.active));
    }

    /// The closing line, and the failures as the error.
    fn finish(self) -> Result<(), String> {
        self.bar.finish_and_clear();
        let s = self
            .shared
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        eprintln!(
            "gn sweep: {} of {} runs done in {}{}{}",
            s.done - s.errors.len(),
            self.total,
            fmt_secs(self.start.elapsed().as_secs_f64()),
            if s.elsewhere == 0 {
                String::new()
            } else {
                format!(", {} left to another sweep", s.elsewhere)
            },
            if s.errors.is_empty() {
                String::new()
            } else {
                format!(", {} failed", s.errors.len())
            }
        );
        if s.errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} run(s) failed: {}",
                s.errors.len(),
                s.errors.join("; ")
            ))
        }
    }
}

pub fn main(args: SweepArgs) -> Result<(), String> {
    if args.checkpoint_every == 0 {
        return Err("--checkpoint-every: must be a whole number >= 1, got 0".into());
    }
    let all = args.plan()?;
    let total_grid = all.len();
    let runs = shard_runs(all, args.shard);
    let dir = args.out.clone();
    if args.dry_run {
        print!("{}", dry_run_text(&runs, &dir, total_grid, args.shard)?);
        return Ok(());
    }
    if args.list {
        for p in &runs {
            println!("{}\t{}", p.name, state_text(&dir, p)?.0);
        }
        return Ok(());
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("--out {}: cannot create ({e})", dir.display()))?;
    let mut todo = Vec::new();
    let mut done = 0usize;
    for p in &runs {
        match state(&dir, p)? {
            State::Done => done += 1,
            _ => todo.push(p.clone()),
        }
    }
    let cores = cores();
    let jobs = args
        .jobs
        .unwrap_or_else(|| auto_jobs(&todo, cores))
        .clamp(1, todo.len().max(1));
    let threads = (cores / jobs).max(1);
    let shard_text = args
        .shard
        .map(|s| format!(" (shard {s} of a {total_grid}-run grid)"))
        .unwrap_or_default();
    eprintln!(
        "gn sweep: {} runs{shard_text} into {}: {done} done, {} to run; {jobs} at a time, {threads} thread(s) each",
        runs.len(),
        dir.display(),
        todo.len()
    );
    let tty = std::io::stderr().is_terminal() && !args.quiet;
    let total = runs.len() as u64;
    let sweep = Sweep {
        dir: &dir,
        checkpoint_every: args.checkpoint_every,
        threads,
        total,
        to_run: todo.len(),
        tty,
        bar: progress_bar(tty, total, done as u64),
        shared: Mutex::new(Shared {
            queue: todo.into_iter(),
            active: Vec::new(),
            done,
            ran: 0,
            skipped: 0,
            elsewhere: 0,
            errors: Vec::new(),
        }),
        start: Instant::now(),
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| sweep.worker());
        }
    });
    sweep.finish()
}
