#!/bin/sh
# Gives each app its own API key with the fewest scopes it needs, made by the registry (which stores keys hashed and
# shows a secret once), and stores it in the Secret sepal-<app>-key the app's Deployment reads SEPAL_API_KEY from:
#   data       service,read                  (asks the registry whose its callers' keys are: POST /keys/verify)
#   trainer    service,read,train,promote    (and reads datasets and models, records runs, registers and promotes)
#   inference  service,read                  (and reads models and artifacts)
#   console    service,read                  (checks its callers' keys before it forwards their requests)
# The same scopes as docker-compose.yml's SEPAL_SERVICE_KEYS (test/deployment/kubernetes.test.ts compares them):
# without `service`, /keys/verify answers 403 and the app cannot check any caller's key.
# Run once after the first `kubectl apply -k`, when the registry is ready; an app whose Secret exists already keeps its
# key (revoke it with `sepal keys revoke <app>` and delete the Secret to make a new one). Needs kubectl and jq.
#
#   deploy/kubernetes/bootstrap-keys.sh [NAMESPACE]   (default sepal)
set -eu
namespace=${1:-sepal}
kubectl -n "$namespace" rollout status deployment/registry --timeout=300s
for spec in data:service,read trainer:service,read,train,promote inference:service,read console:service,read; do
  app=${spec%%:*}
  scopes=${spec#*:}
  if kubectl -n "$namespace" get secret "sepal-$app-key" >/dev/null 2>&1; then
    echo "kept    secret sepal-$app-key"
    continue
  fi
  # The CLI in the registry's pod uses the registry's own (bootstrap admin) key.
  secret=$(kubectl -n "$namespace" exec deployment/registry -- \
    node bin/sepal.js keys create "$app" --scopes "$scopes" --json | jq -r .secret)
  kubectl -n "$namespace" create secret generic "sepal-$app-key" --from-literal="SEPAL_API_KEY=$secret"
  echo "created secret sepal-$app-key (key $app: $scopes)"
done
kubectl -n "$namespace" rollout restart deployment/data deployment/trainer deployment/inference deployment/console
