//! GN's fast damped solve (Cholesky + Lanczos, `damping`) against the dense
//! eigendecomposition, on Gram matrices taken from real runs: the first step (v = 0, A
//! nearly singular), small τ₀ (λ_min(A) ≪ ε₀) and large τ₀ (λ_min(A) ≫ ε₀); and whole GN
//! trajectories of both paths from the same start.
#![cfg(not(target_arch = "wasm32"))]

use gauss_newton::damping::{self, WarmStart};
use gauss_newton::linalg::SymEig;
use gauss_newton::step::{self, GnSolver};
use gauss_newton::{Activation, Config, GdPath, Method, Status, Trainer};
use nalgebra::{DMatrix, DVector};

fn config(tau0: f64) -> Config {
    Config {
        method: Method::Gn,
        n: 300,
        m: 1500,
        n_test: 200,
        tau0,
        eval_every: 1000,
        seed: 3,
        ..Config::default()
    }
}

/// A, g at the trainer's current θ.
fn gram_and_gradient(t: &Trainer) -> (DMatrix<f64>, DVector<f64>) {
    let cfg = t.config();
    let x = &t.data().x_train;
    let feat = t.student().features(cfg.activation, x, true);
    let (a, _) = step::gram(&feat, x, false);
    let f = t.student().outputs(&feat.s);
    let g = (f - &t.data().y_train) / x.nrows() as f64;
    (a, g)
}

#[test]
fn fast_solve_matches_eigendecomposition_on_real_gram_matrices() {
    let eps0 = Config::default().eps0;
    let mut seen_below = false;
    let mut seen_above = false;
    for tau0 in [0.01, 0.1, 1.0, 100.0] {
        let mut t = Trainer::new(config(tau0)).unwrap();
        let mut warm = WarmStart::default();
        for step in 0..6 {
            let (a, g) = gram_and_gradient(&t);
            let eig = SymEig::new(&a).unwrap();
            let lmin = eig.values[0].max(0.0);
            let eps = eps0.max(lmin);
            let z_ref = eig.apply(&g, |l| 1.0 / (l.max(0.0) + eps));
            let shifted = &a + DMatrix::identity(a.nrows(), a.nrows()) * eps;
            let z_textbook = shifted
                .clone()
                .cholesky()
                .expect("A + εI is positive definite")
                .solve(&g);
            let residual_ref = (&shifted * &z_ref - &g).norm();
            for (label, w) in [("cold", &mut WarmStart::default()), ("warm", &mut warm)] {
                let d = damping::solve(&a, &g, eps0, w).unwrap_or_else(|| {
                    panic!("τ₀={tau0} step {step} ({label}): no certified answer (λ_min {lmin:e})")
                });
                let tol = (1e-6 * lmin).max(1e-3 * eps0);
                assert!(
                    (d.lambda_min - lmin).abs() <= tol,
                    "τ₀={tau0} step {step} ({label}): λ_min {:e} vs eigendecomposition {lmin:e}",
                    d.lambda_min
                );
                // A + εI has condition number up to λ_max/ε₀ ~ 10⁷ here, so any two solvers may
                // differ by more than 1e-9 in z: we allow what a textbook dense Cholesky
                // (nalgebra) differs from the eigendecomposition by, and ask for a residual
                // no larger than the eigendecomposition's.
                let err = (&d.z - &z_ref).norm() / z_ref.norm();
                let allowed = 1e-9f64.max(2.0 * (&z_textbook - &z_ref).norm() / z_ref.norm());
                assert!(
                    err <= allowed,
                    "τ₀={tau0} step {step} ({label}): z differs by {err:e} > {allowed:e}"
                );
                let residual = (&shifted * &d.z - &g).norm();
                assert!(
                    residual <= 2.0 * residual_ref,
                    "τ₀={tau0} step {step}: residual {residual:e} vs {residual_ref:e}"
                );
                assert!((d.eps - eps).abs() <= 1e-9 * eps, "ε");
            }
            let lmax = damping::lambda_max(&a).unwrap();
            let top = *eig.values.last().unwrap();
            assert!(
                (lmax - top).abs() <= 1e-8 * top,
                "λ_max {lmax:e} vs {top:e}"
            );
            seen_below |= lmin < eps0 * 1e-3;
            seen_above |= lmin > eps0 * 10.0;
            t.advance(1);
        }
    }
    assert!(
        seen_below && seen_above,
        "the cases λ_min ≪ ε₀ and λ_min ≫ ε₀ were both exercised"
    );
}

