//! The core's numerics against independent computations: the structured Jacobian products
//! against central finite differences, the structured Gram matrix against an explicit J Jᵀ,
//! and the GN step against a dense solve with nalgebra's own eigendecomposition.
#![cfg(not(target_arch = "wasm32"))]

use gauss_newton::network::{jacobian_t_times, jacobian_t_times_gemm, jacobian_t_times_per_unit};
use gauss_newton::{step, Activation, Config, Method, Network, Trainer};
use nalgebra::{DMatrix, DVector};

const ACTS: [Activation; 3] = [Activation::Silu, Activation::Relu, Activation::Tanh];

fn small(act: Activation, method: Method) -> Config {
    Config {
        activation: act,
        method,
        n: 9,
        m: 7,
        d: 4,
        m_teacher: 2,
        n_test: 13,
        tau0: 0.9,
        seed: 3,
        ..Config::default()
    }
}

/// A trainer whose student has a non-zero last layer (so every block of J is non-trivial).
fn trainer_with_v(cfg: Config) -> Trainer {
    let mut ck = Trainer::new(cfg).unwrap().checkpoint();
    for (i, v) in ck.student.v.iter_mut().enumerate() {
        *v = ((i as f64) * 1.7).sin() * 2.0 + 0.3;
    }
    Trainer::from_checkpoint(&ck).unwrap()
}

/// Parameters flattened in the order (U row-major, b, v).
fn flat(net: &Network) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..net.m() {
        for j in 0..net.d() {
            out.push(net.u[(i, j)]);
        }
    }
    out.extend(net.b.iter());
    out.extend(net.v.iter());
    out
}

fn unflat(p: &[f64], m: usize, d: usize) -> Network {
    Network {
        u: DMatrix::from_fn(m, d, |i, j| p[i * d + j]),
        b: DVector::from_column_slice(&p[m * d..m * d + m]),
        v: DVector::from_column_slice(&p[m * d + m..]),
    }
}

/// J by central differences of f_θ on x: column p is (f(θ + h e_p) − f(θ − h e_p)) / 2h.
fn jacobian_fd(net: &Network, act: Activation, x: &DMatrix<f64>) -> DMatrix<f64> {
    let (m, d) = (net.m(), net.d());
    let theta = flat(net);
    let h = 1e-6;
    let mut j = DMatrix::zeros(x.nrows(), theta.len());
    for p in 0..theta.len() {
        let mut plus = theta.clone();
        let mut minus = theta.clone();
        plus[p] += h;
        minus[p] -= h;
        let fp = unflat(&plus, m, d).predict(act, x);
        let fm = unflat(&minus, m, d).predict(act, x);
        j.set_column(p, &((fp - fm) / (2.0 * h)));
    }
    j
}

/// J entry by entry from the chain rule, with the scalar σ and σ':
/// ∂f_n/∂u_ij = v_i σ'(h_ni) x_nj / M, ∂f_n/∂b_i = v_i σ'(h_ni) / M, ∂f_n/∂v_i = σ(h_ni) / M.
fn jacobian_explicit(net: &Network, act: Activation, x: &DMatrix<f64>) -> DMatrix<f64> {
    let (m, d, n) = (net.m(), net.d(), x.nrows());
    let mf = m as f64;
    let mut j = DMatrix::zeros(n, m * (d + 2));
    for r in 0..n {
        for i in 0..m {
            let h: f64 = (0..d).map(|k| net.u[(i, k)] * x[(r, k)]).sum::<f64>() + net.b[i];
            let dp = net.v[i] * act.sigma_prime(h) / mf;
            for k in 0..d {
                j[(r, i * d + k)] = dp * x[(r, k)];
            }
            j[(r, m * d + i)] = dp;
            j[(r, m * d + m + i)] = act.sigma(h) / mf;
        }
    }
    j
}

fn rel_err(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    (a - b).abs().max() / b.abs().max()
}

