//! The hidden layer's kernel: for one unit i on a batch X (N×d),
//!
//! ```text
//! h = X u_i + b_i,   S_{·i} = σ(h),   D_{·i} = v_i σ'(h)
//! ```
//!
//! fused in one pass, 16 inputs at a time held in registers (8 in wasm): h is never written to
//! memory, and the exponential of SiLU is inlined so the loop vectorises. A GD step that never
//! stores S or D is [`gd_unit_update`] per unit (σ and σ' from the sigmoid the previous step
//! kept) and then [`forward_chunk_carry`] per chunk of units (the next outputs and sigmoids, a
//! block of X's rows in registers); [`forward_unit`] gives the outputs alone, and
//! [`jacobian_t_unit`] a unit's share of Jᵀz from its stored columns of S and D. The generic code is compiled
//! once per SIMD level and picked at run time ([`simd_level`]): AVX-512 where the CPU has it,
//! AVX2 with FMA otherwise, plain x86-64 as the fallback, `simd128` in wasm.

use crate::activation::{MulAdd, Pointwise, ReluFn, Separate, SiluWith, TanhFn};
use crate::config::Activation;

/// Inputs handled together in registers: two AVX-512 vectors natively; in wasm, where a lane
/// pair is one `f64x2` and the engine has 16 vector registers, eight (measured in Node's V8 at
/// N = 200, M = 1000: GD 375 it/s with 8, 309 with 16, 338 with 4; natively 16 beats 8 and 32).
const LANES: usize = if cfg!(target_arch = "wasm32") { 8 } else { 16 };

/// One hidden unit on a batch.
pub struct Unit<'a> {
    /// X, column-major N×d.
    pub x: &'a [f64],
    /// u_i (d entries).
    pub u: &'a [f64],
    /// b_i.
    pub b: f64,
}

/// The instruction sets the kernels run with, from least to most (so `min` caps a level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// Whatever the target guarantees (SSE2 on x86-64; `simd128` in wasm when enabled).
    Baseline,
    /// x86-64 with AVX2 and FMA: 4 doubles per register.
    Avx2Fma,
    /// x86-64 with AVX-512 (F, VL, DQ) and FMA: 8 doubles per register.
    Avx512,
}

impl SimdLevel {
    /// Every level, least first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::Baseline, SimdLevel::Avx2Fma, SimdLevel::Avx512];

    /// The level `GN_SIMD` names (`avx512`, `avx2`, `baseline`), if it is set to one of them.
    fn from_env() -> Option<SimdLevel> {
        match std::env::var("GN_SIMD").ok()?.as_str() {
            "avx512" => Some(SimdLevel::Avx512),
            "avx2" => Some(SimdLevel::Avx2Fma),
            "baseline" => Some(SimdLevel::Baseline),
            _ => None,
        }
    }
}

/// The level the kernels run at: the best this CPU supports, lowered to `GN_SIMD` if that is
/// set (`avx512`, `avx2` or `baseline`; a level above the CPU's is ignored), so that one
/// machine can measure and test the paths of smaller ones. Read once.
pub fn simd_level() -> SimdLevel {
    static LEVEL: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cpu = cpu_simd_level();
        SimdLevel::from_env().map_or(cpu, |wanted| wanted.min(cpu))
    })
}

/// The best level this CPU supports (checked once).
pub fn cpu_simd_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        static CPU: std::sync::OnceLock<SimdLevel> = std::sync::OnceLock::new();
        *CPU.get_or_init(|| {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx512dq") && has!("fma") {
                SimdLevel::Avx512
            } else if has!("avx2") && has!("fma") {
                SimdLevel::Avx2Fma
            } else {
                SimdLevel::Baseline
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    SimdLevel::Baseline
}

impl std::fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SimdLevel::Avx512 => "AVX-512 + FMA",
            SimdLevel::Avx2Fma => "AVX2 + FMA",
            SimdLevel::Baseline if cfg!(target_arch = "wasm32") => "wasm simd128",
            SimdLevel::Baseline => "baseline (no FMA)",
        })
    }
}

/// Defines `$name`, which runs `$generic::<F>` compiled for the CPU's [`simd_level`]: the
/// same source for every level, so the path a machine cannot run is the code the others test.
/// (The wrappers are functions of their own: only code inside a `#[target_feature]` function
/// is compiled for those features.)
macro_rules! simd_dispatch {
    ($(#[$doc:meta])* fn $name:ident($($a:ident: $t:ty),*) => $generic:ident) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        fn $name(level: SimdLevel, $($a: $t),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($a: $t),*) {
                    $generic::<crate::activation::Fused>($($a),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($a: $t),*) {
                    $generic::<crate::activation::Fused>($($a),*)
                }
                // A level above the CPU's would be undefined behaviour: never run it.
                match level.min(cpu_simd_level()) {
                    // SAFETY: the CPU has the features these functions were compiled for.
                    SimdLevel::Avx512 => return unsafe { avx512($($a),*) },
                    SimdLevel::Avx2Fma => return unsafe { avx2($($a),*) },
                    SimdLevel::Baseline => {}
                }
            }
            let _ = level;
            $generic::<Separate>($($a),*)
        }
    };
}

