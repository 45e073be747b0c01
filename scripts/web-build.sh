#!/usr/bin/env bash
# Builds the browser demo: the wasm core into www/pkg with `wasm-pack build --target web --release`
# (wasm SIMD is on through .cargo/config.toml). With --dist it also assembles dist/, a
# self-contained static folder (index.html, www/ with the wasm) that any static host can serve.
# Installs missing build tools first (scripts/install-web-tools.sh --build) unless SKIP_INSTALL=1.
# Usage: scripts/web-build.sh [--dist]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

dist=0
for arg in "$@"; do
  case $arg in
    --dist) dist=1 ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--dist]" >&2; exit 2 ;;
  esac
done

[[ ${SKIP_INSTALL:-0} == 1 ]] || scripts/install-web-tools.sh --build

# --no-opt: wasm-pack cannot download wasm-opt here, and Debian 12's binaryen (108) is too old for
# this wasm-bindgen's output (its -O3 breaks the externref table). Speed comes from rustc itself
# (opt-level 3, simd128); wasm-opt would mostly shrink the file.
wasm-pack build --target web --release --no-opt --no-pack --out-dir www/pkg

if [[ $dist == 1 ]]; then
  rm -rf dist
  mkdir -p dist/www/pkg
  cp index.html dist/
  cp www/*.js www/*.css dist/www/
  cp www/pkg/gauss_newton.js www/pkg/gauss_newton_bg.wasm dist/www/pkg/
  echo "web-build: dist/ is ready ($(du -sh dist | cut -f1)): serve it with any static server," \
       "e.g. python3 -m http.server -d dist"
fi
echo "web-build: www/pkg is ready"
