#!/usr/bin/env bash
# The main job: builds the training core to WebAssembly and serves the interactive demo page
# on localhost (PORT, default 8080), installing the build tools first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-web-tools.sh --build
exec scripts/web-serve.sh
