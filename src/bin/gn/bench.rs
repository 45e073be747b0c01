//! `gn bench`: medians of one GN and one GD iteration at M = 5000 for N = 500 and 2000, and
//! the Gram matrix's achieved GFLOP/s beside a plain matrix product's, measured in one run.

use clap::Args;
use gauss_newton::linalg::{self, view, SymEig};
use gauss_newton::{step, Config, Method, Trainer};
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

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    median((0..reps).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    }).collect())
}

/// A trainer one step past initialisation (so v ≠ 0 and D ≠ 0), recording never again.
fn trainer(method: Method, n: usize, m: usize) -> Result<Trainer, String> {
    let cfg = Config { method, n, m, max_iter: u64::MAX, eval_every: u64::MAX, tau0: 1.0, ..Config::default() };
    let mut t = Trainer::new(cfg).map_err(|e| e.to_string())?;
    t.advance(1);
    Ok(t)
}

pub fn main(args: BenchArgs) -> Result<(), String> {
    let reps = args.reps.max(1);
    let m = args.m;
    println!("gn bench: M = {m}, {reps} timed repetitions each (median), {} threads", rayon_threads());
    println!("{:>6} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}", "N", "GN iter", "GD iter", "Gram", "Gram GF/s", "S·Sᵀ GF/s", "ratio", "eig");
    for &n in &args.n {
        let mut gn = trainer(Method::Gn, n, m)?;
        let t_gn = time(reps, || {
            gn.advance(1);
        });
        let mut gd = trainer(Method::Gd, n, m)?;
        let t_gd = time(reps.max(25), || {
            gd.advance(1);
        });
        let cfg = gn.config().clone();
        let x = &gn.data().x_train;
        let feat = gn.student().features(cfg.activation, x, true);
        let mut kxx = x * x.transpose();
        kxx.add_scalar_mut(1.0);
        let t_gram = time(reps, || {
            std::hint::black_box(step::gram(&feat, &kxx));
        });
        let t_plain = time(reps, || {
            std::hint::black_box(linalg::matmul(view(&feat.s), view(&feat.s).transpose(), 1.0));
        });
        let (a, _) = step::gram(&feat, &kxx);
        let t_eig = time(reps, || {
            std::hint::black_box(SymEig::new(&a));
        });
        let (nf, mf) = (n as f64, m as f64);
        // Two symmetric products, each computing one triangle: N(N+1)M flops apiece.
        let gram_flops = 2.0 * nf * (nf + 1.0) * mf;
        let plain_flops = 2.0 * nf * nf * mf;
        let gram_rate = gram_flops / t_gram / 1e9;
        let plain_rate = plain_flops / t_plain / 1e9;
        println!(
            "{n:>6} {:>10.1}ms {:>10.2}ms {:>10.1}ms {:>12.1} {:>12.1} {:>9.0}% {:>8.1}ms",
            t_gn * 1e3,
            t_gd * 1e3,
            t_gram * 1e3,
            gram_rate,
            plain_rate,
            100.0 * gram_rate / plain_rate,
            t_eig * 1e3
        );
    }
    Ok(())
}

fn rayon_threads() -> usize {
    match linalg::par() {
        faer::Par::Seq => 1,
        faer::Par::Rayon(n) => n.get(),
    }
}
