#!/usr/bin/env bash
# `npm run lint`: type-check everything (tests and the web console included), the import-cycle check, eslint and
# prettier. The five checks run side by side (together about 48 s of CPU: 26 s on 2 cores instead of 42 s one after
# another); each one's output is printed whole, in this order, and the script fails if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
checks=(
  "$bin/tsc -p tsconfig.json --noEmit"
  "$bin/tsc -p apps/console/web/tsconfig.json --noEmit"
  "node scripts/check-cycles.mjs"
  "$bin/eslint ."
  "$bin/prettier --check ."
)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pids=()
for i in "${!checks[@]}"; do
  bash -c "${checks[$i]}" >"$out/$i" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!checks[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=1
    echo "lint: '${checks[$i]}' failed:"
  fi
  cat "$out/$i"
done
exit "$failed"
