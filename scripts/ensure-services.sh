#!/usr/bin/env bash
# Starts the local PostgreSQL and RabbitMQ the integration tests use, if they do not answer (see DEVELOPERS.md).
set -euo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local name=$1 port=$2 seconds=$3
  for _ in $(seq "$seconds"); do
    if answers "$port"; then return 0; fi
    sleep 1
  done
  echo "$name did not answer on 127.0.0.1:$port after ${seconds}s" >&2
  return 1
}

if ! answers 5432; then
  echo "Starting PostgreSQL..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for PostgreSQL 5432 60
fi

if ! answers 5672; then
  echo "Starting RabbitMQ..."
  rabbitmq-server -detached
  wait_for RabbitMQ 5672 120
fi
echo "PostgreSQL and RabbitMQ answer."
