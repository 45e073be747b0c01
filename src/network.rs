//! The two-layer mean-field network f_θ(x) = (1/M) Σ_i v_i σ(u_i·x + b_i), its features on a
//! batch of inputs, its Jacobian-transpose product, and its parameter arithmetic.

use crate::config::Activation;
use crate::hidden;
use crate::linalg::{self, view};
use nalgebra::{DMatrix, DVector};

/// The parameters θ = (U ∈ ℝ^{M×d}, b ∈ ℝ^M, v ∈ ℝ^M) of a network (student or teacher).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub u: DMatrix<f64>,
    pub b: DVector<f64>,
    pub v: DVector<f64>,
}

/// The hidden layer on a batch X (N×d): S_{ni} = σ(h_{ni}) and D_{ni} = v_i σ'(h_{ni}),
/// with h_{ni} = u_i·x_n + b_i.
pub struct Features {
    /// S, N×M.
    pub s: DMatrix<f64>,
    /// D, N×M (absent when only outputs were asked for).
    pub d: Option<DMatrix<f64>>,
}

impl Default for Features {
    /// Empty, to be filled by [`Network::features_into`].
    fn default() -> Self {
        Features {
            s: DMatrix::zeros(0, 0),
            d: None,
        }
    }
}

impl Network {
    /// Hidden units M.
    pub fn m(&self) -> usize {
        self.u.nrows()
    }

    /// Input dimension d.
    pub fn d(&self) -> usize {
        self.u.ncols()
    }

    /// S and, if `with_d`, D on the rows of `x`: per unit i, in one fused pass
    /// ([`hidden::unit`]), h = X u_i + b_i, S_{·i} = σ(h), D_{·i} = v_i σ'(h).
    pub fn features(&self, act: Activation, x: &DMatrix<f64>, with_d: bool) -> Features {
        let mut out = Features::default();
        self.features_into(act, x, with_d, &mut out);
        out
    }

    /// [`Network::features`] into `out`, reusing its matrices when they have the right shape
    /// (a training loop then never allocates, zeroes or page-faults 2·N·M numbers per step).
    pub fn features_into(
        &self,
        act: Activation,
        x: &DMatrix<f64>,
        with_d: bool,
        out: &mut Features,
    ) {
        let (n, m, d) = (x.nrows(), self.m(), self.d());
        assert_eq!(x.ncols(), d, "inputs must have d columns");
        if out.s.shape() != (n, m) {
            out.s = DMatrix::zeros(n, m);
        }
        match (&out.d, with_d) {
            (Some(dm), true) if dm.shape() == (n, m) => {}
            (_, true) => out.d = Some(DMatrix::zeros(n, m)),
            (_, false) => out.d = None,
        }
        // U by rows, so that u_i is contiguous.
        let u_rows = self.u.transpose();
        let (b, v) = (&self.b, &self.v);
        let unit = |i: usize| hidden::Unit {
            x: x.as_slice(),
            u: &u_rows.as_slice()[i * d..(i + 1) * d],
            b: b[i],
        };
        linalg::for_each_column(&mut out.s, out.d.as_mut(), |i, col, dcol| {
            hidden::unit(act, &unit(i), col, dcol.map(|dc| (dc, v[i])))
        });
    }

