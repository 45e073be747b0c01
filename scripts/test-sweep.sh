#!/usr/bin/env bash
# scripts/test-sweep.sh — the Slurm end-to-end test of `gn slurm` (needs root: it installs
# Debian's slurm-wlm and munge if missing and starts a one-node cluster on this machine with
# scripts/slurm-local.sh). The rest of the sweep tests (resume after a kill, shards, presets,
# plots, report claims) are native Rust tests in tests/sweep.rs, run by `cargo test --release`.
#
# What it does:
#   1. builds the release binary and brings the cluster up;
#   2. `gn slurm … --tasks 4 --submit`: a 12-run sweep as a 4-task job array into a shared folder;
#   3. waits for the array (scripts/slurm-local.sh wait);
#   4. checks that every run's result arrived exactly once: one result file per run of the grid,
#      no checkpoint or temporary file left, each run run by exactly one array task (the tasks'
#      logs), each task ran its whole shard;
#   5. submits the same array again: nothing is re-run and no result changes.
# Ends with the line "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/checks.sh
finish() {
  summary
  exit $?
}

echo "== building gn (release)"
if ! cargo build --release --bin gn 2>&1 | tail -n 3; then
  bad "cargo build --release"
  finish
fi
GN=$(pwd)/target/release/gn

echo "== bringing up the one-node Slurm cluster"
if up_line=$(scripts/slurm-local.sh up); then
  ok "slurm-local.sh up: $up_line"
else
  bad "slurm-local.sh up"
  finish
fi

OUT=$(mktemp -d /tmp/gn-slurm-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
ARGS=(--method gn,gd --tau0 0.1,1,5 --seed 1,2 --n 20 --m 40 --n-test 100 --d 5 --max-iter 300 --eval-every 20)
TASKS=4

mapfile -t EXPECTED < <("$GN" sweep "${ARGS[@]}" --out "$OUT" --list | cut -f1 | sort)
check "the grid has 12 runs (got ${#EXPECTED[@]})" test "${#EXPECTED[@]}" -eq 12

echo "== submitting the sweep as a job array"
if ! JOB=$("$GN" slurm "${ARGS[@]}" --out "$OUT" --tasks "$TASKS" --submit); then
  bad "gn slurm --submit"
  finish
fi
check "sbatch returned a job id ($JOB)" grep -Eq '^[0-9]+$' <<<"$JOB"
check "the script is a $TASKS-task array" grep -q "^#SBATCH --array=1-$TASKS\$" "$OUT/sweep.sbatch"

echo "== waiting for job $JOB"
check "job $JOB left the queue within 600 s" scripts/slurm-local.sh wait "$JOB" 600

# 4. Every result arrived exactly once.
mapfile -t GOT < <(cd "$OUT" && ls -1 -- *.json 2>/dev/null | sed 's/\.json$//' | sort)
check "one result file per run (${#GOT[@]} of ${#EXPECTED[@]})" test "${GOT[*]}" = "${EXPECTED[*]}"
check "no checkpoint left" test -z "$(find "$OUT" -name '*.ckpt' -print -quit)"
check "no temporary file left" test -z "$(find "$OUT" -name '.*.tmp-*' -print -quit)"
all_valid=true
for name in "${EXPECTED[@]}"; do
  python3 - "$OUT/$name.json" <<'EOF' || all_valid=false
import json, sys
r = json.load(open(sys.argv[1]))
assert r["summary"]["status"] in ("converged", "max_iter", "diverged"), r["summary"]
assert r["records"], "no records"
EOF
done
check "every result is a whole gn run result" $all_valid

logs=("$OUT"/slurm-"$JOB"_*.out)
check "one log per array task (${#logs[@]} of $TASKS)" test "${#logs[@]}" -eq "$TASKS"
# Each finished run prints "[k/n] NAME: status ..." in the log of the task that ran it.
ran=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^\[[0-9]*\/[0-9]*\] \([^:]*\): .*/\1/p' | sort)
check "every run was run by exactly one task" test "$ran" = "$(printf '%s\n' "${EXPECTED[@]}")"
dups=$(printf '%s\n' "$ran" | uniq -d)
check "no run was run twice${dups:+ ($dups)}" test -z "$dups"
whole=true
for i in $(seq 1 "$TASKS"); do
  f="$OUT/slurm-${JOB}_$i.out"
  grep -q "(shard $i/$TASKS of a 12-run grid)" "$f" 2>/dev/null || whole=false
  grep -Eq '^gn sweep: ([0-9]+) of \1 runs done' "$f" 2>/dev/null || whole=false
done
check "each task ran its whole shard and nothing failed" $whole

# 5. Submitting again re-runs nothing.
before=$(cd "$OUT" && sha256sum -- *.json)
if JOB2=$("$GN" slurm "${ARGS[@]}" --out "$OUT" --tasks "$TASKS" --submit) && scripts/slurm-local.sh wait "$JOB2" 300; then
  again=true
  for i in $(seq 1 "$TASKS"); do
    grep -q ", 0 to run;" "$OUT/slurm-${JOB2}_$i.out" 2>/dev/null || again=false
  done
  check "a second submission skips every finished run" $again
  check "and changes no result" test "$before" = "$(cd "$OUT" && sha256sum -- *.json)"
else
  bad "second submission"
fi

if [[ $fail -ne 0 ]]; then
  echo "== logs"
  tail -n +1 "$OUT"/slurm-*.out 2>/dev/null | head -n 80
fi
finish
