//! GN's damped solve without a full eigendecomposition (DESIGN.md §3):
//!
//! ```text
//! ε = max(ε₀, λ_min(A)),   z = (A + εI)⁻¹ g
//! ```
//!
//! One Cholesky factorisation F = A + sI (s: the previous step's ε, or ε₀ at the first step)
//! serves twice: shift-and-invert Lanczos on F⁻¹ finds its largest eigenvalue 1/(λ_min + s),
//! hence λ_min (an upper bound that converges to it), and the same factor solves for z, exactly
//! when ε = s and by a few steps of iterative refinement when ε is close to s. When ε has moved
//! far from s, A + εI is factorised afresh. λ_max, which only records need, comes from Lanczos
//! on A itself. A factorisation that fails or a Lanczos run that does not converge within its
//! budget returns `None`: the caller falls back to the dense eigendecomposition and counts it.
//!
//! Cost at N = 2000: two triangular solves per Lanczos step (~N² reads of F each) and one
//! factorisation (N³/3 flops), against the N³-heavy eigendecomposition it replaces.

use crate::linalg::{par, view, view_mut};
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt;
use nalgebra::{DMatrix, DVector};

/// Lanczos steps allowed before giving up (and falling back to the dense path).
const LANCZOS_BUDGET: usize = 60;
/// λ_min above ε₀ sets ε itself, so it is found to this relative accuracy by the quadratic
/// (gap) estimate of its error ...
const RELATIVE_TOL: f64 = 1e-12;
/// ... and at least to this one by the residual bound, which holds whatever the gap.
const CERTIFIED_TOL: f64 = 1e-6;
/// ... while below ε₀ (where ε = ε₀ whatever its exact value) to this fraction of ε₀.
const BELOW_EPS0_TOL: f64 = 1e-4;
/// Iterative refinement with F is used while |ε − s| ≤ REFINE_RATIO · (λ_min + s) (each
/// refinement step then gains at least a factor 1/REFINE_RATIO); otherwise A + εI is refactored.
const REFINE_RATIO: f64 = 0.05;
/// Refinement steps allowed before refactoring.
const REFINE_BUDGET: usize = 16;

/// What a step carries to the next: the shift of its factorisation and λ_min's eigenvector,
/// so that the next Lanczos run starts close to its answer.
#[derive(Clone, Debug, Default)]
pub struct WarmStart {
    /// The previous step's ε.
    pub shift: Option<f64>,
    /// The previous step's estimate of λ_min's eigenvector.
    pub vector: Option<DVector<f64>>,
}

/// The result of [`solve`].
#[derive(Clone, Debug)]
pub struct Damped {
    /// z = (A + εI)⁻¹ g.
    pub z: DVector<f64>,
    /// ε = max(ε₀, λ_min(A)).
    pub eps: f64,
    /// λ_min(A) (clamped at 0): an upper bound, converged unless `lambda_min_converged` is false.
    pub lambda_min: f64,
    /// False when λ_min < ε₀ was certified but not resolved to `BELOW_EPS0_TOL`·ε₀.
    pub lambda_min_converged: bool,
}

/// A Cholesky factor L of F = A + sI (lower triangle; the upper one holds garbage).
pub struct Cholesky {
    l: DMatrix<f64>,
    /// The shift s.
    pub shift: f64,
}

impl Cholesky {
    /// Factorises A + sI, reading A's lower triangle. `None` if A + sI is not numerically
    /// positive definite or has non-finite entries.
    pub fn new(a: &DMatrix<f64>, shift: f64) -> Option<Cholesky> {
        let n = a.nrows();
        let mut l = a.clone();
        for i in 0..n {
            l[(i, i)] += shift;
        }
        let p = par();
        let mut mem = MemBuffer::new(llt::factor::cholesky_in_place_scratch::<f64>(
            n,
            p,
            Default::default(),
        ));
        let stack = MemStack::new(&mut mem);
        llt::factor::cholesky_in_place(
            view_mut(&mut l),
            Default::default(),
            p,
            stack,
            Default::default(),
        )
        .ok()?;
        let finite = (0..n).all(|j| l[(j, j)].is_finite() && l[(j, j)] > 0.0);
        finite.then_some(Cholesky { l, shift })
    }

    /// x ← F⁻¹ x (two triangular solves).
    pub fn solve_in_place(&self, x: &mut DVector<f64>) {
        let n = x.len();
        let rhs = faer::MatMut::from_column_major_slice_mut(x.as_mut_slice(), n, 1);
        let mut mem = MemBuffer::new(llt::solve::solve_in_place_scratch::<f64>(n, 1, par()));
        llt::solve::solve_in_place(view(&self.l), rhs, par(), MemStack::new(&mut mem));
    }
}

