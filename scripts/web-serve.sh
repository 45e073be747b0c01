#!/usr/bin/env bash
# Builds the browser demo (scripts/web-build.sh) and serves the repository root on localhost with
# python3's http.server (it serves .wasm as application/wasm), printing the URL. Ctrl-C stops it.
# PORT overrides the port (default 8080); HOST the address (default 127.0.0.1).
# SKIP_BUILD=1 serves what is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
HOST=${HOST:-127.0.0.1}

[[ ${SKIP_BUILD:-0} == 1 ]] || scripts/web-build.sh

echo
echo "  Gauss-Newton vs gradient descent: open http://$HOST:$PORT/ in your browser"
echo
exec python3 -m http.server "$PORT" --bind "$HOST" --directory .
