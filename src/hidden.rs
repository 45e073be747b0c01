//! The hidden layer's kernel: for one unit i on a batch X (N×d),
//!
//! ```text
//! h = X u_i + b_i,   S_{·i} = σ(h),   D_{·i} = v_i σ'(h)
//! ```
//!
//! fused in one pass, 16 inputs at a time held in registers: h is never written to memory, and
//! the exponential of SiLU is inlined so the loop vectorises (AVX2 with FMA natively when the
//! CPU has them, `simd128` in wasm). This is the hot loop of a GD step (N·M entries).

use crate::activation::{MulAdd, Pointwise, ReluFn, Separate, SiluWith, TanhFn};
use crate::config::Activation;

/// Inputs handled together in registers.
const LANES: usize = 16;

/// One hidden unit on a batch.
pub struct Unit<'a> {
    /// X, column-major N×d.
    pub x: &'a [f64],
    /// u_i (d entries).
    pub u: &'a [f64],
    /// b_i.
    pub b: f64,
}

/// s ← σ(X u + b) and, if given, ds ← v · σ'(X u + b) (the unit's column of S and of D).
pub fn unit(act: Activation, unit: &Unit, s: &mut [f64], ds: Option<(&mut [f64], f64)>) {
    assert_eq!(unit.x.len(), s.len() * unit.u.len(), "X must be N×d");
    if let Some((ds, _)) = &ds {
        assert_eq!(ds.len(), s.len());
    }
    #[cfg(target_arch = "x86_64")]
    if crate::activation::has_avx2_fma() {
        // SAFETY: the CPU has the features the function was compiled for.
        return unsafe { unit_avx2(act, unit, s, ds) };
    }
    unit_for::<Separate>(act, unit, s, ds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn unit_avx2(act: Activation, unit: &Unit, s: &mut [f64], ds: Option<(&mut [f64], f64)>) {
    unit_for::<crate::activation::Fused>(act, unit, s, ds)
}

#[inline(always)]
fn unit_for<F: MulAdd>(act: Activation, unit: &Unit, s: &mut [f64], ds: Option<(&mut [f64], f64)>) {
    match act {
        Activation::Silu => rows::<F, SiluWith<F>>(unit, s, ds),
        Activation::Relu => rows::<F, ReluFn>(unit, s, ds),
        Activation::Tanh => rows::<F, TanhFn>(unit, s, ds),
    }
}

/// All rows: blocks of [`LANES`], then the rest one by one.
#[inline(always)]
fn rows<F: MulAdd, S: Pointwise>(unit: &Unit, s: &mut [f64], mut ds: Option<(&mut [f64], f64)>) {
    let n = s.len();
    let mut r = 0;
    while r + LANES <= n {
        block::<F, S, LANES>(unit, n, r, s, ds.as_mut().map(|(d, v)| (&mut **d, *v)));
        r += LANES;
    }
    while r < n {
        block::<F, S, 1>(unit, n, r, s, ds.as_mut().map(|(d, v)| (&mut **d, *v)));
        r += 1;
    }
}

/// Rows r..r+L: h in registers, then σ (and v σ') written out.
#[inline(always)]
fn block<F: MulAdd, S: Pointwise, const L: usize>(
    unit: &Unit,
    n: usize,
    r: usize,
    s: &mut [f64],
    ds: Option<(&mut [f64], f64)>,
) {
    // h_l = b + Σ_j x_{r+l, j} u_j
    let mut h = [unit.b; L];
    for (j, &uj) in unit.u.iter().enumerate() {
        let xj = &unit.x[j * n + r..j * n + r + L];
        for l in 0..L {
            h[l] = F::mul_add(xj[l], uj, h[l]);
        }
    }
    let s = &mut s[r..r + L];
    match ds {
        None => {
            for l in 0..L {
                s[l] = S::value(h[l]);
            }
        }
        Some((ds, v)) => {
            let ds = &mut ds[r..r + L];
            for l in 0..L {
                let (sl, dl) = S::value_slope(h[l]);
                s[l] = sl;
                ds[l] = v * dl;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused kernel against the scalar reference forms σ, σ' at h = X u + b.
    #[test]
    fn unit_matches_scalar_forms() {
        for act in [Activation::Silu, Activation::Relu, Activation::Tanh] {
            for n in [1, 15, 16, 17, 203] {
                let d = 3;
                let x: Vec<f64> = (0..n * d).map(|k| ((k * 37) % 101) as f64 / 25.0 - 2.0).collect();
                let u = [0.7, -1.3, 2.1];
                let (b, v) = (0.3, -1.7);
                let unit = Unit { x: &x, u: &u, b };
                let (mut s, mut ds, mut s_only) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                super::unit(act, &unit, &mut s, Some((&mut ds, v)));
                super::unit(act, &unit, &mut s_only, None);
                for r in 0..n {
                    let h: f64 = b + (0..d).map(|j| x[j * n + r] * u[j]).sum::<f64>();
                    let tol = 1e-14 * (1.0 + h.abs());
                    assert!((s[r] - act.sigma(h)).abs() <= tol, "{act:?} σ({h}) n={n}");
                    assert!((ds[r] - v * act.sigma_prime(h)).abs() <= 4.0 * tol, "{act:?} σ'({h}) n={n}");
                    assert_eq!(s[r], s_only[r], "S the same with or without D");
                }
            }
        }
    }
}
