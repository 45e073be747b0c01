#!/usr/bin/env bash
# The main job: builds the training core to WebAssembly and serves the interactive demo page
# on localhost (PORT, default 8080), installing the build tools first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_BROWSER=1 scripts/install-web-tools.sh
exec scripts/web-serve.sh
