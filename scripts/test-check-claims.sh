#!/usr/bin/env bash
# scripts/test-check-claims.sh — scripts/check-claims.py decides claim (d) as `gn report` does
# once the grid is complete (on the committed runs it can only agree on "incomplete"):
#   1. the committed hidden-learning runs, with the missing λ = 0.1 seeds filled in by copies of
#      seed 1 under their seed: both say (d) holds;
#   2. one λ = 0.1 run whose final test loss is above λ = 10's: both say it fails (part 2);
#   3. one λ = 0.1 run whose refit never falls below half the model's: both say it fails (part 1).
# Ends with the line "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/checks.sh

GN=${GN:-$(pwd)/target/release/gn}
T=$(mktemp -d /tmp/gn-check-claims.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/runs"
for z in results/paper/flow/runs/gn-*-refit-t5000.json.gz; do
  gzip -dc "$z" > "$T/runs/$(basename "$z" .gz)"
done

# edit NAME PYTHON: runs the Python statement on the run file's JSON `r`, in place.
edit() {
  python3 - "$T/runs/$1.json" "$2" <<'PY'
import json, sys
path, stmt = sys.argv[1], sys.argv[2]
r = json.load(open(path))
exec(stmt)
json.dump(r, open(path, "w"))
PY
}
name() { echo "gn-silu-tau0_$1-n500-m5000-lr$2-seed$3-refit-t5000"; }
for tau0 in 0.01 0.1; do
  for seed in 2 3; do
    f=$(name "$tau0" 0.1 "$seed")
    [[ -e $T/runs/$f.json ]] && continue
    cp "$T/runs/$(name "$tau0" 0.1 1).json" "$T/runs/$f.json"
    edit "$f" "r['config']['seed'] = $seed"
  done
done

# verdict: (d)'s verdict in gn report's claims.json for the folder as it is now.
verdict() {
  "$GN" report "$T/runs" --json "$T/claims.json" >/dev/null &&
    python3 -c 'import json,sys; print(next(c["verdict"] for c in json.load(open(sys.argv[1])) if c["id"] == "d"))' "$T/claims.json"
}
agree() { python3 scripts/check-claims.py "$T" >"$T/check.log"; }

check "18 hidden-learning runs in the test folder" test "$(ls "$T/runs" | wc -l)" -eq 18
v=$(verdict)
check "complete grid: gn report says (d) holds (got '$v')" test "$v" = holds
check "and check-claims.py agrees" agree

f=$(name 0.01 0.1 2)
edit "$f" "r['summary']['final_test_loss'] = 1.0"
v=$(verdict)
check "λ = 0.1 worse at the end: gn report says (d) fails (got '$v')" test "$v" = fails
check "and check-claims.py agrees" agree
edit "$f" "r['summary']['final_test_loss'] = 1e-4"

f=$(name 0.1 0.1 3)
edit "$f" "[x.update(refit_test_loss=x['test_loss']) for x in r['records'] if x.get('test_loss') is not None]"
v=$(verdict)
check "a λ = 0.1 refit never below half the model's: gn report says (d) fails (got '$v')" test "$v" = fails
check "and check-claims.py agrees" agree
summary