/// y = A x for symmetric A (faer's matrix-vector product).
pub fn symv(a: &DMatrix<f64>, x: &DVector<f64>) -> DVector<f64> {
    let mut y = DVector::zeros(a.nrows());
    let n = x.len();
    crate::linalg::matmul_into(
        faer::MatMut::from_column_major_slice_mut(y.as_mut_slice(), a.nrows(), 1),
        view(a),
        faer::MatRef::from_column_major_slice(x.as_slice(), n, 1),
        1.0,
    );
    y
}

/// A fixed vector with components of every size and sign in every coordinate (no RNG needed,
/// so runs stay reproducible): the part of a Lanczos start that no eigenvector is orthogonal to.
fn probe(n: usize) -> DVector<f64> {
    DVector::from_fn(n, |i, _| {
        let t = (i as f64 + 1.0) * 0.618_033_988_749_894_9;
        (t - t.floor()) - 0.5 + 1e-3
    })
}

/// A Ritz pair of a Lanczos run: ρ, its vector x, and whether it met the convergence test.
pub struct Ritz {
    pub value: f64,
    pub vector: DVector<f64>,
    pub converged: bool,
}

/// The largest eigenvalue ρ of a symmetric positive operator `op` and its eigenvector, by
/// Lanczos with full reorthogonalisation from `start`; the best pair found if the budget runs
/// out first (`converged` false). `None` for a zero or non-finite start or operator.
///
/// ```text
/// q₁ = start/‖start‖,   w = op(q_k) − α_k q_k − β_{k−1} q_{k−1},   α_k = q_kᵀ op(q_k),
/// β_k = ‖w‖,   q_{k+1} = w/β_k;   ρ = the largest eigenvalue of the tridiagonal T_k,
/// converged when `done(ρ, β_k |s_k|, ρ − ρ₂)`   (s: ρ's eigenvector of T_k, s_k its last
/// entry; β_k |s_k| = ‖op(x) − ρx‖ bounds the distance from ρ to an eigenvalue; ρ₂: the
/// second largest Ritz value, and the gap 0 while there is none)
/// ```
///
/// In exact arithmetic ρ never exceeds the largest eigenvalue, whatever the budget.
pub fn lanczos_top(
    mut op: impl FnMut(&DVector<f64>) -> DVector<f64>,
    start: &DVector<f64>,
    done: impl Fn(f64, f64, f64) -> bool,
    budget: usize,
) -> Option<Ritz> {
    let n = start.len();
    let norm = start.norm();
    if n == 0 || !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    let mut q: Vec<DVector<f64>> = vec![start / norm];
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    let budget = budget.clamp(1, n);
    for k in 0..budget {
        let mut w = op(&q[k]);
        let a = q[k].dot(&w);
        if !a.is_finite() {
            return None;
        }
        alpha.push(a);
        // Full reorthogonalisation (twice is enough), which also removes α_k q_k and β q_{k−1}.
        for _ in 0..2 {
            for qj in &q {
                let c = qj.dot(&w);
                w.axpy(-c, qj, 1.0);
            }
        }
        let b = w.norm();
        let eig = tridiagonal(&alpha, &beta).symmetric_eigen();
        let (top, &rho) = eig
            .eigenvalues
            .iter()
            .enumerate()
            .max_by(|x, y| x.1.total_cmp(y.1))?;
        let s = eig.eigenvectors.column(top);
        // The gap to the second largest Ritz value; unknown (0) while there is one.
        let gap = eig
            .eigenvalues
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != top)
            .map(|(_, &v)| rho - v)
            .reduce(f64::min)
            .unwrap_or(0.0);
        let converged = done(rho, b * s[k].abs(), gap) || b <= 1e-300 || k + 1 == n;
        if converged || k + 1 == budget {
            let mut x = DVector::zeros(n);
            for (qj, &sj) in q.iter().zip(s.iter()) {
                x.axpy(sj, qj, 1.0);
            }
            return Some(Ritz {
                value: rho,
                vector: x,
                converged,
            });
        }
        beta.push(b);
        q.push(w / b);
    }
    None
}

fn tridiagonal(alpha: &[f64], beta: &[f64]) -> DMatrix<f64> {
    let k = alpha.len();
    DMatrix::from_fn(k, k, |i, j| match i.abs_diff(j) {
        0 => alpha[i],
        1 => beta[i.min(j)],
        _ => 0.0,
    })
}

/// λ_min(A) as found by [`lambda_min`].
pub struct MinEigen {
    /// An upper bound on λ_min(A) (clamped at 0), equal to it once converged.
    pub value: f64,
    /// Its eigenvector.
    pub vector: DVector<f64>,
    /// Converged to `RELATIVE_TOL` above ε₀, to `BELOW_EPS0_TOL`·ε₀ below it.
    pub converged: bool,
}

