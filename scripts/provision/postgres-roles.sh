#!/bin/sh
# Creates (or updates) the PostgreSQL role of each app that has a database (data, registry): it owns its schema and
# nothing else. Connects as a superuser through the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE); in the postgres container it runs from /docker-entrypoint-initdb.d as POSTGRES_USER on POSTGRES_DB.
#
#   SEPAL_DATA_DB_PASSWORD, SEPAL_REGISTRY_DB_PASSWORD   the roles' passwords (required)
#   SEPAL_ROLE_PREFIX   role names are <prefix>data and <prefix>registry (default sepal_)
#   SEPAL_DATABASE      the database holding the schemas (default $POSTGRES_DB, else sepal)
#   SEPAL_PROVISION_DIR where postgres-role.sql is (default: beside this script)
set -eu
here=${SEPAL_PROVISION_DIR:-$(cd "$(dirname "$0")" && pwd)}
prefix=${SEPAL_ROLE_PREFIX:-sepal_}
database=${SEPAL_DATABASE:-${POSTGRES_DB:-sepal}}
export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
export PGDATABASE="${PGDATABASE:-$database}"

provision() { # app schema password
  psql -X -q -v ON_ERROR_STOP=1 -v role="$prefix$1" -v schema="$2" -v password="$3" -v database="$database" \
    -f "$here/postgres-role.sql"
  echo "postgres: role $prefix$1 owns schema $2 in database $database"
}

provision data data "${SEPAL_DATA_DB_PASSWORD:?set SEPAL_DATA_DB_PASSWORD (the data app's database password)}"
provision registry registry "${SEPAL_REGISTRY_DB_PASSWORD:?set SEPAL_REGISTRY_DB_PASSWORD (the registry's database password)}"
