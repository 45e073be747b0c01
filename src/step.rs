//! The two update rules (DESIGN.md §3). Both move θ by −λ Jᵀ z; they differ in z, the
//! direction in output space, and each rule is one arm of [`direction`].

use crate::config::Method;
use crate::damping::{self, WarmStart};
use crate::linalg::{self, SymEig};
use crate::network::{jacobian_t_times, Features, Network};
use nalgebra::{DMatrix, DVector};

/// The spectrum of the NTK Gram matrix A = J Jᵀ at the current θ, as a step reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spectrum {
    /// λ_min(A), negative round-off clamped to 0.
    pub sigma_min: f64,
    /// λ_max(A).
    pub sigma_max: f64,
}

/// How GN finds ε and z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GnSolver {
    /// Cholesky of A + sI, λ_min by shift-and-invert Lanczos ([`damping::solve`]); the
    /// eigendecomposition only where that cannot certify its answer.
    #[default]
    Cholesky,
    /// The full symmetric eigendecomposition A = QΛQᵀ at every step: the tested reference.
    Eig,
}

/// What GN carries from step to step: its solver, the warm start of the next Lanczos run,
/// and how often the fast path fell back to the eigendecomposition.
#[derive(Clone, Debug, Default)]
pub struct GnState {
    pub solver: GnSolver,
    pub warm: WarmStart,
    pub fallbacks: u64,
}

/// A direction in output space and what was learned computing it.
pub struct Direction {
    /// z: the update is θ ← θ − λ Jᵀ z.
    pub z: DVector<f64>,
    /// The damping ε used (GN only).
    pub eps: Option<f64>,
    /// The spectrum of A, if it was asked for.
    pub spectrum: Option<Spectrum>,
    /// False if the Gram matrix had non-finite entries (the run is diverging).
    pub finite: bool,
}

/// The NTK Gram matrix from the structured formula, never from an explicit J:
///
/// ```text
/// A = (1/M²) [ S Sᵀ + (D Dᵀ) ⊙ (X Xᵀ + 1) ]
/// ```
///
/// With `want_ss` it also returns S Sᵀ/M², which the last-layer refit reuses (`None` means
/// "equal to A": v = 0, so D = 0, the first step). The two products are independent and run
/// side by side, one thread each ([`linalg::syrk_lower_pair`]). Measured (`gn bench`,
/// 2 threads, AVX-512) against both threads on each product in turn: 29.5 against 30.8–33.0
/// ms at N = 500, 92–97 against 105–116 at N = 1000, 393–400 against 412–443 at N = 2000,
/// for one more N×N buffer (the peak memory at N = 2000 stays at 385 MB: it is reached
/// elsewhere).
pub fn gram(
    feat: &Features,
    x: &DMatrix<f64>,
    want_ss: bool,
) -> (DMatrix<f64>, Option<DMatrix<f64>>) {
    let m = feat.s.ncols() as f64;
    let inv_m2 = 1.0 / (m * m);
    let dmat = feat.d.as_ref().expect("the Gram matrix needs D");
    if dmat.iter().all(|&x| x == 0.0) {
        return (linalg::syrk(&feat.s, inv_m2), None);
    }
    let (mut a, mut ss) = linalg::syrk_lower_pair(dmat, &feat.s, inv_m2);
    times_kxx_lower(&mut a, x);
    a += &ss; // lower triangles (both upper ones are zero); the mirror fixes the upper one
    linalg::mirror_lower(&mut a);
    if want_ss {
        linalg::mirror_lower(&mut ss);
    }
    (a, want_ss.then_some(ss))
}

/// a_ij ← a_ij · (x_i·x_j + 1) on the lower triangle (X Xᵀ + 1 is never stored).
fn times_kxx_lower(a: &mut DMatrix<f64>, x: &DMatrix<f64>) {
    let (n, d) = x.shape();
    let xs = x.as_slice();
    for j in 0..n {
        let col = &mut a.as_mut_slice()[j * n..(j + 1) * n];
        let mut k = vec![1.0; n - j];
        for c in 0..d {
            let xc = &xs[c * n..(c + 1) * n];
            let xjc = xc[j];
            for (ki, &xi) in k.iter_mut().zip(&xc[j..]) {
                *ki += xi * xjc;
            }
        }
        for (aij, ki) in col[j..].iter_mut().zip(&k) {
            *aij *= ki;
        }
    }
}