    /// One GD step on the inputs `x` from the carry of the current θ (unit-major: unit i's
    /// N entries at `carry[i·N..(i+1)·N]`): θ ← θ − λ Jᵀ g, and `carry` becomes the new θ's.
    /// Per chunk of units, each unit's update ([`hidden::gd_unit_update`]), then the chunk's
    /// next outputs and carries with X's rows outer ([`hidden::forward_chunk_carry`]; unit by
    /// unit for d > [`hidden::CHUNK_MAX_D`]). Returns f at the new θ, bit-identical to
    /// [`Network::outputs_fused`] there (the same chunks, added in the same order).
    pub fn gd_step_carried(
        &mut self,
        act: Activation,
        x: &DMatrix<f64>,
        g: &DVector<f64>,
        lr: f64,
        carry: &mut [f64],
    ) -> DVector<f64> {
        let (n, m, d) = (x.nrows(), self.m(), self.d());
        assert_eq!(g.len(), n, "g has one entry per input");
        assert_eq!(carry.len(), n * m, "one carry per input and unit");
        let mut ut = self.u.transpose(); // column i is u_i
        let (xs, g) = (x.as_slice(), g.as_slice());
        type Chunk<'a> = (
            (&'a mut [f64], &'a mut [f64]),
            (&'a mut [f64], &'a mut [f64]),
        );
        let inv_m = 1.0 / m as f64;
        let step = |((u, carry), (b, v)): Chunk| {
            let (mut scratch, mut f) = (vec![0.0; n + d], DVector::zeros(n));
            // The chunk's updates, then its next outputs and carries.
            let units = u
                .chunks_mut(d)
                .zip(carry.chunks(n))
                .zip(b.iter_mut().zip(&mut *v));
            for ((u, carry), (b, v)) in units {
                let p = hidden::UnitMut { u, b, v };
                hidden::gd_unit_update(act, xs, p, g, lr, m, carry, &mut scratch);
            }
            if d <= hidden::CHUNK_MAX_D {
                let mut padded = vec![0.0; b.len() * hidden::CHUNK_MAX_D];
                for (p, u) in padded.chunks_mut(hidden::CHUNK_MAX_D).zip(u.chunks(d)) {
                    p[..d].copy_from_slice(u);
                }
                let c: Vec<f64> = v.iter().map(|v| v * inv_m).collect();
                let weights = (&padded[..], &b[..], &c[..]);
                hidden::forward_chunk_carry(act, xs, weights, f.as_mut_slice(), carry);
            } else {
                for (i, carry) in carry.chunks_mut(n).enumerate() {
                    let unit = hidden::Unit {
                        x: xs,
                        u: &u[i * d..(i + 1) * d],
                        b: b[i],
                    };
                    hidden::forward_unit_carry(act, &unit, v[i] * inv_m, f.as_mut_slice(), carry);
                }
            }
            f
        };
        let (u, b, v) = (
            ut.as_mut_slice(),
            self.b.as_mut_slice(),
            self.v.as_mut_slice(),
        );
        let c = linalg::UNIT_CHUNK;
        #[cfg(not(target_arch = "wasm32"))]
        let parts: Vec<DVector<f64>> = {
            use rayon::prelude::*;
            u.par_chunks_mut(c * d)
                .zip(carry.par_chunks_mut(c * n))
                .zip(b.par_chunks_mut(c).zip(v.par_chunks_mut(c)))
                .map(step)
                .collect()
        };
        #[cfg(target_arch = "wasm32")]
        let parts: Vec<DVector<f64>> = u
            .chunks_mut(c * d)
            .zip(carry.chunks_mut(c * n))
            .zip(b.chunks_mut(c).zip(v.chunks_mut(c)))
            .map(step)
            .collect();
        self.u = ut.transpose();
        sum_in_order(n, parts)
    }

    /// f_θ on the rows of `x` as [`Network::outputs_fused`] computes it, and each entry's
    /// carry (unit-major, as [`Network::gd_step_carried`] takes it).
    pub fn outputs_carried(
        &self,
        act: Activation,
        x: &DMatrix<f64>,
        carry: &mut [f64],
    ) -> DVector<f64> {
        let (n, m, d) = (x.nrows(), self.m(), self.d());
        assert_eq!(carry.len(), n * m, "one carry per input and unit");
        let ut = self.u.transpose();
        let inv_m = 1.0 / m as f64;
        let chunk = |(c, carry): (usize, &mut [f64])| {
            let mut f = DVector::zeros(n);
            let first = c * linalg::UNIT_CHUNK;
            for (k, carry) in carry.chunks_mut(n).enumerate() {
                let i = first + k;
                let unit = hidden::Unit {
                    x: x.as_slice(),
                    u: &ut.as_slice()[i * d..(i + 1) * d],
                    b: self.b[i],
                };
                let c = self.v[i] * inv_m;
                hidden::forward_unit_carry(act, &unit, c, f.as_mut_slice(), carry);
            }
            f
        };
        let per_chunk = linalg::UNIT_CHUNK * n;
        #[cfg(not(target_arch = "wasm32"))]
        let parts: Vec<DVector<f64>> = {
            use rayon::prelude::*;
            carry
                .par_chunks_mut(per_chunk)
                .enumerate()
                .map(chunk)
                .collect()
        };
        #[cfg(target_arch = "wasm32")]
        let parts: Vec<DVector<f64>> = carry.chunks_mut(per_chunk).enumerate().map(chunk).collect();
        sum_in_order(n, parts)
    }

    /// f_θ on the rows of `x` and, if given, the outputs with another last layer `other_v`
    /// instead, fused unit by unit ([`hidden::forward_unit`]): S is never stored.
    pub fn outputs_fused(
        &self,
        act: Activation,
        x: &DMatrix<f64>,
        other_v: Option<&DVector<f64>>,
    ) -> (DVector<f64>, Option<DVector<f64>>) {
        let (n, m, d) = (x.nrows(), self.m(), self.d());
        let ut = self.u.transpose();
        let inv_m = 1.0 / m as f64;
        let parts = linalg::map_unit_chunks(m, |units| {
            let mut f = DVector::zeros(n);
            let mut f2 = other_v.map(|_| DVector::zeros(n));
            for i in units {
                let unit = hidden::Unit {
                    x: x.as_slice(),
                    u: &ut.as_slice()[i * d..(i + 1) * d],
                    b: self.b[i],
                };
                let second = other_v
                    .zip(f2.as_mut())
                    .map(|(v2, f2)| (v2[i] * inv_m, f2.as_mut_slice()));
                hidden::forward_unit(act, &unit, self.v[i] * inv_m, f.as_mut_slice(), second);
            }
            (f, f2)
        });
        let mut out = (DVector::zeros(n), other_v.map(|_| DVector::zeros(n)));
        for (f, f2) in parts {
            out.0 += f;
            if let (Some(o), Some(p)) = (out.1.as_mut(), f2) {
                *o += p;
            }
        }
        out
    }

    /// Outputs f = (1/M) S v for features S of this network.
    pub fn outputs(&self, s: &DMatrix<f64>) -> DVector<f64> {
        let mut f = DVector::zeros(s.nrows());
        linalg::matmul_into(
            view_mut_vec(&mut f),
            view(s),
            view_vec(&self.v),
            1.0 / self.m() as f64,
        );
        f
    }

    /// f_θ on the rows of `x`.
    pub fn predict(&self, act: Activation, x: &DMatrix<f64>) -> DVector<f64> {
        self.outputs(&self.features(act, x, false).s)
    }

    /// θ += α · δ.
    pub fn axpy(&mut self, alpha: f64, delta: &Network) {
        self.u.zip_apply(&delta.u, |a, d| *a += alpha * d);
        self.b.zip_apply(&delta.b, |a, d| *a += alpha * d);
        self.v.zip_apply(&delta.v, |a, d| *a += alpha * d);
    }

    /// Euclidean norm of all parameters together.
    pub fn norm(&self) -> f64 {
        (self.u.norm_squared() + self.b.norm_squared() + self.v.norm_squared()).sqrt()
    }
}

