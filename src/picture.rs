//! The coordinates of the page's two pictures of what a network has learned. Pure functions of
//! the weights: the page's worker calls them and the page only draws what they return.
//!
//! - **Hidden units** ([`unit_points`]): each student unit i becomes one point, x = the angle
//!   (degrees) between its direction û_i and the nearest teacher direction ŵ*_j, y = its share
//!   of the weight, M·p_i with p_i = ‖u_i‖² / Σ_k ‖u_k‖² (so 1 is the average unit). These are
//!   the two ingredients of the teacher alignment of DESIGN.md §4, Σ_i p_i min_j ‖û_i − ŵ*_j‖,
//!   and ‖û − ŵ‖ = 2 sin(θ/2), so the alignment is this picture's share-weighted mean of
//!   2 sin(θ/2). In the kernel regime the cloud stays where it started (random directions in
//!   ℝ^d sit far from every teacher direction); with feature learning the heavy units gather
//!   at angle 0, on the teacher's directions.
//! - **Learned function** ([`line_inputs`], [`line_outputs`]): a network's outputs along the
//!   line x(s) = s·ŵ*_1 through input space (the teacher's first unit direction), s ∈ [−s_max,
//!   s_max]; the teacher's outputs on the same line are the target.
//!
//! The share uses ‖u_i‖², not |v_i|: it is the weight the alignment gives each unit, and unlike
//! v (which starts at 0 for every unit) it is meaningful from the first record on.

use crate::config::Activation;
use crate::network::Network;
use nalgebra::DMatrix;

/// The hidden-units picture of a student with input weights `u` (M×d) against a teacher with
/// input weights `u_teacher` (M*×d): per unit, the angle in degrees (0..=180) to the nearest
/// teacher direction and the share M·p_i (the shares average to 1). A unit with u_i = 0 has no
/// direction: its angle is NaN (its share is 0). If every u_i is 0, every share is NaN.
pub fn unit_points(u: &DMatrix<f64>, u_teacher: &DMatrix<f64>) -> (Vec<f64>, Vec<f64>) {
    let teacher: Vec<Vec<f64>> = (0..u_teacher.nrows())
        .map(|j| unit_row(u_teacher, j))
        .collect();
    let sq: Vec<f64> = (0..u.nrows()).map(|i| u.row(i).norm_squared()).collect();
    let total: f64 = sq.iter().sum();
    let m = u.nrows() as f64;
    let mut angles = Vec::with_capacity(u.nrows());
    for (i, &s) in sq.iter().enumerate() {
        if s == 0.0 || teacher.is_empty() {
            angles.push(f64::NAN);
            continue;
        }
        let ui = unit_row(u, i);
        let best = teacher
            .iter()
            .map(|w| ui.iter().zip(w).map(|(a, b)| a * b).sum::<f64>())
            .fold(f64::NEG_INFINITY, f64::max);
        angles.push(best.clamp(-1.0, 1.0).acos().to_degrees());
    }
    let shares = sq
        .iter()
        .map(|s| if total > 0.0 { m * s / total } else { f64::NAN })
        .collect();
    (angles, shares)
}

/// The summary of a hidden-units picture (the page's text alternative): how many units lie
/// within `within_deg` degrees of a teacher direction, and their fraction of the total share.
pub fn near_teacher(angles: &[f64], shares: &[f64], within_deg: f64) -> (usize, f64) {
    let (mut count, mut near, mut total) = (0, 0.0, 0.0);
    for (a, p) in angles.iter().zip(shares) {
        if p.is_finite() {
            total += p;
        }
        if *a <= within_deg && p.is_finite() {
            count += 1;
            near += p;
        }
    }
    (count, if total > 0.0 { near / total } else { 0.0 })
}

/// Row `i` of `a`, scaled to unit length (left as is if it is 0).
fn unit_row(a: &DMatrix<f64>, i: usize) -> Vec<f64> {
    let norm = a.row(i).norm();
    let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
    a.row(i).iter().map(|x| x * scale).collect()
}

/// The positions s_k (`points` of them, evenly from −`s_max` to `s_max`) and the inputs
/// x(s_k) = s_k·ŵ*_1 (one per row), ŵ*_1 being the teacher's first unit direction (e_1 if the
/// teacher has no unit or a zero first row).
pub fn line_inputs(
    u_teacher: &DMatrix<f64>,
    points: usize,
    s_max: f64,
) -> (Vec<f64>, DMatrix<f64>) {
    let d = u_teacher.ncols();
    let mut w = if u_teacher.nrows() > 0 {
        unit_row(u_teacher, 0)
    } else {
        vec![0.0; d]
    };
    if d > 0 && w.iter().all(|&x| x == 0.0) {
        w[0] = 1.0;
    }
    let step = if points > 1 {
        2.0 * s_max / (points - 1) as f64
    } else {
        0.0
    };
    let s: Vec<f64> = (0..points)
        .map(|k| {
            if points > 1 {
                -s_max + step * k as f64
            } else {
                0.0
            }
        })
        .collect();
    let x = DMatrix::from_fn(points, d, |k, c| s[k] * w[c]);
    (s, x)
}

