#!/bin/sh
# Entry point of the rabbitmq service in docker-compose.yml: renders the definitions (the administrator from
# RABBITMQ_DEFAULT_USER/PASS and one user per app, see rabbitmq-definitions.sh), has the broker load them at boot,
# then hands over to the image's own entry point.
set -eu
RABBITMQ_ADMIN_USER="${RABBITMQ_DEFAULT_USER:?set RABBITMQ_DEFAULT_USER}" \
  RABBITMQ_ADMIN_PASS="${RABBITMQ_DEFAULT_PASS:?set RABBITMQ_DEFAULT_PASS}" \
  sh /sepal/provision/rabbitmq-definitions.sh >/etc/rabbitmq/sepal-definitions.json
chmod 0640 /etc/rabbitmq/sepal-definitions.json
chown rabbitmq /etc/rabbitmq/sepal-definitions.json 2>/dev/null || true
echo 'load_definitions = /etc/rabbitmq/sepal-definitions.json' >/etc/rabbitmq/conf.d/90-sepal-definitions.conf
exec docker-entrypoint.sh rabbitmq-server
