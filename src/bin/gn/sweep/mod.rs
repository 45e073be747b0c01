//! `gn sweep`: a grid of runs into one folder, one `gn run` JSON per run, named from its
//! configuration. Finished runs (`NAME.json`, or `NAME.json.gz` as committed under `results/`)
//! are skipped, unfinished ones resume from their checkpoint
//! (`NAME.ckpt` beside `NAME.json`, which also keeps the records made so far), and
//! `--shard I/K` picks a fixed, disjoint share of the grid (the Slurm array tasks use it).
//! Sweeps into one folder share it: each run is claimed by the sweep that runs it and skipped
//! by the others (`claim`).
//!
//! Here: the flags and `main`. Where each run stands in the folder, and running one run, is
//! `folder`; `--list` and `--dry-run` are `dry_run`; the workers that share the queue are
//! `workers`.

mod dry_run;
mod folder;
mod workers;

pub use crate::args::GridArgs;
use crate::run::{parse_count, parse_count_u64, parse_number};
use clap::builder::TypedValueParser;
use clap::Args;
use folder::{state, State};
use gauss_newton::sweep::{blocks, expand, shard_runs, Planned, Preset, Request, Shard};
use std::io::IsTerminal;
use std::path::PathBuf;
use workers::Sweep;

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

pub fn main(args: SweepArgs) -> Result<(), String> {
    if args.checkpoint_every == 0 {
        return Err("--checkpoint-every: must be a whole number >= 1, got 0".into());
    }
    let all = args.plan()?;
    let total_grid = all.len();
    let runs = shard_runs(all, args.shard);
    let dir = args.out.clone();
    if args.dry_run {
        print!("{}", dry_run::text(&runs, &dir, total_grid, args.shard)?);
        return Ok(());
    }
    if args.list {
        for p in &runs {
            println!("{}\t{}", p.name, dry_run::state_text(&dir, p)?.0);
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
    Sweep::new(
        &dir,
        args.checkpoint_every,
        threads,
        tty,
        runs.len(),
        done,
        todo,
    )
    .run(jobs)
}