/// Jᵀ z for the Jacobian J (N×P) of the N outputs with respect to θ, from the features
/// (never forming J):
///
/// ```text
/// (Jᵀz) for v_i = (1/M) Σ_n z_n S_{ni}
/// (Jᵀz) for u_i = (1/M) Σ_n z_n D_{ni} x_n,   for b_i = (1/M) Σ_n z_n D_{ni}
/// ```
pub fn jacobian_t_times(feat: &Features, x: &DMatrix<f64>, z: &DVector<f64>) -> Network {
    // Measured (README, "Speed"): per unit is 8–13 % faster natively for GD; in wasm faer's
    // products are (GD 313 against 252 it/s at N = 200, M = 1000).
    if cfg!(target_arch = "wasm32") {
        jacobian_t_times_gemm(feat, x, z)
    } else {
        jacobian_t_times_per_unit(feat, x, z)
    }
}

/// [`jacobian_t_times`] unit by unit ([`hidden::jacobian_t_unit`]): each unit's columns of S
/// and D are read once, and nothing is copied (a GEMM packs D first).
pub fn jacobian_t_times_per_unit(feat: &Features, x: &DMatrix<f64>, z: &DVector<f64>) -> Network {
    let (n, d) = x.shape();
    let m = feat.s.ncols();
    let scale = 1.0 / m as f64;
    let dmat = feat
        .d
        .as_ref()
        .expect("Jᵀz needs D: compute features with_d");
    let zx = z_times_x1(x, z);
    let (s, dm, zs, zxs) = (
        feat.s.as_slice(),
        dmat.as_slice(),
        z.as_slice(),
        zx.as_slice(),
    );
    // Per unit (u_i, b_i, v_i) · M, in chunks of units; each unit's sums do not depend on the
    // others, so neither do the results on the thread count.
    let parts = linalg::map_unit_chunks(m, |units| {
        let mut out = vec![0.0; units.len() * (d + 2)];
        for (i, o) in units.zip(out.chunks_mut(d + 2)) {
            let col = i * n..(i + 1) * n;
            hidden::jacobian_t_unit(&s[col.clone()], &dm[col], zs, zxs, o);
        }
        out
    });
    let mut delta = Network {
        u: DMatrix::zeros(m, d),
        b: DVector::zeros(m),
        v: DVector::zeros(m),
    };
    for (i, o) in parts.iter().flat_map(|p| p.chunks(d + 2)).enumerate() {
        for (j, &oj) in o[..d].iter().enumerate() {
            delta.u[(i, j)] = scale * oj;
        }
        delta.b[i] = scale * o[d];
        delta.v[i] = scale * o[d + 1];
    }
    delta
}