simd_dispatch!(fn unit_dispatch(act: Activation, unit: &Unit, s: &mut [f64], ds: Option<(&mut [f64], f64)>) => unit_for);
simd_dispatch!(fn forward_carry_dispatch(act: Activation, unit: &Unit, c: f64, f: &mut [f64], carry: &mut [f64]) => forward_carry_for);
simd_dispatch!(fn gd_update_dispatch(act: Activation, x: &[f64], p: UnitMut, g: &[f64], step: f64, carry: &[f64], scratch: &mut [f64]) => gd_update_for);
simd_dispatch!(fn forward_chunk_dispatch(act: Activation, x: &[f64], weights: (&[f64], &[f64], &[f64]), f: &mut [f64], carry: &mut [f64]) => forward_chunk_for);
simd_dispatch!(fn forward_dispatch(act: Activation, unit: &Unit, c: f64, f: &mut [f64], second: Option<(f64, &mut [f64])>) => forward_for);
simd_dispatch!(fn jt_dispatch(s: &[f64], ds: &[f64], z: &[f64], zx: &[f64], out: &mut [f64]) => jt_for);

/// s ← σ(X u + b) and, if given, ds ← v · σ'(X u + b) (the unit's column of S and of D).
pub fn unit(act: Activation, unit: &Unit, s: &mut [f64], ds: Option<(&mut [f64], f64)>) {
    assert_eq!(unit.x.len(), s.len() * unit.u.len(), "X must be N×d");
    if let Some((ds, _)) = &ds {
        assert_eq!(ds.len(), s.len());
    }
    unit_dispatch(simd_level(), act, unit, s, ds)
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
    // Each block writes its rows' values, so the overlapping last block rewrites the same bits.
    for (r, _) in row_blocks::<LANES>(n) {
        block::<F, S, LANES>(unit, n, r, s, ds.as_mut().map(|(d, v)| (&mut **d, *v)));
    }
    for r in rows_left::<LANES>(n) {
        block::<F, S, 1>(unit, n, r, s, ds.as_mut().map(|(d, v)| (&mut **d, *v)));
    }
}

/// The blocks of L rows that cover rows 0..n, as (first row, lanes already covered): whole
/// blocks from row 0 (0 lanes covered), then, if rows are left and n ≥ L, one block ending at
/// row n, which overlaps the block before it. A kernel rewrites the overlapped rows with the
/// same bits (the same operations on the same row) and must not add their shares twice; the
/// scalar tail it replaces cost ~25 % of a GD step at N = 100 (4 rows left of 16-row blocks).
#[inline(always)]
fn row_blocks<const L: usize>(n: usize) -> impl Iterator<Item = (usize, usize)> {
    let whole = n / L * L;
    let last = (whole < n && n >= L).then(|| (n - L, whole - (n - L)));
    (0..whole).step_by(L).map(|r| (r, 0)).chain(last)
}