#[test]
fn structured_jacobian_products_match_finite_differences() {
    for act in ACTS {
        let t = trainer_with_v(small(act, Method::Gn));
        let x = &t.data().x_train;
        let net = t.student();
        let j_fd = jacobian_fd(net, act, x);
        let feat = net.features(act, x, true);
        // Row n of J is Jᵀ e_n; check every row, then a random combination.
        for r in 0..x.nrows() {
            let mut e = DVector::zeros(x.nrows());
            e[r] = 1.0;
            let row = DVector::from_vec(flat(&jacobian_t_times(&feat, x, &e)));
            let fd_row = j_fd.row(r).transpose();
            let err = (&row - &fd_row).amax() / fd_row.amax();
            assert!(
                err < 1e-6,
                "{act:?}: row {r} of J differs from finite differences by {err:e}"
            );
        }
        let z = DVector::from_fn(x.nrows(), |i, _| (i as f64 * 0.37).cos());
        let jtz = DVector::from_vec(flat(&jacobian_t_times(&feat, x, &z)));
        let fd = j_fd.transpose() * &z;
        assert!((&jtz - &fd).amax() / fd.amax() < 1e-6, "{act:?}: Jᵀz");
        // The explicit chain-rule J used by the other tests agrees with finite differences too.
        assert!(
            rel_err(&jacobian_explicit(net, act, x), &j_fd) < 1e-6,
            "{act:?}: explicit J"
        );
    }
}

#[test]
fn jacobian_t_times_per_unit_and_by_gemm_agree_with_the_explicit_j() {
    // Both ways of computing Jᵀz (native: per unit; wasm: faer's products) against Jᵀz with
    // the explicit chain-rule J, at a size with whole blocks of lanes and a remainder.
    for act in ACTS {
        let t = trainer_with_v(Config {
            n: 37,
            m: 300,
            d: 10, // d + 1 = 11 columns: passes of 4, 4 and 3
            ..small(act, Method::Gn)
        });
        let x = &t.data().x_train;
        let net = t.student();
        let feat = net.features(act, x, true);
        let z = DVector::from_fn(x.nrows(), |i, _| (i as f64 * 0.37).cos());
        let want = jacobian_explicit(net, act, x).transpose() * &z;
        for (name, got) in [
            ("per unit", jacobian_t_times_per_unit(&feat, x, &z)),
            ("gemm", jacobian_t_times_gemm(&feat, x, &z)),
        ] {
            let got = DVector::from_vec(flat(&got));
            let err = (&got - &want).amax() / want.amax();
            assert!(err < 1e-13, "{act:?} {name}: Jᵀz off by {err:e}");
        }
    }
}

#[test]
fn structured_gram_matches_explicit_j_jt() {
    for act in ACTS {
        let t = trainer_with_v(small(act, Method::Gn));
        let x = &t.data().x_train;
        let net = t.student();
        let feat = net.features(act, x, true);
        let (a, ss) = step::gram(&feat, x, true);
        assert!(
            rel_err(&step::gram(&feat, x, false).0, &a) < 1e-14,
            "{act:?}: A the same with or without S Sᵀ"
        );
        let ss = ss.expect("v ≠ 0, so S Sᵀ/M² differs from A");
        let j = jacobian_explicit(net, act, x);
        let dense = &j * j.transpose();
        let err = rel_err(&a, &dense);
        assert!(
            err < 1e-13,
            "{act:?}: structured A vs explicit J Jᵀ: {err:e}"
        );
        // S Sᵀ/M² is the v-block of J Jᵀ.
        let m = net.m();
        let jv = j.columns(m * (net.d() + 1), m);
        assert!(
            rel_err(&ss, &(jv * jv.transpose())) < 1e-13,
            "{act:?}: S Sᵀ/M²"
        );
    }
}