/// [`jacobian_t_times`] by two faer products: Sᵀz, then Dᵀ [diag(z) X, z] for u and b together.
pub fn jacobian_t_times_gemm(feat: &Features, x: &DMatrix<f64>, z: &DVector<f64>) -> Network {
    let d = x.ncols();
    let m = feat.s.ncols();
    let scale = 1.0 / m as f64;
    let mut v = DVector::zeros(m);
    linalg::matmul_into(
        view_mut_vec(&mut v),
        view(&feat.s).transpose(),
        view_vec(z),
        scale,
    );
    let dmat = feat
        .d
        .as_ref()
        .expect("Jᵀz needs D: compute features with_d");
    let ub = linalg::matmul(view(dmat).transpose(), view(&z_times_x1(x, z)), scale);
    Network {
        u: ub.columns(0, d).into_owned(),
        b: ub.column(d).into_owned(),
        v,
    }
}

/// [diag(z) X, z] (N×(d+1)).
fn z_times_x1(x: &DMatrix<f64>, z: &DVector<f64>) -> DMatrix<f64> {
    let (n, d) = x.shape();
    let mut zx = DMatrix::zeros(n, d + 1);
    for j in 0..d {
        for i in 0..n {
            zx[(i, j)] = z[i] * x[(i, j)];
        }
    }
    zx.column_mut(d).copy_from(z);
    zx
}

fn view_vec(v: &DVector<f64>) -> faer::MatRef<'_, f64> {
    faer::MatRef::from_column_major_slice(v.as_slice(), v.len(), 1)
}

fn view_mut_vec(v: &mut DVector<f64>) -> faer::MatMut<'_, f64> {
    let n = v.len();
    faer::MatMut::from_column_major_slice_mut(v.as_mut_slice(), n, 1)
}

/// Σ of the per-chunk outputs, added in chunk order from zero (as `outputs_fused` adds them).
fn sum_in_order(n: usize, parts: Vec<DVector<f64>>) -> DVector<f64> {
    let mut out = DVector::zeros(n);
    for f in parts {
        out += f;
    }
    out
}