/// The rows [`row_blocks`] leaves to be done one by one: all of them when n < L.
#[inline(always)]
fn rows_left<const L: usize>(n: usize) -> std::ops::Range<usize> {
    if n < L {
        0..n
    } else {
        n..n
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
    let h = pre_activation::<F, L>(unit.x, n, r, unit.u, unit.b);
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

/// Unit i's share of Jᵀz from its columns of S and D (DESIGN.md §3, without the 1/M):
///
/// ```text
/// out[j] = Σ_n D_{ni} z_n x_{nj}  (j < d),   out[d] = Σ_n D_{ni} z_n,   out[d+1] = Σ_n S_{ni} z_n
/// ```
///
/// with `zx` = [z ⊙ x_1, …, z ⊙ x_d, z] (N×(d+1), column-major): one pass over the unit's
/// column of D for u and b, one over its column of S for v, nothing else read from memory.
pub fn jacobian_t_unit(s: &[f64], ds: &[f64], z: &[f64], zx: &[f64], out: &mut [f64]) {
    let n = z.len();
    assert!(
        s.len() == n && ds.len() == n,
        "a unit's columns have N entries"
    );
    assert!(
        zx.len() + n == out.len() * n,
        "zx is N×(d+1) and out has d+2 entries"
    );
    jt_dispatch(simd_level(), s, ds, z, zx, out)
}

#[inline(always)]
fn jt_for<F: MulAdd>(s: &[f64], ds: &[f64], z: &[f64], zx: &[f64], out: &mut [f64]) {
    let (ub, v) = out.split_at_mut(out.len() - 1);
    xt_times::<F>(zx, ds, ub);
    xt_times::<F>(z, s, v);
}

/// One hidden unit's parameters, updated in place by [`gd_unit_update`].
pub struct UnitMut<'a> {
    /// u_i (d entries).
    pub u: &'a mut [f64],
    pub b: &'a mut f64,
    pub v: &'a mut f64,
}

/// One GD step for unit i from its carry (DESIGN.md §3 with z = g; the carry is what
/// [`Pointwise::carry`] keeps of each entry: SiLU's sigmoid):
///
/// ```text
/// h = X u_i + b_i,   (σ(h), σ'(h)) from (h, carry),   t = g ⊙ σ'(h)
/// v_i ← v_i − (λ/M) gᵀσ(h),   u_i ← u_i − (λ/M) v_i Xᵀt,   b_i ← b_i − (λ/M) v_i Σ_n t_n
/// ```
///
/// The next outputs and carries then come from [`forward_chunk_carry`]: a GD step evaluates
/// the exponential once per entry and never stores S or D. `scratch` holds N + d numbers whose
/// first N are zero (they are never written).
#[allow(clippy::too_many_arguments)]
pub fn gd_unit_update(
    act: Activation,
    x: &[f64],
    p: UnitMut,
    g: &[f64],
    lr: f64,
    m: usize,
    carry: &[f64],
    scratch: &mut [f64],
) {
    let n = g.len();
    assert!(
        x.len() == n * p.u.len() && scratch.len() == n + p.u.len() && carry.len() == n,
        "shapes"
    );
    gd_update_dispatch(simd_level(), act, x, p, g, lr / m as f64, carry, scratch)
}

#[inline(always)]
fn gd_update_for<F: MulAdd>(
    act: Activation,
    x: &[f64],
    p: UnitMut,
    g: &[f64],
    step: f64,
    carry: &[f64],
    scratch: &mut [f64],
) {
    match act {
        Activation::Silu => gd_rows_from_carry::<F, SiluWith<F>>(x, p, g, step, scratch, carry),
        Activation::Relu => gd_rows_from_carry::<F, ReluFn>(x, p, g, step, scratch, carry),
        Activation::Tanh => gd_rows_from_carry::<F, TanhFn>(x, p, g, step, scratch, carry),
    }
}

/// Inputs d up to which [`forward_chunk_carry`] holds a block of X's rows in registers.
pub const CHUNK_MAX_D: usize = GD_COLS;

/// A chunk of units' share of the outputs and their carries, rows outer: for each block of
/// [`GD_LANES`] rows of X (held in registers) and each unit i of the chunk in turn,
///
/// ```text
/// h = X u_i + b_i,   carry_i ← carry(h),   f += c_i σ(h)
/// ```
///
/// The operations on each entry, and the order over units, are [`forward_unit_carry`]'s unit
/// after unit, so f and the carries are the same bits. `u` holds [`CHUNK_MAX_D`] weights per
/// unit (u_i padded with zeros: x·0 + h is h), `b` and `c` one number per unit, `carry` the
/// units' N entries one unit after another; d ≤ [`CHUNK_MAX_D`].
pub fn forward_chunk_carry(
    act: Activation,
    x: &[f64],
    (u, b, c): (&[f64], &[f64], &[f64]),
    f: &mut [f64],
    carry: &mut [f64],
) {
    let (n, units) = (f.len(), b.len());
    assert!(
        x.len() <= n * CHUNK_MAX_D && x.len().is_multiple_of(n.max(1)),
        "X must be N×d with d ≤ {CHUNK_MAX_D}"
    );
    assert!(
        u.len() == units * CHUNK_MAX_D && c.len() == units && carry.len() == units * n,
        "shapes"
    );
    forward_chunk_dispatch(simd_level(), act, x, (u, b, c), f, carry)
}

#[inline(always)]
fn forward_chunk_for<F: MulAdd>(
    act: Activation,
    x: &[f64],
    weights: (&[f64], &[f64], &[f64]),
    f: &mut [f64],
    carry: &mut [f64],
) {
    match act {
        Activation::Silu => forward_chunk_rows::<F, SiluWith<F>>(x, weights, f, carry),
        Activation::Relu => forward_chunk_rows::<F, ReluFn>(x, weights, f, carry),
        Activation::Tanh => forward_chunk_rows::<F, TanhFn>(x, weights, f, carry),
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed loops over lanes are what vectorises here
fn forward_chunk_rows<F: MulAdd, S: Pointwise>(
    x: &[f64],
    (u, b, c): (&[f64], &[f64], &[f64]),
    f: &mut [f64],
    carry: &mut [f64],
) {
    const D: usize = CHUNK_MAX_D;
    let n = f.len();
    let zero = vec![0.0; n];
    let cols = padded_cols(x, n, 0, &zero);
    for (r, covered) in row_blocks::<GD_LANES>(n) {
        let xs: [[f64; GD_LANES]; D] = std::array::from_fn(|k| {
            cols[k][r..r + GD_LANES]
                .try_into()
                .expect("a block of lanes")
        });
        let mut fr: [f64; GD_LANES] = f[r..r + GD_LANES].try_into().expect("a block of lanes");
        for (i, (ui, (&bi, &ci))) in u.chunks_exact(D).zip(b.iter().zip(c)).enumerate() {
            let ui: &[f64; D] = ui.try_into().expect("D weights per unit");
            let mut h = [bi; GD_LANES];
            for k in 0..D {
                for l in 0..GD_LANES {
                    h[l] = F::mul_add(xs[k][l], ui[k], h[l]);
                }
            }
            let cr: &mut [f64; GD_LANES] = (&mut carry[i * n + r..i * n + r + GD_LANES])
                .try_into()
                .expect("a block of lanes");
            for l in 0..GD_LANES {
                cr[l] = S::carry(h[l]);
                fr[l] = F::mul_add(ci, S::from_carry(h[l], cr[l]).0, fr[l]);
            }
        }
        // The rows an overlapping last block shares with the block before are done already.
        f[r + covered..r + GD_LANES].copy_from_slice(&fr[covered..]);
    }
    for r in rows_left::<GD_LANES>(n) {
        for (i, (ui, (&bi, &ci))) in u.chunks_exact(D).zip(b.iter().zip(c)).enumerate() {
            let h = (0..D).fold(bi, |h, k| F::mul_add(cols[k][r], ui[k], h));
            carry[i * n + r] = S::carry(h);
            f[r] = F::mul_add(ci, S::from_carry(h, carry[i * n + r]).0, f[r]);
        }
    }
}

/// [`forward_unit`] that also keeps each entry's carry (`carry` ← carry(X u_i + b_i)).
pub fn forward_unit_carry(act: Activation, unit: &Unit, c: f64, f: &mut [f64], carry: &mut [f64]) {
    assert_eq!(unit.x.len(), f.len() * unit.u.len(), "X must be N×d");
    assert_eq!(carry.len(), f.len(), "one carry per input");
    forward_carry_dispatch(simd_level(), act, unit, c, f, carry)
}

#[inline(always)]
fn forward_carry_for<F: MulAdd>(
    act: Activation,
    unit: &Unit,
    c: f64,
    f: &mut [f64],
    carry: &mut [f64],
) {
    match act {
        Activation::Silu => forward_carry_rows::<F, SiluWith<F>>(unit, c, f, carry),
        Activation::Relu => forward_carry_rows::<F, ReluFn>(unit, c, f, carry),
        Activation::Tanh => forward_carry_rows::<F, TanhFn>(unit, c, f, carry),
    }
}

/// Unit i's share of the outputs, fused: `f += c · σ(X u_i + b_i)` (c = v_i/M for f itself),
/// and likewise `f' += c' · σ(X u_i + b_i)` for a second last layer if given.
pub fn forward_unit(
    act: Activation,
    unit: &Unit,
    c: f64,
    f: &mut [f64],
    second: Option<(f64, &mut [f64])>,
) {
    assert_eq!(unit.x.len(), f.len() * unit.u.len(), "X must be N×d");
    forward_dispatch(simd_level(), act, unit, c, f, second)
}

#[inline(always)]
fn forward_for<F: MulAdd>(
    act: Activation,
    unit: &Unit,
    c: f64,
    f: &mut [f64],
    second: Option<(f64, &mut [f64])>,
) {
    match act {
        Activation::Silu => forward_rows::<F, SiluWith<F>>(unit, c, f, second),
        Activation::Relu => forward_rows::<F, ReluFn>(unit, c, f, second),
        Activation::Tanh => forward_rows::<F, TanhFn>(unit, c, f, second),
    }
}

/// Inputs handled together in the fused GD and forward loops (as [`LANES`]; in wasm eight
/// made GD with a record every 10 steps 24 % faster in V8: 80.7 against 65.1 it/s).
const GD_LANES: usize = if cfg!(target_arch = "wasm32") { 8 } else { 16 };

/// h = b + Σ_j x_{r+l, j} u_j for the L rows from r.
#[inline(always)]
fn pre_activation<F: MulAdd, const L: usize>(
    x: &[f64],
    n: usize,
    r: usize,
    u: &[f64],
    b: f64,
) -> [f64; L] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if L.is_multiple_of(2) && L <= 2 * WASM_PAIRS {
        return pre_activation_f64x2::<L>(x, n, r, u, b);
    }
    let mut h = [b; L];
    for (j, &uj) in u.iter().enumerate() {
        let xj = &x[j * n + r..j * n + r + L];
        for l in 0..L {
            h[l] = F::mul_add(xj[l], uj, h[l]);
        }
    }
    h
}

/// Row pairs [`pre_activation_f64x2`] holds at most (16 rows).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const WASM_PAIRS: usize = 8;

/// [`pre_activation`] in wasm with two rows to an `f64x2`, for even L ≤ 16: there LLVM leaves
/// the generic loop scalar (each column's L products and sums one by one, the lanes packed
/// into vectors only afterwards; with this, GD at M = 1000, N = 200 in Node's V8 went from
/// 445 to 500–510 it/s). The same operations on each row as the generic loop with
/// [`Separate`] multiply-adds, the only kind wasm has: x·u, then + h.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn pre_activation_f64x2<const L: usize>(
    x: &[f64],
    n: usize,
    r: usize,
    u: &[f64],
    b: f64,
) -> [f64; L] {
    use std::arch::wasm32::{
        f64x2_add, f64x2_extract_lane, f64x2_mul, f64x2_splat, v128, v128_load,
    };
    let mut h = [f64x2_splat(b); WASM_PAIRS];
    for (j, &uj) in u.iter().enumerate() {
        let xj: &[f64; L] = x[j * n + r..j * n + r + L]
            .try_into()
            .expect("a block of lanes");
        let uj = f64x2_splat(uj);
        for (p, hp) in h.iter_mut().enumerate().take(L / 2) {
            // SAFETY: rows 2p and 2p + 1 are inside xj; wasm's v128.load needs no alignment.
            let xp = unsafe { v128_load(xj.as_ptr().add(2 * p) as *const v128) };
            *hp = f64x2_add(f64x2_mul(xp, uj), *hp);
        }
    }
    std::array::from_fn(|l| match l % 2 {
        0 => f64x2_extract_lane::<0>(h[l / 2]),
        _ => f64x2_extract_lane::<1>(h[l / 2]),
    })
}

#[inline(always)]
fn forward_rows<F: MulAdd, S: Pointwise>(
    unit: &Unit,
    c: f64,
    f: &mut [f64],
    mut second: Option<(f64, &mut [f64])>,
) {
    let n = f.len();
    for (r, covered) in row_blocks::<GD_LANES>(n) {
        let h = pre_activation::<F, GD_LANES>(unit.x, n, r, unit.u, unit.b);
        let s: [f64; GD_LANES] = std::array::from_fn(|l| S::value(h[l]));
        add_share::<F>(c, &s, lanes(f, r), covered);
        if let Some((c2, f2)) = second.as_mut() {
            add_share::<F>(*c2, &s, lanes(f2, r), covered);
        }
    }
    for r in rows_left::<GD_LANES>(n) {
        let [h] = pre_activation::<F, 1>(unit.x, n, r, unit.u, unit.b);
        let s = S::value(h);
        f[r] = F::mul_add(c, s, f[r]);
        if let Some((c2, f2)) = second.as_mut() {
            f2[r] = F::mul_add(*c2, s, f2[r]);
        }
    }
}

/// fr += c · s in the lanes from `covered` on. A whole block (covered = 0, all but perhaps the
/// last) takes a loop without a condition: in wasm a select per lane kept it scalar.
#[inline(always)]
fn add_share<F: MulAdd>(c: f64, s: &[f64; GD_LANES], fr: &mut [f64; GD_LANES], covered: usize) {
    if covered == 0 {
        for l in 0..GD_LANES {
            fr[l] = F::mul_add(c, s[l], fr[l]);
        }
    } else {
        for l in covered..GD_LANES {
            fr[l] = F::mul_add(c, s[l], fr[l]);
        }
    }
}

/// f += c · σ(h) as in [`forward_rows`] (the same operations, so the same bits), keeping
/// carry(h) of every entry.
#[inline(always)]
fn forward_carry_rows<F: MulAdd, S: Pointwise>(
    unit: &Unit,
    c: f64,
    f: &mut [f64],
    carry: &mut [f64],
) {
    let n = f.len();
    for (r, covered) in row_blocks::<GD_LANES>(n) {
        let h = pre_activation::<F, GD_LANES>(unit.x, n, r, unit.u, unit.b);
        let cr = lanes(carry, r);
        let fr = lanes(f, r);
        for l in 0..GD_LANES {
            cr[l] = S::carry(h[l]);
            let add = F::mul_add(c, S::from_carry(h[l], cr[l]).0, fr[l]);
            fr[l] = if l >= covered { add } else { fr[l] };
        }
    }
    for r in rows_left::<GD_LANES>(n) {
        let [h] = pre_activation::<F, 1>(unit.x, n, r, unit.u, unit.b);
        carry[r] = S::carry(h);
        f[r] = F::mul_add(c, S::from_carry(h, carry[r]).0, f[r]);
    }
}

/// The [`GD_LANES`] entries of `a` from r, as an array (so the loops over them carry no
/// bounds checks and vectorise).
#[inline(always)]
fn lanes(a: &mut [f64], r: usize) -> &mut [f64; GD_LANES] {
    (&mut a[r..r + GD_LANES])
        .try_into()
        .expect("a block of lanes")
}

/// Columns of x taken together by [`xt_times`]: four columns, 16 lanes each, are 8 AVX-512
/// accumulators, enough independent chains to keep the multiply-add units busy.
const XT_COLS: usize = 4;

/// out_j = Σ_r x_{r j} t_r for every column j of x (column-major, n = t.len() rows), in
/// passes over [`XT_COLS`] columns at a time with lane-wise partial sums (a fixed order, so
/// results are reproducible).
#[inline(always)]
fn xt_times<F: MulAdd>(x: &[f64], t: &[f64], out: &mut [f64]) {
    let n = t.len();
    for (k, out) in out.chunks_mut(XT_COLS).enumerate() {
        let col = |c: usize| &x[(k * XT_COLS + c) * n..(k * XT_COLS + c + 1) * n];
        match out.len() {
            4 => xt_cols::<F, 4>(std::array::from_fn(col), t, out),
            3 => xt_cols::<F, 3>(std::array::from_fn(col), t, out),
            2 => xt_cols::<F, 2>(std::array::from_fn(col), t, out),
            _ => xt_cols::<F, 1>(std::array::from_fn(col), t, out),
        }
    }
}

/// out_c = Σ_r cols_c[r] t_r for K columns in one pass over t.
#[inline(always)]
fn xt_cols<F: MulAdd, const K: usize>(cols: [&[f64]; K], t: &[f64], out: &mut [f64]) {
    let n = t.len();
    let blocks = n / GD_LANES * GD_LANES;
    let mut acc = [[0.0; GD_LANES]; K];
    for r in (0..blocks).step_by(GD_LANES) {
        let tr: &[f64; GD_LANES] = t[r..r + GD_LANES].try_into().expect("a block of lanes");
        for c in 0..K {
            let xr: &[f64; GD_LANES] = cols[c][r..r + GD_LANES]
                .try_into()
                .expect("a block of lanes");
            for l in 0..GD_LANES {
                acc[c][l] = F::mul_add(xr[l], tr[l], acc[c][l]);
            }
        }
    }
    for c in 0..K {
        let rest = (blocks..n).fold(0.0, |s, r| F::mul_add(cols[c][r], t[r], s));
        out[c] = rest + lane_sum(acc[c]);
    }
}

/// Σ_l a_l by halving (8 + 8, 4 + 4, …): a fixed order with a short dependency chain.
#[inline(always)]
fn lane_sum(mut a: [f64; GD_LANES]) -> f64 {
    let mut w = GD_LANES / 2;
    while w > 0 {
        for l in 0..w {
            a[l] += a[l + w];
        }
        w /= 2;
    }
    a[0]
}

/// Columns of X whose sums Σ_n x_{nj} t_n one backward pass keeps in registers: with
/// [`GD_LANES`] = 16 that is 20 AVX-512 accumulators, and d = 10 (the paper's) takes one pass.
const GD_COLS: usize = 10;

/// Columns `first..first + GD_COLS` of X (N×d, column-major), those past d replaced by `zero`
/// (N zeros): the kernels that keep ten columns in registers take d < 10 padded this way.
#[inline(always)]
fn padded_cols<'a>(x: &'a [f64], n: usize, first: usize, zero: &'a [f64]) -> [&'a [f64]; GD_COLS] {
    std::array::from_fn(|k| x.get((first + k) * n..(first + k + 1) * n).unwrap_or(zero))
}