/// λ_min(A) from the factor F = A + sI: the largest eigenvalue of F⁻¹ is 1/(λ_min + s), and a
/// residual r of F⁻¹ puts λ_min within r/ρ² of 1/ρ − s (a bound), and about r²/(gap·ρ²) from
/// it once ρ is the Ritz value nearest F⁻¹'s largest eigenvalue (an estimate: the gap to the
/// next Ritz value can exceed the true one). Above ε₀ converged when the estimate is below
/// `RELATIVE_TOL`·λ_min and the bound below `CERTIFIED_TOL`·λ_min, the accuracy the issue asks
/// of λ_min (measured over the first twelve GN steps at N = 500, τ₀ = 1: 10–16 Lanczos steps,
/// against 20–26 with the bound alone at 1e-12). Never below λ_min even when not converged
/// (Lanczos's ρ never exceeds F⁻¹'s largest eigenvalue).
pub fn lambda_min(chol: &Cholesky, eps0: f64, warm: Option<&DVector<f64>>) -> Option<MinEigen> {
    let n = chol.l.nrows();
    let mut start = probe(n);
    if let Some(v) = warm.filter(|v| v.len() == n && v.iter().all(|x| x.is_finite())) {
        // Mostly last step's eigenvector, with a little of every direction.
        start = v.normalize() + start.normalize() * 1e-3;
    }
    let ritz = lanczos_top(
        |q| {
            let mut y = q.clone();
            chol.solve_in_place(&mut y);
            y
        },
        &start,
        |rho, residual, gap| {
            let lambda = 1.0 / rho - chol.shift;
            // An eigenvalue of F⁻¹ lies within r of ρ (so λ_min within r/ρ² of 1/ρ − s), and
            // about r²/gap from it once ρ is the Ritz value nearest it (λ_min: r²/(gap·ρ²)).
            let bound = residual / (rho * rho);
            if lambda > eps0 {
                let estimate = residual * residual / (gap * rho * rho);
                bound <= CERTIFIED_TOL * lambda && estimate <= RELATIVE_TOL * lambda
            } else {
                bound <= BELOW_EPS0_TOL * eps0
            }
        },
        LANCZOS_BUDGET,
    )?;
    (ritz.value > 0.0).then(|| MinEigen {
        value: (1.0 / ritz.value - chol.shift).max(0.0),
        vector: ritz.vector,
        converged: ritz.converged,
    })
}

/// λ_max(A) by Lanczos on A (records only), to a relative residual of 1e-10.
pub fn lambda_max(a: &DMatrix<f64>) -> Option<f64> {
    if a.nrows() == 0 {
        return Some(0.0);
    }
    let ritz = lanczos_top(
        |q| symv(a, q),
        &probe(a.nrows()),
        |rho, res, _| res <= 1e-10 * rho,
        100,
    )?;
    ritz.converged.then_some(ritz.value)
}

/// z = (A + εI)⁻¹ g given a factor of A + sI: exact when ε = s, by iterative refinement
/// z ← z + F⁻¹(g − (A + εI) z) when ε is close to s. `None` if refinement is not worth it.
fn solve_shifted(
    chol: &Cholesky,
    a: &DMatrix<f64>,
    eps: f64,
    lambda_min: f64,
    g: &DVector<f64>,
) -> Option<DVector<f64>> {
    let gap = eps - chol.shift;
    if gap.abs() > REFINE_RATIO * (lambda_min + chol.shift) {
        return None;
    }
    let mut z = g.clone();
    chol.solve_in_place(&mut z);
    let gnorm = g.norm();
    // At least one refinement step even when ε = s: A + εI is ill-conditioned (up to
    // λ_max/ε₀ ~ 10⁷), and one step takes z from the factor's accuracy to the matrix's.
    let mut last = f64::INFINITY;
    for _ in 0..REFINE_BUDGET {
        let mut r = g - symv(a, &z) - &z * eps;
        let rnorm = r.norm();
        // Done at round-off: the residual is tiny, or no longer shrinks (it stalls near
        // 1e-15·‖g‖; measured at N = 500, τ₀ = 1: 5 useful steps, then 11 that were not).
        if rnorm <= 1e-15 * gnorm || rnorm > 0.5 * last {
            break;
        }
        last = rnorm;
        chol.solve_in_place(&mut r);
        let dz = r.norm();
        z += &r;
        if dz <= 1e-16 * z.norm() {
            break;
        }
    }
    Some(z)
}

