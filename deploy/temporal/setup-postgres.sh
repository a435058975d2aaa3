#!/bin/sh
# One-shot job (temporalio/admin-tools): create Temporal's two databases on
# PostgreSQL and bring their schemas to the versions this server image expects.
# Safe to re-run: an existing database is the one error `create` may report (any
# other error, e.g. a wrong password, fails the job), the schema steps are idempotent.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"; }

create_database() {
  if output="$(sql --db "$1" create 2>&1)"; then
    echo "database $1 created"
  elif echo "$output" | grep -q "already exists"; then
    echo "database $1 exists"
  else
    echo "$output" >&2
    exit 1
  fi
}

for db in temporal temporal_visibility; do
  create_database "$db"
done
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA_DIR/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA_DIR/visibility/versioned"
echo "Temporal schema ready"
