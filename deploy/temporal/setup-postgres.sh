#!/bin/sh
# Runs in temporalio/admin-tools (service temporal-schema of docker-compose.yml) before the server starts.
# First start: creates the `temporal` and `temporal_visibility` databases and their base schema.
# Every start: applies the versioned migrations shipped with this admin-tools version (idempotent), so
# upgrading TEMPORAL_VERSION together with TEMPORAL_ADMINTOOLS_VERSION upgrades the schema.
set -eu

SQL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
tries=0
until nc -z -w 5 "${POSTGRES_SEEDS}" "${DB_PORT}"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL did not come up" >&2
    exit 1
  fi
  sleep 2
done

setup_database() {
  db=$1
  versioned=$2
  # `create` succeeds only when the database does not exist yet: then (and only then) lay the base
  # schema. On later starts it fails with "already exists", which is expected.
  if $SQL --db "$db" create; then
    echo "created database $db"
    $SQL --db "$db" setup-schema -v 0.0
  else
    echo "database $db exists: keeping its schema"
  fi
  $SQL --db "$db" update-schema -d "$SCHEMA_DIR/$versioned"
}

setup_database temporal temporal/versioned
setup_database temporal_visibility visibility/versioned
echo "Temporal schemas are up to date"
