#!/usr/bin/env bash
# Runs every test of the browser demo, installing what is missing first
# (scripts/install-web-tools.sh --test; skip with SKIP_INSTALL=1):
#   1. wasm-bindgen tests in headless Chromium, on the page's main thread (tests/web.rs) and in a
#      dedicated Web Worker (tests/web_worker.rs): `wasm-pack test --headless --chrome`;
#   2. the end-to-end test (tests/e2e/e2e.mjs): builds www/pkg and dist/, serves the page (and
#      dist/ under /gauss-newton/), drives Chromium through playwright-core, prints browser vs
#      native speed and the page's timings, saves target/e2e-screenshot*.png.
# The native fixture test behind (1), tests/native_records_fixture.rs, runs with `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}

[[ ${SKIP_INSTALL:-0} == 1 ]] || scripts/install-web-tools.sh --test

echo "== web-test: wasm-bindgen tests in headless Chromium (main thread and dedicated worker)"
timeout 1800 wasm-pack test --headless --chrome --release -- --test web --test web_worker

echo "== web-test: end-to-end test of the page"
SKIP_INSTALL=1 scripts/web-build.sh --dist
# The native speed comparison uses the release CLI (already built by the main test run if any).
[[ -x target/release/gn ]] || timeout 1200 cargo build --release --bin gn
timeout 960 node tests/e2e/e2e.mjs
