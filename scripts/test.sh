#!/usr/bin/env bash
# `npm test`: build (the end-to-end tests start the built apps), then lint and every jest project on two workers, side
# by side: jest leaves about an eighth of two cores idle (its tests wait on sockets, databases and child processes),
# which lint's 60 s of CPU fills. Lint's output is printed after jest's; the script fails if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
npm run build --silent || exit 1
lint_out=$(mktemp)
trap 'rm -f "$lint_out"' EXIT
npm run lint --silent >"$lint_out" 2>&1 &
lint=$!
# PGlite loads its WASM with a dynamic import, which Jest's VM only allows with this flag.
# Two workers: each test file isolates itself (its own namespace, ports and temporary folders), and a worker is replaced
# once it holds more than jest.config.js's workerIdleMemoryLimit, so no file runs in a process grown by the files
# before it (in one process the suite took 30 min on 2 cores; see docs/development.md). More cores: -- --maxWorkers=N.
NODE_OPTIONS="--experimental-vm-modules --no-warnings" npx jest --maxWorkers=2 "$@"
tests=$?
wait "$lint"
linted=$?
echo "--- npm run lint (ran beside jest):"
cat "$lint_out"
if [ "$linted" -ne 0 ]; then echo "npm test: lint failed (exit $linted), see above"; fi
if [ "$tests" -ne 0 ]; then echo "npm test: jest failed (exit $tests)"; fi
[ "$tests" -eq 0 ] && [ "$linted" -eq 0 ]
