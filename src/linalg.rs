//! The heavy kernels, on nalgebra matrices through zero-copy faer views (both column-major):
//! matrix products, the symmetric product S Sᵀ (one triangle), and the symmetric
//! eigendecomposition. DESIGN.md §7 has the measurements that chose faer for these.

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par, Side};
use nalgebra::DMatrix;

/// Parallelism of faer's kernels: both cores natively, one thread in wasm.
pub fn par() -> Par {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Par::rayon(0)
    }
    #[cfg(target_arch = "wasm32")]
    {
        Par::Seq
    }
}

/// Calls `f(j, column j of a, column j of b)` for every column, on both cores natively
/// (rayon, sharing faer's thread pool) and in order in wasm. `b` may be absent.
pub fn for_each_column<F>(a: &mut DMatrix<f64>, b: Option<&mut DMatrix<f64>>, f: F)
where
    F: Fn(usize, &mut [f64], Option<&mut [f64]>) + Sync + Send,
{
    let n = a.nrows().max(1);
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        let a_cols = a.as_mut_slice().par_chunks_mut(n);
        match b {
            Some(b) => a_cols
                .zip(b.as_mut_slice().par_chunks_mut(n))
                .enumerate()
                .with_min_len(16)
                .for_each(|(j, (x, y))| f(j, x, Some(y))),
            None => a_cols
                .enumerate()
                .with_min_len(16)
                .for_each(|(j, x)| f(j, x, None)),
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let a_cols = a.as_mut_slice().chunks_mut(n);
        match b {
            Some(b) => a_cols
                .zip(b.as_mut_slice().chunks_mut(n))
                .enumerate()
                .for_each(|(j, (x, y))| f(j, x, Some(y))),
            None => a_cols.enumerate().for_each(|(j, x)| f(j, x, None)),
        }
    }
}

/// Hidden units per chunk in the fused passes over units: partial results are per chunk and
/// added in chunk order, so they do not depend on the number of threads.
pub const UNIT_CHUNK: usize = 128;

/// `f(units)` for the consecutive chunks of [`UNIT_CHUNK`] of `m` units, in parallel natively
/// and in order in wasm; the results in chunk order.
pub fn map_unit_chunks<R: Send>(
    m: usize,
    f: impl Fn(std::ops::Range<usize>) -> R + Sync + Send,
) -> Vec<R> {
    let chunks = m.div_ceil(UNIT_CHUNK);
    let range = move |c: usize| c * UNIT_CHUNK..((c + 1) * UNIT_CHUNK).min(m);
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..chunks).into_par_iter().map(|c| f(range(c))).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        (0..chunks).map(|c| f(range(c))).collect()
    }
}

/// A faer view of a nalgebra matrix (no copy).
pub fn view(a: &DMatrix<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(a.as_slice(), a.nrows(), a.ncols())
}

/// A faer view of a nalgebra vector as an n×1 matrix (no copy).
pub fn col_view(v: &nalgebra::DVector<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(v.as_slice(), v.len(), 1)
}

/// A mutable faer view of a nalgebra matrix (no copy).
pub fn view_mut(a: &mut DMatrix<f64>) -> MatMut<'_, f64> {
    let (r, c) = a.shape();
    MatMut::from_column_major_slice_mut(a.as_mut_slice(), r, c)
}

/// dst ← α · lhs · rhs (faer's GEMM).
pub fn matmul_into(dst: MatMut<'_, f64>, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>, alpha: f64) {
    faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, alpha, par());
}

/// α · lhs · rhs as a new nalgebra matrix.
pub fn matmul(lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>, alpha: f64) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(lhs.nrows(), rhs.ncols());
    matmul_into(view_mut(&mut out), lhs, rhs, alpha);
    out
}

/// α · S Sᵀ for S of shape N×M, computing only the lower triangle (half the flops) and
/// mirroring it, so the result is a full symmetric N×N matrix.
pub fn syrk(s: &DMatrix<f64>, alpha: f64) -> DMatrix<f64> {
    let mut out = syrk_lower(s, alpha, par());
    mirror_lower(&mut out);
    out
}

