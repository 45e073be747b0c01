//! The two update rules (DESIGN.md §3). Both move θ by −λ Jᵀ z; they differ in z, the
//! direction in output space, and each rule is one arm of [`direction`].

use crate::config::Method;
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

/// A direction in output space and what was learned computing it.
pub struct Direction {
    /// z: the update is θ ← θ − λ Jᵀ z.
    pub z: DVector<f64>,
    /// The damping ε used (GN only).
    pub eps: Option<f64>,
    /// The spectrum of A, if it was computed.
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
/// `kxx` is X Xᵀ + 1 (constant during a run). Also returns S Sᵀ / M², which the last-layer
/// refit reuses.
pub fn gram(feat: &Features, kxx: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    let m = feat.s.ncols() as f64;
    let inv_m2 = 1.0 / (m * m);
    let ss = linalg::syrk(&feat.s, inv_m2);
    let dmat = feat.d.as_ref().expect("the Gram matrix needs D");
    let a = if dmat.iter().all(|&x| x == 0.0) {
        // v = 0 (the first step): D = 0 and the second term vanishes.
        ss.clone()
    } else {
        let mut dd = linalg::syrk(dmat, inv_m2);
        dd.component_mul_assign(kxx);
        dd += &ss;
        dd
    };
    (a, ss)
}

/// λ_min and λ_max from nondecreasing eigenvalues; λ_min clamped at 0 (A is PSD).
pub fn spectrum(values: &[f64]) -> Spectrum {
    Spectrum {
        sigma_min: values.first().copied().unwrap_or(0.0).max(0.0),
        sigma_max: values.last().copied().unwrap_or(0.0),
    }
}

/// The output-space direction z of one step, from the output gradient g = (f − y)/N.
///
/// `a` is the Gram matrix A when the caller computed it (always for GN; at record points for
/// GD, whose spectrum is then recorded too).
pub fn direction(method: Method, g: &DVector<f64>, a: Option<&DMatrix<f64>>, eps0: f64) -> Direction {
    match method {
        // GD: θ ← θ − λ Jᵀ g   (this is θ − λ ∇L)
        Method::Gd => {
            let values = a.map(SymEig::values_of);
            Direction {
                z: g.clone(),
                eps: None,
                spectrum: values.as_ref().and_then(|v| v.as_deref().map(spectrum)),
                finite: !matches!(values, Some(None)),
            }
        }
        // GN: ε = max(ε₀, λ_min(A)),  z = (A + εI)⁻¹ g,  θ ← θ − λ Jᵀ z
        Method::Gn => {
            let a = a.expect("GN needs the Gram matrix");
            match SymEig::new(a) {
                Some(eig) => {
                    let spec = spectrum(&eig.values);
                    let eps = eps0.max(spec.sigma_min);
                    let z = eig.apply(g, |l| 1.0 / (l.max(0.0) + eps));
                    Direction { z, eps: Some(eps), spectrum: Some(spec), finite: true }
                }
                None => Direction { z: g.clone(), eps: None, spectrum: None, finite: false },
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