#[test]
fn whole_gn_trajectories_agree_with_the_eigendecomposition_path() {
    for tau0 in [0.01, 1.0, 10.0] {
        let cfg = Config {
            n: 120,
            m: 600,
            eval_every: 5,
            refit: false,
            ..config(tau0)
        };
        let start = Trainer::new(cfg).unwrap().checkpoint();
        let mut fast = Trainer::from_checkpoint(&start).unwrap();
        let mut reference = Trainer::from_checkpoint(&start).unwrap();
        reference.set_gn_solver(GnSolver::Eig);
        let (rf, rr) = (fast.run(), reference.run());
        assert_eq!(fast.status(), Status::Converged, "τ₀={tau0}");
        assert_eq!(
            fast.iteration(),
            reference.iteration(),
            "τ₀={tau0}: iteration counts"
        );
        assert_eq!(fast.gn_fallbacks(), 0, "τ₀={tau0}: fallbacks");
        assert_eq!(rf.len(), rr.len());
        // At τ₀ = 0.01 the first GN steps solve with A + ε₀I of condition number ~10⁷, where
        // z itself is only defined to ~1e-9 (see the test above), and later steps carry that
        // difference on: how far it grows depends on the last bits of every other sum (measured
        // worst test-loss difference 4.7e-9 with Jᵀz by faer's GEMM, 1.01e-8 with the per-unit
        // Jᵀz kernel, the same solvers), so the trajectories agree to 2e-8; elsewhere to 1e-9
        // (measured: bit-identical at τ₀ = 1 and 10).
        // Near convergence the losses are ~1e-8·L₁, where the last bits of f move them: a
        // difference of 1e-14·L₁ is allowed on top.
        let tol = if tau0 < 0.1 { 2e-8 } else { 1e-9 };
        let l1 = rr[0].train_loss;
        for (a, b) in rf.iter().zip(&rr) {
            let rel = |x: f64, y: f64| ((x - y).abs() - 1e-14 * l1).max(0.0) / y.abs().max(1e-300);
            assert!(
                rel(a.train_loss, b.train_loss) <= tol,
                "τ₀={tau0} iter {}: train {:e} vs {:e}",
                a.iter,
                a.train_loss,
                b.train_loss
            );
            let (ta, tb) = (a.test_loss.unwrap(), b.test_loss.unwrap());
            assert!(
                rel(ta, tb) <= tol,
                "τ₀={tau0} iter {}: test {ta:e} vs {tb:e}",
                a.iter
            );
        }
    }
}

/// GD between records by the carried fused pass against GD from stored S and D: whole
/// trajectories (records drop the carry; the run stops by its step limit), each activation.
#[test]
fn fused_gd_trajectory_matches_the_stored_features_path() {
    for (tau0, activation) in [
        (0.01, Activation::Silu),
        (1.0, Activation::Silu),
        (1.0, Activation::Tanh),
        (1.0, Activation::Relu),
    ] {
        let cfg = Config {
            method: Method::Gd,
            activation,
            n: 150,
            m: 700,
            max_iter: 400,
            eval_every: 50,
            ..config(tau0)
        };
        let mut fused = Trainer::new(cfg.clone()).unwrap();
        fused.set_gd_path(GdPath::Carried);
        let mut stored = Trainer::new(cfg).unwrap();
        stored.set_gd_path(GdPath::Stored);
        let (rf, rs) = (fused.run(), stored.run());
        assert_eq!(rf.len(), rs.len());
        for (a, b) in rf.iter().zip(&rs) {
            let rel = |x: f64, y: f64| (x - y).abs() / y.abs();
            assert!(
                rel(a.train_loss, b.train_loss) <= 1e-12,
                "τ₀={tau0} {activation:?} iter {}: {:e} vs {:e}",
                a.iter,
                a.train_loss,
                b.train_loss
            );
            assert!(
                rel(a.test_loss.unwrap(), b.test_loss.unwrap()) <= 1e-12,
                "τ₀={tau0} {activation:?} iter {}",
                a.iter
            );
        }
        let diff = (&fused.student().u - &stored.student().u).amax();
        assert!(
            diff <= 1e-12 * stored.student().u.amax(),
            "τ₀={tau0} {activation:?}: U differs by {diff:e}"
        );
    }
}
