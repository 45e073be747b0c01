#!/usr/bin/env bash
# Runs every test of the project, installing what is missing first (fast when all is there):
#   0. style: `cargo fmt --check` and `cargo clippy -D warnings`, natively and for wasm32;
#   1. native `cargo test --release` of the core and the CLI;
#   2. the wasm tests in headless Chromium (wasm-pack test) and the page's end-to-end test;
#   3. sweeps: resume, shards, plots, report, and a Slurm job array on a one-node cluster; the
#      packed checkpoints that carry unfinished runs between sittings (scripts/ckpt-pack.py);
#      the background workers' list of scripts/paper-flow.sh holds every run of the grid, and
#      its `status` reads the runs under way;
#   4. the committed results: `gn report --json` on results/paper/flow/runs (*.json.gz) equals
#      the committed claims.json, and an independent reading of the run files
#      (scripts/check-claims.py) reaches the same verdicts for claims (a) to (d) (and for
#      (a) and (d) also on copies of their runs, as they are and altered to fail); the README's
#      verdict table says the same, and its table of the paper-flow parts gives each part's
#      number of run files and summed run time.
# Each stage prints its own summary; the script stops at the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n==== %s ====\n' "$*"; }

stage "installing what is missing"
scripts/install-web-tools.sh

stage "style (cargo fmt --check; cargo clippy --all-targets -D warnings, native and wasm32)"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
cargo clippy --release --all-targets --target wasm32-unknown-unknown -- -D warnings

stage "native tests (cargo test --release)"
cargo test --release

stage "browser tests (wasm-pack test in Chromium, end-to-end page test)"
SKIP_INSTALL=1 scripts/web-test.sh

stage "sweep, Slurm, plots and report tests; packed checkpoints; the paper-flow workers' lists and status"
scripts/test-sweep.sh
scripts/test-ckpt-pack.sh
scripts/paper-flow.sh check
scripts/test-paper-flow-status.sh

stage "committed results (report matches claims.json; independent check of claims a to d)"
report_json=$(mktemp)
target/release/gn report results/paper/flow/runs --json "$report_json" >/dev/null
python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); sys.exit(a!=b and "results/paper/flow/claims.json is stale: regenerate it with gn report" or 0)' "$report_json" results/paper/flow/claims.json
rm -f "$report_json"
python3 scripts/check-claims.py results/paper/flow
scripts/test-check-claims.sh
python3 scripts/check-readme-verdicts.py README.md results/paper/flow/claims.json

stage "all test stages passed"
