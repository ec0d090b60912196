#!/bin/sh
# Prints RabbitMQ definitions (JSON) giving each app its own user, whose permissions cover only what it uses:
#   configure and read: the shared exchanges sepal.events (topic) and sepal.dlx (dead letters), and the app's own
#     queues, all named <app>.* (trainer.jobs, registry.training, inference.model-promoted.<replica>, their .dlq, ...);
#   write: the same, plus amq.default (a retried message is sent back to its queue through the default exchange).
# Load it at boot (load_definitions, see rabbitmq-start.sh) or into a running broker with
# `rabbitmqctl import_definitions <file>` (scripts/provision-roles.sh does that).
#
#   SEPAL_DATA_AMQP_PASSWORD, SEPAL_REGISTRY_AMQP_PASSWORD, SEPAL_TRAINER_AMQP_PASSWORD,
#   SEPAL_INFERENCE_AMQP_PASSWORD   the users' passwords (required)
#   SEPAL_USER_PREFIX   user names are <prefix>data, <prefix>registry, ... (default sepal_)
#   SEPAL_AMQP_VHOST    the virtual host (default /)
#   SEPAL_NAMESPACE     the apps' exchange/queue prefix, if they run with one (default none)
#   RABBITMQ_ADMIN_USER, RABBITMQ_ADMIN_PASS   also define this administrator (needed when loading at boot)
set -eu
prefix=${SEPAL_USER_PREFIX:-sepal_}
vhost=${SEPAL_AMQP_VHOST:-/}
namespace=${SEPAL_NAMESPACE:-}
ns=''
[ -n "$namespace" ] && ns="$(printf '%s' "$namespace" | sed 's/[.]/\\\\./g')\\\\."

json() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

users=''
permissions=''
add_user() { # name password tags
  users="$users${users:+,}
    {\"name\": \"$(json "$1")\", \"password\": \"$(json "$2")\", \"tags\": [$3]}"
}
add_permissions() { # user configure write read
  permissions="$permissions${permissions:+,}
    {\"user\": \"$(json "$1")\", \"vhost\": \"$(json "$vhost")\", \"configure\": \"$2\", \"write\": \"$3\", \"read\": \"$4\"}"
}

if [ -n "${RABBITMQ_ADMIN_USER:-}" ]; then
  add_user "$RABBITMQ_ADMIN_USER" "${RABBITMQ_ADMIN_PASS:?set RABBITMQ_ADMIN_PASS}" '"administrator"'
  add_permissions "$RABBITMQ_ADMIN_USER" '.*' '.*' '.*'
fi

app() { # app password
  own="^${ns}(sepal\\\\.events|sepal\\\\.dlx|$1\\\\..*)\$"
  add_user "$prefix$1" "$2" ''
  add_permissions "$prefix$1" "$own" "^(${ns}(sepal\\\\.events|sepal\\\\.dlx|$1\\\\..*)|amq\\\\.default)\$" "$own"
}
app data "${SEPAL_DATA_AMQP_PASSWORD:?set SEPAL_DATA_AMQP_PASSWORD (the data app's RabbitMQ password)}"
app registry "${SEPAL_REGISTRY_AMQP_PASSWORD:?set SEPAL_REGISTRY_AMQP_PASSWORD (the registry's RabbitMQ password)}"
app trainer "${SEPAL_TRAINER_AMQP_PASSWORD:?set SEPAL_TRAINER_AMQP_PASSWORD (the trainer's RabbitMQ password)}"
app inference "${SEPAL_INFERENCE_AMQP_PASSWORD:?set SEPAL_INFERENCE_AMQP_PASSWORD (the gateway's RabbitMQ password)}"

cat <<JSON
{
  "vhosts": [{"name": "$(json "$vhost")"}],
  "users": [$users
  ],
  "permissions": [$permissions
  ]
}
JSON
