#!/usr/bin/env bash
# The paper-flow grid (results/paper/flow) on one two-core machine, in the background, over as
# many sittings as it takes.
#
#   scripts/paper-flow.sh run DIR    copies the committed run files of results/paper/flow/runs
#                                    into DIR, gunzipped (so they are not run again), and unpacks
#                                    the committed checkpoints of unfinished runs
#                                    (results/paper/flow/resume) where DIR has none or an older
#                                    one, then two workers of one thread each work through one
#                                    list of the preset's parts in priority order (claims c, d
#                                    and b, then the rest), each run by whichever is free. Every
#                                    `gn sweep` skips finished runs, runs the other sweep holds,
#                                    and resumes checkpoints, so after a restart the same command
#                                    continues.
#                                    Long: start it with nohup … & .
#   scripts/paper-flow.sh sync DIR   copies the finished run files of DIR into
#                                    results/paper/flow/runs as NAME.json.gz (gzip -9n: a fifth of
#                                    the size; never overwriting one), then
#                                    regenerates report.md, claims.json and figures/ there and
#                                    re-derives claims (a) to (d) with scripts/check-claims.py.
#   scripts/paper-flow.sh save DIR   packs the checkpoint of every unfinished run in DIR into
#                                    results/paper/flow/resume (scripts/ckpt-pack.py: ~0.55 MB each
#                                    at M = 5000) and drops the packed ones of finished runs: commit
#                                    it every hour or so, so that runs longer than one sitting go on
#                                    in the next one, on whatever machine it gets.
#   scripts/paper-flow.sh status DIR the runs under way in DIR (their steps, the time of their
#                                    last checkpoint and the time they have left at their own
#                                    pace) and, per part, the runs not done, their steps left and
#                                    the time those take at the pace measured in DIR.
#   scripts/paper-flow.sh check      checks (dry runs) that the workers' list holds every run of
#                                    the preset.
#
# Needs target/release/gn (cargo build --release). GN=/path/to/gn picks another binary (e.g. a
# copy, so that rebuilding does not change the one the workers run).
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2; exit 2; }
cmd=${1:-}
dir=${2:-}
[[ -n $cmd && ( -n $dir || $cmd == check ) ]] || usage
gn=${GN:-$PWD/target/release/gn}

# One sweep of the preset, one run at a time on one thread, below the machine's other work.
sweep() { SLURM_CPUS_PER_TASK=1 nice -n 15 "$gn" sweep --preset paper-flow --jobs 1 "$@"; }

# The preset's runs in priority order: claims (c), (d) and (b) first, then the rest of claim
# (a)'s GD runs, longest first. Both workers work through this one list: `gn sweep` locks each
# run it runs and skips a run the other holds, so whichever worker is free takes the next run
# and neither waits for the other's long tail.
worker() {
  sweep --part study --out "$dir"
  sweep --part horizon --tau0 100 --out "$dir"
  sweep --part hidden --lr 10 --out "$dir"   # GN at λ = 10 and GD (also λ = 10)
  sweep --part hidden --lr 1 --out "$dir"
  sweep --part hidden --lr 0.1 --out "$dir"
  sweep --part horizon --tau0 0.01 --out "$dir"
  sweep --part gn --out "$dir"
  sweep --part horizon --tau0 0.1 --n 1000 --out "$dir"
  sweep --part horizon --tau0 0.1 --out "$dir"
  sweep --part horizon --tau0 0.5 --n 1000 --out "$dir"
  sweep --part horizon --tau0 0.5 --out "$dir"
  sweep --part horizon --tau0 10,5,1 --n 1000 --out "$dir"
  sweep --part horizon --tau0 10,5,1 --out "$dir"
}

# The step a checkpoint has reached.
step() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$1"; }

# The names of the runs a --dry-run lists (its table's rows, after the header).
names() { "$gn" sweep --preset paper-flow --dry-run "$@" | awk -F'\t' 'NR > 1 && NF > 1 {print $1}'; }

case $cmd in
  check)
    [[ -x $gn ]] || { echo "no $gn: cargo build --release" >&2; exit 2; }
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    sweep() { names "$@"; }
    listed=$(worker | sort -u)
    all=$(names --out "$dir" | sort)
    missing=$(comm -23 <(echo "$all") <(echo "$listed"))
    [[ -z $missing ]] || { echo "in no sweep of the workers' list:"; echo "$missing"; exit 1; }
    echo "ok: the workers' list holds each of the preset's $(wc -l <<< "$all") runs"
    ;;
  run)
    [[ -x $gn ]] || { echo "no $gn: cargo build --release" >&2; exit 2; }
    mkdir -p "$dir"
    for z in results/paper/flow/runs/*.json.gz; do
      b=$(basename "$z" .gz)
      [[ -e $dir/$b ]] || { gzip -dc "$z" > "$dir/.$b.tmp" && mv "$dir/.$b.tmp" "$dir/$b"; }
    done
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
    worker > "$dir/worker-a.log" 2>&1 &
    worker > "$dir/worker-b.log" 2>&1 &
    echo "two workers started; logs: $dir/worker-a.log, $dir/worker-b.log"
    wait
    ;;
  sync)
    runs=results/paper/flow/runs
    n=0
    for f in "$dir"/*.json; do
      [[ -e $f ]] || continue
      b=$(basename "$f")
      if [[ ! -e $runs/$b.gz ]]; then
        gzip -9 -n -c "$f" > "$runs/.$b.gz.tmp" && mv "$runs/.$b.gz.tmp" "$runs/$b.gz"
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
  status)
    [[ -x $gn ]] || { echo "no $gn: cargo build --release" >&2; exit 2; }
    "$gn" sweep --preset paper-flow --out "$dir" --dry-run | awk -F'\t' '$7 ~ /running/ {print $1, $4}' |
      while read -r name max_iter; do
        c=$dir/$name.ckpt
        if [[ -e $c ]]; then
          # Its own pace: the checkpoint's seconds (all sittings) over its steps.
          left=$(python3 -c 'import json,sys
c = json.load(open(sys.argv[1])); k, w, n = c["iteration"], c["sweep"]["wall_s"], int(sys.argv[2])
print(f"step {k} of {n}; at its {1e3 * w / k:.1f} ms per step, at most {(n - k) * w / k / 3600:.1f} h left" if k and w else f"step {k} of {n}")' "$c" "$max_iter")
          echo "under way: $name at $left ($(date -u -r "$c" +%H:%M:%S) UTC)"
        else
          echo "under way: $name (no checkpoint yet)"
        fi
      done
    for part in study horizon gn hidden; do
      "$gn" sweep --preset paper-flow --part $part --out "$dir" --dry-run |
        awk -F'\t' -v part="$part" 'NR > 1 && NF == 1 {print part ": " $0}'
    done
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
      if [[ -e results/paper/flow/runs/$name.json.gz || -e $dir/$name.json ]]; then
        rm "$z"
        echo "finished, dropped: $name.ckpt.gz"
      fi
    done
    ;;
  *) usage ;;
esac
