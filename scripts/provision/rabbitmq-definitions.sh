#!/bin/sh
# Prints RabbitMQ definitions (JSON) giving each app its own user, whose permissions cover only what it uses:
#   configure, write and read: the shared topic exchange sepal.events, and the app's own exchange and queues, all
#     named <app>.* (trainer.dlx, trainer.jobs, inference.model-promoted.<replica>, their .dlq, ...). Retries and dead
#     letters go through the app's own exchange <app>.dlx: no user may write to amq.default (the default exchange);
#   topic permissions on sepal.events: the user may publish only the routing keys (event types) its app owns, the
#     table EVENT_OWNERS of libs/contracts (test/deployment/least-privilege.test.ts checks this copy against it).
# Every message carries its publisher's AMQP user-id, which RabbitMQ validates, and consumers check it against the
# same table (docs/messaging.md).
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
topic_permissions=''
add_user() { # name password tags
  users="$users${users:+,}
    {\"name\": \"$(json "$1")\", \"password\": \"$(json "$2")\", \"tags\": [$3]}"
}
add_permissions() { # user configure write read
  permissions="$permissions${permissions:+,}
    {\"user\": \"$(json "$1")\", \"vhost\": \"$(json "$vhost")\", \"configure\": \"$2\", \"write\": \"$3\", \"read\": \"$4\"}"
}

add_topic_permissions() { # user exchange write read
  topic_permissions="$topic_permissions${topic_permissions:+,}
    {\"user\": \"$(json "$1")\", \"vhost\": \"$(json "$vhost")\", \"exchange\": \"$(json "$2")\", \"write\": \"$3\", \"read\": \"$4\"}"
}

if [ -n "${RABBITMQ_ADMIN_USER:-}" ]; then
  add_user "$RABBITMQ_ADMIN_USER" "${RABBITMQ_ADMIN_PASS:?set RABBITMQ_ADMIN_PASS}" '"administrator"'
  add_permissions "$RABBITMQ_ADMIN_USER" '.*' '.*' '.*'
fi

app() { # app password owned-event-types...
  name=$1
  password=$2
  shift 2
  own="^${ns}(sepal\\\\.events|$name\\\\..*)\$"
  keys=$(printf '%s|' "$@" | sed 's/[.]/\\\\./g; s/|$//')
  add_user "$prefix$name" "$password" ''
  add_permissions "$prefix$name" "$own" "$own" "$own"
  add_topic_permissions "$prefix$name" "${namespace:+$namespace.}sepal.events" "^($keys)\$" '.*'
}
# Who publishes what: EVENT_OWNERS in libs/contracts/src/events/event-owners.ts.
app data "${SEPAL_DATA_AMQP_PASSWORD:?set SEPAL_DATA_AMQP_PASSWORD (the data app's RabbitMQ password)}" \
  dataset.versioned
app registry "${SEPAL_REGISTRY_AMQP_PASSWORD:?set SEPAL_REGISTRY_AMQP_PASSWORD (the registry's RabbitMQ password)}" \
  batch.requested job.cancel-requested model.promoted model.traffic train.requested
app trainer "${SEPAL_TRAINER_AMQP_PASSWORD:?set SEPAL_TRAINER_AMQP_PASSWORD (the trainer's RabbitMQ password)}" \
  job.step-changed model.registered run.finished train.requested training.progress training.started \
  trial.finished trial.progress trial.requested
app inference "${SEPAL_INFERENCE_AMQP_PASSWORD:?set SEPAL_INFERENCE_AMQP_PASSWORD (the gateway's RabbitMQ password)}" \
  drift.detected feedback.received model.served predictions.logged

cat <<JSON
{
  "vhosts": [{"name": "$(json "$vhost")"}],
  "users": [$users
  ],
  "permissions": [$permissions
  ],
  "topic_permissions": [$topic_permissions
  ]
}
JSON
