#!/usr/bin/env bash
# scripts/test-ckpt-pack.sh — the round trip of scripts/ckpt-pack.py, with which
# scripts/paper-flow.sh save commits unfinished runs' checkpoints:
#   1. a checkpoint packs to less than half its size and unpacks to the same JSON values;
#   2. the unpacked checkpoint resumes to the same final checkpoint as the original, bit for bit;
#   3. a checkpoint whose data the seed does not redraw (one x_train number changed) is refused.
# Ends with the line "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/checks.sh
same_json() { python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:3]); [x.pop(k,None) for x in (a,b) for k in sys.argv[3:]]; sys.exit(a!=b)' "$@"; }

export GN=${GN:-$(pwd)/target/release/gn}
T=$(mktemp -d /tmp/gn-ckpt-pack.XXXXXX)
trap 'rm -rf "$T"' EXIT
ARGS=(--quiet --method gd --tau0 0.1 --n 30 --m 60 --d 4 --n-test 200 --lr 5 --seed 3 --eval-every 10)

"$GN" run "${ARGS[@]}" --max-iter 40 --checkpoint "$T/orig.ckpt" >/dev/null
check "scripts/ckpt-pack.py pack" scripts/ckpt-pack.py pack "$T/orig.ckpt" "$T/p.ckpt.gz"
check "the packed file is under half the checkpoint" \
  test $(($(stat -c %s "$T/p.ckpt.gz") * 2)) -lt "$(stat -c %s "$T/orig.ckpt")"
check "scripts/ckpt-pack.py unpack" scripts/ckpt-pack.py unpack "$T/p.ckpt.gz" "$T/back.ckpt"
check "unpacked = original (every key, every number)" same_json "$T/orig.ckpt" "$T/back.ckpt"

"$GN" run --quiet --resume "$T/orig.ckpt" --max-iter 90 --checkpoint "$T/a.ckpt" >/dev/null
"$GN" run --quiet --resume "$T/back.ckpt" --max-iter 90 --checkpoint "$T/b.ckpt" >/dev/null
# The records' elapsed_s (wall time) are the only numbers allowed to differ.
check "both resume to step 90 with the same weights, data and step" \
  same_json "$T/a.ckpt" "$T/b.ckpt" sweep
check "and the resumed run is at step 90" \
  python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["iteration"] != 90)' "$T/b.ckpt"

python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["x_train"][0][0] += 1e-12; json.dump(c, open(sys.argv[2], "w"))' \
  "$T/orig.ckpt" "$T/tampered.ckpt"
if scripts/ckpt-pack.py pack "$T/tampered.ckpt" "$T/t.ckpt.gz" 2>"$T/err"; then
  bad "a checkpoint with other data is refused"
else
  check "a checkpoint with other data is refused, naming x_train ($(cat "$T/err"))" grep -q x_train "$T/err"
fi
check "and nothing is written for it" test ! -e "$T/t.ckpt.gz"

summary
