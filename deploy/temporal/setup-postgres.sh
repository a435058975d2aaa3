#!/bin/sh
# One-shot job (temporalio/admin-tools): create Temporal's two databases on
# PostgreSQL and bring their schemas to the versions this server image expects.
# Safe to re-run: `create` fails harmlessly on an existing database, the schema
# steps are idempotent.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}"
nc -z -w 10 "$POSTGRES_SEEDS" "$PORT"

sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"; }

for db in temporal temporal_visibility; do
  sql --db "$db" create || echo "database $db exists"
done
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$SCHEMA_DIR/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$SCHEMA_DIR/visibility/versioned"
echo "Temporal schema ready"
