#!/usr/bin/env bash
# Installs what the browser demo needs to build and test, and only what is missing (a second run
# takes a second or two):
#   - the Rust target wasm32-unknown-unknown (rustup)
#   - wasm-pack                              (cargo install wasm-pack --locked)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock
#                                            (cargo install, without --locked: a locked dep was yanked)
#   - chromium and chromium-driver           (apt; `apt-get update` first only if needed)   [--test]
#   - the end-to-end test's npm packages     (npm ci in tests/e2e)                          [--test]
# Usage: scripts/install-web-tools.sh [--build | --test]   (default --test: everything)
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:---test}
case $what in
  --build | --test) ;;
  -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--build | --test]" >&2; exit 2 ;;
esac

log() { printf 'install-web-tools: %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

# 1. The wasm target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-pack.
if ! command -v wasm-pack >/dev/null 2>&1; then
  log "installing wasm-pack (takes a few minutes)"
  cargo install wasm-pack --locked
fi

# 3. wasm-bindgen-cli, the version Cargo.lock pins (wasm-pack would otherwise try to download it).
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[[ -n $want ]] || { log "no wasm-bindgen in Cargo.lock"; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
if [[ $have != "$want" ]]; then
  log "installing wasm-bindgen-cli $want (found: ${have:-none}; takes a few minutes)"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

[[ $what == --test ]] || exit 0

# 4. Chromium and its WebDriver, from Debian.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  log "installing chromium and chromium-driver (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy chromium-driver 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -q
  fi
  apt-get install -y -q --no-install-recommends chromium chromium-driver \
    || { apt-get update -q && apt-get install -y -q --no-install-recommends chromium chromium-driver; }
fi

# 5. The end-to-end test's packages (playwright-core only: it never downloads a browser).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node and npm are needed for the end-to-end test: apt-get install nodejs npm"
  exit 1
fi
# node_modules/.installed-from is a copy of the lock file it was installed from.
if [[ ! -d tests/e2e/node_modules/playwright-core ]] \
   || ! cmp -s tests/e2e/package-lock.json tests/e2e/node_modules/.installed-from 2>/dev/null; then
  log "npm ci in tests/e2e"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-from)
fi
