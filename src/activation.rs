//! The nonlinearities σ and their derivatives σ', evaluated over whole slices.
//!
//! SiLU needs one exponential per entry and is the hot loop of a GD step (N·M entries), so it
//! uses [`exp`], a branch-free exponential that the compiler vectorises (AVX2 natively when the
//! CPU has it, `simd128` in wasm); tanh and ReLU use the standard library.

use crate::config::Activation;

impl Activation {
    /// σ(h) for one value (reference form, used by tests and small problems).
    pub fn sigma(self, h: f64) -> f64 {
        match self {
            // SiLU: σ(h) = h · sigmoid(h) = h / (1 + e^{−h})
            Activation::Silu => h / (1.0 + (-h).exp()),
            // ReLU: σ(h) = max(h, 0)
            Activation::Relu => h.max(0.0),
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

impl Activation {
    /// One hidden unit over a batch: h ← σ(h + b) and, if given, dh ← v · σ'(h + b)
    /// (the bias b and the outgoing weight v of the unit fused into the same pass).
    pub fn apply(self, h: &mut [f64], b: f64, dh: Option<(&mut [f64], f64)>) {
        match (self, dh) {
            (Activation::Silu, None) => simd::silu(h, b),
            (Activation::Silu, Some((dh, v))) => simd::silu_both(h, b, dh, v),
            (act, None) => h.iter_mut().for_each(|x| *x = act.sigma(*x + b)),
            (act, Some((dh, v))) => {
                assert_eq!(h.len(), dh.len());
                h.iter_mut().zip(dh.iter_mut()).for_each(|(x, dx)| {
                    let z = *x + b;
                    *dx = v * act.sigma_prime(z);
                    *x = act.sigma(z);
                })
            }
        }
    }
}

/// SiLU over slices, with [`exp`] inlined so the loops vectorise.
mod simd {
    use super::exp;

    #[inline(always)]
    fn silu_loop(h: &mut [f64], b: f64) {
        for x in h.iter_mut() {
            let z = *x + b;
            // The same operations as in silu_both_loop, so S is bit-identical either way.
            *x = z * (1.0 / (1.0 + exp(-z)));
        }
    }

    #[inline(always)]
    fn silu_both_loop(h: &mut [f64], b: f64, dh: &mut [f64], v: f64) {
        assert_eq!(h.len(), dh.len());
        for (x, dx) in h.iter_mut().zip(dh.iter_mut()) {
            let z = *x + b;
            let s = 1.0 / (1.0 + exp(-z));
            *dx = v * (s * (1.0 + z * (1.0 - s)));
            *x = z * s;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn silu_avx2(h: &mut [f64], b: f64) {
        silu_loop(h, b)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn silu_both_avx2(h: &mut [f64], b: f64, dh: &mut [f64], v: f64) {
        silu_both_loop(h, b, dh, v)
    }

    #[cfg(target_arch = "x86_64")]
    fn has_avx2() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// h ← z · sigmoid(z), z = h + b
    pub fn silu(h: &mut [f64], b: f64) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has the features the function was compiled for.
            return unsafe { silu_avx2(h, b) };
        }
        silu_loop(h, b)
    }

    /// dh ← v σ'(z), then h ← σ(z), z = h + b
    pub fn silu_both(h: &mut [f64], b: f64, dh: &mut [f64], v: f64) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has the features the function was compiled for.
            return unsafe { silu_both_avx2(h, b, dh, v) };
        }
        silu_both_loop(h, b, dh, v)
    }
}

/// e^x without branches, accurate to about 1 ulp, so that loops over it vectorise.
///
/// x = n ln2 + r with |r| ≤ ln2/2; e^r by its Taylor polynomial of degree 13 (relative
/// truncation error < 1e-17); 2^n put into the exponent bits. x is clamped to [−708, 708],
/// where e^x is still a normal number.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    // max/min rather than clamp: clamp's NaN handling keeps the loop from vectorising.
    let x = x.max(-708.0).min(708.0);
    let t = x * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Horner form of Σ_{k≤13} r^k / k!
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
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
        let mut worst: f64 = 0.0;
        let mut x = -700.0;
        while x < 700.0 {
            let rel = ((exp(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 5e-16, "worst relative error {worst}");
    }

    #[test]
    fn slice_forms_match_scalar_forms() {
        for act in [Activation::Silu, Activation::Relu, Activation::Tanh] {
            let xs: Vec<f64> = (0..2001).map(|i| (i as f64 - 1000.0) * 0.013).collect();
            let (b, v) = (0.3, -1.7);
            let mut h = xs.clone();
            let mut dh = vec![0.0; xs.len()];
            act.apply(&mut h, b, Some((&mut dh, v)));
            let mut h2 = xs.clone();
            act.apply(&mut h2, b, None);
            for (i, &x) in xs.iter().enumerate() {
                let z = x + b;
                assert!((h[i] - act.sigma(z)).abs() <= 1e-15 * (1.0 + z.abs()), "{act:?} σ({z})");
                assert_eq!(h[i], h2[i]);
                assert!((dh[i] - v * act.sigma_prime(z)).abs() <= 1e-14, "{act:?} σ'({z})");
            }
        }
    }
}
