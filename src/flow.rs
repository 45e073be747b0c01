//! Flow time and GD's stability bound (DESIGN.md §3).
//!
//! After k steps of size λ both update rules are at flow time t = λ·k. GD's output-space step
//! is r ← r − (λ/N) A r, stable only while λ·λ_max(A)/N < 2; at initialisation v = 0, so
//! A = S Sᵀ/M² needs only the features S of the initial hidden layer on the training inputs.

use crate::config::Config;
use crate::data::{init_student, Dataset};
use crate::linalg::{self, SymEig};

/// The paper's GD horizon: 2·10⁶ steps at λ = 10, so t = 2·10⁷.
pub const HORIZON_T: f64 = 2e7;
/// The step-equivalence study's horizon.
pub const STUDY_T: f64 = 2e5;
/// The step against which the study compares larger steps (the paper's λ).
pub const REFERENCE_LR: f64 = 10.0;
/// The study's tolerance: a step is flow-equivalent while its train and test losses stay
/// within 1 % of the reference step's at every common flow time.
pub const EQUIV_TOL: f64 = 0.01;
/// Hidden learning's flow-time cap (GN's train loss reaches 10⁻⁸·L₁ by t = N·ln 10⁴ ≈ 4600 at N = 500).
pub const HIDDEN_T: f64 = 5000.0;

/// Whether two flow times are the same (relative 1e-9: λ·k in floating point).
pub fn same_time(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// λ_max(A) of the NTK Gram matrix at initialisation, A = S Sᵀ / M² (v = 0, so D = 0).
/// Draws the data and the student from `cfg`'s seed exactly as a run does (the test set is
/// not drawn: it does not change the training inputs). `None` if the eigenvalues cannot be
/// computed (non-finite features).
pub fn init_lambda_max(cfg: &Config) -> Option<f64> {
    let small = Config {
        n_test: 1,
        ..cfg.clone()
    };
    let data = Dataset::generate(&small);
    let student = init_student(&small);
    let feat = student.features(cfg.activation, &data.x_train, false);
    let m = cfg.m as f64;
    let a = linalg::syrk(&feat.s, 1.0 / (m * m));
    SymEig::values_of(&a).and_then(|v| v.last().copied())
}

/// GD's stability bound on the step: λ_max-step = 2N / λ_max(A). A step λ is stable while
/// λ < this (λ·λ_max(A)/N < 2).
pub fn gd_step_bound(n: usize, lambda_max: f64) -> f64 {
    2.0 * n as f64 / lambda_max
}

/// `x` rounded down to two significant digits (a step size that reads well in a file name:
/// 0.0374 → 0.037, 1234 → 1200). Non-positive or non-finite `x` is returned as is.
pub fn round_down_2(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let e = x.log10().floor() as i32 - 1;
    let scale = 10f64.powi(e);
    let mut y = (x / scale).floor() * scale;
    // Re-round to strip binary noise (0.037000000000000005 → 0.037) without crossing x.
    let text = format!("{:.*e}", 1, y);
    let clean: f64 = text.parse().unwrap_or(y);
    if clean <= x {
        y = clean;
    }
    y
}

/// Which step GD takes in a cell, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepChoice {
    /// The step used.
    pub lr: f64,
    /// The step wanted (the flow-equivalent step λ*).
    pub wanted: f64,
    /// λ_max(A) at initialisation.
    pub lambda_max: f64,
    /// 2N / λ_max(A): GD is unstable at or above it.
    pub bound: f64,
    /// Whether `lr` is `wanted` lowered to half the bound (rounded down to 2 digits).
    pub lowered: bool,
}

