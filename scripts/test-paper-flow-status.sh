#!/usr/bin/env bash
# scripts/test-paper-flow-status.sh — what `scripts/paper-flow.sh status DIR` says of the runs
# under way in DIR, on a real run of the paper-flow grid (GD, τ₀ = 10, N = 100, M = 5000):
#   1. a run whose lock another process holds, with no checkpoint yet: "(no checkpoint yet)";
#   2. a sweep stopped (SIGSTOP, so it keeps its lock) after a few checkpoints: the step is the
#      checkpoint's, the step limit the dry run's, the time the checkpoint's mtime, the pace no
#      more than the wall time the sweep has had over its steps, and the hours left that pace
#      over the steps left;
#   3. once that sweep is killed (its lock goes with it) no run is under way, and the horizon
#      part times the unfinished run at its checkpoint's own pace.
# Ends with the line "N passed, N failed"; exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/checks.sh

export GN=${GN:-$(pwd)/target/release/gn}
T=$(mktemp -d /tmp/gn-flow-status.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
RUN=(--part horizon --n 100 --tau0 10 --seed 1 --out "$T")

row=$("$GN" sweep --preset paper-flow "${RUN[@]}" --dry-run | awk -F'\t' 'NR == 2')
name=$(cut -f1 <<< "$row")
max_iter=$(cut -f4 <<< "$row")
check "the dry run names the run ($name, at most $max_iter steps)" \
  test -n "$name" -a "$max_iter" -gt 0 2>/dev/null

# 1. Held, no checkpoint.
# -F: flock becomes the holder itself (a forked child would keep the lock after a kill).
flock -n -F "$T/.$name.lock" sleep 60 &
pids+=($!)
for _ in $(seq 50); do "$GN" sweep --preset paper-flow "${RUN[@]}" --dry-run | grep -q "running in another sweep" && break; sleep 0.1; done
out=$(scripts/paper-flow.sh status "$T")
check "a held run without a checkpoint is under way, with no checkpoint yet" \
  grep -qxF "under way: $name (no checkpoint yet)" <<< "$out"
kill -KILL "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
check "and once its holder has gone, it is not" bash -c '! grep -q "^under way" <<< "$1"' _ \
  "$(scripts/paper-flow.sh status "$T")"

# 2. A sweep stopped after a few checkpoints.
start=$(date +%s.%N)
SLURM_CPUS_PER_TASK=1 "$GN" sweep --preset paper-flow --jobs 1 --checkpoint-every 200 "${RUN[@]}" \
  > "$T/sweep.log" 2>&1 &
pids+=($!)
sweep_pid=$!
ckpt=$T/$name.ckpt
for _ in $(seq 600); do
  [[ -e $ckpt ]] && (( $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$ckpt" 2>/dev/null || echo 0) >= 1000 )) && break
  sleep 0.1
done
kill -STOP "$sweep_pid"
stopped=$(date +%s.%N)
check "the sweep wrote a checkpoint past step 1000 and is stopped, holding the run" \
  bash -c '[[ -e $1 ]] && grep -q "running in another sweep" <<< "$2"' _ "$ckpt" \
  "$("$GN" sweep --preset paper-flow "${RUN[@]}" --dry-run)"
out=$(scripts/paper-flow.sh status "$T")
line=$(grep "^under way: " <<< "$out")
echo "     $line"
check "status reads the stopped run: step, limit, pace, hours left and time" python3 - "$line" "$name" \
  "$max_iter" "$ckpt" "$start" "$stopped" <<'EOF'
import datetime, json, os, re, sys
line, name, max_iter, ckpt, start, stopped = sys.argv[1:]
c = json.load(open(ckpt))
m = re.fullmatch(r"under way: (\S+) at step (\d+) of (\d+); at its ([\d.]+) ms per step, "
                 r"at most ([\d.]+) h left \((\d\d:\d\d:\d\d) UTC\)", line)
assert m, line
k, n, ms, h = int(m[2]), int(m[3]), float(m[4]), float(m[5])
assert m[1] == name, (m[1], name)
assert k == c["iteration"] and k >= 1000, (k, c["iteration"])
assert n == int(max_iter), (n, max_iter)
# The pace is the sweep's time over its steps: at most the wall time it had before the stop.
assert 0 < ms * k / 1e3 <= float(stopped) - float(start) + 0.05 * k / 1e3, (ms, k, start, stopped)
assert abs(h - (n - k) * ms / 1e3 / 3600) <= 0.05 + (n - k) * 0.05 / 1e3 / 3600, (h, n, k, ms)
mtime = datetime.datetime.fromtimestamp(os.path.getmtime(ckpt), datetime.timezone.utc)
assert m[6] == mtime.strftime("%H:%M:%S"), (m[6], mtime)
EOF
check "and the horizon part has 63 runs, all 63 not done" grep -q "^horizon: 63 runs, .* 63 not done" <<< "$out"

# 3. Killed: the lock goes with the process.
kill -KILL "$sweep_pid"; wait "$sweep_pid" 2>/dev/null
out=$(scripts/paper-flow.sh status "$T")
check "once the sweep is killed no run is under way" bash -c '! grep -q "^under way" <<< "$1"' _ "$out"
check "and the horizon part times the unfinished run at its checkpoint's own pace" \
  grep -q "^horizon: .*: 1 run(s) at their checkpoint's own pace" <<< "$out"

summary
