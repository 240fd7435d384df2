#!/bin/sh
# Runs before the Temporal server starts: in temporalio/admin-tools (service temporal-schema of
# docker-compose.yml), and in the local `cluster` stack (stack/temporal-cluster.ts) with the temporal-sql-tool
# built by scripts/temporal-cluster.sh (TEMPORAL_SQL_TOOL names it).
# First start: creates the `temporal` and `temporal_visibility` databases and their base schema.
# Every start: applies the versioned migrations embedded in this temporal-sql-tool (idempotent), so upgrading
# the server together with the tool upgrades the schema. Visibility is PostgreSQL's advanced visibility.
set -eu

SQL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool} --plugin postgres12 --ep ${POSTGRES_SEEDS} -u ${POSTGRES_USER} -p ${DB_PORT}"
DBNAME=${DBNAME:-temporal}
VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
tries=0
# Without nc (the local stack, which waits for PostgreSQL itself) the tool's own errors say what is wrong.
until ! command -v nc >/dev/null 2>&1 || nc -z -w 5 "${POSTGRES_SEEDS}" "${DB_PORT}"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL did not come up" >&2
    exit 1
  fi
  sleep 2
done

setup_database() {
  db=$1
  schema=$2
  # `create` succeeds only when the database does not exist yet: then (and only then) lay the base
  # schema. On later starts it fails with "already exists", which is expected.
  if $SQL --db "$db" create; then
    echo "created database $db"
    $SQL --db "$db" setup-schema -v 0.0
  else
    echo "database $db exists: keeping its schema"
  fi
  $SQL --db "$db" update-schema --schema-name "$schema"
}

setup_database "$DBNAME" postgresql/v12/temporal
setup_database "$VISIBILITY_DBNAME" postgresql/v12/visibility
echo "Temporal schemas are up to date"
