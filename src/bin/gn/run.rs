//! `gn run`: one training run from flags or from a checkpoint, with a progress bar, periodic
//! checkpoints, and the records written as CSV or JSON. [`execute`] is the loop itself, reused
//! by the sweep.

pub use crate::args::ConfigArgs;
use crate::files::{read, write_atomic};
use clap::Args;
pub use gauss_newton::config::flag;
use gauss_newton::config::value_text;
use gauss_newton::{Checkpoint, Config, Error, FieldError, Record, RunResult, Trainer, FIELDS};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `gn run` flags.
#[derive(Args, Clone, Debug, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Write the records to FILE: CSV or JSON (with config and summary) by extension.
    /// Without it the records go to stdout as CSV.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a checkpoint to FILE at the end (and every --checkpoint-every steps)
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Also checkpoint every K steps (needs --checkpoint)
    #[arg(long, value_name = "K", value_parser = parse_count_u64, allow_negative_numbers = true)]
    pub checkpoint_every: Option<u64>,
    /// Continue the run saved in FILE (its data and weights are used as they are)
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// No progress bar and no summary
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn parse_number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("must be a number, got {s:?}"))
}
pub fn parse_count(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| format!("must be a whole number >= 0, got {s:?}"))
}
pub fn parse_count_u64(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("must be a whole number >= 0, got {s:?}"))
}

/// A library error as one line naming the flag (or the checkpoint field) and what is allowed.
pub fn describe(err: &Error, checkpoint: Option<&Path>) -> String {
    let name = |p: &FieldError| match checkpoint {
        Some(path) => format!("checkpoint {}: {}", path.display(), p.field),
        None => flag(&p.field),
    };
    match err {
        Error::Invalid(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", name(p), p.message))
            .collect::<Vec<_>>()
            .join("; "),
        Error::Parse(msg) => match checkpoint {
            Some(path) => format!("checkpoint {}: {msg}", path.display()),
            None => msg.clone(),
        },
    }
}

impl ConfigArgs {
    /// Sets the fields given on the command line.
    pub fn apply(&self, c: &mut Config) -> Result<(), String> {
        self.given
            .apply(c)
            .map_err(|e| describe(&Error::Invalid(vec![e]), None))
    }

    /// Flags of fields a checkpoint fixes (the data and the initialisation): they may be
    /// repeated when resuming, but not changed.
    fn check_against(&self, ck: &Config) -> Result<(), String> {
        for f in FIELDS.iter().filter(|f| f.fixed) {
            let Some(v) = self.given.get(f.name) else {
                continue;
            };
            let given = value_text(f.name, v).unwrap_or_default();
            let stored = ck.text(f.name).unwrap_or_default();
            if given != stored {
                return Err(format!(
                    "{}: cannot be changed when resuming (the checkpoint has {stored}, got {given})",
                    f.flag()
                ));
            }
        }
        Ok(())
    }
}

/// Loads a checkpoint file, with errors naming the file and the field.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, String> {
    let text = read(path, "checkpoint")?;
    Checkpoint::from_json(&text).map_err(|e| describe(&e, Some(path)))
}

/// Why [`build_trainer`] failed: bad input (exit 1) or a run too large for this machine (exit 2).
#[derive(Debug)]
pub enum BuildError {
    Input(String),
    TooLarge(String),
}

impl From<String> for BuildError {
    fn from(s: String) -> Self {
        BuildError::Input(s)
    }
}

/// The trainer `args` ask for: fresh from the flags, or resumed from `--resume`. A run whose
/// estimated memory exceeds what is available is refused before anything large is allocated.
pub fn build_trainer(config: &ConfigArgs, resume: Option<&Path>) -> Result<Trainer, BuildError> {
    match resume {
        Some(path) => {
            let mut ck = load_checkpoint(path)?;
            let stored = ck.resolved_config();
            config.check_against(&stored).map_err(BuildError::Input)?;
            config.apply(&mut ck.config)?;
            ck.config = {
                let mut c = ck.config.clone();
                c.n = stored.n;
                c.m = stored.m;
                c.d = stored.d;
                c.m_teacher = stored.m_teacher;
                c.n_test = stored.n_test;
                c
            };
            check_memory(&ck.config).map_err(BuildError::TooLarge)?;
            Ok(Trainer::from_checkpoint(&ck).map_err(|e| describe(&e, None))?)
        }
        None => {
            let mut c = Config::default();
            config.apply(&mut c)?;
            c.validate()
                .map_err(|e| describe(&Error::Invalid(e), None))?;
            check_memory(&c).map_err(BuildError::TooLarge)?;
            Ok(Trainer::new(c).map_err(|e| describe(&e, None))?)
        }
    }
}

/// The memory this machine has free for a run: `MemAvailable` of /proc/meminfo (Linux), or
/// `GN_MEM_LIMIT` (bytes) when set, which tests and shared machines use to lower it.
pub fn available_memory() -> Option<f64> {
    if let Some(v) = std::env::var("GN_MEM_LIMIT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(v);
    }
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    gauss_newton::config::parse_meminfo_available(&text)
}

fn gib(bytes: f64) -> String {
    let g = bytes / (1u64 << 30) as f64;
    if g >= 1.0 {
        format!("{g:.1} GiB")
    } else {
        format!("{:.1} MiB", bytes / (1u64 << 20) as f64)
    }
}

/// Refuses, before allocating, a run whose estimated peak memory
/// ([`Config::estimated_bytes`]) exceeds the memory available.
pub fn check_memory(c: &Config) -> Result<(), String> {
    let need = c.estimated_bytes();
    match available_memory() {
        Some(limit) if need > limit => Err(format!(
            "--n {} --m {}: needs about {} (estimate) but {} is available; use a smaller N, M or --n-test",
            c.n,
            c.m,
            gib(need),
            gib(limit)
        )),
        _ => Ok(()),
    }
}

