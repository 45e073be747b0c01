//! `gn`: the native command line over the `gauss_newton` library — single runs with
//! checkpoints (`gn run`) and the speed benchmark (`gn bench`). All numerics and validation
//! live in the library; this binary parses flags, drives the trainer, measures time and
//! writes files.

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod claim;
#[cfg(not(target_arch = "wasm32"))]
mod files;
#[cfg(not(target_arch = "wasm32"))]
mod plot;
#[cfg(not(target_arch = "wasm32"))]
mod report;
#[cfg(not(target_arch = "wasm32"))]
mod run;
#[cfg(not(target_arch = "wasm32"))]
mod slurm;
#[cfg(not(target_arch = "wasm32"))]
mod sweep;

#[cfg(not(target_arch = "wasm32"))]
use clap::{Parser, Subcommand};

/// Gauss-Newton vs gradient descent on over-parameterized two-layer networks
/// (Arbel, Menegaux, Wolinski, NeurIPS 2023).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(name = "gn", version, allow_negative_numbers = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Subcommand)]
enum Command {
    /// Train one network with GN or GD, printing progress and a summary.
    Run(run::RunArgs),
    /// Time GN and GD iterations and the Gram matrix at the paper's sizes.
    Bench(bench::BenchArgs),
    /// Run a grid of runs into a folder (resumable, shardable, presets paper/hidden/quick).
    Sweep(sweep::SweepArgs),
    /// Draw the paper's figures (SVG and PNG) from a sweep's results.
    Plot(plot::PlotArgs),
    /// Markdown table of a sweep's runs and a check of the paper's claims on them.
    Report(report::ReportArgs),
    /// Write (and with --submit, submit) a Slurm job array running a sweep in shards.
    Slurm(slurm::SlurmArgs),
}

/// Keeps freed large matrices in the heap instead of returning them to the OS: each step
/// allocates N×M temporaries, and fresh pages cost more than the arithmetic on them
/// (measured: copying a 20 MB matrix took 20 ms with glibc's defaults, 4 ms with these).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only changes glibc's allocation thresholds; called before any threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        // One arena for all threads: the run computes on a pool thread ([`on_pool`]), whose
        // own arena would keep a second copy of what it frees (measured at N = 2000:
        // 423 MB peak with per-thread arenas, 385 MB with one).
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
#[cfg(all(
    not(target_arch = "wasm32"),
    not(all(target_os = "linux", target_env = "gnu"))
))]
fn tune_allocator() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    tune_allocator();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                e.exit();
            }
            // One line: clap's first line names the flag and the problem.
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            std::process::exit(2);
        }
    };
    let outcome = match cli.command {
        Command::Run(args) => on_pool(|| run::main(args)),
        Command::Bench(args) => on_pool(|| bench::main(args)),
        Command::Sweep(args) => sweep::main(args),
        Command::Plot(args) => plot::main(args),
        Command::Report(args) => report::main(args),
        Command::Slurm(args) => slurm::main(args),
    };
    if let Err(msg) = outcome {
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}

/// Runs `f` on one thread of rayon's global pool (which faer's kernels and the passes over
/// hidden units share) instead of beside it. From outside, the caller computes alone (the
/// Lanczos steps of GN's solve) while the pool's threads spin on the same two cores before
/// they sleep, and a parallel pass started then may find one of them late. Measured at
/// N = 500, M = 5000 (GN, 2 threads): Jᵀz took 3.1 ms, or one step in three 6.3 ms (its
/// chunks split 30/10); on the pool, 3.2–3.5 ms every step. The whole command runs there,
/// not each step, so that its large matrices come from one thread's malloc arena (per step,
/// the peak memory at N = 2000 rose from 376 to 605 MB).
#[cfg(not(target_arch = "wasm32"))]
fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// The library is the product on wasm32; this binary has nothing to do there.
#[cfg(target_arch = "wasm32")]
fn main() {}
