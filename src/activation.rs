//! The nonlinearities σ and their derivatives σ': the scalar reference forms, and the
//! [`Pointwise`] forms that the hidden layer's kernel ([`crate::hidden`]) inlines.
//!
//! SiLU needs one exponential per entry, so it uses [`exp_with`], a branch-free exponential
//! that the compiler vectorises, with fused multiply-adds where the CPU has them; tanh and
//! ReLU use the standard library.

use crate::config::Activation;

impl Activation {
    /// σ(h) for one value (reference form, used by tests and small problems).
    pub fn sigma(self, h: f64) -> f64 {
        match self {
            // SiLU: σ(h) = h · sigmoid(h) = h / (1 + e^{−h})
            Activation::Silu => h / (1.0 + (-h).exp()),
            // ReLU: σ(h) = max(h, 0)
            Activation::Relu => {
                // A select, not h.max(0.0): wasm compiles max to a call of libm's fmax.
                if h > 0.0 {
                    h
                } else {
                    0.0
                }
            }
            // tanh: σ(h) = tanh(h)
            Activation::Tanh => h.tanh(),
        }
    }

    /// σ'(h) for one value (reference form).
    pub fn sigma_prime(self, h: f64) -> f64 {
        match self {
            // SiLU: σ'(h) = s (1 + h (1 − s)), s = sigmoid(h)
            Activation::Silu => {
                let s = 1.0 / (1.0 + (-h).exp());
                s * (1.0 + h * (1.0 - s))
            }
            // ReLU: σ'(h) = 1 if h > 0 else 0
            Activation::Relu => {
                if h > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            // tanh: σ'(h) = 1 − tanh²(h)
            Activation::Tanh => {
                let t = h.tanh();
                1.0 - t * t
            }
        }
    }
}

/// a·b + c, as one fused instruction ([`Fused`], where the CPU has FMA) or as a product and a
/// sum ([`Separate`]; wasm has no FMA). The SiLU loops are generic over it.
pub trait MulAdd {
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
}

/// a·b + c rounded once (only used where FMA is a hardware instruction).
pub struct Fused;
/// a·b + c rounded twice.
pub struct Separate;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// σ and σ' at one point, in a form that loops inline and vectorise: one type per activation,
/// SiLU's generic over the kind of multiply-add its exponential uses.
pub trait Pointwise {
    /// σ(z)
    fn value(z: f64) -> f64;
    /// (σ(z), σ'(z))
    fn value_slope(z: f64) -> (f64, f64);
    /// What GD keeps of an entry between steps, from which σ and σ' follow cheaply
    /// ([`Pointwise::from_carry`]): SiLU's sigmoid, tanh itself, ReLU's σ.
    fn carry(z: f64) -> f64;
    /// (σ(z), σ'(z)) from z and its [`Pointwise::carry`], bit-identical to `value_slope(z)`.
    fn from_carry(z: f64, c: f64) -> (f64, f64);
}

/// Below this pre-activation SiLU's kernels take the sigmoid s as 0 (so σ = σ' = 0): there
/// s < 3·10⁻²⁶¹, and its products with a step's other factors (g, x, v, 1/M) fall below
/// 2.2·10⁻³⁰⁸ into subnormal numbers, each operation on which costs the CPU ~100 normal ones.
/// At τ₀ = 100, where |h| passes 600 for a few % of the entries, that made a GD step at
/// N = 500 three times slower (32 against 11 ms on one thread). What is dropped is below
/// 10⁻²⁵⁷ in absolute value, nowhere near what a loss or a test can show.
pub const SILU_ZERO_BELOW: f64 = -600.0;

/// SiLU with multiply-adds of kind `F`.
pub struct SiluWith<F>(std::marker::PhantomData<F>);
pub struct ReluFn;
pub struct TanhFn;

impl<F: MulAdd> Pointwise for SiluWith<F> {
    /// σ(z) = z · sigmoid(z)
    #[inline(always)]
    fn value(z: f64) -> f64 {
        // The same operations as in value_slope, so S is bit-identical either way.
        z * Self::carry(z)
    }
    /// σ'(z) = s (1 + z (1 − s)), s = sigmoid(z)
    #[inline(always)]
    fn value_slope(z: f64) -> (f64, f64) {
        Self::from_carry(z, Self::carry(z))
    }
    /// s = sigmoid(z) = 1 / (1 + e^{−z}), taken as 0 below z = [`SILU_ZERO_BELOW`]
    #[inline(always)]
    fn carry(z: f64) -> f64 {
        let s = 1.0 / (1.0 + exp_with::<F>(-z));
        if z < SILU_ZERO_BELOW {
            0.0
        } else {
            s
        }
    }
    /// σ = z s, σ' = s (1 + z (1 − s))
    #[inline(always)]
    fn from_carry(z: f64, s: f64) -> (f64, f64) {
        (z * s, s * (1.0 + z * (1.0 - s)))
    }
}

impl Pointwise for ReluFn {
    #[inline(always)]
    fn value(z: f64) -> f64 {
        Activation::Relu.sigma(z)
    }
    #[inline(always)]
    fn value_slope(z: f64) -> (f64, f64) {
        (Activation::Relu.sigma(z), Activation::Relu.sigma_prime(z))
    }
    /// σ(z) (ReLU is cheap: nothing is saved by keeping more)
    #[inline(always)]
    fn carry(z: f64) -> f64 {
        Self::value(z)
    }
    #[inline(always)]
    fn from_carry(z: f64, _: f64) -> (f64, f64) {
        Self::value_slope(z)
    }
}

impl Pointwise for TanhFn {
    #[inline(always)]
    fn value(z: f64) -> f64 {
        z.tanh()
    }
    /// σ'(z) = 1 − tanh²(z)
    #[inline(always)]
    fn value_slope(z: f64) -> (f64, f64) {
        Self::from_carry(z, Self::carry(z))
    }
    /// t = tanh(z)
    #[inline(always)]
    fn carry(z: f64) -> f64 {
        z.tanh()
    }
    /// σ = t, σ' = 1 − t²
    #[inline(always)]
    fn from_carry(_: f64, t: f64) -> (f64, f64) {
        (t, 1.0 - t * t)
    }
}

/// True if this x86-64 CPU has AVX2 and FMA (then the hot loops run compiled for them).
#[cfg(target_arch = "x86_64")]
pub fn has_avx2_fma() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// e^x without branches, accurate to about 1 ulp, so that loops over it vectorise.
pub fn exp(x: f64) -> f64 {
    exp_with::<Separate>(x)
}

/// e^x without branches, with multiply-adds of kind `F`.
///
/// x = n ln2 + r with |r| ≤ ln2/2; e^r by its Taylor polynomial of degree 13 (relative
/// truncation error < 1e-17), evaluated in Estrin's scheme (pairs, then powers r², r⁴, r⁸:
/// a dependency chain of 4 multiply-adds instead of Horner's 13); 2^n put into the exponent
/// bits. x is clamped to [−708, 708], where e^x is still a normal number.
#[inline(always)]
pub fn exp_with<F: MulAdd>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    // c_k = 1/k!
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let ma = F::mul_add;
    // Selects rather than clamp (whose NaN handling keeps the loop from vectorising) or
    // max/min (which wasm compiles to calls of libm's fmax and fmin, one per entry, so the
    // loop does not vectorise there either). A NaN stays NaN.
    let x = if x < -708.0 { -708.0 } else { x };
    let x = if x > 708.0 { 708.0 } else { x };
    let t = ma(x, LOG2E, SHIFTER);
    let n = t - SHIFTER;
    let r = ma(-n, LN2_LO, ma(-n, LN2_HI, x));
    // Estrin: Σ_{k≤13} c_k r^k = Σ_j (c_{2j} + c_{2j+1} r) r^{2j}, grouped by r², r⁴, r⁸.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q: [f64; 7] = std::array::from_fn(|j| ma(C[2 * j + 1], r, C[2 * j]));
    let w0 = ma(q[1], r2, q[0]);
    let w1 = ma(q[3], r2, q[2]);
    let w2 = ma(q[5], r2, q[4]);
    let lo = ma(w1, r4, w0);
    let hi = ma(q[6], r4, w2);
    let p = ma(hi, r8, lo);
    // The integer n sits in the low bits of t; shift it into the exponent field.
    let bits = t.to_bits().wrapping_sub(SHIFTER.to_bits());
    let scale = f64::from_bits(bits.wrapping_add(1023) << 52);
    p * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_std_to_2_ulp() {
        let (mut worst, mut worst_fused): (f64, f64) = (0.0, 0.0);
        let mut x = -700.0;
        while x < 700.0 {
            worst = worst.max(((exp(x) - x.exp()) / x.exp()).abs());
            worst_fused = worst_fused.max(((exp_with::<Fused>(x) - x.exp()) / x.exp()).abs());
            x += 0.0137;
        }
        assert!(worst < 5e-16, "worst relative error {worst}");
        assert!(
            worst_fused < 5e-16,
            "worst relative error with FMA {worst_fused}"
        );
    }