/// One GN step, computed densely: A = J Jᵀ from an explicit J, λ_min from nalgebra's
/// symmetric eigensolver, ε = max(ε₀, λ_min), z = (A + εI)⁻¹ g by Cholesky, Δθ = −λ Jᵀ z.
#[test]
fn gn_step_matches_dense_computation() {
    for act in ACTS {
        for eps0 in [1e-7, 1e-2] {
            let mut cfg = small(act, Method::Gn);
            cfg.eps0 = eps0;
            cfg.lr = 0.7;
            let mut t = trainer_with_v(cfg.clone());
            let before = t.student().clone();
            let x = t.data().x_train.clone();
            let y = t.data().y_train.clone();
            let j = jacobian_explicit(&before, act, &x);
            let a = &j * j.transpose();
            let lmin = a.clone().symmetric_eigen().eigenvalues.min().max(0.0);
            let eps = eps0.max(lmin);
            let f = before.predict(act, &x);
            let g = (f - &y) / x.nrows() as f64;
            let shifted = &a + DMatrix::identity(x.nrows(), x.nrows()) * eps;
            let z = shifted
                .cholesky()
                .expect("A + εI is positive definite")
                .solve(&g);
            let delta = -(j.transpose() * z) * cfg.lr;
            let records = t.advance(1);
            let got = DVector::from_vec(flat(t.student())) - DVector::from_vec(flat(&before));
            let err = (&got - &delta).amax() / delta.amax();
            assert!(
                err < 1e-8,
                "{act:?} ε₀={eps0}: GN update differs from the dense one by {err:e}"
            );
            let r0 = &records[0];
            assert!(
                (r0.eps.unwrap() - eps).abs() <= 1e-10 * a.amax(),
                "{act:?}: ε"
            );
            assert!(
                (r0.step_norm.unwrap() - delta.norm()).abs() <= 1e-8 * delta.norm(),
                "{act:?}: step norm"
            );
        }
    }
}

/// ∇L by central differences of L(θ) = (1/2N) Σ (f_θ(x_n) − y_n)², in [`flat`]'s order.
fn loss_gradient_fd(
    net: &Network,
    act: Activation,
    x: &DMatrix<f64>,
    y: &DVector<f64>,
) -> Vec<f64> {
    let loss = |p: &[f64]| {
        let f = unflat(p, net.m(), net.d()).predict(act, x);
        (f - y).norm_squared() / (2.0 * x.nrows() as f64)
    };
    let theta = flat(net);
    let h = 1e-6;
    (0..theta.len())
        .map(|p| {
            let (mut a, mut b) = (theta.clone(), theta.clone());
            a[p] += h;
            b[p] -= h;
            (loss(&a) - loss(&b)) / (2.0 * h)
        })
        .collect()
}

/// GD is θ − λ ∇L; ∇L = Jᵀ (f − y)/N, checked against finite differences of L itself.
#[test]
fn gd_step_is_gradient_of_loss() {
    for act in ACTS {
        let mut cfg = small(act, Method::Gd);
        cfg.lr = 0.5;
        let mut t = trainer_with_v(cfg.clone());
        let before = t.student().clone();
        let x = t.data().x_train.clone();
        let y = t.data().y_train.clone();
        let theta = flat(&before);
        let grad = loss_gradient_fd(&before, act, &x, &y);
        t.advance(1);
        let after = flat(t.student());
        for p in 0..theta.len() {
            let step = after[p] - theta[p];
            let expected = -cfg.lr * grad[p];
            assert!(
                (step - expected).abs() <= 1e-7 * (1.0 + expected.abs()),
                "{act:?} param {p}: {step} vs {expected}"
            );
        }
    }
}

#[test]
fn gn_reaches_tolerance_in_far_fewer_iterations_than_gd() {
    let base = Config {
        n: 30,
        m: 80,
        d: 5,
        n_test: 200,
        tau0: 1.0,
        tol: 1e-6,
        eval_every: 1000,
        ..Config::default()
    };
    let mut gn = Trainer::new(Config {
        method: Method::Gn,
        max_iter: 20_000,
        ..base.clone()
    })
    .unwrap();
    gn.run();
    let mut gd = Trainer::new(Config {
        method: Method::Gd,
        max_iter: 20_000,
        ..base
    })
    .unwrap();
    gd.run();
    assert_eq!(gn.status(), gauss_newton::Status::Converged);
    assert!(
        gn.iteration() * 20 < gd.iteration(),
        "GN took {} iterations, GD {} ({:?})",
        gn.iteration(),
        gd.iteration(),
        gd.status()
    );
}

