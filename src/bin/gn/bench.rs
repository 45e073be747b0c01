//! `gn bench`: per N at M = 5000, medians of one GN and one GD iteration, the Gram matrix's
//! achieved GFLOP/s beside a plain matrix product's, GN's λ_min + solve (against the full
//! eigendecomposition it replaces), and the cost of one record, measured in one run; with the
//! SIMD level the kernels dispatched to and the thread count.

use clap::Args;
use gauss_newton::damping::{self, WarmStart};
use gauss_newton::linalg::{self, view, SymEig};
use gauss_newton::{hidden, step, Config, GdPath, Method, Trainer};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Hidden units M
    #[arg(long, default_value_t = 5000)]
    m: usize,
    /// Comma-separated list of N
    #[arg(long, value_delimiter = ',', default_values_t = [500usize, 2000])]
    n: Vec<usize>,
    /// Timed repetitions per measurement (the median is reported)
    #[arg(long, default_value_t = 7)]
    reps: usize,
}

/// A step count no run reaches (the largest a config takes: 2^53 − 1).
const NEVER: u64 = (1 << 53) - 1;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// A trainer a few steps past initialisation (so v ≠ 0 and D ≠ 0), recording every
/// `eval_every` steps.
fn trainer(method: Method, n: usize, m: usize, eval_every: u64) -> Result<Trainer, String> {
    let cfg = Config {
        method,
        n,
        m,
        max_iter: NEVER,
        eval_every,
        tau0: 1.0,
        ..Config::default()
    };
    let mut t = Trainer::new(cfg).map_err(|e| e.to_string())?;
    t.advance(3);
    Ok(t)
}

pub fn main(args: BenchArgs) -> Result<(), String> {
    let reps = args.reps.max(1);
    let m = args.m;
    print_header(m, reps);
    for &n in &args.n {
        let (steps, gn) = step_times(n, m, reps)?;
        let [t_gn, t_gd, t_gd_two, t_gd_stored, t_gd_rec] = steps;
        let k = kernel_times(&gn, n, reps)?;
        let (nf, mf) = (n as f64, m as f64);
        // Two symmetric products, each computing one triangle: N(N+1)M flops apiece.
        let gram_rate = 2.0 * nf * (nf + 1.0) * mf / k.gram / 1e9;
        let plain_rate = 2.0 * nf * nf * mf / k.plain / 1e9;
        println!(
            "{n:>6} {:>8.1}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.1}ms {:>9.1} {:>9.1} {:>5.0}% {:>10.1}ms {:>8.1}ms {:>8.1}ms",
            t_gn * 1e3,
            t_gd * 1e3,
            t_gd_two * 1e3,
            t_gd_stored * 1e3,
            k.gram * 1e3,
            gram_rate,
            plain_rate,
            100.0 * gram_rate / plain_rate,
            k.solve * 1e3,
            k.eig * 1e3,
            (t_gd_rec - t_gd) * 1e3,
        );
    }
    println!("GD step: the default path for this size (GdPath::for_size); GD carried: one fused pass per step, σ and σ' from the sigmoid the step before kept; GD stored: from stored S and D (the wasm default).");
    println!(
        "GD record: one record's extra time (test loss on 10 000 inputs, spectrum, alignment)."
    );
    Ok(())
}

/// The title line (size, threads, kernels, CPU) and the table's header.
fn print_header(m: usize, reps: usize) {
    let (level, cpu_level) = (hidden::simd_level(), hidden::cpu_simd_level());
    let lowered = if level == cpu_level {
        String::new()
    } else {
        format!(" (lowered by GN_SIMD; the CPU has {cpu_level})")
    };
    println!(
        "gn bench: M = {m}, τ₀ = 1, {reps} timed repetitions each (median); {} threads; kernels: {level}{lowered}; CPU: {}",
        rayon_threads(),
        cpu_name()
    );
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>6} {:>12} {:>10} {:>10}",
        "N",
        "GN step",
        "GD step",
        "GD carried",
        "GD stored",
        "Gram",
        "Gram GF/s",
        "GEMM GF/s",
        "ratio",
        "λmin+solve",
        "eig (old)",
        "GD record"
    );
}

/// Median seconds of one step: GN, GD (default path), GD carried, GD stored, and GD with a
/// record every step; and the GN trainer, for the kernels.
fn step_times(n: usize, m: usize, reps: usize) -> Result<([f64; 5], Trainer), String> {
    let mut gn = trainer(Method::Gn, n, m, NEVER)?;
    let t_gn = time(reps, || {
        gn.advance(1);
    });
    let mut gd = trainer(Method::Gd, n, m, NEVER)?;
    let t_gd = time(reps.max(25), || {
        gd.advance(1);
    });
    let mut gd_two = trainer(Method::Gd, n, m, NEVER)?;
    gd_two.set_gd_path(GdPath::Carried);
    let t_gd_two = time(reps.max(25), || {
        gd_two.advance(1);
    });
    let mut gd_stored = trainer(Method::Gd, n, m, NEVER)?;
    gd_stored.set_gd_path(GdPath::Stored);
    let t_gd_stored = time(reps.max(25), || {
        gd_stored.advance(1);
    });
    let mut gd_rec = trainer(Method::Gd, n, m, 1)?;
    let t_gd_rec = time(reps, || {
        gd_rec.advance(1);
    });
    Ok(([t_gn, t_gd, t_gd_two, t_gd_stored, t_gd_rec], gn))
}

/// Median seconds of GN's kernels at the trainer's state.
struct KernelTimes {
    /// The Gram matrix A (symmetric products).
    gram: f64,
    /// The same product as a plain GEMM.
    plain: f64,
    /// λ_min and the damped solve, warm-started from the step before.
    solve: f64,
    /// The eigendecomposition GN used before.
    eig: f64,
}

fn kernel_times(gn: &Trainer, n: usize, reps: usize) -> Result<KernelTimes, String> {
    let cfg = gn.config().clone();
    let x = &gn.data().x_train;
    let feat = gn.student().features(cfg.activation, x, true);
    let t_gram = time(reps, || {
        std::hint::black_box(step::gram(&feat, x, false));
    });
    let t_plain = time(reps, || {
        std::hint::black_box(linalg::matmul(
            view(&feat.s),
            view(&feat.s).transpose(),
            1.0,
        ));
    });
    let gram_and_g = |t: &Trainer| {
        let feat = t.student().features(cfg.activation, x, true);
        let (a, _) = step::gram(&feat, x, false);
        let f = t.student().outputs(&feat.s);
        (a, (f - &t.data().y_train) / n as f64)
    };
    // Warm-started as in a run: from the solve of the step before (A changed since).
    let (a_before, g_before) = gram_and_g(gn);
    let mut warm = WarmStart::default();
    damping::solve(&a_before, &g_before, cfg.eps0, &mut warm);
    let mut next = Trainer::from_checkpoint(&gn.checkpoint()).map_err(|e| e.to_string())?;
    next.advance(1);
    let (a, g) = gram_and_g(&next);
    let t_solve = time(reps, || {
        let mut w = warm.clone();
        std::hint::black_box(damping::solve(&a, &g, cfg.eps0, &mut w));
    });
    let t_eig = time(reps.min(3), || {
        std::hint::black_box(SymEig::new(&a));
    });
    Ok(KernelTimes {
        gram: t_gram,
        plain: t_plain,
        solve: t_solve,
        eig: t_eig,
    })
}

fn rayon_threads() -> usize {
    match linalg::par() {
        faer::Par::Seq => 1,
        faer::Par::Rayon(n) => n.get(),
    }
}

/// The CPU's model name (Linux), for the figures' provenance.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
