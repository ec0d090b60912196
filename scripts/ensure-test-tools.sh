#!/usr/bin/env bash
# Debian packages the tests and benchmarks run: Prometheus and promtool (prometheus), the reference onnx.checker
# (python3-onnx) and scikit-learn (python3-sklearn) for /usr/bin/python3, the wrk load generator, a headless
# Chromium (chromium), nginx (the load balancer of test/deployment/rolling-restart.test.ts, run unprivileged) and the
# Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist (dataset-fashion-mnist) for the image benchmark.
set -euo pipefail

missing=()
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing+=(python3-onnx)
/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1 || missing+=(python3-sklearn)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || missing+=(nginx)
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "prometheus, promtool, python3 with onnx and sklearn, wrk, chromium, nginx and Fashion-MNIST are available."