/// ε = max(ε₀, λ_min(A)) and z = (A + εI)⁻¹ g, updating `warm` for the next step. `None` when
/// the fast path cannot certify ε (the caller then uses the eigendecomposition). Below ε₀ an
/// unconverged λ_min still certifies ε = ε₀ (it is an upper bound); `lambda_min_converged`
/// then says that only the recorded λ_min is uncertain.
pub fn solve(
    a: &DMatrix<f64>,
    g: &DVector<f64>,
    eps0: f64,
    warm: &mut WarmStart,
) -> Option<Damped> {
    if !a.iter().all(|x| x.is_finite()) {
        return None;
    }
    let shift = warm.shift.unwrap_or(eps0).max(eps0);
    let chol = Cholesky::new(a, shift)?;
    let min = lambda_min(&chol, eps0, warm.vector.as_ref())?;
    if !min.converged && min.value > eps0 {
        return None;
    }
    let eps = eps0.max(min.value);
    let z = match solve_shifted(&chol, a, eps, min.value, g) {
        Some(z) => z,
        None => solve_shifted(&Cholesky::new(a, eps)?, a, eps, min.value, g)?,
    };
    *warm = WarmStart {
        shift: Some(eps),
        vector: Some(min.vector),
    };
    z.iter().all(|x| x.is_finite()).then_some(Damped {
        z,
        eps,
        lambda_min: min.value,
        lambda_min_converged: min.converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A = Q diag(λ) Qᵀ with a known spectrum and a dense orthogonal Q.
    fn with_spectrum(values: &[f64]) -> DMatrix<f64> {
        let n = values.len();
        let m = DMatrix::from_fn(n, n, |i, j| {
            ((i * 7 + j * 13) % 17) as f64 - 8.0 + if i == j { 30.0 } else { 0.0 }
        });
        let q = m.qr().q();
        &q * DMatrix::from_diagonal(&DVector::from_column_slice(values)) * q.transpose()
    }

    #[test]
    fn lambda_min_and_max_of_a_known_spectrum() {
        let values: Vec<f64> = (0..60).map(|i| 3e-4 * 1.3f64.powi(i)).collect();
        let a = with_spectrum(&values);
        let chol = Cholesky::new(&a, 1e-7).unwrap();
        let MinEigen {
            value: lmin,
            vector: x,
            converged,
        } = lambda_min(&chol, 1e-7, None).unwrap();
        assert!(converged);
        assert!((lmin - 3e-4).abs() <= 1e-10 * 3e-4, "λ_min {lmin}");
        // The vector only warm-starts the next step's Lanczos run. Lanczos stops on λ_min's
        // error estimate r²/(gap·ρ²), so the vector's own error is about r/gap and its
        // Rayleigh quotient's its square (measured: 4.7e-9 relative; within 1e-9 when Lanczos
        // ran until r/ρ² ≤ 1e-12·λ_min).
        let rq = x.dot(&symv(&a, &x)) / x.norm_squared();
        assert!(
            (rq - 3e-4).abs() <= 1e-7 * 3e-4,
            "the eigenvector's Rayleigh quotient {rq}"
        );
        let lmax = lambda_max(&a).unwrap();
        assert!(
            (lmax - values[59]).abs() <= 1e-9 * values[59],
            "λ_max {lmax}"
        );
    }

    #[test]
    fn solve_matches_the_dense_formula_above_and_below_eps0() {
        for lowest in [2e-3, 1e-12] {
            let mut values: Vec<f64> = (0..40).map(|i| 1e-2 * 1.2f64.powi(i)).collect();
            values[0] = lowest;
            let a = with_spectrum(&values);
            let g = DVector::from_fn(40, |i, _| (i as f64 * 0.37).sin());
            let eps0 = 1e-7;
            let mut warm = WarmStart::default();
            let d = solve(&a, &g, eps0, &mut warm).unwrap();
            let eps = eps0.max(lowest);
            assert!((d.eps - eps).abs() <= 1e-9 * eps, "ε {} vs {eps}", d.eps);
            let mut shifted = a.clone();
            for i in 0..40 {
                shifted[(i, i)] += eps;
            }
            let residual = &shifted * &d.z - &g;
            let scale = shifted.norm() * d.z.norm() + g.norm();
            assert!(
                residual.norm() <= 1e-14 * scale,
                "residual {:e} vs {scale:e}",
                residual.norm()
            );
            // A warm start from the answer itself, with a shift that needs refinement.
            warm.shift = Some(eps * 1.01);
            let again = solve(&a, &g, eps0, &mut warm).unwrap();
            // Both are solutions of a system with condition number κ: equal to ~κ·u.
            let kappa = (values[39] + eps) / (lowest + eps);
            let diff = (&again.z - &d.z).norm() / d.z.norm();
            assert!(
                diff <= 10.0 * kappa * f64::EPSILON,
                "warm: z differs by {diff:e}, ε {:e} vs {:e}",
                again.eps,
                d.eps
            );
        }
    }
}