/// One GD step for a unit with (σ(h_r), σ'(h_r)) from h_r and its carry:
///
/// ```text
/// t = g ⊙ σ'(h),   v ← v − step · gᵀσ(h),   u ← u − step · v Xᵀt,   b ← b − step · v Σ_n t_n
/// ```
///
/// in passes over the rows that keep t, the sums and [`GD_COLS`] columns' Xᵀt in registers,
/// each block of X's columns loaded once for h and for Xᵀt: nothing is written per entry
/// (storing t and g ⊙ σ per row, as this did until now, measured 1.1–1.2× slower for the whole
/// step at N = 500 and 2000). With d > [`GD_COLS`] a pass per group of columns recomputes h and
/// t; a group short of columns is padded with the zero column `scratch[..N]` (never written).
/// Xᵀt goes to `scratch[N..N + d]`.
#[inline(always)]
fn gd_rows_from_carry<F: MulAdd, S: Pointwise>(
    x: &[f64],
    p: UnitMut,
    g: &[f64],
    step: f64,
    scratch: &mut [f64],
    carry: &[f64],
) {
    let n = g.len();
    let d = p.u.len();
    let (zero, xt) = scratch.split_at_mut(n);
    let zero = &*zero;
    let (mut sum_t, mut sum_q) = (0.0, 0.0);
    for c0 in (0..d).step_by(GD_COLS) {
        let cols = padded_cols(x, n, c0, zero);
        let b = *p.b;
        let (xt_group, t, q) = if d <= GD_COLS {
            // h from the same columns, u padded with zeros (x·0 + h = h).
            let u: [f64; GD_COLS] = std::array::from_fn(|k| p.u.get(k).copied().unwrap_or(0.0));
            let h_block = |_: usize, xs: &[&[f64; GD_LANES]; GD_COLS]| {
                let mut h = [b; GD_LANES];
                for k in 0..GD_COLS {
                    for l in 0..GD_LANES {
                        h[l] = F::mul_add(xs[k][l], u[k], h[l]);
                    }
                }
                h
            };
            let h_row = |r: usize| (0..GD_COLS).fold(b, |h, k| F::mul_add(cols[k][r], u[k], h));
            backward_pass::<F, S>(n, h_block, h_row, g, carry, cols)
        } else {
            let u = &*p.u;
            let h_block =
                |r, _: &[&[f64; GD_LANES]; GD_COLS]| pre_activation::<F, GD_LANES>(x, n, r, u, b);
            let h_row = |r| pre_activation::<F, 1>(x, n, r, u, b)[0];
            backward_pass::<F, S>(n, h_block, h_row, g, carry, cols)
        };
        if c0 == 0 {
            (sum_t, sum_q) = (t, q);
        }
        let k = GD_COLS.min(d - c0);
        xt[c0..c0 + k].copy_from_slice(&xt_group[..k]);
    }
    let v = *p.v;
    for (uj, xtj) in p.u.iter_mut().zip(xt.iter()) {
        *uj -= step * v * xtj;
    }
    *p.b -= step * v * sum_t;
    *p.v -= step * sum_q;
}