/// λ_min and λ_max from nondecreasing eigenvalues; λ_min clamped at 0 (A is PSD).
pub fn spectrum(values: &[f64]) -> Spectrum {
    Spectrum {
        sigma_min: values.first().copied().unwrap_or(0.0).max(0.0),
        sigma_max: values.last().copied().unwrap_or(0.0),
    }
}

/// λ_min(A) and λ_max(A) for a record: by Lanczos ([`damping`]) where it converges, from
/// the eigenvalues otherwise. `None` if A has non-finite entries.
/// `lambda_min`: λ_min(A) when the caller has it converged already.
pub fn spectrum_of(a: &DMatrix<f64>, eps0: f64, lambda_min: Option<f64>) -> Option<Spectrum> {
    let fast = || {
        let sigma_min = match lambda_min {
            Some(l) => l,
            None => {
                let min = damping::lambda_min(&damping::Cholesky::new(a, eps0)?, eps0, None)?;
                min.converged.then_some(min.value)?
            }
        };
        Some(Spectrum {
            sigma_min,
            sigma_max: damping::lambda_max(a)?,
        })
    };
    fast().or_else(|| SymEig::values_of(a).map(|v| spectrum(&v)))
}

/// The output-space direction z of one step, from the output gradient g = (f − y)/N.
///
/// `a` is the Gram matrix A when the caller computed it (always for GN; at record points for
/// GD, whose spectrum is then recorded too: `want_spectrum`).
pub fn direction(
    method: Method,
    g: &DVector<f64>,
    a: Option<&DMatrix<f64>>,
    eps0: f64,
    gn: &mut GnState,
    want_spectrum: bool,
) -> Direction {
    let finite = a.is_none_or(|a| a.iter().all(|x| x.is_finite()));
    if !finite {
        return Direction {
            z: g.clone(),
            eps: None,
            spectrum: None,
            finite,
        };
    }
    let spectrum_of = |a: Option<&DMatrix<f64>>, lmin| a.and_then(|a| spectrum_of(a, eps0, lmin));
    match method {
        // GD: θ ← θ − λ Jᵀ g   (this is θ − λ ∇L)
        Method::Gd => Direction {
            z: g.clone(),
            eps: None,
            spectrum: want_spectrum.then(|| spectrum_of(a, None)).flatten(),
            finite,
        },
        // GN: ε = max(ε₀, λ_min(A)),  z = (A + εI)⁻¹ g,  θ ← θ − λ Jᵀ z
        Method::Gn => {
            let a = a.expect("GN needs the Gram matrix");
            let fast = match gn.solver {
                GnSolver::Cholesky => damping::solve(a, g, eps0, &mut gn.warm),
                GnSolver::Eig => None,
            };
            if fast.is_none() && gn.solver == GnSolver::Cholesky {
                gn.fallbacks += 1;
            }
            let solved = fast
                .map(|d| (d.z, d.eps, d.lambda_min_converged.then_some(d.lambda_min)))
                .or_else(|| {
                    let eig = SymEig::new(a)?;
                    let sigma_min = spectrum(&eig.values).sigma_min;
                    let eps = eps0.max(sigma_min);
                    Some((
                        eig.apply(g, |l| 1.0 / (l.max(0.0) + eps)),
                        eps,
                        Some(sigma_min),
                    ))
                });
            match solved {
                Some((z, eps, lmin)) => Direction {
                    z,
                    eps: Some(eps),
                    spectrum: want_spectrum.then(|| spectrum_of(Some(a), lmin)).flatten(),
                    finite,
                },
                None => Direction {
                    z: g.clone(),
                    eps: None,
                    spectrum: None,
                    finite: false,
                },
            }
        }
    }
}

/// The parameter update Δθ = −λ Jᵀ z.
pub fn update(feat: &Features, x: &DMatrix<f64>, z: &DVector<f64>, lr: f64) -> Network {
    let mut delta = jacobian_t_times(feat, x, z);
    delta.u *= -lr;
    delta.b *= -lr;
    delta.v *= -lr;
    delta
}
