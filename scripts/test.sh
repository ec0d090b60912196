#!/usr/bin/env bash
# `npm test`: build (the end-to-end tests start the built apps), lint, then every jest project on two workers.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
npm run lint --silent
# PGlite loads its WASM with a dynamic import, which Jest's VM only allows with this flag.
# Two workers: each test file isolates itself (its own namespace, ports and temporary folders), and a worker is replaced
# once it holds more than jest.config.js's workerIdleMemoryLimit, so no file runs in a process grown by the files
# before it (in one process the suite took 30 min on 2 cores; see docs/development.md). More cores: -- --maxWorkers=N.
NODE_OPTIONS="--experimental-vm-modules --no-warnings" npx jest --maxWorkers=2 "$@"
