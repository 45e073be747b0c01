#!/usr/bin/env bash
# Measures GD's flow-equivalent step for the page's feature-learning preset: runs GD with the
# release CLI at M = 1000, N = 200, τ₀ = 0.01, seed 1 for each λ up to the same flow time
# t = λ·k = 60 000, recording every Δt = 300, and prints, per λ, the largest relative difference
# of its train and test losses from λ = 10's at equal t (over all records, and from t = 12 000 on,
# past the fast drop off the initial plateau). About 1.5 min on two cores.
# Usage: scripts/flow-step.sh [OUTDIR]   (needs target/release/gn: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/flow-step}
mkdir -p "$out"
for lr in 10 20 30 50 100 300; do
  target/release/gn run --method gd --m 1000 --n 200 --tau0 0.01 --seed 1 --lr "$lr" \
    --max-iter $((60000 / lr)) --eval-every $((300 / lr)) --quiet --out "$out/gd-lr$lr.csv"
done
python3 - "$out" <<'PY'
import csv, sys
load = lambda lr: {int(r['iter']) * lr: (float(r['train_loss']), float(r['test_loss']))
                   for r in csv.DictReader(open(f'{sys.argv[1]}/gd-lr{lr}.csv'))}
ref = load(10)
for lr in [20, 30, 50, 100, 300]:
    d = {t: max(abs(b / a - 1) for a, b in zip(ref[t], v)) for t, v in load(lr).items() if t in ref and t > 0}
    worst = max(d, key=d.get)
    late = max(v for t, v in d.items() if t >= 12000)
    print(f'lr {lr:4}: max {100 * d[worst]:6.2f} % (at t = {worst}); from t = 12000 on {100 * late:5.2f} %')
PY
