#!/bin/sh
# Least privilege for the distributed mode run as processes (docker-compose does the same by itself): one PostgreSQL
# role per app that owns its schema and nothing else, and one RabbitMQ user per app limited to its exchanges and
# queues, that may publish only the events its app owns (docs/messaging.md). Run it once as an administrator before
# starting the apps (again after changing a password, or after an upgrade that changes the permissions):
#
#   PGHOST=db.internal PGUSER=postgres PGPASSWORD=… SEPAL_DATABASE=sepal \
#   SEPAL_DATA_DB_PASSWORD=… SEPAL_REGISTRY_DB_PASSWORD=… \
#   SEPAL_DATA_AMQP_PASSWORD=… SEPAL_REGISTRY_AMQP_PASSWORD=… SEPAL_TRAINER_AMQP_PASSWORD=… \
#   SEPAL_INFERENCE_AMQP_PASSWORD=… scripts/provision-roles.sh
#
# PostgreSQL is reached with psql (libpq variables); RabbitMQ with `rabbitmqctl import_definitions` on the broker's
# machine, or, if RABBITMQ_API_URL is set (e.g. http://broker:15672), through the management API as
# RABBITMQ_ADMIN_USER/RABBITMQ_ADMIN_PASS. See scripts/provision/*.sh for every variable.
set -eu
here=$(cd "$(dirname "$0")" && pwd)/provision

sh "$here/postgres-roles.sh"

definitions=$(mktemp)
trap 'rm -f "$definitions"' EXIT
# The administrator is not part of what is imported into a running broker: it exists already.
RABBITMQ_ADMIN_USER='' sh "$here/rabbitmq-definitions.sh" >"$definitions"
if [ -n "${RABBITMQ_API_URL:-}" ]; then
  curl -fsS -u "${RABBITMQ_ADMIN_USER:?set RABBITMQ_ADMIN_USER}:${RABBITMQ_ADMIN_PASS:?set RABBITMQ_ADMIN_PASS}" \
    -H 'content-type: application/json' --data-binary "@$definitions" "$RABBITMQ_API_URL/api/definitions"
else
  # rabbitmqctl may run as the broker's user (the Debian wrapper switches to it): let that user, only, read the file.
  chown rabbitmq "$definitions" 2>/dev/null || true
  rabbitmqctl -q import_definitions "$definitions"
fi
echo "rabbitmq: users ${SEPAL_USER_PREFIX:-sepal_}{data,registry,trainer,inference} in vhost ${SEPAL_AMQP_VHOST:-/}"
if [ "${SEPAL_USER_PREFIX:-sepal_}" != sepal_ ]; then
  p=${SEPAL_USER_PREFIX}
  echo "the apps must know these users: AMQP_PRODUCERS=data=${p}data,registry=${p}registry,trainer=${p}trainer,inference=${p}inference"
fi
