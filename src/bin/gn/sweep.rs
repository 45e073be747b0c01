//! `gn sweep`: a grid of runs into one folder, one `gn run` JSON per run, named from its
//! configuration. Finished runs are skipped, unfinished ones resume from their checkpoint
//! (`NAME.ckpt` beside `NAME.json`, which also keeps the records made so far), and
//! `--shard I/K` picks a fixed, disjoint share of the grid (the Slurm array tasks use it).

use crate::files::{read, write_atomic};
use crate::run::{self, ConfigArgs, ExecOptions};
use clap::{Args, ValueEnum};
use gauss_newton::config::{PAPER_N, PAPER_TAU0};
use gauss_newton::{flow, Activation, Checkpoint, Config, Method, Record, RunResult, Trainer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use crate::run::{parse_activation, parse_count, parse_count_u64, parse_method, parse_number};

/// The flags that take comma lists: the grid's axes. Each replaces the preset's values.
#[derive(Args, Clone, Debug, Default)]
pub struct GridArgs {
    /// Initial weight scales τ₀, comma-separated (e.g. 0.01,0.1,1)
    #[arg(long, value_delimiter = ',', value_parser = parse_number)]
    pub tau0: Vec<f64>,
    /// Training set sizes N, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    pub n: Vec<usize>,
    /// Update rules, comma-separated: gn, gd
    #[arg(long, value_delimiter = ',', value_parser = parse_method)]
    pub method: Vec<Method>,
    /// Seeds, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = parse_count_u64)]
    pub seed: Vec<u64>,
    /// Step sizes λ, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = parse_number)]
    pub lr: Vec<f64>,
    /// Nonlinearities, comma-separated: silu, relu, tanh
    #[arg(long, value_delimiter = ',', value_parser = parse_activation)]
    pub activation: Vec<Activation>,
    /// Hidden units M, comma-separated
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    pub m: Vec<usize>,
    /// Parts of the preset, comma-separated (paper-flow: study, horizon, gn, hidden)
    #[arg(long, value_delimiter = ',', value_parser = ["study", "horizon", "gn", "hidden"])]
    pub part: Vec<String>,
}

/// The `gn run` options that stay one value across the grid (the rest of [`ConfigArgs`]).
#[derive(Args, Clone, Debug, Default)]
pub struct ScalarArgs {
    /// Input dimension d [default: 10]
    #[arg(long, value_parser = parse_count)]
    pub d: Option<usize>,
    /// Teacher hidden units M* [default: 5]
    #[arg(long, value_parser = parse_count)]
    pub m_teacher: Option<usize>,
    /// Test inputs [default: 10000, or the preset's]
    #[arg(long, value_parser = parse_count)]
    pub n_test: Option<usize>,
    /// GN's smallest damping ε₀ [default: 1e-7]
    #[arg(long, value_parser = parse_number)]
    pub eps0: Option<f64>,
    /// Stop once L_k ≤ tol · L₁ [default: 1e-8]
    #[arg(long, value_parser = parse_number)]
    pub tol: Option<f64>,
    /// Steps in total per run [default: 2000000, or the preset's]
    #[arg(long, value_parser = parse_count_u64)]
    pub max_iter: Option<u64>,
    /// Record every K iterations [default: 100, or the preset's]
    #[arg(long, value_parser = parse_count_u64)]
    pub eval_every: Option<u64>,
    /// Also record the last-layer refit test loss at each record (hidden-learning probe)
    #[arg(long)]
    pub refit: bool,
    /// Stop each run at flow time T = λ·k (step limit ⌈T/λ⌉ per λ; names get `-tT`)
    #[arg(long, value_name = "T", value_parser = parse_number)]
    pub max_flow_time: Option<f64>,
    /// Record every DT of flow time: --eval-every round(DT/λ) per λ (so runs at different λ
    /// record at common flow times when DT/λ is whole)
    #[arg(long, value_name = "DT", value_parser = parse_number, conflicts_with = "eval_every")]
    pub record_every_t: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// The paper's grid: 7 τ₀ × N ∈ {100, 500, 1000, 1500, 2000} × GN, GD at λ = 10 × 5 seeds, M = 5000
    Paper,
    /// Hidden learning: GN at τ₀ ∈ {0.01, 0.1} over λ ∈ {0.1, 1, 10} with --refit, plus GD, N = 500
    Hidden,
    /// A small version of both (M = 500, N ∈ {100, 200}, 2 seeds): about 10 minutes on 2 cores
    Quick,
    /// The paper's claims in flow time, M = 5000: GD's step-equivalence study, GD to t = 2·10⁷
    /// at the flow-equivalent step λ* (lowered where GD's stability bound forbids it), GN at
    /// λ = 10 to convergence, and the hidden-learning runs (see `gn sweep --preset paper-flow --dry-run`)
    PaperFlow,
}

/// `I/K`: the I-th of K shares of the grid, I in 1..=K.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("must be I/K with 1 <= I <= K, got {s:?}");
        let (i, k) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = k.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `gn sweep` flags.
#[derive(Args, Clone, Debug)]
pub struct SweepArgs {
    #[command(flatten)]
    pub grid: GridArgs,
    #[command(flatten)]
    pub scalars: ScalarArgs,
    /// Start from a preset grid; the flags above replace its values
    #[arg(long, value_enum)]
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

/// One block of a grid: the axes and the scalar options that go with them.
#[derive(Clone, Debug)]
pub struct Block {
    pub tau0: Vec<f64>,
    pub n: Vec<usize>,
    pub method: Vec<Method>,
    pub seed: Vec<u64>,
    pub lr: Vec<f64>,
    pub activation: Vec<Activation>,
    pub m: Vec<usize>,
    pub scalars: ScalarArgs,
    /// Record every this much flow time: eval_every = round(dt/λ) (at least 1) per λ.
    pub record_dt: Option<f64>,
    /// The part of its preset this block belongs to (`--part` selects parts).
    pub part: &'static str,
    /// GD runs take their λ only if it is at most half of GD's stability bound 2N/λ_max(A)
    /// at initialisation, else half the bound (rounded down to 2 digits): see [`flow::choose_gd_step`].
    pub stable_gd: bool,
}

impl Default for Block {
    fn default() -> Self {
        let c = Config::default();
        Block {
            tau0: vec![c.tau0],
            n: vec![c.n],
            method: vec![c.method],
            seed: vec![c.seed],
            lr: vec![c.lr],
            activation: vec![c.activation],
            m: vec![c.m],
            scalars: ScalarArgs::default(),
            record_dt: None,
            stable_gd: false,
            part: "",
        }
    }
}

fn sc(max_iter: Option<u64>, eval_every: u64, refit: bool, n_test: Option<usize>) -> ScalarArgs {
    ScalarArgs {
        max_iter,
        eval_every: Some(eval_every),
        refit,
        n_test,
        ..ScalarArgs::default()
    }
}

/// The blocks of a preset (later blocks may repeat a run of an earlier one: the first wins).
pub fn preset_blocks(p: Preset) -> Vec<Block> {
    let all_tau = PAPER_TAU0.to_vec();
    match p {
        Preset::Paper => {
            let base = Block {
                tau0: all_tau,
                n: PAPER_N.to_vec(),
                seed: (1..=5).collect(),
                lr: vec![10.0],
                m: vec![5000],
                ..Block::default()
            };
            vec![
                Block {
                    method: vec![Method::Gn],
                    scalars: sc(None, 10, false, None),
                    ..base.clone()
                },
                Block {
                    method: vec![Method::Gd],
                    scalars: sc(None, 100, false, None),
                    ..base
                },
            ]
        }
        Preset::Hidden => {
            let base = Block {
                tau0: vec![0.01, 0.1],
                n: vec![500],
                seed: (1..=5).collect(),
                m: vec![5000],
                ..Block::default()
            };
            let gn = |lr: f64, every: u64| Block {
                method: vec![Method::Gn],
                lr: vec![lr],
                scalars: sc(None, every, true, None),
                ..base.clone()
            };
            vec![
                gn(10.0, 10),
                gn(1.0, 100),
                gn(0.1, 1000),
                Block {
                    method: vec![Method::Gd],
                    lr: vec![10.0],
                    scalars: sc(None, 100, true, None),
                    ..base.clone()
                },
            ]
        }
        Preset::PaperFlow => paper_flow_blocks(),
        Preset::Quick => {
            let base = Block {
                tau0: all_tau,
                n: vec![100, 200],
                seed: vec![1, 2],
                lr: vec![10.0],
                m: vec![500],
                ..Block::default()
            };
            let nt = Some(2000);
            let hidden = |lr: f64, every: u64| Block {
                tau0: vec![0.01, 0.1],
                n: vec![100],
                method: vec![Method::Gn],
                lr: vec![lr],
                scalars: sc(Some(20_000), every, true, nt),
                ..base.clone()
            };
            vec![
                Block {
                    method: vec![Method::Gn],
                    scalars: sc(Some(20_000), 5, true, nt),
                    ..base.clone()
                },
                Block {
                    method: vec![Method::Gd],
                    scalars: sc(Some(10_000), 100, true, nt),
                    ..base.clone()
                },
                hidden(1.0, 20),
                hidden(0.1, 200),
            ]
        }
    }
}

/// GD's flow-equivalent step λ* at M = 5000: the largest step of the step-equivalence study
/// whose train and test losses stay within 1 % of λ = 10's at every common flow time in
/// every cell measured. Measured (`results/paper/flow/report.md`, `gn report
/// results/paper/flow/runs`; 36 runs, seed 1): at τ₀ = 1 steps up to 300 stay within 0.63 %
/// (N = 100) and 0.52 % (N = 500), but at τ₀ ∈ {0.01, 0.1} already λ = 30 strays by 1.1–2.0 %
/// while the loss falls fast (t ≈ 15 000–30 000), though it ends within 0.13 % at t = 2·10⁵.
/// So no larger step passes in every cell: λ* = 10, the paper's step.
pub const LAMBDA_STAR: f64 = 10.0;
/// The steps of GD's step-equivalence study.
pub const STUDY_LR: [f64; 6] = [10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0];
/// The study's flow-time horizon and record spacing (3000 is a whole number of steps for
/// every λ of the study, so all of them record at the same flow times).
pub const STUDY_T: f64 = 2e5;
pub const STUDY_DT: f64 = 3000.0;
/// The paper's GD horizon: 2·10⁶ steps at λ = 10.
pub const HORIZON_T: f64 = 2e7;
/// Hidden learning: GN runs stop at t = 5000 (GN's flow takes the train loss to 10⁻⁸·L₁ by
/// t = N·ln 10⁴ ≈ 4600 at N = 500, so the refit curve has levelled off with the loss): 50 000
/// steps at λ = 0.1, 5000 at λ = 1, 500 at λ = 10.
pub const HIDDEN_T: f64 = 5000.0;

/// The `paper-flow` preset's blocks (README: "Reproducing the paper in flow time").
fn paper_flow_blocks() -> Vec<Block> {
    let tau_all = PAPER_TAU0.to_vec();
    let base = Block {
        m: vec![5000],
        ..Block::default()
    };
    let flow = |t: f64, dt: f64, refit: bool| Block {
        scalars: ScalarArgs {
            max_flow_time: Some(t),
            refit,
            ..ScalarArgs::default()
        },
        record_dt: Some(dt),
        ..base.clone()
    };
    let mut out = Vec::new();
    // 1. Step equivalence: GD at each λ to t = 2·10⁵, records every t = 3000.
    for lr in STUDY_LR {
        out.push(Block {
            method: vec![Method::Gd],
            tau0: vec![0.01, 0.1, 1.0],
            n: vec![100, 500],
            seed: vec![1],
            lr: vec![lr],
            part: "study",
            ..flow(STUDY_T, STUDY_DT, false)
        });
    }
    // 2. GD to the paper's horizon at λ* (lowered where unstable), records every t = 2·10⁴.
    let gd = |n: usize, seeds: Vec<u64>| Block {
        method: vec![Method::Gd],
        tau0: tau_all.clone(),
        n: vec![n],
        seed: seeds,
        lr: vec![LAMBDA_STAR],
        stable_gd: true,
        part: "horizon",
        ..flow(HORIZON_T, 2e4, false)
    };
    out.push(gd(100, (1..=5).collect()));
    out.push(gd(500, (1..=3).collect()));
    out.push(gd(1000, vec![1]));
    // 3. GN at λ = 10 to convergence (tol 1e-8; the paper's 2·10⁶-step cap), records every 10 steps.
    let gn = |n: usize, seeds: Vec<u64>| Block {
        method: vec![Method::Gn],
        tau0: tau_all.clone(),
        n: vec![n],
        seed: seeds,
        lr: vec![10.0],
        scalars: ScalarArgs {
            eval_every: Some(10),
            ..ScalarArgs::default()
        },
        part: "gn",
        ..base.clone()
    };
    out.push(gn(100, (1..=5).collect()));
    out.push(gn(500, (1..=3).collect()));
    out.push(gn(1000, vec![1]));
    out.push(gn(1500, vec![1]));
    out.push(gn(2000, vec![1]));
    // 4. Hidden learning: GN at λ ∈ {0.1, 1, 10} with the refit probe to t = 5000, records
    //    every t = 50; GD at λ* with the probe to t = 2·10⁵ for reference.
    for lr in [0.1, 1.0, 10.0] {
        out.push(Block {
            method: vec![Method::Gn],
            tau0: vec![0.01, 0.1],
            n: vec![500],
            seed: (1..=3).collect(),
            lr: vec![lr],
            part: "hidden",
            ..flow(HIDDEN_T, 50.0, true)
        });
    }
    out.push(Block {
        method: vec![Method::Gd],
        tau0: vec![0.01, 0.1],
        n: vec![500],
        seed: (1..=3).collect(),
        lr: vec![LAMBDA_STAR],
        stable_gd: true,
        part: "hidden",
        ..flow(STUDY_T, STUDY_DT, true)
    });
    out
}

/// Narrows (or replaces) one axis of every block by the values given on the command line:
/// if some block has some of the values, each block keeps those it has (blocks left with
/// none are dropped), so `--preset paper --method gd` is the preset's GD block; values no
/// block has replace the axis in every block (`--preset quick --n 150`).
fn narrow<T: PartialEq + Clone>(
    blocks: Vec<Block>,
    preset: bool,
    given: &[T],
    axis: impl Fn(&mut Block) -> &mut Vec<T>,
) -> Vec<Block> {
    if given.is_empty() {
        return blocks;
    }
    let mut blocks = blocks;
    let any = preset
        && blocks
            .iter_mut()
            .any(|b| axis(b).iter().any(|v| given.contains(v)));
    if !any {
        for b in &mut blocks {
            *axis(b) = given.to_vec();
        }
        return blocks;
    }
    blocks
        .into_iter()
        .filter_map(|mut b| {
            let kept: Vec<T> = given
                .iter()
                .filter(|v| axis(&mut b).contains(v))
                .cloned()
                .collect();
            if kept.is_empty() {
                None
            } else {
                *axis(&mut b) = kept;
                Some(b)
            }
        })
        .collect()
}

/// The blocks the flags ask for: the preset's (or one default block), narrowed or replaced
/// by the axes given on the command line (see [`narrow`]); every scalar option given
/// replaces the preset's.
pub fn blocks(args: &SweepArgs) -> Vec<Block> {
    let blocks = match args.preset {
        Some(p) => preset_blocks(p),
        None => vec![Block::default()],
    };
    let g = &args.grid;
    let s = &args.scalars;
    let pre = args.preset.is_some();
    let blocks: Vec<Block> = if g.part.is_empty() {
        blocks
    } else {
        blocks
            .into_iter()
            .filter(|b| g.part.iter().any(|p| p == b.part))
            .collect()
    };
    let blocks = narrow(blocks, pre, &g.tau0, |b| &mut b.tau0);
    let blocks = narrow(blocks, pre, &g.n, |b| &mut b.n);
    let blocks = narrow(blocks, pre, &g.method, |b| &mut b.method);
    let blocks = narrow(blocks, pre, &g.seed, |b| &mut b.seed);
    let blocks = narrow(blocks, pre, &g.lr, |b| &mut b.lr);
    let blocks = narrow(blocks, pre, &g.activation, |b| &mut b.activation);
    let mut blocks = narrow(blocks, pre, &g.m, |b| &mut b.m);
    for b in &mut blocks {
        macro_rules! scalar {
            ($($f:ident),*) => { $( if s.$f.is_some() { b.scalars.$f = s.$f; } )* };
        }
        scalar!(
            d,
            m_teacher,
            n_test,
            eps0,
            tol,
            max_iter,
            eval_every,
            max_flow_time
        );
        b.scalars.refit |= s.refit;
        if s.max_iter.is_some() && s.max_flow_time.is_none() {
            b.scalars.max_flow_time = None; // an explicit step limit replaces the preset's flow-time limit
        }
        if s.eval_every.is_some() {
            b.record_dt = None;
        }
        if s.record_every_t.is_some() {
            b.record_dt = s.record_every_t;
        }
    }
    blocks
}

/// A number as it appears in a file name: shortest form, `.` kept, no exponent surprises.
fn num_name(x: f64) -> String {
    format!("{x}")
}

/// The file stem of a run: every grid axis, plus `-refit` when the refit is recorded and
/// `-tT` when the run stops at flow time T.
pub fn run_name(c: &Config) -> String {
    format!(
        "{}-{}-tau0_{}-n{}-m{}-lr{}-seed{}{}{}",
        c.method.name(),
        c.activation.name(),
        num_name(c.tau0),
        c.n,
        c.m,
        num_name(c.lr),
        c.seed,
        if c.refit { "-refit" } else { "" },
        c.max_flow_time
            .map(|t| format!("-t{}", num_name(t)))
            .unwrap_or_default()
    )
}

/// One run of the grid.
#[derive(Clone, Debug)]
pub struct Planned {
    pub name: String,
    pub config: Config,
    /// For GD runs of a `stable_gd` block: the step asked for, the bound, and the choice.
    pub step: Option<flow::StepChoice>,
}

/// Every run of the blocks, in a fixed order, each name once (the first block wins).
pub fn expand(blocks: &[Block]) -> Result<Vec<Planned>, String> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for b in blocks {
        for &m in &b.m {
            for &n in &b.n {
                for &seed in &b.seed {
                    for &activation in &b.activation {
                        for &lr in &b.lr {
                            for &method in &b.method {
                                for &tau0 in &b.tau0 {
                                    let s = &b.scalars;
                                    let ca = ConfigArgs {
                                        method: Some(method),
                                        tau0: Some(tau0),
                                        n: Some(n),
                                        m: Some(m),
                                        d: s.d,
                                        m_teacher: s.m_teacher,
                                        n_test: s.n_test,
                                        lr: Some(lr),
                                        eps0: s.eps0,
                                        tol: s.tol,
                                        activation: Some(activation),
                                        seed: Some(seed),
                                        max_iter: s.max_iter,
                                        eval_every: s.eval_every,
                                        refit: s.refit,
                                        max_flow_time: s.max_flow_time,
                                    };
                                    let mut config = Config::default();
                                    ca.apply(&mut config);
                                    let mut step = None;
                                    if b.stable_gd
                                        && method == Method::Gd
                                        && config.validate().is_ok()
                                    {
                                        let choice = stable_step(&config)?;
                                        config.lr = choice.lr;
                                        step = Some(choice);
                                    }
                                    if let Some(dt) = b.record_dt {
                                        if !(dt.is_finite() && dt > 0.0) {
                                            return Err(format!("--record-every-t: must be a finite number > 0, got {dt}"));
                                        }
                                        if config.lr.is_finite() && config.lr > 0.0 {
                                            let k = (dt / config.lr).round();
                                            config.eval_every = (k as u64).max(1);
                                            // saturating: validation reports a huge value
                                        }
                                    }
                                    config.apply_max_flow_time();
                                    if let Err(e) = config.validate() {
                                        let msg = e
                                            .iter()
                                            .map(|p| {
                                                format!("{}: {}", run::flag(&p.field), p.message)
                                            })
                                            .collect::<Vec<_>>()
                                            .join("; ");
                                        return Err(msg);
                                    }
                                    let name = run_name(&config);
                                    if seen.insert(name.clone()) {
                                        out.push(Planned { name, config, step });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// GD's step for `config`'s cell (its λ is the step wanted), from λ_max(A) at initialisation.
fn stable_step(config: &Config) -> Result<flow::StepChoice, String> {
    let lmax = flow::init_lambda_max(config).ok_or_else(|| {
        format!(
            "τ₀ = {} N = {} seed {}: λ_max(A) at initialisation is not finite",
            config.tau0, config.n, config.seed
        )
    })?;
    Ok(flow::choose_gd_step(config.n, lmax, config.lr))
}

/// The runs of shard `I/K`: those at positions I-1, I-1+K, … of the grid's fixed order
/// (round robin, so each shard gets a mix of cheap and costly runs).
pub fn shard_runs(all: Vec<Planned>, shard: Option<Shard>) -> Vec<Planned> {
    match shard {
        None => all,
        Some(s) => all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % s.count == s.index - 1)
            .map(|(_, p)| p)
            .collect(),
    }
}

/// `--dry-run`: one line per run (name, method, λ and why, step limit, flow-time limit,
/// record spacing, state), then the count.
fn dry_run_text(
    runs: &[Planned],
    dir: &Path,
    total_grid: usize,
    shard: Option<Shard>,
) -> Result<String, String> {
    let mut out = String::new();
    out.push_str("name\tmethod\tlr\tmax_iter\tmax_flow_time\teval_every\tstate\tstep\n");
    let mut steps: u128 = 0;
    for p in runs {
        let c = &p.config;
        let st = if dir.exists() {
            state(dir, p)?
        } else {
            State::New
        };
        let st = match st {
            State::Done => "done".to_string(),
            State::Partial(k) => format!("partial ({k} steps)"),
            State::New => "new".to_string(),
        };
        let why = match p.step {
            Some(s) if s.lowered => format!(
                "lowered: λ* = {} > half of GD's bound 2N/λ_max(A) = {:.4e} (λ_max(A) at init = {:.4e})",
                s.wanted, s.bound, s.lambda_max
            ),
            Some(s) => format!("λ* (bound 2N/λ_max(A) = {:.4e}, λ_max(A) at init = {:.4e})", s.bound, s.lambda_max),
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
        "{} runs{shard_text}, at most {steps} steps in all\n",
        runs.len()
    ));
    Ok(out)
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

/// Reads a finished result, checking that it is the run asked for.
pub fn load_result(path: &Path) -> Result<RunResult, String> {
    let text = read(path, "result")?;
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
    let rp = result_path(dir, &p.name);
    if rp.exists() {
        let r = load_result(&rp)?;
        let diff = config_diff(&r.config, &p.config);
        if !diff.is_empty() {
            return Err(mismatch(&rp, &diff));
        }
        return Ok(State::Done);
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
        return Ok(State::Partial(s.checkpoint.iteration));
    }
    Ok(State::New)
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

pub fn main(args: SweepArgs) -> Result<(), String> {
    if args.checkpoint_every == 0 {
        return Err("--checkpoint-every: must be a whole number >= 1, got 0".into());
    }
    let all = expand(&blocks(&args))?;
    let total_grid = all.len();
    let runs = shard_runs(all, args.shard);
    let dir = args.out.clone();
    if args.dry_run {
        print!("{}", dry_run_text(&runs, &dir, total_grid, args.shard)?);
        return Ok(());
    }
    if args.list {
        for p in &runs {
            let st = if dir.exists() {
                state(&dir, p)?
            } else {
                State::New
            };
            let st = match st {
                State::Done => "done".to_string(),
                State::Partial(k) => format!("partial ({k} steps)"),
                State::New => "new".to_string(),
            };
            println!("{}\t{}", p.name, st);
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
    let total = runs.len() as u64;
    let tty = std::io::stderr().is_terminal() && !args.quiet;
    let bar = if tty {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(2));
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} runs {pos}/{len} [{elapsed_precise}] ETA {eta} {wide_msg}",
            )
            .expect("valid template"),
        );
        bar.set_position(done as u64);
        bar.reset_eta();
        bar.enable_steady_tick(std::time::Duration::from_millis(500));
        bar
    } else {
        ProgressBar::hidden()
    };
    struct Shared {
        queue: std::vec::IntoIter<Planned>,
        /// Runs under way: name, steps taken (at the last checkpoint), step limit.
        active: Vec<(String, u64, u64)>,
        done: usize,
        ran: usize,
        errors: Vec<String>,
    }
    let shared = Mutex::new(Shared {
        queue: todo.clone().into_iter(),
        active: Vec::new(),
        done,
        ran: 0,
        errors: Vec::new(),
    });
    let start = Instant::now();
    let to_run = todo.len();
    let log = |line: String| {
        if tty {
            bar.println(line);
        } else {
            eprintln!("{line}");
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a thread pool");
                loop {
                    let next = {
                        let mut s = lock(&shared);
                        let next = s.queue.next();
                        if let Some(p) = &next {
                            s.active.push((p.name.clone(), 0, p.config.max_iter));
                            bar.set_message(running(&s.active));
                        }
                        next
                    };
                    let Some(p) = next else { break };
                    let t0 = Instant::now();
                    let progress = |k: u64, max: u64| {
                        let mut s = lock(&shared);
                        if let Some(a) = s.active.iter_mut().find(|a| a.0 == p.name) {
                            a.1 = k;
                            a.2 = max;
                        }
                        bar.set_message(running(&s.active));
                    };
                    // A run that panics is reported as failed with the panic's message; the
                    // others go on (the lock below is never held while a run computes).
                    let outcome = pool
                        .install(|| {
                            std::panic::catch_unwind(AssertUnwindSafe(|| {
                                run_one(&dir, &p, args.checkpoint_every, &progress)
                            }))
                        })
                        .unwrap_or_else(|panic| {
                            Err(format!("panicked: {}", panic_message(&*panic)))
                        });
                    let secs = t0.elapsed().as_secs_f64();
                    let mut s = lock(&shared);
                    s.active.retain(|a| a.0 != p.name);
                    s.done += 1;
                    s.ran += 1;
                    let elapsed = start.elapsed().as_secs_f64();
                    let eta = elapsed / s.ran as f64 * (to_run - s.ran) as f64;
                    let line = match outcome {
                        Ok((r, resumed)) => format!(
                            "[{}/{}] {}: {} after {} iterations, test loss {} ({:.1} s{}) ETA {}",
                            s.done,
                            total,
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
                            format!("[{}/{}] {}: FAILED: {e}", s.done, total, p.name)
                        }
                    };
                    log(line);
                    bar.set_position(s.done as u64);
                    bar.set_message(running(&s.active));
                }
            });
        }
    });
    bar.finish_and_clear();
    let s = shared
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    eprintln!(
        "gn sweep: {} of {} runs done in {}{}",
        s.done - s.errors.len(),
        total,
        fmt_secs(start.elapsed().as_secs_f64()),
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
