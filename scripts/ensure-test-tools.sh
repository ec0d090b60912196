#!/usr/bin/env bash
# Debian packages some tests run: promtool (package prometheus) and the reference onnx.checker (python3-onnx).
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing+=(python3-onnx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "promtool and onnx.checker are available."