    /// Out of range the exponential saturates at e^{±708}; a NaN stays NaN (a diverged run's
    /// pre-activations must not come out of σ as finite numbers).
    #[test]
    fn exp_saturates_and_keeps_nan() {
        for e in [exp, exp_with::<Fused>] {
            assert_eq!(e(-1e6), e(-708.0));
            assert_eq!(e(f64::NEG_INFINITY), e(-708.0));
            assert_eq!(e(1e6), e(708.0));
            assert!(e(708.0).is_finite() && e(-708.0) > 0.0);
            assert!(e(f64::NAN).is_nan());
        }
        assert!(SiluWith::<Separate>::carry(f64::NAN).is_nan());
        assert_eq!(Activation::Relu.sigma(f64::NAN), 0.0);
    }

    #[test]
    fn pointwise_forms_match_scalar_forms() {
        fn check<P: Pointwise>(act: Activation) {
            for i in 0..2001 {
                let z = (i as f64 - 1000.0) * 0.013;
                let (s, ds) = P::value_slope(z);
                assert_eq!(s, P::value(z), "{act:?}: σ the same alone or with σ'");
                assert_eq!(
                    (s, ds),
                    P::from_carry(z, P::carry(z)),
                    "{act:?}: from the carry"
                );
                assert!(
                    (s - act.sigma(z)).abs() <= 1e-15 * (1.0 + z.abs()),
                    "{act:?} σ({z})"
                );
                assert!((ds - act.sigma_prime(z)).abs() <= 1e-14, "{act:?} σ'({z})");
            }
        }
        check::<SiluWith<Separate>>(Activation::Silu);
        check::<SiluWith<Fused>>(Activation::Silu);
        check::<ReluFn>(Activation::Relu);
        check::<TanhFn>(Activation::Tanh);
    }

    /// Below SILU_ZERO_BELOW SiLU's sigmoid is 0, so no subnormal number comes out of σ or σ'
    /// however small the factors they meet; just above it the exact forms still hold.
    #[test]
    fn silu_is_zero_below_its_cutoff_and_exact_above() {
        type S = SiluWith<Separate>;
        for z in [-1e6, -708.0, -600.5] {
            assert_eq!(S::carry(z), 0.0, "z = {z}");
            assert_eq!(S::value_slope(z), (0.0, 0.0), "z = {z}");
        }
        let z = -599.0;
        let (s, ds) = S::value_slope(z);
        let (want, want_ds) = (Activation::Silu.sigma(z), Activation::Silu.sigma_prime(z));
        assert!(
            s < 0.0 && ((s - want) / want).abs() < 1e-13,
            "σ({z}) = {s}, want {want}"
        );
        assert!(((ds - want_ds) / want_ds).abs() < 1e-13);
        // The smallest carry is ~1e-260: times 1e-40 it is still a normal number.
        assert!(S::carry(SILU_ZERO_BELOW) * 1e-40 >= f64::MIN_POSITIVE);
    }
}
