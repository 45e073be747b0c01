//! `gn slurm …sweep arguments…`: writes an `sbatch` job-array script in which array task I
//! of K runs `gn sweep … --shard I/K` into the shared output folder (and submits it with
//! `--submit`). The shards are disjoint and cover the grid, and a re-submitted array skips
//! what is done and resumes what was cut off, as `gn sweep` does.

use crate::sweep::SweepArgs;
use clap::Args;
use gauss_newton::config::{field, flag, value_text, Kind};
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub sweep: SweepArgs,
    /// Array tasks K (each runs one shard I/K) [default: one per run, at most 1000]
    #[arg(long, value_name = "K")]
    pub tasks: Option<usize>,
    /// CPUs per array task (the runs of a task use them all) [default: 1]
    #[arg(long, value_name = "C")]
    pub cpus_per_task: Option<usize>,
    /// Slurm partition (sbatch --partition)
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per task (sbatch --time, e.g. 2-00:00:00)
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per task (sbatch --mem, e.g. 4G)
    #[arg(long)]
    pub mem: Option<String>,
    /// Job name
    #[arg(long, default_value = "gn-sweep")]
    pub job_name: String,
    /// Where to write the script [default: DIR/sweep.sbatch]
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Submit the script with sbatch and print the job id on stdout
    #[arg(long)]
    pub submit: bool,
}

/// A word quoted for bash.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,=:+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The `gn sweep` arguments that reproduce `a` (without --shard, --list, --quiet): every
/// field given, from the field table, then the sweep's own options.
pub fn sweep_cli(a: &SweepArgs, out: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let mut push = |k: String, val: String| {
        v.push(k);
        v.push(val);
    };
    if let Some(p) = a.preset {
        push("--preset".into(), p.name().into());
    }
    for (name, values) in &a.grid.axes {
        let texts: Vec<String> = values.iter().filter_map(|x| value_text(name, x)).collect();
        push(flag(name), texts.join(","));
    }
    if !a.part.is_empty() {
        push("--part".into(), a.part.join(","));
    }
    let mut flags = Vec::new();
    for (name, x) in a.grid.scalars.iter() {
        match (field(name).map(|f| f.kind), value_text(name, x)) {
            (Some(Kind::Flag), Some(_)) => flags.push(flag(name)),
            (_, Some(text)) => push(flag(name), text),
            _ => {}
        }
    }
    if let Some(dt) = a.record_every_t {
        push("--record-every-t".into(), dt.to_string());
    }
    push("--checkpoint-every".into(), a.checkpoint_every.to_string());
    push("--out".into(), out.display().to_string());
    v.extend(flags);
    v
}

pub fn main(args: SlurmArgs) -> Result<(), String> {
    if args.sweep.shard.is_some() {
        return Err(
            "--shard: gn slurm gives each array task its own shard; leave --shard out".into(),
        );
    }
    let runs = args.sweep.plan()?;
    if runs.is_empty() {
        return Err("the grid is empty".into());
    }
    let tasks = args.tasks.unwrap_or(runs.len().min(1000));
    if tasks == 0 {
        return Err("--tasks: must be a whole number >= 1, got 0".into());
    }
    let tasks = tasks.min(runs.len());
    // One CPU per task: runs side by side beat one run on two threads at every size measured
    // (see sweep/mod.rs, auto_jobs).
    let cpus = args.cpus_per_task.unwrap_or(1).max(1);
    let out = &args.sweep.out;
    std::fs::create_dir_all(out)
        .map_err(|e| format!("--out {}: cannot create ({e})", out.display()))?;
    let out = std::fs::canonicalize(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot find the gn binary ({e})"))?;
    let script_path = args
        .script
        .clone()
        .unwrap_or_else(|| out.join("sweep.sbatch"));

    let s = sbatch_script(&args, runs.len(), tasks, cpus, &out, &exe);
    crate::files::write_atomic(&script_path, &s)?;
    eprintln!(
        "gn slurm: wrote {} ({} runs, {tasks} array tasks, {cpus} CPU(s) each)",
        script_path.display(),
        runs.len()
    );
    if args.submit {
        submit(&script_path)?;
    } else {
        eprintln!("submit it with: sbatch {}", script_path.display());
    }
    Ok(())
}

/// The array job's script: `tasks` tasks of `cpus` CPUs, task I running shard I/`tasks` of
/// the sweep (`n_runs` runs) into `out` with the binary `exe`.
fn sbatch_script(
    args: &SlurmArgs,
    n_runs: usize,
    tasks: usize,
    cpus: usize,
    out: &Path,
    exe: &Path,
) -> String {
    let mut cmd: Vec<String> = vec![quote(&exe.display().to_string()), "sweep".into()];
    cmd.extend(sweep_cli(&args.sweep, out).iter().map(|s| quote(s)));
    cmd.push("--jobs".into());
    cmd.push("1".into());
    cmd.push("--shard".into());
    cmd.push(format!("\"${{SLURM_ARRAY_TASK_ID}}/{tasks}\""));
    cmd.push("--quiet".into());

    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={}\n", quote(&args.job_name)));
    s.push_str(&format!("#SBATCH --array=1-{tasks}\n"));
    s.push_str("#SBATCH --ntasks=1\n");
    s.push_str(&format!("#SBATCH --cpus-per-task={cpus}\n"));
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        quote(&out.join("slurm-%A_%a.out").display().to_string())
    ));
    if let Some(p) = &args.partition {
        s.push_str(&format!("#SBATCH --partition={}\n", quote(p)));
    }
    if let Some(t) = &args.time {
        s.push_str(&format!("#SBATCH --time={}\n", quote(t)));
    }
    if let Some(m) = &args.mem {
        s.push_str(&format!("#SBATCH --mem={}\n", quote(m)));
    }
    s.push_str(&format!(
        "#\n# Written by `gn slurm`: {n_runs} runs in {tasks} array tasks; task I runs shard I/{tasks} of the grid\n\
         # into {}. Re-submitting skips finished runs and resumes cut-off ones from their checkpoints.\n\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n",
        out.display()
    ));
    s.push_str(&cmd.join(" "));
    s.push('\n');
    s
}

/// Submits the script with `sbatch --parsable` and prints the job id.
fn submit(script_path: &Path) -> Result<(), String> {
    let output = std::process::Command::new("sbatch")
        .arg("--parsable")
        .arg(script_path)
        .output()
        .map_err(|e| format!("sbatch: cannot run ({e}); is Slurm installed?"))?;
    if !output.status.success() {
        return Err(format!(
            "sbatch failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    println!("{id}");
    Ok(())
}
