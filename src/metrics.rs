//! What a run records besides the step (DESIGN.md §4): losses, teacher alignment, and the
//! last-layer refit (the random-features baseline and the hidden-learning probe).

use crate::config::Activation;
use crate::linalg::SymEig;
use crate::network::Network;
use nalgebra::{DMatrix, DVector};

/// Relative cut-off on the spectrum of S Sᵀ/M² in the refit's pseudo-inverse.
pub const REFIT_RCOND: f64 = 1e-10;

/// L = (1/2N) Σ_n (f_n − y_n)².
pub fn loss(f: &DVector<f64>, y: &DVector<f64>) -> f64 {
    (f - y).norm_squared() / (2.0 * y.len() as f64)
}

/// The test loss of `net` and, if given, of the network with the last layer `other_v` instead
/// (same U, b), in one fused pass over the test set (the test features are never stored).
pub fn test_losses(
    net: &Network,
    act: Activation,
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    other_v: Option<&DVector<f64>>,
) -> (f64, Option<f64>) {
    let (f, f_other) = net.outputs_fused(act, x, other_v);
    (loss(&f, y), f_other.map(|f| loss(&f, y)))
}

/// Teacher alignment (0 = every unit points along a teacher unit):
///
/// ```text
/// Σ_i p_i min_j ‖û_i − ŵ*_j‖,   p_i = ‖u_i‖² / Σ_k ‖u_k‖²
/// ```
///
/// with û the unit-normalised rows of U and ŵ* those of the teacher's U*.
pub fn alignment(u: &DMatrix<f64>, u_teacher: &DMatrix<f64>) -> f64 {
    let unit = |row: nalgebra::RowDVector<f64>| {
        let n = row.norm();
        if n > 0.0 {
            row / n
        } else {
            row
        }
    };
    let teacher: Vec<_> = u_teacher.row_iter().map(|r| unit(r.into_owned())).collect();
    let total: f64 = u.row_iter().map(|r| r.norm_squared()).sum();
    if total == 0.0 || teacher.is_empty() {
        return f64::NAN;
    }
    u.row_iter()
        .map(|r| {
            let p = r.norm_squared() / total;
            let ui = unit(r.into_owned());
            let dist = teacher
                .iter()
                .map(|w| (&ui - w).norm())
                .fold(f64::INFINITY, f64::min);
            p * dist
        })
        .sum()
}

/// The minimum-norm least-squares last layer for fixed hidden features S (N×M):
/// the v solving (1/M) S v = y, v = (1/M) Sᵀ K⁺ y with K = S Sᵀ/M² (`ss`), the
/// pseudo-inverse cutting eigenvalues below [`REFIT_RCOND`] · λ_max(K).
pub fn refit_last_layer(
    s: &DMatrix<f64>,
    ss: &DMatrix<f64>,
    y: &DVector<f64>,
) -> Option<DVector<f64>> {
    let eig = SymEig::new(ss)?;
    let cut = REFIT_RCOND * eig.values.last().copied().unwrap_or(0.0).max(0.0);
    let c = eig.apply(y, |l| if l > cut { 1.0 / l } else { 0.0 });
    Some(s.tr_mul(&c) / s.ncols() as f64)
}