/// Where and how [`execute`] saves its progress.
#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub checkpoint: Option<PathBuf>,
    pub checkpoint_every: Option<u64>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Runs `trainer` to the end, checkpointing as asked, and returns the result with each
/// record's `elapsed_s` and the summary's `wall_s` measured here.
pub fn execute(trainer: &mut Trainer, opts: &ExecOptions) -> Result<RunResult, String> {
    let path = opts.checkpoint.clone();
    execute_with(
        trainer,
        opts,
        &mut |t: &Trainer, _: &[Record], _: f64| match &path {
            Some(p) => write_atomic(p, &t.checkpoint().to_json()),
            None => Ok(()),
        },
    )
}

/// Saves a checkpoint: the trainer, the records so far, and the wall time in seconds.
pub type SaveHook<'a> = dyn FnMut(&Trainer, &[Record], f64) -> Result<(), String> + 'a;

/// [`execute`] with the saving left to `save(trainer, records so far, seconds so far)`, called
/// wherever `execute` writes `opts.checkpoint` (every `checkpoint_every` steps and at the end,
/// only when `opts.checkpoint` is set). The sweep uses it to keep the records in its checkpoint.
pub fn execute_with(
    trainer: &mut Trainer,
    opts: &ExecOptions,
    save: &mut SaveHook<'_>,
) -> Result<RunResult, String> {
    let start = Instant::now();
    let max_iter = trainer.config().max_iter;
    let bar = if opts.progress {
        let bar =
            ProgressBar::with_draw_target(Some(max_iter), ProgressDrawTarget::stderr_with_hz(5));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} iter {pos}/{len} {per_sec} ETA {eta} [{elapsed_precise}] loss {msg}",
            )
            .expect("valid template"),
        );
        bar.set_position(trainer.iteration());
        bar.reset_eta();
        bar
    } else {
        ProgressBar::hidden()
    };
    let every = opts.checkpoint_every.filter(|_| opts.checkpoint.is_some());
    let mut records = Vec::new();
    while !trainer.is_finished() {
        let chunk = match every {
            Some(k) => k - trainer.iteration() % k,
            None => 1,
        }
        .min(if opts.progress { 1 } else { u64::MAX });
        let mut new = trainer.advance(chunk);
        let t = start.elapsed().as_secs_f64();
        for r in &mut new {
            r.elapsed_s = Some(t);
        }
        if let Some(r) = new.last() {
            bar.set_message(format!("{:.3e}", r.train_loss));
        }
        records.extend(new);
        bar.set_position(trainer.iteration());
        if let (Some(k), Some(_)) = (every, &opts.checkpoint) {
            if trainer.iteration().is_multiple_of(k) && !trainer.is_finished() {
                save(trainer, &records, start.elapsed().as_secs_f64())?;
            }
        }
    }
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    if opts.checkpoint.is_some() {
        save(trainer, &records, wall)?;
    }
    Ok(trainer.result(records, Some(wall)))
}

/// The output format chosen by `--out`'s extension.
fn out_format(path: &Path) -> Result<&'static str, String> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok("csv"),
        Some("json") => Ok("json"),
        _ => Err(format!(
            "--out: must end in .csv or .json, got {}",
            path.display()
        )),
    }
}

pub fn main(args: RunArgs) -> Result<(), String> {
    let format = args.out.as_deref().map(out_format).transpose()?;
    if args.checkpoint_every.is_some() && args.checkpoint.is_none() {
        return Err("--checkpoint-every: needs --checkpoint FILE".into());
    }
    if args.checkpoint_every == Some(0) {
        return Err("--checkpoint-every: must be a whole number >= 1, got 0".into());
    }
    let mut trainer = match build_trainer(&args.config, args.resume.as_deref()) {
        Ok(t) => t,
        Err(BuildError::Input(msg)) => return Err(msg),
        Err(BuildError::TooLarge(msg)) => {
            eprintln!("error: {msg}");
            std::process::exit(2);
        }
    };
    let opts = ExecOptions {
        checkpoint: args.checkpoint.clone(),
        checkpoint_every: args.checkpoint_every,
        progress: !args.quiet,
    };
    let result = execute(&mut trainer, &opts)?;
    match (&args.out, format) {
        (Some(path), Some("csv")) => write_atomic(path, &result.records_csv())?,
        (Some(path), _) => write_atomic(path, &result.to_json())?,
        (None, _) => print!("{}", result.records_csv()),
    }
    if !args.quiet {
        eprintln!("{}", summary_text(&result));
    }
    Ok(())
}

fn num(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4e}")).unwrap_or_else(|| "-".into())
}

/// The short end-of-run summary printed on stderr.
pub fn summary_text(r: &RunResult) -> String {
    let s = &r.summary;
    let c = &r.config;
    format!(
        "{} τ₀={} N={} M={} λ={}: {} after {} iterations (flow time t = {}, step limit {}) in {:.2} s\n  train loss {}  test loss {}\n  random-features test loss {}  refit test loss {}",
        c.method.name().to_uppercase(),
        c.tau0,
        c.n,
        c.m,
        c.lr,
        s.status.name(),
        s.iterations,
        r.flow_time(),
        c.max_iter,
        s.wall_s.unwrap_or(0.0),
        num(s.final_train_loss),
        num(s.final_test_loss),
        num(s.rf_test_loss),
        num(s.refit_test_loss),
    ) + &match s.gn_fallbacks {
        0 => String::new(),
        k => format!("\n  GN steps that fell back to the eigendecomposition: {k}"),
    }
}