/// The carried GD pass (S and D never stored; σ, σ' from the carry) against finite
/// differences of L, at sizes that exercise the kernel's lane blocks and remainders and more
/// than one chunk of units.
#[test]
fn carried_gd_step_is_gradient_of_loss() {
    // d = 4 and 10: one pass of the update kernel and the rows-outer forward of a chunk;
    // d = 13: two passes, and the forward unit by unit.
    for act in ACTS {
        for (n, m, d) in [(9, 7, 4), (17, 300, 4), (17, 300, 10), (19, 150, 13)] {
            let cfg = Config {
                n,
                m,
                d,
                ..small(act, Method::Gd)
            };
            let t = trainer_with_v(cfg);
            let before = t.student().clone();
            let x = t.data().x_train.clone();
            let y = t.data().y_train.clone();
            let theta = flat(&before);
            let grad = loss_gradient_fd(&before, act, &x, &y);
            let lr = 0.5;
            let g = (before.predict(act, &x) - &y) / n as f64;
            let mut after = before.clone();
            let mut carry = vec![0.0; n * m];
            let f = after.outputs_carried(act, &x, &mut carry);
            assert!(
                (&f - before.predict(act, &x)).amax() <= 1e-14,
                "{act:?}: f from the carry pass"
            );
            let f_next = after.gd_step_carried(act, &x, &g, lr, &mut carry);
            // The next outputs and carry it returns are those of the new weights.
            let mut fresh = vec![0.0; n * m];
            assert_eq!(
                f_next,
                after.outputs_carried(act, &x, &mut fresh),
                "{act:?}: f'"
            );
            assert_eq!(carry, fresh, "{act:?}: the carry at the new weights");
            let after = flat(&after);
            for p in 0..theta.len() {
                let expected = -lr * grad[p];
                let step = after[p] - theta[p];
                assert!(
                    (step - expected).abs() <= 1e-7 * (1.0 + expected.abs()),
                    "{act:?} n={n} m={m} d={d} param {p}: {step} vs {expected}"
                );
            }
            // And against the stored-features path to rounding.
            let feat = before.features(act, &x, true);
            let delta = step::update(&feat, &x, &g, lr);
            let mut stored = before.clone();
            stored.axpy(1.0, &delta);
            let diff = DVector::from_vec(flat(&stored)) - DVector::from_vec(after.clone());
            assert!(
                diff.amax() <= 1e-13 * DVector::from_vec(after).amax(),
                "{act:?}: fused vs stored {:e}",
                diff.amax()
            );
        }
    }
}

/// The fused forward pass against S v / M from stored features, for the model's and another
/// last layer.
#[test]
fn fused_outputs_match_stored_features() {
    for act in ACTS {
        for (n, m) in [(9, 7), (203, 300)] {
            let t = trainer_with_v(Config {
                n,
                m,
                ..small(act, Method::Gd)
            });
            let net = t.student();
            let x = &t.data().x_train;
            let other = DVector::from_fn(m, |i, _| (i as f64 * 0.3).cos());
            let out = net.outputs_fused(act, x, Some(&other));
            let out = [out.0, out.1.unwrap()];
            let s = net.features(act, x, false).s;
            let f = net.outputs(&s);
            let f_other = &s * &other / m as f64;
            assert!(
                (&out[0] - &f).amax() <= 1e-14 * f.amax(),
                "{act:?} n={n}: f"
            );
            assert!(
                (&out[1] - &f_other).amax() <= 1e-14 * f_other.amax(),
                "{act:?} n={n}: other layer"
            );
        }
    }
}