/// GD's step for a cell: `wanted` if it is at most half the stability bound (a margin for A
/// growing during training), else half the bound rounded down to two significant digits.
pub fn choose_gd_step(n: usize, lambda_max: f64, wanted: f64) -> StepChoice {
    let bound = gd_step_bound(n, lambda_max);
    if wanted <= 0.5 * bound {
        StepChoice {
            lr: wanted,
            wanted,
            lambda_max,
            bound,
            lowered: false,
        }
    } else {
        StepChoice {
            lr: round_down_2(0.5 * bound),
            wanted,
            lambda_max,
            bound,
            lowered: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Method, Trainer};
    use nalgebra::DMatrix;

    fn cfg(tau0: f64) -> Config {
        Config {
            method: Method::Gd,
            tau0,
            n: 40,
            m: 60,
            d: 5,
            n_test: 50,
            max_iter: 1,
            eval_every: 1,
            ..Config::default()
        }
    }

    /// A = S Sᵀ / M² at initialisation, the features by hand (SiLU of X Uᵀ + b).
    fn gram_by_hand(c: &Config) -> DMatrix<f64> {
        let data = Dataset::generate(c);
        let st = init_student(c);
        let h = &data.x_train * st.u.transpose();
        let s = DMatrix::from_fn(h.nrows(), h.ncols(), |i, j| {
            let x = h[(i, j)] + st.b[j];
            x / (1.0 + (-x).exp())
        });
        let m = c.m as f64;
        &s * s.transpose() / (m * m)
    }

    /// Independent computation: [`gram_by_hand`] and nalgebra's own symmetric eigensolver.
    fn by_hand(c: &Config) -> f64 {
        gram_by_hand(c).symmetric_eigenvalues().max()
    }

    #[test]
    fn init_lambda_max_matches_an_independent_computation_and_the_trainers_record() {
        for tau0 in [0.01, 1.0, 10.0] {
            let c = cfg(tau0);
            let ours = init_lambda_max(&c).unwrap();
            let hand = by_hand(&c);
            assert!(
                (ours - hand).abs() <= 1e-10 * hand,
                "τ₀={tau0}: {ours} vs {hand}"
            );
            let mut t = Trainer::new(c.clone()).unwrap();
            let recs = t.advance(1);
            let rec = recs[0].sigma_max.expect("GD records λ_max(A)");
            assert!(
                (ours - rec).abs() <= 1e-9 * rec,
                "τ₀={tau0}: {ours} vs trainer {rec}"
            );
        }
    }

    #[test]
    fn the_bound_grows_with_tau0_as_the_features_do() {
        let l = [0.1, 10.0, 100.0].map(|t| init_lambda_max(&cfg(t)).unwrap());
        assert!(l[0] < l[1] && l[1] < l[2], "{l:?}");
    }

    #[test]
    fn gds_first_step_is_the_output_space_step_and_the_bound_separates_growth_from_decay() {
        // At v = 0 the first GD step moves only v, so r₁ = (I − (λ/N) A) r₀ exactly, with
        // r₀ = −y: above the bound the top direction grows, below it every direction shrinks.
        let c = Config {
            eval_every: 1,
            max_iter: 3,
            ..cfg(10.0)
        };
        let lmax = init_lambda_max(&c).unwrap();
        let bound = gd_step_bound(c.n, lmax);
        let data = Dataset::generate(&c);
        let a = gram_by_hand(&c);
        let n = c.n as f64;
        for (factor, grows) in [(3.0, true), (0.95, false), (0.5, false)] {
            let lr = factor * bound;
            let r0 = -&data.y_train;
            let r1 = &r0 - (&a * &r0) * (lr / n);
            let want = r1.norm_squared() / (2.0 * n);
            let mut t = Trainer::new(Config { lr, ..c.clone() }).unwrap();
            let recs = t.advance(2);
            let (l0, l1) = (recs[0].train_loss, recs[1].train_loss);
            assert!(
                (l1 - want).abs() <= 1e-8 * want,
                "λ = {factor}·bound: loss {l1} vs output-space {want}"
            );
            assert_eq!(l1 > l0, grows, "λ = {factor}·bound: {l0} → {l1}");
        }
    }

    #[test]
    fn step_choice_keeps_a_stable_wanted_step_and_halves_the_bound_otherwise() {
        let keep = choose_gd_step(100, 10.0, 5.0); // bound 20, half 10 ≥ 5
        assert_eq!((keep.lr, keep.lowered, keep.bound), (5.0, false, 20.0));
        let low = choose_gd_step(100, 1000.0, 5.0); // bound 0.2, half 0.1
        assert!(low.lowered);
        assert_eq!(low.lr, 0.1);
        let odd = choose_gd_step(500, 7.0, 1000.0); // bound 142.857…, half 71.43 → 71
        assert_eq!(odd.lr, 71.0);
    }

    #[test]
    fn round_down_2_never_rounds_up() {
        for (x, want) in [
            (0.0374, 0.037),
            (1234.0, 1200.0),
            (71.428, 71.0),
            (0.5, 0.5),
            (9.99e-5, 9.9e-5),
        ] {
            let y = round_down_2(x);
            assert_eq!(y, want, "{x}");
            assert!(y <= x);
        }
    }
}
