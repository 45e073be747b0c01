//! `gn`: the native command line over the `gauss_newton` library — single runs with
//! checkpoints (`gn run`) and the speed benchmark (`gn bench`). All numerics and validation
//! live in the library; this binary parses flags, drives the trainer, measures time and
//! writes files.

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
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
        Command::Run(args) => run::main(args),
        Command::Bench(args) => bench::main(args),
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

/// The library is the product on wasm32; this binary has nothing to do there.
#[cfg(target_arch = "wasm32")]
fn main() {}
