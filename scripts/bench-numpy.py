#!/usr/bin/env python3
"""The comparison point of `gn bench`: one GD and one GN step of the same structured formulas
(DESIGN.md §3) in NumPy, f64, on OpenBLAS with both cores, at M = 5000 and the given N.

GD:  S = σ(X Uᵀ + b), D = v·σ'(·), f = S v / M, g = (f − y)/N,
     Δv = −λ Sᵀg / M,  ΔU = −λ (D ⊙ g)ᵀ X / M,  Δb = −λ Dᵀg / M
GN:  A = (S Sᵀ + (D Dᵀ) ⊙ (X Xᵀ + 1)) / M²,  A = QΛQᵀ (eigh),  ε = max(ε₀, λ_min),
     z = Q diag(1/(Λ + ε)) Qᵀ g,  Δθ = −λ Jᵀz   (as GD with g replaced by z)

Prints the median of --reps timed repetitions per step. Needs numpy (pip install numpy).
Usage: scripts/bench-numpy.py [--n 500,2000] [--m 5000] [--reps 5]
"""
import argparse
import time

import numpy as np


def silu(h):
    s = 1.0 / (1.0 + np.exp(-h))
    return h * s, s * (1.0 + h * (1.0 - s))


def median_time(reps, f):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", default="500,2000")
    ap.add_argument("--m", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    m, d, lr, eps0 = args.m, 10, 10.0, 1e-7
    print(f"numpy {np.__version__}, M = {m}, median of {args.reps}")
    print(f"{'N':>6} {'GD step':>10} {'GN step':>10}")
    for n in [int(v) for v in args.n.split(",")]:
        x = rng.standard_normal((n, d))
        y = rng.standard_normal(n)
        u = rng.standard_normal((m, d))
        b = rng.standard_normal(m)
        v = rng.standard_normal(m) * 0.1

        def jt(s, dmat, z):
            return (s.T @ z / m, (dmat * z[:, None]).T @ x / m, dmat.T @ z / m)

        def gd():
            h = x @ u.T + b
            s, ds = silu(h)
            dmat = ds * v
            f = s @ v / m
            g = (f - y) / n
            dv, du, db = jt(s, dmat, g)
            return v - lr * dv, u - lr * du, b - lr * db

        def gn():
            h = x @ u.T + b
            s, ds = silu(h)
            dmat = ds * v
            f = s @ v / m
            g = (f - y) / n
            a = (s @ s.T + (dmat @ dmat.T) * (x @ x.T + 1.0)) / m**2
            lam, q = np.linalg.eigh(a)
            eps = max(eps0, max(lam[0], 0.0))
            z = q @ ((q.T @ g) / (np.maximum(lam, 0.0) + eps))
            dv, du, db = jt(s, dmat, z)
            return v - lr * dv, u - lr * du, b - lr * db

        t_gd = median_time(max(args.reps, 7), gd)
        t_gn = median_time(args.reps, gn)
        print(f"{n:>6} {t_gd * 1e3:>8.1f}ms {t_gn * 1e3:>8.1f}ms")


if __name__ == "__main__":
    main()
