//! `gn run`: one training run from flags or from a checkpoint, with a progress bar, periodic
//! checkpoints, and the records written as CSV or JSON. [`execute`] is the loop itself, reused
//! by the sweep.

use crate::files::{read, write_atomic};
use clap::Args;
use gauss_newton::{
    Activation, Checkpoint, Config, Error, FieldError, Method, Record, RunResult, Trainer,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The flags that set a [`Config`]. Each is optional: unset flags keep the paper's defaults,
/// or the checkpoint's values when resuming.
#[derive(Args, Clone, Debug, Default)]
pub struct ConfigArgs {
    /// Update rule: gn (damped Gauss-Newton) or gd (gradient descent) [default: gn]
    #[arg(long, value_parser = parse_method)]
    pub method: Option<Method>,
    /// Initial weight scale τ₀ (U, b ~ N(0, τ₀²)); the paper's grid is 0.01, 0.1, 0.5, 1, 5,
    /// 10, 100 [default: 0.1, the feature-learning regime]
    #[arg(long, value_parser = parse_number, allow_hyphen_values = true)]
    pub tau0: Option<f64>,
    /// Training inputs N [default: 500]
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    pub n: Option<usize>,
    /// Hidden units M [default: 5000]
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    pub m: Option<usize>,
    /// Input dimension d [default: 10]
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    pub d: Option<usize>,
    /// Teacher hidden units M* [default: 5]
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    pub m_teacher: Option<usize>,
    /// Test inputs [default: 10000]
    #[arg(long, value_parser = parse_count, allow_negative_numbers = true)]
    pub n_test: Option<usize>,
    /// Step size λ [default: 10]
    #[arg(long, value_parser = parse_number, allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// GN's smallest damping ε₀ [default: 1e-7]
    #[arg(long, value_parser = parse_number, allow_hyphen_values = true)]
    pub eps0: Option<f64>,
    /// Stop once L_k ≤ tol · L₁ [default: 1e-8]
    #[arg(long, value_parser = parse_number, allow_hyphen_values = true)]
    pub tol: Option<f64>,
    /// Nonlinearity: silu, relu or tanh [default: silu]
    #[arg(long, value_parser = parse_activation)]
    pub activation: Option<Activation>,
    /// Seed of the data, the teacher and the initialisation [default: 1]
    #[arg(long, value_parser = parse_count_u64, allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// Steps in total, across resumes [default: 2000000]
    #[arg(long, value_parser = parse_count_u64, allow_negative_numbers = true)]
    pub max_iter: Option<u64>,
    /// Record every K iterations (and the first and last) [default: 100]
    #[arg(long, value_parser = parse_count_u64, allow_negative_numbers = true)]
    pub eval_every: Option<u64>,
    /// Also record the last-layer refit test loss at each record (hidden-learning probe)
    #[arg(long)]
    pub refit: bool,
    /// Stop at flow time T = λ·k: sets the step limit to ⌈T/λ⌉ (instead of --max-iter)
    #[arg(long, value_name = "T", value_parser = parse_number, allow_hyphen_values = true, conflicts_with = "max_iter")]
    pub max_flow_time: Option<f64>,
}

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

pub fn parse_method(s: &str) -> Result<Method, String> {
    Method::parse(s).map_err(|e| e.message)
}
pub fn parse_activation(s: &str) -> Result<Activation, String> {
    Activation::parse(s).map_err(|e| e.message)
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

/// The command-line flag for a config field: `max_iter` → `--max-iter`.
pub fn flag(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
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
    pub fn apply(&self, c: &mut Config) {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { c.$f = v; } )* };
        }
        set!(
            method, tau0, n, m, d, m_teacher, n_test, lr, eps0, tol, activation, seed, max_iter,
            eval_every
        );
        c.refit |= self.refit;
        if self.max_flow_time.is_some() {
            c.max_flow_time = self.max_flow_time;
        } else if self.max_iter.is_some() {
            c.max_flow_time = None; // an explicit step limit replaces a stored flow-time limit
        }
        c.apply_max_flow_time();
    }

    /// Flags that describe the data or the initialisation, which a checkpoint fixes: they may
    /// be repeated when resuming, but not changed.
    fn check_against(&self, ck: &Config) -> Result<(), String> {
        let fixed: [(&str, Option<String>, String); 8] = [
            (
                "tau0",
                self.tau0.map(|v| v.to_string()),
                ck.tau0.to_string(),
            ),
            ("n", self.n.map(|v| v.to_string()), ck.n.to_string()),
            ("m", self.m.map(|v| v.to_string()), ck.m.to_string()),
            ("d", self.d.map(|v| v.to_string()), ck.d.to_string()),
            (
                "m_teacher",
                self.m_teacher.map(|v| v.to_string()),
                ck.m_teacher.to_string(),
            ),
            (
                "n_test",
                self.n_test.map(|v| v.to_string()),
                ck.n_test.to_string(),
            ),
            (
                "seed",
                self.seed.map(|v| v.to_string()),
                ck.seed.to_string(),
            ),
            (
                "activation",
                self.activation.map(|a| a.name().to_string()),
                ck.activation.name().to_string(),
            ),
        ];
        for (field, given, stored) in fixed {
            if let Some(g) = given {
                if g != stored {
                    return Err(format!(
                        "{}: cannot be changed when resuming (the checkpoint has {stored}, got {g})",
                        flag(field)
                    ));
                }
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
            config.apply(&mut ck.config);
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
            config.apply(&mut c);
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
