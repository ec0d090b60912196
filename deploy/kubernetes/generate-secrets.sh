#!/bin/sh
# Writes the deployment's credentials (components/secrets/env/*.env, git-ignored) with fresh random values: the
# registry's bootstrap admin key, and each app's PostgreSQL and RabbitMQ user and password (hex: URL-safe, they go
# into DATABASE_URL and AMQP_URL). Existing files are kept, so running it again changes nothing; delete a file to
# rotate that credential (then apply the overlay and restart the app: see docs/kubernetes.md).
#
#   deploy/kubernetes/generate-secrets.sh [DIR]   DIR defaults to components/secrets/env beside this script
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/components/secrets/env}
mkdir -p "$dir"
umask 077

random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
write() { # file, then KEY=value lines
  file=$dir/$1
  shift
  if [ -e "$file" ]; then
    echo "kept    $file"
    return
  fi
  printf '%s\n' "$@" >"$file"
  echo "created $file"
}

write registry-key.env "SEPAL_API_KEY=$(random)"
for app in data registry; do
  write "$app-db.env" "username=sepal_$app" "password=$(random)"
done
for app in data registry trainer inference keda; do
  write "$app-amqp.env" "username=sepal_$app" "password=$(random)"
done