/// One pass over a unit's rows: h = X u + b (`h_block` for a block of rows, given its rows of
/// `cols`; `h_row` for one row), (σ, σ') from h and the carry, t = g ⊙ σ'(h);
/// returns (Σ_n cols_k[n] t_n for each k, Σ_n t_n, Σ_n g_n σ(h_n)), each summed lane-wise
/// over blocks of [`GD_LANES`] rows, then by halving, then the leftover rows (a fixed order).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed loops over lanes are what vectorises here
fn backward_pass<F: MulAdd, S: Pointwise>(
    n: usize,
    h_block: impl Fn(usize, &[&[f64; GD_LANES]; GD_COLS]) -> [f64; GD_LANES],
    h_row: impl Fn(usize) -> f64,
    g: &[f64],
    carry: &[f64],
    cols: [&[f64]; GD_COLS],
) -> ([f64; GD_COLS], f64, f64) {
    let mut acc_xt = [[0.0; GD_LANES]; GD_COLS];
    let (mut acc_t, mut acc_q) = ([0.0; GD_LANES], [0.0; GD_LANES]);
    for (r, covered) in row_blocks::<GD_LANES>(n) {
        let xs: [&[f64; GD_LANES]; GD_COLS] = std::array::from_fn(|k| {
            cols[k][r..r + GD_LANES]
                .try_into()
                .expect("a block of lanes")
        });
        let h = h_block(r, &xs);
        let gr: [f64; GD_LANES] = if covered == 0 {
            g[r..r + GD_LANES].try_into().expect("a block of lanes")
        } else {
            // The rows this last block shares with the one before count as g = 0.
            std::array::from_fn(|l| if l >= covered { g[r + l] } else { 0.0 })
        };
        let cr: &[f64; GD_LANES] = carry[r..r + GD_LANES].try_into().expect("a block of lanes");
        let mut t = [0.0; GD_LANES];
        for l in 0..GD_LANES {
            let (s, ds) = S::from_carry(h[l], cr[l]);
            acc_q[l] += gr[l] * s;
            t[l] = gr[l] * ds;
            acc_t[l] += t[l];
        }
        for k in 0..GD_COLS {
            for l in 0..GD_LANES {
                acc_xt[k][l] = F::mul_add(xs[k][l], t[l], acc_xt[k][l]);
            }
        }
    }
    let mut xt = acc_xt.map(lane_sum);
    let (mut sum_t, mut sum_q) = (lane_sum(acc_t), lane_sum(acc_q));
    for r in rows_left::<GD_LANES>(n) {
        let h = h_row(r);
        let (s, ds) = S::from_carry(h, carry[r]);
        let t = g[r] * ds;
        sum_q += g[r] * s;
        sum_t += t;
        for k in 0..GD_COLS {
            xt[k] = F::mul_add(cols[k][r], t, xt[k]);
        }
    }
    (xt, sum_t, sum_q)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (σ, σ') from a carry by the reference (non-vectorised) forms.
    fn act_forms(act: Activation, z: f64, c: f64) -> (f64, f64) {
        use crate::activation::{ReluFn, SiluWith, TanhFn};
        match act {
            Activation::Silu => SiluWith::<Separate>::from_carry(z, c),
            Activation::Relu => ReluFn::from_carry(z, c),
            Activation::Tanh => TanhFn::from_carry(z, c),
        }
    }

    /// The levels this CPU can run (every one on an AVX-512 machine).
    fn levels() -> impl Iterator<Item = SimdLevel> {
        SimdLevel::ALL
            .into_iter()
            .filter(|l| *l <= cpu_simd_level())
    }

    /// A batch X (N×d, column-major) with entries in [−2, 2).
    fn batch(n: usize, d: usize) -> Vec<f64> {
        (0..n * d)
            .map(|k| ((k * 37) % 101) as f64 / 25.0 - 2.0)
            .collect()
    }

    /// The forward and GD kernels at every level the CPU has, against the scalar reference
    /// forms: f += c σ(h), and one GD step's v, u, b updates written out with σ, σ'.
    #[test]
    fn forward_and_gd_match_scalar_forms_at_every_level() {
        // d = 3 and 10 take one pass of the backward kernel (3 padded with zero columns),
        // d = 13 two (the second padded).
        let cases = [3, 10, 13]
            .into_iter()
            .flat_map(|d| [1, 15, 16, 17, 203].map(|n| (d, n)));
        let (b0, v0) = (0.3, -1.7);
        for level in levels() {
            for act in [Activation::Silu, Activation::Relu, Activation::Tanh] {
                for (d, n) in cases.clone() {
                    let u0: Vec<f64> = (0..d)
                        .map(|j| [0.7, -1.3, 2.1][j % 3] / (1 + j / 3) as f64)
                        .collect();
                    let x = batch(n, d);
                    let h: Vec<f64> = (0..n)
                        .map(|r| b0 + (0..d).map(|j| x[j * n + r] * u0[j]).sum::<f64>())
                        .collect();
                    let tol = 1e-13;
                    // Forward: f = 0.5 + c σ(h), and a second layer with c' = −2.
                    let (mut f, mut f2) = (vec![0.5; n], vec![0.0; n]);
                    let unit = Unit {
                        x: &x,
                        u: &u0,
                        b: b0,
                    };
                    forward_dispatch(level, act, &unit, 0.25, &mut f, Some((-2.0, &mut f2)));
                    for r in 0..n {
                        let want = 0.5 + 0.25 * act.sigma(h[r]);
                        assert!((f[r] - want).abs() <= tol, "{level:?} {act:?} f, n={n}");
                        assert!((f2[r] + 2.0 * act.sigma(h[r])).abs() <= tol);
                    }
                    // GD: v ← v − s gᵀσ(h), u_j ← u_j − s v Σ_n g σ'(h) x_j, b likewise.
                    let g: Vec<f64> = (0..n).map(|r| ((r * 13) % 7) as f64 / 7.0 - 0.4).collect();
                    let (mut u, mut b, mut v, mut t) = (u0.clone(), b0, v0, vec![0.0; n + d]);
                    let p = UnitMut {
                        u: &mut u,
                        b: &mut b,
                        v: &mut v,
                    };
                    // The carry at θ (its outputs dropped), then the step from it.
                    let mut carry = vec![0.0; n];
                    forward_carry_dispatch(level, act, &unit, 0.0, &mut vec![0.0; n], &mut carry);
                    gd_update_dispatch(level, act, &x, p, &g, 0.1, &carry, &mut t);
                    // The next outputs and carry from the rows-outer chunk kernel (this unit
                    // and a copy of it with c = 0.25, d ≤ CHUNK_MAX_D), and unit by unit.
                    let mut f_next = vec![1.0; n];
                    if d <= CHUNK_MAX_D {
                        let mut padded = [0.0; 2 * CHUNK_MAX_D];
                        padded[..d].copy_from_slice(&u);
                        padded[CHUNK_MAX_D..CHUNK_MAX_D + d].copy_from_slice(&u);
                        let weights = (&padded[..], &[b, b][..], &[0.5 * v, 0.25 * v][..]);
                        let mut chunk_carry = vec![0.0; 2 * n];
                        forward_chunk_dispatch(
                            level,
                            act,
                            &x,
                            weights,
                            &mut f_next,
                            &mut chunk_carry,
                        );
                        let (mut f_units, mut unit_carry) = (vec![1.0; n], vec![0.0; n]);
                        let unit = Unit { x: &x, u: &u, b };
                        for c in [0.5 * v, 0.25 * v] {
                            forward_carry_dispatch(
                                level,
                                act,
                                &unit,
                                c,
                                &mut f_units,
                                &mut unit_carry,
                            );
                            assert_eq!(chunk_carry[..n], unit_carry[..], "{level:?} {act:?} carry");
                        }
                        assert_eq!(f_next, f_units, "{level:?} {act:?} chunk f' bit for bit");
                        assert_eq!(chunk_carry[n..], unit_carry[..]);
                        // The test below is for f' = 1 + (v'/2) σ(h'): remove the copy's share.
                        f_next = vec![1.0; n];
                        let unit = Unit { x: &x, u: &u, b };
                        forward_carry_dispatch(level, act, &unit, 0.5 * v, &mut f_next, &mut carry);
                    } else {
                        let unit = Unit { x: &x, u: &u, b };
                        forward_carry_dispatch(level, act, &unit, 0.5 * v, &mut f_next, &mut carry);
                    }
                    let gs: f64 = (0..n).map(|r| g[r] * act.sigma(h[r])).sum();
                    let t_ref: Vec<f64> = (0..n).map(|r| g[r] * act.sigma_prime(h[r])).collect();
                    assert!((v - (v0 - 0.1 * gs)).abs() <= tol, "{level:?} {act:?} v");
                    let db: f64 = t_ref.iter().sum();
                    assert!(
                        (b - (b0 - 0.1 * v0 * db)).abs() <= tol,
                        "{level:?} {act:?} b"
                    );
                    for j in 0..d {
                        let du: f64 = (0..n).map(|r| t_ref[r] * x[j * n + r]).sum();
                        assert!((u[j] - (u0[j] - 0.1 * v0 * du)).abs() <= tol, "{level:?} u");
                    }
                    // The next outputs f' = 1 + (v'/2) σ(h') and carry at the new weights.
                    for r in 0..n {
                        let h1 = b + (0..d).map(|j| x[j * n + r] * u[j]).sum::<f64>();
                        let want = 1.0 + 0.5 * v * act.sigma(h1);
                        assert!((f_next[r] - want).abs() <= tol, "{level:?} {act:?} f'");
                        let (s1, _) = act_forms(act, h1, carry[r]);
                        assert!((s1 - act.sigma(h1)).abs() <= tol, "{level:?} {act:?} carry");
                    }
                }
            }
        }
    }

    /// The fused kernel against the scalar reference forms σ, σ' at h = X u + b.
    #[test]
    fn unit_matches_scalar_forms() {
        for (level, act) in levels()
            .flat_map(|l| [Activation::Silu, Activation::Relu, Activation::Tanh].map(|a| (l, a)))
        {
            for n in [1, 15, 16, 17, 203] {
                let d = 3;
                let x: Vec<f64> = (0..n * d)
                    .map(|k| ((k * 37) % 101) as f64 / 25.0 - 2.0)
                    .collect();
                let u = [0.7, -1.3, 2.1];
                let (b, v) = (0.3, -1.7);
                let unit = Unit { x: &x, u: &u, b };
                let (mut s, mut ds, mut s_only) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                unit_dispatch(level, act, &unit, &mut s, Some((&mut ds, v)));
                unit_dispatch(level, act, &unit, &mut s_only, None);
                for r in 0..n {
                    let h: f64 = b + (0..d).map(|j| x[j * n + r] * u[j]).sum::<f64>();
                    let tol = 1e-14 * (1.0 + h.abs());
                    let at = format!("{level:?} {act:?} n={n}");
                    assert!((s[r] - act.sigma(h)).abs() <= tol, "{at}: σ({h})");
                    assert!(
                        (ds[r] - v * act.sigma_prime(h)).abs() <= 4.0 * tol,
                        "{at}: σ'({h})"
                    );
                    assert_eq!(s[r], s_only[r], "S the same with or without D");
                }
            }
        }
    }
}