/// The lower triangle of α · S Sᵀ (the upper one is zero), on `par` threads.
fn syrk_lower(s: &DMatrix<f64>, alpha: f64, par: Par) -> DMatrix<f64> {
    let n = s.nrows();
    let mut out = DMatrix::zeros(n, n);
    let sv = view(s);
    triangular::matmul(
        view_mut(&mut out),
        BlockStructure::TriangularLower,
        Accum::Replace,
        sv,
        BlockStructure::Rectangular,
        sv.transpose(),
        BlockStructure::Rectangular,
        alpha,
        par,
    );
    out
}

/// The lower triangles of α · D Dᵀ and α · S Sᵀ (in that order), computed side by side,
/// one thread each, natively; one after the other in wasm. Two one-thread products at once
/// beat each on both threads in turn: nothing is split, and no thread waits for another.
pub fn syrk_lower_pair(
    d: &DMatrix<f64>,
    s: &DMatrix<f64>,
    alpha: f64,
) -> (DMatrix<f64>, DMatrix<f64>) {
    let one = |m: &DMatrix<f64>| syrk_lower(m, alpha, Par::Seq);
    #[cfg(not(target_arch = "wasm32"))]
    {
        if rayon::current_num_threads() >= 2 {
            return rayon::join(|| one(d), || one(s));
        }
    }
    (one(d), one(s))
}

/// Copies the lower triangle onto the upper one.
pub fn mirror_lower(a: &mut DMatrix<f64>) {
    let n = a.nrows();
    for j in 0..n {
        for i in 0..j {
            a[(i, j)] = a[(j, i)];
        }
    }
}

/// Eigendecomposition A = Q Λ Qᵀ of a symmetric matrix (lower triangle read).
pub struct SymEig {
    /// Eigenvalues in nondecreasing order.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors, one per column, in the same order (faer's matrix, not copied).
    pub vectors: faer::Mat<f64>,
}

impl SymEig {
    /// Decomposes `a`. `None` if the iteration failed to converge (non-finite input).
    pub fn new(a: &DMatrix<f64>) -> Option<SymEig> {
        if !a.iter().all(|x| x.is_finite()) {
            return None;
        }
        let evd = view(a).self_adjoint_eigen(Side::Lower).ok()?;
        let n = a.nrows();
        let s = evd.S().column_vector();
        let values: Vec<f64> = (0..n).map(|i| s[i]).collect();
        let vectors = evd.U().to_owned();
        Some(SymEig { values, vectors })
    }

    /// Eigenvalues only (cheaper), nondecreasing.
    pub fn values_of(a: &DMatrix<f64>) -> Option<Vec<f64>> {
        if !a.iter().all(|x| x.is_finite()) {
            return None;
        }
        view(a).self_adjoint_eigenvalues(Side::Lower).ok()
    }

    /// Q · diag(w(λ)) · Qᵀ · b: applies a spectral function of A to a vector.
    pub fn apply(
        &self,
        b: &nalgebra::DVector<f64>,
        w: impl Fn(f64) -> f64,
    ) -> nalgebra::DVector<f64> {
        let n = b.len();
        let q = self.vectors.as_ref();
        let mut c = nalgebra::DVector::zeros(n);
        matmul_into(
            MatMut::from_column_major_slice_mut(c.as_mut_slice(), n, 1),
            q.transpose(),
            col_view(b),
            1.0,
        );
        for (ci, &l) in c.iter_mut().zip(&self.values) {
            *ci *= w(l);
        }
        let mut out = nalgebra::DVector::zeros(n);
        matmul_into(
            MatMut::from_column_major_slice_mut(out.as_mut_slice(), n, 1),
            q,
            col_view(&c),
            1.0,
        );
        out
    }
}

/// Sets faer's global parallelism (used by its eigendecomposition) to match [`par`].
pub fn init() {
    faer::set_global_parallelism(par());
}
