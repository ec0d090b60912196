#!/usr/bin/env bash
# `npm test`: build (the end-to-end tests start the built apps), lint, then every jest project in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
npm run lint --silent
# PGlite loads its WASM with a dynamic import, which Jest's VM only allows with this flag.
NODE_OPTIONS="--experimental-vm-modules --no-warnings" npx jest --runInBand "$@"
