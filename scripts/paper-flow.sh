#!/usr/bin/env bash
# The paper-flow grid (results/paper/flow) on one two-core machine, in the background, over as
# many sittings as it takes.
#
#   scripts/paper-flow.sh run DIR    copies the committed run files of results/paper/flow/runs
#                                    into DIR (so they are not run again) and unpacks the committed
#                                    checkpoints of unfinished runs (results/paper/flow/resume) where
#                                    DIR has none or an older one, then two workers of one
#                                    thread each run the preset's parts into DIR in priority order
#                                    (claims c, d and b, then the rest). Every `gn sweep` skips
#                                    finished runs and resumes checkpoints, so after a restart the
#                                    same command continues. Long: start it with nohup … & .
#   scripts/paper-flow.sh sync DIR   copies the finished run files of DIR into
#                                    results/paper/flow/runs (never overwriting one), then
#                                    regenerates report.md, claims.json and figures/ there and
#                                    re-derives claims (b) and (c) with scripts/check-claims.py.
#   scripts/paper-flow.sh save DIR   packs the checkpoint of every unfinished run in DIR into
#                                    results/paper/flow/resume (scripts/ckpt-pack.py: ~0.55 MB each
#                                    at M = 5000) and drops the packed ones of finished runs: commit
#                                    it every hour or so, so that runs longer than one sitting go on
#                                    in the next one, on whatever machine it gets.
#
# Needs target/release/gn (cargo build --release). GN=/path/to/gn picks another binary (e.g. a
# copy, so that rebuilding does not change the one the workers run).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '2,25p' "$0" >&2; exit 2; }
cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
gn=${GN:-$PWD/target/release/gn}

# One sweep of the preset, one run at a time on one thread, below the machine's other work.
sweep() { SLURM_CPUS_PER_TASK=1 nice -n 15 "$gn" sweep --preset paper-flow --jobs 1 "$@"; }

worker_a() {
  sweep --part horizon --tau0 100 --n 500 --out "$dir"
  sweep --part hidden --lr 1 --out "$dir"
  # Claim (c)'s last run before (d)'s six at λ = 0.1, then (b)'s run at N = 1000.
  sweep --part horizon --tau0 100 --n 1000 --out "$dir"
  sweep --part hidden --lr 0.1 --out "$dir"
  sweep --part horizon --tau0 0.01 --n 1000 --out "$dir"
  sweep --part hidden --method gd --out "$dir"
  sweep --part gn --out "$dir"
  sweep --part horizon --tau0 0.1 --n 500,1000 --out "$dir"
}
worker_b() {
  sweep --part study --out "$dir"
  sweep --part horizon --tau0 100 --n 100 --out "$dir"
  sweep --part hidden --lr 10 --out "$dir"
  # Claim (b) at N = 500 before the rest of claim (a)'s GD runs.
  sweep --part horizon --tau0 0.01 --n 500 --out "$dir"
  sweep --part horizon --tau0 0.01,0.1 --n 100 --out "$dir"
  sweep --part horizon --tau0 1,5,0.5,10 --out "$dir"
}

# The step a checkpoint has reached.
step() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$1"; }

case $cmd in
  run)
    [[ -x $gn ]] || { echo "no $gn: cargo build --release" >&2; exit 2; }
    mkdir -p "$dir"
    cp -n results/paper/flow/runs/*.json "$dir"/
    for z in results/paper/flow/resume/*.ckpt.gz; do
      [[ -e $z ]] || continue
      name=$(basename "$z" .ckpt.gz)
      [[ -e $dir/$name.json ]] && continue
      if [[ -e $dir/$name.ckpt ]]; then
        have=$(step "$dir/$name.ckpt")
        packed=$(python3 -c 'import gzip,json,sys; print(json.load(gzip.open(sys.argv[1]))["iteration"])' "$z")
        (( packed > have )) || continue
      fi
      GN=$gn python3 scripts/ckpt-pack.py unpack "$z" "$dir/$name.ckpt"
    done
    worker_a > "$dir/worker-a.log" 2>&1 &
    worker_b > "$dir/worker-b.log" 2>&1 &
    echo "two workers started; logs: $dir/worker-a.log, $dir/worker-b.log"
    wait
    ;;
  sync)
    runs=results/paper/flow/runs
    n=0
    for f in "$dir"/*.json; do
      [[ -e $f ]] || continue
      b=$(basename "$f")
      if [[ ! -e $runs/$b ]]; then
        cp "$f" "$runs/$b.tmp" && mv "$runs/$b.tmp" "$runs/$b"
        n=$((n + 1))
        echo "new: $b"
      fi
    done
    echo "$n new run files"
    "$gn" report "$runs" --json results/paper/flow/claims.json > results/paper/flow/report.md.tmp
    mv results/paper/flow/report.md.tmp results/paper/flow/report.md
    "$gn" plot "$runs" --out results/paper/flow/figures > /dev/null
    python3 scripts/check-claims.py results/paper/flow
    # Says which rows of the README's verdict table to update (CI fails until they are).
    python3 scripts/check-readme-verdicts.py README.md results/paper/flow/claims.json || true
    ;;
  save)
    resume=results/paper/flow/resume
    mkdir -p "$resume"
    for c in "$dir"/*.ckpt; do
      [[ -e $c ]] || continue
      name=$(basename "$c" .ckpt)
      [[ -e $dir/$name.json ]] && continue
      GN=$gn python3 scripts/ckpt-pack.py pack "$c" "$resume/$name.ckpt.gz"
    done
    for z in "$resume"/*.ckpt.gz; do
      [[ -e $z ]] || continue
      name=$(basename "$z" .ckpt.gz)
      if [[ -e results/paper/flow/runs/$name.json || -e $dir/$name.json ]]; then
        rm "$z"
        echo "finished, dropped: $name.ckpt.gz"
      fi
    done
    ;;
  *) usage ;;
esac