/// A network's outputs on the rows of `x` (the inputs of [`line_inputs`]).
pub fn line_outputs(net: &Network, act: Activation, x: &DMatrix<f64>) -> Vec<f64> {
    net.predict(act, x).iter().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::alignment;
    use nalgebra::DVector;

    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        }
    }

    fn random(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
        let mut r = lcg(seed);
        DMatrix::from_fn(rows, cols, |_, _| r())
    }

    #[test]
    fn angles_and_shares_match_a_direct_computation() {
        let (u, t) = (random(40, 6, 1), random(3, 6, 2));
        let (angles, shares) = unit_points(&u, &t);
        let total: f64 = u
            .row_iter()
            .map(|r| r.iter().map(|x| x * x).sum::<f64>())
            .sum();
        for i in 0..u.nrows() {
            let ui: Vec<f64> = u.row(i).iter().copied().collect();
            let nu = ui.iter().map(|x| x * x).sum::<f64>().sqrt();
            let mut smallest = f64::INFINITY;
            for j in 0..t.nrows() {
                let wj: Vec<f64> = t.row(j).iter().copied().collect();
                let nw = wj.iter().map(|x| x * x).sum::<f64>().sqrt();
                let cos = ui.iter().zip(&wj).map(|(a, b)| a * b).sum::<f64>() / (nu * nw);
                smallest = smallest.min(cos.clamp(-1.0, 1.0).acos() * 180.0 / std::f64::consts::PI);
            }
            assert!(
                (angles[i] - smallest).abs() < 1e-9,
                "unit {i}: {} vs {smallest}",
                angles[i]
            );
            let share = 40.0 * ui.iter().map(|x| x * x).sum::<f64>() / total;
            assert!((shares[i] - share).abs() < 1e-12);
        }
        assert!(
            (shares.iter().sum::<f64>() - 40.0).abs() < 1e-9,
            "shares average to 1"
        );
    }

    #[test]
    fn the_alignment_is_the_share_weighted_mean_of_the_chord() {
        let (u, t) = (random(50, 10, 3), random(5, 10, 4));
        let (angles, shares) = unit_points(&u, &t);
        let chord: f64 = angles
            .iter()
            .zip(&shares)
            .map(|(a, p)| p / 50.0 * 2.0 * (a.to_radians() / 2.0).sin())
            .sum();
        assert!(
            (chord - alignment(&u, &t)).abs() < 1e-12,
            "{chord} vs {}",
            alignment(&u, &t)
        );
    }

    #[test]
    fn units_on_teacher_directions_sit_at_angle_zero_and_zero_units_have_none() {
        let t = random(2, 4, 5);
        let mut u = DMatrix::zeros(3, 4);
        u.set_row(0, &(t.row(1) * 3.0));
        u.set_row(1, &(t.row(0) * 0.5));
        let (angles, shares) = unit_points(&u, &t);
        assert!(
            angles[0].abs() < 1e-6 && angles[1].abs() < 1e-6,
            "{angles:?}"
        );
        assert!(angles[2].is_nan() && shares[2] == 0.0);
        let (_, none) = unit_points(&DMatrix::zeros(2, 4), &t);
        assert!(none.iter().all(|s| s.is_nan()));
    }

    #[test]
    fn near_teacher_counts_units_and_their_share() {
        let angles = [1.0, 5.0, 30.0, f64::NAN, 9.99];
        let shares = [2.0, 0.5, 1.5, 0.0, 1.0];
        let (count, share) = near_teacher(&angles, &shares, 10.0);
        assert_eq!(count, 3);
        assert!((share - 3.5 / 5.0).abs() < 1e-12);
        assert_eq!(near_teacher(&[], &[], 10.0), (0, 0.0));
    }

    #[test]
    fn the_line_runs_along_the_teachers_first_direction() {
        let t = random(5, 10, 6);
        let (s, x) = line_inputs(&t, 201, 3.0);
        assert_eq!((s.len(), x.nrows(), x.ncols()), (201, 201, 10));
        assert!((s[0] + 3.0).abs() < 1e-12 && (s[200] - 3.0).abs() < 1e-12 && s[100].abs() < 1e-12);
        let w = t.row(0) / t.row(0).norm();
        for k in [0, 37, 200] {
            assert!((x.row(k) - w.clone() * s[k]).norm() < 1e-12);
        }
    }

    #[test]
    fn line_outputs_are_the_networks_outputs() {
        let net = Network {
            u: random(7, 3, 7),
            b: DVector::from_vec(vec![0.1; 7]),
            v: DVector::from_vec(vec![0.5; 7]),
        };
        let x = random(4, 3, 8);
        let out = line_outputs(&net, Activation::Tanh, &x);
        for (k, o) in out.iter().enumerate() {
            let direct: f64 = (0..7)
                .map(|i| 0.5 * (net.u.row(i).dot(&x.row(k)) + 0.1).tanh())
                .sum::<f64>()
                / 7.0;
            assert!((o - direct).abs() < 1e-12, "{o} vs {direct}");
        }
    }
}
